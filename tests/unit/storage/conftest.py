"""Asset hosts for the copy tests: a small HTTP server on loopback whose answers each test writes itself.

Every name other than ``localhost`` resolves, for these tests, to the loopback addresses a test picks
(``names``, on for every test here): no lookup and no connection ever leaves this machine, whatever the
code under test does with a URL.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

#: An answer: writes its own status line, headers and body (``handler.wfile``), however broken.
Answer = Callable[[http.server.BaseHTTPRequestHandler], None]


class AssetServer:
    """A threaded HTTP server on ``host`` (a loopback address), HTTPS with ``tls`` (certificate, key);
    ``routes`` maps a path (query included) to an :data:`Answer`, any other path answers 404;
    :attr:`seen` lists the paths requested, with their headers."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls: tuple[Any, Any] | None = None) -> None:
        server = self
        self.routes: dict[str, Answer] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.seen.append((self.path, dict(self.headers.items())))
                answer = server.routes.get(self.path)
                if answer is None:
                    send(self, 404, b"not found")
                else:
                    answer(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        if tls is not None:  # (certificate, key) PEM files: serve https
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def paths(self) -> list[str]:
        return [path for path, _ in self.seen]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def send(handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
    """A plain answer with its Content-Length."""
    handler.send_response(status)
    for name, value in {"Content-Length": str(len(body)), **headers}.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(body)


def file(body: bytes) -> Answer:
    return lambda handler: send(handler, 200, body)


def redirect(location: str, status: int = 302) -> Answer:
    return lambda handler: send(handler, status, b"", Location=location)


def dribble(total: int, every: float = 0.1, at_most: float = 10.0) -> Answer:
    """Announces ``total`` bytes, then sends one byte every ``every`` seconds, for ``at_most`` seconds."""

    def answer(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        ends = time.monotonic() + at_most
        try:
            while time.monotonic() < ends:
                handler.wfile.write(b"x")
                handler.wfile.flush()
                time.sleep(every)
        except OSError:
            pass  # the client gave up: what the test expects
        handler.close_connection = True

    return answer


@pytest.fixture
def asset_server() -> Iterator[AssetServer]:
    server = AssetServer()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def names(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Host name -> its successive answers, loopback addresses (the last one repeats): ``["127.0.0.1"]``.

    A name not listed (other than ``localhost`` and IP literals) fails to resolve.
    """
    table: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in table:
            addresses = table[name] if len(table[name]) == 1 else [table[name].pop(0)]
            return [info for address in addresses for info in real(address, port, *args, **kwargs)]
        if name != "localhost" and not _is_ip(name):
            raise socket.gaierror(socket.EAI_NONAME, "no such host in this test")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def _is_ip(name: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
