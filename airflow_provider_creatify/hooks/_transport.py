"""What a triggerer process shares between the waits running in its event loop (private).

:class:`AsyncTransport`: one aiohttp session and its keep-alive connections per event loop, connection
lookups shared for a minute, and the batched status reads (:mod:`._batch`). An optimisation only: nothing
in it matters across processes, and it holds nothing of a loop once no wait of it uses it.

aiohttp is imported where used: DAG files import the hook, and this module, on every parse.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_creatify.hooks._batch import StatusBatcher
from airflow_provider_creatify.hooks._connection import Credentials
from airflow_provider_creatify.hooks._http import no_answer, refuse_redirect

if TYPE_CHECKING:
    import aiohttp


_log = logging.getLogger(__name__)


@dataclass
class _Shared:
    session: aiohttp.ClientSession
    users: int = 0


class AsyncTransport:
    """One aiohttp session per event loop, shared by its waits; connection lookups shared for a minute.

    - :meth:`acquire` hands out the loop's session, opening it for the first user. :meth:`release` gives
      it back and closes it after the last, so a short-lived loop (``dag.test()``) leaks nothing.
    - Auth goes with each request, so waits on different connections share the session too.
    - :meth:`credentials` lets the waits that start within :attr:`credentials_reuse` seconds on one
      connection share one lookup.
    - :meth:`join_batch` hands out the batched reader of one connection's waits (:mod:`._batch`).
    - Every request goes through :meth:`get`, so a subclass can count them.
    """

    #: Seconds an answered connection lookup serves the waits starting after it in its event loop: a
    #: changed key reaches the waits that start this much later at most (a wait keeps its own to its end).
    credentials_reuse = 60.0

    def __init__(self) -> None:
        self._sessions: dict[asyncio.AbstractEventLoop, _Shared] = {}
        self._lookups: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Future[Credentials]] = {}
        self._answered: dict[tuple[asyncio.AbstractEventLoop, str], tuple[Credentials, float]] = {}
        self._batchers: dict[Hashable, StatusBatcher] = {}

    def open_batchers(self) -> int:
        """How many batched readers exist now (one per event loop and connection with waits reading)."""
        return len(self._batchers)

    def join_batch(self, creds: Credentials, conn_id: str, *, request_timeout: float) -> StatusBatcher:
        """The batched reader of this event loop for ``creds`` (:mod:`._batch`), made for its first wait;
        give it back with :meth:`leave_batch`. Its reads are futures to await."""
        loop = asyncio.get_running_loop()
        key = (loop, conn_id, creds.base_url, creds.api_id, creds.api_key)
        batcher = self._batchers.get(key)
        if batcher is None:

            async def fetch(path: str, what: str) -> tuple[int, bytes, str | None]:
                session = await self.acquire()
                try:
                    return await self.get(session, creds, path, timeout=request_timeout, what=what)
                finally:
                    await self.release(session)

            batcher = self._batchers[key] = StatusBatcher(
                fetch=fetch, conn_id=conn_id, base_url=creds.base_url, key=key
            )
        batcher.users += 1
        return batcher

    def leave_batch(self, batcher: StatusBatcher) -> None:
        """A wait is done with ``batcher``: the last one drops it (a request of it under way ends alone)."""
        batcher.users -= 1
        if batcher.users == 0 and self._batchers.get(batcher.key) is batcher:
            del self._batchers[batcher.key]

    def open_sessions(self) -> int:
        """How many event loops have a session open now."""
        return len(self._sessions)

    def lookups_in_flight(self) -> int:
        """How many connection lookups are under way now."""
        return len(self._lookups)

    async def acquire(self) -> aiohttp.ClientSession:
        """The running loop's shared session, opened if this is its first user."""
        import aiohttp

        loop = asyncio.get_running_loop()
        shared = self._sessions.get(loop)
        if shared is None:
            # trust_env=False (the default, said): no HTTP(S)_PROXY, no .netrc; the connection's proxy only
            shared = self._sessions[loop] = _Shared(aiohttp.ClientSession(trust_env=False))
        shared.users += 1
        return shared.session

    async def release(self, session: aiohttp.ClientSession) -> None:
        """Give back what :meth:`acquire` handed out; the last user closes the session (and the loop's
        shared lookups go)."""
        loop = asyncio.get_running_loop()
        shared = self._sessions[loop]
        shared.users -= 1
        if shared.users == 0:
            del self._sessions[loop]
            for key in [key for key in self._answered if key[0] is loop]:
                del self._answered[key]
            await shared.session.close()

    async def credentials(self, conn_id: str, lookup: Callable[[], Awaitable[Credentials]]) -> Credentials:
        """``lookup()``'s answer, shared: joined with a lookup of ``conn_id`` in flight in this loop, or
        one answered less than :attr:`credentials_reuse` seconds ago: a lookup costs a thread hop for an
        environment variable, and a round trip through the triggerer's supervisor to the API server for a
        connection in Airflow's DB; a busy triggerer starts thousands of waits an hour. A failed lookup
        is not kept.
        """
        loop = asyncio.get_running_loop()
        key = (loop, conn_id)
        answered = self._answered.get(key)
        if answered is not None and loop.time() < answered[1]:
            return answered[0]
        future = self._lookups.get(key)
        if future is None:
            future = self._lookups[key] = asyncio.ensure_future(lookup())
            future.add_done_callback(lambda done: self._answer(key, done))
        return await asyncio.shield(future)

    def _answer(
        self, key: tuple[asyncio.AbstractEventLoop, str], future: asyncio.Future[Credentials]
    ) -> None:
        self._lookups.pop(key, None)
        if future.cancelled() or future.exception() is not None:  # retrieved: maybe no wait is joined
            return
        for old in [k for k in self._answered if k[0].is_closed()]:  # short-lived loops (dag.test())
            del self._answered[old]
        self._answered[key] = (future.result(), key[0].time() + self.credentials_reuse)

    async def get(
        self, session: aiohttp.ClientSession, creds: Credentials, path: str, *, timeout: float, what: str
    ) -> tuple[int, bytes, str | None]:
        """``GET`` a path of the API: status, body and ``Retry-After``.

        :raises CreatifyAPIError: no answer (connection refused or broken, timeout), transient; a
            redirect (never followed: the key would go along), not transient.
        """
        import aiohttp

        try:
            async with session.get(
                creds.base_url + path,
                headers=creds.headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
                proxy=creds.api_proxy,
            ) as response:
                refuse_redirect(response.status, response.headers.get("Location"), what, creds.base_url)
                body = creds.redact(await response.read())
                return response.status, body, response.headers.get("Retry-After")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise no_answer(what, creds.base_url, exc) from None


#: The transport of every :class:`CreatifyHook` in this process (class attribute ``transport``).
TRANSPORT = AsyncTransport()
