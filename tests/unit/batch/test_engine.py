"""A batch creates each item once, whatever happens between its POSTs and its journal."""

from __future__ import annotations

import time

import pytest

from airflow_provider_creatify.batch.engine import BatchRun
from airflow_provider_creatify.exceptions import CreatifyAuthError, CreatifyValidationError
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.sandbox import FaultRule, SandboxSettings
from tests.helpers import FLUX, POST_PATH, SCHEMAS_PATH
from tests.unit.batch.conftest import NANO, prompts, run_until_finished, statuses


def test_each_item_is_created_once_and_a_later_try_creates_none(make_run, creatify_conn):
    entries = [*prompts(6), {"key": "flux", "model_name": FLUX, "input_params": {"prompt": "x"}}]
    run_until_finished(make_run(entries))
    assert creatify_conn.count("POST", POST_PATH) == 7
    assert creatify_conn.count("GET", SCHEMAS_PATH) == 2  # one schema read per model, before any POST

    again = make_run(entries, try_number=2)
    run_until_finished(again)

    assert creatify_conn.count("POST", POST_PATH) == 7  # re-attached, not created again
    assert set(statuses(again).values()) == {"done"}
    ids = [again.state.get(item.key).generation_id for item in again.items]
    assert sorted(ids) == sorted(creatify_conn.generations)


def test_each_intent_is_in_the_journal_before_its_post(make_run, creatify_conn, tmp_path):
    journal = tmp_path / "batch" / "state"
    seen: list[int] = []
    real_create = CreatifyHook.create_generation

    def create(hook, model_name, input_params, webhook_url=None):
        seen.append(sum("intent" in p.read_text() for p in journal.glob("*.jsonl")))
        return real_create(hook, model_name, input_params, webhook_url)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CreatifyHook, "create_generation", create)
        run_until_finished(make_run(prompts(3)))

    assert seen == [1, 1, 1]  # one segment, flushed before the chunk's first POST


def test_a_create_answered_503_after_it_was_made_is_adopted(make_run, creatify_conn):
    creatify_conn.add_fault(
        FaultRule(method="POST", path=POST_PATH, status=503, after_processing=True, count=1)
    )
    run = make_run(prompts(4))
    run_until_finished(run)
    assert creatify_conn.count("POST", POST_PATH) == 4
    assert len(creatify_conn.generations) == 4  # four billed, for four items
    assert set(statuses(run).values()) == {"done"}


@pytest.mark.parametrize("page_size", [None, 2], ids=["one-list", "pages-of-2"])
def test_a_worker_killed_after_its_posts_leaves_creates_the_next_try_adopts(
    make_run, creatify_conn, page_size
):
    creatify_conn.settings.list_page_size = page_size  # pages: the search follows them back
    killed = make_run(prompts(3))
    for item in killed.items:  # what the killed worker flushed, then POSTed, without its ids
        killed.state.intend(item.key, item.fingerprint, time.time())
        CreatifyHook().create_generation(NANO, item.input_params)
    killed.state.flush()

    retry = make_run(prompts(3), try_number=2)
    run_until_finished(retry)

    assert creatify_conn.count("POST", POST_PATH) == 3  # the killed worker's, none more
    assert set(statuses(retry).values()) == {"done"}


def test_an_intent_whose_post_never_reached_creatify_is_created_on_proof(make_run, creatify_conn):
    killed = make_run(prompts(2))
    for item in killed.items:
        killed.state.intend(item.key, item.fingerprint, time.time())
    killed.state.flush()

    retry = make_run(prompts(2), try_number=2)
    run_until_finished(retry)

    assert creatify_conn.count("POST", POST_PATH) == 2
    assert creatify_conn.count("GET", POST_PATH) >= 3  # the list read, three times, found none
    assert set(statuses(retry).values()) == {"done"}


def test_without_proof_a_lost_create_stays_uncertain_and_is_not_sent_again(make_run, creatify_conn):
    creatify_conn.settings = SandboxSettings(generation_seconds=1.0, list_omits=("input_params",))
    killed = make_run(prompts(2))
    CreatifyHook().create_generation(NANO, killed.items[0].input_params)
    for item in killed.items:
        killed.state.intend(item.key, item.fingerprint, time.time())
    killed.state.flush()

    retry = make_run(prompts(2), try_number=2)
    progress = run_until_finished(retry)

    assert progress.to_submit == 0
    assert creatify_conn.count("POST", POST_PATH) == 1  # only the killed worker's
    assert statuses(retry) == {"sku-0": "uncertain", "sku-1": "uncertain"}


