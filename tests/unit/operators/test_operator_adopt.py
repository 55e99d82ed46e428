"""A create whose answer was lost is found and adopted, never paid twice (and never guessed)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

import airflow_provider_creatify.operators.creatify as operator_module
import airflow_provider_creatify.resume as resume_module
from airflow_provider_creatify.exceptions import CreatifyCreateUncertainError
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.operators.creatify import STATE_KEY, CreatifyCreateGenerationOperator
from airflow_provider_creatify.resume import fingerprint
from airflow_provider_creatify.sandbox import FaultRule
from tests.helpers import KLING, KLING_PARAMS, POST_PATH, FakeStateStore, make_context


def operator(**kwargs) -> CreatifyCreateGenerationOperator:
    kwargs = {"model_name": KLING, "input_params": KLING_PARAMS, "wait_for_completion": False, **kwargs}
    return CreatifyCreateGenerationOperator(task_id="create", **kwargs)


def context_with(store: FakeStateStore | None = None, *, try_number: int = 1) -> dict:
    context = make_context()
    if store is not None:
        context["task_state_store"] = store
    context["ti"].try_number = try_number
    context["dag_run"] = SimpleNamespace(start_date=datetime.now(timezone.utc) - timedelta(minutes=1))
    return context


def an_intent(store: FakeStateStore, params: dict = KLING_PARAMS, deadline: float = 0.0) -> None:
    """What a try killed between its POST and the record of the id leaves behind (3.3+)."""
    intent = {"intent_at": time.time(), "deadline": deadline or time.time() + 3600}
    store.set(STATE_KEY, {**intent, "fingerprint": fingerprint(KLING, params)})


@pytest.fixture(autouse=True)
def quick_searches(monkeypatch):
    monkeypatch.setattr(operator_module, "LOST_SEARCH_INTERVAL", 0.01)


@pytest.mark.parametrize("store", [FakeStateStore(), None], ids=["3.3 store", "no store"])
def test_a_lost_answer_is_found_and_adopted_without_a_second_post(creatify_conn, capfd, store):
    # Creatify creates the generation, then the answer is lost on the way back
    lost = FaultRule(method="POST", path=POST_PATH, drop=True, after_processing=True, count=1)
    creatify_conn.add_fault(lost)
    generation_id = operator().execute(context_with(store))
    (created,) = creatify_conn.generations
    assert generation_id == created and creatify_conn.count("POST", POST_PATH) == 1
    assert f"Adopting Creatify generation {created}" in capfd.readouterr().out
    if store is not None:
        assert store.values[STATE_KEY]["generation_id"] == created


def test_a_create_that_never_reached_creatify_is_sent_again(creatify_conn):
    creatify_conn.add_fault(FaultRule(method="POST", path=POST_PATH, status=504, count=1))  # not processed
    generation_id = operator().execute(context_with(FakeStateStore()))
    assert list(creatify_conn.generations) == [generation_id]  # one generation, one bill


def test_an_intent_without_id_adopts_the_generation_it_made(creatify_conn):
    store = FakeStateStore()
    first_deadline = time.time() + 1234
    an_intent(store, deadline=first_deadline)
    made = CreatifyHook().create_generation(KLING, KLING_PARAMS)  # the POST of the killed try
    assert operator().execute(context_with(store, try_number=2)) == made.id
    assert creatify_conn.count("POST", POST_PATH) == 1
    assert store.values[STATE_KEY] == {  # recorded, with the first try's deadline kept
        "generation_id": made.id,
        "deadline": first_deadline,
        "fingerprint": fingerprint(KLING, KLING_PARAMS),
    }


def test_an_intent_without_a_generation_creates(creatify_conn):
    store = FakeStateStore()
    an_intent(store)
    CreatifyHook().create_generation(KLING, {**KLING_PARAMS, "prompt": "another task's"})  # not ours
    generation_id = operator().execute(context_with(store, try_number=2))
    assert creatify_conn.count("POST", POST_PATH) == 2 and generation_id in creatify_conn.generations


def test_two_candidates_fail_listing_both_and_create_nothing(creatify_conn):
    store = FakeStateStore()
    an_intent(store)
    ids = [CreatifyHook().create_generation(KLING, KLING_PARAMS).id for _ in range(2)]
    with pytest.raises(CreatifyCreateUncertainError, match="Not guessing which to pay for") as err:
        operator().execute(context_with(store, try_number=2))
    assert all(i in str(err.value) for i in ids) and creatify_conn.count("POST", POST_PATH) == 2


def test_generations_held_by_other_map_indexes_are_not_candidates(creatify_conn):
    store = FakeStateStore()
    an_intent(store)
    sibling, ours = (CreatifyHook().create_generation(KLING, KLING_PARAMS).id for _ in range(2))
    context = context_with(store, try_number=2)
    context["ti"].others = {"generation_id": [sibling]}  # a mapped batch of one prompt, five variants
    assert operator().execute(context) == ours


def test_a_search_that_cannot_see_everything_fails(creatify_conn, monkeypatch):
    monkeypatch.setattr(resume_module, "SEARCH_LIMIT", 3)
    store = FakeStateStore()
    an_intent(store)
    for i in range(3):  # a full page, all newer than the intent: older ones are out of sight
        CreatifyHook().create_generation(KLING, {**KLING_PARAMS, "prompt": f"other {i}"})
    with pytest.raises(CreatifyCreateUncertainError, match="more than 3 generations since then"):
        operator().execute(context_with(store, try_number=2))


@pytest.mark.parametrize("adopt", [True, False])
def test_without_a_store_a_retry_adopts_only_when_asked(creatify_conn, adopt):
    made = CreatifyHook().create_generation(KLING, KLING_PARAMS)  # the lost try's, on Airflow 3.1/3.2
    generation_id = operator(adopt_on_retry=adopt).execute(context_with(try_number=2))
    assert (generation_id == made.id) is adopt
    assert creatify_conn.count("POST", POST_PATH) == (1 if adopt else 2)


def test_invalid_input_leaves_no_intent(creatify_conn):
    store = FakeStateStore()
    with pytest.raises(Exception, match="duration"):
        operator(input_params={**KLING_PARAMS, "duration": "7"}).execute(context_with(store))
    assert store.values == {} and creatify_conn.count("POST", POST_PATH) == 0


def test_the_intent_is_recorded_before_the_post(creatify_conn):
    store = FakeStateStore()
    creatify_conn.add_fault(FaultRule(method="POST", path=POST_PATH, status=400, count=1))
    with pytest.raises(Exception, match="400"):
        operator(validate_input=False).execute(context_with(store))
    saved = store.values[STATE_KEY]
    assert "generation_id" not in saved and saved["fingerprint"] == fingerprint(KLING, KLING_PARAMS)
    assert time.time() - 10 < saved["intent_at"] <= time.time()
