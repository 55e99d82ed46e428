"""The "Retries and clears" table of docs/operators.md: what clearing a task that succeeded does, through
Airflow itself (its ``clear_task_instances``, then the task run again as ``dag.test()`` runs one).

Retries are shown by tests/integration/test_reliability_dags.py and tests/unit/operators/; a clear is not:
``dag.test()`` replaces the DAG run, and ``task_state_store`` with it.
"""

from __future__ import annotations

from airflow_provider_creatify.testing import dagrun_xcoms, load_dag_file
from tests.helpers import POST_PATH, airflow_has_task_state_store
from tests.unit.docs.doc_markdown import table

HEADER = ["the task is run again", "Airflow 3.1 and 3.2", "Airflow 3.3+"]
DAG_ID = "example_creatify_text_to_image"  # the quickstart
TASK_ID = "generate_image"


def clear_and_run_again(dag, dagrun) -> None:
    """Clear the succeeded task as the UI's Clear does, then run it as the scheduler would next."""
    from airflow.models.taskinstance import clear_task_instances
    from airflow.sdk.definitions.dag import _run_task
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState

    with create_session() as session:
        (ti,) = [ti for ti in dagrun.get_task_instances(session=session) if ti.task_id == TASK_ID]
        clear_task_instances([ti], session)
        session.flush()
        assert ti.state is None and ti.dag_run.state == DagRunState.QUEUED
        ti.dag_run.state = DagRunState.RUNNING
        ti.try_number += 1  # what the scheduler (and dag.test) does to a task it schedules
        ti.state = TaskInstanceState.SCHEDULED
        session.commit()
        _run_task(ti=ti, task=dag.task_dict[TASK_ID], run_triggerer=True)
    with create_session() as session:
        (ti,) = [ti for ti in dagrun.get_task_instances(session=session) if ti.task_id == TASK_ID]
        assert (ti.state, ti.try_number) == (TaskInstanceState.SUCCESS, 2)


def test_clearing_a_task_that_succeeded(airflow_db, dags_folder, creatify_conn):
    (row,) = [cells for cells in table("Retries and clears", HEADER) if "clear" in cells[0]]
    dag = load_dag_file(dags_folder / f"{DAG_ID}.py", DAG_ID)
    dagrun = dag.test()
    assert dagrun.state == "success"
    first = dagrun_xcoms(dagrun)[(TASK_ID, -1, "return_value")]

    clear_and_run_again(dag, dagrun)

    again = dagrun_xcoms(dagrun)[(TASK_ID, -1, "return_value")]
    if airflow_has_task_state_store():  # 3.3+: the record outlived the success
        assert row[2].startswith("no POST: the same asset URLs")
        assert again == first and creatify_conn.count("POST", POST_PATH) == 1
    else:
        assert row[1].startswith("a new POST")
        assert again != first and creatify_conn.count("POST", POST_PATH) == 2
