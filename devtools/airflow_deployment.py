"""A throw-away Airflow deployment: its processes, environment, CLI calls, API and metadata DB.

Each component runs in its own session (process group, stopped as a whole), with its output in a log
file; the metadata DB (SQLite) is read with the standard library, read-only, so polling it costs the
deployment nothing. :func:`deployment` starts the sandbox and a whole Airflow on SQLite, as the
benchmarks ``airflow_e2e`` and ``batch_scale`` run it. Used by them, the deployment test
(``tests/deployment/``, which swaps SQLite for PostgreSQL) and the UI test.
"""

from __future__ import annotations

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
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from devtools.sandbox_process import SandboxProcess

COMPONENTS: dict[str, list[str]] = {  # no log servers: logs are local files, and nothing binds 0.0.0.0
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "api-server": ["api-server"],
}
JWT_SECRET = "creatify-benchmark-jwt-secret-not-for-production"


class DeploymentError(RuntimeError):
    """The deployment did not come up, a component died, or a run did not finish in time."""


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
        if not any(group_alive(proc.popen.pid) for proc in procs):
            break
        time.sleep(0.2)
    for proc in procs:
        proc.kill()


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> tuple[float, str]:
    """Run a one-shot command; (seconds taken, output). Raises with the output on failure."""
    start = time.monotonic()
    try:
        done = subprocess.run(
            argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, start_new_session=True
        )
    except subprocess.TimeoutExpired as exc:
        raise DeploymentError(f"{' '.join(argv[2:])} timed out after {timeout:.0f} s") from exc
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise DeploymentError(f"{' '.join(argv[2:])} exited {done.returncode}:\n{output[-3000:]}")
    return time.monotonic() - start, output


def get_json(url: str, headers: dict[str, str] | None = None, timeout: float = 5.0) -> Any:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def api_token(api_port: int) -> str:
    """A token of the simple auth manager (all admins) for the api-server's public API."""
    return str(get_json(f"http://127.0.0.1:{api_port}/auth/token", timeout=10)["access_token"])


def check_alive(procs: Sequence[Proc], dead: Collection[str] = ()) -> None:
    """Raise with its log's tail if a component exited (those named in ``dead`` were killed on purpose)."""
    for proc in procs:
        if proc.name not in dead and not proc.alive():
            raise DeploymentError(f"airflow {proc.name} exited {proc.popen.returncode}:\n{proc.tail()}")


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
        raise DeploymentError(f"metadata DB stayed locked: {sql}")


def parse_ts(value: Any) -> datetime | None:
    if value is None:
        return None
    text = str(value).replace("T", " ")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def airflow_env(home: Path, api_port: int, slots: int, extra: dict[str, str]) -> dict[str, str]:
    """A clean environment for every Airflow process: nothing ``AIRFLOW*`` from the caller survives.

    LocalExecutor and SQLite in ``home``, room for ``slots`` tasks at once, then ``extra`` on top.
    """
    env = {k: v for k, v in os.environ.items() if not k.lstrip("_").upper().startswith("AIRFLOW")}
    env.pop("PYTHONPATH", None)
    base_url = f"http://127.0.0.1:{api_port}"
    slots = max(slots, 4)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",  # DAGs are unpaused when first parsed
            "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
            # room for all tasks at once: executor slots, pool slots, per-DAG concurrency
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
            "AIRFLOW__API_AUTH__JWT_ISSUER": "creatify-benchmark",  # 3.1 signs no UI token without one
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            **extra,
        }
    )
    return env


def health(api_port: int) -> dict[str, Any]:
    try:
        return dict(get_json(f"http://127.0.0.1:{api_port}/api/v2/monitor/health", timeout=3))
    except (OSError, ValueError, urllib.error.URLError):
        return {}


def ready(health: dict[str, Any]) -> bool:
    parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
    return all((health.get(p) or {}).get("status") == "healthy" for p in parts)


def _wait_ready(procs: list[Proc], db: MetaDB, api_port: int, dag_ids: Sequence[str], timeout: float) -> None:
    """Until the api-server says every component is healthy and the DAGs are parsed and unpaused."""
    deadline = time.monotonic() + timeout
    marks = ",".join("?" * len(dag_ids))
    while time.monotonic() < deadline:
        check_alive(procs)
        dags = db.query(
            f"SELECT dag_id FROM dag WHERE dag_id IN ({marks}) AND NOT is_paused AND NOT is_stale", dag_ids
        )
        if len(dags) == len(dag_ids) and ready(health(api_port)):
            return
        time.sleep(0.5)
    raise DeploymentError(f"Airflow not ready after {timeout:.0f} s; health: {health(api_port)}")


