"""Airflow 3 the way users run it, against the sandbox: PostgreSQL, Redis, CeleryExecutor with a worker,
two triggerers, scheduler, dag-processor and api-server, each its own process group.

:func:`run_scenario` runs ``tests/system/dags/creatify_production.py`` once with real faults: it
SIGKILLs the triggerer holding the six deferred waits (the other must take them over), SIGKILLs the
Celery worker while the blocking wait runs (and starts another), while the sandbox answers 20 % of the
status reads with a 503 and loses the answers of the first two creates (made, then the connection drops:
the tasks must find and adopt their generations, not pay twice). Heartbeats and thresholds are lowered
so a run takes about a minute.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.common import SandboxProcess
from benchmarks.deployment import (
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
from tests.system.services import Postgres, Redis, ensure_packages

DAG_FILE = Path(__file__).resolve().parent / "dags" / "creatify_production.py"
DAG_ID = "creatify_production"
TASKS = 9  # six mapped, one blocking, two over their execution_timeout: one POST each
MAPPED = 6
TRIES = 5  # the DAG's retries=4, plus the first try
GENERATION_SECONDS = 20.0
TRIGGERERS = ("triggerer-a", "triggerer-b")
#: Each triggerer names itself by this (its job row's hostname): which process holds which trigger.
HOSTNAME_MODULE = "import os\n\ndef get():\n    return os.environ['CREATIFY_SYSTEM_HOSTNAME']\n"


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
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "creatify_system_hostname.get",
            "PYTHONPATH": str(home),
            "AIRFLOW_CONN_CREATIFY_DEFAULT": connection,
        },
    )


class Deployment:
    """The processes and services of one run, in a throw-away directory; :meth:`stop` ends them all."""

    def __init__(self, sandbox: SandboxProcess) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="creatify-system-"))
        self.root.chmod(0o755)  # the postgres user must reach root/pg
        self.home = self.root / "airflow"
        (self.home / "dags").mkdir(parents=True)
        shutil.copy(DAG_FILE, self.home / "dags")
        (self.home / "creatify_system_hostname.py").write_text(HOSTNAME_MODULE)
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
        env = {**self.env, "CREATIFY_SYSTEM_HOSTNAME": name}
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
                "SELECT 1 FROM dag WHERE dag_id = %s AND NOT is_paused AND NOT is_stale", (DAG_ID,)
            )
            triggerers = self.query(
                "SELECT count(*) FROM job WHERE job_type = 'TriggererJob' AND state = 'running' "
                "AND latest_heartbeat > now() - interval '10 seconds'"
            )
            worker_up = " ready." in self.proc("worker-1").tail(20000)
            if dag and triggerers[0][0] == len(TRIGGERERS) and worker_up and ready(health(self.api_port)):
                return
            time.sleep(0.5)
        raise DeploymentError(f"not ready after {timeout:.0f} s; health: {health(self.api_port)}")

    def trigger_run(self) -> str:
        """``POST /api/v2/dags/<id>/dagRuns`` with a token of the simple auth manager; the run id."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.api_port}/api/v2/dags/{DAG_ID}/dagRuns",
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


def _trigger_started(home: Path, job_id: int, trigger_id: int) -> bool:
    """Whether triggerer job ``job_id`` logged trigger ``trigger_id`` starting (in the task's log folder)."""
    pattern = re.compile(rf"\(ID {trigger_id}\) starting")
    return any(
        pattern.search(path.read_text(errors="replace"))
        for path in home.glob(f"logs/dag_id={DAG_ID}/**/*.log.trigger.{job_id}.log")
    )


#: What a try's log says it did with its generation (the operator's log lines), and how it ended when
#: its execution_timeout passed while deferred: the trigger's event (the task's timeout, naming the
#: generation) or, first, Airflow's own trigger timeout.
LOG_EVENTS = {
    "created": "Created Creatify generation",
    "adopted": "Adopting Creatify",
    "resumed": "Resuming Creatify",
    "execution_timeout_event": "This try's execution_timeout",
    "trigger_timeout": "TaskDeferralTimeout",
}


