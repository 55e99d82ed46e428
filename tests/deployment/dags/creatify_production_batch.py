"""The deployment test's batch: 300 generations in one task, its worker and its triggerer killed.

The journal and the manifest are in ``<AIRFLOW_HOME>/batch/`` (one host here: a local folder is what every
component sees; across machines it would be object storage). ``retry_delay`` is 2 s, as in the other DAG.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import dag

from airflow_provider_creatify.operators.batch import CreatifyBatchGenerationOperator

ITEMS = 300
OUTPUT_PATH = f"file://{Path(__file__).resolve().parent.parent}/batch/"


@dag(
    dag_id="creatify_production_batch",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
)
def creatify_production_batch() -> None:
    CreatifyBatchGenerationOperator(
        task_id="catalogue",
        model_name="nano-banana",
        items=[
            {"key": f"sku-{n:03d}", "input_params": {"prompt": f"catalogue item {n}"}} for n in range(ITEMS)
        ],
        output_path=OUTPUT_PATH,
        deferrable=True,
        poll_interval=2,
        retries=4,
        retry_delay=timedelta(seconds=2),
    )


creatify_production_batch()
