"""The hook's retries: reads ride out transient errors; the create POST is never sent twice."""

from __future__ import annotations

import json
import socket
import time
from http.server import BaseHTTPRequestHandler

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import Connection

from airflow_provider_creatify.exceptions import (
    CreatifyAPIError,
    CreatifyAuthError,
    CreatifyCreateUncertainError,
    CreatifyNotFoundError,
)
from airflow_provider_creatify.hooks._http import CREATE_THROTTLE_BUDGET
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.sandbox import FaultRule
from tests.helpers import FLUX, POST_PATH, SCHEMAS_PATH, STATUS_PATH, LoopbackServer, send


@pytest.fixture
def sleeps(monkeypatch):
    """The delays the sync hook sleeps between tries (without sleeping them)."""
    recorded: list[float] = []
    monkeypatch.setattr(time, "sleep", recorded.append)  # the time module: every sleep of the hook
    return recorded


# -- reads -------------------------------------------------------------------------------------------


def test_reads_survive_every_kind_of_transient_error(creatify_conn, sleeps):
    for rule in (
        FaultRule(path=SCHEMAS_PATH, status=429, retry_after=0.01, count=1),
        FaultRule(path=SCHEMAS_PATH, status=502, count=1),
        FaultRule(path=SCHEMAS_PATH, status=503, count=1),
        FaultRule(path=SCHEMAS_PATH, drop=True, count=1),
        FaultRule(path=SCHEMAS_PATH, body=b'[{"model_na', count=1),
    ):
        creatify_conn.add_fault(rule)
    assert CreatifyHook().list_models()
    assert creatify_conn.count("GET", SCHEMAS_PATH) == 6 and len(sleeps) == 5


def test_retry_after_is_honoured(creatify_conn, sleeps, monkeypatch):
    monkeypatch.setattr(CreatifyHook, "retry_max_delay", 30.0)
    creatify_conn.add_fault(FaultRule(path=SCHEMAS_PATH, status=429, retry_after=7, count=1))
    CreatifyHook().list_models()
    assert sleeps == [7.0]


def test_reads_give_up_after_max_retries(creatify_conn, sleeps):
    creatify_conn.add_fault(FaultRule(path=SCHEMAS_PATH, status=503))
    with pytest.raises(CreatifyAPIError, match="HTTP 503") as err:
        CreatifyHook(max_retries=3).list_models()
    assert err.value.is_transient and creatify_conn.count("GET", SCHEMAS_PATH) == 4 and len(sleeps) == 3


def test_client_errors_fail_at_once(creatify_conn, sleeps, monkeypatch):
    with pytest.raises(CreatifyNotFoundError):
        CreatifyHook().get_generation("00000000-0000-0000-0000-000000000000")
    assert creatify_conn.count("GET", STATUS_PATH) == 1
    monkeypatch.setenv(
        "AIRFLOW_CONN_CREATIFY_DEFAULT",
        Connection(
            conn_id="x",
            conn_type="creatify",
            login="id",
            password="bad-key-00000",
            host=creatify_conn.base_url,
        ).as_json(),
    )
    with pytest.raises(CreatifyAuthError):
        CreatifyHook().list_models()
    assert creatify_conn.count("GET", SCHEMAS_PATH) == 1 and sleeps == []


# -- the create POST ---------------------------------------------------------------------------------


def test_create_retries_what_was_refused_before_processing(creatify_conn, sleeps):
    creatify_conn.add_fault(FaultRule(method="POST", path=POST_PATH, status=429, retry_after=0.01, count=2))
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    assert list(creatify_conn.generations) == [generation.id]
    assert creatify_conn.count("POST", POST_PATH) == 3 and len(sleeps) == 2


@pytest.mark.parametrize("after_processing", [True, False], ids=["created", "not-created"])
def test_a_503_to_a_create_is_uncertain_a_proxy_may_answer_it_after_the_backend(
    creatify_conn, sleeps, after_processing
):
    """Envoy, Istio or Heroku's router answer 503 when the backend is slow, whether or not it created."""
    rule = FaultRule(method="POST", path=POST_PATH, status=503, after_processing=after_processing, count=1)
    creatify_conn.add_fault(rule)
    with pytest.raises(CreatifyCreateUncertainError, match="HTTP 503"):
        CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    assert creatify_conn.count("POST", POST_PATH) == 1 and sleeps == []
    assert len(creatify_conn.generations) == (1 if after_processing else 0)


@pytest.mark.parametrize(
    "answer",
    [{"id": "made-1"}, {"id": "made-1", "status": None}, {"id": "made-1", "model_name": FLUX}],
    ids=["id-only", "null-status", "no-status"],
)
def test_a_create_answered_with_an_id_is_a_created_generation(creatify_conn, answer):
    creatify_conn.add_fault(
        FaultRule(method="POST", path=POST_PATH, status=201, body=json.dumps(answer).encode(), count=1)
    )
    generation = CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    assert generation.id == "made-1" and not generation.is_terminal


