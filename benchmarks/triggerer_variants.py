"""The triggers the triggerer-cost benchmark compares (``VARIANTS``), each counting its polls and requests."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable
from functools import cached_property
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_creatify.endpoints import GENERATIONS_PATH, MAX_IDS_PER_READ, generation_path
from airflow_provider_creatify.generation import Generation
from airflow_provider_creatify.hooks._connection import base_url_from_connection
from airflow_provider_creatify.hooks._transport import AsyncTransport
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.triggers.creatify import CreatifyGenerationTrigger
from benchmarks.probes import Usage

#: The status the sandbox's create answers: the operator defers its wait with it (``last_status``).
CREATED_STATUS = "initializing"


class PollCounter:
    """Status reads made in this process: wait-polls, HTTP requests, and the reads or requests that failed."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.calls = self.errors = self.requests = 0

    def figures(self, used: Usage) -> dict[str, Any]:
        """What was counted; CPU per wait-poll (this process's, its system part, the other's) and in cores."""
        polls = self.calls

        def per_poll(value: float) -> float | None:
            return value / polls if polls else None

        return {
            "polls": polls,
            "poll_errors": self.errors,
            "status_requests": self.requests,
            "requests_per_poll": per_poll(self.requests),
            "cpu_ms_per_poll": per_poll(1000 * used.cpu),
            "cpu_system_ms_per_poll": per_poll(1000 * used.system),
            "cpu_share": used.cpu / used.wall,
            "cpu_seconds": used.cpu,
            "wall_seconds": used.wall,
            "other_load_cores": used.other_load_cores,
        }


POLLS = PollCounter()


class CountingTransport(AsyncTransport):
    """The product's transport, counting every status request in :data:`POLLS` (one may serve 100 waits)."""

    async def get(self, *args: Any, **kwargs: Any) -> tuple[int, bytes, str | None]:
        POLLS.requests += 1
        try:
            answer = await super().get(*args, **kwargs)
        except Exception:
            POLLS.errors += 1
            raise
        if answer[0] >= 400:
            POLLS.errors += 1
        return answer


class _FixedIntervalTrigger(BaseTrigger):
    """What the benchmark's own triggers share: a generation, a deadline, a fixed poll interval."""

    def __init__(self, *, generation_id: str, deadline: float, poll_interval: float = 10.0) -> None:
        super().__init__()
        self.generation_id = generation_id
        self.deadline = deadline
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        path = f"{type(self).__module__}.{type(self).__qualname__}"
        return path, {key: getattr(self, key) for key in ("generation_id", "deadline", "poll_interval")}


class BaselineTrigger(_FixedIntervalTrigger):
    """The common way to write this trigger, as dbt Cloud's: a connection lookup and a session per poll."""

    creatify_conn_id = CreatifyHook.default_conn_name

    async def poll(self) -> dict[str, Any]:
        """One status read: connection lookup, new session, GET, JSON."""
        import aiohttp
        from airflow.providers.common.compat.connection import get_async_connection

        POLLS.calls += 1
        POLLS.requests += 1  # one GET per poll
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
    """CreatifyGenerationTrigger as shipped: the waits due within 0.2 s share one GET per 100 ids."""

    @cached_property
    def hook(self) -> CreatifyHook:
        return ProductHook(self.creatify_conn_id)

    def _read(self, hook: CreatifyHook, after: float) -> Awaitable[Generation]:
        POLLS.calls += 1  # a wait-poll, batched or not
        return super()._read(hook, after)


class PerIdTrigger(ProductTrigger):
    """The product trigger before batching: each wait reads its own generation, one GET a poll."""

    async def _read(self, hook: CreatifyHook, after: float) -> Generation:
        POLLS.calls += 1
        await asyncio.sleep(after)
        return await hook.aget_generation(self.generation_id)


