"""Which hosts the provider may reach: loopback (the sandbox) and, for asset downloads, public addresses.

The one place that says what "loopback" and "private" mean, for the API's base URL and for asset URLs,
and the requests session that enforces it for downloads on the address actually connected to.
requests and urllib3 are imported where used: DAG files import this module through the hook on every parse.

Internal: not a supported import; it may change in any release.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests
    from urllib3.connection import HTTPConnection


def is_loopback_host(hostname: str | None) -> bool:
    """Whether ``hostname`` names this machine without leaving it: ``localhost`` or a loopback IP literal.

    Decided from the name alone (no DNS): a name that merely resolves to 127.0.0.1 is not trusted as loopback.
    """
    if not hostname:
        return False
    host = hostname.strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def https_or_loopback(scheme: str, hostname: str | None) -> bool:
    """Whether a URL of ``scheme`` to ``hostname`` may be fetched: ``https``, or plain ``http`` to loopback
    (the sandbox). The one rule for the API's base URL and for asset URLs and their redirects."""
    return scheme == "https" or (scheme == "http" and is_loopback_host(hostname))


#: Cloud metadata services (AWS, GCP, Azure, Alibaba, ECS) by address: refused even where a range is not.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)


def is_public_address(address: str) -> bool:
    """Whether an asset may be downloaded from the IP ``address`` without ``allow_private_hosts``.

    Only global unicast addresses are: private, loopback, link-local, reserved, unspecified, multicast,
    shared (100.64.0.0/10) and cloud-metadata addresses are not, nor an IPv6 address that carries one of
    them (IPv4-mapped, 6to4; NAT64's 64:ff9b::/96 is reserved). Anything that is not an IP address is not
    public either.
    """
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])  # an IPv6 scope (fe80::1%eth0) left out
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public_address(str(ip.ipv4_mapped))
        if ip.sixtofour is not None and not is_public_address(str(ip.sixtofour)):
            return False
    refused = ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
    return ip.is_global and not refused and not ip.is_unspecified and ip not in METADATA_ADDRESSES


class RefusedAddress(Exception):
    """A connection to an address that is not public, without ``allow_private_hosts``."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(host, address)
        self.host, self.address = host, address


class DownloadGuard:
    """Where one download's connections may go, and its deadline: when it passes, their sockets are shut.

    With ``check_addresses``, connections are pinned to an address checked here (no second lookup). Each
    new socket is watched through a duplicate descriptor, so that shutting it also ends a read blocked in
    the TLS layer.
    """

    def __init__(self, check_addresses: bool, seconds: float) -> None:
        self.check_addresses, self.seconds = check_addresses, seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def __enter__(self) -> DownloadGuard:
        self._timer = threading.Timer(self.seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def connect(self, conn: HTTPConnection, open_socket: Callable[[], socket.socket]) -> socket.socket:
        """Open ``conn``'s socket (urllib3's ``_new_conn``) to a checked address of its host."""
        sock = self._open_checked(conn, open_socket) if self.check_addresses else open_socket()
        with self._lock:
            if self.expired:
                sock.close()
                raise TimeoutError("the download's deadline passed")
            self._sockets.append(sock.dup())
        return sock

    def _open_checked(self, conn: HTTPConnection, open_socket: Callable[[], socket.socket]) -> socket.socket:
        from urllib3.exceptions import NewConnectionError

        host = conn._dns_host
        try:
            found = socket.getaddrinfo(host, conn.port, 0, socket.SOCK_STREAM)
        except OSError:
            raise NewConnectionError(conn, "Failed to resolve the asset host") from None
        addresses = public_addresses(host, found)
        error: Exception = NewConnectionError(conn, "The asset host has no address")
        for address in addresses:
            conn._dns_host = address  # connect to what was checked; TLS still checks the host name
            try:
                return open_socket()
            except Exception as exc:
                error = exc
            finally:
                conn._dns_host = host
        raise error


def plain_session(proxy: str | None = None) -> requests.Session:
    """A requests session that takes nothing from the environment but a CA bundle.

    No ``HTTP(S)_PROXY`` and no ``.netrc`` credentials: only ``proxy``, when given, for https. A CA bundle
    named by ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` is still trusted, as requests itself does.
    """
    import os

    import requests

    session = requests.Session()
    session.trust_env = False
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    if proxy:
        session.proxies = {"https": proxy}
    return session


def check_proxied_host(host: str) -> None:
    """Refuse a download host that is not public, when a proxy will make the connection.

    The proxy resolves the name, so the address it connects to cannot be checked here. Checked instead:
    an IP literal must be public, ``localhost`` is refused, and a name that resolves here must resolve to
    public addresses only. A name that does not resolve here is left to the proxy.

    :raises RefusedAddress: naming the host and the address that is not public.
    """
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        raise RefusedAddress(host, "127.0.0.1")
    try:
        found = socket.getaddrinfo(name, None, 0, socket.SOCK_STREAM)
    except OSError:
        return
    public_addresses(host, found)


def public_addresses(host: str, found: list[Any]) -> list[str]:
    """The addresses ``host`` resolved to (``getaddrinfo``'s answer), once each, all public.

    :raises RefusedAddress: naming the first address that is not public.
    """
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    for address in addresses:
        if not is_public_address(address):
            raise RefusedAddress(host, address)
    return addresses


def guarded_session(guard: DownloadGuard, proxy: str | None = None) -> requests.Session:
    """A :func:`plain_session` whose connections go through ``guard``.

    Without ``proxy``, the address connected to is the one checked. With it, the connection is to the
    proxy: the caller checks each host name with :func:`check_proxied_host` instead.
    """
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class _HTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return guard.connect(self, super()._new_conn)

    class _HTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return guard.connect(self, super()._new_conn)

    class _HTTPPool(HTTPConnectionPool):
        ConnectionCls = _HTTPConnection

    class _HTTPSPool(HTTPSConnectionPool):
        ConnectionCls = _HTTPSConnection

    class _Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    session = plain_session(proxy)
    for prefix in ("http://", "https://"):
        session.mount(prefix, _Adapter())
    return session