def test_create_refused_connection_is_retried_and_says_nothing_was_created(monkeypatch, sleeps):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(
        "AIRFLOW_CONN_CREATIFY_DEFAULT",
        Connection(
            conn_id="x", conn_type="creatify", login="i", password="k", host=f"http://127.0.0.1:{port}"
        ).as_json(),
    )
    with pytest.raises(CreatifyAPIError, match="no answer") as err:
        CreatifyHook(max_retries=2).create_generation(FLUX, {"prompt": "x"})
    assert not isinstance(err.value, CreatifyCreateUncertainError) and not err.value.request_sent
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    "rule",
    [
        FaultRule(method="POST", path=POST_PATH, drop=True, after_processing=True),
        FaultRule(method="POST", path=POST_PATH, status=502, after_processing=True),
        FaultRule(method="POST", path=POST_PATH, status=500, after_processing=True),
        FaultRule(method="POST", path=POST_PATH, body=b'{"id": "tru', after_processing=True),
    ],
    ids=["dropped", "502", "500", "truncated"],
)
def test_create_is_never_sent_twice_when_it_may_have_been_processed(creatify_conn, sleeps, rule):
    creatify_conn.add_fault(rule)
    with pytest.raises(CreatifyCreateUncertainError) as err:
        CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    assert isinstance(err.value, AirflowFailException)  # Airflow does not retry the task either
    message = str(err.value)
    assert "may have been created" in message and "CreatifyGenerationSensor" in message and FLUX in message
    assert creatify_conn.count("POST", POST_PATH) == 1 and sleeps == []
    assert len(creatify_conn.generations) == 1


def test_create_read_timeout_is_uncertain(creatify_conn):
    creatify_conn.add_fault(FaultRule(method="POST", path=POST_PATH, delay=1.0, count=1))
    with pytest.raises(CreatifyCreateUncertainError, match="broke before an answer"):
        CreatifyHook(request_timeout=0.2).create_generation(FLUX, {"prompt": "x"})
    assert creatify_conn.count("POST", POST_PATH) == 1


# -- a create at a rate limit ------------------------------------------------------------------------


def use_server(monkeypatch, server: LoopbackServer) -> None:
    conn = Connection(conn_id="x", conn_type="creatify", login="i", password="k", host=server.url)
    monkeypatch.setenv("AIRFLOW_CONN_CREATIFY_DEFAULT", conn.as_json())


def throttled(*_: object) -> tuple[int, dict[str, str], bytes]:
    """Every request answered as a limiter answers one above its rate."""
    return (
        429,
        {"Retry-After": "30"},
        b'{"detail": "Request was throttled. Expected available in 30 seconds."}',
    )


def test_a_throttled_create_is_retried_past_max_retries_until_a_slot_frees(creatify_conn, sleeps):
    creatify_conn.add_fault(FaultRule(method="POST", path=POST_PATH, status=429, retry_after=1, count=8))
    generation = CreatifyHook(max_retries=2, retry_max_delay=30.0).create_generation(FLUX, {"prompt": "x"})
    assert list(creatify_conn.generations) == [generation.id]  # created once
    assert creatify_conn.count("POST", POST_PATH) == 9 and len(sleeps) == 8
    assert min(sleeps) >= 1.0  # each wait honoured Retry-After


def test_a_create_throttled_for_longer_than_the_budget_fails_as_throttled(monkeypatch, sleeps):
    with LoopbackServer(throttled) as server:
        use_server(monkeypatch, server)
        with pytest.raises(CreatifyAPIError, match="HTTP 429") as err:
            CreatifyHook(max_retries=2, retry_max_delay=30.0).create_generation(FLUX, {"prompt": "x"})
    assert not isinstance(err.value, CreatifyCreateUncertainError)  # nothing was created
    assert sleeps == [30.0] * 20 and sum(sleeps) == CREATE_THROTTLE_BUDGET
    assert server.paths() == [POST_PATH] * 21


def test_reads_throttled_still_stop_at_max_retries(monkeypatch, sleeps):
    with LoopbackServer(throttled) as server:
        use_server(monkeypatch, server)
        with pytest.raises(CreatifyAPIError, match="HTTP 429"):
            CreatifyHook(max_retries=2, retry_max_delay=30.0).list_models()
    assert len(server.seen) == 3 and sleeps == [30.0, 30.0]


def test_a_throttled_create_whose_answer_is_then_lost_is_not_sent_again(monkeypatch, sleeps):
    def limited_then_lost(handler: BaseHTTPRequestHandler) -> None:
        if len(server.seen) <= 2:
            status, headers, body = throttled()
            send(handler, status, body, **headers)
            return
        handler.send_response(201)  # created, then the connection breaks mid-body
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        handler.wfile.write(b'{"id": "11111111-2222')
        handler.close_connection = True

    with LoopbackServer() as server:
        server.routes[POST_PATH] = limited_then_lost
        use_server(monkeypatch, server)
        with pytest.raises(CreatifyCreateUncertainError):
            CreatifyHook(retry_max_delay=30.0).create_generation(FLUX, {"prompt": "x"})
    assert server.paths() == [POST_PATH] * 3 and sleeps == [30.0, 30.0]
