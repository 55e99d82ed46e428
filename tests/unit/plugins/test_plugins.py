"""The plugin's middleware: a Creatify connection test's port 0 becomes null, nothing else changes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_creatify.plugins import (
    TEST_PATH,
    CreatifyConnectionTestMiddleware,
    CreatifyPlugin,
    portless_test_body,
)


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
    ],
)
def test_any_other_body_is_left_alone(unchanged):
    assert portless_test_body(unchanged) is unchanged


class RecordingApp:
    """An ASGI app that reads the whole request, as FastAPI does, and records what it got."""

    def __init__(self) -> None:
        self.body = b""
        self.headers: dict[bytes, bytes] = {}
        self.last: dict[str, Any] = {}

    async def __call__(self, scope, receive, send) -> None:
        self.headers = dict(scope["headers"])
        more = True
        while more:
            self.last = await receive()
            self.body += self.last.get("body", b"")
            more = self.last.get("more_body", False)


async def call(path: str, chunks: list[bytes], method: str = "POST") -> RecordingApp:
    app = RecordingApp()
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    length = str(sum(map(len, chunks))).encode()
    scope = {"type": "http", "method": method, "path": path, "headers": [(b"content-length", length)]}

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message) -> None:
        raise AssertionError("the recording app sends nothing")

    await CreatifyConnectionTestMiddleware(app)(scope, receive, send)
    return app


async def test_the_middleware_rewrites_a_chunked_test_request_and_its_length():
    sent = body(port=0)
    app = await call(TEST_PATH, [sent[:10], sent[10:]])
    assert json.loads(app.body)["port"] is None
    assert app.headers[b"content-length"] == str(len(app.body)).encode()


@pytest.mark.parametrize(
    ("path", "method"),
    [("/api/v2/connections", "POST"), (TEST_PATH, "GET"), ("/api/v2/connections/enqueue-test", "POST")],
)
async def test_other_requests_pass_through_untouched(path, method):
    sent = body(port=0)
    app = await call(path, [sent], method=method)
    assert app.body == sent


async def test_a_client_that_went_away_is_passed_on():
    app = RecordingApp()
    scope = {"type": "http", "method": "POST", "path": TEST_PATH, "headers": []}
    messages = [{"type": "http.disconnect"}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    await CreatifyConnectionTestMiddleware(app)(scope, receive, None)  # type: ignore[arg-type]
    assert app.last == {"type": "http.disconnect"}


def test_the_plugin_registers_the_middleware_with_airflow(airflow_db):
    from airflow import plugins_manager

    (middleware,) = CreatifyPlugin.fastapi_root_middlewares
    assert middleware["middleware"] is CreatifyConnectionTestMiddleware
    get_plugins = getattr(plugins_manager, "_get_plugins", None)  # 3.3; 3.1 fills module globals
    if get_plugins is not None:
        plugins = get_plugins()[0]
    else:
        plugins_manager.ensure_plugins_loaded()
        plugins = plugins_manager.plugins or []
    assert "creatify" in {plugin.name for plugin in plugins}  # the airflow.plugins entry point
