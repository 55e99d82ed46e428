"""The middleware in a real server: uvicorn on loopback, a FastAPI app with a root path (Airflow's
``[api] base_url`` under a sub-path) and the middleware added as Airflow adds a plugin's root middleware.

The app echoes which route Starlette chose, the body it got and the headers that describe it.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fastapi import FastAPI, Request  # at module level: FastAPI resolves the endpoints' annotations here

from airflow_provider_creatify import plugins
from airflow_provider_creatify.plugins import TEST_PATH, CreatifyConnectionTestMiddleware

ROOT = "/airflow"


def echo_app() -> FastAPI:
    app = FastAPI(root_path=ROOT)  # as Airflow's create_app(): root_path from [api] base_url

    async def echo(route: str, request: Request) -> dict[str, Any]:
        return {
            "route": route,
            "body": (await request.body()).decode(),
            "content-length": request.headers.get("content-length"),
            "transfer-encoding": request.headers.get("transfer-encoding"),
        }

    @app.post(TEST_PATH)
    async def connection_test(request: Request) -> dict[str, Any]:
        return await echo("test", request)

    @app.post("/{rest:path}")
    async def anything_else(request: Request) -> dict[str, Any]:
        return await echo("other", request)

    app.add_middleware(CreatifyConnectionTestMiddleware)  # what Airflow's init_plugins() does
    return app


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        echo_app(), log_level="warning", log_config=None, access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def request_body(port: int | None = 0, **fields: Any) -> bytes:
    return json.dumps({"connection_id": "c", "conn_type": "creatify", "port": port, **fields}).encode()


def post(url: str, data: Any, content_type: str = "application/json") -> dict[str, Any]:
    response = requests.post(url, data=data, headers={"content-type": content_type}, timeout=10)
    response.raise_for_status()
    return response.json()


@pytest.mark.parametrize("path", [f"{ROOT}{TEST_PATH}", TEST_PATH])  # as sent, or behind a stripping proxy
def test_a_creatify_test_gets_a_null_port_on_the_route_starlette_chose(base_url, path):
    got = post(base_url + path, request_body())
    assert got["route"] == "test"
    assert json.loads(got["body"])["port"] is None
    assert got["content-length"] == str(len(got["body"]))


@pytest.mark.parametrize("path", [f"{ROOT}/foo{TEST_PATH}", f"/foo{TEST_PATH}"])
def test_another_route_that_ends_the_same_is_untouched(base_url, path):
    sent = request_body()
    got = post(base_url + path, sent)
    assert got["route"] == "other"
    assert got["body"] == sent.decode()


def test_a_chunked_test_body_is_rewritten_with_a_length_and_no_transfer_encoding(base_url):
    sent = request_body()
    got = post(base_url + ROOT + TEST_PATH, iter([sent[:9], sent[9:]]))  # requests sends it chunked
    assert json.loads(got["body"])["port"] is None
    assert got["content-length"] == str(len(got["body"]))
    assert got["transfer-encoding"] is None


def test_a_chunked_body_over_the_cap_reaches_the_route_untouched(base_url):
    sent = request_body(description="x" * (2 * plugins.MAX_BODY))
    got = post(base_url + ROOT + TEST_PATH, iter([sent[i : i + 8192] for i in range(0, len(sent), 8192)]))
    assert got["body"] == sent.decode()
    assert got["transfer-encoding"] == "chunked"
    assert got["content-length"] is None


def test_a_body_that_is_not_json_by_its_content_type_is_untouched(base_url):
    sent = request_body()
    got = post(base_url + ROOT + TEST_PATH, sent, content_type="text/plain")
    assert got["body"] == sent.decode()
