"""Batched status reads (private): the waits of one event loop read their generations together.

A wait asks :meth:`StatusBatcher.read` for its generation's next read (in so many seconds) and awaits the
future it gets: its only timer and wake-up for the poll. The reads due in one window of the loop's clock
(:attr:`StatusBatcher.window`) are sent together at its end, one ``GET /api/asset_generator/?ids=...``
per 100 ids. Each wait gets its own generation back and applies its own rules
(:mod:`airflow_provider_creatify.polling`). A generation the batch did not return is read alone
(Creatify then answers 404, if it is gone); once the list endpoint is refused for a connection, its reads
are per id.

An optimisation only: nothing here matters across processes, and nothing is held once no wait reads.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from airflow_provider_creatify.endpoints import GENERATIONS_PATH, MAX_IDS_PER_READ, generation_path
from airflow_provider_creatify.exceptions import CreatifyAPIError
from airflow_provider_creatify.generation import Generation
from airflow_provider_creatify.hooks._http import decode

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


def list_refused(err: CreatifyAPIError) -> bool:
    """Whether an error says the list endpoint (or its ``ids``) is not there for us: read per id instead."""
    return err.http_status in (404, 405) or (err.http_status == 400 and "ids" in err.body.lower())


def for_one(err: CreatifyAPIError, what: str, generation_id: str, batch_size: int) -> CreatifyAPIError:
    """``err`` of a batch as the error of one of its waits: its message names that generation."""
    one = f"Reading Creatify generation {generation_id}" + (
        f" (in a read of {batch_size})" if batch_size > 1 else ""
    )
    return type(err)(
        str(err).replace(what, one, 1),
        http_status=err.http_status,
        body=err.body,
        retry_after=err.retry_after,
        request_sent=err.request_sent,
        transient=err.is_transient,
    )


class StatusBatcher:
    """The batched reads of one connection in one event loop, for the waits that joined it (made, joined and
    left through the transport, which hands it what it needs: this module imports nothing of the
    transport's).

    :param fetch: sends one ``GET`` (through the loop's shared session).
    :param conn_id: the Airflow connection, for messages.
    :param key: the transport's key for this batcher.
    :param on_lists_refused: called with the error when the list endpoint is refused (reads go per id).
    :param per_id: read each generation alone from the start (the list endpoint was refused before).
    """

    #: Seconds of the loop's clock whose due reads go together, at its end: at most this much detection
    #: delay.
    window = 0.2

    def __init__(
        self,
        *,
        fetch: Fetch,
        conn_id: str,
        key: Hashable,
        on_lists_refused: Callable[[CreatifyAPIError], None],
        per_id: bool = False,
    ) -> None:
        self.fetch = fetch
        self.conn_id = conn_id
        self.key = key
        self.on_lists_refused = on_lists_refused
        self.per_id = per_id
        #: The waits that joined (counted by the transport, which drops the batcher after the last).
        self.users = 0
        self._loop = asyncio.get_running_loop()
        #: The reads due in each window (numbered on the loop's clock), sent at its end.
        self._windows: dict[int, dict[str, list[asyncio.Future[Generation]]]] = {}
        self._requests: set[asyncio.Task[Any]] = set()

    def read(self, generation_id: str, after: float = 0.0) -> asyncio.Future[Generation]:
        """A future of the generation, read ``after`` seconds from now: in the batch of its :attr:`window`
        (the reads due in one window of the loop's clock share one timer and one request per 100 ids, at
        the window's end), or alone (not in the batch's answer, or lists refused). A plain future, awaited
        as it is: a triggerer makes thousands of reads a second, and this one future is all a wait-poll
        waits on. A wait cancelled meanwhile cancels it, and the batch skips it.

        :raises CreatifyAPIError: (from the future) the read failed.
        """
        if self.per_id:
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
        if self.per_id:  # lists refused since these reads were asked for
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
        except CreatifyAPIError as err:
            if not list_refused(err):
                for generation_id, futures in due.items():
                    _settle(futures, for_one(err, what, generation_id, len(due)))
                return
            self.per_id = True
            self.on_lists_refused(err)
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
