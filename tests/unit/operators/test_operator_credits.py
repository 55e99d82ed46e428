"""Credits on the create operator: the guard before the POST, and what a finished generation cost."""

from __future__ import annotations

import pytest

from airflow_provider_creatify.exceptions import CreatifyInsufficientCreditsError
from airflow_provider_creatify.operators.creatify import CreatifyCreateGenerationOperator
from airflow_provider_creatify.sandbox import SandboxSettings
from tests.helpers import CREDITS_PATH, POST_PATH, make_context


@pytest.fixture
def creatify_sandbox_settings() -> SandboxSettings:
    return SandboxSettings(generation_seconds=0.3, credits=1.0)


def make_operator(**kwargs) -> CreatifyCreateGenerationOperator:
    kwargs = {
        "model_name": "nano-banana",
        "input_params": {"prompt": "a fox"},
        "poll_interval": 0.1,
        **kwargs,
    }
    return CreatifyCreateGenerationOperator(task_id="create", deferrable=False, **kwargs)


def test_below_the_minimum_nothing_is_created_and_the_task_is_not_retried(creatify_conn):
    with pytest.raises(CreatifyInsufficientCreditsError) as err:
        make_operator(min_remaining_credits=5).execute(make_context())
    message = str(err.value)
    assert "has 1 credits left, below this task's min_remaining_credits=5" in message
    assert "nano-banana" in message and "creatify_default" in message and "Nothing was created" in message
    assert err.value.remaining_credits == 1
    assert creatify_conn.count("POST", POST_PATH) == 0


def test_at_or_above_the_minimum_it_creates_and_pushes_what_it_cost(creatify_conn, capfd):
    context = make_context()
    make_operator(min_remaining_credits=0.5).execute(context)
    assert creatify_conn.count("GET", CREDITS_PATH) == 1 and creatify_conn.count("POST", POST_PATH) == 1
    assert context["ti"].xcom["credits_used"] == 0.5
    logged = capfd.readouterr().out
    assert "The Creatify account has 1 credits left (min_remaining_credits=0.5)." in logged
    assert "done with 1 asset(s), 0.5 credits used." in logged


def test_without_a_minimum_the_balance_is_not_read(creatify_conn):
    make_operator().execute(make_context())
    assert creatify_conn.count("GET", CREDITS_PATH) == 0


def test_out_of_credits_at_creatify_fails_clearly(creatify_conn):
    make_operator().execute(make_context())
    make_operator().execute(make_context())  # 1.0 credits: two images
    with pytest.raises(CreatifyInsufficientCreditsError, match="out of credits"):
        make_operator().execute(make_context())
    assert creatify_conn.count("POST", POST_PATH, status=400) == 1 and len(creatify_conn.generations) == 2
