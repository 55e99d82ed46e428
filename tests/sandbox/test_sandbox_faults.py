"""Fault injection and the request log."""

from __future__ import annotations

import time

import aiohttp
import pytest
import requests

from airflow_provider_creatify.sandbox import FaultRule, RequestRecord
from tests.helpers import STATUS_PATH


def test_429_with_retry_after(sandbox, api):
    gen = api.create()
    sandbox.add_fault(FaultRule(method="GET", path=STATUS_PATH, status=429, retry_after=1))
    r = api.get(api.detail_path(gen["id"]))
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "1"
    assert r.json() == {"detail": "Request was throttled."}
    assert api.get(api.SCHEMAS).status_code == 200  # other paths unaffected
    assert sandbox.count(status=429) == 1


def test_rate_is_probabilistic_and_seeded(sandbox, api):
    gen = api.create()
    sandbox.add_fault(FaultRule(method="GET", path=STATUS_PATH, status=429, rate=0.3))
    codes = [api.get(api.detail_path(gen["id"])).status_code for _ in range(100)]
    assert set(codes) == {200, 429}
    assert 10 <= codes.count(429) <= 50
    assert sandbox.count("GET", STATUS_PATH, status=429) == codes.count(429)


@pytest.mark.parametrize("status", [502, 503])
def test_5xx_is_an_html_gateway_page(sandbox, api, status):
    sandbox.add_fault(FaultRule(path=api.SCHEMAS, status=status))
    r = api.get(api.SCHEMAS)
    assert r.status_code == status
    assert r.headers["content-type"] == "text/html"
    with pytest.raises(ValueError):
        r.json()


def test_slow_response(sandbox, api):
    sandbox.add_fault(FaultRule(path=api.SCHEMAS, delay=0.4))
    started = time.monotonic()
    assert api.get(api.SCHEMAS).status_code == 200
    assert time.monotonic() - started >= 0.4
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.get(api.SCHEMAS, timeout=0.1)


def test_delays_add_and_first_rule_wins(sandbox, api):
    sandbox.add_fault(FaultRule(path=api.SCHEMAS, delay=0.15))
    sandbox.add_fault(FaultRule(path=api.SCHEMAS, delay=0.15, status=503))
    sandbox.add_fault(FaultRule(path=api.SCHEMAS, status=429))
    started = time.monotonic()
    assert api.get(api.SCHEMAS).status_code == 503
    assert time.monotonic() - started >= 0.3


def test_dropped_connection_requests(sandbox, api):
    gen = api.create()
    sandbox.add_fault(FaultRule(path=STATUS_PATH, drop=True))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.get(api.detail_path(gen["id"]))
    sandbox.clear_faults()
    assert api.get(api.detail_path(gen["id"])).status_code == 200  # the session recovers
    assert sandbox.count(path=STATUS_PATH, status=0) == 1


async def test_dropped_connection_aiohttp(sandbox):
    sandbox.add_fault(FaultRule(path="/api/asset_generator/schemas/", drop=True))
    headers = {"X-API-ID": sandbox.api_id, "X-API-KEY": sandbox.api_key}
    async with aiohttp.ClientSession(headers=headers) as session:
        with pytest.raises(aiohttp.ClientPayloadError):
            async with session.get(sandbox.base_url + "/api/asset_generator/schemas/") as r:
                assert r.status == 200
                await r.read()


def test_truncated_body(sandbox, api):
    gen = api.create()
    sandbox.add_fault(FaultRule(path=STATUS_PATH, body=b'{"id": "tru', rate=1.0))
    r = api.get(api.detail_path(gen["id"]))
    assert r.status_code == 200
    assert r.content == b'{"id": "tru'
    with pytest.raises(requests.exceptions.JSONDecodeError):
        r.json()


