"""Text to image: one Creatify generation, its asset URLs handed to a downstream task."""

# [START quickstart]
from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from airflow_provider_creatify.operators.creatify import CreatifyCreateGenerationOperator


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["creatify", "example"],
)
def example_creatify_text_to_image():
    image = CreatifyCreateGenerationOperator(
        task_id="generate_image",
        model_name="flux-pro/kontext/text-to-image",
        input_params={
            "prompt": "A product shot of a ceramic mug on a wooden table, run {{ run_id }}",
            "aspect_ratio": "1:1",
        },
        poll_interval=1,
        timeout=600,
    )

    @task
    def report(urls: list[str]) -> int:
        for url in urls:
            print(f"asset: {url}")
        return len(urls)

    report(image.output)


example_creatify_text_to_image()
# [END quickstart]
