"""Retries, the create POST that is never sent twice, and resuming a generation on a task retry."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred
from airflow.sdk import Connection

import airflow_provider_creatify.operators.creatify as operator_module
from airflow_provider_creatify.exceptions import (
    CreatifyAPIError,
    CreatifyAuthError,
    CreatifyCreateUncertainError,
    CreatifyNotFoundError,
)
from airflow_provider_creatify.hooks import creatify as hook_module
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.operators.creatify import STATE_KEY, CreatifyCreateGenerationOperator
from airflow_provider_creatify.polling import GenerationWait, backoff_delay, parse_retry_after
from airflow_provider_creatify.sandbox import FaultRule
from airflow_provider_creatify.triggers.creatify import CreatifyGenerationTrigger
from tests.helpers import FLUX, KLING, KLING_PARAMS, POST_PATH, make_context

SCHEMAS = "/api/asset_generator/schemas/"
STATUS = "/api/asset_generator/{id}/"


@pytest.fixture
def sleeps(monkeypatch):
    """The delays the sync hook sleeps between tries (without sleeping them)."""
    recorded: list[float] = []
    monkeypatch.setattr(hook_module.time, "sleep", recorded.append)
    return recorded


# -- backoff -----------------------------------------------------------------------------------------


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 20))
    assert 15 < parse_retry_after(http_date) <= 20


def test_backoff_grows_is_capped_jittered_and_honours_retry_after():
    delays = [backoff_delay(n, base=1, cap=8) for n in range(6)]
    assert 0.5 <= delays[0] <= 1 and 1 <= delays[1] <= 2 and all(4 <= d <= 8 for d in delays[3:])
    assert len({backoff_delay(3, base=1, cap=8) for _ in range(20)}) > 1  # jitter
    assert backoff_delay(0, base=1, cap=8, retry_after=5) == 5
    assert backoff_delay(0, base=1, cap=8, retry_after=500) == 8


# -- reads -------------------------------------------------------------------------------------------


def test_reads_survive_every_kind_of_transient_error(creatify_conn, sleeps):
    for rule in (
        FaultRule(path=SCHEMAS, status=429, retry_after=0.01, count=1),
        FaultRule(path=SCHEMAS, status=502, count=1),
        FaultRule(path=SCHEMAS, status=503, count=1),
        FaultRule(path=SCHEMAS, drop=True, count=1),
        FaultRule(path=SCHEMAS, body=b'[{"model_na', count=1),
    ):
        creatify_conn.add_fault(rule)
    assert CreatifyHook().list_models()
    assert creatify_conn.count("GET", SCHEMAS) == 6 and len(sleeps) == 5


def test_retry_after_is_honoured(creatify_conn, sleeps, monkeypatch):
    monkeypatch.setattr(CreatifyHook, "retry_max_delay", 30.0)
    creatify_conn.add_fault(FaultRule(path=SCHEMAS, status=429, retry_after=7, count=1))
    CreatifyHook().list_models()
    assert sleeps == [7.0]


def test_reads_give_up_after_max_retries(creatify_conn, sleeps):
    creatify_conn.add_fault(FaultRule(path=SCHEMAS, status=503))
    with pytest.raises(CreatifyAPIError, match="HTTP 503") as err:
        CreatifyHook(max_retries=3).list_models()
    assert err.value.is_transient and creatify_conn.count("GET", SCHEMAS) == 4 and len(sleeps) == 3


def test_client_errors_fail_at_once(creatify_conn, sleeps, monkeypatch):
    with pytest.raises(CreatifyNotFoundError):
        CreatifyHook().get_generation("00000000-0000-0000-0000-000000000000")
    assert creatify_conn.count("GET", STATUS) == 1
    monkeypatch.setenv(
        "AIRFLOW_CONN_CREATIFY_DEFAULT",
        Connection(
            conn_id="x",
            conn_type="creatify",
            login="id",
            password="bad-key-00000",
            host=creatify_conn.base_url,
        ).as_json(),
    )
    with pytest.raises(CreatifyAuthError):
        CreatifyHook().list_models()
    assert creatify_conn.count("GET", SCHEMAS) == 1 and sleeps == []


# -- the create POST ---------------------------------------------------------------------------------


def test_create_retries_what_was_refused_before_processing(creatify_conn, sleeps):
    creatify_conn.add_fault(FaultRule(method="POST", path=POST_PATH, status=429, retry_after=0.01, count=1))
    creatify_conn.add_fault(FaultRule(method="POST", path=POST_PATH, status=503, count=1))
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    assert list(creatify_conn.generations) == [generation.id]
    assert creatify_conn.count("POST", POST_PATH) == 3 and len(sleeps) == 2


def test_create_refused_connection_is_retried_and_says_nothing_was_created(monkeypatch, sleeps):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(
        "AIRFLOW_CONN_CREATIFY_DEFAULT",
        Connection(
            conn_id="x", conn_type="creatify", login="i", password="k", host=f"http://127.0.0.1:{port}"
        ).as_json(),
    )
    with pytest.raises(CreatifyAPIError, match="no answer") as err:
        CreatifyHook(max_retries=2).create_generation(FLUX, {"prompt": "x"})
    assert not isinstance(err.value, CreatifyCreateUncertainError) and not err.value.request_sent
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    "rule",
    [
        FaultRule(method="POST", path=POST_PATH, drop=True, after_processing=True),
        FaultRule(method="POST", path=POST_PATH, status=502, after_processing=True),
        FaultRule(method="POST", path=POST_PATH, status=500, after_processing=True),
        FaultRule(method="POST", path=POST_PATH, body=b'{"id": "tru', after_processing=True),
    ],
    ids=["dropped", "502", "500", "truncated"],
)
def test_create_is_never_sent_twice_when_it_may_have_been_processed(creatify_conn, sleeps, rule):
    creatify_conn.add_fault(rule)
    with pytest.raises(CreatifyCreateUncertainError) as err:
        CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    assert isinstance(err.value, AirflowFailException)  # Airflow does not retry the task either
    message = str(err.value)
    assert "may have been created" in message and "CreatifyGenerationSensor" in message and FLUX in message
    assert creatify_conn.count("POST", POST_PATH) == 1 and sleeps == []
    assert len(creatify_conn.generations) == 1


def test_create_read_timeout_is_uncertain(creatify_conn):
    creatify_conn.add_fault(FaultRule(method="POST", path=POST_PATH, delay=1.0, count=1))
    with pytest.raises(CreatifyCreateUncertainError, match="broke before an answer"):
        CreatifyHook(timeout=0.2).create_generation(FLUX, {"prompt": "x"})
    assert creatify_conn.count("POST", POST_PATH) == 1


def test_blocking_wait_rides_out_reads_that_fail_after_their_retries(creatify_conn):
    """As the trigger does: a read whose retries all failed transiently does not end the wait."""
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    hook = CreatifyHook(max_retries=1)  # each read: 2 tries
    creatify_conn.add_fault(FaultRule(path=STATUS, status=502, count=5))  # reads 1 and 2 fail, 3 half
    done = hook.wait_for_generation(generation.id, poll_interval=0.05, deadline=time.time() + 30)
    assert done.is_done and creatify_conn.count("GET", STATUS, status=502) == 5


def test_blocking_wait_ends_after_a_bounded_run_of_failed_reads(creatify_conn, monkeypatch):
    monkeypatch.setattr(GenerationWait, "max_consecutive_errors", 3)
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    creatify_conn.add_fault(FaultRule(path=STATUS, status=503))
    with pytest.raises(CreatifyAPIError, match="HTTP 503") as err:
        CreatifyHook(max_retries=1).wait_for_generation(generation.id, poll_interval=0.05, deadline=10**10)
    assert generation.id in str(err.value) and creatify_conn.count("GET", STATUS) == 3 * 2


def test_blocking_wait_ends_at_once_on_a_permanent_error(creatify_conn):
    with pytest.raises(CreatifyNotFoundError):
        CreatifyHook().wait_for_generation("no-such-id", poll_interval=0.05, deadline=10**10)
    assert creatify_conn.count("GET", STATUS) == 1


# -- the trigger ---------------------------------------------------------------------------------------


async def only_event(trigger: CreatifyGenerationTrigger) -> dict:
    (event,) = [e.payload async for e in trigger.run()]
    return event


def trigger_for(generation_id: str) -> CreatifyGenerationTrigger:
    return CreatifyGenerationTrigger(
        generation_id=generation_id, deadline=time.time() + 30, poll_interval=0.05
    )


async def test_trigger_rides_out_transient_errors(creatify_conn):
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    for rule in (
        FaultRule(path=STATUS, status=502, count=2),
        FaultRule(path=STATUS, drop=True, count=1),
        FaultRule(path=STATUS, status=429, retry_after=0.1, count=1),
        FaultRule(path=STATUS, body=b"<html>", count=1),
    ):
        creatify_conn.add_fault(rule)
    event = await only_event(trigger_for(generation.id))
    assert event["status"] == "done"
    assert creatify_conn.count("GET", STATUS, status=200) >= 1


async def test_trigger_ends_after_a_bounded_run_of_errors(creatify_conn, monkeypatch):
    monkeypatch.setattr(GenerationWait, "max_consecutive_errors", 4)
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    creatify_conn.add_fault(FaultRule(path=STATUS, status=503))
    event = await only_event(trigger_for(generation.id))
    assert event["status"] == "error" and "4 reads in a row failed" in event["message"]
    assert generation.id in event["message"] and creatify_conn.count("GET", STATUS) == 4


async def test_trigger_error_streak_resets_on_success(creatify_conn, monkeypatch):
    """Two runs of two errors, a success between them: never three in a row, so the wait goes on."""
    monkeypatch.setattr(GenerationWait, "max_consecutive_errors", 3)
    creatify_conn.settings.generation_seconds = 1.5
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    creatify_conn.add_fault(FaultRule(path=STATUS, status=503, count=2))

    async def second_run_after_a_success():
        while creatify_conn.count("GET", STATUS, status=200) == 0:
            await asyncio.sleep(0.01)
        creatify_conn.add_fault(FaultRule(path=STATUS, status=503, count=2))

    injector = asyncio.ensure_future(second_run_after_a_success())
    event = await only_event(trigger_for(generation.id))
    await injector
    assert event["status"] == "done"
    assert creatify_conn.count("GET", STATUS, status=503) == 4


# -- resuming on a task retry (task_state_store) ------------------------------------------------------


class FakeStateStore:
    """Stands in for context["task_state_store"] (Airflow 3.3+): get and set by key."""

    def __init__(self) -> None:
        self.values: dict = {}

    def get(self, key):
        return self.values.get(key)

    def set(self, key, value) -> None:
        self.values[key] = value


def try_context(store: FakeStateStore) -> dict:
    context = make_context()
    context["task_state_store"] = store
    return context


def operator(**kwargs) -> CreatifyCreateGenerationOperator:
    kwargs = {"model_name": KLING, "input_params": KLING_PARAMS, "poll_interval": 0.05, **kwargs}
    return CreatifyCreateGenerationOperator(task_id="create", **kwargs)


def test_generation_is_recorded_right_after_the_post(creatify_conn):
    store = FakeStateStore()
    before = time.time()
    generation_id = operator(wait_for_completion=False, timeout=100).execute(try_context(store))
    saved = store.values[STATE_KEY]
    assert saved["generation_id"] == generation_id and before + 100 <= saved["deadline"] <= time.time() + 100


def test_retry_resumes_the_running_generation_with_the_first_deadline(creatify_conn):
    store = FakeStateStore()
    with pytest.raises(TaskDeferred) as first:
        operator(deferrable=True).execute(try_context(store))
    context = try_context(store)
    with pytest.raises(TaskDeferred) as second:  # e.g. the triggerer was lost and the task retried
        operator(deferrable=True).execute(context)
    assert second.value.trigger.generation_id == first.value.trigger.generation_id
    assert second.value.trigger.deadline == first.value.trigger.deadline
    assert context["ti"].xcom["generation_id"] == first.value.trigger.generation_id
    urls = operator().execute(try_context(store))  # a sync retry waits on it too
    assert urls and creatify_conn.count("POST", POST_PATH) == 1


def test_retry_returns_the_result_of_a_done_generation(creatify_conn):
    store = FakeStateStore()
    first = operator().execute(try_context(store))
    context = try_context(store)
    assert operator(deferrable=True).execute(context) == first == context["ti"].xcom["asset_urls"]
    assert creatify_conn.count("POST", POST_PATH) == 1


def test_retry_creates_anew_only_when_the_stored_generation_failed(creatify_conn):
    store = FakeStateStore()
    first_id = operator(wait_for_completion=False).execute(try_context(store))
    creatify_conn.force_status(first_id, "failed", failed_reason="GPU on fire")
    second_id = operator(wait_for_completion=False).execute(try_context(store))
    assert second_id != first_id and store.values[STATE_KEY]["generation_id"] == second_id
    assert creatify_conn.count("POST", POST_PATH) == 2


def test_resume_can_be_turned_off(creatify_conn):
    store = FakeStateStore()
    operator(wait_for_completion=False, resume_on_retry=False).execute(try_context(store))
    operator(wait_for_completion=False, resume_on_retry=False).execute(try_context(store))
    assert store.values == {} and creatify_conn.count("POST", POST_PATH) == 2


def test_without_task_state_store_warns_once(creatify_conn, monkeypatch, capfd):
    monkeypatch.setattr(operator_module, "_warned_no_state_store", False)
    operator(wait_for_completion=False).execute(make_context())
    operator(wait_for_completion=False).execute(make_context())
    assert capfd.readouterr().out.count("has no task_state_store") == 1


def test_resumed_deferral_round_trip(creatify_conn):
    store = FakeStateStore()
    with pytest.raises(TaskDeferred) as deferred:
        operator(deferrable=True).execute(try_context(store))
    _, kwargs = deferred.value.trigger.serialize()
    event = asyncio.run(only_event(CreatifyGenerationTrigger(**kwargs)))  # a restarted triggerer
    assert operator().execute_complete(make_context(), event)
    assert creatify_conn.count("POST", POST_PATH) == 1
