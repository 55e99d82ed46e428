"""Chain two models: generate a still image, then animate it with an image-to-video model."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag

from airflow_provider_creatify.operators.creatify import CreatifyCreateGenerationOperator


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["creatify", "example"],
)
def example_creatify_image_to_video():
    # [START create_operator]
    still = CreatifyCreateGenerationOperator(
        task_id="generate_still",
        model_name="nano-banana",
        input_params={"prompt": "A lighthouse on a cliff at dusk, cinematic"},
        poll_interval=1,
    )

    animate = CreatifyCreateGenerationOperator(
        task_id="animate_still",
        model_name="kling-video/v1.6/pro/image-to-video",
        input_params={
            "prompt": "Slow push-in, waves crashing below the lighthouse",
            # The first asset URL of the upstream generation (XCom return_value, in the API's order).
            "image_url": "{{ ti.xcom_pull(task_ids='generate_still')[0] }}",
            "duration": "5",
        },
        poll_interval=1,
    )

    # The Jinja above reads the upstream XCom, so state the dependency explicitly.
    still >> animate
    # [END create_operator]


example_creatify_image_to_video()
