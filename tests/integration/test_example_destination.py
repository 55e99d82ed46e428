"""The mapped batch example: whoever triggers it picks a sub-folder of its assets root, nothing else.

A hostile ``destination`` in the run's conf is refused by the DAG's Param before any task runs (no
connection is even set up: were the conf accepted, the run would fail in its first task, not write).
"""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import ParamValidationError
from airflow.sdk.definitions.mappedoperator import MappedOperator

from airflow_provider_creatify.testing import load_dag_file

DAG_ID = "example_creatify_mapped_batch"


@pytest.mark.parametrize(
    "destination",
    [
        "../../etc",
        "s3://aws_default@some-bucket/anywhere/",
        "file:///etc/",
        "/tmp/elsewhere",
        "batch/../../etc",
        ".hidden",
        "Batch",
        "",
        "x" * 64,
    ],
)
def test_a_hostile_destination_is_refused_by_the_param(airflow_db, dags_folder, monkeypatch, destination):
    monkeypatch.delenv("AIRFLOW_CONN_CREATIFY_DEFAULT", raising=False)
    dag = load_dag_file(dags_folder / f"{DAG_ID}.py", DAG_ID)

    with pytest.raises(ParamValidationError, match="Invalid input for param destination"):
        dag.test(run_conf={"destination": destination})


def test_the_store_task_writes_only_under_the_assets_root(dags_folder, monkeypatch, tmp_path):
    monkeypatch.setenv("CREATIFY_ASSETS_ROOT", f"file://{tmp_path}/root")
    dag = load_dag_file(dags_folder / f"{DAG_ID}.py", DAG_ID)
    store = dag.get_task("store")
    assert isinstance(store, MappedOperator)  # mapped over the generations' asset URLs

    assert store.partial_kwargs["allowed_destinations"] == [f"file://{tmp_path}/root/"]
    assert (
        store.partial_kwargs["destination"]
        == f"file://{tmp_path}/root/{{{{ params.destination }}}}/{{{{ ds }}}}/"
    )
