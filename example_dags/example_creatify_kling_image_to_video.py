"""The API description's example: Kling image-to-video, created in one task and awaited in another."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag

from airflow_provider_creatify.operators.creatify import CreatifyCreateGenerationOperator
from airflow_provider_creatify.sensors.creatify import CreatifyGenerationSensor


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["creatify", "example"],
)
def example_creatify_kling_image_to_video():
    # [START sensor]
    create = CreatifyCreateGenerationOperator(
        task_id="create_video",
        model_name="kling-video/v1.6/pro/image-to-video",
        input_params={
            "prompt": "A man working in the snow mountains with small image logo.",
            "duration": "5",
            "cfg_scale": 0.5,
            "image_url": "https://d35ghwdno3nak3.cloudfront.net/media_file/18165/d91443bdd92c82ed5d5992e38f3ff9d3.jpg",
            "aspect_ratio": "16:9",
            "negative_prompt": "blur, distort, and low quality",
        },
        wait_for_completion=False,  # returns the generation id; the sensor below waits
    )

    CreatifyGenerationSensor(
        task_id="wait_for_video",
        generation_id=create.output,
        poke_interval=1,
        timeout=900,
    )
    # [END sensor]


example_creatify_kling_image_to_video()
