"""A create whose id was lost is found and adopted, never paid twice (and never guessed)."""

from __future__ import annotations

import time

import pytest

from airflow_provider_creatify.exceptions import CreatifyCreateUncertainError
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.lost_creates import fingerprint
from airflow_provider_creatify.sandbox import FaultRule
from airflow_provider_creatify.submission import STATE_KEY
from tests.helpers import KLING, KLING_PARAMS, POST_PATH, FakeStateStore, RecordingTI


def an_intent(store: FakeStateStore, params: dict = KLING_PARAMS, deadline: float = 0.0) -> None:
    """What a try killed between its POST and the record of the id leaves behind (3.3+)."""
    intent = {"intent_at": time.time(), "deadline": deadline or time.time() + 3600}
    store.set(STATE_KEY, {**intent, "fingerprint": fingerprint(KLING, params)})


def test_a_create_that_never_reached_creatify_is_sent_again(make_submission, creatify_conn):
    creatify_conn.add_fault(FaultRule(method="POST", path=POST_PATH, status=504, count=1))  # not processed
    generation, _ = make_submission().run(FakeStateStore(), RecordingTI(), None)
    assert list(creatify_conn.generations) == [generation.id]  # one generation, one bill


def test_an_intent_without_id_adopts_the_generation_it_made(make_submission, creatify_conn):
    store = FakeStateStore()
    first_deadline = time.time() + 1234
    an_intent(store, deadline=first_deadline)
    made = CreatifyHook().create_generation(KLING, KLING_PARAMS)  # the POST of the killed try
    generation, deadline = make_submission().run(store, RecordingTI(), None)
    assert generation.id == made.id and deadline == first_deadline
    assert creatify_conn.count("POST", POST_PATH) == 1
    assert store.values[STATE_KEY] == {  # recorded, with the first try's deadline kept
        "generation_id": made.id,
        "deadline": first_deadline,
        "fingerprint": fingerprint(KLING, KLING_PARAMS),
    }


def test_an_intent_without_a_generation_creates(make_submission, creatify_conn):
    store = FakeStateStore()
    an_intent(store)
    CreatifyHook().create_generation(KLING, {**KLING_PARAMS, "prompt": "another task's"})  # not ours
    generation, _ = make_submission().run(store, RecordingTI(), None)
    assert creatify_conn.count("POST", POST_PATH) == 2 and generation.id in creatify_conn.generations


def test_two_candidates_fail_listing_both_and_create_nothing(make_submission, creatify_conn):
    store = FakeStateStore()
    an_intent(store)
    ids = [CreatifyHook().create_generation(KLING, KLING_PARAMS).id for _ in range(2)]
    with pytest.raises(CreatifyCreateUncertainError, match="not guessing which to pay for") as err:
        make_submission().run(store, RecordingTI(), None)
    assert all(i in str(err.value) for i in ids) and creatify_conn.count("POST", POST_PATH) == 2


def test_generations_held_by_other_map_indexes_are_not_candidates(make_submission):
    store = FakeStateStore()
    an_intent(store)
    sibling, ours = (CreatifyHook().create_generation(KLING, KLING_PARAMS).id for _ in range(2))
    ti = RecordingTI()
    ti.others = {"generation_id": [sibling]}  # a mapped batch of one prompt, five variants
    assert make_submission().run(store, ti, None)[0].id == ours


def test_a_lost_create_on_a_later_page_of_the_list_is_adopted(make_submission, creatify_conn):
    store = FakeStateStore()
    an_intent(store)
    ours = CreatifyHook().create_generation(KLING, KLING_PARAMS).id  # the try's create: its id was lost
    for i in range(3):  # other tasks' creates since: the first page of 2 does not show ours
        CreatifyHook().create_generation(KLING, {**KLING_PARAMS, "prompt": f"other {i}"})
    creatify_conn.settings.list_page_size = 2
    assert make_submission().run(store, RecordingTI(), None)[0].id == ours
    assert creatify_conn.count("POST", POST_PATH) == 4


