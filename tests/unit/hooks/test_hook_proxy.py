"""API calls take nothing from the environment (no ``HTTP(S)_PROXY``, no ``.netrc``): only the connection's
``proxy`` extra, through which https calls go, in the worker and in the triggerer."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl

import aiohttp
import pytest

from airflow_provider_creatify.exceptions import CreatifyConfigError
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.sandbox import SandboxSettings
from tests.helpers import ConnectProxy, LoopbackServer

GENERATION = {"id": "gen-1", "status": "done", "assets": [{"url": "https://cdn.example.com/a.png"}]}


def connection(monkeypatch, conn_id: str, host: str, **extra: object) -> CreatifyHook:
    """A Creatify connection ``conn_id`` to ``host`` with ``extra``, and a hook on it."""
    fields = {"conn_type": "creatify", "login": "sandbox-api-id", "password": "sandbox-api-key", "host": host}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({**fields, "extra": extra}))
    return CreatifyHook(creatify_conn_id=conn_id)


async def read_async(hook: CreatifyHook, generation_id: str) -> str:
    async with hook:
        return (await hook.aget_generation(generation_id)).status


@pytest.fixture
def tls_sandbox(tmp_path, monkeypatch):
    """A sandbox serving https on 127.0.0.1, trusted by requests and aiohttp."""
    from airflow_provider_creatify.sandbox.server import CreatifySandbox
    from airflow_provider_creatify.sandbox.tls import write_self_signed_certificate

    certificate, key = write_self_signed_certificate(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))
    # aiohttp builds its default context once, at import (SSL_CERT_FILE set now would come too late)
    trusting = ssl.create_default_context(cafile=str(certificate))
    monkeypatch.setattr(aiohttp.connector, "_SSL_CONTEXT_VERIFIED", trusting)
    with CreatifySandbox(
        SandboxSettings(generation_seconds=0), ssl_certfile=str(certificate), ssl_keyfile=str(key)
    ) as sandbox:
        yield sandbox


def test_https_calls_go_through_the_connection_proxy_with_its_credentials(tls_sandbox, monkeypatch):
    with ConnectProxy() as proxy:
        url = proxy.url.replace("http://", "http://egress:pr0xy-pass@")
        hook = connection(monkeypatch, "creatify_proxied", tls_sandbox.base_url, proxy=url)

        created = hook.create_generation("nano-banana", {"prompt": "a fox"})
        assert hook.get_generation(created.id).id == created.id
        assert asyncio.run(read_async(hook, created.id)) in ("done", "initializing", "generating")

        port = int(tls_sandbox.base_url.rpartition(":")[2])
        assert set(proxy.tunnels) == {("127.0.0.1", port)} and len(proxy.tunnels) >= 2  # worker and async
        expected = "Basic " + base64.b64encode(b"egress:pr0xy-pass").decode()
        assert set(proxy.authorizations) == {expected}
        assert "pr0xy-pass" not in repr(hook.credentials)


def test_plain_http_to_loopback_never_goes_through_the_proxy(creatify_sandbox, monkeypatch):
    with ConnectProxy() as proxy:
        hook = connection(monkeypatch, "creatify_proxied", creatify_sandbox.base_url, proxy=proxy.url)

        assert hook.create_generation("nano-banana", {"prompt": "a fox"}).id
        assert proxy.tunnels == []


@pytest.mark.parametrize("reader", ["sync", "async"])
def test_proxy_variables_and_netrc_are_ignored(tmp_path, monkeypatch, reader):
    """A proxy from the environment would see the key of a plain-http call; .netrc would add a header."""
    with (
        LoopbackServer(lambda *_: (200, {}, json.dumps(GENERATION).encode())) as api,
        LoopbackServer() as trap,
    ):
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1 login someone password netrc-secret\n")
        monkeypatch.setenv("NETRC", str(netrc))
        monkeypatch.setenv("HOME", str(tmp_path))
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.setenv(name, trap.url)
        hook = connection(monkeypatch, "creatify_env", api.url)

        status = (
            hook.get_generation("gen-1").status
            if reader == "sync"
            else asyncio.run(read_async(hook, "gen-1"))
        )

        assert status == "done" and trap.seen == []
        (request,) = api.seen
        assert "Authorization" not in request.headers and request.headers["X-API-KEY"] == "sandbox-api-key"


@pytest.mark.parametrize(
    "proxy", ["socks5://user:s3cret-pw@proxy:1080", "proxy.internal:3128", "http://user:s3cret-pw@/", 42]
)
def test_a_proxy_that_is_not_an_http_url_is_refused_without_showing_it(monkeypatch, proxy):
    hook = connection(monkeypatch, "creatify_bad_proxy", "https://api.creatify.ai", proxy=proxy)

    with pytest.raises(
        CreatifyConfigError, match="proxy extra of Airflow connection 'creatify_bad_proxy'"
    ) as err:
        hook.credentials  # noqa: B018

    assert "s3cret-pw" not in str(err.value)