def test_at_most_max_in_flight_run_at_once(make_run, creatify_conn):
    run = make_run(prompts(7), max_in_flight=3)
    progress = run.advance()
    assert (progress.in_flight, progress.to_submit) == (3, 4)
    assert creatify_conn.count("POST", POST_PATH) == 3
    while not (progress := run.advance()).finished:
        assert progress.in_flight <= 3
        time.sleep(0.1)
    assert creatify_conn.count("POST", POST_PATH) == 7


def test_the_credits_guard_stops_the_next_chunk(make_run, creatify_conn, monkeypatch):
    monkeypatch.setattr("airflow_provider_creatify.batch.engine.CHUNK_SIZE", 2)
    run = make_run(prompts(5), min_remaining_credits=creatify_conn.remaining_credits - 0.75)
    progress = run_until_finished(run)
    assert progress.stopped and "min_remaining_credits" in progress.stopped
    assert creatify_conn.count("POST", POST_PATH) == 2
    assert list(statuses(run).values()) == ["done", "done", "not_submitted", "not_submitted", "not_submitted"]


def test_an_invalid_item_fails_the_batch_before_any_post(make_run, creatify_conn):
    entries = [*prompts(3), {"key": "bad", "input_params": {"prompt": 7}}]
    with pytest.raises(CreatifyValidationError, match="1 of the batch's 4 items are invalid: item 'bad'"):
        make_run(entries).advance()
    assert creatify_conn.count("POST", POST_PATH) == 0


def test_on_invalid_skip_creates_the_valid_ones(make_run, creatify_conn):
    run = make_run([*prompts(2), {"key": "bad", "input_params": {}}], on_invalid="skip")
    run_until_finished(run)
    assert creatify_conn.count("POST", POST_PATH) == 2
    assert statuses(run) == {"sku-0": "done", "sku-1": "done", "bad": "invalid"}


def test_an_item_creatify_refuses_is_invalid_and_the_rest_go_on(make_run, creatify_conn):
    creatify_conn.add_fault(FaultRule(method="POST", path=POST_PATH, status=400, body=b'["No."]', count=1))
    run = make_run(prompts(3))
    run_until_finished(run)
    assert sorted(statuses(run).values()) == ["done", "done", "invalid"]
    assert len(creatify_conn.generations) == 2


def test_a_403_stops_the_batch_and_releases_its_intents(make_run, creatify_conn):
    creatify_conn.settings = SandboxSettings(generation_seconds=1.0, forbidden_reason="Upgrade your plan.")
    run = make_run(prompts(2))
    with pytest.raises(CreatifyAuthError, match="Upgrade your plan"):
        run.advance()
    assert run.lost() == []  # nothing was made: no search on the next try


def test_failed_items_are_created_again_only_with_resubmit_failed(make_run, creatify_conn):
    entries = [*prompts(1), {"key": "fails", "input_params": {"prompt": "[sandbox:fail] x"}}]
    run_until_finished(make_run(entries))
    run_until_finished(make_run(entries, try_number=2))
    assert creatify_conn.count("POST", POST_PATH) == 2

    again = make_run(entries, try_number=3, resubmit_failed=True)
    run_until_finished(again)

    assert creatify_conn.count("POST", POST_PATH) == 3  # the failed one, once more
    assert statuses(again) == {"sku-0": "done", "fails": "failed"}


def test_an_item_whose_input_changed_is_created_anew(make_run, creatify_conn):
    run_until_finished(make_run(prompts(2)))
    changed = [prompts(1)[0], {"key": "sku-1", "input_params": {"prompt": "a better prompt"}}]
    run = make_run(changed, try_number=2)
    run_until_finished(run)
    assert creatify_conn.count("POST", POST_PATH) == 3
    generation = creatify_conn.generations[run.state.get("sku-1").generation_id]
    assert generation["input_params"] == {"prompt": "a better prompt"}


def test_a_generation_past_its_timeout_is_timeout_in_the_manifest(make_run, creatify_conn):
    creatify_conn.settings = SandboxSettings(generation_seconds=30.0)
    run = make_run(prompts(1), timeout=0.5)
    run.advance()
    time.sleep(0.6)
    assert isinstance(run, BatchRun) and run.advance().finished
    assert statuses(run) == {"sku-0": "timeout"}
