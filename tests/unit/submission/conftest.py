"""The submission of one try, without an operator: a factory against the sandbox (``creatify_conn``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.submission import Submission
from tests.helpers import KLING, KLING_PARAMS


@pytest.fixture
def make_submission(creatify_conn) -> Callable[..., Submission]:
    """``make_submission(**fields)``: a Submission of KLING_PARAMS on the sandbox, logging to stdout."""

    def make(**fields: Any) -> Submission:
        hook = CreatifyHook()
        defaults = {"model_name": KLING, "input_params": KLING_PARAMS, "webhook_url": None, "timeout": 3600.0}
        return Submission(hook=hook, task_id="create", log=hook.log, **{**defaults, **fields})

    return make
