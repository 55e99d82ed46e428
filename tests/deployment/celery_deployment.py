"""Airflow 3 the way users run it: PostgreSQL, Redis, CeleryExecutor with a worker, two triggerers,
scheduler, dag-processor and api-server, each its own process group, in a throw-away directory.

Heartbeats and thresholds are lowered so a SIGKILLed component is noticed within seconds.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from devtools.airflow_deployment import (
    DeploymentError,
    Proc,
    airflow_env,
    api_token,
    check_alive,
    free_port,
    health,
    ready,
    run_cli,
    stop_all,
)
from devtools.sandbox_process import SandboxProcess
from tests.deployment.services import Postgres, Redis, ensure_packages

DAG_FILES = sorted((Path(__file__).resolve().parent / "dags").glob("creatify_*.py"))
DAG_ID = "creatify_production"
BATCH_DAG_ID = "creatify_production_batch"
TRIGGERERS = ("triggerer-a", "triggerer-b")
#: Each triggerer names itself by this (its job row's hostname): which process holds which trigger.
HOSTNAME_MODULE = "import os\n\ndef get():\n    return os.environ['CREATIFY_DEPLOYMENT_HOSTNAME']\n"


def _env(home: Path, pg: Postgres, redis: Redis, api_port: int, connection: str) -> dict[str, str]:
    return airflow_env(
        home,
        api_port,
        32,
        {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": pg.url,
            "AIRFLOW__CELERY__BROKER_URL": redis.url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + pg.url,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "16",
            # a SIGKILLed triggerer's triggers go to the other within seconds (defaults: 5 s and 30 s)
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "5",
            # a task whose worker died is failed (and retried) after 20 s, not 300
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
            "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "creatify_deployment_hostname.get",
            "PYTHONPATH": str(home),
            "AIRFLOW_CONN_CREATIFY_DEFAULT": connection,
        },
    )


class Deployment:
    """The processes and services of one run, in a throw-away directory; :meth:`stop` ends them all."""

    def __init__(self, sandbox: SandboxProcess) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="creatify-deployment-"))
        self.root.chmod(0o755)  # the postgres user must reach root/pg
        self.home = self.root / "airflow"
        (self.home / "dags").mkdir(parents=True)
        for dag_file in DAG_FILES:
            shutil.copy(dag_file, self.home / "dags")
        (self.home / "creatify_deployment_hostname.py").write_text(HOSTNAME_MODULE)
        self.log_dir = self.root / "proc-logs"
        self.log_dir.mkdir()
        self.pg, self.redis = Postgres(self.root), Redis(self.root)
        self.api_port = free_port()
        self.sandbox = sandbox
        self.procs: list[Proc] = []
        self.env: dict[str, str] = {}
        self.db: Any = None

    def start(self) -> None:
        """Services, ``db migrate``, then every component; returns once all are ready."""
        import psycopg2

        ensure_packages()
        self.pg.start()
        self.redis.start()
        self.env = _env(self.home, self.pg, self.redis, self.api_port, self.sandbox.connection_json())
        self.env.update(self.sandbox.client_env())
        run_cli([sys.executable, "-m", "airflow", "db", "migrate"], self.env, self.home, 600)
        for name, argv in {
            "scheduler": ["scheduler", "--skip-serve-logs"],
            "dag-processor": ["dag-processor"],
            "api-server": ["api-server"],
            **{name: ["triggerer", "--skip-serve-logs"] for name in TRIGGERERS},  # one host: no log server
        }.items():
            self.spawn(name, argv)
        self.spawn("worker-1", ["celery", "worker", "--skip-serve-logs", "-H", "worker1@%h"])
        self.db = psycopg2.connect(host="127.0.0.1", port=self.pg.port, user="airflow", dbname="airflow")
        self.db.autocommit = True
        self._wait_ready(timeout=300)

    def spawn(self, name: str, argv: list[str]) -> Proc:
        """Start one Airflow component (``python -m airflow ...``) in its own process group."""
        env = {**self.env, "CREATIFY_DEPLOYMENT_HOSTNAME": name}
        proc = Proc(name, [sys.executable, "-m", "airflow", *argv], env, self.log_dir, self.home)
        self.procs.append(proc)
        return proc

    def proc(self, name: str) -> Proc:
        return next(p for p in self.procs if p.name == name)

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.db.cursor() as cursor:
            cursor.execute(sql, args)
            return list(cursor.fetchall())

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            check_alive(self.procs)
            dag = self.query(
                "SELECT count(*) FROM dag WHERE dag_id IN (%s, %s) AND NOT is_paused AND NOT is_stale",
                (DAG_ID, BATCH_DAG_ID),
            )[0][0] == len(DAG_FILES)
            triggerers = self.query(
                "SELECT count(*) FROM job WHERE job_type = 'TriggererJob' AND state = 'running' "
                "AND latest_heartbeat > now() - interval '10 seconds'"
            )
            worker_up = " ready." in self.proc("worker-1").tail(20000)
            if dag and triggerers[0][0] == len(TRIGGERERS) and worker_up and ready(health(self.api_port)):
                return
            time.sleep(0.5)
        raise DeploymentError(f"not ready after {timeout:.0f} s; health: {health(self.api_port)}")

    def trigger_run(self, dag_id: str = DAG_ID) -> str:
        """``POST /api/v2/dags/<id>/dagRuns`` with a token of the simple auth manager; the run id."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.api_port}/api/v2/dags/{dag_id}/dagRuns",
            data=json.dumps({"logical_date": None}).encode(),
            headers={
                "Authorization": f"Bearer {api_token(self.api_port)}",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.loads(response.read())["dag_run_id"])

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.db.close()
        stop_all(self.procs)
        self.redis.stop()
        self.pg.stop()
