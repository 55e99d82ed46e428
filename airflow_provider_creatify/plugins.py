"""The provider's Airflow plugin: makes the UI's connection **Test** button work for Creatify connections.

Airflow 3.3.1 and 3.3.2 refuse that test for every connection that has no port: the UI's row button
sends ``"port": 0`` (``Number(null)``), and the API server, which must not send stored credentials to
another destination, takes 0 for a port other than the stored none and answers 400 "The host or port
to test differs from the stored connection". A Creatify connection never has a port (its Base URL holds
the whole address), so every one made in the UI met it. apache/airflow#73298 fixes it upstream by
reading port 0 as no port; this middleware does the same, before the route, for Creatify connections
only: in ``POST /api/v2/connections/test`` with ``conn_type`` ``creatify``, ``"port": 0`` becomes
``null``. A null port is still compared with the stored one, so testing another destination with the
stored key stays refused. Nothing else is read or changed.

Registered as an ``airflow.plugins`` entry point (Airflow skips a provider info's ``plugins`` unless
``[core] lazy_discover_providers`` is off); the API server installs the middleware. Every process that
loads plugins imports this module: it imports nothing heavy.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from airflow.providers.common.compat.sdk import AirflowPlugin

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TEST_PATH = "/api/v2/connections/test"


def portless_test_body(body: bytes) -> bytes:
    """``body`` with a Creatify connection's ``"port": 0`` made ``null``; any other body unchanged."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict) or data.get("conn_type") != "creatify" or data.get("port") != 0:
        return body
    return json.dumps({**data, "port": None}).encode()


class CreatifyConnectionTestMiddleware:
    """ASGI middleware: applies :func:`portless_test_body` to connection-test requests.

    :param app: the ASGI app it wraps (Airflow's API server).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith(TEST_PATH):
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = portless_test_body(b"".join(chunks))
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out ``messages`` first, then whatever the client sends next."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


class CreatifyPlugin(AirflowPlugin):
    """The Creatify provider's plugin (see the module's docstring)."""

    name = "creatify"
    fastapi_root_middlewares = [  # noqa: RUF012 (Airflow reads this class attribute)
        {"middleware": CreatifyConnectionTestMiddleware, "name": "Creatify connection Test: port 0 is none"}
    ]
