"""Smoke size of the create-burst benchmark, so it cannot rot (no timing assertions)."""

from __future__ import annotations


def test_create_burst_benchmark_runs(run_smoke):
    smoke = run_smoke("create_burst")  # its JSON is pure JSON: run_smoke fails otherwise
    result = smoke.result
    creates, rate = result["creates"], result["rate"]
    assert result["succeeded"] + result["failed"] == creates
    # what correctness needs, whatever the timing: no create billed twice, every refusal a 429
    assert result["billed"] == result["distinct_ids"] == result["succeeded"]
    assert result["create_posts"] == result["billed"] + result["throttled"]
    assert result["min_throttled"] == creates - rate
    assert [t["name"] for t in result["targets"]] == [
        "tasks succeeded",
        "billed creates per succeeded task",
        "429s / their minimum",
    ]
    assert "Targets" in smoke.report and "429s" in smoke.report
