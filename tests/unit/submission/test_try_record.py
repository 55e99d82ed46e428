"""The record a try leaves the next one: the shapes every version stored, read back and written alike."""

from __future__ import annotations

import pytest

from airflow_provider_creatify.lost_creates import fingerprint
from airflow_provider_creatify.submission import SENSOR_STATE_KEY, STATE_KEY, TryRecord
from tests.helpers import KLING, FakeStateStore

DIGEST = fingerprint(KLING, {"prompt": "a fox"})
#: What the create operator and the sensor have stored since they first did, keys in their order.
STORED = [
    pytest.param(
        STATE_KEY,
        {"intent_at": 1700000000.5, "deadline": 1700003600.5, "fingerprint": DIGEST},
        TryRecord(intent_at=1700000000.5, deadline=1700003600.5, fingerprint=DIGEST),
        id="intent",
    ),
    pytest.param(
        STATE_KEY,
        {"generation_id": "g1", "deadline": 1700003600.5, "fingerprint": DIGEST},
        TryRecord(generation_id="g1", deadline=1700003600.5, fingerprint=DIGEST),
        id="generation",
    ),
    pytest.param(
        SENSOR_STATE_KEY,
        {"generation_id": "g1", "deadline": 1700003600.5},
        TryRecord(generation_id="g1", deadline=1700003600.5),
        id="sensor",
    ),
]


@pytest.mark.parametrize(("key", "stored", "record"), STORED)
def test_a_record_stores_and_loads_as_every_version_did(key, stored, record):
    store = FakeStateStore()
    store.set(key, stored)
    assert TryRecord.load(store, key) == record
    again = FakeStateStore()
    record.save(again, key)
    assert list(again.values[key].items()) == list(stored.items())  # the same keys, in the same order


def test_a_whole_number_deadline_loads_as_a_float():
    store = FakeStateStore()
    store.set(STATE_KEY, {"generation_id": "g1", "deadline": 1700003600, "fingerprint": DIGEST})
    assert TryRecord.load(store) == TryRecord(generation_id="g1", deadline=1700003600.0, fingerprint=DIGEST)


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "g1",
        ["g1"],
        {},
        {"generation_id": "g1"},
        {"deadline": "soon"},
        {"generation_id": 7, "deadline": 1},
    ],
    ids=["absent", "a string", "a list", "empty", "no deadline", "a text deadline", "a number id"],
)
def test_what_no_try_wrote_is_no_record(stored):
    store = FakeStateStore()
    if stored is not None:
        store.set(STATE_KEY, stored)
    assert TryRecord.load(store) is None


def test_without_a_store_there_is_no_record():
    assert TryRecord.load(None) is None


def test_fingerprint_is_the_model_and_the_input():
    assert fingerprint(KLING, {"a": 1, "b": [1, 2]}) == fingerprint(KLING, {"b": [1, 2], "a": 1})
    assert fingerprint(KLING, {"a": 1}) != fingerprint(KLING, {"a": 2})
    assert fingerprint(KLING, {"a": 1}) != fingerprint("nano-banana", {"a": 1})
