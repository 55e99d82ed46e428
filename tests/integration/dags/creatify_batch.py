"""DAGs for the batch tests: one task creates and awaits many generations, then writes its manifest."""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG, dag

from airflow_provider_creatify.operators.batch import CreatifyBatchGenerationOperator

#: Twelve images; one fails at Creatify (the sandbox's fail marker).
ITEMS = [{"key": f"sku-{n:04d}", "input_params": {"prompt": f"product shot {n}"}} for n in range(11)] + [
    {"key": "sku-fail", "input_params": {"prompt": "[sandbox:fail] a product"}}
]
PARAMS = {"output_path": "", "items_path": "", "destination": ""}
#: The folder the copies may write under (a deploy-time setting: read when the file is parsed).
ASSETS_ROOT = os.environ.get("CREATIFY_TEST_ASSETS_ROOT", "file:///nonexistent/")


def batch_dag(
    dag_id: str,
    items: list[dict] | None = None,
    *,
    destination: str | None = None,
    allowed_destinations: list[str] | None = None,
) -> DAG:
    """A batch of ``items``; without them, of the file at ``params.items_path``; copies to ``destination``
    when given."""

    @dag(dag_id=dag_id, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), params=PARAMS)
    def _batch() -> None:
        CreatifyBatchGenerationOperator(
            task_id="catalogue",
            model_name="nano-banana",
            items=items,
            items_path=None if items is not None else "{{ params.items_path }}",
            output_path="{{ params.output_path }}",
            max_failed=1,
            poll_interval=0.2,
            retries=2,  # an invalid item must not be retried
            destination=destination,
            allowed_destinations=allowed_destinations,
        )

    return _batch()


creatify_batch = batch_dag("creatify_batch", ITEMS)
creatify_batch_invalid = batch_dag(
    "creatify_batch_invalid", [*ITEMS[:3], {"key": "bad", "input_params": {"prompt": 7}}]
)
creatify_batch_copies = batch_dag(
    "creatify_batch_copies",
    ITEMS[:3],
    destination="{{ params.destination }}",
    allowed_destinations=[ASSETS_ROOT],
)
creatify_batch_from_file = batch_dag("creatify_batch_from_file")
