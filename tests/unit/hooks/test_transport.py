"""AsyncTransport: the event loop's shared session, acquired and released; joined lookups; subclassing."""

from __future__ import annotations

import asyncio
import threading

import pytest

from airflow_provider_creatify.hooks._connection import Credentials
from airflow_provider_creatify.hooks._transport import AsyncTransport
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from tests.helpers import LIST_PATH, create_generations


async def test_one_session_per_loop_closed_by_the_last_user():
    transport = AsyncTransport()
    first, second = await transport.acquire(), await transport.acquire()
    assert first is second and transport.open_sessions() == 1
    await transport.release(first)
    assert not first.closed and transport.open_sessions() == 1
    await transport.release(second)
    assert first.closed and transport.open_sessions() == 0
    third = await transport.acquire()  # a later user opens a new one
    assert third is not first
    await transport.release(third)


def test_each_event_loop_has_its_own_session():
    transport = AsyncTransport()
    sessions = []
    both_acquired = threading.Barrier(2)

    async def use() -> None:
        session = await transport.acquire()
        sessions.append(session)
        await asyncio.to_thread(both_acquired.wait, 5)
        await transport.release(session)

    threads = [threading.Thread(target=asyncio.run, args=(use(),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(sessions) == 2 and sessions[0] is not sessions[1]
    assert all(session.closed for session in sessions) and transport.open_sessions() == 0


async def test_lookups_are_joined_in_flight_and_shared_for_credentials_reuse_seconds(monkeypatch):
    transport = AsyncTransport()
    monkeypatch.setattr(transport, "credentials_reuse", 0.2)
    calls = []

    async def lookup() -> Credentials:
        calls.append(1)
        await asyncio.sleep(0.02)
        return Credentials("https://api.creatify.ai", "id", f"key-{len(calls)}")

    together = await asyncio.gather(*(transport.credentials("c", lookup) for _ in range(5)))
    assert len(calls) == 1 and all(creds is together[0] for creds in together)
    assert transport.lookups_in_flight() == 0
    assert await transport.credentials("c", lookup) is together[0] and len(calls) == 1
    await asyncio.sleep(0.25)  # past the reuse: a changed key is read
    assert (await transport.credentials("c", lookup)).api_key == "key-2" and len(calls) == 2


async def test_the_last_wait_of_a_loop_leaving_drops_its_shared_lookups():
    transport = AsyncTransport()
    calls = []

    async def lookup() -> Credentials:
        calls.append(1)
        return Credentials("https://api.creatify.ai", "id", "key")

    session = await transport.acquire()
    await transport.credentials("c", lookup)
    await transport.credentials("c", lookup)
    await transport.release(session)
    await transport.credentials("c", lookup)
    assert len(calls) == 2


async def test_a_failed_lookup_reaches_every_joined_wait_and_is_not_kept():
    transport = AsyncTransport()

    async def lookup() -> Credentials:
        await asyncio.sleep(0.01)
        raise LookupError("no such connection")

    results = await asyncio.gather(
        *(transport.credentials("c", lookup) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, LookupError) for r in results) and transport.lookups_in_flight() == 0


def test_credentials_never_show_the_key():
    creds = Credentials("https://api.creatify.ai", "my-id", "s3cret-key")
    assert "s3cret-key" not in repr(creds) and "my-id" in repr(creds)
    assert creds.headers["X-API-KEY"] == "s3cret-key"


async def test_a_hook_subclass_brings_its_own_transport(creatify_conn):
    """How benchmarks measure another way: a transport subclass on a hook subclass, no private attribute."""
    opened = []

    class SessionPerUse(AsyncTransport):
        async def acquire(self):
            import aiohttp

            opened.append(aiohttp.ClientSession())
            return opened[-1]

        async def release(self, session):
            await session.close()

    class Hook(CreatifyHook):
        transport = SessionPerUse()

    generation = await asyncio.to_thread(
        lambda: CreatifyHook().create_generation("nano-banana", {"prompt": "x"})
    )
    for _ in range(2):
        async with Hook() as hook:
            assert (await hook.aget_generation(generation.id)).id == generation.id
    assert len(opened) == 2 and all(session.closed for session in opened)
    assert CreatifyHook.transport.open_sessions() == 0  # the shared transport was never touched


async def test_aget_generation_outside_async_with_is_refused(creatify_conn):
    with pytest.raises(RuntimeError, match="async with hook"):
        await CreatifyHook().aget_generation("x")


async def test_a_batched_read_is_shared_inside_async_with_and_its_reader_goes_with_the_last(creatify_conn):
    (generation_id,) = await asyncio.to_thread(create_generations, 1)
    with pytest.raises(RuntimeError, match="async with hook"):
        CreatifyHook().aget_generation_in_batch(generation_id)

    async with CreatifyHook() as first, CreatifyHook() as second:
        reads = (
            first.aget_generation_in_batch(generation_id),
            second.aget_generation_in_batch(generation_id),
        )
        assert CreatifyHook.transport.open_batchers() == 1
        assert [g.id for g in await asyncio.gather(*reads)] == [generation_id] * 2
    assert CreatifyHook.transport.open_batchers() == 0
    assert creatify_conn.count("GET", LIST_PATH) == 1  # one request for both waits
    with pytest.raises(RuntimeError, match="async with hook"):  # its reader went with the block
        first.aget_generation_in_batch(generation_id)
