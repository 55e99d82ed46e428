"""Benchmark DAGs: M mapped Creatify generations (M from ``CREATIFY_BENCH_MAPPED``), deferrable by config.

The two measured DAGs differ in ``end_from_trigger``; the warm-up's second task has an Asset outlet.
Why ``retries=3``: docs/performance.md, "End to end".
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, dag

from airflow_provider_creatify.operators.creatify import CreatifyCreateGenerationOperator

MAPPED = int(os.environ.get("CREATIFY_BENCH_MAPPED", "3"))
WARM_UP_ASSET = Asset("creatify://benchmark/warm-up")
STARTS_FILE = os.environ.get("CREATIFY_BENCH_STARTS")


def record_start(context: Any) -> None:
    """One JSON line per worker task process: DAG, map index, try, whether it resumes from a trigger."""
    if not STARTS_FILE:
        return
    ti = context["ti"]
    line = {"dag_id": ti.dag_id, "task_id": ti.task_id, "map_index": ti.map_index, "pid": os.getpid()}
    with open(STARTS_FILE, "a") as out:  # one short write per line: appends from processes do not mix
        out.write(json.dumps(line) + "\n")


def bench_dag(dag_id: str, end_from_trigger: bool, mapped: int = MAPPED, outlet: Asset | None = None) -> None:
    @dag(
        dag_id=dag_id,
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_tasks=max(mapped, 1),
        tags=["creatify", "benchmark"],
    )
    def bench() -> None:
        # the same retries for both tasks: a resumed task is open to Airflow's stale-event race
        kwargs: dict[str, Any] = dict(model_name="nano-banana", poll_interval=2, retries=3)
        kwargs.update(retry_delay=timedelta(seconds=1), on_execute_callback=record_start)
        CreatifyCreateGenerationOperator.partial(
            task_id="generate", end_from_trigger=end_from_trigger, **kwargs
        ).expand(input_params=[{"prompt": f"{dag_id} {i}"} for i in range(mapped)])
        if outlet:  # a worker resumes it despite end_from_trigger: Asset events come from the worker
            CreatifyCreateGenerationOperator(
                task_id="generate_asset",
                input_params={"prompt": f"{dag_id} asset"},
                outlets=[outlet],
                **kwargs,
            )

    bench()


bench_dag("creatify_bench_warm_up", end_from_trigger=True, mapped=1, outlet=WARM_UP_ASSET)
bench_dag("creatify_bench_end_in_triggerer", end_from_trigger=True)
bench_dag("creatify_bench_resume_in_worker", end_from_trigger=False)
