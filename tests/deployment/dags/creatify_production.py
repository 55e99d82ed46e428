"""The deployment test's DAG: what users run, and what faults must not make them pay twice for.

Six mapped deferrable generations (their triggerer is SIGKILLed while they wait), one blocking wait (its
Celery worker is SIGKILLed while it waits), and a deferrable and a blocking wait whose
``execution_timeout`` is shorter than their generation (each try times out; the retries resume the
same generation until it is done). ``retry_delay`` is 2 s: Airflow's 300 s would make each recovery
wait five minutes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

import pendulum
from airflow.sdk import dag

from airflow_provider_creatify.operators.creatify import CreatifyCreateGenerationOperator

MAPPED = 6


class Retries(TypedDict):
    retries: int
    retry_delay: timedelta


RETRIES: Retries = {"retries": 4, "retry_delay": timedelta(seconds=2)}


@dag(
    dag_id="creatify_production",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_tasks=16,
)
def creatify_production() -> None:
    CreatifyCreateGenerationOperator.partial(
        task_id="generate", model_name="nano-banana", deferrable=True, poll_interval=2, **RETRIES
    ).expand(input_params=[{"prompt": f"p{i}"} for i in range(MAPPED)])
    CreatifyCreateGenerationOperator(
        task_id="blocking",
        model_name="nano-banana",
        input_params={"prompt": "blocking"},
        deferrable=False,
        poll_interval=2,
        **RETRIES,
    )
    for deferrable in (True, False):
        CreatifyCreateGenerationOperator(
            task_id=f"timeout_{'deferred' if deferrable else 'blocking'}",
            model_name="nano-banana",
            input_params={"prompt": f"over its limit, deferrable={deferrable}"},
            deferrable=deferrable,
            poll_interval=2,
            execution_timeout=timedelta(seconds=8),
            **RETRIES,
        )


creatify_production()
