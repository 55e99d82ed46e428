"""The provider's core paths against every dialect the sandbox plays, over real HTTP.

Each dialect is a shape the real API may take (``SandboxSettings``), or the fault of a create answered
503 after its generation was made. Each core path runs under each: a create waited for in the worker and
deferred, the sensor, the hook's reads of many, and a create whose answer was lost. Each ends with the
done generation and its asset URLs, and exactly one create POST per generation. A refused create
(``forbidden_reason``) fails at once with Creatify's reason, and makes nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_creatify.exceptions import (
    CreatifyAuthError,
    CreatifyCreateUncertainError,
)
from airflow_provider_creatify.generation import Generation
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.operators.creatify import CreatifyCreateGenerationOperator
from airflow_provider_creatify.sandbox import FaultRule, SandboxSettings
from airflow_provider_creatify.sensors.creatify import CreatifyGenerationSensor
from tests.helpers import FLUX, POST_PATH, UNKNOWN, make_context, only_event, pushed, wait_until_finished

REASON = "Your plan does not include this model."
#: Two images: a result keeps both URLs, in the API's order.
PARAMS = {"prompt": "a fox in the snow", "num_images": 2}
#: A create made, then answered 503, as a proxy in front of the API may answer it.
CREATE_503_AFTER = FaultRule(method="POST", path=POST_PATH, status=503, after_processing=True, count=1)


@dataclass(frozen=True)
class Dialect:
    """One shape of the API: settings to set, faults to add, and what a lost create's answer meets.

    :param settings: ``SandboxSettings`` fields and their values.
    :param faults: fault rules added with the settings.
    :param lost_is_uncertain: the account's list cannot prove what became of a lost create.
    :param forbidden: creates are refused (403).
    """

    settings: dict[str, Any] = field(default_factory=dict)
    faults: tuple[FaultRule, ...] = ()
    lost_is_uncertain: bool = False
    forbidden: bool = False


DIALECTS = {
    "contract": Dialect(),
    "list_pages": Dialect({"list_pages": True}),
    "list_pages_of_2": Dialect({"list_page_size": 2}),
    "list_ignores_ids": Dialect({"list_ignores_ids": True}),
    "list_omits_input_params": Dialect({"list_omits": ("input_params",)}, lost_is_uncertain=True),
    "list_omits_assets": Dialect({"list_omits": ("assets",)}),
    "list_absent_404": Dialect({"list_status": 404}, lost_is_uncertain=True),
    "list_failing_502_html": Dialect({"list_status": 502}, lost_is_uncertain=True),
    "list_failing_503": Dialect({"list_status": 503}, lost_is_uncertain=True),
    "schema_pages": Dialect({"schema_page_size": 2}),
    "schemas_as_text": Dialect({"schemas_as_text": True}),
    "create_answers_id_only": Dialect({"create_answers_id_only": True}),
    "assets_as_strings": Dialect({"assets_as_strings": True}),
    "stores_defaults": Dialect({"stores_defaults": True}, lost_is_uncertain=True),
    "forbidden_reason": Dialect({"forbidden_reason": REASON}, forbidden=True),
    "create_503_after_processing": Dialect(faults=(CREATE_503_AFTER,)),
}


def dialects() -> pytest.MarkDecorator:
    """Parametrize ``dialect`` with every dialect, named."""
    return pytest.mark.parametrize("dialect", list(DIALECTS.values()), ids=list(DIALECTS))


@pytest.fixture
def creatify_sandbox_settings() -> SandboxSettings:
    """Generations of half a second: a wait reads a running one at least once."""
    return SandboxSettings(generation_seconds=0.5)


@pytest.fixture(autouse=True)
def quick_searches(monkeypatch):
    """A lost answer is searched for milliseconds apart (not seconds)."""
    monkeypatch.setattr("airflow_provider_creatify.lost_creates.LOST_SEARCH_INTERVAL", 0.01)


def speak(sandbox, dialect: Dialect) -> None:
    """Make the running sandbox answer in ``dialect`` from now on."""
    for name, value in dialect.settings.items():
        setattr(sandbox.settings, name, value)
    for rule in dialect.faults:
        sandbox.add_fault(rule)


def operator(**kwargs: Any) -> CreatifyCreateGenerationOperator:
    """The create operator: two FLUX images, read every 0.05 s, 30 s at most."""
    return CreatifyCreateGenerationOperator(
        task_id="create", model_name=FLUX, input_params=PARAMS, poll_interval=0.05, timeout=30, **kwargs
    )


def urls_of(generation: dict[str, Any]) -> list[str]:
    """A sandbox generation's asset URLs, its assets objects or their URLs alone."""
    return [a if isinstance(a, str) else a["url"] for a in generation["assets"]]


