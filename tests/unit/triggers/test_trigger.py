"""CreatifyGenerationTrigger: real asyncio against the sandbox over HTTP."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from airflow_provider_creatify.exceptions import CreatifyConfigError
from airflow_provider_creatify.generation import Generation
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.sandbox import FaultRule
from airflow_provider_creatify.triggers.creatify import CreatifyGenerationTrigger
from tests.helpers import FLUX, KLING, KLING_PARAMS, LIST_PATH, POST_PATH, UNKNOWN, events_of, only_event


def test_serialize_round_trip_holds_primitives_and_no_secret(creatify_conn, make_trigger):
    trigger = make_trigger("abc")
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_creatify.triggers.creatify.CreatifyGenerationTrigger"
    dumped = json.dumps(kwargs)  # primitives only
    assert creatify_conn.api_key not in dumped and creatify_conn.api_id not in dumped
    module, _, name = classpath.rpartition(".")
    clone = getattr(__import__(module, fromlist=[name]), name)(**kwargs)
    assert clone.serialize() == (classpath, kwargs)


async def test_done_yields_one_event_with_the_generation(creatify_conn, make_trigger):
    generation = CreatifyHook().create_generation(KLING, KLING_PARAMS)
    events = await events_of(make_trigger(generation.id))
    assert len(events) == 1
    event = events[0].payload
    assert event["status"] == "done" and event["generation_id"] == generation.id
    assert event["generation"]["assets"][0]["url"].startswith(creatify_conn.base_url)
    assert creatify_conn.count("POST", POST_PATH) == 1


async def test_a_list_answered_as_a_django_rest_framework_page_is_read(creatify_conn, make_trigger):
    creatify_conn.settings.list_pages = True
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    event = await only_event(make_trigger(generation.id))
    assert event["status"] == "done" and event["generation_id"] == generation.id
    assert creatify_conn.count("GET", LIST_PATH) >= 1  # read in a batch, not alone


async def test_failed_yields_failed(creatify_conn, make_trigger):
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "[sandbox:fail]"})
    event = await only_event(make_trigger(generation.id))
    assert event["status"] == "failed"
    assert event["generation"]["failed_reason"]


async def test_deadline_yields_timeout(creatify_conn, make_trigger):
    creatify_conn.settings.generation_seconds = 60
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "slow"})
    started = time.monotonic()
    event = await only_event(make_trigger(generation.id, seconds=0.5))
    assert event["status"] == "timeout" and event["last_status"] in ("initializing", "generating")
    assert time.monotonic() - started < 30  # ended by the deadline, long before the 60 s generation


@pytest.mark.parametrize(
    ("execution_in", "status"), [(0.5, "execution_timeout"), (60, "timeout")], ids=["first", "later"]
)
async def test_the_tries_execution_deadline_ends_the_wait_when_it_comes_first(
    creatify_conn, make_trigger, execution_in, status
):
    creatify_conn.settings.generation_seconds = 60
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "slow"})
    trigger = make_trigger(generation.id, seconds=1)
    trigger.execution_deadline = time.time() + execution_in
    started = time.monotonic()
    event = await only_event(trigger)
    assert event["status"] == status and event["last_status"] in ("initializing", "generating")
    assert time.monotonic() - started < 30  # ended by a deadline, long before the 60 s generation
    assert trigger.serialize()[1]["execution_deadline"] == trigger.execution_deadline


async def test_deadline_already_passed_still_reads_once(creatify_conn, make_trigger):
    """A triggerer restarted after the deadline does not restart the clock."""
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    creatify_conn.settings.generation_seconds = 60
    event = await only_event(make_trigger(generation.id, seconds=-10))
    assert event["status"] == "timeout"


async def test_unknown_status_is_never_success(creatify_conn, make_trigger):
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    creatify_conn.force_status(generation.id, "rejected")
    event = await only_event(make_trigger(generation.id, seconds=0.5))
    assert event["status"] == "timeout" and event["last_status"] == "rejected"


async def test_missing_generation_yields_error(creatify_conn, make_trigger):
    event = await only_event(make_trigger(UNKNOWN))
    assert event["status"] == "error" and "404" in event["message"]


async def test_missing_connection_yields_error(make_trigger, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_CREATIFY_DEFAULT", raising=False)
    event = await only_event(make_trigger("x"))
    assert event["status"] == "error" and "creatify_default" in event["message"]


async def test_waits_in_one_loop_share_one_http_session_closed_by_the_last(
    creatify_conn, make_trigger, monkeypatch
):
    sessions = []
    original = aiohttp.ClientSession.__init__

    def counting_init(self, *args, **kwargs):
        sessions.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "__init__", counting_init)
    wrong_key = json.loads(creatify_conn.connection_json()) | {"password": "not-the-key"}
    monkeypatch.setenv("AIRFLOW_CONN_CREATIFY_WRONG_KEY", json.dumps(wrong_key))
    creatify_conn.settings.generation_seconds = 1.0
    ids = [CreatifyHook().create_generation(FLUX, {"prompt": str(i)}).id for i in range(3)]
    wrong = make_trigger(ids[0], poll_interval=0.05, creatify_conn_id="creatify_wrong_key")
    triggers = [*(make_trigger(i, poll_interval=0.05) for i in ids), wrong]
    for trigger in triggers:  # the wrong key joins while the others wait (the last one out closes it)
        monkeypatch.setattr(trigger, "_first_poll_delay", lambda t=trigger: 0.3 if t is wrong else 0.0)

    results = await asyncio.gather(*(only_event(t) for t in triggers))

    assert [event["status"] for event in results] == ["done", "done", "done", "error"]
    assert "401" in results[-1]["message"]  # each request carries its own connection's key
    assert creatify_conn.count("GET", LIST_PATH) >= 5  # the reads of both connections, batched
    assert len(sessions) == 1 and sessions[0].closed
    assert CreatifyHook.transport.open_sessions() == 0


async def test_waits_starting_together_share_one_connection_lookup(creatify_conn, monkeypatch):
    from airflow.providers.common.compat import connection as compat

    lookups = []
    original = compat.get_async_connection

    async def counting_lookup(conn_id, *args, **kwargs):
        lookups.append(conn_id)
        await asyncio.sleep(0.05)  # in flight while the others start
        return await original(conn_id, *args, **kwargs)

    monkeypatch.setattr(compat, "get_async_connection", counting_lookup)
    monkeypatch.delenv("AIRFLOW_CONN_CREATIFY_MISSING", raising=False)

    together = await asyncio.gather(*(CreatifyHook().acredentials() for _ in range(50)))
    assert lookups == ["creatify_default"] and all(creds is together[0] for creds in together)
    assert together[0].base_url == creatify_conn.base_url
    missing = await asyncio.gather(
        *(CreatifyHook("creatify_missing").acredentials() for _ in range(3)), return_exceptions=True
    )
    assert lookups == ["creatify_default", "creatify_missing"]
    assert all(isinstance(e, CreatifyConfigError) and "creatify_missing" in str(e) for e in missing)
    await CreatifyHook().acredentials()  # answered a moment ago: shared (CreatifyHook.transport)
    assert len(lookups) == 2
    assert CreatifyHook.transport.lookups_in_flight() == 0


async def test_first_reads_of_waits_deferred_together_spread_over_min_poll_interval(
    creatify_conn, make_trigger
):
    creatify_conn.settings.generation_seconds = 0.0
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    triggers = [make_trigger(generation.id, poll_interval=10, min_poll_interval=1) for _ in range(20)]
    started = time.time()
    results = await asyncio.gather(*(only_event(t) for t in triggers))
    assert all(event["status"] == "done" for event in results)
    reads = [r.time - started for r in creatify_conn.requests if r.method == "GET" and r.path == LIST_PATH]
    assert 3 <= len(reads) <= 10  # one batched read per start slot that drew a wait: not one burst
    assert max(reads) - min(reads) > 0.3  # spread over the 0..1 s of start slots (a busy machine adds)


async def test_recreated_trigger_finishes_without_a_new_post(creatify_conn, make_trigger):
    generation = CreatifyHook().create_generation(KLING, KLING_PARAMS)
    _, kwargs = make_trigger(generation.id).serialize()
    event = await only_event(CreatifyGenerationTrigger(**kwargs))
    assert event["status"] == "done"
    assert creatify_conn.count("POST", POST_PATH) == 1


async def test_status_changes_are_logged_once_each(creatify_conn, make_trigger, capsys):
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    trigger = make_trigger(generation.id, poll_interval=0.05, last_status=generation.status)
    await events_of(trigger)
    logged = capsys.readouterr().out
    lines = [line for line in logged.splitlines() if generation.id in line]
    # the status the task deferred with, and done (the task says so, with assets and credits), not again
    assert [line for line in lines if " is " in line] == [line for line in lines if "is generating" in line]
    assert sum("is generating" in line for line in lines) == 1
    assert creatify_conn.api_key not in logged


async def test_on_kill_only_says_the_generation_goes_on(creatify_conn, make_trigger, capfd):
    await make_trigger("g-1").on_kill()  # Airflow 3.3+: task killed or cleared, or the trigger moved
    out = capfd.readouterr().out
    assert "Stopped waiting on Creatify generation g-1" in out and "Creatify has no cancel" in out
    assert creatify_conn.count() == 0  # no request: there is nothing to cancel


async def test_the_event_carries_no_signed_url_of_the_input(creatify_conn, make_trigger):
    signed = "https://bucket.example.com/in.png?X-Amz-Signature=SECRET-SIG"
    hook = CreatifyHook()
    generation = hook.create_generation(
        KLING,
        {**KLING_PARAMS, "image_url": signed},
        webhook_url="https://hooks.example.com/x?token=SECRET-TOKEN",
    )
    event = await only_event(make_trigger(generation.id))
    dumped = json.dumps(event)  # what Airflow stores in next_kwargs and logs as the fired event
    assert "SECRET" not in dumped and "input_params" not in dumped and "webhook_url" not in dumped
    assert event["generation"]["input_urls"] == ["https://bucket.example.com/in.png"]
    resumed = Generation.from_api(event["generation"])  # what the worker finishes with
    assert resumed.asset_urls and resumed.input_urls == ["https://bucket.example.com/in.png"]
    assert resumed.credits_used == hook.get_generation(generation.id).credits_used


async def test_an_echoed_key_never_reaches_the_triggers_event(creatify_conn, make_trigger):
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    body = json.dumps({"detail": f"invalid API key {creatify_conn.api_key} for {creatify_conn.api_id}"})
    creatify_conn.add_fault(FaultRule(status=400, body=body.encode()))  # an API echoing the key
    event = await only_event(make_trigger(generation.id))
    dumped = json.dumps(event)
    assert event["status"] == "error" and "invalid API key ***" in dumped
    assert creatify_conn.api_key not in dumped and creatify_conn.api_id not in dumped
