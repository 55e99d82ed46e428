"""The generation model: status rules, tolerated fields, age (the poll schedule: tests/unit/polling)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from airflow_provider_creatify.exceptions import CreatifyAPIError
from airflow_provider_creatify.generation import Generation, format_credits


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


def test_created_at_in_epoch_seconds():
    assert 99 < time.time() - aged(100).created_at < 130  # type: ignore[operator]
    assert aged(None).created_at is None
    created = Generation.from_api({"id": "g", "status": "x", "created_at": "2026-01-01T00:00:00Z"}).created_at
    assert created == 1767225600.0
    assert Generation.from_api({"id": "g", "status": "x", "created_at": "yesterday"}).created_at is None


@pytest.mark.parametrize(
    ("value", "credits"),
    [
        (12, 12),
        ("12", 12),
        ("0.5", 0.5),
        (0, 0),
        ("0", 0),
        (None, None),
        ("", None),
        ("n/a", None),
        (True, None),
    ],
)
def test_credits_used_from_a_number_or_a_string(value, credits):
    generation = Generation.from_api({"id": "g", "status": "done", "credits_used": value})
    assert generation.credits_used == credits and type(generation.credits_used) is type(credits)


def test_credits_in_messages():
    assert Generation.from_api({"id": "g", "status": "done", "credits_used": "12"}).describe_credits() == (
        ", 12 credits used"
    )
    assert Generation.from_api({"id": "g", "status": "done"}).describe_credits() == ""
    assert [format_credits(v) for v in (12, 0.5, 1250, 3.25)] == ["12", "0.5", "1,250", "3.25"]


def test_from_api_list_answers_each_id_in_order():
    data = [{"id": "b", "status": "done"}, {"id": "a", "status": "generating"}]
    found = Generation.from_api_list(["a", "missing", "b"], data, "Reading 3 Creatify generations")
    assert list(found) == ["a", "missing", "b"] and found["missing"] is None
    assert found["a"].status == "generating"  # type: ignore[union-attr]
    page = {"count": 2, "next": None, "previous": None, "results": data}  # Django REST framework's
    assert Generation.from_api_list(["a", "b"], page, "Reading 2 Creatify generations") == {
        "a": found["a"],
        "b": found["b"],
    }
    with pytest.raises(
        CreatifyAPIError, match=r"1 generation\(s\) not asked for, e\.g\. z: the list endpoint ignores"
    ):
        Generation.from_api_list(["a", "b"], [*data, {"id": "z", "status": "done"}], "Reading 2")
    with pytest.raises(
        CreatifyAPIError, match="Reading 1 Creatify generations failed: expected a JSON array"
    ):
        Generation.from_api_list(["a"], {"id": "a"}, "Reading 1 Creatify generations")


def test_assets_given_as_url_strings_are_assets():
    data = {
        "id": "g",
        "status": "done",
        "assets": ["https://cdn.example/a.png", "", 7, {"url": "https://b/c.mp4"}],
    }
    generation = Generation.from_api(data)
    assert generation.asset_urls == ["https://cdn.example/a.png", "https://b/c.mp4"]
    generation.raise_for_status()  # done with assets: no "returned no asset URL"
