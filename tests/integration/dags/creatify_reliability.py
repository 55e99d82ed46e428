"""DAGs for the reliability tests (copied into the test AIRFLOW_HOME's dags folder)."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag

from airflow_provider_creatify.operators.creatify import CreatifyCreateGenerationOperator
from airflow_provider_creatify.sensors.creatify import CreatifyGenerationSensor


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def creatify_reliability_mapped():
    """Eight mapped generations."""
    CreatifyCreateGenerationOperator.partial(
        task_id="generate", model_name="nano-banana", poll_interval=0.2
    ).expand(input_params=[{"prompt": f"prompt {n}"} for n in range(8)])


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def creatify_reliability_retry():
    """A sync wait longer than execution_timeout: each try is killed, each retry resumes the generation."""
    CreatifyCreateGenerationOperator(
        task_id="generate",
        model_name="nano-banana",
        input_params={"prompt": "a slow one"},
        deferrable=False,
        poll_interval=0.2,
        execution_timeout=timedelta(seconds=2),
        retries=4,
        retry_delay=timedelta(seconds=0),
    )


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def creatify_reliability_sensor_timeout():
    """A deferred sensor whose tries each run out of execution_timeout before its own timeout passes."""
    CreatifyGenerationSensor(
        task_id="wait",
        generation_id="{{ dag_run.conf['generation_id'] }}",
        deferrable=True,
        poke_interval=0.2,
        timeout=5,
        execution_timeout=timedelta(seconds=2),
        retries=6,
        retry_delay=timedelta(seconds=0),
    )


creatify_reliability_mapped()
creatify_reliability_retry()
creatify_reliability_sensor_timeout()
