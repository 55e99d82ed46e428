"""The create operator, built with the defaults its tests share (``make_operator``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_creatify.operators.creatify import CreatifyCreateGenerationOperator
from tests.helpers import KLING, KLING_PARAMS


@pytest.fixture
def make_operator() -> Callable[..., CreatifyCreateGenerationOperator]:
    """``make_operator(**kwargs)``: task "create", a generation of KLING_PARAMS, read every 0.1 s."""

    def make(**kwargs: Any) -> CreatifyCreateGenerationOperator:
        defaults = {
            "task_id": "create",
            "model_name": KLING,
            "input_params": KLING_PARAMS,
            "poll_interval": 0.1,
        }
        return CreatifyCreateGenerationOperator(**{**defaults, **kwargs})

    return make
