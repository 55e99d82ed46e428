"""Webhook notices of the sandbox: one for ``generating``, then the final one (possibly repeated), in order.

A notice carries only ``id``, ``status``, ``failed_reason`` and ``assets``, as Creatify documents it, and no
signature. Runs on the server's event loop; :meth:`WebhookNotifier.wake` and
:meth:`WebhookNotifier.reset` may be called from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_creatify.sandbox.settings import SandboxSettings

FINAL_STATUSES = ("done", "failed")
NOTICE_FIELDS = ("id", "status", "failed_reason", "assets")
#: ``read(gen_id)``: the generation object now (``None`` if unknown) and the seconds until its status
#: changes by itself (``None``: never).
Read = Callable[[str], tuple[dict[str, Any] | None, float | None]]
Delivery = tuple[str, int | None, dict[str, Any]]


class WebhookNotifier:
    """Follows each generation created with a ``webhook_url`` and POSTs its notices; logs every attempt.

    One task per generation sends its notices one after the other, so the ``generating`` notice always
    comes before the final one. A status forced to something unknown is never notified.

    :param read: how to read a generation (see :data:`Read`).
    :param settings: the live settings (``webhook_repeat``, ``webhook_timeout``).
    """

    def __init__(self, read: Read, settings: Callable[[], SandboxSettings]) -> None:
        self._read = read
        self._settings = settings
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._followers: dict[str, tuple[asyncio.Task[None], asyncio.Event]] = {}

    def follow(self, gen_id: str, url: str) -> None:
        """Start notifying ``url`` about a new generation; call it on the event loop.

        :param gen_id: the generation.
        :param url: its ``webhook_url``.
        """
        self._loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        task = self._loop.create_task(self._run(gen_id, url, wake))
        self._followers[gen_id] = (task, wake)
        task.add_done_callback(lambda _: self._followers.pop(gen_id, None))

    def wake(self, gen_id: str) -> None:
        """Re-read a generation at once (its status was forced); thread-safe.

        :param gen_id: the generation.
        """
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # server already stopped
                self._loop.call_soon_threadsafe(self._wake, gen_id)

    def reset(self) -> None:
        """Forget the delivery log and stop every pending notice; thread-safe."""
        with self._lock:
            self._deliveries.clear()
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._cancel_all)

    def deliveries(self) -> list[Delivery]:
        """A copy of the log: ``(url, HTTP status or None if the POST failed, payload)`` per attempt."""
        with self._lock:
            return list(self._deliveries)

    def _wake(self, gen_id: str) -> None:
        follower = self._followers.get(gen_id)
        if follower is not None:
            follower[1].set()

    def _cancel_all(self) -> None:
        for task, _ in list(self._followers.values()):
            task.cancel()

    async def _run(self, gen_id: str, url: str, wake: asyncio.Event) -> None:
        progress_sent = False
        while True:
            wake.clear()
            generation, next_change = self._read(gen_id)
            if generation is None:
                return
            status = generation["status"]
            if status in FINAL_STATUSES:
                await self._post(url, generation, max(0, self._settings().webhook_repeat))
                return
            if status == "generating" and not progress_sent:
                progress_sent = True
                await self._post(url, generation, 1)
                continue
            timeout = None if next_change is None else next_change + 0.005
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout)

    async def _post(self, url: str, generation: dict[str, Any], times: int) -> None:
        """POST the notice ``times`` times; failures are recorded, never raised."""
        if times <= 0:
            return
        import httpx

        payload = {key: generation.get(key) for key in NOTICE_FIELDS}
        headers = {"user-agent": "creatify-sandbox-webhook/1"}
        async with httpx.AsyncClient(timeout=self._settings().webhook_timeout, trust_env=False) as client:
            for _ in range(times):
                code: int | None = None
                try:
                    code = (await client.post(url, json=payload, headers=headers)).status_code
                except Exception:  # any delivery failure is only recorded
                    code = None
                with self._lock:
                    self._deliveries.append((url, code, payload))