def test_count_limited_fault(sandbox, api):
    sandbox.add_fault(FaultRule(path=api.SCHEMAS, count=3, status=503, rate=0.0))
    codes = [api.get(api.SCHEMAS).status_code for _ in range(5)]
    assert codes == [503, 503, 503, 200, 200]
    assert sandbox.faults == []


def test_post_fault_creates_no_generation(sandbox, api):
    sandbox.add_fault(FaultRule(method="POST", path=api.CREATE, status=503, count=1))
    sandbox.add_fault(FaultRule(method="POST", path=api.CREATE, drop=True, count=1))
    body = {"model_name": "nano-banana", "input_params": {"prompt": "x"}}
    assert api.post(api.CREATE, json=body).status_code == 503
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.post(api.CREATE, json=body)
    assert sandbox.generations == {}
    assert api.post(api.CREATE, json=body).status_code == 201
    assert len(sandbox.generations) == 1


def test_post_drop_after_processing_creates_generation(sandbox, api):
    sandbox.add_fault(FaultRule(method="POST", path=api.CREATE, drop=True, after_processing=True, count=1))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.post(api.CREATE, json={"model_name": "nano-banana", "input_params": {"prompt": "x"}})
    (gen,) = sandbox.generations.values()
    assert gen["model_name"] == "nano-banana"
    assert sandbox.count("POST", api.CREATE, status=0) == 1


def test_post_502_after_processing_creates_generation(sandbox, api):
    sandbox.add_fault(FaultRule(method="POST", path=api.CREATE, status=502, after_processing=True))
    r = api.post(api.CREATE, json={"model_name": "nano-banana", "input_params": {"prompt": "x"}})
    assert r.status_code == 502
    assert len(sandbox.generations) == 1


def test_fault_filters(sandbox, api):
    gen = api.create()
    asset_url = api.wait_final(gen["id"])["assets"][0]["url"]
    sandbox.add_fault(FaultRule(method="POST", status=500))  # any API path, POST only
    assert api.get(api.detail_path(gen["id"])).status_code == 200
    sandbox.clear_faults()
    sandbox.add_fault(FaultRule(status=500))  # path=None: every API path, never media
    assert api.get(api.SCHEMAS).status_code == 500
    assert requests.get(asset_url, timeout=5).status_code == 200
    sandbox.add_fault(FaultRule(path="/media/{name}", status=503))  # media only when named
    assert requests.get(asset_url, timeout=5).status_code == 503


def test_faults_precede_auth_and_are_logged(sandbox):
    sandbox.add_fault(FaultRule(path="/api/asset_generator/schemas/", status=429, count=1))
    r = requests.get(sandbox.base_url + "/api/asset_generator/schemas/", timeout=5)
    assert r.status_code == 429
    r = requests.get(sandbox.base_url + "/api/asset_generator/schemas/", timeout=5)
    assert r.status_code == 401


def test_request_log_and_count(sandbox, api):
    before = time.time()
    gen = api.create()
    api.get(api.detail_path(gen["id"]))
    api.get(api.SCHEMAS, params={"model_name": "nano-banana"})
    api.post(api.CREATE, json={})
    records = sandbox.requests
    assert [(r.method, r.path, r.status) for r in records] == [
        ("POST", api.CREATE, 201),
        ("GET", api.detail_path(gen["id"]), 200),
        ("GET", api.SCHEMAS, 200),
        ("POST", api.CREATE, 400),
    ]
    assert all(isinstance(r, RequestRecord) and r.time >= before for r in records)
    assert records == sorted(records, key=lambda r: r.time)
    assert sandbox.count("POST", api.CREATE) == 2
    assert sandbox.count("post", api.CREATE, status=201) == 1
    assert sandbox.count("GET", STATUS_PATH) == 1
    assert sandbox.count(path=api.detail_path(gen["id"])) == 1
    assert sandbox.count(status=400) == 1
    assert sandbox.count() == 4
    records.clear()  # a copy
    assert len(sandbox.requests) == 4
