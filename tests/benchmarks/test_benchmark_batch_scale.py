"""Smoke run of ``benchmarks.batch_scale``: one real Airflow 3, batches of 20 and 200 items, 20 mapped tasks.

Only completion is asserted: every run succeeded with exactly one create POST per generation, and every
number the targets need exists. The targets themselves are printed by the benchmark, never asserted here
(timings and memory depend on the machine).
"""

from __future__ import annotations

import pytest
from airflow import __version__ as airflow_version
from packaging.version import Version

RUNS = {"batch_20": 20, "batch_200": 200, "mapped_20": 20}


# About 100 s: on the newest Airflow only. The batch's paths run on both versions in tests/integration
# (DAG runs, S3) and in the deployment test; this checks the benchmark itself.
@pytest.mark.skipif(
    Version(airflow_version) < Version("3.3"), reason="the benchmark runs on the newest Airflow"
)
def test_batch_scale_smoke(run_smoke) -> None:
    smoke = run_smoke("batch_scale")
    result = smoke.result
    assert set(result["runs"]) == set(RUNS), result.get("logs_tail")
    for name, n in RUNS.items():
        found = result["runs"][name]
        assert found["state"] == "success", result.get("logs_tail")
        assert found["done"] == found["posts"] == found["sandbox"]["generations"] == n
        assert found["item_polls"] >= n  # every generation read at least once
        assert 0 < found["status_reads"] <= found["item_polls"]
        assert found["airflow_cpu_s"] > 0 and found["triggerer_rss_mb"]["peak"] > 0
    for name in ("batch_20", "batch_200"):
        batch = result["runs"][name]
        assert batch["summary"]["total"] == batch["manifest_lines"] == RUNS[name]
        # one process defers, another finishes: resumed, or a retry after Airflow's stale-event race
        assert len(batch["worker_processes"]) >= 2 and batch["worker_processes"][0]["method"] == "execute"
        assert batch["worker_peak_rss_mb"] > 0
    assert len(result["targets"]) == 10
    assert all(t["value"] is not None and isinstance(t["met"], bool) for t in result["targets"])
    assert "Targets" in smoke.report and "item-polls" in smoke.report
