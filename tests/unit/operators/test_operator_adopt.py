"""The operator adopts a create whose answer was lost (this try's, or on 3.1/3.2 an earlier try's).

The search itself, its records and its refusals: tests/unit/submission/test_submission_adopt.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.sandbox import FaultRule
from airflow_provider_creatify.submission import STATE_KEY
from tests.helpers import (
    KLING,
    KLING_PARAMS,
    POST_PATH,
    FakeDagRun,
    FakeStateStore,
    RecordingTI,
    make_context,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


def context_with(store: FakeStateStore | None = None, *, try_number: int = 1) -> Context:
    started = datetime.now(timezone.utc) - timedelta(minutes=1)
    return make_context(store, ti=RecordingTI(try_number), dag_run=FakeDagRun(start_date=started))


@pytest.mark.parametrize("store", [FakeStateStore(), None], ids=["3.3 store", "no store"])
def test_a_lost_answer_is_found_and_adopted_without_a_second_post(creatify_conn, make_operator, capfd, store):
    # Creatify creates the generation, then the answer is lost on the way back
    lost = FaultRule(method="POST", path=POST_PATH, drop=True, after_processing=True, count=1)
    creatify_conn.add_fault(lost)
    generation_id = make_operator(wait_for_completion=False).execute(context_with(store))
    (created,) = creatify_conn.generations
    assert generation_id == created and creatify_conn.count("POST", POST_PATH) == 1
    assert f"Adopting Creatify generation {created}" in capfd.readouterr().out
    if store is not None:
        assert store.values[STATE_KEY]["generation_id"] == created


@pytest.mark.parametrize("adopt", [True, False])
def test_without_a_store_a_retry_adopts_only_when_asked(creatify_conn, make_operator, adopt):
    made = CreatifyHook().create_generation(KLING, KLING_PARAMS)  # the lost try's, on Airflow 3.1/3.2
    no_wait = make_operator(wait_for_completion=False, adopt_on_retry=adopt)
    generation_id = no_wait.execute(context_with(try_number=2))
    assert (generation_id == made.id) is adopt
    assert creatify_conn.count("POST", POST_PATH) == (1 if adopt else 2)
