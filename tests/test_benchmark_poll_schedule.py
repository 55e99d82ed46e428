"""Smoke size of the poll-schedule benchmark, so it cannot rot (no timing assertions)."""

from __future__ import annotations

from benchmarks.poll_schedule import DURATIONS, run


def test_poll_schedule_benchmark_runs(monkeypatch):
    result = run(per_class=1, time_scale=0.02)
    assert [row["generation_s"] for row in result["rows"]] == [*DURATIONS, "all"]
    for row in result["rows"]:
        for schedule in ("adaptive", "fixed"):
            assert row[schedule]["requests_per_generation"] >= 1
        assert isinstance(row["meets_targets"], bool)
