"""What Airflow's task logs of one run say: which triggerer started a trigger, and what each try did
with its generation (created, adopted, resumed, ended by its ``execution_timeout``)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.deployment.celery_deployment import DAG_ID

#: A line of the provider's trigger itself (a status change, a failed read), not of Airflow's runner.
TRIGGER_LINE = re.compile(r"Creatify generation \S+ \(model [^)]*\) is \w+\.|Polling again in")


def tasks_with_trigger_lines(home: Path, run_id: str) -> set[str]:
    """The tasks (``generate[3]``) one of whose triggers' logs holds a line of the trigger's own: its
    logger (one for all waits) reaches the task's log as Airflow's own trigger lines do."""
    runs = _runs(home)
    return {
        _task_key(runs, path)
        for path in runs.glob(f"run_id={run_id}/task_id=*/**/attempt=*.log.trigger.*.log")
        if TRIGGER_LINE.search(path.read_text(errors="replace"))
    }


def _runs(home: Path) -> Path:
    """The DAG's log folder: ``run_id=.../task_id=.../[map_index=.../]attempt=N.log[.trigger.J.log]``."""
    return home / "logs" / f"dag_id={DAG_ID}"


def _task_key(runs: Path, path: Path) -> str:
    """The task a log under ``runs`` is of: ``generate[3]``, ``blocking``."""
    parts = dict(part.split("=", 1) for part in path.relative_to(runs).parts[1:-1])
    return parts["task_id"] + (f"[{parts['map_index']}]" if "map_index" in parts else "")


def trigger_started(home: Path, job_id: int, trigger_id: int, dag_id: str = DAG_ID) -> bool:
    """Whether triggerer job ``job_id`` logged trigger ``trigger_id`` starting (in the task's log folder)."""
    pattern = re.compile(rf"\(ID {trigger_id}\) starting")
    return any(
        pattern.search(path.read_text(errors="replace"))
        for path in home.glob(f"logs/dag_id={dag_id}/**/*.log.trigger.{job_id}.log")
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
    no POST (the kill waits for it: see ``_worker_kill_due`` in ``scenario.py``)."""
    events: dict[str, dict[str, int]] = {}
    runs = _runs(home)
    for path in sorted(runs.glob(f"run_id={run_id}/task_id=*/**/attempt=*.log")):
        if not re.fullmatch(r"attempt=\d+\.log", path.name):  # a trigger's: attempt=1.log.trigger.4.log
            continue
        counts = events.setdefault(_task_key(runs, path), {"tries": 0, **dict.fromkeys(LOG_EVENTS, 0)})
        counts["tries"] += 1
        text = path.read_text(errors="replace")
        for name, line in LOG_EVENTS.items():
            counts[name] += line in text
    return events


def has_generation(home: Path, run_id: str, task_id: str, map_index: int, try_number: int) -> bool:
    """Whether this try's log says it has its generation (created or adopted: its POST is behind it)."""
    mapped = f"map_index={map_index}/" if map_index >= 0 else ""
    path = home / f"logs/dag_id={DAG_ID}/run_id={run_id}/task_id={task_id}/{mapped}attempt={try_number}.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return LOG_EVENTS["created"] in text or LOG_EVENTS["adopted"] in text
