"""The credit guard before the POST, and an account out of credits at Creatify (against the sandbox)."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_creatify.exceptions import CreatifyInsufficientCreditsError, CreatifyRefusedError
from airflow_provider_creatify.sandbox import FaultRule, SandboxSettings
from tests.helpers import CREDITS_PATH, ONE_IMAGE, POST_PATH, RecordingTI


@pytest.fixture
def creatify_sandbox_settings() -> SandboxSettings:
    return SandboxSettings(generation_seconds=0.3, credits=1.0)


@pytest.fixture
def make_image(make_submission):
    """``make_image(**fields)``: a Submission of one nano-banana image (0.5 credits in the sandbox)."""
    return lambda **fields: make_submission(**ONE_IMAGE, **fields)


def test_below_the_minimum_nothing_is_created_and_the_task_is_not_retried(make_image, creatify_conn):
    with pytest.raises(CreatifyInsufficientCreditsError) as err:
        make_image(min_remaining_credits=5).run(None, RecordingTI(), None)
    message = str(err.value)
    assert "has 1 credits left, below this task's min_remaining_credits=5" in message
    assert "nano-banana" in message and "creatify_default" in message and "Nothing was created" in message
    assert err.value.remaining_credits == 1
    assert creatify_conn.count("POST", POST_PATH) == 0


def test_without_a_minimum_the_balance_is_not_read(make_image, creatify_conn):
    make_image().run(None, RecordingTI(), None)
    assert creatify_conn.count("GET", CREDITS_PATH) == 0


def test_out_of_credits_at_creatify_fails_clearly(make_image, creatify_conn):
    make_image().run(None, RecordingTI(), None)
    make_image().run(None, RecordingTI(), None)  # 1.0 credits: two images
    with pytest.raises(CreatifyInsufficientCreditsError, match="out of credits"):
        make_image().run(None, RecordingTI(), None)
    assert creatify_conn.count("POST", POST_PATH, status=400) == 1 and len(creatify_conn.generations) == 2


@pytest.mark.parametrize(
    "fault",
    [
        FaultRule(method="GET", path=CREDITS_PATH, status=404),  # the endpoint is absent
        FaultRule(method="GET", path=CREDITS_PATH, status=405),
        FaultRule(method="GET", path=CREDITS_PATH, body=b'{"credits": 12}'),  # another shape
    ],
    ids=["absent", "not-allowed", "other-shape"],
)
def test_a_balance_that_cannot_be_read_stops_the_guard_clearly_and_at_once(make_image, creatify_conn, fault):
    creatify_conn.add_fault(fault)

    with pytest.raises(CreatifyRefusedError) as err:
        make_image(min_remaining_credits=0.5).run(None, RecordingTI(), None)

    message = str(err.value)
    assert "min_remaining_credits needs the account's balance" in message and "creatify_default" in message
    assert "Remove min_remaining_credits" in message and "Check the id" not in message
    assert isinstance(err.value, AirflowFailException)  # Airflow's retries would only repeat it
    assert creatify_conn.count("POST", POST_PATH) == 0
