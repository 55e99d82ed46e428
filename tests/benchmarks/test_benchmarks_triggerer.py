"""The triggerer-cost and parse-overhead benchmarks run and report what they document.

Only completion and the shape of the results are checked: performance targets live in the benchmark
output, never in assertions (timings depend on the machine).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from benchmarks import parse_overhead, triggerer_cost
from benchmarks.common import format_table, machine_info, percentile, target

ROW_KEYS = {
    "variant",
    "n",
    "polls",
    "poll_errors",
    "polls_per_trigger",
    "cpu_seconds",
    "cpu_ms_per_poll",
    "cpu_system_ms_per_poll",
    "cpu_ms_per_poll_with_harness",
    "cpu_vs_baseline_x",
    "wall_seconds",
    "loop_lag_max_ms",
    "loop_lag_p99_ms",
    "loop_lag_max_ms_first_2_polls",
    "loop_lag_max_ms_without_gc",
    "gc_gen2_longest_ms",
    "rss_kb_per_generation",
    "requests_per_poll",
    "detection_delay_median_s",
    "sandbox_cpu_share",
    "events",
    "event_statuses",
    "all_done",
    "other_load_cores",
}


@pytest.fixture(scope="module")
def triggerer_result() -> dict[str, Any]:
    return triggerer_cost.smoke()


def test_triggerer_cost_smoke_runs_every_variant_to_done(triggerer_result: dict[str, Any]) -> None:
    rows = triggerer_result["rows"]
    assert {row["variant"] for row in rows} == set(triggerer_cost.VARIANTS)
    for row in rows:
        assert row.keys() >= ROW_KEYS, row["variant"]
        assert row["n"] == triggerer_cost.SMOKE_SIZES[0]
        assert row["all_done"], row
        assert row["event_statuses"] == {"done": row["n"]}
        assert row["polls"] >= row["n"] > 0
        assert row["poll_errors"] == 0


def test_triggerer_cost_batches_the_status_reads(triggerer_result: dict[str, Any]) -> None:
    rows = {row["variant"]: row for row in triggerer_result["rows"]}
    assert rows["baseline"]["requests_per_poll"] == rows["per_id"]["requests_per_poll"] == 1
    # N waits polling together share requests: fewer than one per wait-poll (counted at the transport)
    assert rows["batched"]["requests_per_poll"] < 0.5
    assert rows["batched"]["status_requests"] < rows["batched"]["polls"]


def test_triggerer_cost_reports_targets_and_machine(triggerer_result: dict[str, Any]) -> None:
    checks = triggerer_result["targets"]
    assert len(checks) == 6 and all({"name", "value", "limit", "met"} <= check.keys() for check in checks)
    assert all(check["value"] is not None for check in checks), checks
    assert isinstance(triggerer_result["targets_met"], bool)
    assert triggerer_result["settings"]["transport"] == "https"  # like the real API
    assert all(row["harness"] for row in triggerer_result["rows"])  # lag and RSS from the latency pass
    assert triggerer_result["machine"]["cores"]
    assert "per_id" in triggerer_cost.report(triggerer_result)
    json.dumps(triggerer_result)  # JSON-serialisable as documented


def test_parse_overhead_three_runs() -> None:
    result = parse_overhead.smoke()
    assert result["runs"] == 3
    for key in ("import_airflow_sdk_ms", "ours_after_sdk_ms", "ours_after_sdk_no_bytecode_ms"):
        assert len(result[key]["all"]) == 3
        assert result[key]["median"] > 0
    assert set(result["heavy_modules"]) == set(parse_overhead.HEAVY_MODULES)
    assert any(name.startswith("airflow_provider_creatify.operators") for name in result["added_modules"])
    assert result["importtime"]["top_self"]
    assert [t["name"] for t in result["targets"]]
    assert "Targets" in parse_overhead.report(result)
    json.dumps(result)


def test_common_helpers() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert target("x", 5.0, 3.0, at_least=True)["met"]
    assert not target("x", 5.0, 3.0)["met"]
    assert "yes" in format_table([{"a": True}], [("a", "A", "")])
    assert machine_info()["python"]
