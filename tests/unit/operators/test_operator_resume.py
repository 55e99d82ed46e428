"""Resuming a generation on a task retry (task_state_store): never a second POST for one task."""

from __future__ import annotations

import asyncio
import time

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

import airflow_provider_creatify.operators.creatify as operator_module
from airflow_provider_creatify.operators.creatify import STATE_KEY, CreatifyCreateGenerationOperator
from airflow_provider_creatify.resume import fingerprint
from airflow_provider_creatify.triggers.creatify import CreatifyGenerationTrigger
from tests.helpers import KLING, KLING_PARAMS, POST_PATH, FakeStateStore, make_context, only_event


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


def test_retry_with_other_inputs_creates_anew_and_names_the_abandoned_one(creatify_conn, capfd):
    store = FakeStateStore()
    first_id = operator(wait_for_completion=False).execute(try_context(store))
    fixed = {**KLING_PARAMS, "prompt": "a fixed prompt"}  # the user fixed the prompt and cleared the task
    second_id = operator(wait_for_completion=False, input_params=fixed).execute(try_context(store))
    assert second_id != first_id and creatify_conn.count("POST", POST_PATH) == 2
    assert store.values[STATE_KEY]["fingerprint"] == fingerprint(KLING, fixed)
    out = capfd.readouterr().out
    assert f"{first_id} of an earlier try was made from another model or input_params" in out
    assert "may still finish, and bill" in out
    # the same inputs, keys in another order: the same generation
    reordered = dict(reversed(list(fixed.items())))
    third_id = operator(wait_for_completion=False, input_params=reordered).execute(try_context(store))
    assert third_id == second_id
    assert creatify_conn.count("POST", POST_PATH) == 2


def test_a_record_without_fingerprint_is_not_trusted(creatify_conn):
    store = FakeStateStore()
    first_id = operator(wait_for_completion=False).execute(try_context(store))
    del store.values[STATE_KEY]["fingerprint"]
    assert operator(wait_for_completion=False).execute(try_context(store)) != first_id


def test_fingerprint_is_the_model_and_the_input():
    assert fingerprint(KLING, {"a": 1, "b": [1, 2]}) == fingerprint(KLING, {"b": [1, 2], "a": 1})
    assert fingerprint(KLING, {"a": 1}) != fingerprint(KLING, {"a": 2})
    assert fingerprint(KLING, {"a": 1}) != fingerprint("nano-banana", {"a": 1})


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
