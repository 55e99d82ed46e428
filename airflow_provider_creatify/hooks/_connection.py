"""The Airflow connection, read for :class:`~airflow_provider_creatify.hooks.creatify.CreatifyHook` (private).

:class:`Credentials`: where and as whom to call Creatify (base URL, API ID, API key), read from a connection
of type ``creatify`` and checked, since the API key goes wherever its base URL points; and the messages
for a connection that is missing or that a connection test cannot use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_creatify.addresses import https_or_loopback
from airflow_provider_creatify.exceptions import CreatifyConfigError

if TYPE_CHECKING:
    from airflow.sdk import Connection

DEFAULT_BASE_URL = "https://api.creatify.ai"


@dataclass(frozen=True)
class Credentials:
    """Where and as whom to call Creatify, read from an Airflow connection."""

    base_url: str
    api_id: str
    api_key: str
    proxy: str | None = None

    @property
    def api_proxy(self) -> str | None:
        """The proxy API calls go through: the connection's ``proxy``, for an https base URL only.

        Plain http is allowed only to loopback (the sandbox), which is reached directly.
        """
        return self.proxy if self.base_url.startswith("https://") else None

    @property
    def headers(self) -> dict[str, str]:
        """Creatify's auth headers, and JSON accepted."""
        return {"X-API-ID": self.api_id, "X-API-KEY": self.api_key, "Accept": "application/json"}

    def redact(self, body: bytes) -> bytes:
        """``body`` with the API key and API ID replaced by ``***``: an answer that echoes them (``"invalid
        API key <key>"``) must not carry them into a message, an event in Airflow's DB, or a log line.
        Values shorter than 8 characters are left alone: they would hit ordinary words of any answer."""
        for secret in {self.api_key, self.api_id}:
            if len(secret) >= 8 and secret.encode() in body:
                body = body.replace(secret.encode(), b"***")
        return body

    def __repr__(self) -> str:  # never show the key, even in a debugger or a traceback
        proxy = shown_proxy(self.proxy) if self.proxy else None
        shown = f"base_url={self.base_url!r}, api_id={self.api_id!r}, api_key='***', proxy={proxy!r}"
        return f"Credentials({shown})"


