"""DAGs for the credit tests: a mapped batch bigger than the account's balance, with and without the guard."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag

from airflow_provider_creatify.operators.creatify import CreatifyCreateGenerationOperator

PROMPTS = [{"prompt": f"poster {n}"} for n in range(6)]


def batch(min_remaining_credits: float | None) -> None:
    CreatifyCreateGenerationOperator.partial(
        task_id="generate",
        model_name="nano-banana",
        poll_interval=0.2,
        min_remaining_credits=min_remaining_credits,
        retries=2,  # a refusal for lack of credits must not be retried
        retry_delay=timedelta(seconds=0),
    ).expand(input_params=PROMPTS)


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def creatify_credits_guarded():
    """Stops creating once the balance is under one image's price (0.5 credits)."""
    batch(0.5)


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def creatify_credits_unguarded():
    """Creates until Creatify refuses."""
    batch(None)


creatify_credits_guarded()
creatify_credits_unguarded()
