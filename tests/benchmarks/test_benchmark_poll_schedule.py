"""Smoke size of the poll-schedule benchmark, so it cannot rot (no timing assertions)."""

from __future__ import annotations


def test_poll_schedule_benchmark_runs(run_smoke):
    smoke = run_smoke("poll_schedule")  # its JSON is pure JSON: run_smoke fails otherwise
    result = smoke.result
    # one row per generation length it compares (from its JSON), then all together
    assert len(result["durations_s"]) > 1
    assert [row["generation_s"] for row in result["rows"]] == [*result["durations_s"], "all"]
    for row in result["rows"]:
        for schedule in ("adaptive", "fixed"):
            assert row[schedule]["requests_per_generation"] >= 1
        assert isinstance(row["meets_targets"], bool)
    assert [t["unit"] for t in result["targets"]] == ["x", "%"]
    assert "Targets" in smoke.report
