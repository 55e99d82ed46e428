"""The operator on a task retry (task_state_store): the resumed generation is waited on, deferred or not.

When a record is resumed or not: tests/unit/submission/.
"""

from __future__ import annotations

import asyncio

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

import airflow_provider_creatify.submission as submission_module
from airflow_provider_creatify.operators.creatify import CreatifyCreateGenerationOperator
from airflow_provider_creatify.triggers.creatify import CreatifyGenerationTrigger
from tests.helpers import KLING, KLING_PARAMS, POST_PATH, FakeStateStore, make_context, only_event


def try_context(store: FakeStateStore) -> dict:
    context = make_context()
    context["task_state_store"] = store
    return context


def operator(**kwargs) -> CreatifyCreateGenerationOperator:
    kwargs = {"model_name": KLING, "input_params": KLING_PARAMS, "poll_interval": 0.05, **kwargs}
    return CreatifyCreateGenerationOperator(task_id="create", **kwargs)


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


def test_resume_can_be_turned_off(creatify_conn):
    store = FakeStateStore()
    operator(wait_for_completion=False, resume_on_retry=False).execute(try_context(store))
    operator(wait_for_completion=False, resume_on_retry=False).execute(try_context(store))
    assert store.values == {} and creatify_conn.count("POST", POST_PATH) == 2


def test_without_task_state_store_warns_once(creatify_conn, monkeypatch, capfd):
    monkeypatch.setattr(submission_module, "_warned_no_state_store", False)
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
