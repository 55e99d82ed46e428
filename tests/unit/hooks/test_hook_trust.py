"""The API key goes to the connection's origin only: no redirect followed, no plain http off loopback, no
base URL with a query, fragment or user info; the connection Test is one short try that echoes no body."""

from __future__ import annotations

import json
import time

import pytest
from airflow.sdk import Connection

from airflow_provider_creatify.exceptions import CreatifyAPIError, CreatifyConfigError
from airflow_provider_creatify.hooks._connection import base_url_from_connection
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.sandbox import FaultRule
from tests.helpers import FLUX, SCHEMAS_PATH, LoopbackServer

GEN_ID = "11111111-2222-3333-4444-555555555555"


def use_base_url(monkeypatch, base_url: str, key: str = "the-secret-key") -> None:
    conn = {"conn_type": "creatify", "login": "id", "password": key, "host": base_url}
    monkeypatch.setenv("AIRFLOW_CONN_CREATIFY_DEFAULT", json.dumps(conn))


@pytest.fixture
def redirected(monkeypatch):
    """The connection points at a server whose every answer is a 302 to another loopback server."""
    with LoopbackServer(lambda *_: (200, {}, b"{}")) as elsewhere:
        to = lambda method, path, headers: (302, {"Location": f"{elsewhere.url}/stolen{path}"}, b"")  # noqa: E731
        with LoopbackServer(to) as redirecting:
            use_base_url(monkeypatch, redirecting.url)
            yield redirecting, elsewhere


@pytest.mark.parametrize(
    ("call", "requests"),
    [
        (lambda hook: hook.get_generation(GEN_ID), 1),
        (lambda hook: hook.list_models(), 1),
        (lambda hook: hook.get_generations([GEN_ID]), 2),  # the list, then the id alone: both refused
        (lambda hook: hook.create_generation(FLUX, {"prompt": "x"}), 1),
    ],
    ids=["read", "schemas", "read-many", "create"],
)
def test_no_sync_call_follows_a_redirect_with_the_key(redirected, call, requests):
    redirecting, elsewhere = redirected
    with pytest.raises(
        CreatifyAPIError, match=r"HTTP 302, a redirect to http://127\.0\.0\.1:\d+/stolen"
    ) as err:
        call(CreatifyHook())
    assert not err.value.is_transient and "nothing was sent there" in str(err.value)
    assert len(redirecting.seen) == requests and elsewhere.seen == []  # not retried; none reached the target


async def test_no_async_read_follows_a_redirect_with_the_key(redirected):
    redirecting, elsewhere = redirected
    async with CreatifyHook() as hook:
        for read in (hook.aget_generation, hook.aget_generation_in_batch):
            with pytest.raises(CreatifyAPIError, match="HTTP 302, a redirect to"):
                await read(GEN_ID)
        with pytest.raises(CreatifyAPIError, match="HTTP 302, a redirect to"):
            await hook.aget_generations([GEN_ID])
    # one each; the batch's list was refused, then its id read alone, and the list rested after that
    assert len(redirecting.seen) == 4 and elsewhere.seen == []


@pytest.mark.parametrize(
    ("host", "schema"),
    [
        ("http://api.creatify.ai", None),
        ("api.creatify.ai", "http"),
        ("http://10.0.0.5:8080", None),
        ("http://127.0.0.1.example.com", None),
        ("http://localhost.example.com", None),
    ],
)
def test_plain_http_is_refused_off_loopback(host, schema):
    conn = Connection(conn_id="c", conn_type="creatify", host=host, schema=schema)
    with pytest.raises(CreatifyConfigError, match=r"'c' uses plain http to .*unencrypted.*Use https"):
        base_url_from_connection(conn)


@pytest.mark.parametrize("host", ["http://127.0.0.1:8765", "http://[::1]:8765", "http://localhost:8765"])
def test_plain_http_is_allowed_to_loopback(host):
    assert base_url_from_connection(Connection(conn_id="c", conn_type="creatify", host=host)) == host


@pytest.mark.parametrize(
    "host",
    [
        "https://api.creatify.ai/?token=s3cret",
        "https://api.creatify.ai/#s3cret",
        "https://user:s3cret@api.creatify.ai",
        "https://s3cret@api.creatify.ai",
    ],
)
def test_a_base_url_with_query_fragment_or_user_info_is_refused(host):
    with pytest.raises(CreatifyConfigError, match="query, a fragment or user info") as err:
        base_url_from_connection(Connection(conn_id="c", conn_type="creatify", host=host))
    assert "s3cret" not in str(err.value)


def test_the_connection_test_refuses_such_a_base_url(monkeypatch):
    use_base_url(monkeypatch, "https://user:pw@api.creatify.ai")
    ok, message = CreatifyHook().test_connection()
    assert not ok and "user info" in message and "pw@" not in message


def test_the_connection_test_is_one_try(creatify_conn):
    creatify_conn.add_fault(FaultRule(path=SCHEMAS_PATH, status=503))
    ok, message = CreatifyHook().test_connection()
    assert not ok and "HTTP 503" in message
    assert creatify_conn.count("GET", SCHEMAS_PATH) == 1  # a read elsewhere is retried 5 times


def test_the_connection_test_gives_up_after_its_short_timeout(creatify_conn, monkeypatch):
    monkeypatch.setattr(CreatifyHook, "connection_test_timeout", 0.5)
    creatify_conn.add_fault(FaultRule(path=SCHEMAS_PATH, delay=30))
    started = time.monotonic()
    ok, message = CreatifyHook(request_timeout=60).test_connection()
    assert not ok and "no answer from Creatify" in message
    assert time.monotonic() - started < 15  # its 0.5 s, not the 30 s answer nor request_timeout's 60


@pytest.mark.parametrize("status", [200, 400])
def test_the_connection_test_echoes_no_body_that_is_not_creatify_json(monkeypatch, status):
    page = b"<html><body>internal admin console: DB_PASSWORD=hunter2</body></html>"
    with LoopbackServer(lambda *_: (status, {"Content-Type": "text/html"}, page)) as internal:
        use_base_url(monkeypatch, internal.url)
        ok, message = CreatifyHook().test_connection()
    assert not ok and f"HTTP {status}" in message and f"{len(page)} bytes" in message
    assert "hunter2" not in message and "admin" not in message


def test_the_connection_test_shows_creatify_s_decoded_error(monkeypatch):
    with LoopbackServer(lambda *_: (400, {}, b'["AI model not found"]')) as api:
        use_base_url(monkeypatch, api.url)
        ok, message = CreatifyHook().test_connection()
    assert not ok and "HTTP 400): AI model not found" in message


def echoing_the_key(sandbox) -> FaultRule:
    """A refusal that echoes the API key and the API ID back, as a careless API may."""
    body = json.dumps({"detail": f"invalid API key {sandbox.api_key} for {sandbox.api_id}"}).encode()
    return FaultRule(status=400, body=body)


def test_an_answer_that_echoes_the_key_never_carries_it_into_a_message(creatify_conn):
    creatify_conn.add_fault(echoing_the_key(creatify_conn))
    with pytest.raises(CreatifyAPIError) as err:
        CreatifyHook().list_models()
    ok, message = CreatifyHook().test_connection()
    for text in (str(err.value), err.value.body, message):
        assert creatify_conn.api_key not in text and creatify_conn.api_id not in text
        assert "invalid API key ***" in text
    assert not ok
