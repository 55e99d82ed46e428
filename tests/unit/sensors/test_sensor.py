"""CreatifyGenerationSensor branches, against the sandbox over real HTTP."""

from __future__ import annotations

import time

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException, TaskDeferred
from airflow.sdk import PokeReturnValue

from airflow_provider_creatify.exceptions import (
    CreatifyError,
    CreatifyGenerationFailed,
    CreatifyNotFoundError,
)
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.polling import GenerationWait
from airflow_provider_creatify.sandbox import FaultRule
from airflow_provider_creatify.sensors.creatify import CreatifyGenerationSensor
from tests.helpers import (
    FLUX,
    STATUS_PATH,
    FakeStateStore,
    finished_generation,
    make_context,
    pushed,
    wait_until_finished,
)


def test_template_fields():
    assert set(CreatifyGenerationSensor.template_fields) == {"generation_id", "creatify_conn_id"}


def test_poke_false_while_running_then_returns_urls(creatify_conn):
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})  # takes 1 s in the sandbox
    sensor = CreatifyGenerationSensor(task_id="wait", generation_id=generation.id)
    context = make_context()
    assert sensor.poke(context) is False
    wait_until_finished(generation.id)
    result = sensor.poke(context)
    assert isinstance(result, PokeReturnValue) and result.is_done
    assert result.xcom_value == pushed(context)["asset_urls"] and result.xcom_value


def test_poke_failed_raises_with_reason(creatify_conn):
    generation = finished_generation(FLUX, {"prompt": "[sandbox:fail]"})
    with pytest.raises(CreatifyGenerationFailed, match=generation.id):
        CreatifyGenerationSensor(task_id="wait", generation_id=generation.id).poke(make_context())


def test_deferrable_already_done_finishes_without_deferring(creatify_conn):
    generation = finished_generation()
    context = make_context()
    sensor = CreatifyGenerationSensor(task_id="wait", generation_id=generation.id, deferrable=True)
    assert sensor.execute(context) == pushed(context)["asset_urls"]


def test_deferrable_running_defers_with_sensor_timeout_and_interval(creatify_conn):
    creatify_conn.settings.generation_seconds = 60
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    sensor = CreatifyGenerationSensor(
        task_id="wait", generation_id=generation.id, deferrable=True, poke_interval=3, timeout=50
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(make_context())
    trigger = deferred.value.trigger
    assert trigger.generation_id == generation.id and trigger.poll_interval == 3
    assert trigger.end_from_trigger is True  # a success ends the task in the triggerer
    assert time.time() + 45 < trigger.deadline <= time.time() + 50


def test_deferrable_end_from_trigger_off_resumes_in_a_worker(creatify_conn):
    creatify_conn.settings.generation_seconds = 60
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    sensor = CreatifyGenerationSensor(
        task_id="wait", generation_id=generation.id, deferrable=True, end_from_trigger=False
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(make_context())
    assert deferred.value.trigger.end_from_trigger is False


def test_on_kill_names_the_generation_it_polled(creatify_conn, capfd):
    creatify_conn.settings.generation_seconds = 60
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    sensor = CreatifyGenerationSensor(task_id="wait", generation_id=generation.id)
    assert sensor.poke(make_context()) is False
    sensor.on_kill()
    assert f"Stopped waiting on Creatify generation {generation.id}" in capfd.readouterr().out


def test_poke_reads_a_transient_failure_as_not_yet_until_the_streak_limit(creatify_conn, monkeypatch, capfd):
    monkeypatch.setattr(GenerationWait, "max_consecutive_errors", 3)
    generation = finished_generation()
    sensor = CreatifyGenerationSensor(task_id="wait", generation_id=generation.id)
    sensor.hook.max_retries = 0  # each poke is one read here
    creatify_conn.add_fault(FaultRule(path=STATUS_PATH, status=503))
    context = make_context()
    assert sensor.poke(context) is False and sensor.poke(context) is False  # 2 in a row: not yet
    assert "Trying again at the next poke (2 failed in a row; 3 end the wait)" in capfd.readouterr().out
    creatify_conn.clear_faults()
    poked = sensor.poke(context)
    assert isinstance(poked, PokeReturnValue) and poked.is_done  # a good read resets the streak
    creatify_conn.add_fault(FaultRule(path=STATUS_PATH, status=503))
    assert sensor.poke(context) is False and sensor.poke(context) is False
    with pytest.raises(CreatifyError, match=r"3 reads in a row failed; the last: .*503"):
        sensor.poke(context)


def test_poke_fails_at_once_on_a_permanent_error(creatify_conn):
    sensor = CreatifyGenerationSensor(task_id="wait", generation_id="no-such-id")
    with pytest.raises(CreatifyNotFoundError):
        sensor.poke(make_context())


def test_deferred_timeout_counts_from_the_first_try(creatify_conn):
    creatify_conn.settings.generation_seconds = 60
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    store = FakeStateStore()

    def deferred_deadline() -> float:
        sensor = CreatifyGenerationSensor(
            task_id="wait", generation_id=generation.id, deferrable=True, timeout=50
        )
        context = make_context(store)
        with pytest.raises(TaskDeferred) as deferred:
            sensor.execute(context)
        return deferred.value.trigger.deadline

    first = deferred_deadline()
    time.sleep(0.05)
    assert deferred_deadline() == first  # a retry keeps the first try's deadline


@pytest.mark.parametrize("soft_fail", [False, True])
def test_deferred_timeout_is_airflows_sensor_timeout(soft_fail):
    # AirflowSensorTimeout fails the task without a retry; soft_fail makes it a skip, as for any sensor
    sensor = CreatifyGenerationSensor(
        task_id="wait", generation_id="gen-1", deferrable=True, soft_fail=soft_fail
    )
    event = {"status": "timeout", "generation_id": "gen-1", "model_name": "flux", "last_status": "generating"}
    expected = AirflowSkipException if soft_fail else AirflowSensorTimeout
    with pytest.raises(expected):
        sensor.resume_execution("execute_complete", {"event": event}, make_context())
    with pytest.raises(
        AirflowSensorTimeout, match=r"Timed out waiting for Creatify generation gen-1 \(model flux\)"
    ):
        sensor.execute_complete(make_context(), event)
