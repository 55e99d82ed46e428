"""A nightly batch: one mapped Creatify generation per prompt, then a summary of every asset URL."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from airflow_provider_creatify.operators.creatify import CreatifyCreateGenerationOperator

PROMPTS = [
    "A red sneaker floating over a neon city",
    "A bowl of ramen in watercolor style",
    "A vintage camera on a marble desk",
]


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
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
    ).expand(input_params=prompts())

    @task
    def summarize(urls_per_generation: list[list[str]]) -> list[str]:
        urls = [url for urls in urls_per_generation for url in urls]
        print(f"{len(urls)} assets from {len(urls_per_generation)} generations")
        return urls

    summarize(images.output)


example_creatify_mapped_batch()
