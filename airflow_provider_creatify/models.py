"""Deprecated: the generation object moved to :mod:`.generation`, the schema helpers to :mod:`.schemas`,
the poll schedule and the timeout error to :mod:`.polling` ("model" means a Creatify AI model elsewhere).
"""

from __future__ import annotations

import warnings

from airflow_provider_creatify.generation import DONE, FAILED, KNOWN_RUNNING, Generation
from airflow_provider_creatify.polling import MIN_POLL_INTERVAL, POLL_AGE_FRACTION, timeout_error
from airflow_provider_creatify.schemas import describe_models, input_fields

__all__ = [
    "DONE",
    "FAILED",
    "KNOWN_RUNNING",
    "MIN_POLL_INTERVAL",
    "POLL_AGE_FRACTION",
    "Generation",
    "describe_models",
    "input_fields",
    "timeout_error",
]

warnings.warn(
    "airflow_provider_creatify.models is deprecated: import Generation from "
    "airflow_provider_creatify.generation, input_fields and describe_models from "
    "airflow_provider_creatify.schemas.",
    DeprecationWarning,
    stacklevel=2,
)
