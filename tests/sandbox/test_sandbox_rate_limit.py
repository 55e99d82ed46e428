"""The create rate limit: creates above ``create_rate_limit`` a second are answered 429, not billed."""

from __future__ import annotations

import json

import pytest

from airflow_provider_creatify.sandbox.__main__ import build_parser, write_counts
from airflow_provider_creatify.sandbox.faults import CreateRateLimiter, throttled_detail


def test_limiter_is_a_one_second_sliding_window():
    limiter = CreateRateLimiter()
    assert [limiter.admit(2, 100.0), limiter.admit(2, 100.4)] == [None, None]
    assert limiter.admit(2, 100.5) == pytest.approx(0.5)  # until the slot taken at 100.0 frees
    assert limiter.admit(2, 101.0) is None  # it has
    assert limiter.admit(2, 101.1) == pytest.approx(0.3)  # now the one taken at 100.4
    assert limiter.admit(3, 101.1) is None  # a higher limit applies at once
    assert limiter.admit(1, 101.2) == pytest.approx(0.9)  # a lower one: until two of three have freed


@pytest.mark.parametrize(
    ("wait", "header", "detail"),
    [
        (0.05, "1", "Request was throttled. Expected available in 1 second."),
        (1.0, "1", "Request was throttled. Expected available in 1 second."),
        (1.2, "2", "Request was throttled. Expected available in 2 seconds."),
    ],
)
def test_retry_after_is_whole_seconds_rounded_up(wait, header, detail):
    assert throttled_detail(wait) == (header, detail)


def post(api):
    return api.post(api.CREATE, json={"model_name": api.FLUX, "input_params": {"prompt": "x"}})


def test_creates_above_the_limit_get_429_with_retry_after_and_cost_nothing(sandbox, api):
    api.create()
    price = 10_000.0 - api.credits()
    sandbox.settings.create_rate_limit = 2
    answers = [post(api) for _ in range(6)]
    codes = [r.status_code for r in answers]
    assert codes[:2] == [201, 201] and 429 in codes  # six in well under 3 s: at least one refused
    refused = [r for r in answers if r.status_code == 429]
    for r in refused:
        assert r.headers["Retry-After"] == "1"
        assert r.json() == {"detail": "Request was throttled. Expected available in 1 second."}
    made = codes.count(201)
    assert len(sandbox.generations) == made + 1
    assert api.credits() == pytest.approx(10_000.0 - price * (made + 1))  # a refused create is free
    assert sandbox.count("POST", api.CREATE, status=429) == len(refused)
    assert api.get(api.SCHEMAS).status_code == 200  # reads are not limited
    api.wait_until(lambda: post(api).status_code == 201, interval=0.2)  # a slot frees within a second


def test_no_limit_by_default(sandbox, api):
    assert sandbox.settings.create_rate_limit is None
    for _ in range(5):
        api.create()
    assert sandbox.count(status=429) == 0


def test_cli_option_and_counts(sandbox, api, tmp_path):
    assert build_parser().parse_args([]).create_rate_limit is None
    assert build_parser().parse_args(["--create-rate-limit", "20"]).create_rate_limit == 20
    counts = tmp_path / "counts.json"
    write_counts(counts, sandbox)
    assert "create_throttled" not in json.loads(counts.read_text())  # only with a limit
    sandbox.settings.create_rate_limit = 1
    codes = [post(api).status_code for _ in range(3)]
    write_counts(counts, sandbox)
    found = json.loads(counts.read_text())
    assert found["create_throttled"] == codes.count(429) >= 1
    assert found["post_create"] == 3 and found["generations"] == codes.count(201)
