"""Old names keep working, each with a DeprecationWarning that names the new one."""

from __future__ import annotations

import importlib
import sys

import pytest

from airflow_provider_creatify import generation, polling, schemas
from airflow_provider_creatify.mixins import WaitAndFinishMixin


def test_models_module_warns_and_re_exports():
    sys.modules.pop("airflow_provider_creatify.models", None)
    with pytest.warns(DeprecationWarning, match=r"airflow_provider_creatify\.generation"):
        models = importlib.import_module("airflow_provider_creatify.models")
    assert models.Generation is generation.Generation
    assert models.input_fields is schemas.input_fields and models.describe_models is schemas.describe_models
    assert (
        models.timeout_error is polling.timeout_error
        and models.MIN_POLL_INTERVAL == polling.MIN_POLL_INTERVAL
    )


def test_generation_wait_mixin_is_the_wait_and_finish_mixin():
    from airflow_provider_creatify.operators import creatify

    with pytest.warns(DeprecationWarning, match="WaitAndFinishMixin"):
        assert creatify.GenerationWaitMixin is WaitAndFinishMixin
    with pytest.raises(AttributeError):
        creatify.NoSuchName  # noqa: B018
