"""Batched status reads: the waits of one triggerer on one connection share a request per 100 ids."""

from __future__ import annotations

import asyncio
import json

import pytest

from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.sandbox import FaultRule
from tests.helpers import LIST_PATH, STATUS_PATH, UNKNOWN, create_generations, only_event

EVERY_300_MS = {"poll_interval": 0.3, "min_poll_interval": 0.3}  # fixed polling: reads due together


@pytest.fixture
def wait_all(make_trigger):
    """``await wait_all(ids, conn_id)``: the events of a wait on each id, all at once, reading every 0.3 s."""

    async def wait(ids: list[str], conn_id: str = "creatify_default") -> list[dict]:
        triggers = [make_trigger(i, creatify_conn_id=conn_id, **EVERY_300_MS) for i in ids]
        return await asyncio.gather(*(only_event(t) for t in triggers))

    return wait


def list_reads(sandbox, status: int | None = None) -> int:
    return sandbox.count("GET", LIST_PATH, status=status)


async def test_many_waits_read_in_few_requests(creatify_conn, wait_all):
    creatify_conn.settings.generation_seconds = 1.5
    ids = await asyncio.to_thread(create_generations, 150)

    events = await wait_all(ids)

    assert [e["status"] for e in events] == ["done"] * 150
    assert [e["generation_id"] for e in events] == ids
    assert creatify_conn.count("GET", STATUS_PATH) == 0  # no read of one id alone
    wait_polls = 150 * 4  # each wait reads about every 0.3 s for 1.5 s (and more, spread over 0.3 s)
    assert 3 <= list_reads(creatify_conn) < wait_polls / 10
    assert CreatifyHook.transport.open_batchers() == 0 and CreatifyHook.transport.open_sessions() == 0


async def test_waits_on_other_connections_read_in_their_own_batches(creatify_conn, wait_all, monkeypatch):
    wrong_key = json.loads(creatify_conn.connection_json()) | {"password": "not-the-key"}
    monkeypatch.setenv("AIRFLOW_CONN_CREATIFY_WRONG_KEY", json.dumps(wrong_key))
    ids = await asyncio.to_thread(create_generations, 4)

    good, bad = await asyncio.gather(wait_all(ids[:3]), wait_all(ids[3:], "creatify_wrong_key"))

    assert [e["status"] for e in good] == ["done"] * 3
    (refused,) = bad
    assert refused["status"] == "error" and "401" in refused["message"]
    assert "creatify_wrong_key" in refused["message"]


async def test_an_id_missing_from_the_batch_is_read_alone(creatify_conn, wait_all):
    ids = await asyncio.to_thread(create_generations, 2)

    *done, missing = await wait_all([*ids, UNKNOWN])

    assert [e["status"] for e in done] == ["done", "done"]
    assert missing["status"] == "error" and "404" in missing["message"]
    assert creatify_conn.count("GET", STATUS_PATH) == 1  # only the missing one, once


@pytest.mark.parametrize(
    "unusable",
    [
        FaultRule(path=LIST_PATH, method="GET", status=405),
        FaultRule(path=LIST_PATH, method="GET", status=404),
        FaultRule(path=LIST_PATH, method="GET", status=502),  # an HTML page from a proxy
        FaultRule(path=LIST_PATH, method="GET", status=500),
        FaultRule(path=LIST_PATH, method="GET", body=b'{"detail": "not a list"}'),
        FaultRule(path=LIST_PATH, method="GET", body=b"<html>maintenance</html>"),
    ],
    ids=["405", "404", "502", "500", "not-a-list", "html-200"],
)
async def test_a_list_answer_that_cannot_be_used_means_reads_alone_and_a_rest(
    creatify_conn, wait_all, caplog, unusable
):
    creatify_conn.add_fault(unusable)
    ids = await asyncio.to_thread(create_generations, 3)

    events = await wait_all(ids)

    assert [e["status"] for e in events] == ["done"] * 3  # what GET /{id}/ finishes, finishes
    assert list_reads(creatify_conn) == 1  # tried once, then resting (LIST_REST_SECONDS)
    assert creatify_conn.count("GET", STATUS_PATH) >= 3
    assert caplog.text.count("Reading each generation of Airflow connection 'creatify_default' alone") == 1


async def test_a_list_that_ignores_ids_is_not_used(creatify_conn, wait_all):
    creatify_conn.settings.list_ignores_ids = True
    ids = await asyncio.to_thread(create_generations, 3)
    await asyncio.to_thread(create_generations, 2)  # newer: the page a list ignoring ids answers

    events = await wait_all(ids)

    assert [e["status"] for e in events] == ["done"] * 3
    assert list_reads(creatify_conn) == 1


async def test_a_resting_list_is_tried_again_later(creatify_conn, wait_all, monkeypatch):
    monkeypatch.setattr("airflow_provider_creatify.hooks._batch.LIST_REST_SECONDS", 0.5)
    creatify_conn.add_fault(FaultRule(path=LIST_PATH, method="GET", status=503, count=1))
    creatify_conn.settings.generation_seconds = 2.0
    ids = await asyncio.to_thread(create_generations, 3)

    events = await wait_all(ids)

    assert [e["status"] for e in events] == ["done"] * 3
    assert list_reads(creatify_conn, status=503) == 1 and list_reads(creatify_conn, status=200) >= 1


async def test_cancelled_waits_leave_the_reader_consistent(creatify_conn, make_trigger):
    creatify_conn.settings.generation_seconds = 1.5
    ids = await asyncio.to_thread(create_generations, 10)
    tasks = [asyncio.ensure_future(only_event(make_trigger(i, **EVERY_300_MS))) for i in ids]
    await asyncio.sleep(0.5)  # some reads are waiting for their batch, some are in flight

    for task in tasks[:5]:  # triggerer shutdown, task cleared, trigger reassigned
        task.cancel()
    events = await asyncio.gather(*tasks[5:])

    assert [e["status"] for e in events] == ["done"] * 5
    assert all(task.cancelled() for task in tasks[:5])
    assert CreatifyHook.transport.open_batchers() == 0 and CreatifyHook.transport.open_sessions() == 0
