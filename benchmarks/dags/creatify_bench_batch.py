"""Benchmark DAG: one deferrable ``CreatifyBatchGenerationOperator`` task, its items read from a file."""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import dag

from airflow_provider_creatify.operators.batch import CreatifyBatchGenerationOperator

POLL_INTERVAL = float(os.environ.get("CREATIFY_BENCH_POLL_INTERVAL", "2"))
STARTS_FILE = os.environ.get("CREATIFY_BENCH_STARTS")


def memory_kb() -> dict[str, int]:
    """This process's ``VmHWM`` (peak RSS) and ``VmRSS`` in KB."""
    status = Path("/proc/self/status").read_text()
    return {k: int(v) for k, v in re.findall(r"^(VmHWM|VmRSS):\s+(\d+) kB", status, re.MULTILINE)}


class MeasuredBatchOperator(CreatifyBatchGenerationOperator):
    """The batch operator, each of whose task processes says its own peak RSS (``VmHWM``) when its work ends.

    Read in the process itself, no peak falls between two samples.
    """

    def execute(self, context: Any) -> dict[str, Any]:
        return self._measured(context, "execute", super().execute, context)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._measured(context, "execute_complete", super().execute_complete, context, event)

    def _measured(self, context: Any, method: str, call: Any, *args: Any) -> dict[str, Any]:
        at_start = memory_kb()
        try:
            return call(*args)
        finally:  # TaskDeferred too: the first try ends by deferring
            if STARTS_FILE:
                ti = context["ti"]
                line = {"dag_id": ti.dag_id, "task_id": ti.task_id, "run_id": ti.run_id, "method": method}
                line |= {"pid": os.getpid(), "hwm_kb_at_start": at_start["VmHWM"]}
                line |= {f"{key}_kb": kb for key, kb in memory_kb().items()}
                with open(STARTS_FILE, "a") as out:  # one short write: appends from processes do not mix
                    out.write(json.dumps(line) + "\n")


@dag(
    dag_id="creatify_bench_batch",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={"items_path": "", "output_path": ""},
    tags=["creatify", "benchmark"],
)
def creatify_bench_batch() -> None:
    MeasuredBatchOperator(
        task_id="batch",
        model_name="nano-banana",
        items_path="{{ params.items_path }}",
        output_path="{{ params.output_path }}",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        retries=3,  # a resumed task can meet Airflow's stale-event race; a retry goes on from the journal
        retry_delay=timedelta(seconds=1),
    )


creatify_bench_batch()
