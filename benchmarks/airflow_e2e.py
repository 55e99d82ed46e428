"""End to end through a real Airflow 3: M mapped deferrable generations against the sandbox, two ways.

Each task ended in the triggerer, then resumed in a worker (``benchmarks/dags/creatify_bench_mapped.py``).
Method and figures: docs/performance.md, "End to end".
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from airflow_provider_creatify.links import CreatifyAssetLink
from benchmarks.common import format_table, main, target
from benchmarks.probes import group_cpu_seconds
from devtools.airflow_deployment import Deployment, MetaDB, api_token, deployment, get_json, parse_ts
from devtools.sandbox_process import SandboxProcess

DAG_FILE = Path(__file__).resolve().parent / "dags" / "creatify_bench_mapped.py"
#: The two modes, each a DAG of the same M mapped generations (benchmarks/dags/creatify_bench_mapped.py).
MODES: dict[str, str] = {
    "end_in_triggerer": "creatify_bench_end_in_triggerer",
    "resume_in_worker": "creatify_bench_resume_in_worker",
}
#: Run first, measured apart: what Airflow builds on first use is not charged to either mode.
WARM_UP_DAG = "creatify_bench_warm_up"
WARM_UP_ASSET_URI = "creatify://benchmark/warm-up"  # the outlet of its second task
LINK_XCOM_KEY = CreatifyAssetLink().xcom_key
#: What a task writes when it finishes (in a worker or in the triggerer): one request to a supervisor each.
FINISH_XCOM_KEYS = ("return_value", "asset_urls", "assets", "credits_used", LINK_XCOM_KEY)
PUSHED_IN = re.compile(r"XComs pushed in ([0-9.]+) s")  # the trigger's line when it ends a task
NAME = "airflow_e2e"
MAPPED = 50
GENERATION_SECONDS = 20.0


def wall_clock(db: MetaDB, dag_id: str, run_id: str) -> float | None:
    """A run's wall clock in seconds: Airflow's ``end_date - queued_at``."""
    sql = "SELECT queued_at, end_date FROM dag_run WHERE dag_id = ? AND run_id = ?"
    queued, ended = (parse_ts(value) for value in db.query(sql, (dag_id, run_id))[0])
    return (ended - queued).total_seconds() if queued and ended else None


def _collect(db: MetaDB, dag_id: str, run_id: str) -> dict[str, Any]:
    """The run's wall clock, task states and tries, the generation ids pushed to XCom."""
    tis = db.query(
        "SELECT state, try_number FROM task_instance WHERE dag_id = ? AND run_id = ? "
        "AND task_id = 'generate'",
        (dag_id, run_id),
    )
    # A stale executor event leaves a "state mismatch" audit-log row, not always a failed try (seen on
    # 3.1.1): count the tries that met one and were retried, and the failed tasks whose last try met one.
    stale_retries, stale_failures = db.query(
        "SELECT COUNT(DISTINCT CASE WHEN log.try_number < ti.try_number "
        "THEN ti.map_index || ':' || log.try_number END), COUNT(DISTINCT CASE "
        "WHEN log.try_number = ti.try_number AND ti.state = 'failed' THEN ti.map_index END) "
        "FROM task_instance ti JOIN log ON log.dag_id = ti.dag_id AND log.run_id = ti.run_id "
        "AND log.task_id = ti.task_id AND log.map_index = ti.map_index WHERE log.event = 'state mismatch' "
        "AND ti.dag_id = ? AND ti.run_id = ? AND ti.task_id = 'generate'",
        (dag_id, run_id),
    )[0]
    xcoms, requests = _xcoms(db, dag_id, run_id)
    return {
        "ti_states": dict(Counter(str(state) for state, _ in tis)),
        "retries": sum(int(tries) - 1 for _, tries in tis),
        "retries_after_stale_event": stale_retries,
        "failed_after_stale_event": stale_failures,
        "generation_ids": [str(x["generation_id"]) for x in xcoms.values() if "generation_id" in x],
        "xcom_contract_ok": sum(1 for x in xcoms.values() if _contract_ok(x)),
        "first_asset_urls": {i: x["asset_urls"][0] for i, x in xcoms.items() if x.get("asset_urls")},
        **requests,
        "wall_clock_s": wall_clock(db, dag_id, run_id),
    }


