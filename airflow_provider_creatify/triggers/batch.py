"""The asynchronous wait on a batch's running generations, run by Airflow's triggerer."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_creatify.exceptions import CreatifyAPIError, CreatifyNotFoundError
from airflow_provider_creatify.generation import Generation
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.polling import GenerationWait

if TYPE_CHECKING:
    from airflow.sdk.types import Logger

__all__ = ["CreatifyBatchTrigger"]


class CreatifyBatchTrigger(BaseTrigger):
    """Wait on the running generations of a batch; yield one event when the worker has work again.

    The ids are read from the batch's journal under ``output_path``, not stored in Airflow's DB: the
    kwargs stay a few primitives whatever the batch's size. Every ``poll_interval`` all of them are read
    through the triggerer's batched reader (:meth:`CreatifyHook.aget_generation_in_batch`): 100 a
    request, shared with the triggerer's other waits on the connection, each id read alone when a list
    answer misses it.

    The event: ``{"status": "finished" | "slots" | "execution_timeout" | "error", "running", "message"}``.
    ``finished``: none is running any more (done, failed, or past its deadline). ``slots``: ``wake_after``
    of them finished, so the worker can submit more. The trigger only reads: running it twice after a
    triggerer failover is harmless.

    :param output_path: the batch's folder (its journal is in ``state/``).
    :param creatify_conn_id: the Airflow connection id.
    :param poll_interval: seconds between two reads of all the running generations.
    :param timeout: seconds each generation is waited on from its create (its deadline).
    :param wake_after: wake the worker once this many have finished; ``None``: once all have.
    :param execution_deadline: when the task's try runs out of ``execution_timeout`` (epoch seconds).
    """

    def __init__(
        self,
        *,
        output_path: str,
        creatify_conn_id: str = CreatifyHook.default_conn_name,
        poll_interval: float = 30.0,
        timeout: float = 3600.0,
        wake_after: int | None = None,
        execution_deadline: float | None = None,
    ) -> None:
        super().__init__()
        self.output_path = output_path
        self.creatify_conn_id = creatify_conn_id
        self.poll_interval = float(poll_interval)
        self.timeout = float(timeout)
        self.wake_after = wake_after
        self.execution_deadline = None if execution_deadline is None else float(execution_deadline)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "output_path": self.output_path,
                "creatify_conn_id": self.creatify_conn_id,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
                "wake_after": self.wake_after,
                "execution_deadline": self.execution_deadline,
            },
        )

    @property
    def log(self) -> Logger:
        return type(self).logger()

    @cached_property
    def hook(self) -> CreatifyHook:
        return CreatifyHook(self.creatify_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Read the running ids from the journal, then poll them until the worker has work again."""
        from asgiref.sync import sync_to_async

        # The journal may be on object storage: its connection is read synchronously, off the event loop.
        running = await sync_to_async(running_ids)(self.output_path, self.timeout)
        yield TriggerEvent(await self._wait(running))

    async def _wait(self, running: dict[str, float]) -> dict[str, Any]:
        total, errors = len(running), 0
        self.log.info("Waiting on %d running Creatify generations of the batch.", total)
        async with self.hook as hook:
            while True:
                now = time.time()
                running = {i: deadline for i, deadline in running.items() if deadline > now}
                if not running:
                    return self._event("finished", running)
                if self.wake_after is not None and total - len(running) >= self.wake_after:
                    return self._event("slots", running)
                if self.execution_deadline is not None and now >= self.execution_deadline:
                    return self._event("execution_timeout", running)
                wake = min(now + self.poll_interval, *running.values(), self.execution_deadline or math.inf)
                ids = list(running)
                # Each id through the triggerer's batched reader: 100 a request, read alone when a list
                # answer misses it; a failed read fails that id's read only.
                reads = await asyncio.gather(
                    *(hook.aget_generation_in_batch(i, after=max(0.0, wake - now)) for i in ids),
                    return_exceptions=True,
                )
                failed = []
                for generation_id, read in zip(ids, reads, strict=True):
                    if isinstance(read, CreatifyNotFoundError) or (
                        isinstance(read, Generation) and read.is_terminal
                    ):
                        del running[generation_id]  # finished, or gone: the worker reads which
                    elif isinstance(read, CreatifyAPIError):
                        failed.append(read)
                    elif isinstance(read, BaseException):
                        raise read
                if refusal := next((err for err in failed if not err.is_transient), None):
                    return self._event("error", running, message=f"Waiting on the batch failed: {refusal}")
                errors = errors + 1 if failed and len(failed) == len(ids) else 0
                if errors >= GenerationWait.max_consecutive_errors:
                    return self._event("error", running, message=f"Waiting on the batch failed: {failed[0]}")
                if failed:
                    self.log.warning(
                        "%d of %d reads failed (%s); read again later.", len(failed), len(ids), failed[0]
                    )

    def _event(self, status: str, running: dict[str, float], **extra: Any) -> dict[str, Any]:
        return {"status": status, "output_path": self.output_path, "running": len(running), **extra}


def running_ids(output_path: str, timeout: float) -> dict[str, float]:
    """The journal's generations without a result, with their deadlines (epoch seconds)."""
    from airflow_provider_creatify.batch.journal import BatchState

    state = BatchState(output_path=output_path)
    return {
        item.generation_id: (item.intent_at or 0.0) + timeout
        for item in state.items.values()
        if item.generation_id and item.result is None
    }
