"""StatusBatcher: reads due in one window of the loop's clock go together, and fill their requests."""

from __future__ import annotations

import asyncio
import json
from contextlib import AbstractContextManager
from unittest import mock
from urllib.parse import unquote

from airflow_provider_creatify.hooks._batch import StatusBatcher


def batcher_of(paths: list[str]) -> StatusBatcher:
    """A batcher whose requests are recorded in ``paths`` and answered with each id asked for, running."""

    async def fetch(path: str, what: str) -> tuple[int, bytes, str | None]:
        paths.append(path)
        ids = unquote(path.partition("ids=")[2]).split(",")
        return 200, json.dumps([{"id": i, "status": "generating"} for i in ids]).encode(), None

    return StatusBatcher(fetch=fetch, conn_id="creatify_default", base_url="http://127.0.0.1:1", key="k")


def at_one_moment(loop: asyncio.AbstractEventLoop) -> AbstractContextManager[object]:
    """The loop's clock stopped while reads are asked for: a busy machine cannot spread them over two
    windows."""
    return mock.patch.object(loop, "time", return_value=loop.time())


async def test_reads_due_in_one_window_share_a_request_and_none_is_read_before_it_is_due():
    paths: list[str] = []
    batcher, loop = batcher_of(paths), asyncio.get_running_loop()
    asked = loop.time()
    with at_one_moment(loop):
        now = [batcher.read(f"a{i}") for i in range(3)]
        later = batcher.read("b", after=1.0)

    assert [g.id for g in await asyncio.gather(*now)] == ["a0", "a1", "a2"]
    assert len(paths) == 1 and not later.done()
    assert (await later).id == "b" and loop.time() - asked >= 1.0
    assert len(paths) == 2


async def test_the_last_request_of_a_window_is_filled_with_reads_of_the_next():
    paths: list[str] = []
    batcher = batcher_of(paths)
    window = StatusBatcher.window
    with at_one_moment(asyncio.get_running_loop()):
        first = [batcher.read(f"a{i}") for i in range(150)]
        second = [batcher.read(f"b{i}", after=window) for i in range(80)]

    await asyncio.gather(*first, *second)

    # 230 reads in 3 requests (100, 100 with 50 of the next window, 30), not 4 (100, 50, 80)
    assert [unquote(p).count(",") + 1 for p in paths] == [100, 100, 30]
