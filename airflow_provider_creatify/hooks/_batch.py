"""Batched status reads (private): the waits of one event loop read their generations together.

A wait asks :meth:`StatusBatcher.read` for its generation's next read (in so many seconds) and awaits the
future it gets: its only timer and wake-up for the poll. The reads due in one window of the loop's clock
(:attr:`StatusBatcher.window`) are sent together at its end, one ``GET /api/asset_generator/?ids=...``
per 100 ids. Each wait gets its own generation back and applies its own rules
(:mod:`airflow_provider_creatify.polling`). A generation the batch did not return is read alone
(Creatify then answers 404, if it is gone). A list answer that cannot be used (an error, not a list,
``ids`` ignored) makes that batch's reads go alone, and the connection's reads go per id for
:data:`LIST_REST_SECONDS` (:class:`ListRests`) before a list is tried again.

An optimisation only: nothing here matters across processes, and nothing is held once no wait reads.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from airflow_provider_creatify.endpoints import GENERATIONS_PATH, MAX_IDS_PER_READ, generation_path
from airflow_provider_creatify.exceptions import CreatifyAPIError
from airflow_provider_creatify.generation import Generation
from airflow_provider_creatify.hooks._http import decode

#: Seconds a connection's reads go per id after a list answer that could not be used: then one is tried
#: again (one request a connection every five minutes, where the list endpoint is missing).
LIST_REST_SECONDS = 300.0

_log = logging.getLogger(__name__)

#: Sends one ``GET`` of a path: ``(status, body, Retry-After)``; ``what`` names it for messages.
Fetch = Callable[[str, str], Awaitable[tuple[int, bytes, "str | None"]]]
_T = TypeVar("_T")


def batches(generation_ids: Sequence[str]) -> list[tuple[list[str], str, str]]:
    """The ids (duplicates once) in reads of at most 100: ``(ids, path, what)`` for each.

    The query is ``ids=<id>,<id>,...``: anything but letters, digits, ``_.-~`` in an id is percent-encoded,
    except a comma (as in any comma-separated list, an id holding one reads as two).
    """
    ids = list(dict.fromkeys(generation_ids))
    chunks = [ids[i : i + MAX_IDS_PER_READ] for i in range(0, len(ids), MAX_IDS_PER_READ)]
    return [
        (
            chunk,
            f"{GENERATIONS_PATH}?ids={quote(','.join(chunk), safe=',')}",
            f"Reading {len(chunk)} Creatify generations",
        )
        for chunk in chunks
    ]


class ListRests:
    """The connections whose list endpoint rests in this process, and until when (monotonic seconds).

    The list endpoint (``GET /api/asset_generator/?ids=``) is not among the three documented ones: where
    it fails, or answers what cannot be used, reads go per id (the documented ``GET /{id}/``). It is tried
    again after :data:`LIST_REST_SECONDS`. The first rest of a connection is warned about, once.
    """

    def __init__(self) -> None:
        self._until: dict[tuple[str, str], float] = {}

    def resting(self, conn_id: str, base_url: str) -> bool:
        """Whether reads of this connection go per id now."""
        until = self._until.get((conn_id, base_url))
        return until is not None and time.monotonic() < until

    def rest(self, conn_id: str, base_url: str, err: CreatifyAPIError) -> None:
        """Read this connection's generations per id for :data:`LIST_REST_SECONDS`."""
        if (conn_id, base_url) not in self._until:
            _log.warning(
                "Creatify at %s gave a batched status read that cannot be used (%s). Reading each "
                "generation of Airflow connection %r alone (GET /api/asset_generator/<id>/), and trying a "
                "batched read again every %.0f s.",
                base_url,
                err,
                conn_id,
                LIST_REST_SECONDS,
            )
        self._until[(conn_id, base_url)] = time.monotonic() + LIST_REST_SECONDS


#: This process's record (the worker's reads and every event loop's share it).
LIST_RESTS = ListRests()


