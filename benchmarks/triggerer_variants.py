"""The triggers the triggerer-cost benchmark compares, each counting its wait-polls and HTTP requests.

``baseline`` is written the common way; ``per_id`` and ``batched`` are the product trigger, the first
reading each generation alone (as before batched reads), the second as shipped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from functools import cached_property
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_creatify.endpoints import generation_path
from airflow_provider_creatify.generation import Generation
from airflow_provider_creatify.hooks._connection import base_url_from_connection
from airflow_provider_creatify.hooks._transport import AsyncTransport
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.triggers.creatify import CreatifyGenerationTrigger

VARIANTS = {
    "baseline": "new connection lookup + new aiohttp session on every poll (the common way)",
    "per_id": "the product trigger reading its own generation: one GET per wait per poll (before batching)",
    "batched": "CreatifyGenerationTrigger as shipped: the waits due within 0.2 s share one GET per 100 ids",
}


# -- counting polls ------------------------------------------------------------------------------------------


class PollCounter:
    """Status reads made in this process: wait-polls (and those that raised), and HTTP requests."""

    def __init__(self) -> None:
        self.calls = 0
        self.errors = 0
        self.requests = 0

    def reset(self) -> None:
        self.calls = self.errors = self.requests = 0


POLLS = PollCounter()


class CountingTransport(AsyncTransport):
    """The product's transport, counting every status request in :data:`POLLS` (one may serve 100 waits)."""

    async def get(self, *args: Any, **kwargs: Any) -> tuple[int, bytes, str | None]:
        POLLS.requests += 1
        return await super().get(*args, **kwargs)


# -- the variants --------------------------------------------------------------------------------------------


class BaselineTrigger(BaseTrigger):
    """The common way to write this trigger (a benchmark artefact, not product code).

    Like apache-airflow-providers-dbt-cloud's: every poll looks the connection up again
    (``get_async_connection``) and opens a new ``aiohttp.ClientSession``. Same events as the product
    trigger: ``done`` / ``failed`` with the generation, ``timeout``, ``error``.
    """

    def __init__(
        self,
        *,
        generation_id: str,
        deadline: float,
        creatify_conn_id: str = CreatifyHook.default_conn_name,
        poll_interval: float = 10.0,
    ) -> None:
        super().__init__()
        self.generation_id = generation_id
        self.deadline = deadline
        self.creatify_conn_id = creatify_conn_id
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "generation_id": self.generation_id,
                "deadline": self.deadline,
                "creatify_conn_id": self.creatify_conn_id,
                "poll_interval": self.poll_interval,
            },
        )

    async def poll(self) -> dict[str, Any]:
        """One status read: connection lookup, new session, GET, JSON."""
        import aiohttp
        from airflow.providers.common.compat.connection import get_async_connection

        POLLS.calls += 1
        try:
            conn = await get_async_connection(self.creatify_conn_id)
            headers = {"X-API-ID": conn.login or "", "X-API-KEY": conn.password or ""}
            url = base_url_from_connection(conn) + generation_path(self.generation_id)
            async with aiohttp.ClientSession(headers=headers) as session, session.get(url) as response:
                response.raise_for_status()
                return await response.json()
        except Exception:
            POLLS.errors += 1
            raise

    async def run(self) -> AsyncIterator[TriggerEvent]:
        last_status = None
        try:
            while True:
                generation = await self.poll()
                status = generation.get("status")
                if status != last_status:
                    self.log.info("Creatify generation %s is %s.", self.generation_id, status)
                    last_status = status
                if status in ("done", "failed"):
                    yield TriggerEvent(
                        {"status": status, "generation_id": self.generation_id, "generation": generation}
                    )
                    return
                if time.time() >= self.deadline:
                    yield TriggerEvent({"status": "timeout", "generation_id": self.generation_id})
                    return
                await asyncio.sleep(self.poll_interval)
        except Exception as exc:
            yield TriggerEvent({"status": "error", "generation_id": self.generation_id, "message": str(exc)})


class ProductHook(CreatifyHook):
    transport = CountingTransport()


class ProductTrigger(CreatifyGenerationTrigger):
    """The product trigger as shipped (batched reads), its wait-polls counted."""

    @cached_property
    def hook(self) -> CreatifyHook:
        return ProductHook(self.creatify_conn_id)

    async def _read(self, hook: CreatifyHook) -> Generation:
        POLLS.calls += 1  # a wait-poll, batched or not
        try:
            return await self._fetch(hook)
        except Exception:
            POLLS.errors += 1
            raise

    async def _fetch(self, hook: CreatifyHook) -> Generation:
        return await CreatifyGenerationTrigger._read(self, hook)


class PerIdTrigger(ProductTrigger):
    """The product trigger before batching: each wait reads its own generation."""

    async def _fetch(self, hook: CreatifyHook) -> Generation:
        return await hook.aget_generation(self.generation_id)


def make_trigger(variant: str, generation_id: str, deadline: float, poll_interval: float) -> BaseTrigger:
    """One trigger of ``variant``, polling at a fixed ``poll_interval`` (the adaptive schedule pinned)."""
    if variant == "baseline":
        return BaselineTrigger(generation_id=generation_id, deadline=deadline, poll_interval=poll_interval)
    cls = PerIdTrigger if variant == "per_id" else ProductTrigger
    return cls(
        generation_id=generation_id,
        deadline=deadline,
        poll_interval=poll_interval,
        min_poll_interval=poll_interval,
    )