def test_a_search_that_cannot_see_everything_fails(make_submission, monkeypatch):
    monkeypatch.setattr("airflow_provider_creatify.hooks._generations.MAX_IDS_PER_READ", 3)
    store = FakeStateStore()
    an_intent(store)
    for i in range(3):  # a full page, all newer than the intent: older ones are out of sight
        CreatifyHook().create_generation(KLING, {**KLING_PARAMS, "prompt": f"other {i}"})
    with pytest.raises(CreatifyCreateUncertainError, match="more than the 3 listed were made since then"):
        make_submission().run(store, RecordingTI(), None)


def test_the_intent_is_recorded_before_the_post(make_submission, creatify_conn):
    store = FakeStateStore()
    creatify_conn.add_fault(FaultRule(method="POST", path=POST_PATH, status=400, count=1))
    with pytest.raises(Exception, match="400"):
        make_submission(validate_input=False).run(store, RecordingTI(), None)
    saved = store.values[STATE_KEY]
    assert "generation_id" not in saved and saved["fingerprint"] == fingerprint(KLING, KLING_PARAMS)
    assert time.time() - 10 < saved["intent_at"] <= time.time()


def lost_answer(creatify_conn) -> None:
    """The next create is made at Creatify, and its answer lost on the way back."""
    creatify_conn.add_fault(
        FaultRule(method="POST", path=POST_PATH, drop=True, after_processing=True, count=1)
    )


@pytest.mark.parametrize("omits", [("input_params",), ("created_at",), ("model_name",)])
def test_a_lost_answer_is_never_sent_again_without_proof_that_nothing_was_made(
    make_submission, creatify_conn, omits
):
    lost_answer(creatify_conn)
    creatify_conn.settings.list_omits = omits  # a listing that cannot tell what each was made from
    with pytest.raises(CreatifyCreateUncertainError, match="leaves out what") as err:
        make_submission().run(FakeStateStore(), RecordingTI(), None)
    assert creatify_conn.count("POST", POST_PATH) == 1 and len(creatify_conn.generations) == 1
    message = str(err.value)
    assert "CreatifyGenerationSensor" in message and "resume_on_retry=False" in message and KLING in message


@pytest.mark.parametrize(
    "failing",
    [
        FaultRule(method="GET", path=POST_PATH, status=500),
        FaultRule(method="GET", path=POST_PATH, body=b"{}"),
    ],
    ids=["500", "not-a-list"],
)
def test_a_list_that_fails_is_no_proof_either(make_submission, creatify_conn, failing):
    lost_answer(creatify_conn)
    creatify_conn.add_fault(failing)
    with pytest.raises(CreatifyCreateUncertainError, match="could not be read"):
        make_submission().run(FakeStateStore(), RecordingTI(), None)
    assert creatify_conn.count("POST", POST_PATH) == 1


def test_an_intent_whose_search_proves_nothing_fails_without_a_post(make_submission, creatify_conn):
    store = FakeStateStore()
    an_intent(store)
    CreatifyHook().create_generation(KLING, {**KLING_PARAMS, "prompt": "another task's"})
    creatify_conn.settings.list_omits = ("input_params",)
    with pytest.raises(CreatifyCreateUncertainError, match="leaves out"):
        make_submission().run(store, RecordingTI(), None)
    assert creatify_conn.count("POST", POST_PATH) == 1  # the other task's, before this try


def test_adopt_on_retry_without_a_dag_run_creates(make_submission, creatify_conn):
    """A retry's search starts at the DAG run's start: with no DAG run in the context, there is nothing
    to search from, and the try creates (it used to fail reading ``None.start_date``)."""
    generation, _ = make_submission(adopt_on_retry=True).run(None, RecordingTI(try_number=2), None)
    assert list(creatify_conn.generations) == [generation.id]
