"""Batches on the sandbox: a run of the engine on a journal in a temporary folder."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_creatify.batch.engine import BatchRun, Progress
from airflow_provider_creatify.batch.items import items_from
from airflow_provider_creatify.batch.journal import BatchState
from airflow_provider_creatify.batch.manifest import manifest_rows
from airflow_provider_creatify.hooks.creatify import CreatifyHook

NANO = "nano-banana"  # 0.5 credits an image


def prompts(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"key": f"sku-{n}", "input_params": {"prompt": f"product {n}"}} for n in range(start, start + count)
    ]


def run_until_finished(run: BatchRun) -> Progress:
    """Rounds of ``run`` until it is finished, as the operator's blocking loop does."""
    while not (progress := run.advance()).finished:
        time.sleep(0.1)
    return progress


def statuses(run: BatchRun) -> dict[str, str]:
    return {row["key"]: row["status"] for row in manifest_rows(run.items, run.state, run.stopped)}


@pytest.fixture
def make_run(creatify_conn, tmp_path) -> Callable[..., BatchRun]:
    """``make_run(entries, **fields)``: a BatchRun of try 1 on the sandbox, its journal under tmp_path."""

    def make(entries: list[dict[str, Any]], **fields: Any) -> BatchRun:
        defaults: dict[str, Any] = {"try_number": 1, "timeout": 60.0}
        return BatchRun(
            hook=CreatifyHook(),
            items=items_from(entries, NANO),
            state=BatchState(output_path=f"file://{tmp_path}/batch/"),
            log=logging.getLogger("tests.batch"),
            **{**defaults, **fields},
        )

    return make
