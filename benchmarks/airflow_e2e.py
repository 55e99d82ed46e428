"""End to end through a real Airflow 3: M mapped deferrable generations against the sandbox.

Starts the sandbox (its own process, ``benchmarks.common.SandboxProcess``), then, in a throw-away
``AIRFLOW_HOME`` with its own clean environment (no ``AIRFLOW*`` variable of the caller is inherited):
``airflow db migrate``, scheduler (LocalExecutor), triggerer, dag-processor and api-server (tasks reach
the execution API through it), all on SQLite and 127.0.0.1. It triggers ``creatify_bench_mapped``
(``benchmarks/dags/creatify_bench_mapped.py``) with ``airflow dags trigger`` and polls the run in the
metadata DB (stdlib ``sqlite3``, read-only: an ``airflow dags state`` call costs seconds of CPU on a
small machine and would skew the timing).

Counting: the sandbox process writes its request log's counts when it stops (``--counts-file`` of its
CLI: the exact ``POST`` count); the distinct ``generation_id`` XComs of the run are counted as well, and
each id is read back from the sandbox.

Wall clock = the run's ``end_date - queued_at`` (Airflow's own timestamps); overhead = wall clock minus
one generation's duration. Airflow's start-up (migrate + components ready + DAG parsed) is reported apart.

The DAG has ``retries=3``: Airflow (seen on 3.1.1 and 3.3.2) may fail a resumed deferred task on a stale
executor event (apache/airflow#72716); on 3.3+ the retry resumes the stored generation without a new
POST, on 3.1/3.2 (no ``task_state_store``) it buys a new one. Such cases are reported (``retries``: tries
after the first, over all mapped tasks; ``retries_after_stale_event``: those whose previous try met a
stale event, from the scheduler's "state mismatch" audit-log rows).

``python -m benchmarks.airflow_e2e [--mapped 50] [--generation-seconds 20] [--smoke]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from benchmarks.common import (
    SandboxProcess,
    format_machine,
    format_table,
    format_targets,
    machine_info,
    target,
    write_results,
)

DAG_FILE = Path(__file__).resolve().parent / "dags" / "creatify_bench_mapped.py"
DAG_ID = "creatify_bench_mapped"
COMPONENTS: dict[str, list[str]] = {  # no log servers: logs are local files, and nothing binds 0.0.0.0
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "api-server": ["api-server"],
}
JWT_SECRET = "creatify-benchmark-jwt-secret-not-for-production"
NAME = "airflow_e2e"
MAPPED = 50
GENERATION_SECONDS = 20.0


class BenchmarkError(RuntimeError):
    """The deployment did not come up, or the run did not finish in time."""


# ------------------------------------------------------------------ processes
class Proc:
    """A child started in its own session (process group), output to a log file; stopped by its pgid."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path, cwd: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def alive(self) -> bool:
        """Whether the child still runs."""
        return self.popen.poll() is None

    def tail(self, chars: int = 3000) -> str:
        """The end of its log."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def terminate(self) -> None:
        """SIGTERM its process group (our own child's pgid: start_new_session makes it the leader)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL what is left of its process group, reap the child, close the log."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        self._log.close()


def stop_all(procs: Sequence[Proc], grace: float = 20.0) -> None:
    """SIGTERM every group at once; SIGKILL the groups still alive after ``grace`` seconds."""
    for proc in procs:
        proc.terminate()
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        for proc in procs:
            proc.popen.poll()  # reap the leader, so its pgid disappears once the group is empty
        if not any(_group_alive(proc.popen.pid) for proc in procs):
            break
        time.sleep(0.2)
    for proc in procs:
        proc.kill()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_cli(argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> tuple[float, str]:
    """Run a one-shot command; (seconds taken, output). Raises with the output on failure."""
    start = time.monotonic()
    try:
        done = subprocess.run(
            argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, start_new_session=True
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchmarkError(f"{' '.join(argv[2:])} timed out after {timeout:.0f} s") from exc
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise BenchmarkError(f"{' '.join(argv[2:])} exited {done.returncode}:\n{output[-3000:]}")
    return time.monotonic() - start, output


def _get_json(url: str, headers: dict[str, str] | None = None, timeout: float = 5.0) -> Any:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


# ------------------------------------------------------------------ airflow
def airflow_env(home: Path, api_port: int, sandbox_connection: str, mapped: int) -> dict[str, str]:
    """A clean environment for every Airflow process: nothing ``AIRFLOW*`` from the caller survives."""
    env = {k: v for k, v in os.environ.items() if not k.lstrip("_").upper().startswith("AIRFLOW")}
    env.pop("PYTHONPATH", None)
    base_url = f"http://127.0.0.1:{api_port}"
    slots = max(mapped, 4)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",  # the DAG is unpaused when first parsed
            "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
            # room for all M mapped tasks at once: executor slots, pool slots, per-DAG concurrency
            "AIRFLOW__CORE__PARALLELISM": str(slots),
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(slots),
            "AIRFLOW__CORE__DEFAULT_POOL_TASK_SLOT_COUNT": str(max(slots, 128)),
            "AIRFLOW__SCHEDULER__MAX_TIS_PER_QUERY": str(max(slots, 16)),
            # the api-server: tasks talk to its execution API; JWTs signed and checked with one secret
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": base_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": "creatify-benchmark-secret-key",
            "AIRFLOW__API_AUTH__JWT_SECRET": JWT_SECRET,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW_CONN_CREATIFY_DEFAULT": sandbox_connection,
            "CREATIFY_BENCH_MAPPED": str(mapped),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    return env


class MetaDB:
    """Read-only queries on the SQLite metadata DB (retried while a writer holds the lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of ``sql``; [] if the DB or table does not exist yet."""
        if not self.path.exists():
            return []
        for _ in range(20):
            try:
                con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)
                try:
                    return con.execute(sql, args).fetchall()
                finally:
                    con.close()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []
                time.sleep(0.1)
        raise BenchmarkError(f"metadata DB stayed locked: {sql}")


def _parse_ts(value: Any) -> datetime | None:
    if value is None:
        return None
    text = str(value).replace("T", " ")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _health(api_port: int) -> dict[str, Any]:
    try:
        return dict(_get_json(f"http://127.0.0.1:{api_port}/api/v2/monitor/health", timeout=3))
    except (OSError, ValueError, urllib.error.URLError):
        return {}


def _ready(health: dict[str, Any]) -> bool:
    parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
    return all((health.get(p) or {}).get("status") == "healthy" for p in parts)


def _wait_ready(procs: list[Proc], db: MetaDB, api_port: int, timeout: float) -> None:
    """Until the api-server says every component is healthy and the DAG is parsed and unpaused."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if not proc.alive():
                raise BenchmarkError(f"airflow {proc.name} exited {proc.popen.returncode}:\n{proc.tail()}")
        dag = db.query("SELECT is_paused, is_stale FROM dag WHERE dag_id = ?", (DAG_ID,))
        if dag and not dag[0][0] and not dag[0][1] and _ready(_health(api_port)):
            return
        time.sleep(0.5)
    raise BenchmarkError(f"Airflow not ready after {timeout:.0f} s; health: {_health(api_port)}")


def _wait_run(db: MetaDB, run_id: str, procs: list[Proc], timeout: float) -> str:
    """Poll the run until success/failed (``"timeout"`` if neither in time)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        rows = db.query("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", (DAG_ID, run_id))
        if rows and rows[0][0] in ("success", "failed"):
            return str(rows[0][0])
        for proc in procs:
            if not proc.alive():
                raise BenchmarkError(f"airflow {proc.name} died mid-run:\n{proc.tail()}")
        time.sleep(0.25)
    return "timeout"


def _collect(db: MetaDB, run_id: str) -> dict[str, Any]:
    """Timestamps of the run, task states and tries, the generation ids pushed to XCom."""
    queued, started, ended = db.query(
        "SELECT queued_at, start_date, end_date FROM dag_run WHERE dag_id = ? AND run_id = ?",
        (DAG_ID, run_id),
    )[0]
    tis = db.query(
        "SELECT map_index, state, try_number, start_date, end_date FROM task_instance "
        "WHERE dag_id = ? AND run_id = ? AND task_id = 'generate'",
        (DAG_ID, run_id),
    )
    xcoms = db.query(
        "SELECT map_index, value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = 'generate' "
        "AND key = 'generation_id'",
        (DAG_ID, run_id),
    )
    states: dict[str, int] = {}
    for _, state, _, _, _ in tis:
        states[str(state)] = states.get(str(state), 0) + 1
    # The scheduler writes a "state mismatch" audit-log row for each stale executor event. Not every one
    # fails its try (seen on 3.1.1: a row, then the try succeeds), and its log text may repeat the
    # message, so count the tries that met one and were followed by another try.
    (retries_after_stale_event,) = db.query(
        "SELECT COUNT(DISTINCT ti.map_index || ':' || log.try_number) FROM task_instance ti JOIN log "
        "ON log.dag_id = ti.dag_id "
        "AND log.run_id = ti.run_id AND log.task_id = ti.task_id AND log.map_index = ti.map_index "
        "WHERE log.event = 'state mismatch' AND log.try_number < ti.try_number "
        "AND ti.dag_id = ? AND ti.run_id = ? AND ti.task_id = 'generate'",
        (DAG_ID, run_id),
    )[0]
    gen_ids = [json.loads(value) for _, value in xcoms]  # Airflow 3 stores XCom values as JSON text
    q, s, e = _parse_ts(queued), _parse_ts(started), _parse_ts(ended)
    starts = [ts for t in tis if (ts := _parse_ts(t[3]))]
    ends = [ts for t in tis if (ts := _parse_ts(t[4]))]
    first_start, last_end = min(starts, default=None), max(ends, default=None)
    return {
        "ti_states": states,
        "max_try_number": max((int(t[2]) for t in tis), default=0),
        "retried_tasks": sum(1 for t in tis if int(t[2]) > 1),
        "retries": sum(int(t[2]) - 1 for t in tis),
        "retries_after_stale_event": retries_after_stale_event,
        "generation_ids": [str(g) for g in gen_ids],
        "queued_to_end_s": (e - q).total_seconds() if q and e else None,
        "queued_to_start_s": (s - q).total_seconds() if q and s else None,
        "queued_to_first_task_s": (first_start - q).total_seconds() if q and first_start else None,
        "last_task_end_to_run_end_s": (e - last_end).total_seconds() if e and last_end else None,
    }


def _check_generations(sandbox: SandboxProcess, gen_ids: list[str]) -> int:
    """How many of the ids the sandbox knows as ``done`` (a GET each)."""
    done = 0
    for gen_id in gen_ids:
        with contextlib.suppress(OSError, ValueError, urllib.error.URLError):
            url = f"{sandbox.base_url}/api/asset_generator/{gen_id}/"
            if _get_json(url, sandbox.headers).get("status") == "done":
                done += 1
    return done


# ------------------------------------------------------------------------ run
def run(
    mapped: int = MAPPED,
    generation_seconds: float = GENERATION_SECONDS,
    *,
    python: str | None = None,
    keep: bool = False,
) -> dict[str, Any]:
    """Start the deployment, run M mapped generations once, stop everything; the result as a dict."""
    python = python or sys.executable
    home = Path(tempfile.mkdtemp(prefix="creatify-bench-airflow-"))
    (home / "dags").mkdir()
    shutil.copy(DAG_FILE, home / "dags" / DAG_FILE.name)
    log_dir = home / "proc-logs"
    log_dir.mkdir()
    counts_path = home / "sandbox-counts.json"
    procs: list[Proc] = []
    sandbox = SandboxProcess(
        generation_seconds=generation_seconds, extra_args=["--counts-file", str(counts_path)]
    )
    result: dict[str, Any] = {
        "benchmark": NAME,
        "machine": machine_info(),
        "mapped": mapped,
        "generation_seconds": generation_seconds,
        "poll_interval_s": 2,
        "airflow_home": str(home),
    }
    try:
        sandbox.start()
        api_port = _free_port()
        env = airflow_env(home, api_port, sandbox.connection_json(), mapped)
        db = MetaDB(home / "airflow.db")

        t0 = time.monotonic()
        result["db_migrate_s"], _ = _run_cli([python, "-m", "airflow", "db", "migrate"], env, home, 600)
        t1 = time.monotonic()
        for name, args in COMPONENTS.items():
            procs.append(Proc(name, [python, "-m", "airflow", *args], env, log_dir, home))
        _wait_ready(procs, db, api_port, timeout=600)
        t2 = time.monotonic()
        result["components_ready_s"] = t2 - t1
        result["startup_s"] = t2 - t0

        run_id = f"bench_{int(time.time())}"
        t_trigger = time.monotonic()
        _run_cli([python, "-m", "airflow", "dags", "trigger", DAG_ID, "-r", run_id], env, home, 300)
        result["trigger_cli_s"] = time.monotonic() - t_trigger
        state = _wait_run(db, run_id, procs, timeout=300 + generation_seconds + 10 * mapped)
        result["cli_trigger_to_seen_done_s"] = time.monotonic() - t_trigger
        result["state"] = state
        result.update(_collect(db, run_id))
        result["generations_done_in_sandbox"] = _check_generations(sandbox, result["generation_ids"])
        result["distinct_generation_ids"] = len(set(result["generation_ids"]))
        wall = result["queued_to_end_s"]
        result["wall_clock_s"] = wall
        result["overhead_s"] = wall - generation_seconds if wall is not None else None
        if state != "success":
            result["logs_tail"] = {p.name: p.tail(1500) for p in procs}
    finally:
        stop_all(procs)
        sandbox.stop()
        with contextlib.suppress(OSError, ValueError):
            result["sandbox_counts"] = json.loads(counts_path.read_text())
        result["sandbox_post_count"] = result.get("sandbox_counts", {}).get("post_create")
        if not keep:
            shutil.rmtree(home, ignore_errors=True)
            result.pop("airflow_home")
    succeeded = result.get("ti_states", {}).get("success", 0)
    posts = result["sandbox_post_count"]
    result["targets"] = [
        target("mapped tasks succeeded", succeeded, mapped, at_least=True),
        target("POSTs per mapped task", posts / mapped if posts is not None else None, 1.0),
    ]
    return result


def smoke() -> dict[str, Any]:
    """M = 3 generations of 3 s."""
    return run(3, 3.0)


# ------------------------------------------------------------------ reporting
REPORT_ROWS = (
    ("mapped", "mapped generations (M)"),
    ("state", "run state"),
    ("ti_states", "task states"),
    ("retried_tasks", "tasks retried"),
    ("retries", "retries (tries after the first)"),
    ("sandbox_post_count", "POSTs on the sandbox"),
    ("distinct_generation_ids", "distinct generation ids (XCom)"),
    ("generation_seconds", "generation duration [s]"),
    ("wall_clock_s", "wall clock queued->success [s]"),
    ("overhead_s", "scheduling overhead [s]"),
    ("cli_trigger_to_seen_done_s", "CLI trigger->seen success [s]"),
    ("startup_s", "Airflow start-up [s]"),
    ("db_migrate_s", "  of which db migrate [s]"),
)


def report(result: dict[str, Any]) -> str:
    """A small text table of the headline numbers."""
    rows = []
    for key, label in REPORT_ROWS:
        value = result.get(key)
        rows.append({"metric": label, "value": f"{value:.1f}" if isinstance(value, float) else value})
    return "\n".join(
        [
            f"Airflow end to end: {result['mapped']} mapped generations of "
            f"{result['generation_seconds']:g} s (scheduler + triggerer, LocalExecutor, SQLite)",
            f"Machine: {format_machine(result['machine'])}",
            "",
            format_table(rows, [("metric", "metric", ""), ("value", "value", "")]),
            "",
            "Targets: every mapped task succeeds with exactly one POST (overhead is reported, not a target)",
            format_targets(result["targets"]),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.airflow_e2e", description="Airflow 3 end to end."
    )
    parser.add_argument("--mapped", type=int, default=MAPPED, help="mapped generations M (default 50)")
    parser.add_argument(
        "--generation-seconds", type=float, default=GENERATION_SECONDS, help="one generation (default 20)"
    )
    parser.add_argument("--smoke", action="store_true", help="M=3, generation 3 s")
    parser.add_argument("--keep", action="store_true", help="keep the temporary AIRFLOW_HOME (logs)")
    args = parser.parse_args(argv)
    result = smoke() if args.smoke else run(args.mapped, args.generation_seconds, keep=args.keep)
    print(report(result))
    print(f"JSON: {write_results(NAME, result)}")
    return 0 if result.get("state") == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
