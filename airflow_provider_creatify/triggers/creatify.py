"""The asynchronous wait on a Creatify generation, run by Airflow's triggerer."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypedDict

from airflow.triggers.base import BaseTrigger, TaskSuccessEvent, TriggerEvent

from airflow_provider_creatify.exceptions import CreatifyAPIError, CreatifyError, CreatifyTimeoutError
from airflow_provider_creatify.generation import Generation
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.links import CreatifyAssetLink
from airflow_provider_creatify.polling import MIN_POLL_INTERVAL, GenerationWait, stopped_message

if TYPE_CHECKING:
    from airflow.sdk.types import Logger

    from airflow_provider_creatify.protocols import XComTarget

__all__ = ["CreatifyGenerationTrigger"]


class CreatifyGenerationTrigger(BaseTrigger):
    """Wait on a generation until it is done or failed, or until an absolute deadline; yield one event.

    The event: ``{"status": "done" | "failed" | "timeout" | "execution_timeout" | "error",
    "generation_id", "model_name", "generation" (done/failed: :meth:`Generation.summary`), "message"}``.
    The wait follows :class:`~airflow_provider_creatify.polling.GenerationWait`, as the blocking wait
    does, its reads batched with the triggerer's other waits on the connection. With ``end_from_trigger``
    a success ends the task here (:meth:`run`). The kwargs are stored in Airflow's DB: primitives, no
    secrets. The deadline is wall-clock (a restarted triggerer does not reset it), and the trigger
    running twice after a failover is harmless: it only reads.

    :param generation_id: the Creatify generation id.
    :param deadline: absolute time (seconds since the epoch, ``time.time()``) to give up at.
    :param creatify_conn_id: the Airflow connection id.
    :param poll_interval: the longest wait between two status reads; earlier reads come sooner
        (see :func:`~airflow_provider_creatify.polling.poll_delay`).
    :param model_name: the model, for messages only.
    :param min_poll_interval: the shortest wait; set it to ``poll_interval`` for fixed polling.
    :param end_from_trigger: end the task here when the generation is done (see :meth:`run`).
    :param last_status: the status the deferring task last saw (and logged): the trigger logs only
        changes from it, and leaves done or failed to the task (a triggerer runs thousands of waits).
    :param execution_deadline: when the task's try runs out of ``execution_timeout`` (epoch seconds):
        the wait ends then with an ``execution_timeout`` event (the worker raises Airflow's task timeout,
        which retries as any ``execution_timeout``). Airflow 3 does not enforce ``execution_timeout``
        while a task is deferred (apache/airflow#69678), and ``dag.test()`` no trigger timeout at all.
    """

    #: The wait starts in one of these many evenly spaced slots over the first ``min_poll_interval``.
    #: Waits deferred together spread their reads, and those in a slot share a connection lookup and
    #: event-loop wake-ups.
    start_slots = 10

    def __init__(
        self,
        *,
        generation_id: str,
        deadline: float,
        creatify_conn_id: str = CreatifyHook.default_conn_name,
        poll_interval: float = 10.0,
        model_name: str | None = None,
        min_poll_interval: float = MIN_POLL_INTERVAL,
        end_from_trigger: bool = False,
        execution_deadline: float | None = None,
        last_status: str | None = None,
    ) -> None:
        super().__init__()
        self.generation_id = generation_id
        self.deadline = float(deadline)
        self.creatify_conn_id = creatify_conn_id
        self.poll_interval = float(poll_interval)
        self.model_name = model_name
        self.min_poll_interval = float(min_poll_interval)
        self.end_from_trigger = end_from_trigger
        self.execution_deadline = None if execution_deadline is None else float(execution_deadline)
        self.last_status = last_status

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "generation_id": self.generation_id,
                "deadline": self.deadline,
                "creatify_conn_id": self.creatify_conn_id,
                "poll_interval": self.poll_interval,
                "model_name": self.model_name,
                "min_poll_interval": self.min_poll_interval,
                "end_from_trigger": self.end_from_trigger,
                "execution_deadline": self.execution_deadline,
                "last_status": self.last_status,
            },
        )

    @property
    def log(self) -> Logger:
        """One logger for all the waits: one of each sets itself up on its first line (~30 us), and a
        triggerer sends a line to its task's log by context (the trigger's id), whatever the logger."""
        return type(self).logger()

    @cached_property
    def hook(self) -> CreatifyHook:
        return CreatifyHook(self.creatify_conn_id)

    def _read(self, hook: CreatifyHook, after: float) -> Awaitable[Generation]:
        # The waits of this triggerer on the connection due within 0.2 s share a timer and a GET per 100 ids.
        return hook.aget_generation_in_batch(self.generation_id, after=after)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait, then yield the event.

        With ``end_from_trigger``, a generation done with assets ends the task right here. The XComs a
        worker would push are pushed, then a ``TaskSuccessEvent`` is yielded.

        Anything else (failed, timeout, error) resumes the task in a worker. There the error is raised,
        and retries route as usual. A success outside a triggerer resumes it too: ``dag.test()`` runs
        triggers inline, with no task instance to end.
        """
        payload = await self._wait()
        if self.end_from_trigger and payload["status"] == "done" and self.task_instance is not None:
            generation = Generation.from_api(payload["generation"])
            # No asset URL: the worker raises "done but no asset URL". XComs not pushed: it finishes.
            started = time.monotonic()
            if generation.asset_urls and await self._push_xcoms(generation):
                self.log.info(
                    "Creatify %s is done with %d asset(s)%s; the task ends here, in the triggerer "
                    "(XComs pushed in %.2f s).",
                    generation.describe(),
                    len(generation.asset_urls),
                    generation.describe_credits(),
                    time.monotonic() - started,
                )
                yield TaskSuccessEvent()
                return
        yield TriggerEvent(payload)

    async def _push_xcoms(self, generation: Generation) -> bool:
        """Push the XComs the worker would push on success; ``False`` if that failed.

        The five a worker leaves, none of them spare: ``return_value`` and ``asset_urls`` (the asset
        URLs: what ``.output`` and the documented key pull), ``assets``, ``credits_used``, and the link's
        XCom (what the UI's "Creatify asset" button reads). One ``SetXCom`` each through the triggerer's
        Task SDK comms, as a worker's go: Airflow 3.1 to 3.3 have no message that sets several, and
        ``TaskSuccessEvent(xcoms=...)`` stores them JSON-encoded twice (downstream tasks would pull a
        string, not the list of asset URLs). Sent together: on 3.3 all five are in flight at once (3.1's
        comms lock sends one at a time); the supervisor serves one request per loop either way.
        """
        ti = self.task_instance
        if ti is None:  # run() ends a task here only with one: a triggerer's
            return False
        urls, link = generation.asset_urls, CreatifyAssetLink()
        xcoms = {"return_value": urls, **generation.result_xcoms(), link.xcom_key: link.url(urls)}
        try:
            await asyncio.gather(*(_aset_xcom(ti, k, v) for k, v in xcoms.items()))
        except Exception:
            self.log.warning(
                "Could not push the XComs of Creatify %s from the triggerer; a worker finishes the task.",
                generation.describe(),
                exc_info=True,
            )
            return False
        return True

    async def on_kill(self) -> None:
        """Airflow 3.3+: the task was killed or cleared (or, apache/airflow#73454, the trigger moved to
        another triggerer). Only say so: Creatify has no cancel, and a moved trigger goes on elsewhere."""
        why = "the trigger was cancelled (task killed or cleared, or moved to another triggerer)"
        self.log.warning(stopped_message(self.generation_id, self.model_name, why))

    def _event(self, wait: GenerationWait, status: str, **extra: Any) -> dict[str, Any]:
        return {"status": status, "generation_id": self.generation_id, "model_name": wait.model_name, **extra}

    def _first_poll_delay(self) -> float:
        # One of start_slots evenly spaced starts: waits in the same slot share event-loop wake-ups.
        bound = min(self.min_poll_interval, self.poll_interval)
        return random.randrange(self.start_slots) * bound / self.start_slots

    async def _wait(self) -> dict[str, Any]:
        deadline = min(self.deadline, self.execution_deadline or self.deadline)
        wait = GenerationWait(
            generation_id=self.generation_id,
            deadline=deadline,
            poll_interval=self.poll_interval,
            log=self.log,
            min_poll_interval=self.min_poll_interval,
            model_name=self.model_name,
            last_status=self.last_status,
        )
        delay = min(self._first_poll_delay(), max(0.0, deadline - time.time()))
        try:
            async with self.hook as hook:
                while True:
                    try:
                        # read that much later: the read's future is all a poll waits on (no sleep)
                        generation = await self._read(hook, delay)
                        wanted = wait.after_read(generation)
                    except CreatifyAPIError as err:
                        wanted = wait.after_error(err)
                    else:
                        if wanted is None:
                            return self._event(wait, generation.status, generation=generation.summary())
                        # Not held until the next read: thousands of waits holding their last read would
                        # outlive the young garbage-collector generations, and make full collections often.
                        del generation
                    delay = wait.sleep_for(wanted)
        except CreatifyTimeoutError:
            status = "timeout" if deadline == self.deadline else "execution_timeout"
            return self._event(wait, status, last_status=wait.last_status)
        except CreatifyError as exc:  # not transient, or the error streak is full (the message says)
            return self._event(wait, "error", message=str(exc))


class _XComWhere(TypedDict):
    """The task instance an XCom belongs to, as ``XCom.aset`` and ``SetXCom`` take it."""

    dag_id: str
    task_id: str
    run_id: str
    map_index: int


async def _aset_xcom(ti: XComTarget, key: str, value: Any) -> None:
    """``XCom.aset`` (Airflow 3.3+) for task instance ``ti``, or what it does on older Airflow: one
    ``SetXCom`` through the triggerer's comms (its sync ``XCom.set`` would block the event loop)."""
    from airflow.providers.common.compat.sdk import XCom

    where = _XComWhere(dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id, map_index=ti.map_index)
    if hasattr(XCom, "aset"):
        await XCom.aset(key, value, **where)
        return
    from airflow.sdk.execution_time.comms import SetXCom
    from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS

    await SUPERVISOR_COMMS.asend(
        SetXCom(key=key, value=XCom.serialize_value(value, key=key, **where), **where)
    )