@dataclass
class Deployment:
    """The sandbox and one Airflow 3 (scheduler, triggerer, dag-processor, api-server) in a temporary home.

    Made by :func:`deployment` (``benchmarks/airflow_e2e.py`` and ``benchmarks/batch_scale.py`` run on it).
    """

    python: str
    home: Path
    env: dict[str, str]
    sandbox: SandboxProcess
    counts_path: Path
    procs: list[Proc] = field(default_factory=list)
    api_port: int = 0
    db: MetaDB | None = None
    timings: dict[str, float] = field(default_factory=dict)
    final_counts: dict[str, int] = field(default_factory=dict)

    @property
    def meta(self) -> MetaDB:
        assert self.db is not None, "the deployment is not started"
        return self.db

    @property
    def starts_file(self) -> Path:
        """Where the DAGs' ``on_execute_callback`` writes a line per worker task process."""
        return self.home / "worker-starts.jsonl"

    def counts(self) -> dict[str, int]:
        """The sandbox's request counts now (``--counts-file``)."""
        return self.sandbox.counts_now(self.counts_path)

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any] | None = None) -> float:
        """``airflow dags trigger`` (with ``conf``, if given); return the seconds the CLI took."""
        argv = [self.python, "-m", "airflow", "dags", "trigger", dag_id, "-r", run_id]
        return run_cli([*argv, *(["-c", json.dumps(conf)] if conf else [])], self.env, self.home, 300)[0]

    def wait(self, dag_id: str, run_id: str, timeout: float) -> str:
        """Poll the run until success/failed (``"timeout"`` if neither in time)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            rows = self.meta.query(
                "SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", (dag_id, run_id)
            )
            if rows and rows[0][0] in ("success", "failed"):
                return str(rows[0][0])
            check_alive(self.procs)
            time.sleep(0.25)
        return "timeout"

    def logs_tail(self) -> dict[str, str]:
        """The end of each component's log."""
        return {proc.name: proc.tail(1500) for proc in self.procs}


@contextlib.contextmanager
def deployment(
    dag_files: Sequence[Path],
    dag_ids: Sequence[str],
    generation_seconds: float,
    slots: int,
    extra_env: dict[str, str],
    *,
    python: str | None = None,
    keep: bool = False,
) -> Iterator[Deployment]:
    """Start the sandbox and Airflow with ``dag_files`` until ``dag_ids`` are ready; stop both after.

    ``slots``: tasks at once (executor, pool, per DAG). The home is deleted unless ``keep``; the sandbox's
    last counts stay in ``final_counts``.
    """
    home = Path(tempfile.mkdtemp(prefix="creatify-bench-airflow-"))
    (home / "dags").mkdir()
    for dag_file in dag_files:
        shutil.copy(dag_file, home / "dags" / dag_file.name)
    (home / "proc-logs").mkdir()
    counts_path = home / "sandbox-counts.json"
    sandbox = SandboxProcess(
        generation_seconds=generation_seconds, extra_args=["--counts-file", str(counts_path)]
    )
    dep = Deployment(python or sys.executable, home, {}, sandbox, counts_path)
    try:
        sandbox.start()
        dep.api_port = free_port()
        env = {
            "AIRFLOW_CONN_CREATIFY_DEFAULT": sandbox.connection_json(),
            "CREATIFY_BENCH_STARTS": str(dep.starts_file),
            **extra_env,
        }
        dep.env = airflow_env(home, dep.api_port, slots, env)
        dep.db = MetaDB(home / "airflow.db")
        t0 = time.monotonic()
        migrate = [dep.python, "-m", "airflow", "db", "migrate"]
        dep.timings["db_migrate_s"], _ = run_cli(migrate, dep.env, home, 600)
        t1 = time.monotonic()
        for name, args in COMPONENTS.items():
            argv = [dep.python, "-m", "airflow", *args]
            dep.procs.append(Proc(name, argv, dep.env, home / "proc-logs", home))
        _wait_ready(dep.procs, dep.db, dep.api_port, dag_ids, timeout=600)
        t2 = time.monotonic()
        dep.timings.update(components_ready_s=t2 - t1, startup_s=t2 - t0)
        yield dep
    finally:
        stop_all(dep.procs)
        sandbox.stop()
        with contextlib.suppress(OSError, ValueError):
            dep.final_counts = json.loads(counts_path.read_text())
        if not keep:
            shutil.rmtree(home, ignore_errors=True)
