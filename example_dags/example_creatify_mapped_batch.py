"""A nightly batch, TaskFlow style: prompts from a @task, one mapped generation each, every asset stored.

Each generation's assets are copied to durable storage (Creatify's URLs do not last), under ``ASSETS_ROOT``
(any object storage folder: ``file://``, ``s3://aws_default@bucket/path/``, ``gs://...``; the environment
variable ``CREATIFY_ASSETS_ROOT`` overrides it). Whoever triggers the DAG picks only a sub-folder name (the
``destination`` param, a checked pattern), and the copy operator refuses anything outside ``ASSETS_ROOT``
(``allowed_destinations``): triggering the DAG does not let anyone write elsewhere with its connections.
Each finished generation also updates the Airflow Asset ``creatify://batch/images``; the second DAG here
is scheduled on it and reads the generation id and asset URLs from the events' extra.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG, Asset, Param, dag, task

from airflow_provider_creatify.operators.creatify import (
    CreatifyCopyAssetsOperator,
    CreatifyCreateGenerationOperator,
)

PROMPTS = [
    "A red sneaker floating over a neon city",
    "A bowl of ramen in watercolor style",
    "A vintage camera on a marble desk",
]
# [START assets_root]
BATCH_IMAGES = Asset("creatify://batch/images")
#: The only folder this DAG writes to (set by whoever deploys it, never by a run's conf).
ASSETS_ROOT = os.environ.get("CREATIFY_ASSETS_ROOT", "file:///tmp/creatify-assets/").rstrip("/") + "/"
# [END assets_root]


# [START mapped_batch]
@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "destination": Param(
            "batch",
            type="string",
            pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
            description="The sub-folder of the assets root to store this run's assets in.",
        )
    },
    tags=["creatify", "example"],
)
def example_creatify_mapped_batch():
    @task
    def prompts() -> list[dict]:
        return [{"prompt": prompt, "aspect_ratio": "1:1"} for prompt in PROMPTS]

    images = CreatifyCreateGenerationOperator.partial(
        task_id="generate",
        model_name="flux-pro/kontext/text-to-image",
        poll_interval=1,
        max_active_tis_per_dag=16,
        outlets=[BATCH_IMAGES],
    ).expand(input_params=prompts())

    # [START copy_operator]
    stored = CreatifyCopyAssetsOperator.partial(
        task_id="store",
        destination=ASSETS_ROOT + "{{ params.destination }}/{{ ds }}/",
        allowed_destinations=[ASSETS_ROOT],
    ).expand(asset_urls=images.output)
    # [END copy_operator]

    @task
    def summarize(paths_per_generation: list[list[str]]) -> list[str]:
        paths = [path for paths in paths_per_generation for path in paths]
        print(f"{len(paths)} assets stored from {len(paths_per_generation)} generations")
        return paths

    summarize(stored.output)


example_creatify_mapped_batch()
# [END mapped_batch]


# [START asset_consumer]
with DAG(
    "example_creatify_on_new_images",
    schedule=[BATCH_IMAGES],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["creatify", "example"],
):

    @task
    def new_images(triggering_asset_events=None) -> list[str]:
        """The asset URLs of the generations that updated the Asset since this DAG last ran."""
        urls = []
        for event in (triggering_asset_events or {}).get(BATCH_IMAGES, []):
            print(f"generation {event.extra['generation_id']} ({event.extra['model_name']})")
            urls += event.extra["asset_urls"]
        return urls

    new_images()
# [END asset_consumer]
