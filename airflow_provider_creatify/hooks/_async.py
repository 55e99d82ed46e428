"""The hook's triggerer half (private): ``async with hook:`` and the reads that never block the loop.

:class:`AsyncReads` is a base of :class:`~airflow_provider_creatify.hooks.creatify.CreatifyHook`; it reads
the connection without blocking, joins the event loop's shared aiohttp session and reads generations
alone, in a batch (:mod:`._batch`) or many at once, all through :class:`._transport.AsyncTransport`.
The worker half (``requests``) is :class:`._http.SyncClient`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from airflow_provider_creatify.exceptions import CreatifyAPIError, CreatifyNotFoundError
from airflow_provider_creatify.generation import Generation
from airflow_provider_creatify.hooks._batch import LIST_RESTS, Fetch, batches, read_one
from airflow_provider_creatify.hooks._connection import credentials_from_connection, missing_connection
from airflow_provider_creatify.hooks._http import decode

if TYPE_CHECKING:
    import aiohttp

    from airflow_provider_creatify.hooks._batch import StatusBatcher
    from airflow_provider_creatify.hooks._connection import Credentials
    from airflow_provider_creatify.hooks._transport import AsyncTransport

_Hook = TypeVar("_Hook", bound="AsyncReads")


class AsyncReads:
    """For triggers: use inside ``async with hook:`` (see :meth:`__aenter__`)."""

    creatify_conn_id: str
    request_timeout: float
    transport: ClassVar[AsyncTransport]
    _credentials: Credentials | None = None
    _asession: aiohttp.ClientSession | None = None
    _batcher: StatusBatcher | None = None

    async def acredentials(self) -> Credentials:
        """Like :attr:`credentials`, without blocking the event loop (for triggers).

        Waits starting together on one connection join one lookup in flight instead of each making their
        own (hundreds of deferred tasks start at once); nothing is kept once it is answered.
        """
        if self._credentials is None:
            self._credentials = await self.transport.credentials(self.creatify_conn_id, self._alookup)
        return self._credentials

    async def _alookup(self) -> Credentials:
        from airflow.providers.common.compat.connection import get_async_connection

        try:
            conn = await get_async_connection(self.creatify_conn_id, hook=type(self))  # type: ignore[arg-type]
        except Exception as exc:
            raise missing_connection(self.creatify_conn_id, exc) from None
        return credentials_from_connection(conn)

    async def __aenter__(self: _Hook) -> _Hook:
        """Join the event loop's shared HTTP session for the ``async with`` block (a trigger run).

        All waits in one event loop (a triggerer) share one ``aiohttp`` session (:attr:`transport`). The
        first to enter opens it, and the last to leave closes it. The common way, a new session and a
        connection lookup on every poll, cost 34 times the CPU in a measurement with 1,000 waits.
        """
        await self.acredentials()
        self._asession = await self.transport.acquire()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        batcher, self._batcher = self._batcher, None
        if batcher is not None:
            self.transport.leave_batch(batcher)
        session, self._asession = self._asession, None
        if session is not None:
            await self.transport.release(session)

    async def aget_generation(self, generation_id: str) -> Generation:
        """Read a generation without blocking the event loop. Use inside ``async with hook:``."""
        return await read_one(self._fetch("aget_generation"), self.creatify_conn_id, generation_id)

    def aget_generation_in_batch(self, generation_id: str, *, after: float = 0.0) -> Awaitable[Generation]:
        """:meth:`aget_generation` through the event loop's batched reader: the waits on this connection
        due within a fraction of a second share one timer and one request for up to 100 ids
        (:mod:`._batch`); read alone when the batch did not return it. A future to await (no coroutine:
        a triggerer makes thousands of these reads a second). Use inside ``async with hook:``.

        :param after: read it this many seconds from now (a wait's next poll), instead of sleeping first.
        """
        batcher = self._batcher
        if batcher is None:
            if self._asession is None or self._credentials is None:
                raise _outside("aget_generation_in_batch")
            batcher = self._batcher = self.transport.join_batch(
                self._credentials, self.creatify_conn_id, request_timeout=self.request_timeout
            )
        return batcher.read(generation_id, after)

    async def aget_generations(self, generation_ids: Sequence[str]) -> dict[str, Generation | None]:
        """:meth:`get_generations` without blocking the event loop (one try per read of 100).

        Use inside ``async with hook:``. Reads alone what a list answer misses or cannot give, as
        :meth:`get_generations` does.
        """
        result: dict[str, Generation | None] = {}
        fetch, base_url = self._fetch("aget_generations"), (await self.acredentials()).base_url
        for ids, path, what in batches(generation_ids):
            found: dict[str, Generation | None] = dict.fromkeys(ids)
            if not LIST_RESTS.resting(self.creatify_conn_id, base_url):
                try:
                    found = Generation.from_api_list(
                        ids, await self._aget(path, what, "aget_generations"), what
                    )
                except CreatifyAPIError as err:
                    LIST_RESTS.rest(self.creatify_conn_id, base_url, err)
            for generation_id in [i for i, generation in found.items() if generation is None]:
                with contextlib.suppress(CreatifyNotFoundError):  # 404: None
                    found[generation_id] = await read_one(fetch, self.creatify_conn_id, generation_id)
            result.update(found)
        return result

    async def _aget(self, path: str, what: str, method: str) -> Any:
        """One ``GET`` through the shared session, decoded (:func:`._http.decode`)."""
        status, body, retry_after = await self._fetch(method)(path, what)
        return decode(status, body, what, conn_id=self.creatify_conn_id, retry_after=retry_after)

    def _fetch(self, method: str) -> Fetch:
        """What sends one ``GET`` through the shared session (:data:`._batch.Fetch`), for ``method``."""
        session = self._asession
        if session is None:
            raise _outside(method)

        async def fetch(path: str, what: str) -> tuple[int, bytes, str | None]:
            creds = await self.acredentials()
            return await self.transport.get(session, creds, path, timeout=self.request_timeout, what=what)

        return fetch


def _outside(method: str) -> RuntimeError:
    return RuntimeError(f"CreatifyHook.{method} must be called inside 'async with hook:'.")