def task_log_events(home: Path, run_id: str) -> dict[str, dict[str, int]]:
    """Per task (``generate[3]``, ``blocking``): how many tries left a log, and how many of those logs
    have each line of :data:`LOG_EVENTS`. With ``adopt_on_retry=False`` (the default) a try that POSTed
    logs ``created``, or ``adopted`` when the POST's answer was lost; a try killed before it either made
    no POST (the kill waits for it: see :func:`_worker_kill_due`)."""
    events: dict[str, dict[str, int]] = {}
    runs = home / "logs" / f"dag_id={DAG_ID}"
    for path in sorted(runs.glob(f"run_id={run_id}/task_id=*/**/attempt=*.log")):
        if not re.fullmatch(r"attempt=\d+\.log", path.name):  # a trigger's: attempt=1.log.trigger.4.log
            continue
        parts = dict(part.split("=", 1) for part in path.relative_to(runs).parts[1:-1])
        key = parts["task_id"] + (f"[{parts['map_index']}]" if "map_index" in parts else "")
        counts = events.setdefault(key, {"tries": 0, **dict.fromkeys(LOG_EVENTS, 0)})
        counts["tries"] += 1
        text = path.read_text(errors="replace")
        for name, line in LOG_EVENTS.items():
            counts[name] += line in text
    return events


def _has_generation(home: Path, run_id: str, task_id: str, map_index: int, try_number: int) -> bool:
    """Whether this try's log says it has its generation (created or adopted: its POST is behind it)."""
    mapped = f"map_index={map_index}/" if map_index >= 0 else ""
    path = home / f"logs/dag_id={DAG_ID}/run_id={run_id}/task_id={task_id}/{mapped}attempt={try_number}.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return LOG_EVENTS["created"] in text or LOG_EVENTS["adopted"] in text


#: A mapped wait in one of these states is in no worker (deferred to the triggerer, or over).
WAITING_OR_DONE = ("deferred", "success", "removed")


def _worker_kill_due(deployment: Deployment, run_id: str) -> list[str] | None:
    """The tries a SIGKILL of the worker would end now, or ``None`` while it would blur the figures.

    Due once the blocking wait has its generation, the six mapped waits are all in the triggerer (or
    done), no task is on its way to a worker (a queued task's Celery message would be lost with the
    worker), and every try running has its generation: each killed try costs exactly its retry.
    """
    rows = deployment.query(
        "SELECT task_id, map_index, state, try_number FROM task_instance WHERE dag_id = %s AND run_id = %s",
        (DAG_ID, run_id),
    )
    running = [(task, index, tries) for task, index, state, tries in rows if state == "running"]
    if (
        not any(task == "blocking" for task, _, _ in running)
        or any(task == "generate" and state not in WAITING_OR_DONE for task, _, state, _ in rows)
        or any(state in ("scheduled", "queued") for _, _, state, _ in rows)
        or not all(_has_generation(deployment.home, run_id, *ti) for ti in running)
    ):
        return None
    return [f"{task}{f'[{index}]' if index >= 0 else ''} try {tries}" for task, index, tries in running]