def _xcoms(db: MetaDB, dag_id: str, run_id: str) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    """The run's mapped tasks' XComs (map_index -> {key: value}), and the requests of those of the finish.

    Those of the finish take one request each: how many per task, and the time from one to the next (their
    rows' timestamps: what the supervisor takes per request, waits included).
    """
    xcoms: dict[int, dict[str, Any]] = {}
    stamps: dict[int, list[Any]] = {}
    for map_index, key, value, stamp in db.query(
        "SELECT map_index, key, value, timestamp FROM xcom WHERE dag_id = ? AND run_id = ? "
        "AND task_id = 'generate' ORDER BY map_index, timestamp",
        (dag_id, run_id),
    ):
        # stored as JSON; SQLite hands a JSON number back as a number
        decoded = json.loads(value) if isinstance(value, (str, bytes)) else value
        xcoms.setdefault(int(map_index), {})[str(key)] = decoded
        if key in FINISH_XCOM_KEYS:
            stamps.setdefault(int(map_index), []).append(parse_ts(stamp))
    gaps = [
        (b - a).total_seconds() * 1000 for t in stamps.values() for a, b in itertools.pairwise(t) if a and b
    ]
    counts = [len(t) for t in stamps.values()]
    return xcoms, {
        "xcom_requests_per_task": statistics.mean(counts) if counts else None,
        "xcom_request_gap_ms_median": statistics.median(gaps) if gaps else None,
        "xcom_request_gap_ms_max": max(gaps, default=None),
    }


