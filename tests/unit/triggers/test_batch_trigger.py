"""CreatifyBatchTrigger: the batch's running ids from its journal, read 100 a request, one small event."""

from __future__ import annotations

import time

from airflow_provider_creatify.batch.journal import BatchState
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.sandbox import FaultRule, SandboxSettings
from airflow_provider_creatify.triggers.batch import CreatifyBatchTrigger
from tests.helpers import FLUX, LIST_PATH, only_event


def journal_of(folder: str, count: int) -> list[str]:
    """A journal of ``count`` created items (their generations made on the sandbox); their ids."""
    state, hook, ids = BatchState(output_path=folder), CreatifyHook(), []
    for n in range(count):
        state.intend(f"k{n}", f"fingerprint-{n}", time.time())
        ids.append(hook.create_generation(FLUX, {"prompt": f"batch {n}"}).id)
        state.created(f"k{n}", ids[-1])
    state.flush()
    return ids


def a_trigger(folder: str, **kwargs) -> CreatifyBatchTrigger:
    return CreatifyBatchTrigger(output_path=folder, poll_interval=0.2, **kwargs)


async def test_it_ends_once_every_generation_finished_reading_them_together(creatify_conn, tmp_path):
    journal_of(f"file://{tmp_path}/", 150)
    event = await only_event(a_trigger(f"file://{tmp_path}/"))
    assert event == {"status": "finished", "output_path": f"file://{tmp_path}/", "running": 0}
    reads = creatify_conn.count("GET", LIST_PATH)
    assert reads >= 2  # 150 ids: two requests for the first poll
    assert creatify_conn.count("GET") == reads  # no id read alone


async def test_it_wakes_the_worker_once_enough_slots_are_free(creatify_conn, tmp_path):
    ids = journal_of(f"file://{tmp_path}/", 3)
    creatify_conn.settings = SandboxSettings(generation_seconds=60.0)
    journal = BatchState(output_path=f"file://{tmp_path}/")
    slow = CreatifyHook().create_generation(FLUX, {"prompt": "slow"}).id
    journal.intend("slow", "fingerprint-slow", time.time())
    journal.created("slow", slow)
    journal.flush()
    event = await only_event(a_trigger(f"file://{tmp_path}/", wake_after=len(ids)))
    assert (event["status"], event["running"]) == ("slots", 1)


async def test_a_generation_past_its_deadline_stops_being_waited_on(creatify_conn, tmp_path):
    creatify_conn.settings = SandboxSettings(generation_seconds=60.0)
    journal_of(f"file://{tmp_path}/", 2)
    started = time.monotonic()
    event = await only_event(a_trigger(f"file://{tmp_path}/", timeout=0.5))
    assert event["status"] == "finished" and time.monotonic() - started < 5


async def test_a_refusal_ends_the_wait_with_an_error_event(creatify_conn, tmp_path):
    journal_of(f"file://{tmp_path}/", 1)
    creatify_conn.settings = SandboxSettings(generation_seconds=60.0)
    creatify_conn.add_fault(FaultRule(method="GET", status=401))
    event = await only_event(a_trigger(f"file://{tmp_path}/"))
    assert event["status"] == "error" and "401" in event["message"]
    assert creatify_conn.api_key not in event["message"]


async def test_the_execution_deadline_ends_the_wait(creatify_conn, tmp_path):
    creatify_conn.settings = SandboxSettings(generation_seconds=60.0)
    journal_of(f"file://{tmp_path}/", 1)
    event = await only_event(a_trigger(f"file://{tmp_path}/", execution_deadline=time.time() + 0.3))
    assert (event["status"], event["running"]) == ("execution_timeout", 1)


async def test_failing_reads_of_some_ids_only_delay_those(creatify_conn, tmp_path):
    creatify_conn.settings = SandboxSettings(generation_seconds=2.0)  # read while they run, several times
    journal_of(f"file://{tmp_path}/", 120)
    # the first poll's list reads fail, then the ids read alone after them: lists and single reads alike
    creatify_conn.add_fault(FaultRule(method="GET", status=503, count=6))
    event = await only_event(a_trigger(f"file://{tmp_path}/"))
    assert event["status"] == "finished"
    assert creatify_conn.count("GET", status=503) == 6


async def test_without_the_list_endpoint_each_id_is_read_alone(creatify_conn, tmp_path):
    ids = journal_of(f"file://{tmp_path}/", 3)
    creatify_conn.settings = SandboxSettings(generation_seconds=1.0, list_status=404)
    event = await only_event(a_trigger(f"file://{tmp_path}/"))
    assert event["status"] == "finished"
    assert all(creatify_conn.count("GET", f"{LIST_PATH}{generation_id}/") for generation_id in ids)


async def test_a_generation_creatify_no_longer_has_stops_being_waited_on(creatify_conn, tmp_path):
    journal = BatchState(output_path=f"file://{tmp_path}/")
    journal.intend("k", "fingerprint", time.time())
    journal.created("k", "00000000-0000-0000-0000-000000000000")
    journal.flush()
    event = await only_event(a_trigger(f"file://{tmp_path}/"))
    assert event == {"status": "finished", "output_path": f"file://{tmp_path}/", "running": 0}
