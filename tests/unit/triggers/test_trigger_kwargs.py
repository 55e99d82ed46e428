"""What a trigger stores in Airflow's DB is a contract: pinned, and every earlier shape still loads.

A trigger is stored as its class path and ``serialize()``'s kwargs, and rebuilt from them by whichever
triggerer picks it up, possibly one running a newer release of this provider. A renamed key would strand
the waits stored before the upgrade; these tests fail first.
"""

from __future__ import annotations

import json

import pytest

from airflow_provider_creatify.triggers.batch import CreatifyBatchTrigger
from airflow_provider_creatify.triggers.creatify import CreatifyGenerationTrigger

GENERATION_TRIGGER = "airflow_provider_creatify.triggers.creatify.CreatifyGenerationTrigger"
#: What each earlier version of the generation trigger stored, oldest first (git history of
#: triggers/creatify.py): the first release's five keys, then every key added since.
STORED_BEFORE = [
    {
        "generation_id": "g1",
        "deadline": 1800000000.0,
        "creatify_conn_id": "creatify_default",
        "poll_interval": 10.0,
        "model_name": "nano-banana",
    },
    {
        "generation_id": "g1",
        "deadline": 1800000000.0,
        "creatify_conn_id": "creatify_default",
        "poll_interval": 10.0,
        "model_name": "nano-banana",
        "min_poll_interval": 5.0,
        "end_from_trigger": True,
        "execution_deadline": None,
        "last_status": "generating",
    },
]


def test_the_generation_trigger_stores_exactly_these_kwargs():
    trigger = CreatifyGenerationTrigger(
        generation_id="g1",
        deadline=1800000000.0,
        creatify_conn_id="creatify_other",
        poll_interval=20.0,
        model_name="nano-banana",
        min_poll_interval=5.0,
        end_from_trigger=True,
        execution_deadline=1800000100.0,
        last_status="initializing",
    )
    assert trigger.serialize() == (
        GENERATION_TRIGGER,
        {
            "generation_id": "g1",
            "deadline": 1800000000.0,
            "creatify_conn_id": "creatify_other",
            "poll_interval": 20.0,
            "model_name": "nano-banana",
            "min_poll_interval": 5.0,
            "end_from_trigger": True,
            "execution_deadline": 1800000100.0,
            "last_status": "initializing",
        },
    )


@pytest.mark.parametrize("stored", STORED_BEFORE, ids=["first-release", "current"])
def test_every_earlier_stored_shape_still_builds_the_same_wait(stored):
    trigger = CreatifyGenerationTrigger(**stored)
    _, kwargs = trigger.serialize()
    assert {key: kwargs[key] for key in stored} == stored  # nothing it stored is read differently
    assert kwargs["end_from_trigger"] is stored.get("end_from_trigger", False)  # older: the worker resumes


def test_the_batch_trigger_stores_exactly_these_few_primitives_whatever_the_batch():
    trigger = CreatifyBatchTrigger(
        output_path="s3://aws_default@bucket/creatify/2026-12-07/",
        creatify_conn_id="creatify_other",
        poll_interval=30.0,
        timeout=3600.0,
        wake_after=25,
        execution_deadline=None,
    )
    assert trigger.serialize() == (
        "airflow_provider_creatify.triggers.batch.CreatifyBatchTrigger",
        {
            "output_path": "s3://aws_default@bucket/creatify/2026-12-07/",
            "creatify_conn_id": "creatify_other",
            "poll_interval": 30.0,
            "timeout": 3600.0,
            "wake_after": 25,
            "execution_deadline": None,
        },
    )
    assert json.loads(json.dumps(trigger.serialize()[1])) == trigger.serialize()[1]
