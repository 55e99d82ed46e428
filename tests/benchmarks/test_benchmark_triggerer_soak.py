"""Smoke size of the triggerer soak (300 waits, 20 s), run as a program so it cannot rot.

Only completion and the shape of the result are checked, and that every target got a value: the targets
themselves live in the benchmark's output, never in assertions (timings depend on the machine).
"""

from __future__ import annotations

#: What its row holds (``benchmarks/triggerer_soak.py``: ``Soak.run``).
ROW_KEYS = {
    "n",
    "live_mean",
    "live_min",
    "waits_ended",
    "event_statuses",
    "polls",
    "requests_per_poll",
    "cpu_ms_per_poll",
    "loop_lag_max_ms",
    "loop_lag_p99_ms",
    "loop_lag_max_ms_without_gc",
    "gc_longest_pause_ms",
    "detection_delay_median_s",
    "rss_before_mb",
    "rss_kb_per_wait",
    "rss_warm_mb",
    "rss_end_mb",
    "rss_growth_pct",
    "rss_slope_kb_per_min",
    "rss_samples",
    "sandbox_cpu_share",
    "creator_cpu_share",
    "other_load_cores",
    "feeder_kept_up",
}


def test_triggerer_soak_benchmark_runs(run_smoke):
    smoke = run_smoke("triggerer_soak")  # its JSON is pure JSON: run_smoke fails otherwise
    result = smoke.result
    (row,) = result["rows"]
    assert set(row) >= ROW_KEYS
    assert row["n"] == result["settings"]["waits"] > 0
    # waits ended after warm-up and were replaced: the soak turned over, all through the product trigger
    assert row["waits_ended"] > 0
    assert set(row["event_statuses"]) == {"done"}
    assert row["polls"] > row["waits_ended"]
    assert 0 < row["requests_per_poll"] <= 1
    assert row["loop_lag_max_ms_without_gc"] <= row["loop_lag_max_ms"]
    assert row["rss_warm_mb"] > row["rss_before_mb"] > 0
    times = [t for t, _, _ in row["rss_samples"]]
    assert times == sorted(times) and len(times) > 10
    assert [t["unit"] for t in result["targets"]] == ["ms", "KB", "%"]
    assert all(isinstance(t["value"], float) and isinstance(t["met"], bool) for t in result["targets"])
    assert isinstance(result["targets_met"], bool)
    assert "Targets" in smoke.report and "RSS KB/wait" in smoke.report
