"""CreatifyCreateGenerationOperator branches, against the sandbox over real HTTP."""

from __future__ import annotations

import asyncio
import time
import types
from datetime import timedelta

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowTaskTimeout,
    TaskDeferred,
    TaskInstanceKey,
    get_listener_manager,
)
from airflow.sdk import Asset

from airflow_provider_creatify.exceptions import (
    CreatifyError,
    CreatifyGenerationError,
    CreatifyGenerationFailed,
    CreatifyTimeoutError,
    CreatifyValidationError,
)
from airflow_provider_creatify.generation import Generation
from airflow_provider_creatify.links import CreatifyAssetLink
from airflow_provider_creatify.mixins import DEFER_TIMEOUT_GRACE
from airflow_provider_creatify.operators.creatify import CreatifyCreateGenerationOperator
from airflow_provider_creatify.triggers.creatify import CreatifyGenerationTrigger
from tests.helpers import FLUX, KLING, POST_PATH, RecordingTI, make_context, only_event, pushed


def test_template_fields():
    assert set(CreatifyCreateGenerationOperator.template_fields) == {
        "model_name",
        "input_params",
        "webhook_url",
        "creatify_conn_id",
    }


def test_invalid_input_fails_before_any_post(creatify_conn, make_operator):
    operator = make_operator(input_params={"prompt": "no image"})
    with pytest.raises(CreatifyValidationError, match=f"{KLING}.*'image_url'"):
        operator.execute(make_context())
    assert creatify_conn.count("POST", POST_PATH) == 0


def test_non_dict_input_fails_even_without_validation(creatify_conn, make_operator):
    with pytest.raises(CreatifyValidationError, match="must be a dict"):
        make_operator(input_params=["prompt"], validate_input=False).execute(make_context())
    assert creatify_conn.count("POST", POST_PATH) == 0


def test_no_wait_returns_the_generation_id(creatify_conn, make_operator):
    context = make_context()
    result = make_operator(wait_for_completion=False).execute(context)
    assert result == pushed(context)["generation_id"]
    assert result in creatify_conn.generations


def test_sync_wait_returns_asset_urls_and_pushes_xcom(creatify_conn, make_operator):
    context = make_context()
    urls = make_operator(deferrable=False).execute(context)
    xcom = pushed(context)
    assert urls == xcom["asset_urls"] == [a["url"] for a in xcom["assets"]]
    assert urls and all(url.startswith(creatify_conn.base_url) for url in urls)
    assert xcom["assets"][0]["type"] == "video"
    assert xcom["generation_id"] in creatify_conn.generations
    assert creatify_conn.count("POST", POST_PATH) == 1


def test_several_outputs_keep_the_api_order(creatify_conn, make_operator):
    context = make_context()
    urls = make_operator(model_name=FLUX, input_params={"prompt": "x", "num_images": 3}).execute(context)
    generation = creatify_conn.generations[pushed(context)["generation_id"]]
    assert urls == [asset["url"] for asset in generation["assets"]] and len(urls) == 3


def test_sync_failed_generation_fails_with_reason_and_id(creatify_conn, make_operator):
    context = make_context()
    operator = make_operator(model_name=FLUX, input_params={"prompt": "[sandbox:fail]"})
    with pytest.raises(CreatifyGenerationFailed) as err:
        operator.execute(context)
    generation_id = pushed(context)["generation_id"]
    assert generation_id in str(err.value) and creatify_conn.settings.failed_reason in str(err.value)


def test_sync_timeout_names_the_generation(creatify_conn, make_operator):
    creatify_conn.settings.generation_seconds = 60
    context = make_context()
    with pytest.raises(CreatifyTimeoutError) as err:
        make_operator(timeout=0.3).execute(context)
    assert pushed(context)["generation_id"] in str(err.value)


