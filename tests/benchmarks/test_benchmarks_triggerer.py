"""The triggerer-cost and parse-overhead benchmarks run and report what they document.

Only completion and the shape of the results are checked: performance targets live in the benchmark
output, never in assertions (timings depend on the machine). Each runs as a program (``run_smoke``); the
helpers of ``benchmarks/common.py`` are checked by its docstring examples.
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

from tests.helpers import REPO

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
    "cpu_vs_naive_x",
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
def triggerer_run(run_smoke) -> Any:
    return run_smoke("triggerer_cost")  # its JSON is pure JSON: run_smoke fails otherwise


@pytest.fixture(scope="module")
def triggerer_result(triggerer_run) -> dict[str, Any]:
    return triggerer_run.result


def test_triggerer_cost_smoke_runs_every_variant_to_done(triggerer_result: dict[str, Any]) -> None:
    rows = triggerer_result["rows"]
    # the smoke run runs every trigger the benchmark knows (their names: from its JSON)
    everyone = set(triggerer_result["settings"]["all_variants"])
    assert {row["variant"] for row in rows} == set(triggerer_result["variants"]) == everyone
    assert {"baseline", "per_id", "batched", "naive"} <= everyone  # the four the tests below compare
    for row in rows:
        assert row.keys() >= ROW_KEYS, row["variant"]
        assert [row["n"]] == triggerer_result["settings"]["sizes"]  # the smoke size: one N
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
    assert rows["naive"]["requests_per_poll"] < 0.5  # the floor: one request per 100 live waits a poll
    assert rows["naive"]["cpu_vs_naive_x"] == 1 and rows["batched"]["cpu_vs_naive_x"] > 0


def test_triggerer_cost_reports_targets_and_machine(triggerer_run, triggerer_result: dict[str, Any]) -> None:
    checks = triggerer_result["targets"]
    assert len(checks) == 7 and all({"name", "value", "limit", "met"} <= check.keys() for check in checks)
    assert all(check["value"] is not None for check in checks), checks
    assert isinstance(triggerer_result["targets_met"], bool)
    assert triggerer_result["settings"]["transport"] == "https"  # like the real API
    assert all(row["harness"] for row in triggerer_result["rows"])  # lag and RSS from the latency pass
    assert triggerer_result["machine"]["cores"]
    assert "per_id" in triggerer_run.report


def test_parse_overhead_smoke_runs(run_smoke) -> None:
    smoke = run_smoke("parse_overhead")  # its JSON is pure JSON: run_smoke fails otherwise
    result = smoke.result
    assert result["runs"] > 0
    for key in ("import_airflow_sdk_ms", "ours_after_sdk_ms", "ours_after_sdk_no_bytecode_ms"):
        assert len(result[key]["all"]) == result["runs"]
        assert result[key]["median"] > 0
    # the modules our import must not add are among those it names, each with both flags
    assert set(result["forbidden_modules"]) <= set(result["heavy_modules"])
    assert all(
        set(flags) == {"loaded_by_airflow_sdk", "added_by_ours"} for flags in result["heavy_modules"].values()
    )
    assert any(name.startswith("airflow_provider_creatify.operators") for name in result["added_modules"])
    assert result["importtime"]["top_self"]
    assert [t["name"] for t in result["targets"]]
    assert "Targets" in smoke.report


def test_common_helpers() -> None:
    """The docstring examples of benchmarks/common.py hold (however many there are)."""
    done = subprocess.run(
        [sys.executable, "-m", "doctest", "-v", "benchmarks/common.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    tally = re.search(r"\n([0-9]+) passed and 0 failed\.\nTest passed\.$", done.stdout.rstrip())
    assert tally and int(tally.group(1)) > 0, done.stdout[-3000:]
