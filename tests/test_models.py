"""The generation model: status rules and the adaptive poll schedule."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from airflow_provider_creatify.exceptions import CreatifyAPIError
from airflow_provider_creatify.generation import Generation
from airflow_provider_creatify.polling import poll_delay


def aged(seconds: float | None, **fields) -> Generation:
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


@pytest.mark.parametrize(
    ("age", "poll_interval", "expected"),
    [
        (0, 30, 5.0),  # young: the shortest wait
        (10, 30, 5.0),
        (100, 30, 20.0),  # a fifth of its age
        (1000, 30, 30.0),  # old: the user's poll_interval caps it
        (100, 2, 2.0),  # a poll_interval under the shortest wait polls at that interval
        (None, 30, 5.0),  # no created_at: the shortest wait
    ],
)
def test_adaptive_poll_delay(age, poll_interval, expected):
    assert poll_delay(aged(age).age, poll_interval) == pytest.approx(expected, abs=0.05)


def test_fixed_polling_when_min_equals_max():
    assert poll_delay(aged(0).age, 5, min_poll_interval=5) == 5
    assert poll_delay(aged(1000).age, 5, min_poll_interval=5) == 5