def base_url_from_connection(conn: Connection) -> str:
    """``https://api.creatify.ai`` unless the connection's host says otherwise.

    The host may be a full URL (``http://127.0.0.1:8765``) or a bare host name, whose scheme then comes
    from the connection's schema field (``http`` or ``https``, default ``https``) and port from its port.
    The API key goes wherever this points, so it must be a plain origin (a path is allowed, a query,
    fragment or user info is not) and use https, unless it is loopback (the sandbox).
    """
    host = (conn.host or "").strip().rstrip("/")
    if not host:
        return DEFAULT_BASE_URL
    if "://" not in host:
        scheme = conn.schema if conn.schema in ("http", "https") else "https"
        host = f"{scheme}://{host}"
    where = f"The host of Airflow connection {conn.conn_id!r}"
    try:
        parts = urlsplit(host)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise CreatifyConfigError(
            f"{where} is not a valid base URL: {host!r}. Use a URL like {DEFAULT_BASE_URL} (or leave it "
            "empty for that default)."
        )
    if parts.query or parts.fragment or "?" in host or "#" in host or "@" in parts.netloc:
        raise CreatifyConfigError(
            f"{where} has a query, a fragment or user info: {parts.scheme}://{parts.hostname}... The API "
            f"key is sent to this address, so it must be a plain base URL like {DEFAULT_BASE_URL}; the API "
            "ID and key go in the connection's login and password."
        )
    if not https_or_loopback(parts.scheme, parts.hostname):
        raise CreatifyConfigError(
            f"{where} uses plain http to {parts.hostname}: the API key would cross the network "
            f"unencrypted. Use https (e.g. {DEFAULT_BASE_URL}); plain http is allowed only to loopback "
            "(127.0.0.1, ::1, localhost), where the sandbox runs."
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
    return Credentials(
        base_url_from_connection(conn),
        conn.login,  # type: ignore[arg-type]
        conn.password,  # type: ignore[arg-type]
        proxy_from_connection(conn),
    )


def proxy_from_connection(conn: Connection) -> str | None:
    """The connection's ``proxy`` extra (``http://proxy.internal:3128``), checked; ``None`` when unset.

    API calls and asset copies never read ``HTTP(S)_PROXY`` or ``.netrc``: this is the one way to send
    them through an egress proxy.
    """
    proxy = conn.extra_dejson.get("proxy") if conn.extra else None
    if proxy in (None, ""):
        return None
    try:
        parts = urlsplit(proxy) if isinstance(proxy, str) else None
        _ = parts and parts.port  # a port that is not a number raises ValueError
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise CreatifyConfigError(
            f"The proxy extra of Airflow connection {conn.conn_id!r} is not a proxy URL: give it as "
            "http://host:port (user:password@ before the host if the proxy needs them), or remove it."
        )
    return proxy


def shown_proxy(proxy: str) -> str:
    """``proxy`` without its user and password, for a message or a log line."""
    parts = urlsplit(proxy)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


#: Why every connection lookup fails on Airflow 3.1 with cryptography 51 or newer while a fernet key is set:
#: Airflow 3.1's ``models/crypto.py`` sets ``is_encrypted`` on a ``MultiFernet``, which no longer takes it.
CRYPTOGRAPHY_51_ON_AIRFLOW_3_1 = (
    "Airflow 3.1 cannot read connections with cryptography 51 or newer: pip install 'cryptography<51' or "
    "upgrade to Airflow 3.2+"
)


def connections_unreadable() -> str | None:
    """Why this Airflow cannot read any connection, where that is a known break; ``None`` elsewhere."""
    from importlib import metadata

    from airflow import __version__ as airflow_version
    from packaging.version import InvalidVersion, Version

    try:
        cryptography = metadata.version("cryptography")
        broken = Version(airflow_version).release[:2] == (3, 1) and Version(cryptography).major >= 51
    except (metadata.PackageNotFoundError, InvalidVersion):
        return None
    return (
        f"{CRYPTOGRAPHY_51_ON_AIRFLOW_3_1}. This environment has cryptography {cryptography}."
        if broken
        else None
    )


def missing_connection(conn_id: str, exc: Exception) -> CreatifyConfigError:
    """The error for a connection id Airflow could not look up: not defined, or not readable by it."""
    unreadable = connections_unreadable()
    if unreadable:
        return CreatifyConfigError(f"Airflow connection {conn_id!r} could not be read. {unreadable}")
    return CreatifyConfigError(
        f"Airflow connection {conn_id!r} is not defined ({type(exc).__name__}). Create it with conn type "
        f"'creatify', login = API ID, password = API key, or set AIRFLOW_CONN_{conn_id.upper()}."
    )


#: What a connection test says when Airflow handed it the mask of a saved key instead of the key.
MASKED_KEY_TEST = (
    "The API key this test received is Airflow's mask '***', not the key: this Airflow's UI sends the mask "
    "for a saved connection (apache/airflow#61670; Airflow 3.3 tests the saved key). Test it with "
    "`airflow connections test <connection id>` instead."
)


def without_connection_id(message: str, conn_id: str) -> str:
    """``message`` naming no connection: the UI tests under a throw-away id of Airflow's, which would
    mislead ("the connection", ``AIRFLOW_CONN_<ID>``)."""
    message = message.replace(f"Airflow connection {conn_id!r}", "the connection")
    return message.replace(f"AIRFLOW_CONN_{conn_id.upper()}", "AIRFLOW_CONN_<ID>")


def ui_field_behaviour() -> dict[str, Any]:
    """The connection form, from the provider info, in the shape ``get_ui_field_behaviour`` returns."""
    from airflow_provider_creatify import get_provider_info

    (conn_type,) = get_provider_info()["connection-types"]
    behaviour = conn_type["ui-field-behaviour"]
    return {
        "hidden_fields": behaviour["hidden-fields"],
        **{k: behaviour[k] for k in ("relabeling", "placeholders")},
    }
