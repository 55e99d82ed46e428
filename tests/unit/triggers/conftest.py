"""The trigger, built with the defaults its tests share (``make_trigger``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_creatify.triggers.creatify import CreatifyGenerationTrigger
from tests.helpers import KLING


@pytest.fixture
def make_trigger() -> Callable[..., CreatifyGenerationTrigger]:
    """``make_trigger(generation_id, *, seconds=30, **kwargs)``: a wait on ``creatify_default`` whose deadline
    is ``seconds`` from now, reading every 0.1 s, model KLING (for messages); ``kwargs`` override."""

    def make(generation_id: str, *, seconds: float = 30, **kwargs: Any) -> CreatifyGenerationTrigger:
        defaults = {"poll_interval": 0.1, "model_name": KLING}
        return CreatifyGenerationTrigger(
            generation_id=generation_id, deadline=time.time() + seconds, **{**defaults, **kwargs}
        )

    return make