def test_deferrable_defers_then_completes(creatify_conn, make_operator):
    context = make_context()
    operator = make_operator(deferrable=True, timeout=120)
    before = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    trigger = deferred.value.trigger
    assert isinstance(trigger, CreatifyGenerationTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert trigger.generation_id == pushed(context)["generation_id"]
    assert before + 120 <= trigger.deadline <= time.time() + 120
    assert trigger.poll_interval == 0.1

    urls = operator.execute_complete(context, asyncio.run(only_event(trigger)))
    assert urls == pushed(context)["asset_urls"] and urls
    assert creatify_conn.count("POST", POST_PATH) == 1


@pytest.mark.parametrize(
    ("kwargs", "ends_in_triggerer"),
    [
        ({}, True),
        ({"end_from_trigger": False}, False),
        ({"outlets": [Asset("s3://bucket/creatify/images")]}, False),  # Asset events come from a worker
        ({"on_success_callback": lambda context: None}, False),  # not run for a task ended by a trigger
        ({"do_xcom_push": False}, False),
        ({"listeners": True}, False),  # listener plugins (OpenLineage's) hear of a success in a worker
    ],
    ids=["default", "switched off", "outlets", "on_success_callback", "no XCom push", "listeners"],
)
def test_a_success_ends_in_the_triggerer_unless_the_worker_has_work_left(
    creatify_conn, make_operator, kwargs, ends_in_triggerer, request
):
    if kwargs.pop("listeners", False):
        listener = types.ModuleType("a_listener")  # a listener plugin (no hook of interest here)
        get_listener_manager().add_listener(listener)
        request.addfinalizer(lambda: get_listener_manager().pm.unregister(listener))
    with pytest.raises(TaskDeferred) as deferred:
        make_operator(deferrable=True, **kwargs).execute(make_context())
    assert deferred.value.trigger.end_from_trigger is ends_in_triggerer
    assert deferred.value.trigger.last_status == "initializing"  # logged at the create: not again


@pytest.mark.parametrize("mapped", [False, True], ids=["unmapped task", "mapped task"])
def test_a_task_whose_output_a_downstream_maps_over_ends_in_a_worker(creatify_conn, make_operator, mapped):
    """The worker records how many mapped tasks an unmapped task's return value makes (TaskMap, with the
    return value's XCom); a trigger pushing it cannot, so such a task resumes in a worker."""
    from airflow.sdk import DAG, task

    with DAG("mapping_downstream", schedule=None):
        create = make_operator(deferrable=True)

        @task
        def use(url: str) -> str:
            return url

        use.expand(url=create.output)
    context = make_context(ti=RecordingTI(is_mapped=mapped))
    with pytest.raises(TaskDeferred) as deferred:
        create.execute(context)
    assert deferred.value.trigger.end_from_trigger is mapped


def test_execution_timeout_bounds_the_deferral(creatify_conn, make_operator):
    context = make_context()
    operator = make_operator(deferrable=True, execution_timeout=timedelta(seconds=40), timeout=3600)
    before = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    trigger = deferred.value.trigger
    # the try began just now (make_context has no start_date): 40 s from now, for Airflow and the trigger
    assert before + 40 <= trigger.execution_deadline <= time.time() + 40
    # Airflow's deferral timeout is the backstop, a grace later: the trigger's event comes first
    assert timedelta(seconds=45) < deferred.value.timeout <= timedelta(seconds=40 + DEFER_TIMEOUT_GRACE)
    assert trigger.deadline >= before + 3600  # the generation's own deadline is unchanged


def test_execution_timeout_event_is_airflows_task_timeout_naming_the_generation(make_operator):
    event = {
        "status": "execution_timeout",
        "generation_id": "g1",
        "model_name": KLING,
        "last_status": "generating",
    }
    with pytest.raises(AirflowTaskTimeout, match="g1") as err:
        make_operator(execution_timeout=timedelta(seconds=4)).execute_complete(make_context(), event)
    assert "execution_timeout" in str(err.value) and "resumes this generation" in str(err.value)


def test_terminal_at_first_read_finishes_without_deferring(creatify_conn, make_operator):
    context = make_context()
    done = Generation.from_api(
        {"id": "g1", "status": "done", "assets": [{"url": "http://x/a.png", "type": "image"}]}
    )
    assert make_operator(deferrable=True).wait_and_finish(context, done, deadline=0, poll_interval=1) == [
        "http://x/a.png"
    ]


@pytest.mark.parametrize(
    ("event", "error", "fragment"),
    [
        (
            {
                "status": "failed",
                "generation_id": "g1",
                "generation": {"id": "g1", "status": "failed", "failed_reason": "NSFW"},
            },
            CreatifyGenerationFailed,
            "NSFW",
        ),
        (
            {"status": "timeout", "generation_id": "g1", "model_name": KLING, "last_status": "generating"},
            CreatifyTimeoutError,
            "Timed out",
        ),
        (
            {"status": "error", "generation_id": "g1", "message": "Reading Creatify generation g1 failed: x"},
            CreatifyError,
            "g1 failed",
        ),
        (
            {
                "status": "done",
                "generation_id": "g1",
                "generation": {"id": "g1", "status": "done", "assets": []},
            },
            CreatifyGenerationError,
            "no asset URL",
        ),
        (None, CreatifyError, "Unexpected event"),
        ({"status": "done"}, CreatifyError, "Unexpected event"),
    ],
)
def test_execute_complete_turns_events_into_errors(make_operator, event, error, fragment):
    with pytest.raises(error, match=fragment) as err:
        make_operator().execute_complete(make_context(), event)
    if event and "generation_id" in event:
        assert "g1" in str(err.value)


def test_on_kill_says_which_generation_goes_on_and_how_to_pick_it_up(creatify_conn, make_operator, capfd):
    operator = make_operator(deferrable=True)
    operator.on_kill()  # killed before any generation: nothing to say
    assert "Stopped waiting" not in capfd.readouterr().out
    with pytest.raises(TaskDeferred):
        operator.execute(make_context())
    operator.on_kill()
    out = capfd.readouterr().out
    (generation_id,) = creatify_conn.generations
    assert f"Stopped waiting on Creatify generation {generation_id} (model {KLING})" in out
    assert (
        "Creatify has no cancel" in out
        and f"CreatifyGenerationSensor(generation_id='{generation_id}')" in out
    )
    assert creatify_conn.count("POST", POST_PATH) == 1  # and nothing else was sent


def test_the_link_comes_from_the_generation_the_task_holds(creatify_conn, make_operator):
    link, operator = CreatifyAssetLink(), make_operator(deferrable=True)
    with pytest.raises(TaskDeferred):
        operator.execute(make_context())
    # what Airflow computes at the end of the deferring run: no XCom asked for (none pushed yet)
    key = TaskInstanceKey(dag_id="d", task_id=operator.task_id, run_id="r")  # never read: the generation says
    assert link.get_link(operator, ti_key=key) == ""
    done = Generation.from_api({"id": "g1", "status": "done", "assets": [{"url": "http://x/a.png"}]})
    operator.finish(make_context(), done)
    assert link.get_link(operator, ti_key=key) == "http://x/a.png"
