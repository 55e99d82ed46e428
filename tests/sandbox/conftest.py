"""Fixtures for the sandbox tests (the ``creatify_sandbox`` fixture itself comes from the plugin).

Test modules use helpers only through fixtures (``api``, ``receiver``), never ``from conftest import``;
the constants come from ``tests.helpers`` (``Api`` carries them as attributes too).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from airflow_provider_creatify.sandbox import CreatifySandbox, SandboxSettings
from tests.helpers import CREDITS_PATH, FLUX, KLING, POST_PATH, SCHEMAS_PATH


def detail_path(gen_id: str) -> str:
    """The status URL path of a generation."""
    return f"{POST_PATH}{gen_id}/"


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


class Api:
    """A tiny authenticated client for the sandbox."""

    CREATE = POST_PATH
    LIST = POST_PATH  # GET on the create path lists generations
    SCHEMAS = SCHEMAS_PATH
    CREDITS = CREDITS_PATH
    FLUX = FLUX
    KLING = KLING
    detail_path = staticmethod(detail_path)
    wait_until = staticmethod(wait_until)

    def __init__(self, sandbox: CreatifySandbox) -> None:
        self.base_url = sandbox.base_url
        self.session = requests.Session()
        self.session.trust_env = False  # never route loopback through a proxy
        self.session.headers.update({"X-API-ID": sandbox.api_id, "X-API-KEY": sandbox.api_key})

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.get(self.base_url + path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.post(self.base_url + path, **kwargs)

    def create(self, model: str = FLUX, webhook_url: str | None = None, **params: Any) -> dict[str, Any]:
        if "text" not in params:
            params.setdefault("prompt", "a red fox in the snow")
        body: dict[str, Any] = {"model_name": model, "input_params": params}
        if webhook_url:
            body["webhook_url"] = webhook_url
        response = self.post(POST_PATH, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def credits(self) -> float:
        response = self.get(self.CREDITS)
        assert response.status_code == 200, response.text
        return response.json()["remaining_credits"]

    def status(self, gen_id: str) -> dict[str, Any]:
        response = self.get(detail_path(gen_id))
        assert response.status_code == 200, response.text
        return response.json()

    def wait_final(self, gen_id: str, timeout: float = 5.0) -> dict[str, Any]:
        return wait_until(
            lambda: (g := self.status(gen_id))["status"] in ("done", "failed") and g, timeout=timeout
        )


@pytest.fixture
def sandbox() -> Iterator[CreatifySandbox]:
    """A fast sandbox: generations finish after 0.3 s; reproducible randomness."""
    with CreatifySandbox(SandboxSettings(generation_seconds=0.3, seed=1234)) as sb:
        yield sb


@pytest.fixture
def api(sandbox: CreatifySandbox) -> Iterator[Api]:
    client = Api(sandbox)
    yield client
    client.session.close()


class WebhookReceiver:
    """A loopback HTTP server recording JSON POSTs."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.received.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as r:
        yield r
