"""The plugin's middleware: a Creatify connection test's port 0 becomes null, nothing else changes.

Driven as ASGI: a scripted client (the ``receive`` side) and a recording app that reads the body as
FastAPI does and keeps every message and header it got.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_creatify import plugins
from airflow_provider_creatify.hooks._connection import connections_unreadable
from airflow_provider_creatify.plugins import (
    TEST_PATH,
    CreatifyConnectionTestMiddleware,
    CreatifyPlugin,
    portless_test_body,
)

JSON = (b"content-type", b"application/json")
CHUNKED = (b"transfer-encoding", b"chunked")


def body(**fields: Any) -> bytes:
    return json.dumps({"connection_id": "c", "conn_type": "creatify", "password": "***", **fields}).encode()


def test_a_creatify_test_body_with_port_0_gets_a_null_port():
    assert json.loads(portless_test_body(body(port=0, host=""))) == json.loads(body(port=None, host=""))


@pytest.mark.parametrize(
    "unchanged",
    [
        body(port=8765),  # a real port is compared with the stored one, as Airflow does
        body(),  # no port at all
        body(port=0, conn_type="postgres"),  # other connection types are Airflow's business
        b"not json",
        b"[0]",
        b"[" * 100_000,  # nested too deep: RecursionError
        body(port=0)[:-1] + b', "extra": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        body(port=0, host="\u00e9").replace(b"\\u00e9", b"\xe9"),  # not UTF-8
        body(port=0)[:-1] + b', "n": ' + b"9" * 5000 + b"}",  # an int too long for Python to parse
    ],
    ids=["port", "no-port", "postgres", "not-json", "list", "deep", "deep-inside", "latin-1", "long-int"],
)
def test_any_other_body_is_left_alone(unchanged):
    assert portless_test_body(unchanged) is unchanged


class Client:
    """The client's side of one request: ``chunks`` as ``http.request`` messages, then ``then``."""

    def __init__(self, chunks: list[bytes], then: dict[str, Any] | None = None) -> None:
        self.messages: list[dict[str, Any]] = [
            {"type": "http.request", "body": chunk, "more_body": then is not None or i < len(chunks) - 1}
            for i, chunk in enumerate(chunks)
        ]
        if then is not None:
            self.messages.append(then)
        self.sent = list(self.messages)
        self.handed_out = 0

    async def receive(self) -> dict[str, Any]:
        self.handed_out += 1
        return self.messages.pop(0)


class RecordingApp:
    """An ASGI app that reads the whole request, as FastAPI does, and records what it got.

    :param client: the request's client, to note how many messages it had handed out at each receive.
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self.headers: list[tuple[bytes, bytes]] = []
        self.messages: list[dict[str, Any]] = []
        self.handed_out_at: list[int] = []

    @property
    def body(self) -> bytes:
        return b"".join(message.get("body", b"") for message in self.messages)

    async def __call__(self, scope, receive, send) -> None:
        self.headers = list(scope["headers"])
        more = True
        while more:
            message = await receive()
            self.messages.append(message)
            self.handed_out_at.append(self.client.handed_out)
            more = message["type"] == "http.request" and message.get("more_body", False)


async def call(
    chunks: list[bytes],
    *,
    path: str = TEST_PATH,
    method: str = "POST",
    headers: list[tuple[bytes, bytes]] | None = None,
    root_path: str | None = None,
    then: dict[str, Any] | None = None,
) -> tuple[RecordingApp, Client]:
    """One request through the middleware; by default a JSON body with its content-length."""
    client = Client(chunks, then)
    app = RecordingApp(client)
    if headers is None:
        headers = [JSON, (b"content-length", str(sum(map(len, chunks))).encode())]
    scope: dict[str, Any] = {"type": "http", "method": method, "path": path, "headers": headers}
    if root_path is not None:
        scope["root_path"] = root_path

    async def send(message) -> None:
        raise AssertionError("the recording app sends nothing")

    await CreatifyConnectionTestMiddleware(app)(scope, client.receive, send)
    return app, client


def assert_untouched(
    app: RecordingApp, client: Client, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """The app got the client's messages as they were sent, and the headers unchanged."""
    assert app.messages == client.sent
    if headers is not None:
        assert app.headers == headers