class StatusBatcher:
    """The batched reads of one connection in one event loop, for the waits that joined it.

    The transport makes it, and waits join and leave it through the transport. The transport hands it
    what it needs, so this module imports nothing of the transport's.

    :param fetch: sends one ``GET`` (through the loop's shared session).
    :param conn_id: the Airflow connection, for messages.
    :param base_url: the connection's base URL (with ``conn_id``, the key of :data:`LIST_RESTS`).
    :param key: the transport's key for this batcher.
    """

    #: Seconds of the loop's clock whose due reads go together, at its end: at most this much detection
    #: delay.
    window = 0.2

    def __init__(
        self,
        *,
        fetch: Fetch,
        conn_id: str,
        base_url: str,
        key: Hashable,
    ) -> None:
        self.fetch = fetch
        self.conn_id = conn_id
        self.base_url = base_url
        self.key = key
        #: The waits that joined (counted by the transport, which drops the batcher after the last).
        self.users = 0
        self._loop = asyncio.get_running_loop()
        #: The reads due in each window (numbered on the loop's clock), sent at its end.
        self._windows: dict[int, dict[str, list[asyncio.Future[Generation]]]] = {}
        self._requests: set[asyncio.Task[Any]] = set()

    def read(self, generation_id: str, after: float = 0.0) -> asyncio.Future[Generation]:
        """A future of the generation, read ``after`` seconds from now: in the batch of its :attr:`window`
        (the reads due in one window of the loop's clock share one timer and one request per 100 ids, at
        the window's end), or alone (not in the batch's answer, or lists resting). A plain future, awaited
        as it is: a triggerer makes thousands of reads a second, and this one future is all a wait-poll
        waits on. A wait cancelled meanwhile cancels it, and the batch skips it.

        :raises CreatifyAPIError: (from the future) the read failed.
        """
        if LIST_RESTS.resting(self.conn_id, self.base_url):
            return self._start(self._read_alone(generation_id, after))
        future: asyncio.Future[Generation] = self._loop.create_future()
        window = math.ceil((self._loop.time() + after) / self.window)
        due = self._windows.get(window)
        if due is None:
            due = self._windows[window] = {}
            self._loop.call_at(window * self.window, self._flush, window)
        waiting = due.get(generation_id)
        if waiting is None:
            due[generation_id] = [future]
        else:  # two waits on one generation in this loop
            waiting.append(future)
        return future

    def _start(self, request: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
        task = self._loop.create_task(request)
        self._requests.add(task)  # held until done: the loop keeps only weak references to tasks
        task.add_done_callback(self._requests.discard)
        return task

    def _flush(self, window: int) -> None:
        due = self._windows.pop(window)
        # the last request topped up with reads of the next window (at most one window early): full ones
        later = self._windows.get(window + 1, {})
        for generation_id in list(later)[: -len(due) % MAX_IDS_PER_READ]:
            due.setdefault(generation_id, []).extend(later.pop(generation_id))
        # an id whose only wait was cancelled is not asked for
        ids = [i for i, futures in due.items() if len(futures) > 1 or not futures[0].done()]
        if LIST_RESTS.resting(self.conn_id, self.base_url):  # since these reads were asked for
            for generation_id in ids:
                self._start(self._answer_alone(generation_id, due[generation_id]))
            return
        for chunk, path, what in batches(ids):
            self._start(self._answer({i: due[i] for i in chunk}, path, what))

    async def _answer(self, due: dict[str, list[asyncio.Future[Generation]]], path: str, what: str) -> None:
        try:
            status, body, retry_after = await self.fetch(path, what)
            data = decode(status, body, what, conn_id=self.conn_id, retry_after=retry_after)
            found = Generation.from_api_list(list(due), data, what)
        except CreatifyAPIError as err:  # each read alone instead; the list rests
            LIST_RESTS.rest(self.conn_id, self.base_url, err)
            found = dict.fromkeys(due)
        except BaseException as exc:  # cancelled (the loop is closing), or a bug: never leave a wait hanging
            for futures in due.values():
                _settle(futures, exc)
            raise
        for generation_id, futures in due.items():
            generation = found[generation_id]
            if generation is None:  # not in the answer: read alone (gone: Creatify answers 404)
                self._start(self._answer_alone(generation_id, futures))
            else:
                _resolve(futures, generation)

    async def _read_alone(self, generation_id: str, after: float) -> Generation:
        if after > 0:
            await asyncio.sleep(after)
        return await read_one(self.fetch, self.conn_id, generation_id)

    async def _answer_alone(self, generation_id: str, futures: list[asyncio.Future[Generation]]) -> None:
        if all(future.done() for future in futures):  # its waits were cancelled
            return
        try:
            generation = await self._read_alone(generation_id, 0.0)
        except BaseException as exc:
            _settle(futures, exc)
            if not isinstance(exc, Exception):
                raise
            return
        _resolve(futures, generation)


async def read_one(fetch: Fetch, conn_id: str, generation_id: str) -> Generation:
    """Read one generation alone through ``fetch``.

    :raises CreatifyAPIError: the read failed, or its answer is not a generation.
    """
    what = f"Reading Creatify generation {generation_id}"
    status, body, retry_after = await fetch(generation_path(generation_id), what)
    data = decode(status, body, what, conn_id=conn_id, retry_after=retry_after)
    return Generation.from_api(data, context=f"generation {generation_id}")


def _resolve(futures: list[asyncio.Future[Generation]], generation: Generation) -> None:
    """Hand ``generation`` to the waits still waiting on it."""
    for future in futures:
        if not future.done():
            future.set_result(generation)


def _settle(futures: list[asyncio.Future[Generation]], error: BaseException) -> None:
    """Fail the waits still waiting: with ``error``, or cancelled if it is a cancel (or an exit)."""
    for future in futures:
        if future.done():
            continue
        if isinstance(error, Exception):
            future.set_exception(error)
        else:
            future.cancel()
