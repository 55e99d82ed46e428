"""HTTP under :class:`~airflow_provider_creatify.hooks.creatify.CreatifyHook` (private).

- :class:`Credentials` from an Airflow connection: base URL and auth headers, never shown in a repr.
- :func:`decode`: the one place that maps an HTTP answer to JSON or an exception, for the sync
  (``requests``) and async (``aiohttp``) clients alike; :func:`no_answer` for no answer at all.
- :class:`AsyncTransport`: what a triggerer process shares between the waits running in its event loop
  (one aiohttp session and its keep-alive connections; connection lookups in flight). An optimisation
  only: nothing in it matters across processes, and it holds nothing once no wait uses it.

aiohttp and requests are imported where used: DAG files import the hook, and this module, on every parse.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from airflow_provider_creatify.exceptions import (
    CreatifyAPIError,
    CreatifyAuthError,
    CreatifyConfigError,
    CreatifyNotFoundError,
)
from airflow_provider_creatify.polling import parse_retry_after

if TYPE_CHECKING:
    import aiohttp
    from airflow.sdk import Connection

DEFAULT_BASE_URL = "https://api.creatify.ai"


@dataclass(frozen=True)
class Credentials:
    """Where and as whom to call Creatify, read from an Airflow connection."""

    base_url: str
    api_id: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        """Creatify's auth headers, and JSON accepted."""
        return {"X-API-ID": self.api_id, "X-API-KEY": self.api_key, "Accept": "application/json"}

    def __repr__(self) -> str:  # never show the key, even in a debugger or a traceback
        return f"Credentials(base_url={self.base_url!r}, api_id={self.api_id!r}, api_key='***')"


def base_url_from_connection(conn: Connection) -> str:
    """``https://api.creatify.ai`` unless the connection's host says otherwise.

    The host may be a full URL (``http://127.0.0.1:8765``) or a bare host name, whose scheme then comes
    from the connection's schema field (``http`` or ``https``, default ``https``) and port from its port.
    """
    host = (conn.host or "").strip().rstrip("/")
    if not host:
        return DEFAULT_BASE_URL
    if "://" not in host:
        scheme = conn.schema if conn.schema in ("http", "https") else "https"
        host = f"{scheme}://{host}"
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CreatifyConfigError(
            f"The host of Airflow connection {conn.conn_id!r} is not a valid base URL: {host!r}. "
            f"Use a URL like {DEFAULT_BASE_URL} (or leave it empty for that default)."
        )
    if conn.port and parts.port is None:
        host = f"{host}:{conn.port}"
    return host


def credentials_from_connection(conn: Connection) -> Credentials:
    """Base URL, API ID (login) and API key (password) of a Creatify connection."""
    missing = [
        name
        for name, value in (("API ID (login)", conn.login), ("API key (password)", conn.password))
        if not value
    ]
    if missing:
        raise CreatifyConfigError(
            f"Airflow connection {conn.conn_id!r} has no {' and no '.join(missing)}. "
            "Set them in the connection (Admin > Connections, or AIRFLOW_CONN_"
            f"{conn.conn_id.upper()}) with your Creatify API ID and API key."
        )
    return Credentials(base_url_from_connection(conn), conn.login, conn.password)  # type: ignore[arg-type]


def decode(status: int, body: bytes, what: str, *, conn_id: str, retry_after: str | None = None) -> object:
    """Turn an HTTP answer into JSON, or raise the matching :class:`CreatifyAPIError`.

    :param what: what was being done, for the message (e.g. "Reading Creatify generation <id>").
    :param conn_id: the Airflow connection, named where the credentials or the account matter.
    :param retry_after: the ``Retry-After`` header, if any.
    """
    text = body[:500].decode("utf-8", "replace")
    if 200 <= status < 300:
        try:
            return json.loads(body)
        except ValueError:
            raise CreatifyAPIError(
                f"{what} failed: Creatify answered HTTP {status} with a body that is not valid JSON "
                f"({len(body)} bytes, starting {text[:80]!r}). Retry later.",
                http_status=status,
                body=text,
                transient=True,
            ) from None
    if status in (401, 403):
        raise CreatifyAuthError(
            f"{what} failed: Creatify rejected the credentials of Airflow connection {conn_id!r} "
            f"(HTTP {status}). Check the connection's API ID (login) and API key (password).",
            http_status=status,
            body=text,
        )
    if status == 404:
        raise CreatifyNotFoundError(
            f"{what} failed: Creatify has no such resource (HTTP 404). Check the id, and that it belongs "
            f"to the account of Airflow connection {conn_id!r}.",
            http_status=status,
            body=text,
        )
    if status == 429 or status >= 500:
        raise CreatifyAPIError(
            f"{what} failed: Creatify is {'rate limiting' if status == 429 else 'failing'} "
            f"(HTTP {status}). Retry later.",
            http_status=status,
            body=text,
            retry_after=parse_retry_after(retry_after),
        )
    raise CreatifyAPIError(
        f"{what} failed: Creatify refused the request (HTTP {status}): {text[:300]}",
        http_status=status,
        body=text,
    )


