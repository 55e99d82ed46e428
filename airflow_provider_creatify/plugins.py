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

It sits in front of every request of the API server, so it stays out of the way. It is installed only on
Airflow 3.3.1 and 3.3.2, and on 3.1 with cryptography 51 or newer (decided when this module is imported).
It reads only a ``POST`` to exactly that path (after Airflow's ``root_path``, as Starlette routes it)
with a ``application/json`` body of at most :data:`MAX_BODY` bytes. A larger body, one it cannot parse,
or any other request reaches the app as it came: same headers, same chunks, streamed.

On Airflow 3.1 with cryptography 51 or newer, Airflow fails to read the connection it was asked to test
and the UI shows a bare 500. There the same middleware answers a Creatify connection's test with the reason
(:data:`~airflow_provider_creatify.hooks._connection.CRYPTOGRAPHY_51_ON_AIRFLOW_3_1`).

Registered as an ``airflow.plugins`` entry point (Airflow skips a provider info's ``plugins`` unless
``[core] lazy_discover_providers`` is off); the API server installs the middleware. Every process that
loads plugins imports this module: it imports nothing heavy.

Internal: not a supported import; it may change in any release.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from airflow import __version__ as airflow_version
from airflow.providers.common.compat.sdk import AirflowPlugin

from airflow_provider_creatify.hooks._connection import connections_unreadable

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TEST_PATH = "/api/v2/connections/test"
MAX_BODY = 64 * 1024  # a connection test's body is well under 1 KiB: a larger one passes untouched
NEEDED_ON = ((3, 3, 1), (3, 3, 2))  # Airflow releases without apache/airflow#73298 (pre-releases too)


def _creatify_test(body: bytes) -> dict[str, Any] | None:
    """The connection-test ``body`` as a dict if it tests a Creatify connection; ``None`` otherwise.

    A body that does not parse (not JSON, bytes that do not decode, nested too deep) is ``None``.
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # ValueError covers JSONDecodeError and UnicodeDecodeError
        return None
    return data if isinstance(data, dict) and data.get("conn_type") == "creatify" else None


def portless_test_body(body: bytes) -> bytes:
    """``body`` with a Creatify connection's ``"port": 0`` made ``null``; any other body unchanged."""
    data = _creatify_test(body)
    if data is None or data.get("port") != 0:
        return body
    return json.dumps({**data, "port": None}).encode()


def route_path(scope: Scope) -> str:
    """The path Starlette routes: ``scope["path"]`` without ``scope["root_path"]`` when it starts with it.

    uvicorn puts the root path in front of the path; a proxy that strips it does not: Starlette routes
    both (``starlette._utils.get_route_path``), and so does this.
    """
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(f"{root}/") else path


def _is_small_json_test(scope: Scope) -> bool:
    """Whether ``scope`` is a connection test whose body this middleware may read."""
    if scope["type"] != "http" or scope["method"] != "POST" or route_path(scope) != TEST_PATH:
        return False
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.lower(), value)  # the first one counts, as in Starlette's Headers.get
    media_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
    length = headers.get(b"content-length")
    if media_type != b"application/json":
        return False
    return length is None or (length.isdigit() and len(length) <= 12 and int(length) <= MAX_BODY)


class CreatifyConnectionTestMiddleware:
    """ASGI middleware for Creatify connection tests: port 0 made none, an unreadable connection explained.

    :param app: the ASGI app it wraps (Airflow's API server).
    :param portless: apply :func:`portless_test_body` (Airflow 3.3.1 and 3.3.2).
    :param unreadable: why this Airflow cannot read connections, answered as the test's failure message.
    """

    def __init__(self, app: ASGIApp, *, portless: bool = True, unreadable: str | None = None) -> None:
        self.app = app
        self.portless = portless
        self.unreadable = unreadable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_small_json_test(scope):
            await self.app(scope, receive, send)
            return
        read: list[Message] = []
        size, more = 0, True
        while more and size <= MAX_BODY:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":  # the client went away
                break
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        if more or size > MAX_BODY or read[-1]["type"] != "http.request":
            await self.app(scope, _replay(read, receive), send)  # what was read, then the rest, as it came
            return
        body = b"".join(message.get("body", b"") for message in read)
        new_body = portless_test_body(body) if self.portless else body
        unreadable = self.unreadable if _creatify_test(body) is not None else None
        if new_body is body:
            await _call_explaining(self.app, scope, _replay(read, receive), send, unreadable)
            return
        kept = [
            (k, v) for k, v in scope["headers"] if k.lower() not in (b"content-length", b"transfer-encoding")
        ]
        scope = {**scope, "headers": [*kept, (b"content-length", str(len(new_body)).encode())]}
        replayed = _replay([{"type": "http.request", "body": new_body}], receive)
        await _call_explaining(self.app, scope, replayed, send, unreadable)


async def _call_explaining(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, unreadable: str | None
) -> None:
    """Run ``app``; if it failed to read the connection, answer the test with ``unreadable`` instead.

    Only where ``unreadable`` is given, nothing was sent yet and the error is the known break (Airflow 3.1
    setting ``is_encrypted`` on cryptography 51's ``MultiFernet``); anything else propagates.
    """
    if unreadable is None:
        await app(scope, receive, send)
        return
    started = False

    async def watched(message: Message) -> None:
        nonlocal started
        started = True
        await send(message)

    try:
        await app(scope, receive, watched)
    except AttributeError as exc:
        if started or "is_encrypted" not in str(exc):
            raise
        body = json.dumps({"status": False, "message": unreadable}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out ``messages`` first, then whatever the client sends next."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


def middlewares_for(version: str, unreadable: str | None = None) -> list[dict[str, Any]]:
    """The plugin's ``fastapi_root_middlewares`` on Airflow ``version``: the middleware only where needed.

    :param version: an Airflow version, e.g. ``airflow.__version__``.
    :param unreadable: why this Airflow cannot read connections, if it cannot
        (:func:`~airflow_provider_creatify.hooks._connection.connections_unreadable`).
    """
    from packaging.version import InvalidVersion, Version

    try:
        portless = Version(version).release[:3] in NEEDED_ON
    except InvalidVersion:
        portless = False
    if not portless and unreadable is None:
        return []
    return [
        {
            "middleware": CreatifyConnectionTestMiddleware,
            "name": "Creatify connection Test: port 0 is none; an unreadable connection explained",
            "kwargs": {"portless": portless, "unreadable": unreadable},
        }
    ]


class CreatifyPlugin(AirflowPlugin):
    """The Creatify provider's plugin (see the module's docstring): no middleware where Airflow needs none."""

    name = "creatify"
    fastapi_root_middlewares = middlewares_for(airflow_version, connections_unreadable())
