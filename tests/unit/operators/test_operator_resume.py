"""The operator on a task retry (task_state_store): the resumed generation is waited on, deferred or not.

When a record is resumed or not: tests/unit/submission/.
"""

from __future__ import annotations

import asyncio

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

import airflow_provider_creatify.submission as submission_module
from airflow_provider_creatify.triggers.creatify import CreatifyGenerationTrigger
from tests.helpers import POST_PATH, FakeStateStore, make_context, only_event, pushed


def test_retry_resumes_the_running_generation_with_the_first_deadline(creatify_conn, make_operator):
    store = FakeStateStore()
    with pytest.raises(TaskDeferred) as first:
        make_operator(deferrable=True).execute(make_context(store))
    context = make_context(store)
    with pytest.raises(TaskDeferred) as second:  # e.g. the triggerer was lost and the task retried
        make_operator(deferrable=True).execute(context)
    assert second.value.trigger.generation_id == first.value.trigger.generation_id
    assert second.value.trigger.deadline == first.value.trigger.deadline
    assert pushed(context)["generation_id"] == first.value.trigger.generation_id
    urls = make_operator().execute(make_context(store))  # a sync retry waits on it too
    assert urls and creatify_conn.count("POST", POST_PATH) == 1


def test_retry_returns_the_result_of_a_done_generation(creatify_conn, make_operator):
    store = FakeStateStore()
    first = make_operator().execute(make_context(store))
    context = make_context(store)
    assert make_operator(deferrable=True).execute(context) == first == pushed(context)["asset_urls"]
    assert creatify_conn.count("POST", POST_PATH) == 1


def test_resume_can_be_turned_off(creatify_conn, make_operator):
    store = FakeStateStore()
    make_operator(wait_for_completion=False, resume_on_retry=False).execute(make_context(store))
    make_operator(wait_for_completion=False, resume_on_retry=False).execute(make_context(store))
    assert store.values == {} and creatify_conn.count("POST", POST_PATH) == 2


def test_without_task_state_store_warns_once(creatify_conn, make_operator, monkeypatch, capfd):
    monkeypatch.setattr(submission_module, "_warned_no_state_store", False)
    make_operator(wait_for_completion=False).execute(make_context())
    make_operator(wait_for_completion=False).execute(make_context())
    assert capfd.readouterr().out.count("has no task_state_store") == 1


def test_resumed_deferral_round_trip(creatify_conn, make_operator):
    store = FakeStateStore()
    with pytest.raises(TaskDeferred) as deferred:
        make_operator(deferrable=True).execute(make_context(store))
    _, kwargs = deferred.value.trigger.serialize()
    event = asyncio.run(only_event(CreatifyGenerationTrigger(**kwargs)))  # a restarted triggerer
    assert make_operator().execute_complete(make_context(), event)
    assert creatify_conn.count("POST", POST_PATH) == 1
