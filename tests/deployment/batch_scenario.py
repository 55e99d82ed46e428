"""The deployment test's batch scenario: 300 generations in one task, its worker and triggerer SIGKILLed.

Runs in the deployment of :mod:`tests.deployment.scenario`, after its run. A triggerer replaces the one
that run killed, then ``dags/creatify_production_batch.py`` is triggered. While the batch submits (the
sandbox admits 30 creates a second, so that takes about ten seconds), its Celery worker is SIGKILLed and
another started: the task is failed by its heartbeat and retried, and the retry goes on from the journal.
Once the batch waits, the triggerer holding its trigger is SIGKILLed: the other takes it over.
"""

from __future__ import annotations

import time
from typing import Any

from devtools.airflow_deployment import check_alive
from tests.deployment.celery_deployment import BATCH_DAG_ID, Deployment
from tests.deployment.task_logs import trigger_started

#: The batch's folder in the deployment (its DAG file's OUTPUT_PATH).
BATCH_FOLDER = "batch"


def run_batch_scenario(deployment: Deployment, dead: set[str], timeout: float = 420.0) -> dict[str, Any]:
    """Run the batch DAG once with its faults; what happened, as a dict (its manifest's rows included)."""
    from airflow_provider_creatify.batch import read_manifest
    from airflow_provider_creatify.batch.journal import BatchState

    found: dict[str, Any] = {}
    replacement = deployment.spawn("triggerer-c", ["triggerer", "--skip-serve-logs"])
    _wait_for_triggerers(deployment, 2, dead)
    run_id = deployment.trigger_run(BATCH_DAG_ID)
    folder = f"file://{deployment.home}/{BATCH_FOLDER}/"
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        check_alive(deployment.procs, dead)
        (state,) = deployment.query(
            "SELECT state FROM dag_run WHERE dag_id = %s AND run_id = %s", (BATCH_DAG_ID, run_id)
        )[0]
        if state in ("success", "failed"):
            found["state"], found["run_s"] = state, round(time.monotonic() - started, 1)
            break
        ti_state, trigger_id, owner, host = _batch_task(deployment, run_id)
        if "worker_killed" not in found and ti_state == "running":
            ids = len(BatchState(output_path=folder).known_ids())
            if 50 <= ids < 250:  # mid-submission: some chunks created, others not yet
                victim = next(
                    p for p in reversed(deployment.procs) if p.name.startswith("worker") and p.alive()
                )
                victim.kill()
                dead.add(victim.name)
                deployment.spawn(
                    "worker-batch", ["celery", "worker", "--skip-serve-logs", "-H", "workerb@%h"]
                )
                found["worker_killed"] = {"name": victim.name, "ids_recorded": ids}
        if (
            "worker_killed" in found
            and "triggerer_killed" not in found
            and ti_state == "deferred"
            and owner
            and trigger_id is not None
            and host is not None
            and trigger_started(deployment.home, owner, trigger_id, BATCH_DAG_ID)
        ):
            deployment.proc(host).kill()
            dead.add(host)
            found["triggerer_killed"] = {"name": host, "at": time.monotonic(), "trigger": trigger_id}
        killed = found.get("triggerer_killed")
        if killed and "takeover_s" not in found and host not in (None, killed["name"]) and owner:
            found["takeover_s"] = round(time.monotonic() - killed["at"], 1)
        time.sleep(0.5)
    else:
        found["state"] = "timeout"
        found["logs"] = {p.name: p.tail(2000) for p in deployment.procs}
    found["tries"] = deployment.query(
        "SELECT try_number FROM task_instance WHERE dag_id = %s AND run_id = %s", (BATCH_DAG_ID, run_id)
    )[0][0]
    found["rows"] = list(read_manifest(folder)) if found["state"] == "success" else []
    found["replacement_triggerer"] = replacement.name
    return found


def _batch_task(deployment: Deployment, run_id: str) -> tuple[str | None, int | None, int | None, str | None]:
    """The batch task's state, its trigger's id, and the job id and name of the triggerer holding it."""
    rows = deployment.query(
        "SELECT ti.state, t.id, t.triggerer_id, j.hostname FROM task_instance ti "
        "LEFT JOIN trigger t ON t.id = ti.trigger_id LEFT JOIN job j ON j.id = t.triggerer_id "
        "WHERE ti.dag_id = %s AND ti.run_id = %s",
        (BATCH_DAG_ID, run_id),
    )
    return rows[0] if rows else (None, None, None, None)


def _wait_for_triggerers(deployment: Deployment, count: int, dead: set[str], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check_alive(deployment.procs, dead)
        (alive,) = deployment.query(
            "SELECT count(*) FROM job WHERE job_type = 'TriggererJob' AND state = 'running' "
            "AND latest_heartbeat > now() - interval '5 seconds'"
        )[0]
        if alive >= count:
            return
        time.sleep(0.5)
    raise RuntimeError(f"fewer than {count} triggerers alive after {timeout:.0f} s")
