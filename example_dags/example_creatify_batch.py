"""A catalogue in one task: a prompts file, one batch of generations, a task that reads the manifest.

A mapped task makes one task instance per generation; past a few hundred, Airflow's own cost per task
dominates (docs/batch.md). ``CreatifyBatchGenerationOperator`` makes them all in one task. Its journal and
its manifest live under ``output_path`` (any object storage folder: ``file://``, ``s3://aws_default@bucket/
path/``, ``gs://...``); the environment variable ``CREATIFY_BATCH_ROOT`` overrides the root. The folder is
the day's: a second run of the same day (or a retry, or a cleared task) goes on from the journal and
buys nothing twice.
"""

from __future__ import annotations

import json
import os

import pendulum
from airflow.sdk import ObjectStoragePath, Param, dag, task

from airflow_provider_creatify.operators.batch import CreatifyBatchGenerationOperator

PRODUCTS = ["red sneaker", "ceramic mug", "leather wallet", "desk lamp", "wool scarf", "steel bottle"]
#: The folder of the batches (set by whoever deploys the DAG, never by a run's conf).
BATCH_ROOT = os.environ.get("CREATIFY_BATCH_ROOT", "file:///tmp/creatify-batch/").rstrip("/") + "/"


# [START batch]
@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["creatify", "example"],
)
def example_creatify_batch():
    @task
    def export_prompts(ds: str | None = None) -> str:
        """The catalogue's prompts as a JSON lines file, one item a line (what an upstream export writes)."""
        path = ObjectStoragePath(f"{BATCH_ROOT}{ds}/prompts.jsonl")
        if path.protocol in ("file", "local"):
            path.parent.mkdir(parents=True, exist_ok=True)
        items = [
            {
                "key": f"sku-{n:04d}",
                "input_params": {"prompt": f"Studio photo of a {product}, white background"},
            }
            for n, product in enumerate(PRODUCTS)
        ]
        path.write_text("".join(json.dumps(item) + "\n" for item in items))
        return str(path)

    catalogue = CreatifyBatchGenerationOperator(
        task_id="catalogue",
        model_name="nano-banana",
        items_path=export_prompts(),
        output_path=BATCH_ROOT + "{{ ds }}/",
        max_failed=0.02,  # up to 2% of the items may fail before the task does
        poll_interval=5,
    )

    @task
    def publish(summary: dict) -> int:
        """Hand each done item's asset URLs on, from the manifest (the XCom holds only the summary)."""
        from airflow_provider_creatify.batch import read_manifest

        published = 0
        for row in read_manifest(summary["manifest_uri"]):
            if row["status"] == "done":
                print(f"{row['key']}: {row['asset_urls'][0]}")  # e.g. update the product's image
                published += 1
        print(f"{published} of {summary['total']} items published; {summary['credits_used']} credits used")
        return published

    publish(catalogue.output)


example_creatify_batch()
# [END batch]


def write_items(path: ObjectStoragePath, items: list[dict]) -> str:
    """Write ``items`` as a JSON lines file at ``path``; return its URL."""
    if path.protocol in ("file", "local"):
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return str(path)


# [START shards]
@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"shard_size": Param(5000, type="integer", minimum=1, description="Items per batch task.")},
    tags=["creatify", "example"],
)
def example_creatify_batch_shards():
    """A catalogue too big for one task: files of ``shard_size`` items, one batch task each.

    The shards spread over the executor's workers (Celery, Kubernetes); each keeps its own journal and
    manifest under its own folder, so a retry of one shard touches no other.
    """

    @task
    def shard_catalogue(ds: str | None = None, params: dict | None = None) -> list[dict[str, str]]:
        size = (params or {})["shard_size"]
        items = [
            {"key": f"sku-{n:05d}", "input_params": {"prompt": f"Studio photo of product {n}"}}
            for n in range(12)  # a real catalogue: thousands of rows from a warehouse query
        ]
        shards = [items[start : start + size] for start in range(0, len(items), size)]
        return [
            {
                "items_path": write_items(
                    ObjectStoragePath(f"{BATCH_ROOT}{ds}/shard-{n:03d}/prompts.jsonl"), shard
                ),
                "output_path": f"{BATCH_ROOT}{ds}/shard-{n:03d}/",
            }
            for n, shard in enumerate(shards)
        ]

    CreatifyBatchGenerationOperator.partial(
        task_id="catalogue_shard",
        model_name="nano-banana",
        max_failed=0.02,
        poll_interval=5,
    ).expand_kwargs(shard_catalogue())


example_creatify_batch_shards()
# [END shards]