async def test_the_middleware_rewrites_a_chunked_test_request_and_its_length():
    sent = body(port=0)
    app, _ = await call([sent[:10], sent[10:]])
    assert json.loads(app.body)["port"] is None
    assert dict(app.headers)[b"content-length"] == str(len(app.body)).encode()


@pytest.mark.parametrize(
    ("path", "method"),
    [("/api/v2/connections", "POST"), (TEST_PATH, "GET"), ("/api/v2/connections/enqueue-test", "POST")],
)
async def test_other_requests_pass_through_untouched(path, method):
    sent = body(port=0)
    app, client = await call([sent], path=path, method=method)
    assert_untouched(app, client)


@pytest.mark.parametrize(
    ("root_path", "path", "rewritten"),
    [
        (None, TEST_PATH, True),
        ("", TEST_PATH, True),
        ("/airflow", f"/airflow{TEST_PATH}", True),  # uvicorn puts the root path in front
        ("/airflow", TEST_PATH, True),  # a proxy stripped it: Starlette routes this too
        (None, f"/foo{TEST_PATH}", False),  # another app's route that ends the same
        ("", f"/foo{TEST_PATH}", False),
        ("/airflow", f"/foo{TEST_PATH}", False),
        ("/airflow", f"/airflow/foo{TEST_PATH}", False),
        ("/airflow", f"/airflowx{TEST_PATH}", False),
        (None, f"{TEST_PATH}/", False),
    ],
)
async def test_the_test_path_is_matched_exactly_after_the_root_path(root_path, path, rewritten):
    sent = body(port=0)
    app, client = await call([sent], path=path, root_path=root_path)
    if rewritten:
        assert json.loads(app.body)["port"] is None
    else:
        assert_untouched(app, client)


@pytest.mark.parametrize(
    ("content_type", "rewritten"),
    [
        (b"application/json", True),
        (b"application/json; charset=utf-8", True),
        (b"Application/JSON ;charset=UTF-8", True),
        (None, False),
        (b"text/plain", False),
        (b"application/x-www-form-urlencoded", False),
        (b"multipart/form-data; boundary=x", False),
        (b"application/jsonp", False),
        (b"text/plain; type=application/json", False),
    ],
)
async def test_only_json_bodies_are_read(content_type, rewritten):
    sent = body(port=0)
    headers = [(b"content-length", str(len(sent)).encode())]
    if content_type is not None:
        headers.insert(0, (b"content-type", content_type))
    app, client = await call([sent], headers=list(headers))
    if rewritten:
        assert json.loads(app.body)["port"] is None
    else:
        assert_untouched(app, client, headers)


def padded(size: int) -> bytes:
    """A Creatify test body with port 0 of exactly ``size`` bytes."""
    bare = body(port=0, description="")
    return body(port=0, description="x" * (size - len(bare)))


async def test_a_body_of_the_cap_is_still_read():
    sent = padded(plugins.MAX_BODY)
    app, _ = await call([sent[:1000], sent[1000:]], headers=[JSON, CHUNKED])
    assert json.loads(app.body)["port"] is None


async def test_a_body_over_the_cap_streams_to_the_app_untouched_without_being_buffered():
    chunk = 16 * 1024
    sent = padded(20 * chunk)  # 320 KiB, chunked: no length announced
    headers = [JSON, CHUNKED]
    app, client = await call([sent[i : i + chunk] for i in range(0, len(sent), chunk)], headers=list(headers))
    assert_untouched(app, client, headers)
    # the app got its first chunk once the middleware had read just past the cap, not the whole body
    assert app.handed_out_at[0] == plugins.MAX_BODY // chunk + 1
    assert app.handed_out_at[-1] == 20


async def test_a_last_chunk_that_crosses_the_cap_is_not_read_either():
    sent = padded(plugins.MAX_BODY + 1)
    app, client = await call([sent])
    assert_untouched(app, client)


