"""Many generations in one task against as many mapped tasks, on one real Airflow 3 and one sandbox.

The deployment is ``airflow_e2e``'s, with ``benchmarks/dags/creatify_bench_batch.py``. Method, and why
the mapped run goes first and the pool is capped: docs/performance.md, "Many generations in one task".
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from benchmarks import airflow_e2e as e2e
from benchmarks.common import main, target
from benchmarks.probes import RssSampler, group_rss_bytes
from devtools.airflow_deployment import Deployment, deployment

NAME = "batch_scale"
BATCH_DAG_FILE = e2e.DAG_FILE.with_name("creatify_bench_batch.py")
BATCH_DAG, MAPPED_DAG = "creatify_bench_batch", e2e.MODES["end_in_triggerer"]
MAPPED, BATCH, GENERATION_SECONDS, POLL_INTERVAL = 500, 10_000, 30.0, 5.0
#: Executor slots: deferred tasks free theirs, so the mapped tasks pass through a few dozen.
SLOTS = 32
MB = 1024 * 1024


def measured_run(
    dep: Deployment, n: int, idle_cores: float, run: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """``measured`` (CPU, POSTs, sandbox counts) with the triggerer's RSS, status reads and idle CPU."""
    triggerer = next(proc for proc in dep.procs if proc.name == "triggerer")
    sampler = RssSampler(0.2, partial(group_rss_bytes, triggerer.popen.pid))  # supervisor and runner
    sampler.start()
    try:
        found = e2e.measured(dep, n, run)
    finally:
        sampler.finish()
    before, peak = sampler.before / MB, sampler.peak / MB
    found["triggerer_rss_mb"] = {"before": before, "peak": peak, "growth": peak - before}
    counts = found["sandbox"]
    found["status_reads"] = counts["reads_list"] + counts["reads_one"]
    found["item_polls"] = counts["ids_listed"] + counts["reads_one"]
    found["requests_per_item_poll"] = (
        found["status_reads"] / found["item_polls"] if found["item_polls"] else None
    )
    found["idle_cpu_s"] = idle_cores * (found["wall_clock_s"] or 0.0)
    return found


def batch_run(dep: Deployment, n: int, generation_seconds: float) -> dict[str, Any]:
    """One run of the batch DAG on ``n`` new items; what its task, its manifest and its processes say."""
    items = dep.home / f"items-{n}.jsonl"
    lines = (
        json.dumps({"key": f"item-{i:05d}", "input_params": {"prompt": f"batch {n} {i}"}}) for i in range(n)
    )
    items.write_text("\n".join(lines) + "\n")
    run_id, output = f"batch_{n}_{int(time.time())}", dep.home / f"batch-{n}"
    conf = {"items_path": f"file://{items}", "output_path": f"file://{output}/"}
    dep.trigger(BATCH_DAG, run_id, conf)
    found: dict[str, Any] = {"run_id": run_id}
    found["state"] = dep.wait(BATCH_DAG, run_id, timeout=600 + generation_seconds + n / 10)
    found["wall_clock_s"] = e2e.wall_clock(dep.meta, BATCH_DAG, run_id)
    (tries,) = dep.meta.query("SELECT try_number FROM task_instance WHERE run_id = ?", (run_id,))[0]
    found["retries"] = int(tries) - 1
    value = dep.meta.query("SELECT value FROM xcom WHERE run_id = ? AND key = 'return_value'", (run_id,))
    found["summary"] = json.loads(value[0][0]) if value else None
    found["done"] = ((found["summary"] or {}).get("counts") or {}).get("done", 0)
    manifest = output / "manifest.jsonl"
    found["manifest_lines"] = len(manifest.read_text().splitlines()) if manifest.exists() else 0
    processes = [
        p for p in map(json.loads, dep.starts_file.read_text().splitlines()) if p.get("run_id") == run_id
    ]
    found["worker_processes"] = [
        {k: p[k] for k in ("method", "hwm_kb_at_start", "VmHWM_kb")} for p in processes
    ]
    found["worker_peak_rss_mb"] = max((p["VmHWM_kb"] / 1024 for p in processes), default=None)
    return found


def idle_cores(dep: Deployment, seconds: float) -> float:
    """The components' CPU at rest, in cores: scheduler loops, DAG parsing, heartbeats."""
    before = sum(e2e.component_cpu(dep).values())
    time.sleep(seconds)
    return (sum(e2e.component_cpu(dep).values()) - before) / seconds


