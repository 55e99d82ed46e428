"""The trigger rides out transient errors and ends after a bounded run of them."""

from __future__ import annotations

import asyncio

from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.polling import GenerationWait
from airflow_provider_creatify.sandbox import FaultRule
from tests.helpers import FLUX, LIST_PATH, STATUS_PATH, only_event


async def test_trigger_rides_out_transient_errors(creatify_conn, make_trigger):
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    for rule in (  # on any read: the batched one first (then it rests), then the reads alone
        FaultRule(method="GET", status=502, count=2),
        FaultRule(method="GET", drop=True, count=1),
        FaultRule(method="GET", status=429, retry_after=0.1, count=1),
        FaultRule(method="GET", body=b"<html>", count=1),
    ):
        creatify_conn.add_fault(rule)
    event = await only_event(make_trigger(generation.id, poll_interval=0.05))
    assert event["status"] == "done"
    assert (
        creatify_conn.count("GET", LIST_PATH) == 1
        and creatify_conn.count("GET", STATUS_PATH, status=200) >= 1
    )


async def test_trigger_ends_after_a_bounded_run_of_errors(creatify_conn, make_trigger, monkeypatch):
    monkeypatch.setattr(GenerationWait, "max_consecutive_errors", 4)
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    creatify_conn.add_fault(FaultRule(method="GET", status=503))
    event = await only_event(make_trigger(generation.id, poll_interval=0.05))
    assert event["status"] == "error" and "4 reads in a row failed" in event["message"]
    assert generation.id in event["message"]
    assert creatify_conn.count("GET", LIST_PATH) == 1 and creatify_conn.count("GET", STATUS_PATH) == 4


async def test_trigger_error_streak_resets_on_success(creatify_conn, make_trigger, monkeypatch):
    """Two runs of two errors, a success between them: never three in a row, so the wait goes on."""
    monkeypatch.setattr(GenerationWait, "max_consecutive_errors", 3)
    creatify_conn.settings.generation_seconds = 1.5
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    creatify_conn.add_fault(FaultRule(path=STATUS_PATH, method="GET", status=503, count=2))
    creatify_conn.add_fault(FaultRule(path=LIST_PATH, method="GET", status=503, count=1))  # then per id

    async def second_run_after_a_success():
        while creatify_conn.count("GET", STATUS_PATH, status=200) == 0:
            await asyncio.sleep(0.01)
        creatify_conn.add_fault(FaultRule(path=STATUS_PATH, method="GET", status=503, count=2))

    injector = asyncio.ensure_future(second_run_after_a_success())
    event = await only_event(make_trigger(generation.id, poll_interval=0.05))
    await injector
    assert event["status"] == "done"
    assert creatify_conn.count("GET", STATUS_PATH, status=503) == 4
