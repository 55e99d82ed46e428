"""The provider in a production-like Airflow: PostgreSQL, Redis, CeleryExecutor, two triggerers, real faults.

Runs in its own venv with the Celery provider (``scripts/deployment-test.sh``); skipped elsewhere.
Starts PostgreSQL and Redis from Debian's packages (installing them as root where missing), then
Airflow's components as separate processes (``celery_deployment.py``). While the DAG runs
(``scenario.py``), the triggerer holding its six deferred waits is SIGKILLed, then the Celery worker
running its blocking wait; the sandbox fails a fifth of the status reads and loses the answers of the
first two creates; two tasks run over their ``execution_timeout``. Then a batch of 300 runs in the same
deployment, its worker SIGKILLed mid-submission and its triggerer mid-wait (``batch_scenario.py``). No
timing assertions; the figures (start-up, takeover and run time, POSTs, each task's state and tries) are
printed.

What must hold depends on the Airflow version (docs/reliability.md): on 3.3+ every task succeeds with
exactly one POST each. Before 3.3 there is no ``task_state_store``: the waits still survive their
triggerer and the lost answers are still adopted, but every retry after a POST creates (and pays for) a
new generation, so the tasks over their ``execution_timeout`` can never finish.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from airflow import __version__ as airflow_version
from packaging.version import Version

pytest.importorskip("airflow.providers.celery", reason="the deployment test runs in its own venv (Celery)")
if os.geteuid() != 0:
    pytest.skip(
        "the deployment test starts PostgreSQL through runuser: run it as root", allow_module_level=True
    )

#: ``task_state_store`` came with Airflow 3.3: a retry resumes the generation of an earlier try.
HAS_TASK_STATE_STORE = Version(airflow_version).release[:2] >= (3, 3)


@pytest.fixture(scope="module")
def found() -> dict[str, Any]:
    """One run of the scenario (about a minute and a half), its figures printed in the test's output."""
    from tests.deployment.scenario import run_scenario

    figures = run_scenario()
    rows = figures.get("batch", {}).pop("rows", [])  # 300 of them: checked, not printed
    print(json.dumps(figures, indent=2, default=str))
    figures["batch"]["rows"] = rows
    return figures


@pytest.mark.skipif(not HAS_TASK_STATE_STORE, reason="needs task_state_store (Airflow 3.3+)")
def test_every_task_succeeds_with_one_post_through_real_faults(found: dict[str, Any]) -> None:
    from tests.deployment.scenario import TASKS

    assert found["state"] == "success", found.get("logs")
    assert all(state == "success" for _, _, state, _ in found["tasks"]), found["tasks"]
    assert len(found["tasks"]) == TASKS
    # faults, retries, timeouts and two lost create answers bought nothing twice
    assert found["post_create"] == TASKS
    assert found["adopted"] == 2  # each lost answer: its task found the generation it had made
    assert "takeover_s" in found, "the surviving triggerer took the waits over"
    assert found.get("worker_killed")
    tries = {task_id: try_number for task_id, _, _, try_number in found["tasks"]}
    # execution_timeout (8 s) ended tries of both 20 s waits, deferred or not: retried, then resumed
    assert tries["timeout_deferred"] > 1 and tries["timeout_blocking"] > 1
    assert tries["blocking"] > 1  # its worker was killed: a retry resumed the generation


@pytest.mark.skipif(HAS_TASK_STATE_STORE, reason="what Airflow 3.1 and 3.2 guarantee (no task_state_store)")
def test_before_3_3_a_lost_triggerer_costs_nothing_and_each_retry_creates_anew(found: dict[str, Any]) -> None:
    from tests.deployment.scenario import MAPPED, TASKS, TRIES

    assert found["state"] in ("success", "failed"), found.get("logs")
    assert len(found["tasks"]) == TASKS
    tasks = {
        (task if index < 0 else f"{task}[{index}]"): (state, tries)
        for task, index, state, tries in found["tasks"]
    }
    events = found["log_events"]
    # what each task paid: a try that POSTed logs its generation as created, or as adopted when the answer
    # was lost (adopt_on_retry=False: nothing else adopts); no try resumes anything without a state store
    posts = {task: e["created"] + e["adopted"] for task, e in events.items()}
    assert {task: e["tries"] for task, e in events.items()} == {task: t for task, (_, t) in tasks.items()}
    assert not any(e["resumed"] for e in events.values()), events

    # the triggerer holding the six waits died; the other took them over; each wait succeeded on its
    # first try with its one POST (the trigger restarts on the generation it was given)
    assert found.get("triggerer_killed") and "takeover_s" in found, "the surviving triggerer took over"
    for index in range(MAPPED):
        assert tasks[f"generate[{index}]"] == ("success", 1), tasks
        assert posts[f"generate[{index}]"] == 1, events
    # the two lost create answers were found and adopted within their try, not POSTed again
    assert found["adopted"] == 2
    assert sum(e["adopted"] for e in events.values()) == 2
    # the blocking wait's worker was killed after its POST: its one retry created a second generation
    assert found.get("worker_killed")
    assert tasks["blocking"] == ("success", 2), tasks
    assert posts["blocking"] == 2, events
    # a 20 s generation under an 8 s execution_timeout: each try creates anew and times out, until the
    # retries are spent; the task fails, having paid for one generation per try
    for task in ("timeout_deferred", "timeout_blocking"):
        assert tasks[task] == ("failed", TRIES), tasks
        assert posts[task] == TRIES, events
    assert found["state"] == "failed"
    # the sandbox counted exactly these POSTs: the 9 first ones, plus one per retry after a POST
    extra = (2 - 1) + 2 * (TRIES - 1)
    assert found["post_create"] == sum(posts.values()) == TASKS + extra, (found["post_create"], posts)


def test_each_deferred_tasks_log_has_its_triggers_own_lines(found: dict[str, Any]) -> None:
    from tests.deployment.scenario import MAPPED

    # the trigger logs through one logger for all its waits: the triggerer still files each line under
    # its task (a status change, or a failed read's retry, by the trigger itself). A task that created
    # defers at "initializing" and its trigger logs "generating"; one that adopted a lost create defers
    # at whatever status the search found, possibly "generating" already, leaving its trigger nothing
    # of its own to say when no read fails (a failed list read now falls back to reads by id, unlogged).
    created = {f"generate[{index}]" for index in range(MAPPED)}
    created -= {task for task, e in found["log_events"].items() if e["adopted"]}
    assert len(created) >= MAPPED - 2 and created <= set(found["trigger_lines"]), found


def test_a_batch_of_300_survives_its_worker_and_its_triggerer_killed(found: dict[str, Any]) -> None:
    # every Airflow version: the batch keeps its state in its own journal, not in task_state_store
    batch = found["batch"]
    assert batch["state"] == "success", batch
    assert batch.get("worker_killed"), "the worker was killed mid-submission"
    assert 50 <= batch["worker_killed"]["ids_recorded"] < 250
    assert batch.get("triggerer_killed") and "takeover_s" in batch, "the other triggerer took the wait over"
    assert batch["tries"] >= 2  # the killed worker's try failed; a retry went on from the journal
    assert batch["generations"] == 300  # exactly 300 billed creates, the creates throttled (429) aside
    rows = batch["rows"]
    assert [row["index"] for row in rows] == list(range(300))
    assert {row["status"] for row in rows} == {"done"}
    assert len({row["generation_id"] for row in rows}) == 300