async def test_a_length_announced_over_the_cap_is_not_read_at_all():
    sent = padded(plugins.MAX_BODY + 1)
    headers = [JSON, (b"content-length", str(len(sent)).encode())]
    app, client = await call([sent[:100], sent[100:]], headers=list(headers))
    assert_untouched(app, client, headers)
    assert app.handed_out_at == [1, 2]  # the middleware read nothing before the app


@pytest.mark.parametrize(
    "sent",
    [
        body(port=0)[:-1] + b', "extra": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",  # RecursionError
        b"[" * 60_000,
        body(port=0, host="\u00e9").replace(b"\\u00e9", b"\xe9"),  # UnicodeDecodeError
        body(port=0)[:-1],  # cut short: ValueError
    ],
    ids=["deep-inside", "deep", "latin-1", "truncated"],
)
async def test_a_body_that_does_not_parse_reaches_the_app_untouched(sent):
    app, client = await call([sent])
    assert_untouched(app, client)


async def test_a_rewritten_chunked_body_says_its_new_length_and_is_no_longer_chunked():
    sent = body(port=0)
    app, _ = await call([sent[:7], sent[7:]], headers=[JSON, CHUNKED, (b"x-other", b"kept")])
    assert json.loads(app.body)["port"] is None
    assert app.headers == [JSON, (b"x-other", b"kept"), (b"content-length", str(len(app.body)).encode())]


@pytest.mark.parametrize("sent", [body(port=0, conn_type="postgres"), body(port=8080)])
async def test_a_body_read_but_not_rewritten_keeps_its_headers_and_chunks(sent):
    headers = [JSON, CHUNKED]
    app, client = await call([sent[:7], sent[7:]], headers=list(headers))
    assert_untouched(app, client, headers)


async def test_a_client_that_went_away_is_passed_on_after_what_it_sent():
    app, client = await call([body(port=0)[:20]], headers=[JSON, CHUNKED], then={"type": "http.disconnect"})
    assert_untouched(app, client)
    assert app.messages[-1] == {"type": "http.disconnect"}


@pytest.mark.parametrize("version", ["3.3.1", "3.3.2", "3.3.2rc1", "3.3.1+local.1", "3.3.2.post1"])
def test_the_middleware_is_declared_on_airflow_3_3_1_and_3_3_2(version):
    (middleware,) = plugins.middlewares_for(version)
    assert middleware["middleware"] is CreatifyConnectionTestMiddleware


@pytest.mark.parametrize(
    "version", ["3.1.1", "3.2.0", "3.3.0", "3.3.3", "3.3.3rc1", "3.4.0", "4.0.0", "3.3", "x"]
)
def test_no_middleware_is_declared_on_other_airflow_versions(version):
    assert plugins.middlewares_for(version) == []


def test_the_plugin_declares_the_middleware_only_on_an_airflow_that_needs_it(airflow_db):
    from airflow import __version__, plugins_manager

    unreadable = connections_unreadable()  # Airflow 3.1 with cryptography 51+: tests/unit/provider
    needed = __version__ in ("3.3.1", "3.3.2") or unreadable is not None  # the 3.3.2 venv, not 3.1.1's
    assert CreatifyPlugin.fastapi_root_middlewares == plugins.middlewares_for(__version__, unreadable)
    assert len(CreatifyPlugin.fastapi_root_middlewares) == (1 if needed else 0)
    get_plugins = getattr(plugins_manager, "_get_plugins", None)  # 3.3; 3.1 fills module globals
    if get_plugins is not None:
        plugins_ = get_plugins()[0]
    else:
        plugins_manager.ensure_plugins_loaded()
        plugins_ = getattr(plugins_manager, "plugins", None) or []
    (plugin,) = [
        plugin for plugin in plugins_ if plugin.name == "creatify"
    ]  # the airflow.plugins entry point
    assert [m["middleware"] for m in plugin.fastapi_root_middlewares] == (
        [CreatifyConnectionTestMiddleware] if needed else []
    )
