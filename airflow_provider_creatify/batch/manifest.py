"""How a batch ends: its manifest (one JSON line per item, ``<output_path>/manifest.jsonl``), its summary,
and the error that fails the task, if any."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_creatify.batch.copies import copy_done
from airflow_provider_creatify.batch.items import listing
from airflow_provider_creatify.exceptions import (
    CreatifyBatchError,
    CreatifyError,
    CreatifyInsufficientCreditsError,
)
from airflow_provider_creatify.generation import Generation
from airflow_provider_creatify.writes import as_path, write_whole

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_creatify.batch.engine import BatchRun
    from airflow_provider_creatify.batch.items import BatchItem
    from airflow_provider_creatify.batch.journal import BatchState, ItemState

#: The manifest's file name under ``output_path``.
MANIFEST_NAME = "manifest.jsonl"
#: What the manifest says became of an item.
STATUSES = ("done", "failed", "invalid", "not_submitted", "timeout", "uncertain")


def write_manifest(output_path: str | ObjectStoragePath, rows: Iterable[dict[str, Any]]) -> str:
    """Write the manifest, one JSON line per item, whole or not at all; return its URI."""
    target = as_path(output_path) / MANIFEST_NAME
    write_whole(target, "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows))
    return str(target)


def read_manifest(uri: str | ObjectStoragePath) -> Iterator[dict[str, Any]]:
    """Each item of a batch's manifest, as a dict, in the items' order.

    :param uri: the manifest (``manifest_uri`` of the batch's XCom), or the batch's ``output_path``.
    """
    path = as_path(uri)
    if path.name != MANIFEST_NAME:
        path = path / MANIFEST_NAME
    with path.open("r") as handle:
        while line := handle.readline():  # Airflow 3.1 wraps the file in an object that cannot iterate
            if line.strip():
                yield json.loads(line)


def manifest_rows(
    items: Iterable[BatchItem], state: BatchState, stopped: str | None = None
) -> list[dict[str, Any]]:
    """One row per item, in the items' order: what the journal says became of it.

    :param stopped: why items were not submitted (the credits guard), for their ``failed_reason``.
    """
    return [_row(item, state.get(item.key), stopped) for item in items]


def _row(item: BatchItem, st: ItemState, stopped: str | None) -> dict[str, Any]:
    mine = st.fingerprint == item.fingerprint
    row: dict[str, Any] = {
        "key": item.key,
        "index": item.index,
        "model_name": item.model_name,
        "generation_id": st.generation_id if mine else None,
        "asset_urls": [],
        "stored": [],
        "credits_used": None,
        "failed_reason": None,
    }
    if refused := st.invalid_for(item.fingerprint):
        return {**row, "status": "invalid", "failed_reason": refused}
    if not mine:
        return {**row, "status": "not_submitted", "failed_reason": stopped}
    if not st.generation_id:
        return {**row, "status": "uncertain", "failed_reason": st.uncertain or LOST_ANSWER}
    if st.result is None:
        return {**row, "status": "timeout", "failed_reason": TIMED_OUT}
    generation = Generation.from_api(st.result)
    row.update(credits_used=generation.credits_used, asset_urls=generation.asset_urls)
    if generation.is_done and generation.asset_urls:
        return {**row, "status": "done"}
    reason = generation.failed_reason if generation.is_failed else "done, but returned no asset URL"
    return {**row, "status": "failed", "failed_reason": reason or "failed at Creatify, no reason given"}


def summary(uri: str, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The batch's return value (under 4 KB whatever its size): the manifest, counts, credits, total."""
    counts = dict.fromkeys(STATUSES, 0) | Counter(row["status"] for row in rows)
    spent = sum(row["credits_used"] or 0 for row in rows)
    return {"manifest_uri": uri, "counts": counts, "credits_used": spent, "total": len(rows)}


def conclude(
    run: BatchRun, output_path: str | ObjectStoragePath, max_failed: float, *, destination: str | None
) -> tuple[dict[str, Any], CreatifyError | None]:
    """End a finished batch: copy the done items' assets (with a ``destination``), write the manifest.

    :returns: the summary (the task's XCom), and the error to fail the task with, if any.
    """
    rows = manifest_rows(run.items, run.state, run.stopped)
    if destination is not None:
        copy_done(rows, str(destination), run.hook)
    result = summary(write_manifest(output_path, rows), rows)
    return result, too_many_failed(rows, result, max_failed, stopped=run.stopped)


def too_many_failed(
    rows: Sequence[dict[str, Any]], result: dict[str, Any], max_failed: float, *, stopped: str | None
) -> CreatifyError | None:
    """The error to fail the batch with when more items did not end done than ``max_failed`` allows.

    :param max_failed: a count (an int), or a fraction of the items (a float below 1).
    :param stopped: why items were not submitted (the credits guard): the error then says the account
        cannot pay, and Airflow does not retry it.
    """
    total, counts, uri = result["total"], result["counts"], result["manifest_uri"]
    allowed = max_failed if isinstance(max_failed, int) else math.floor(max_failed * total)
    if total - counts["done"] <= allowed:
        return None
    shown = listing(
        [f"{r['key']!r} {r['status']} ({r['failed_reason']})" for r in rows if r["status"] != "done"]
    )
    message = (
        f"{total - counts['done']} of the batch's {total} items did not end done, over max_failed="
        f"{max_failed}: {shown}. Counts: {counts}. The manifest is {uri}. A retry or a cleared task waits "
        "on the running ones again and creates only the items that have no generation (failed ones too "
        "with resubmit_failed=True)."
    )
    if stopped:
        return CreatifyInsufficientCreditsError(message)
    return CreatifyBatchError(message, manifest_uri=uri, counts=counts)


def ended_wait_error(event: dict[str, Any], execution_timeout: timedelta | None) -> BaseException | None:
    """What the worker raises for the batch trigger's ``event``; ``None`` when the batch goes on."""
    from airflow.providers.common.compat.sdk import AirflowTaskTimeout

    if event.get("status") == "error":
        return CreatifyError(f"{event.get('message')} A retry goes on from the batch's journal.")
    if event.get("status") == "execution_timeout":
        return AirflowTaskTimeout(
            f"This try's execution_timeout ({execution_timeout}) passed while waiting on "
            f"{event.get('running')} generations of the batch; they go on at Creatify. A retry waits on "
            "them again instead of creating new ones."
        )
    return None


#: The failed reasons of items that have none from Creatify.
LOST_ANSWER = "its create's answer was lost, and the account's list cannot say what it made"
TIMED_OUT = "still running at Creatify when the batch's timeout passed; it may still finish, and bill"
