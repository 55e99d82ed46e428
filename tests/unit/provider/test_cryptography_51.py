"""Airflow 3.1 with cryptography 51 or newer reads no connection: every way in says why and what to do.

cryptography 51 made ``MultiFernet`` a Rust object that takes no attributes; Airflow 3.1's
``models/crypto.py`` sets ``is_encrypted`` on it, so every connection lookup fails while a fernet key is set.
The fixture below plays that release in this process: a ``MultiFernet`` without attributes, and
``cryptography`` reporting 51.0.1. Airflow's own lookup code then fails as it does with the real release.
"""

from __future__ import annotations

import json
from importlib import metadata
from typing import Any

import pytest
from airflow import __version__ as airflow_version
from cryptography import fernet

from airflow_provider_creatify.cli import main
from airflow_provider_creatify.exceptions import CreatifyConfigError
from airflow_provider_creatify.hooks._connection import CRYPTOGRAPHY_51_ON_AIRFLOW_3_1, connections_unreadable
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.plugins import TEST_PATH, CreatifyConnectionTestMiddleware, middlewares_for

ON_3_1 = airflow_version.startswith("3.1.")
MultiFernet = fernet.MultiFernet


class AttributelessMultiFernet:
    """cryptography 51's ``MultiFernet`` as Airflow meets it: it encrypts, and takes no new attribute."""

    __slots__ = ("_fernets",)

    def __init__(self, fernets: list[fernet.Fernet]) -> None:
        self._fernets = MultiFernet(fernets)

    def encrypt(self, msg: bytes) -> bytes:
        return self._fernets.encrypt(msg)

    def decrypt(self, msg: bytes, ttl: int | None = None) -> bytes:
        return self._fernets.decrypt(msg, ttl)


def cryptography_reports(monkeypatch, release: str) -> None:
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: release if name == "cryptography" else real(name))


@pytest.fixture
def cryptography_51(monkeypatch):
    """This process as if cryptography 51.0.1 were installed, with a fernet key set."""
    from airflow.models import crypto

    def forget_fernet() -> None:  # Airflow builds its fernet once: again, with what is set here
        if hasattr(crypto, "_fernet"):  # 3.1
            crypto._fernet = None
        else:  # 3.2+: a cached function
            # type-checked against 3.1 too, where get_fernet is a plain function without cache_clear
            crypto.get_fernet.cache_clear()  # type: ignore[attr-defined,unused-ignore]

    cryptography_reports(monkeypatch, "51.0.1")
    monkeypatch.setattr(fernet, "MultiFernet", AttributelessMultiFernet)
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", fernet.Fernet.generate_key().decode())
    forget_fernet()
    yield
    forget_fernet()


@pytest.mark.parametrize(
    ("airflow", "cryptography", "broken"),
    [
        ("3.1.1", "51.0.1", True),
        ("3.1.8", "52.0.0", True),
        ("3.1.1", "50.0.2", False),
        ("3.2.0", "51.0.1", False),
    ],
)
def test_the_break_is_named_only_on_airflow_3_1_with_cryptography_51_up(
    monkeypatch, airflow, cryptography, broken
):
    import airflow as airflow_module

    monkeypatch.setattr(airflow_module, "__version__", airflow)
    cryptography_reports(monkeypatch, cryptography)
    reason = connections_unreadable()
    assert (reason is not None) is broken
    if broken:
        assert (
            reason == f"{CRYPTOGRAPHY_51_ON_AIRFLOW_3_1}. This environment has cryptography {cryptography}."
        )


def test_the_hook_says_why_it_cannot_read_its_connection(creatify_conn, cryptography_51):
    if not ON_3_1:  # Airflow 3.2+ wraps the MultiFernet: the same release reads connections there
        assert CreatifyHook().credentials.base_url == creatify_conn.base_url
        return
    with pytest.raises(CreatifyConfigError) as caught:
        CreatifyHook().credentials  # noqa: B018
    assert str(caught.value).startswith("Airflow connection 'creatify_default' could not be read. ")
    assert CRYPTOGRAPHY_51_ON_AIRFLOW_3_1 in str(caught.value)


@pytest.mark.skipif(not ON_3_1, reason="only Airflow 3.1 cannot read connections with cryptography 51")
async def test_the_triggers_lookup_says_it_too(creatify_conn, cryptography_51):
    with pytest.raises(CreatifyConfigError) as caught:
        async with CreatifyHook():
            pass
    assert CRYPTOGRAPHY_51_ON_AIRFLOW_3_1 in str(caught.value)


@pytest.mark.skipif(not ON_3_1, reason="only Airflow 3.1 cannot read connections with cryptography 51")
def test_creatify_models_says_it_too(creatify_conn, cryptography_51, capsys):
    assert main(["--credits"]) == 1
    assert f"{CRYPTOGRAPHY_51_ON_AIRFLOW_3_1}. This environment has" in capsys.readouterr().err


def test_a_test_button_airflow_fails_to_read_is_answered_with_the_reason(cryptography_51):
    """Airflow 3.1's route builds the Connection it tests; with the break that raises: a bare 500."""
    from airflow.models.connection import Connection

    async def test_route(scope: Any, receive: Any, send: Any) -> None:
        request = json.loads((await receive())["body"])
        Connection(conn_id="throwaway", conn_type=request["conn_type"], password=request["password"])
        body = json.dumps({"status": True, "message": "tested"}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    reason = f"{CRYPTOGRAPHY_51_ON_AIRFLOW_3_1}. This environment has cryptography 51.0.1."
    (declared,) = middlewares_for("3.1.1", reason)
    assert declared["kwargs"] == {"portless": False, "unreadable": reason}
    middleware = CreatifyConnectionTestMiddleware(test_route, **declared["kwargs"])
    answer = run_test_request(middleware, {"conn_type": "creatify", "password": "key"})
    if ON_3_1:
        assert answer == {"status": False, "message": reason}
    else:  # Airflow 3.2+ reads it: the test runs as usual
        assert answer == {"status": True, "message": "tested"}


def test_the_plugin_explains_on_airflow_3_1_only_when_cryptography_is_51_up():
    assert middlewares_for("3.1.1", None) == []
    assert middlewares_for("3.3.2", None)[0]["kwargs"] == {"portless": True, "unreadable": None}


def test_another_error_or_connection_type_is_not_explained(cryptography_51):
    async def failing_route(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        raise AttributeError("'Connection' object has no attribute 'is_encrypted'")

    middleware = CreatifyConnectionTestMiddleware(failing_route, portless=False, unreadable="the reason")
    with pytest.raises(AttributeError):
        run_test_request(middleware, {"conn_type": "postgres", "password": "key"})

    async def other_error(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        raise AttributeError("'NoneType' object has no attribute 'host'")

    middleware = CreatifyConnectionTestMiddleware(other_error, portless=False, unreadable="the reason")
    with pytest.raises(AttributeError, match="host"):
        run_test_request(middleware, {"conn_type": "creatify", "password": "key"})


def run_test_request(app: Any, request: dict[str, Any]) -> dict[str, Any]:
    """POST ``request`` to the connection-test path through ``app``; the JSON it answers."""
    import asyncio

    body = json.dumps(request).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "method": "POST", "path": TEST_PATH, "headers": headers}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200
    return json.loads(sent[1]["body"])