def _trigger_push_seconds(home: Path, dag_id: str, run_id: str) -> list[float]:
    """For each task its trigger ended: the time the trigger spent pushing the XComs (its log line)."""
    found = []
    for path in (home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}").glob("**/*.log.trigger.*"):
        found += [float(m.group(1)) for m in PUSHED_IN.finditer(path.read_text(errors="replace"))]
    return found


def _contract_ok(xcoms: dict[str, Any]) -> bool:
    """The XComs a done task promises: asset URLs as return value, assets, credits, the link's XCom."""
    urls = xcoms.get("asset_urls")
    return bool(
        urls
        and xcoms.get("return_value") == urls
        and len(xcoms.get("assets") or ()) == len(urls)
        and xcoms.get("credits_used") is not None
        and xcoms.get(LINK_XCOM_KEY) == urls[0]
    )


def _extra_links_ok(api_port: int, dag_id: str, run_id: str, first_urls: dict[int, str]) -> int:
    """How many tasks' "Creatify asset" button, as the api-server serves it, opens their first asset."""
    headers = {"Authorization": f"Bearer {api_token(api_port)}"}
    links = f"http://127.0.0.1:{api_port}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/generate/links"
    served = {i: get_json(f"{links}?map_index={i}", headers)["extra_links"] for i in first_urls}
    return sum(served[i].get(CreatifyAssetLink.name) == url for i, url in first_urls.items())


def _asset_events(db: MetaDB, uri: str) -> int:
    (count,) = db.query(
        "SELECT COUNT(*) FROM asset_event JOIN asset ON asset.id = asset_event.asset_id WHERE asset.uri = ?",
        (uri,),
    )[0]
    return int(count)


def _check_generations(sandbox: SandboxProcess, gen_ids: list[str]) -> int:
    """How many of the ids the sandbox knows as ``done`` (a GET each)."""
    done = 0
    for gen_id in gen_ids:
        with contextlib.suppress(OSError, ValueError):  # URLError is an OSError
            url = f"{sandbox.base_url}/api/asset_generator/{gen_id}/"
            if get_json(url, sandbox.headers).get("status") == "done":
                done += 1
    return done


def run(
    mapped: Annotated[int, "mapped generations M"] = MAPPED,
    generation_seconds: Annotated[float, "one generation"] = GENERATION_SECONDS,
    *,
    keep: Annotated[bool, "keep the temporary AIRFLOW_HOME (logs)"] = False,
) -> dict[str, Any]:
    """Start the deployment, run M mapped generations in each mode, one run after the other; stop all."""
    result: dict[str, Any] = {
        "mapped": mapped,
        "generation_seconds": generation_seconds,
        "finish_xcom_keys": list(FINISH_XCOM_KEYS),  # what a done task writes: one request each
        "modes": {},
    }
    dag_ids = (*MODES.values(), WARM_UP_DAG)
    env = {"CREATIFY_BENCH_MAPPED": str(mapped)}
    with deployment([DAG_FILE], dag_ids, generation_seconds, mapped, env, keep=keep) as dep:
        result.update(dep.timings, airflow_home=str(dep.home) if keep else None)
        warm_up = run_mode(dep, WARM_UP_DAG, 1, generation_seconds)
        result["warm_up"] = {
            "state": warm_up["state"],
            "wall_clock_s": warm_up["wall_clock_s"],
            "worker_starts": worker_starts(dep, WARM_UP_DAG),
            # the task with an Asset outlet: resumed in a worker, which emits the Asset event
            "outlet_task_worker_starts": worker_starts(dep, WARM_UP_DAG, "generate_asset"),
            "asset_events": _asset_events(dep.meta, WARM_UP_ASSET_URI),
        }
        for mode, dag_id in MODES.items():
            found = measured(dep, mapped, partial(run_mode, dep, dag_id, mapped, generation_seconds))
            found["worker_starts"] = worker_starts(dep, dag_id)
            found["generations_done_in_sandbox"] = _check_generations(dep.sandbox, found["generation_ids"])
            urls = found.pop("first_asset_urls")
            found["extra_links_ok"] = _extra_links_ok(dep.api_port, dag_id, found["run_id"], urls)
            result["modes"][mode] = found
            if found["state"] != "success":
                result["logs_tail"] = dep.logs_tail()
                break
    result["targets"] = targets(result)
    return result


def component_cpu(dep: Deployment) -> dict[str, float]:
    """CPU seconds so far of each component's process group (the scheduler's holds the task processes)."""
    return {proc.name.replace("-", "_"): group_cpu_seconds({proc.popen.pid}) for proc in dep.procs}


def worker_starts(dep: Deployment, dag_id: str, task_id: str = "generate") -> int:
    """Worker task processes started for this task (the DAGs' on_execute_callback writes a line each)."""
    with contextlib.suppress(FileNotFoundError):
        starts = map(json.loads, dep.starts_file.read_text().splitlines())
        return sum(1 for start in starts if (start["dag_id"], start["task_id"]) == (dag_id, task_id))
    return 0


def measured(dep: Deployment, generations: int, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """What ``run()`` found, with the components' CPU, the POSTs and every count of the sandbox's."""
    counts_before, cpu_before = dep.counts(), component_cpu(dep)
    found = run()
    cpu = {name: s - cpu_before[name] for name, s in component_cpu(dep).items()}
    found.update({f"cpu_{name}_s": s for name, s in cpu.items()})
    found["airflow_cpu_s"] = sum(cpu.values())
    found["airflow_cpu_per_generation_s"] = found["airflow_cpu_s"] / generations
    found["sandbox"] = {key: n - counts_before.get(key, 0) for key, n in dep.counts().items()}
    found["posts"] = found["sandbox"]["post_create"]
    return found


def run_mode(dep: Deployment, dag_id: str, mapped: int, generation_seconds: float) -> dict[str, Any]:
    """Trigger one run of ``dag_id``, wait for it, collect what happened (``done``: tasks succeeded)."""
    run_id = f"bench_{int(time.time())}"
    started = time.monotonic()
    dep.trigger(dag_id, run_id)
    found: dict[str, Any] = {"run_id": run_id}
    found["state"] = dep.wait(dag_id, run_id, timeout=300 + generation_seconds + 10 * mapped)
    found["cli_trigger_to_seen_done_s"] = time.monotonic() - started
    found.update(_collect(dep.meta, dag_id, run_id))
    found["done"] = found["ti_states"].get("success", 0)
    pushes = [1000 * seconds for seconds in _trigger_push_seconds(dep.home, dag_id, run_id)]
    found["trigger_xcom_pushes"] = len(pushes)  # tasks ended in the triggerer (their log says so)
    found["trigger_xcom_push_ms_median"] = statistics.median(pushes) if pushes else None
    found["trigger_xcom_push_ms_max"] = max(pushes, default=None)
    found["distinct_generation_ids"] = len(set(found["generation_ids"]))
    wall = found["wall_clock_s"]
    found["overhead_s"] = wall - generation_seconds if wall is not None else None
    found["overhead_per_generation_s"] = found["overhead_s"] / mapped if wall is not None else None
    return found


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every task succeeds with one POST; ending in the triggerer halves processes and cuts overhead."""
    mapped, modes = result["mapped"], result["modes"]
    on, off = modes.get("end_in_triggerer", {}), modes.get("resume_in_worker", {})

    def per_task(mode: dict[str, Any], key: str) -> float | None:
        return mode[key] / mapped if mode.get(key) is not None else None

    on_overhead, off_overhead = on.get("overhead_s"), off.get("overhead_s")
    ratio = on_overhead / off_overhead if on_overhead is not None and off_overhead else None
    found = []
    for mode, label in ((on, "ending in the triggerer"), (off, "resuming in a worker")):
        found.append(target(f"{label}: tasks succeeded", mode.get("done", 0), mapped, at_least=True))
        found.append(target(f"{label}: POSTs per task", per_task(mode, "posts"), 1.0))
    label = "ending in the triggerer"
    return [
        *found,
        target(f"{label}: worker processes per generation", per_task(on, "worker_starts"), 1.0),
        target(f"{label}: overhead / resuming's", ratio, 0.6),
        target(f"{label}: stale-event race retries", on.get("retries_after_stale_event"), 0),
        target(f"{label}: XCom requests per task", on.get("xcom_requests_per_task"), len(FINISH_XCOM_KEYS)),
    ]


def smoke() -> dict[str, Any]:
    """M = 3 generations of 3 s in each mode."""
    return run(3, 3.0)


REPORT_ROWS = (
    ("state", "run state"),
    ("ti_states", "task states"),
    ("worker_starts", "worker task processes started"),
    ("retries", "retries (tries after the first)"),
    ("retries_after_stale_event", "  of which after a stale executor event"),
    ("posts", "POSTs on the sandbox"),
    ("distinct_generation_ids", "distinct generation ids (XCom)"),
    ("xcom_contract_ok", "tasks with the full XCom contract"),
    ("xcom_requests_per_task", "XCom requests at the finish, per task"),
    ("xcom_request_gap_ms_median", "  time from one to the next, median [ms]"),
    ("xcom_request_gap_ms_max", "  max [ms]"),
    ("trigger_xcom_pushes", "tasks whose trigger pushed their XComs"),
    ("trigger_xcom_push_ms_median", "  push time per task, median [ms]"),
    ("trigger_xcom_push_ms_max", "  max [ms]"),
    ("extra_links_ok", "tasks whose asset link works (API)"),
    ("wall_clock_s", "wall clock queued->success [s]"),
    ("overhead_s", "scheduling overhead [s]"),
    ("overhead_per_generation_s", "  per generation [s]"),
    ("cli_trigger_to_seen_done_s", "CLI trigger->seen success [s]"),
)
#: What every Airflow run costs, for both Airflow benchmarks' reports.
CPU_ROWS = (
    ("airflow_cpu_s", "Airflow CPU, all components [s]"),
    ("airflow_cpu_per_generation_s", "  per generation [s]"),
    ("cpu_scheduler_s", "  scheduler, executor, task processes [s]"),
    ("cpu_triggerer_s", "  triggerer [s]"),
    ("cpu_api_server_s", "  api-server [s]"),
    ("cpu_dag_processor_s", "  dag-processor [s]"),
)


def runs_report(
    header: Sequence[str],
    runs: dict[str, dict[str, Any]],
    metrics: Sequence[tuple[str, str]],
) -> str:
    """The header lines, then a table of the ``metrics`` (key, label) with one column per run."""

    def shown(value: Any) -> Any:
        if not isinstance(value, float):
            return value
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3g}"

    rows = [
        {"metric": label, **{run: shown(found.get(key)) for run, found in runs.items()}}
        for key, label in metrics
    ]
    columns = [("metric", "metric", ""), *((name, name.replace("_", " "), "") for name in runs)]
    return "\n".join([*header, "", format_table(rows, columns)])


def report(result: dict[str, Any]) -> str:
    """A small text table of the headline numbers, one column per mode."""
    warm = result.get("warm_up") or {}
    header = [
        f"Airflow end to end: {result['mapped']} mapped generations of "
        f"{result['generation_seconds']:g} s per mode (scheduler + triggerer, LocalExecutor, SQLite)",
        f"Airflow start-up {result.get('startup_s', 0):.1f} s "
        f"(db migrate {result.get('db_migrate_s', 0):.1f} s)",
        f"Warm-up run: {warm.get('wall_clock_s') or 0:.1f} s; its task with an Asset outlet: "
        f"{warm.get('outlet_task_worker_starts')} worker processes, {warm.get('asset_events')} Asset event",
    ]
    return runs_report(header, result["modes"], (*REPORT_ROWS, *CPU_ROWS))


def succeeded(result: dict[str, Any]) -> bool:
    """Both modes ran, and each run succeeded."""
    states = {found.get("state") for found in result["modes"].values()}
    return states == {"success"} and len(result["modes"]) == len(MODES)


if __name__ == "__main__":
    sys.exit(main(sys.modules[__name__]))