def run_scenario(timeout: float = 420.0) -> dict[str, Any]:
    """Deploy, run the DAG once with the faults, stop everything; what happened, as a dict.

    ``CREATIFY_SYSTEM_KEEP=1`` keeps the deployment's directory (Airflow's logs, the components' output)
    and prints where it is.
    """
    import airflow

    found: dict[str, Any] = {"airflow": airflow.__version__}
    counts = Path(tempfile.mkdtemp(prefix="creatify-system-counts-")) / "counts.json"
    args = ["--counts-file", str(counts), "--read-fail-rate", "0.2", "--lose-create-answers", "2"]
    with SandboxProcess(generation_seconds=GENERATION_SECONDS, extra_args=args) as sandbox:
        deployment = Deployment(sandbox)
        try:
            started = time.monotonic()
            deployment.start()
            found["startup_s"] = round(time.monotonic() - started, 1)
            run_id = deployment.trigger_run()
            found.update(_drive(deployment, run_id, timeout))
            found["log_events"] = task_log_events(deployment.home, run_id)
            found["adopted"] = sum(events["adopted"] for events in found["log_events"].values())
            found["tasks"] = deployment.query(
                "SELECT task_id, map_index, state, try_number FROM task_instance "
                "WHERE dag_id = %s AND run_id = %s ORDER BY task_id, map_index",
                (DAG_ID, run_id),
            )
        finally:
            deployment.stop()
            found["post_create"] = sandbox.counts_now(counts)["post_create"]
            if os.environ.get("CREATIFY_SYSTEM_KEEP"):
                print(f"CREATIFY_SYSTEM_KEEP: the deployment is kept in {deployment.root}")
            else:
                shutil.rmtree(deployment.root, ignore_errors=True)
    shutil.rmtree(counts.parent, ignore_errors=True)  # the sandbox writes it a last time when it stops
    return found


def _drive(deployment: Deployment, run_id: str, timeout: float) -> dict[str, Any]:
    """Poll the run; kill the triggerer holding the waits, then the worker running the blocking wait."""
    found: dict[str, Any] = {}
    dead: set[str] = set()
    started = time.monotonic()
    blocking_since = None
    while time.monotonic() - started < timeout:
        check_alive(deployment.procs, dead)
        (state,) = deployment.query(
            "SELECT state FROM dag_run WHERE dag_id = %s AND run_id = %s", (DAG_ID, run_id)
        )[0]
        if state in ("success", "failed"):
            found["state"], found["run_s"] = state, round(time.monotonic() - started, 1)
            return found
        waits = deployment.query(
            "SELECT t.id, t.triggerer_id, j.hostname FROM task_instance ti "
            "JOIN trigger t ON t.id = ti.trigger_id LEFT JOIN job j ON j.id = t.triggerer_id "
            "WHERE ti.dag_id = %s AND ti.run_id = %s "
            "AND ti.task_id = 'generate' AND ti.state = 'deferred'",
            (DAG_ID, run_id),
        )
        if (
            "triggerer_killed" not in found
            and len(waits) == 6
            and all(owner and _trigger_started(deployment.home, owner, tid) for tid, owner, _ in waits)
        ):
            victim = max(TRIGGERERS, key=lambda name: sum(host == name for _, _, host in waits))
            found["triggerer_killed"] = {
                "name": victim,
                "at": time.monotonic(),
                "triggers": [w[0] for w in waits],
            }
            deployment.proc(victim).kill()
            dead.add(victim)
        killed = found.get("triggerer_killed")
        if killed and "takeover_s" not in found:
            owners = deployment.query(
                "SELECT j.hostname FROM trigger t JOIN job j ON j.id = t.triggerer_id WHERE t.id = ANY(%s)",
                (killed["triggers"],),
            )
            if len(owners) == len(killed["triggers"]) and all(host != killed["name"] for (host,) in owners):
                found["takeover_s"] = round(time.monotonic() - killed["at"], 1)
        blocking = deployment.query(
            "SELECT state FROM task_instance WHERE dag_id = %s AND run_id = %s AND task_id = 'blocking'",
            (DAG_ID, run_id),
        )
        if blocking and blocking[0][0] == "running" and "worker_killed" not in found:
            blocking_since = blocking_since or time.monotonic()
            victims = _worker_kill_due(deployment, run_id)
            if time.monotonic() - blocking_since > 4 and victims:  # it created its generation and polls it
                deployment.proc("worker-1").kill()
                dead.add("worker-1")
                deployment.spawn("worker-2", ["celery", "worker", "--skip-serve-logs", "-H", "worker2@%h"])
                found["worker_killed"] = victims
        time.sleep(0.5)
    found["state"] = "timeout"
    found["logs"] = {p.name: p.tail(2000) for p in deployment.procs}
    return found


if __name__ == "__main__":  # python -m tests.system.production: the scenario, its figures as JSON
    print(json.dumps(run_scenario(), indent=2, default=str))