class NaiveBatch:
    """The naive batched loop's reads: the ids due within :attr:`window` s share one ``?ids=`` GET per 100."""

    window = 0.2

    def __init__(self) -> None:
        self.due: dict[str, asyncio.Future[dict[str, Any] | None]] = {}
        self.timer: asyncio.TimerHandle | None = None
        self.session: Any = None
        self.url = ""
        self.users = 0
        self.in_flight: set[asyncio.Future[None]] = set()

    async def open(self) -> None:
        """A wait starts: the first one looks the connection up once and opens the session."""
        self.users += 1
        if self.session is None:
            import aiohttp

            creds = await CreatifyHook().acredentials()
            self.url = creds.base_url + GENERATIONS_PATH + "?ids="
            self.session = aiohttp.ClientSession(headers=creds.headers)

    async def close(self) -> None:
        """A wait ends: the last one closes the session."""
        self.users -= 1
        if not self.users and self.session is not None:
            session, self.session = self.session, None
            await session.close()

    def read(self, generation_id: str) -> asyncio.Future[dict[str, Any] | None]:
        """The generation's item from the next request (``None``: not in the answer)."""
        future = asyncio.get_running_loop().create_future()
        self.due[generation_id] = future
        if len(self.due) >= MAX_IDS_PER_READ:
            self.flush()
        elif self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(self.window, self.flush)
        return future

    def flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        due, self.due = self.due, {}
        ids = list(due)
        for i in range(0, len(ids), MAX_IDS_PER_READ):
            chunk = {gid: due[gid] for gid in ids[i : i + MAX_IDS_PER_READ]}
            task = asyncio.ensure_future(self.get(chunk))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)

    async def get(self, due: dict[str, asyncio.Future[dict[str, Any] | None]]) -> None:
        POLLS.requests += 1
        try:
            async with self.session.get(self.url + ",".join(due)) as response:
                response.raise_for_status()
                items = json.loads(await response.read())
        except Exception as exc:
            for future in due.values():
                future.set_exception(exc)
            return
        for item in items:
            if item["id"] in due:
                due.pop(item["id"]).set_result(item)
        for future in due.values():
            future.set_result(None)


NAIVE = NaiveBatch()


class NaiveTrigger(_FixedIntervalTrigger):
    """The naive batched loop, the floor: a wait sleeps and asks; one GET per 100 due waits, parsed once."""

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await NAIVE.open()
        try:
            # deferred at random moments, as a triggerer's waits are (not all due in one loop iteration)
            await asyncio.sleep(random.random() * self.poll_interval)
            while time.time() < self.deadline:
                POLLS.calls += 1
                item = await NAIVE.read(self.generation_id)
                if item is not None and item["status"] in ("done", "failed"):
                    yield TriggerEvent({"status": item["status"], "generation_id": self.generation_id})
                    return
                await asyncio.sleep(self.poll_interval)
            yield TriggerEvent({"status": "timeout", "generation_id": self.generation_id})
        finally:
            await NAIVE.close()


TRIGGERS: dict[str, type[BaseTrigger]] = {
    "baseline": BaselineTrigger,
    "per_id": PerIdTrigger,
    "batched": ProductTrigger,
    "naive": NaiveTrigger,
}
#: Each variant in a line: its class's summary.
VARIANTS = {name: (cls.__doc__ or "").splitlines()[0] for name, cls in TRIGGERS.items()}


def make_trigger(variant: str, generation_id: str, deadline: float, poll_interval: float) -> BaseTrigger:
    """One trigger of ``variant`` at a fixed ``poll_interval``; the product's as the operator defers it."""
    fixed: dict[str, Any] = dict(generation_id=generation_id, deadline=deadline, poll_interval=poll_interval)
    if issubclass(TRIGGERS[variant], ProductTrigger):  # the adaptive schedule pinned
        return TRIGGERS[variant](**fixed, min_poll_interval=poll_interval, last_status=CREATED_STATUS)
    return TRIGGERS[variant](**fixed)
