"""The wait rules: Retry-After, backoff with jitter and the adaptive poll schedule."""

from __future__ import annotations

import time

import pytest

from airflow_provider_creatify.polling import backoff_delay, parse_retry_after, poll_delay


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 20))
    assert 15 < parse_retry_after(http_date) <= 20


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
