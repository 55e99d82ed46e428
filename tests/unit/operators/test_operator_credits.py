"""Credits on the create operator: the guard passed, what a finished generation cost is pushed and logged.

The guard's refusal and an account out of credits: tests/unit/submission/test_submission_credits.py.
"""

from __future__ import annotations

import pytest

from airflow_provider_creatify.sandbox import SandboxSettings
from tests.helpers import CREDITS_PATH, ONE_IMAGE, POST_PATH, make_context, pushed


@pytest.fixture
def creatify_sandbox_settings() -> SandboxSettings:
    return SandboxSettings(generation_seconds=0.3, credits=1.0)


def test_at_or_above_the_minimum_it_creates_and_pushes_what_it_cost(creatify_conn, make_operator, capfd):
    context = make_context()
    make_operator(**ONE_IMAGE, deferrable=False, min_remaining_credits=0.5).execute(context)
    assert creatify_conn.count("GET", CREDITS_PATH) == 1 and creatify_conn.count("POST", POST_PATH) == 1
    assert pushed(context)["credits_used"] == 0.5
    logged = capfd.readouterr().out
    assert "The Creatify account has 1 credits left (min_remaining_credits=0.5)." in logged
    assert "done with 1 asset(s), 0.5 credits used." in logged
