"""A throw-away Airflow deployment: its processes, environment, CLI calls, API and metadata DB.

Each component runs in its own session (process group, stopped as a whole), with its output in a log
file; the metadata DB (SQLite) is read with the standard library, read-only, so polling it costs the
deployment nothing. Used by ``benchmarks/airflow_e2e.py``, the deployment test (``tests/deployment/``,
which swaps SQLite for PostgreSQL) and the UI test.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Collection, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

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
