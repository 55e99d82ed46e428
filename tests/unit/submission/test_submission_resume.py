"""A retry's submission resumes the generation an earlier try recorded: never a second POST for one task."""

from __future__ import annotations

import time

from airflow_provider_creatify.lost_creates import fingerprint
from airflow_provider_creatify.submission import STATE_KEY, TryRecord
from tests.helpers import KLING, KLING_PARAMS, POST_PATH, FakeStateStore, RecordingTI


def test_generation_is_recorded_right_after_the_post(make_submission):
    store = FakeStateStore()
    before = time.time()
    generation, deadline = make_submission(timeout=100).run(store, RecordingTI(), None)
    saved = store.values[STATE_KEY]
    assert saved["generation_id"] == generation.id and before + 100 <= saved["deadline"] <= time.time() + 100
    assert saved["deadline"] == deadline


def test_retry_creates_anew_only_when_the_stored_generation_failed(make_submission, creatify_conn):
    store = FakeStateStore()
    first, _ = make_submission().run(store, RecordingTI(), None)
    creatify_conn.force_status(first.id, "failed", failed_reason="GPU on fire")
    second, _ = make_submission().run(store, RecordingTI(), None)
    assert second.id != first.id and store.values[STATE_KEY]["generation_id"] == second.id
    assert creatify_conn.count("POST", POST_PATH) == 2


def test_a_gone_generation_is_created_anew(make_submission, creatify_conn, capfd):
    store = FakeStateStore()
    gone = TryRecord(
        generation_id="no-such-id", deadline=time.time() + 60, fingerprint=fingerprint(KLING, KLING_PARAMS)
    )
    gone.save(store)
    generation, _ = make_submission().run(store, RecordingTI(), None)
    assert (
        store.values[STATE_KEY]["generation_id"] == generation.id
        and creatify_conn.count("POST", POST_PATH) == 1
    )
    assert "Generation no-such-id of an earlier try is gone; creating a new one." in capfd.readouterr().out


def test_retry_with_other_inputs_creates_anew_and_names_the_abandoned_one(
    make_submission, creatify_conn, capfd
):
    store = FakeStateStore()
    first, _ = make_submission().run(store, RecordingTI(), None)
    fixed = {**KLING_PARAMS, "prompt": "a fixed prompt"}  # the user fixed the prompt and cleared the task
    second, _ = make_submission(input_params=fixed).run(store, RecordingTI(), None)
    assert second.id != first.id and creatify_conn.count("POST", POST_PATH) == 2
    assert store.values[STATE_KEY]["fingerprint"] == fingerprint(KLING, fixed)
    out = capfd.readouterr().out
    assert f"{first.id} of an earlier try was made from another model or input_params" in out
    assert "may still finish, and bill" in out
    # the same inputs, keys in another order: the same generation
    reordered = dict(reversed(list(fixed.items())))
    third, _ = make_submission(input_params=reordered).run(store, RecordingTI(), None)
    assert third.id == second.id
    assert creatify_conn.count("POST", POST_PATH) == 2


def test_a_record_without_fingerprint_is_not_trusted(make_submission):
    store = FakeStateStore()
    first, _ = make_submission().run(store, RecordingTI(), None)
    del store.values[STATE_KEY]["fingerprint"]
    assert make_submission().run(store, RecordingTI(), None)[0].id != first.id
