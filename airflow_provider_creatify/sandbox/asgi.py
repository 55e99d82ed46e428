"""Plain-ASGI plumbing of the sandbox: a buffered response, reading a body, sending (whole or cut off).

Knows nothing of the Creatify API: :mod:`airflow_provider_creatify.sandbox.app` and
:mod:`airflow_provider_creatify.sandbox.validation` build the responses.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = b"application/json"
_CHUNK = 64 * 1024


class DroppedConnection(Exception):
    """Raised inside the app so uvicorn closes the connection in the middle of a response."""


class _DropLogFilter(logging.Filter):
    """Keeps uvicorn's error log quiet about the connections the sandbox drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def install_log_filter() -> None:
    """Add the drop filter to ``uvicorn.error`` once."""
    log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropLogFilter) for f in log.filters):
        log.addFilter(_DropLogFilter())


@dataclass
class Response:
    """A fully buffered response."""

    status: int
    body: bytes = b""
    content_type: bytes = JSON
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


def json_response(status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None) -> Response:
    """A JSON response."""
    return Response(status, json.dumps(payload).encode(), JSON, headers or [])


async def read_body(receive: Receive, limit: int = 1 << 20) -> bytes:
    """The request body; chunks past ``limit`` bytes in total are read and dropped.

    :param receive: the ASGI receive callable.
    :param limit: how many bytes at most to keep.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def send_partial(send: Send, response: Response) -> None:
    """Announce the full length, send about half of the body, then drop the connection."""
    body = response.body
    headers = [(b"content-type", response.content_type), (b"content-length", str(len(body) + 1).encode())]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
    raise DroppedConnection


async def send_response(send: Send, response: Response, head: bool = False) -> None:
    """Send ``response`` (in 64 KiB chunks if large; headers only for a HEAD request)."""
    body = response.body
    headers = [
        (b"content-type", response.content_type),
        (b"content-length", str(len(body)).encode()),
        *response.headers,
    ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if head or len(body) <= _CHUNK:
        await send({"type": "http.response.body", "body": b"" if head else body})
        return
    view = memoryview(body)
    for start in range(0, len(body), _CHUNK):
        end = start + _CHUNK
        await send(
            {"type": "http.response.body", "body": bytes(view[start:end]), "more_body": end < len(body)}
        )
