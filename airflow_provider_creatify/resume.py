"""What a try leaves for the next try of the same task: the generation it created and what from.

The create operator writes it to Airflow's ``task_state_store`` (3.3+) under :data:`STATE_KEY`: right
before the POST its intent, ``{"intent_at", "deadline", "fingerprint"}``, then, once the id is known,
``{"generation_id", "deadline", "fingerprint"}``. A retry resumes that generation only when it was made
from the same model and input (:func:`fingerprint`): a user who fixed a prompt and cleared the task
gets a new generation, not the old asset. A retry that finds an intent without an id, or a try whose
create lost its answer, looks for the generation with :func:`find_lost`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_creatify.exceptions import CreatifyCreateUncertainError

if TYPE_CHECKING:
    from airflow_provider_creatify.generation import Generation
    from airflow_provider_creatify.hooks.creatify import CreatifyHook

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


#: Clock skew allowed between this machine and Creatify when a lost generation's ``created_at`` is
#: compared with the moment a try set out to create it.
CLOCK_SKEW_SECONDS = 120.0
#: One page of the account's newest generations is searched (Creatify's pagination is undocumented).
SEARCH_LIMIT = 100


def find_lost(
    hook: CreatifyHook, model_name: str, input_params: Any, since: float, known: Collection[str] = ()
) -> Generation | None:
    """The one generation made from this model and input since ``since``: a create whose id was lost.

    ``None`` if there is none (the POST never reached Creatify).

    :param since: when the try set out to create it (epoch seconds); ``CLOCK_SKEW_SECONDS`` earlier count.
    :param known: ids other tasks already hold (e.g. the other map indexes of a mapped task): not ours.
    :raises CreatifyCreateUncertainError: more than one candidate (which to pay for is not guessed), or
        more generations since then than one page shows.
    """
    listed = hook.list_generations(SEARCH_LIMIT)
    start = since - CLOCK_SKEW_SECONDS
    wanted = fingerprint(model_name, input_params)
    same = [g for g in listed if fingerprint(g.model_name or "", g.raw.get("input_params")) == wanted]
    found = [g for g in same if (g.created_at or 0) >= start and g.id not in known]
    created = [g.created_at or 0 for g in listed]
    newest_first = created == sorted(created, reverse=True)
    complete = len(listed) < SEARCH_LIMIT or (newest_first and created[-1] < start)
    when = datetime.fromtimestamp(start, timezone.utc).isoformat(timespec="seconds")
    if len(found) > 1 or not complete:
        ids = ", ".join(g.id for g in found) or "none in the newest page"
        seen = "" if complete else f" (more than {SEARCH_LIMIT} generations since then: not all were seen)"
        raise CreatifyCreateUncertainError(
            f"An earlier create of Creatify model {model_name!r} for this task may have reached Creatify "
            f"without its answer, and the generations with the same model and input_params created since "
            f"{when} are ambiguous{seen}: {ids}. Not guessing which to pay for: wait on the right one with "
            "CreatifyGenerationSensor(generation_id=...), or clear the task with other inputs.",
        )
    return found[0] if found else None
