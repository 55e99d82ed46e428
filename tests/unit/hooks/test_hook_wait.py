"""The blocking wait: reads that fail after their retries, a bounded error streak, permanent errors."""

from __future__ import annotations

import time

import pytest

from airflow_provider_creatify.exceptions import CreatifyAPIError, CreatifyError, CreatifyNotFoundError
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.polling import GenerationWait
from airflow_provider_creatify.sandbox import FaultRule
from tests.helpers import FLUX, STATUS_PATH


def test_blocking_wait_rides_out_reads_that_fail_after_their_retries(creatify_conn):
    """As the trigger does: a read whose retries all failed transiently does not end the wait."""
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    hook = CreatifyHook(max_retries=1)  # each read: 2 tries
    creatify_conn.add_fault(FaultRule(path=STATUS_PATH, status=502, count=5))  # reads 1 and 2 fail, 3 half
    done = hook.wait_for_generation(generation.id, poll_interval=0.05, deadline=time.time() + 30)
    assert done.is_done and creatify_conn.count("GET", STATUS_PATH, status=502) == 5


def test_blocking_wait_ends_after_a_bounded_run_of_failed_reads(creatify_conn, monkeypatch):
    monkeypatch.setattr(GenerationWait, "max_consecutive_errors", 3)
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    creatify_conn.add_fault(FaultRule(path=STATUS_PATH, status=503))
    with pytest.raises(CreatifyError, match=r"3 reads in a row failed; the last: .*HTTP 503") as err:
        CreatifyHook(max_retries=1).wait_for_generation(generation.id, poll_interval=0.05, deadline=10**10)
    assert isinstance(err.value.__cause__, CreatifyAPIError)  # the same words as the trigger's
    assert generation.id in str(err.value) and creatify_conn.count("GET", STATUS_PATH) == 3 * 2


def test_blocking_wait_ends_at_once_on_a_permanent_error(creatify_conn):
    with pytest.raises(CreatifyNotFoundError):
        CreatifyHook().wait_for_generation("no-such-id", poll_interval=0.05, deadline=10**10)
    assert creatify_conn.count("GET", STATUS_PATH) == 1