def run(
    mapped: Annotated[int, "mapped tasks, and the small batch"] = MAPPED,
    batch: Annotated[int, "items of the large batch"] = BATCH,
    generation_seconds: float = GENERATION_SECONDS,
    poll_interval: Annotated[float, "the batch's poll_interval"] = POLL_INTERVAL,
    *,
    idle_seconds: Annotated[float, "the components at rest, measured"] = 30.0,
    keep: Annotated[bool, "keep the temporary AIRFLOW_HOME (logs)"] = False,
) -> dict[str, Any]:
    """Start the deployment; ``mapped`` mapped tasks, a batch of ``mapped`` items, then one of ``batch``."""
    result: dict[str, Any] = {
        "mapped": mapped,
        "batch": batch,
        "generation_seconds": generation_seconds,
        "poll_interval_s": poll_interval,
        "runs": {},
    }
    env = {"CREATIFY_BENCH_MAPPED": str(mapped), "CREATIFY_BENCH_POLL_INTERVAL": str(poll_interval)}
    env["AIRFLOW__CORE__DEFAULT_POOL_TASK_SLOT_COUNT"] = str(SLOTS)  # the docstring says why
    dag_files, dag_ids = [e2e.DAG_FILE, BATCH_DAG_FILE], (MAPPED_DAG, e2e.WARM_UP_DAG, BATCH_DAG)
    with deployment(dag_files, dag_ids, generation_seconds, SLOTS, env, keep=keep) as dep:
        result.update(dep.timings, airflow_home=str(dep.home) if keep else None)
        result["warm_up_state"] = e2e.run_mode(dep, e2e.WARM_UP_DAG, 1, generation_seconds)["state"]
        result["idle_cores"] = idle = idle_cores(dep, idle_seconds)
        plan = {
            f"mapped_{mapped}": (mapped, partial(e2e.run_mode, dep, MAPPED_DAG, mapped, generation_seconds)),
            f"batch_{mapped}": (mapped, partial(batch_run, dep, mapped, generation_seconds)),
            f"batch_{batch}": (batch, partial(batch_run, dep, batch, generation_seconds)),
        }
        for label, (n, one_run) in plan.items():
            result["runs"][label] = found = measured_run(dep, n, idle, one_run)
            if found["state"] != "success":
                result["logs_tail"] = dep.logs_tail()
                break
    result["targets"] = targets(result)
    return result


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's figures: exact POSTs, 50x less CPU per generation than mapped, the RSS and read caps."""
    mapped, batch, runs = result["mapped"], result["batch"], result["runs"]
    small, large = runs.get(f"batch_{mapped}", {}), runs.get(f"batch_{batch}", {})
    by_mapped = runs.get(f"mapped_{mapped}", {})
    found = []
    for label, n, one in ((f"batch of {mapped}", mapped, small), (f"batch of {batch}", batch, large)):
        found += [
            target(f"{label}: items done", one.get("done"), n, at_least=True),
            target(f"{label}: create POSTs", one.get("posts"), n),
        ]
    found += [
        target(f"mapped {mapped}: tasks succeeded", by_mapped.get("done"), mapped, at_least=True),
        target(f"mapped {mapped}: create POSTs", by_mapped.get("posts"), mapped),
    ]
    cpu = [one.get("airflow_cpu_per_generation_s") for one in (by_mapped, small)]
    ratio = cpu[0] / cpu[1] if cpu[0] and cpu[1] else None
    rss = (large.get("triggerer_rss_mb") or {}).get("growth")
    found += [
        target(f"Airflow CPU per generation, mapped / batch of {mapped}", ratio, 50, at_least=True, unit="x"),
        target(f"batch of {batch}: triggerer RSS growth for the wait", rss, 50, unit="MB"),
        target(f"batch of {batch}: worker task peak RSS", large.get("worker_peak_rss_mb"), 300, unit="MB"),
        target(f"batch of {batch}: status reads per item-poll", large.get("requests_per_item_poll"), 0.011),
    ]
    return found


def smoke() -> dict[str, Any]:
    """A batch of 20, one of 200, 20 mapped tasks; generations of 5 s, read every 1 s."""
    return run(20, 200, 5.0, 1.0, idle_seconds=5.0)


REPORT_ROWS = (
    ("state", "run state"),
    ("done", "generations done"),
    ("retries", "retries"),
    ("posts", "create POSTs"),
    ("status_reads", "status reads (requests)"),
    ("item_polls", "item-polls (ids read)"),
    ("requests_per_item_poll", "  requests per item-poll"),
    ("wall_clock_s", "wall clock queued->end [s]"),
    *e2e.CPU_ROWS,
    ("idle_cpu_s", "Airflow CPU at rest (idle rate x wall) [s]"),
    ("triggerer_rss_before_mb", "triggerer RSS before [MB]"),
    ("triggerer_rss_growth_mb", "  growth to the peak [MB]"),
    ("worker_peak_rss_mb", "worker task peak RSS [MB]"),
)


def report(result: dict[str, Any]) -> str:
    runs = {
        name: {**found, **{f"triggerer_rss_{k}_mb": mb for k, mb in found["triggerer_rss_mb"].items()}}
        for name, found in result["runs"].items()
    }
    header = [
        f"One batch task against mapped tasks: generations of {result['generation_seconds']:g} s, "
        f"the batch read every {result['poll_interval_s']:g} s (LocalExecutor, SQLite)",
        f"Airflow start-up {result.get('startup_s', 0):.1f} s; components at rest: "
        f"{result.get('idle_cores', 0):.3f} cores",
    ]
    return e2e.runs_report(header, runs, REPORT_ROWS)


def succeeded(result: dict[str, Any]) -> bool:
    """The three runs ran, and each succeeded."""
    return {found["state"] for found in result["runs"].values()} == {"success"} and len(result["runs"]) == 3


if __name__ == "__main__":
    sys.exit(main(sys.modules[__name__]))
