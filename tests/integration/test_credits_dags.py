"""A mapped batch that outgrows the account's balance: the guard stops it before any refused POST;
without it, each refusal fails its task once, clearly, with no retry."""

from __future__ import annotations

import pytest

from airflow_provider_creatify.sandbox import SandboxSettings
from airflow_provider_creatify.testing import load_dag_file, set_deferrable
from tests.helpers import CREDITS_PATH, POST_PATH

DAG_FILE_NAME = "creatify_credits.py"  # from tests/integration/dags/, in the dags folder
BALANCE = 2.0  # four nano-banana images at 0.5 credits; the batch has six


@pytest.fixture
def creatify_sandbox_settings() -> SandboxSettings:
    return SandboxSettings(generation_seconds=0.5, credits=BALANCE)


def run(dags_folder, dag_id: str, deferrable: bool):
    dag = load_dag_file(dags_folder / DAG_FILE_NAME, dag_id)
    set_deferrable(dag, deferrable)
    dagrun = dag.test()
    tries = {ti.map_index: (ti.state, ti.try_number) for ti in dagrun.get_task_instances()}
    return dagrun, sorted(tries.values())


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "sync"])
def test_the_guard_stops_the_batch_before_any_refused_post(
    airflow_db, dags_folder, creatify_conn, deferrable
):
    dagrun, tries = run(dags_folder, "creatify_credits_guarded", deferrable)

    assert dagrun.state == "failed"
    assert tries == [("failed", 1)] * 2 + [("success", 1)] * 4  # stopped, and not retried
    assert creatify_conn.count("POST", POST_PATH) == 4
    assert creatify_conn.count("POST", POST_PATH, status=400) == 0
    assert creatify_conn.count("GET", CREDITS_PATH) == 6


def test_without_the_guard_each_refusal_fails_its_task_once(airflow_db, dags_folder, creatify_conn):
    dagrun, tries = run(dags_folder, "creatify_credits_unguarded", deferrable=True)

    assert dagrun.state == "failed"
    assert tries == [("failed", 1)] * 2 + [("success", 1)] * 4  # retries=2, yet no retry
    assert creatify_conn.count("POST", POST_PATH) == 6
    assert creatify_conn.count("POST", POST_PATH, status=400) == 2
    assert len(creatify_conn.generations) == 4
