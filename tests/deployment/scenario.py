"""The deployment test's scenario: ``dags/creatify_production.py`` run once with real faults.

:func:`run_scenario` deploys Airflow (``celery_deployment.py``), runs the DAG and, while it runs,
SIGKILLs the triggerer holding the six deferred waits (the other must take them over) and the Celery
worker while the blocking wait runs (and starts another), while the sandbox answers 20 % of the status
reads with a 503 and loses the answers of the first two creates (made, then the connection drops: the
tasks must find and adopt their generations, not pay twice). A run takes about a minute.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from devtools.airflow_deployment import check_alive
from devtools.sandbox_process import SandboxProcess
from tests.deployment.batch_scenario import run_batch_scenario
from tests.deployment.celery_deployment import DAG_ID, TRIGGERERS, Deployment
from tests.deployment.task_logs import (
    has_generation,
    task_log_events,
    tasks_with_trigger_lines,
    trigger_started,
)

TASKS = 9  # six mapped, one blocking, two over their execution_timeout: one POST each
MAPPED = 6
TRIES = 5  # the DAG's retries=4, plus the first try
GENERATION_SECONDS = 20.0


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
        or not all(has_generation(deployment.home, run_id, *ti) for ti in running)
    ):
        return None
    return [f"{task}{f'[{index}]' if index >= 0 else ''} try {tries}" for task, index, tries in running]


def run_scenario(timeout: float = 420.0) -> dict[str, Any]:
    """Deploy, run the DAG once with the faults, stop everything; what happened, as a dict.

    ``CREATIFY_DEPLOYMENT_KEEP=1`` keeps the deployment's directory (Airflow's logs, the components' output)
    and prints where it is.
    """
    import airflow

    found: dict[str, Any] = {"airflow": airflow.__version__}
    counts = Path(tempfile.mkdtemp(prefix="creatify-deployment-counts-")) / "counts.json"
    args = ["--counts-file", str(counts), "--read-fail-rate", "0.2", "--lose-create-answers", "2"]
    args += ["--create-rate-limit", "30"]  # the batch's submission lasts seconds: its worker is killed in it
    with SandboxProcess(generation_seconds=GENERATION_SECONDS, extra_args=args) as sandbox:
        deployment = Deployment(sandbox)
        try:
            started = time.monotonic()
            deployment.start()
            found["startup_s"] = round(time.monotonic() - started, 1)
            run_id = deployment.trigger_run()
            dead: set[str] = set()
            found.update(_drive(deployment, run_id, timeout, dead))
            found["log_events"] = task_log_events(deployment.home, run_id)
            found["trigger_lines"] = sorted(tasks_with_trigger_lines(deployment.home, run_id))
            found["adopted"] = sum(events["adopted"] for events in found["log_events"].values())
            found["tasks"] = deployment.query(
                "SELECT task_id, map_index, state, try_number FROM task_instance "
                "WHERE dag_id = %s AND run_id = %s ORDER BY task_id, map_index",
                (DAG_ID, run_id),
            )
            before = sandbox.counts_now(counts)
            found["post_create"] = before["post_create"]
            found["batch"] = run_batch_scenario(deployment, dead)
            after = sandbox.counts_now(counts)
            found["batch"]["generations"] = after["generations"] - before["generations"]
            found["batch"]["throttled"] = after.get("create_throttled", 0) - before.get("create_throttled", 0)
        finally:
            deployment.stop()
            if os.environ.get("CREATIFY_DEPLOYMENT_KEEP"):
                print(f"CREATIFY_DEPLOYMENT_KEEP: the deployment is kept in {deployment.root}")
            else:
                shutil.rmtree(deployment.root, ignore_errors=True)
    shutil.rmtree(counts.parent, ignore_errors=True)  # the sandbox writes it a last time when it stops
    return found


def _drive(deployment: Deployment, run_id: str, timeout: float, dead: set[str]) -> dict[str, Any]:
    """Poll the run; kill the triggerer holding the waits, then the worker running the blocking wait.

    :param dead: the components killed on purpose (added to here).
    """
    found: dict[str, Any] = {}
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
            and all(owner and trigger_started(deployment.home, owner, tid) for tid, owner, _ in waits)
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


if __name__ == "__main__":  # python -m tests.deployment.scenario: the scenario, its figures as JSON
    print(json.dumps(run_scenario(), indent=2, default=str))
