"""What a try leaves for the next try of the same task: the generation it created and what from.

The create operator writes it to Airflow's ``task_state_store`` (3.3+) under :data:`STATE_KEY`, right
after the POST: ``{"generation_id", "deadline", "fingerprint"}``. A retry resumes that generation only
when it was made from the same model and input (:func:`fingerprint`): a user who fixed a prompt and
cleared the task gets a new generation, not the old asset.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

#: The task_state_store key under which a try records its generation for the next try.
STATE_KEY = "creatify_generation"
#: The key under which the sensor's first deferred try records its deadline (``timeout`` from then).
SENSOR_STATE_KEY = "creatify_sensor_deadline"


def fingerprint(model_name: str, input_params: Any) -> str:
    """A digest of what a generation is made from: the model and the rendered input, key order aside.

    :param model_name: the Creatify model.
    :param input_params: the model's input, as sent.
    """
    canonical = json.dumps(
        {"model_name": model_name, "input_params": input_params},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
