"""Smoke run of ``benchmarks.batch_scale``: one real Airflow 3, two batches, and mapped tasks.

Only completion is asserted: every run succeeded with exactly one create POST per generation, and every
number the targets need exists. The targets themselves are printed by the benchmark, never asserted here
(timings and memory depend on the machine).
"""

from __future__ import annotations

import pytest
from airflow import __version__ as airflow_version
from packaging.version import Version


# About 100 s: on the newest Airflow only. The batch's paths run on both versions in tests/integration
# (DAG runs, S3) and in the deployment test; this checks the benchmark itself.
@pytest.mark.skipif(
    Version(airflow_version) < Version("3.3"), reason="the benchmark runs on the newest Airflow"
)
def test_batch_scale_smoke(run_smoke) -> None:
    smoke = run_smoke("batch_scale")
    result = smoke.result
    mapped, batch = result["mapped"], result["batch"]  # the smoke sizes, from its JSON
    runs = {f"batch_{mapped}": mapped, f"batch_{batch}": batch, f"mapped_{mapped}": mapped}
    assert set(result["runs"]) == set(runs), result.get("logs_tail")
    for name, n in runs.items():
        found = result["runs"][name]
        assert found["state"] == "success", result.get("logs_tail")
        assert found["done"] == found["posts"] == found["sandbox"]["generations"] == n
        assert found["item_polls"] >= n  # every generation read at least once
        assert 0 < found["status_reads"] <= found["item_polls"]
        assert found["airflow_cpu_s"] > 0 and found["triggerer_rss_mb"]["peak"] > 0
    for n in (mapped, batch):
        found = result["runs"][f"batch_{n}"]
        assert found["summary"]["total"] == found["manifest_lines"] == n
        # one process defers, another finishes: resumed, or a retry after Airflow's stale-event race
        assert len(found["worker_processes"]) >= 2 and found["worker_processes"][0]["method"] == "execute"
        assert found["worker_peak_rss_mb"] > 0
    assert len(result["targets"]) == 10
    assert all(t["value"] is not None and isinstance(t["met"], bool) for t in result["targets"])
    assert "Targets" in smoke.report and "item-polls" in smoke.report
