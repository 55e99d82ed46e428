"""Batched status reads (private): the waits of one event loop read their generations together.

A wait asks :meth:`StatusBatcher.read` for its generation when it is due and awaits the future it gets;
the batcher gathers the reads asked for within :attr:`StatusBatcher.window` seconds (or until 100 ids are
waiting) and answers them with one ``GET /api/asset_generator/?ids=...`` per 100 ids. Each wait gets its
own generation back and applies its own rules (:mod:`airflow_provider_creatify.polling`). ``None`` means
"read it alone": the batch did not return it (Creatify then answers 404 for a read of it alone, if it is
gone), or the list endpoint was refused for this connection, after which its reads are per id.

An optimisation only: nothing here matters across processes, and nothing is held once no wait reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from urllib.parse import quote

from airflow_provider_creatify.endpoints import GENERATIONS_PATH, MAX_IDS_PER_READ
from airflow_provider_creatify.exceptions import CreatifyAPIError
from airflow_provider_creatify.generation import Generation
from airflow_provider_creatify.hooks._http import decode

#: Sends one ``GET`` of a path: ``(status, body, Retry-After)``; ``what`` names it for messages.
Fetch = Callable[[str, str], Awaitable[tuple[int, bytes, "str | None"]]]


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
    """The batched reads of one connection in one event loop (made and dropped by the transport, which
    hands it what it needs: this module imports nothing of the transport's).

    :param fetch: sends one ``GET`` (through the loop's shared session).
    :param conn_id: the Airflow connection, for messages.
    :param key: the transport's key for this batcher.
    :param on_idle: called with the batcher once no read waits and no request is under way.
    :param on_lists_refused: called with the error when the list endpoint is refused (reads go per id).
    """

    #: Seconds a read waits for others to join its request: at most this much detection delay.
    window = 0.2

    def __init__(
        self,
        *,
        fetch: Fetch,
        conn_id: str,
        key: Hashable,
        on_idle: Callable[[StatusBatcher], None],
        on_lists_refused: Callable[[CreatifyAPIError], None],
    ) -> None:
        self.fetch = fetch
        self.conn_id = conn_id
        self.key = key
        self.on_idle = on_idle
        self.on_lists_refused = on_lists_refused
        self._loop = asyncio.get_running_loop()
        self._due: dict[str, list[asyncio.Future[Generation | None]]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    @property
    def idle(self) -> bool:
        """No read waiting and no request under way."""
        return not self._due and not self._in_flight

    def read(self, generation_id: str) -> asyncio.Future[Generation | None]:
        """A future of the generation from the next batch; ``None``: read it alone. A plain future (a
        read is one of thousands a second in a triggerer): a wait cancelled meanwhile cancels it, and the
        batch skips it.

        :raises CreatifyAPIError: (from the future) the batch's request failed.
        """
        future: asyncio.Future[Generation | None] = self._loop.create_future()
        waiting = self._due.get(generation_id)
        if waiting is None:
            self._due[generation_id] = [future]
        else:  # two waits on one generation in this loop
            waiting.append(future)
        if len(self._due) >= MAX_IDS_PER_READ:
            self._flush()
        elif self._timer is None:
            self._timer = self._loop.call_later(self.window, self._flush)
        return future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        due, self._due = self._due, {}
        # an id whose only wait was cancelled is not asked for
        ids = [i for i, futures in due.items() if len(futures) > 1 or not futures[0].done()]
        for chunk, path, what in batches(ids):
            task = self._loop.create_task(self._answer({i: due[i] for i in chunk}, path, what))
            self._in_flight.add(task)
            task.add_done_callback(self._done)
        if not ids:
            self.on_idle(self)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self.on_idle(self)

    async def _answer(
        self, due: dict[str, list[asyncio.Future[Generation | None]]], path: str, what: str
    ) -> None:
        try:
            found = await self._get(list(due), path, what)
        except CreatifyAPIError as err:
            if not list_refused(err):
                _settle(due, {i: for_one(err, what, i, len(due)) for i in due})
                return
            self.on_lists_refused(err)
            found = dict.fromkeys(due)
        except BaseException as exc:  # cancelled (the loop is closing), or a bug: never leave a wait hanging
            _settle(due, dict.fromkeys(due, exc))
            raise
        _settle(due, found)

    async def _get(self, ids: list[str], path: str, what: str) -> dict[str, Generation | None]:
        status, body, retry_after = await self.fetch(path, what)
        data = decode(status, body, what, conn_id=self.conn_id, retry_after=retry_after)
        return Generation.from_api_list(ids, data, what)


def _settle(
    due: dict[str, list[asyncio.Future[Generation | None]]],
    outcomes: Mapping[str, Generation | BaseException | None],
) -> None:
    """Settle each wait still waiting with its id's outcome: a result, an error, or (cancelled) a cancel."""
    for generation_id, futures in due.items():
        answer = outcomes.get(generation_id)
        for future in futures:
            if future.done():
                continue
            if isinstance(answer, Exception):
                future.set_exception(answer)
            elif isinstance(answer, BaseException):
                future.cancel()
            else:
                future.set_result(answer)
