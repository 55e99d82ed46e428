"""DAGs for the fail-fast tests: each task fails in a way a retry would only repeat, and has retries left."""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

import pendulum
from airflow.sdk import DAG

from airflow_provider_creatify.operators.creatify import (
    CreatifyCopyAssetsOperator,
    CreatifyCreateGenerationOperator,
)


class Retries(TypedDict):
    retries: int
    retry_delay: timedelta


RETRIES: Retries = {"retries": 2, "retry_delay": timedelta(seconds=0)}


def fail_fast_dag(dag_id: str) -> DAG:
    return DAG(dag_id, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)


with fail_fast_dag("creatify_fail_fast_invalid_input") as invalid_input_dag:
    CreatifyCreateGenerationOperator(
        task_id="task", model_name="nano-banana", input_params={"prompt": 42}, **RETRIES
    )

with fail_fast_dag("creatify_fail_fast_unknown_model") as unknown_model_dag:
    CreatifyCreateGenerationOperator(
        task_id="task", model_name="no-such-model", input_params={"prompt": "x"}, **RETRIES
    )

with fail_fast_dag("creatify_fail_fast_create") as create_dag:  # the test makes Creatify refuse it
    CreatifyCreateGenerationOperator(
        task_id="task", model_name="nano-banana", input_params={"prompt": "a poster"}, **RETRIES
    )

with fail_fast_dag("creatify_fail_fast_asset_host") as asset_host_dag:
    CreatifyCopyAssetsOperator(
        task_id="task", asset_urls=["http://cdn.example.com/a.png"], destination="/tmp/creatify/", **RETRIES
    )

with fail_fast_dag("creatify_fail_fast_relative_destination") as relative_destination_dag:
    CreatifyCopyAssetsOperator(
        task_id="task", asset_urls=["https://cdn.example.com/a.png"], destination="creatify/", **RETRIES
    )
