"""Ending a task in the triggerer: the worker's XComs go through the triggerer's comms, then TaskSuccessEvent.

The comms to the triggerer's supervisor (``SUPERVISOR_COMMS``, set by Airflow in a triggerer) are replaced
by a recorder: everything above it (the trigger, Airflow's ``XCom.aset`` or our 3.1 equivalent, the
``SetXCom`` message) is the real code. What Airflow then does with the messages and the event is shown
through a real scheduler and triggerer in ``tests/benchmarks/test_benchmark_airflow_e2e.py``.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import pytest
from airflow.triggers.base import TaskSuccessEvent

from airflow_provider_creatify.generation import Generation
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.triggers.creatify import CreatifyGenerationTrigger
from tests.helpers import FLUX, events_of, finished_generation

if TYPE_CHECKING:
    from airflow.models.taskinstance import TaskInstance

TI = SimpleNamespace(dag_id="nightly", task_id="image", run_id="manual__1", map_index=4, try_number=1)


class RecordingComms:
    """Stands in for the triggerer's comms to its supervisor: records each XCom it is sent (or fails)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []  # the SetXCom messages
        self.error: Exception | None = None
        self.answer_after = 1  # answer none until this many have been sent (5 s at most)

    async def asend(self, message: Any) -> None:
        if type(message).__name__ != "SetXCom":  # Airflow 3.3 also sends MaskSecret for the API key
            return
        if self.error:
            raise self.error
        self.messages.append(message)
        await asyncio.wait_for(self._sent(self.answer_after), timeout=5)

    async def _sent(self, count: int) -> None:
        while len(self.messages) < count:
            await asyncio.sleep(0.001)


@pytest.fixture
def comms(monkeypatch) -> RecordingComms:
    from airflow.sdk.execution_time import task_runner

    recorder = RecordingComms()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", recorder, raising=False)
    return recorder


@pytest.fixture
def ending_trigger(make_trigger):
    """``ending_trigger(generation_id, *, task_instance=TI, **kwargs)``: ``end_from_trigger`` on, and the task
    instance Airflow's triggerer sets."""

    def make(generation_id: str, *, task_instance: Any = TI, **kwargs: Any) -> CreatifyGenerationTrigger:
        trigger = make_trigger(generation_id, **{"end_from_trigger": True, **kwargs})
        trigger.task_instance = task_instance
        return trigger

    return make


async def test_done_pushes_the_workers_xcoms_then_ends_the_task(creatify_conn, ending_trigger, comms, capfd):
    generation = finished_generation()
    (event,) = await events_of(ending_trigger(generation.id))

    assert isinstance(event, TaskSuccessEvent) and not event.xcoms
    pushed = {m.key: m.value for m in comms.messages}
    urls = generation.asset_urls
    assert pushed == {
        "return_value": urls,
        "asset_urls": urls,
        "assets": generation.assets,
        "credits_used": generation.credits_used,
        "_link_CreatifyAssetLink": urls[0],
    }
    for message in comms.messages:
        assert (message.dag_id, message.task_id, message.run_id, message.map_index) == (
            "nightly",
            "image",
            "manual__1",
            4,
        )
    assert "the task ends here, in the triggerer" in capfd.readouterr().out


async def test_the_xcoms_are_in_flight_together(creatify_conn, ending_trigger, comms):
    # the trigger waits one round trip, not five: no answer comes before all five are sent (Airflow
    # 3.3's comms let them go together; 3.1's lock sends them one at a time whatever the trigger does)
    comms.answer_after = 5
    (event,) = await events_of(ending_trigger(finished_generation().id))

    assert isinstance(event, TaskSuccessEvent) and len(comms.messages) == 5


async def test_xcoms_not_pushed_means_a_worker_finishes_the_task(creatify_conn, ending_trigger, comms, capfd):
    comms.error = ConnectionResetError("supervisor gone")
    generation = finished_generation()
    (event,) = await events_of(ending_trigger(generation.id))

    assert not isinstance(event, TaskSuccessEvent)
    assert event.payload["status"] == "done" and event.payload["generation"]["id"] == generation.id
    assert "a worker finishes the task" in capfd.readouterr().out


@pytest.mark.parametrize(
    "case",
    ["switched off", "dag.test() (no task instance)", "failed"],
)
async def test_other_ends_resume_the_task_in_a_worker(creatify_conn, ending_trigger, comms, case):
    prompt = "[sandbox:fail]" if case == "failed" else "x"
    generation = finished_generation(FLUX, {"prompt": prompt})
    cases: dict[str, dict[str, Any]] = {
        "switched off": {"end_from_trigger": False},
        "dag.test() (no task instance)": {"task_instance": None},
        "failed": {},
    }
    kwargs = cases[case]
    (event,) = await events_of(ending_trigger(generation.id, **kwargs))

    assert not isinstance(event, TaskSuccessEvent)
    assert event.payload["status"] == ("failed" if case == "failed" else "done")
    assert comms.messages == []


async def test_done_without_an_asset_url_resumes_the_task_to_fail_it(creatify_conn, comms):
    class NoAssets(CreatifyGenerationTrigger):
        async def _read(self, hook: CreatifyHook, after: float) -> Generation:  # never from the sandbox
            return Generation.from_api({"id": self.generation_id, "status": "done", "assets": []})

    trigger = NoAssets(generation_id="g1", deadline=time.time() + 30, end_from_trigger=True)
    trigger.task_instance = cast("TaskInstance", TI)  # a stand-in: the four fields an XCom is keyed by
    (event,) = await events_of(trigger)

    assert not isinstance(event, TaskSuccessEvent) and event.payload["status"] == "done"
    assert comms.messages == []


def test_end_from_trigger_is_a_stored_kwarg_off_by_default(ending_trigger):
    trigger = CreatifyGenerationTrigger(generation_id="g1", deadline=1.0)
    assert trigger.serialize()[1]["end_from_trigger"] is False  # triggers stored before it: resume
    assert ending_trigger("g1").serialize()[1]["end_from_trigger"] is True
