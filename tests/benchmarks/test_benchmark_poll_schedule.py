"""Smoke size of the poll-schedule benchmark, so it cannot rot (no timing assertions)."""

from __future__ import annotations

import json

from benchmarks import poll_schedule


def test_poll_schedule_benchmark_runs():
    result = poll_schedule.smoke()
    assert [row["generation_s"] for row in result["rows"]] == [*poll_schedule.DURATIONS, "all"]
    for row in result["rows"]:
        for schedule in ("adaptive", "fixed"):
            assert row[schedule]["requests_per_generation"] >= 1
        assert isinstance(row["meets_targets"], bool)
    assert [t["unit"] for t in result["targets"]] == ["x", "%"]
    assert "Targets" in poll_schedule.report(result)
    json.dumps(result)
