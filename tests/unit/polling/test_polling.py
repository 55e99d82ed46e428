"""The wait rules: Retry-After, backoff with jitter, the adaptive poll schedule, what a read or error does."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from unittest import mock

import pytest

from airflow_provider_creatify.exceptions import CreatifyAPIError
from airflow_provider_creatify.generation import Generation
from airflow_provider_creatify.polling import GenerationWait, backoff_delay, parse_retry_after, poll_delay


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 20))
    delay = parse_retry_after(http_date)
    assert delay is not None and 15 < delay <= 20


def test_backoff_grows_is_capped_jittered_and_honours_retry_after():
    delays = [backoff_delay(n, base=1, cap=8) for n in range(6)]
    assert 0.5 <= delays[0] <= 1 and 1 <= delays[1] <= 2 and all(4 <= d <= 8 for d in delays[3:])
    assert len({backoff_delay(3, base=1, cap=8) for _ in range(20)}) > 1  # jitter
    assert backoff_delay(0, base=1, cap=8, retry_after=5) == 5
    assert backoff_delay(0, base=1, cap=8, retry_after=500) == 8


@pytest.mark.parametrize(
    ("age", "poll_interval", "expected"),
    [
        (0, 30, 5.0),  # young: the shortest wait
        (10, 30, 5.0),
        (100, 30, 20.0),  # a fifth of its age
        (1000, 30, 30.0),  # old: the user's poll_interval caps it
        (100, 2, 2.0),  # a poll_interval under the shortest wait polls at that interval
        (None, 30, 5.0),  # no created_at: the shortest wait
    ],
)
def test_adaptive_poll_delay(age, poll_interval, expected):
    assert poll_delay(age, poll_interval) == pytest.approx(expected, abs=0.05)


def test_fixed_polling_when_min_equals_max():
    assert poll_delay(0, 5, min_poll_interval=5) == 5
    assert poll_delay(1000, 5, min_poll_interval=5) == 5


def generation(status: str, *, age: float = 100.0) -> Generation:
    created = datetime.now(timezone.utc) - timedelta(seconds=age)
    return Generation.from_api(
        {"id": "g-1", "status": status, "model_name": "flux", "created_at": created.isoformat()}
    )


def test_after_read_logs_each_status_change_once_and_ends_on_a_terminal_status():
    log = mock.Mock()
    wait = GenerationWait(
        generation_id="g-1", deadline=time.time() + 60, poll_interval=30, log=log, last_status="pending"
    )
    wait.errors = 3
    assert wait.after_read(generation("pending")) == pytest.approx(20, abs=1)  # a fifth of 100 s
    assert wait.errors == 0 and wait.model_name == "flux" and wait.last_status == "pending"
    wait.after_read(generation("generating"))
    wait.after_read(generation("generating"))
    assert wait.after_read(generation("done")) is None and wait.last_status == "done"
    # the caller logged pending; done is the caller's to say, with the assets and credits
    assert [c.args[2] for c in log.info.call_args_list] == ["generating"]


def test_after_error_counts_the_streak_and_a_permanent_error_ends_the_wait():
    wait = GenerationWait(generation_id="g-1", deadline=time.time() + 60, poll_interval=1, log=mock.Mock())
    assert wait.after_error(CreatifyAPIError("no answer", transient=True)) > 0
    assert wait.errors == 1
    with pytest.raises(CreatifyAPIError):
        wait.after_error(CreatifyAPIError("gone", http_status=404))
