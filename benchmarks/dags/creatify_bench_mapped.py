"""Benchmark DAG: M mapped Creatify generations (M from ``CREATIFY_BENCH_MAPPED``), deferrable by config.

``retries=3``: Airflow (3.1.1 and 3.3.2) can fail a deferred task whose resumed attempt is already running
when the scheduler drains the stale executor event of the deferral (apache/airflow#72716, #71580), and it
can hit the retry too (seen on 3.1.1: 1 smoke run in 6 failed with ``retries=1``). On 3.3+ a retry resumes
the stored generation (``task_state_store``) without a second POST; the benchmark reports the retries.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import dag

from airflow_provider_creatify.operators.creatify import CreatifyCreateGenerationOperator

MAPPED = int(os.environ.get("CREATIFY_BENCH_MAPPED", "3"))


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_tasks=max(MAPPED, 1),
    tags=["creatify", "benchmark"],
)
def creatify_bench_mapped():
    CreatifyCreateGenerationOperator.partial(
        task_id="generate",
        model_name="nano-banana",
        poll_interval=2,
        retries=3,
        retry_delay=timedelta(seconds=1),
    ).expand(input_params=[{"prompt": f"p{i}"} for i in range(MAPPED)])


creatify_bench_mapped()