def assert_made_once(sandbox, urls: list[str] | str) -> None:
    """One generation, done, whose two URLs are ``urls`` (what the operator returned), made by one create
    POST."""
    assert isinstance(urls, list), urls  # the asset URLs, not a generation id
    (generation,) = sandbox.generations.values()
    assert generation["status"] == "done"
    assert urls == urls_of(generation) and len(urls) == 2
    assert sandbox.count("POST", POST_PATH) == 1


def assert_refused(sandbox, err: pytest.ExceptionInfo, posts: int = 1) -> None:
    """A create refused with Creatify's reason in the message: no generation made."""
    assert isinstance(err.value, CreatifyAuthError) and REASON in str(err.value)
    assert sandbox.generations == {}
    assert sandbox.count("POST", POST_PATH) == posts


def existing_generations(count: int) -> list[str]:
    """The ids of ``count`` generations made (under the contract) and done."""
    hook = CreatifyHook()
    ids = [hook.create_generation(FLUX, {**PARAMS, "seed": n}).id for n in range(count)]
    for generation_id in ids:
        wait_until_finished(generation_id)
    return ids


def assert_read(sandbox, found: dict[str, Generation | None], ids: list[str]) -> None:
    """Every id read as the sandbox holds it (done, with its URLs); the unknown one ``None``."""
    assert list(found) == [ids[0], UNKNOWN, ids[1]] and found[UNKNOWN] is None
    for generation_id in ids:
        generation = found[generation_id]
        assert generation is not None and generation.is_done
        assert generation.asset_urls == urls_of(sandbox.generations[generation_id])


@dialects()
def test_sync_create_and_wait(creatify_conn, dialect):
    speak(creatify_conn, dialect)
    context = make_context()
    if dialect.forbidden:
        with pytest.raises(CreatifyAuthError) as err:
            operator(deferrable=False).execute(context)
        assert_refused(creatify_conn, err)
        return
    urls = operator(deferrable=False).execute(context)
    assert_made_once(creatify_conn, urls)


@dialects()
def test_deferrable_create_and_wait(creatify_conn, dialect):
    speak(creatify_conn, dialect)
    context, task = make_context(), operator(deferrable=True)
    if dialect.forbidden:
        with pytest.raises(CreatifyAuthError) as err:
            task.execute(context)
        assert_refused(creatify_conn, err)
        return
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(context)
    urls = task.execute_complete(context, asyncio.run(only_event(deferred.value.trigger)))
    assert_made_once(creatify_conn, urls)


@dialects()
def test_sensor_on_an_existing_generation(creatify_conn, dialect):
    generation = CreatifyHook().create_generation(FLUX, PARAMS)
    speak(creatify_conn, dialect)
    context = make_context()
    sensor = CreatifyGenerationSensor(
        task_id="wait", generation_id=generation.id, deferrable=True, poke_interval=0.05
    )
    with pytest.raises(TaskDeferred) as deferred:  # still running: the trigger waits
        sensor.execute(context)
    urls = sensor.execute_complete(context, asyncio.run(only_event(deferred.value.trigger)))
    assert_made_once(creatify_conn, urls)
    poked = CreatifyGenerationSensor(task_id="poke", generation_id=generation.id).poke(make_context())
    assert not isinstance(poked, bool) and poked.xcom_value == urls


@dialects()
def test_hook_get_generations(creatify_conn, dialect):
    ids = existing_generations(2)
    speak(creatify_conn, dialect)
    assert_read(creatify_conn, CreatifyHook().get_generations([ids[0], UNKNOWN, ids[1]]), ids)
    assert creatify_conn.count("POST", POST_PATH) == 2


@dialects()
async def test_hook_aget_generations(creatify_conn, dialect):
    ids = await asyncio.to_thread(existing_generations, 2)
    speak(creatify_conn, dialect)
    async with CreatifyHook() as hook:
        assert_read(creatify_conn, await hook.aget_generations([ids[0], UNKNOWN, ids[1]]), ids)
    assert creatify_conn.count("POST", POST_PATH) == 2


@dialects()
def test_a_create_answered_503_after_processing(creatify_conn, dialect):
    speak(creatify_conn, dialect)
    creatify_conn.add_fault(CREATE_503_AFTER)  # on top of the dialect's own (a second one, there)
    context, started = make_context(), time.monotonic()
    if dialect.forbidden:  # the 503 hid the refusal; no generation listed: the create is sent again
        with pytest.raises(CreatifyAuthError) as err:
            operator(deferrable=False).execute(context)
        assert_refused(creatify_conn, err, posts=2)
    elif dialect.lost_is_uncertain:  # no proof either way: never a second POST
        with pytest.raises(CreatifyCreateUncertainError):
            operator(deferrable=False).execute(context)
        assert len(creatify_conn.generations) == 1
        assert creatify_conn.count("POST", POST_PATH) == 1
    else:  # adopted
        assert_made_once(creatify_conn, operator(deferrable=False).execute(context))
        assert pushed(context)["generation_id"] in creatify_conn.generations
    assert time.monotonic() - started < 30