def no_answer(what: str, base_url: str, exc: Exception, *, request_sent: bool = True) -> CreatifyAPIError:
    """The error for a request that got no HTTP answer (sync and async clients alike)."""
    return CreatifyAPIError(
        f"{what} failed: no answer from Creatify at {base_url} ({type(exc).__name__}). "
        "Check the connection's base URL and the network.",
        request_sent=request_sent,
    )


def never_sent(exc: Exception) -> bool:
    """Whether a requests exception proves the request never reached the server (refused, connect timeout)."""
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    return isinstance(getattr(reason, "reason", reason), NewConnectionError)


@dataclass
class _Shared:
    session: aiohttp.ClientSession
    users: int = 0


class AsyncTransport:
    """One aiohttp session per event loop, shared by its waits; connection lookups in flight, joined.

    :meth:`acquire` hands out the loop's session (opening it for the first user) and :meth:`release`
    gives it back (closing it after the last), so a short-lived loop (``dag.test()``) leaks nothing.
    Auth goes with each request, so waits on different connections share the session too.
    :meth:`credentials` lets waits starting together on one connection share one lookup. Subclass it to
    measure other ways (``benchmarks/triggerer_cost.py`` opens a session per wait).
    """

    def __init__(self) -> None:
        self._sessions: dict[asyncio.AbstractEventLoop, _Shared] = {}
        self._lookups: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Future[Credentials]] = {}

    def open_sessions(self) -> int:
        """How many event loops have a session open now."""
        return len(self._sessions)

    def lookups_in_flight(self) -> int:
        """How many connection lookups are under way now."""
        return len(self._lookups)

    async def acquire(self) -> aiohttp.ClientSession:
        """The running loop's shared session, opened if this is its first user."""
        import aiohttp

        loop = asyncio.get_running_loop()
        shared = self._sessions.get(loop)
        if shared is None:
            shared = self._sessions[loop] = _Shared(aiohttp.ClientSession())
        shared.users += 1
        return shared.session

    async def release(self, session: aiohttp.ClientSession) -> None:
        """Give back what :meth:`acquire` handed out; the last user closes the session."""
        loop = asyncio.get_running_loop()
        shared = self._sessions[loop]
        shared.users -= 1
        if shared.users == 0:
            del self._sessions[loop]
            await shared.session.close()

    async def credentials(self, conn_id: str, lookup: Callable[[], Awaitable[Credentials]]) -> Credentials:
        """``lookup()``'s answer, joined with a lookup of ``conn_id`` already in flight in this loop.

        Nothing is kept once it is answered: this is not a cache (a changed key is read by the next wait).
        """
        key = (asyncio.get_running_loop(), conn_id)
        future = self._lookups.get(key)
        if future is None:
            future = self._lookups[key] = asyncio.ensure_future(lookup())
            future.add_done_callback(lambda done: self._forget(key, done))
        return await asyncio.shield(future)

    def _forget(
        self, key: tuple[asyncio.AbstractEventLoop, str], future: asyncio.Future[Credentials]
    ) -> None:
        self._lookups.pop(key, None)
        if not future.cancelled():
            future.exception()  # retrieved: if every wait joined to it was cancelled, nobody else reads it

    async def get(
        self, session: aiohttp.ClientSession, creds: Credentials, path: str, *, timeout: float, what: str
    ) -> tuple[int, bytes, str | None]:
        """``GET`` a path of the API: status, body and ``Retry-After``.

        :raises CreatifyAPIError: no answer (connection refused or broken, timeout), transient.
        """
        import aiohttp

        try:
            async with session.get(
                creds.base_url + path, headers=creds.headers, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as response:
                return response.status, await response.read(), response.headers.get("Retry-After")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise no_answer(what, creds.base_url, exc) from None


#: The transport of every :class:`CreatifyHook` in this process (class attribute ``transport``).
TRANSPORT = AsyncTransport()
