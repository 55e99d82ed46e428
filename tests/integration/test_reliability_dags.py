"""Reliability through real DAG runs (dag.test) against the sandbox, with faults injected."""

from __future__ import annotations

import time

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout

from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.operators.creatify import CreatifyCreateGenerationOperator
from airflow_provider_creatify.sandbox import FaultRule
from airflow_provider_creatify.testing import dagrun_xcoms, load_dag_file, set_deferrable
from tests.helpers import LIST_PATH, POST_PATH, STATUS_PATH, airflow_has_task_state_store

DAG_FILE_NAME = "creatify_reliability.py"  # from tests/integration/dags/, in the dags folder


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "sync"])
def test_mapped_generations_survive_30_percent_failing_status_reads(
    airflow_db, dags_folder, creatify_conn, deferrable
):
    # Batched reads make few requests (8 waits share them): generations of 4 s make enough for the
    # faults to fire on some (at 1 s, 1 run in 4 saw fewer than 5 faulted reads).
    creatify_conn.settings.generation_seconds = 4
    # the first two creates reach Creatify but their answers are lost: each task finds and adopts its own
    lost = FaultRule(path=POST_PATH, method="POST", drop=True, after_processing=True, count=2)
    creatify_conn.add_fault(lost)
    for path in (STATUS_PATH, LIST_PATH):  # reads of one (blocking wait), reads in batches (trigger)
        for fault in ({"status": 429, "retry_after": 0.05}, {"status": 502}, {"status": 503}, {"drop": True}):
            creatify_conn.add_fault(FaultRule(path=path, method="GET", rate=0.1, **fault))
    dag = load_dag_file(dags_folder / DAG_FILE_NAME, "creatify_reliability_mapped")
    set_deferrable(dag, deferrable)
    dagrun = dag.test()
    assert dagrun.state == "success"
    values = dagrun_xcoms(dagrun)
    urls = [values[("generate", i, "return_value")] for i in range(8)]
    assert all(urls) and len({u for batch in urls for u in batch}) == 8
    assert creatify_conn.count("POST", POST_PATH) == 8 and len(creatify_conn.generations) == 8
    faulted = sum(
        creatify_conn.count("GET", path, status=s)
        for s in (429, 502, 503, 0)
        for path in (STATUS_PATH, LIST_PATH)
    )
    assert faulted >= 5, "the faults did fire"


@pytest.mark.skipif(not airflow_has_task_state_store(), reason="task_state_store came with Airflow 3.3")
@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "sync"])
def test_retry_after_execution_timeout_resumes_the_same_generation(
    airflow_db, dags_folder, creatify_conn, deferrable, capfd
):
    creatify_conn.settings.generation_seconds = 5  # each try ends after 2 s, deferred or not
    dag = load_dag_file(dags_folder / DAG_FILE_NAME, "creatify_reliability_retry")
    set_deferrable(dag, deferrable)
    dagrun = dag.test()
    assert dagrun.state == "success"
    (ti,) = dagrun.get_task_instances()
    assert ti.try_number >= 3
    values = dagrun_xcoms(dagrun)
    assert values[("generate", -1, "return_value")]
    assert creatify_conn.count("POST", POST_PATH) == 1 and len(creatify_conn.generations) == 1
    if not deferrable:  # Airflow's timeout called on_kill in the worker: it says what goes on
        assert "Creatify has no cancel" in capfd.readouterr().out


def test_a_deferred_wait_ends_when_the_tries_execution_timeout_passes(
    airflow_db, dags_folder, creatify_conn, capfd
):
    # Airflow does not enforce execution_timeout while a task is deferred (apache/airflow#69678), and
    # dag.test() enforces no trigger timeout: the trigger's own execution deadline ends the wait.
    creatify_conn.settings.generation_seconds = 600
    dag = load_dag_file(dags_folder / DAG_FILE_NAME, "creatify_reliability_retry")
    set_deferrable(dag, True)
    dag.get_task("generate").retries = 0
    started = time.monotonic()
    dagrun = dag.test()
    assert dagrun.state == "failed"
    # the generation alone takes 600 s: the 2 s limit ended it (a wide margin: CI machines can be loaded)
    assert time.monotonic() - started < 300
    (generation_id,) = creatify_conn.generations
    out = capfd.readouterr().out
    assert "execution_timeout (0:00:02) passed while waiting for Creatify generation" in out
    assert generation_id in out


@pytest.mark.skipif(not airflow_has_task_state_store(), reason="task_state_store came with Airflow 3.3")
@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "sync"])
def test_a_retry_whose_input_changed_creates_anew_and_names_the_abandoned_generation(
    airflow_db, dags_folder, creatify_conn, deferrable, capfd
):
    # Try 1 runs out of execution_timeout; from try 2 on the prompt differs, as after a user's fix. The
    # store still holds try 1's generation: resuming it would hand back the old prompt's asset.
    creatify_conn.settings.generation_seconds = 4
    dag = load_dag_file(dags_folder / DAG_FILE_NAME, "creatify_reliability_retry")
    set_deferrable(dag, deferrable)
    generate = dag.get_task("generate")
    assert isinstance(generate, CreatifyCreateGenerationOperator)
    generate.input_params = {"prompt": "{{ 'first draft' if ti.try_number == 1 else 'fixed prompt' }}"}
    dagrun = dag.test()
    assert dagrun.state == "success"
    by_prompt = {g["input_params"]["prompt"]: g for g in creatify_conn.generations.values()}
    assert set(by_prompt) == {"first draft", "fixed prompt"}
    assert creatify_conn.count("POST", POST_PATH) == 2  # one per input; tries 3+ resumed the second
    urls = dagrun_xcoms(dagrun)[("generate", -1, "return_value")]
    assert urls == [a["url"] for a in by_prompt["fixed prompt"]["assets"]]
    out = capfd.readouterr().out
    assert f"Creatify generation {by_prompt['first draft']['id']} of an earlier try was made from" in out


@pytest.mark.skipif(not airflow_has_task_state_store(), reason="task_state_store came with Airflow 3.3")
def test_a_deferred_sensors_timeout_counts_from_its_first_try(airflow_db, dags_folder, creatify_conn, capfd):
    # Each try runs out of its 2 s execution_timeout and is retried (up to 7 tries); the sensor's 5 s
    # timeout, counted from the first try, ends the task without a retry: on the third try or so.
    creatify_conn.settings.generation_seconds = 60
    generation = CreatifyHook().create_generation("nano-banana", {"prompt": "a slow one"})
    dag = load_dag_file(dags_folder / DAG_FILE_NAME, "creatify_reliability_sensor_timeout")
    started = time.monotonic()
    dagrun = dag.test(run_conf={"generation_id": generation.id})
    assert dagrun.state == "failed"
    (ti,) = dagrun.get_task_instances()
    assert 2 <= ti.try_number <= 4, "the timeout did not restart on each try"
    assert time.monotonic() - started < 50  # the sensor's timeout, not the 60 s generation
    out = capfd.readouterr().out
    assert (
        AirflowSensorTimeout.__name__ in out
        and f"Timed out waiting for Creatify generation {generation.id}" in out
    )
