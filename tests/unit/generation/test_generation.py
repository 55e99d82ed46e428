"""The generation model: status rules, tolerated fields, age (the poll schedule: tests/unit/polling)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from airflow_provider_creatify.exceptions import CreatifyAPIError
from airflow_provider_creatify.generation import Generation


def aged(seconds: float | None, **fields) -> Generation:
    """A running generation created ``seconds`` ago (``None``: without ``created_at``)."""
    raw = {"id": "g", "status": "generating", **fields}
    if seconds is not None:
        raw["created_at"] = datetime.fromtimestamp(time.time() - seconds, tz=timezone.utc).isoformat()
    return Generation.from_api(raw)


@pytest.mark.parametrize(
    ("status", "terminal", "done"),
    [
        ("done", True, True),
        ("failed", True, False),
        ("generating", False, False),
        ("rejected", False, False),
        ("in_queue", False, False),
        ("DONE", False, False),
    ],
)
def test_only_done_and_failed_are_terminal(status, terminal, done):
    generation = Generation.from_api({"id": "g", "status": status})
    assert generation.is_terminal is terminal and generation.is_done is done


@pytest.mark.parametrize("body", [None, [], {"status": "done"}, {"id": "g"}, {"id": "g", "status": 3}])
def test_a_body_that_is_no_generation_is_refused(body):
    with pytest.raises(CreatifyAPIError, match="unexpected body"):
        Generation.from_api(body)


def test_missing_optional_fields_are_tolerated():
    generation = Generation.from_api({"id": "g", "status": "done", "assets": None, "extra": 1})
    assert generation.assets == [] and generation.asset_urls == [] and generation.failed_reason == ""


def test_age_from_created_at():
    assert 99 < aged(100).age < 101
    assert aged(None).age is None
    assert Generation.from_api({"id": "g", "status": "x", "created_at": "2026-01-01T00:00:00Z"}).age > 0
    assert Generation.from_api({"id": "g", "status": "x", "created_at": "yesterday"}).age is None
