"""The batch operator in real DAG runs (dag.test()) against the sandbox: deferred and in the worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_creatify.batch import read_manifest
from airflow_provider_creatify.testing import dagrun_xcoms, load_dag_file, set_deferrable
from tests.helpers import POST_PATH

DAG_FILE_NAME = "creatify_batch.py"  # from tests/integration/dags/, in the dags folder


@pytest.mark.parametrize("deferrable", [True, False], ids=["deferred", "in-the-worker"])
def test_a_batch_creates_each_item_once_and_writes_its_manifest(
    airflow_db, dags_folder, creatify_conn, tmp_path, deferrable
):
    dag = load_dag_file(dags_folder / DAG_FILE_NAME, "creatify_batch")
    set_deferrable(dag, deferrable)
    output_path = f"file://{tmp_path}/catalogue/"

    dagrun = dag.test(run_conf={"output_path": output_path})

    assert dagrun.state == "success"
    assert creatify_conn.count("POST", POST_PATH) == 12
    result = dagrun_xcoms(dagrun)[("catalogue", -1, "return_value")]
    assert result == {
        "manifest_uri": f"{output_path}manifest.jsonl",
        "counts": {"done": 11, "failed": 1, "invalid": 0, "not_submitted": 0, "timeout": 0, "uncertain": 0},
        "credits_used": 5.5,
        "total": 12,
    }
    rows = list(read_manifest(result["manifest_uri"]))
    assert [row["index"] for row in rows] == list(range(12))
    assert {row["generation_id"] for row in rows} == set(creatify_conn.generations)
    assert rows[-1]["key"] == "sku-fail" and rows[-1]["status"] == "failed" and rows[-1]["failed_reason"]
    assert all(row["asset_urls"] for row in rows[:-1])

    again = dag.test(run_conf={"output_path": output_path})  # a new run on the same output_path

    assert again.state == "success"
    assert creatify_conn.count("POST", POST_PATH) == 12  # re-attached from the journal, none bought again


def test_an_invalid_item_fails_the_task_at_once_with_no_create(
    airflow_db, dags_folder, creatify_conn, tmp_path, capfd
):
    dag = load_dag_file(dags_folder / DAG_FILE_NAME, "creatify_batch_invalid")

    dagrun = dag.test(run_conf={"output_path": f"file://{tmp_path}/"})

    (ti,) = dagrun.get_task_instances()
    assert (ti.state, ti.try_number) == ("failed", 1)
    assert creatify_conn.count("POST", POST_PATH) == 0
    assert "item 'bad'" in capfd.readouterr().out


def test_a_batch_copies_each_done_items_assets_to_its_folder(
    airflow_db, dags_folder, creatify_conn, tmp_path, monkeypatch
):
    monkeypatch.setenv("CREATIFY_TEST_ASSETS_ROOT", f"file://{tmp_path}/assets/")
    dag = load_dag_file(dags_folder / DAG_FILE_NAME, "creatify_batch_copies")
    run_conf = {"output_path": f"file://{tmp_path}/out/", "destination": f"file://{tmp_path}/assets/day/"}

    dagrun = dag.test(run_conf=run_conf)

    assert dagrun.state == "success"
    for row in read_manifest(f"file://{tmp_path}/out/"):
        (stored,) = row["stored"]
        assert stored.startswith(f"file://{tmp_path}/assets/day/{row['key']}/")
        assert Path(stored.removeprefix("file://")).stat().st_size > 0


def test_a_destination_outside_the_allowed_folders_fails_before_any_create(
    airflow_db, dags_folder, creatify_conn, tmp_path, monkeypatch, capfd
):
    monkeypatch.setenv("CREATIFY_TEST_ASSETS_ROOT", f"file://{tmp_path}/assets/")
    dag = load_dag_file(dags_folder / DAG_FILE_NAME, "creatify_batch_copies")
    run_conf = {"output_path": f"file://{tmp_path}/out/", "destination": f"file://{tmp_path}/assets/../etc/"}

    dagrun = dag.test(run_conf=run_conf)

    (ti,) = dagrun.get_task_instances()
    assert (ti.state, ti.try_number) == ("failed", 1)  # refused for good: no retry
    assert creatify_conn.count("POST", POST_PATH) == 0
    assert "not under" in capfd.readouterr().out
