"""Many Creatify generations in one task: a batch with a write-ahead journal and a manifest."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import conf
from airflow.sdk import BaseOperator

from airflow_provider_creatify.batch.copies import check_destination
from airflow_provider_creatify.batch.engine import BatchRun, Progress
from airflow_provider_creatify.batch.items import entries_of, items_from
from airflow_provider_creatify.batch.journal import BatchState
from airflow_provider_creatify.batch.manifest import conclude, ended_wait_error
from airflow_provider_creatify.batch.options import check_options
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.mixins import deferral_timeout, try_deadline

if TYPE_CHECKING:
    from airflow.sdk import Context, ObjectStoragePath

__all__ = ["CreatifyBatchGenerationOperator"]


class CreatifyBatchGenerationOperator(BaseOperator):
    """Create and await many generations in one task; write a manifest of what became of each.

    .. code-block:: python

        CreatifyBatchGenerationOperator(
            task_id="catalogue",
            model_name="nano-banana",
            items_path="s3://aws_default@bucket/prompts.jsonl",
            output_path="s3://aws_default@bucket/creatify/{{ ds }}/",
        )

    Never pays twice: each item's intent is journaled under ``output_path`` before its POST, and its id
    right after. A retry, a cleared task or a killed worker goes on from the journal: items with an id
    are waited on again, a lost create is searched for, and only the rest is created.

    Returns (XCom) a summary: ``manifest_uri``, ``counts`` per status, ``credits_used``, ``total``. The
    manifest, ``manifest.jsonl``, has a line per item: its key, generation, status, assets and credits
    (read it with :func:`airflow_provider_creatify.batch.read_manifest`).

    :param items: a list of ``{"key", "model_name", "input_params"}`` (``key`` and ``model_name`` optional).
    :param items_path: or a ``.jsonl``/``.ndjson``/``.csv`` file of them (any object storage URL).
    :param model_name: the model of the items that name none.
    :param output_path: the object storage folder of the journal (``state/``) and the manifest.
    :param max_failed: how many items may end other than done (a count, or a fraction below 1) before
        the task fails (after writing the manifest).
    :param on_invalid: ``"fail"``: any item invalid for its model's schema fails the task before any
        create; ``"skip"``: invalid items are ``invalid`` in the manifest, the rest are created.
    :param resubmit_failed: on a later try, create again the items whose generation failed at Creatify.
    :param max_in_flight: at most this many of the batch's generations running at once (``None``: all).
    :param deferrable: wait in the triggerer, freeing the worker slot.
    :param poll_interval: seconds between two reads of the running generations (100 a request).
    :param timeout: seconds each generation is waited on from its create; then it is ``timeout``.
    :param creatify_conn_id: the Airflow connection id.
    :param destination: copy each done item's assets to ``<destination>/<key>/`` (any object storage
        folder; templated); the manifest's ``stored`` lists where they landed. Keys must be folder names.
    :param allowed_destinations: folders ``destination`` must lie under (not templated); ``None``: anywhere.
    :param min_remaining_credits: read the balance before each chunk of creates; below this, no more
        items are created (they are ``not_submitted``), and the task fails once the rest is done.
    """

    template_fields: Sequence[str] = (
        "items",
        "items_path",
        "model_name",
        "output_path",
        "destination",
        "creatify_conn_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"items": "json"}
    ui_color = "#e8d4ff"

    def __init__(
        self,
        *,
        output_path: str | ObjectStoragePath,
        items: Any = None,
        items_path: str | ObjectStoragePath | None = None,
        model_name: str | None = None,
        max_failed: float = 0,
        on_invalid: str = "fail",
        resubmit_failed: bool = False,
        max_in_flight: int | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30.0,
        timeout: float | timedelta = 3600.0,
        creatify_conn_id: str = CreatifyHook.default_conn_name,
        min_remaining_credits: float | None = None,
        destination: str | None = None,
        allowed_destinations: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_options(
            self.task_id,
            items=items,
            items_path=items_path,
            on_invalid=on_invalid,
            max_in_flight=max_in_flight,
            max_failed=max_failed,
        )
        self.items = items
        self.items_path = items_path
        self.model_name = model_name
        self.output_path = output_path
        self.max_failed = max_failed
        self.on_invalid = on_invalid
        self.resubmit_failed = resubmit_failed
        self.max_in_flight = max_in_flight
        self.deferrable = deferrable
        self.poll_interval = float(poll_interval)
        self.timeout = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        self.creatify_conn_id = creatify_conn_id
        self.min_remaining_credits = min_remaining_credits
        self.destination = destination
        self.allowed_destinations = allowed_destinations

    @cached_property
    def hook(self) -> CreatifyHook:
        return CreatifyHook(self.creatify_conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        return self._advance(context)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger fired: go on from the journal, or raise what ended the wait."""
        if error := ended_wait_error(event or {}, self.execution_timeout):
            raise error
        return self._advance(context)

    def _advance(self, context: Context) -> dict[str, Any]:
        """Rounds of the batch until it is finished, deferring (or sleeping) between them."""
        items = items_from(entries_of(self.items, self.items_path, self.task_id), self.model_name)
        if self.destination is not None:  # before anything is created
            check_destination(str(self.destination), self.allowed_destinations, items)
        run = BatchRun(
            hook=self.hook,
            items=items,
            state=BatchState(output_path=self.output_path),
            try_number=context["ti"].try_number,
            timeout=self.timeout,
            log=self.log,
            max_in_flight=self.max_in_flight,
            min_remaining_credits=self.min_remaining_credits,
            on_invalid=self.on_invalid,
            resubmit_failed=self.resubmit_failed,
        )
        while not (progress := run.advance()).finished:
            self.log.info(
                "%d generation(s) running, %d item(s) to submit.", progress.in_flight, progress.to_submit
            )
            if self.deferrable:
                self._defer(context, progress)
            time.sleep(self.poll_interval)
        return self._finish(context, run)

    def _defer(self, context: Context, progress: Progress) -> None:
        from airflow_provider_creatify.triggers.batch import CreatifyBatchTrigger  # not at DAG parse

        execution_deadline = try_deadline(context, self.execution_timeout)
        self.defer(
            trigger=CreatifyBatchTrigger(
                output_path=str(self.output_path),
                creatify_conn_id=self.creatify_conn_id,
                poll_interval=self.poll_interval,
                timeout=self.timeout,
                wake_after=progress.wake_after(self.max_in_flight),
                execution_deadline=execution_deadline,
            ),
            method_name="execute_complete",
            timeout=deferral_timeout(execution_deadline),
        )

    def _finish(self, context: Context, run: BatchRun) -> dict[str, Any]:
        """Write the manifest (after the copies), push its URI; fail if too many items did not end done."""
        result, error = conclude(run, self.output_path, self.max_failed, destination=self.destination)
        context["ti"].xcom_push(key="manifest_uri", value=result["manifest_uri"])
        self.log.info(
            "The batch ended: %s of %d items in %s.",
            result["counts"],
            result["total"],
            result["manifest_uri"],
        )
        if error is not None:
            raise error
        return result
