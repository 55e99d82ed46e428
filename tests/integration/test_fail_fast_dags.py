"""Failures a retry would only repeat fail the task on its first try, whatever its retries."""

from __future__ import annotations

import pytest

from airflow_provider_creatify.sandbox import FaultRule
from airflow_provider_creatify.testing import load_dag_file
from tests.helpers import POST_PATH

DAG_FILE_NAME = "creatify_fail_fast.py"  # from tests/integration/dags/, in the dags folder


@pytest.mark.parametrize(
    ("dag_id", "fault", "posts", "said"),
    [
        ("creatify_fail_fast_invalid_input", None, 0, "prompt"),
        ("creatify_fail_fast_unknown_model", None, 0, "no-such-model"),
        (
            "creatify_fail_fast_create",
            FaultRule(method="POST", path=POST_PATH, status=400, body=b'["AI model not found"]'),
            1,
            "AI model not found",
        ),
        (
            "creatify_fail_fast_create",
            FaultRule(method="POST", path=POST_PATH, status=403, body=b'{"detail": "Upgrade your plan."}'),
            1,
            "Upgrade your plan.",
        ),
        ("creatify_fail_fast_asset_host", None, 0, "only https URLs are fetched"),
        ("creatify_fail_fast_relative_destination", None, 0, "is a relative path"),
    ],
    ids=["invalid-input", "unknown-model", "400", "403", "asset-host", "relative-destination"],
)
def test_a_deterministic_failure_keeps_its_retries(
    airflow_db, dags_folder, creatify_conn, capfd, dag_id, fault, posts, said
):
    if fault is not None:
        creatify_conn.add_fault(fault)
    dag = load_dag_file(dags_folder / DAG_FILE_NAME, dag_id)

    dagrun = dag.test()

    (ti,) = dagrun.get_task_instances()
    assert (ti.state, ti.try_number) == ("failed", 1)  # retries=2, yet no retry
    assert creatify_conn.count("POST", POST_PATH) == posts
    assert creatify_conn.generations == {}
    assert said in capfd.readouterr().out
