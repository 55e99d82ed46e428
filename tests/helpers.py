"""Small shared pieces of the test suite: each constant and helper is defined here once.

Nothing from Airflow (or from the package, which imports Airflow) is imported at module level: the root
conftest.py imports this module before it points AIRFLOW_HOME at its throw-away folder.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from airflow_provider_creatify import endpoints  # stdlib only: imports no Airflow

if TYPE_CHECKING:
    from datetime import datetime

    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger, TriggerEvent

    from airflow_provider_creatify.generation import Generation

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = REPO / "example_dags"

KLING = "kling-video/v1.6/pro/image-to-video"
FLUX = "flux-pro/kontext/text-to-image"
KLING_PARAMS = {
    "prompt": "A man working in the snow mountains with small image logo.",
    "duration": "5",
    "cfg_scale": 0.5,
    "image_url": "https://example.com/image.jpg",
    "aspect_ratio": "16:9",
    "negative_prompt": "blur, distort, and low quality",
}
#: One nano-banana image (0.5 credits in the sandbox), as keyword arguments of an operator or a Submission.
ONE_IMAGE = {"model_name": "nano-banana", "input_params": {"prompt": "a fox"}}
#: A generation id no sandbox holds.
UNKNOWN = "00000000-0000-4000-8000-000000000000"
# The API's paths (endpoints.py) under the names the tests read: the create (POST) and the reads of many
# generations (GET ?ids=...; the request log names the path without its query) are one path; a
# generation's status path as the sandbox's request log and fault rules name it.
POST_PATH = LIST_PATH = endpoints.GENERATIONS_PATH
STATUS_PATH = endpoints.GENERATION_PATH
SCHEMAS_PATH = endpoints.SCHEMAS_PATH
CREDITS_PATH = endpoints.CREDITS_PATH


class RecordingTI:
    """Stands in for the task instance of a context: records what the task pushes to XCom.

    Satisfies :class:`~airflow_provider_creatify.protocols.TaskInstance` (the first try, by default).
    """

    def __init__(self, try_number: int = 1, *, is_mapped: bool = False) -> None:
        self.try_number = try_number
        self.is_mapped = is_mapped
        self.xcom: dict[str, Any] = {}
        #: What other task instances pushed (key -> values), for :meth:`xcom_pull`; none by default.
        self.others: dict[str, list[Any]] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", **kwargs: Any) -> Any:
        """What other task instances pushed under ``key``: :attr:`others`."""
        return list(self.others.get(key, []))


class FakeStateStore:
    """Stands in for context["task_state_store"] (Airflow 3.3+): get and set by key."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


class FakeDagRun(NamedTuple):
    """Stands in for context["dag_run"]: when it started."""

    start_date: datetime | None


def make_context(
    store: FakeStateStore | None = None, *, ti: RecordingTI | None = None, dag_run: FakeDagRun | None = None
) -> Context:
    """A task's context: ``ti`` (a new :class:`RecordingTI` unless given), and ``store`` as its
    ``task_state_store`` and ``dag_run`` when given. Read what the task pushed with :func:`pushed`."""
    context: dict[str, Any] = {"ti": ti if ti is not None else RecordingTI()}
    if store is not None:
        context["task_state_store"] = store
    if dag_run is not None:
        context["dag_run"] = dag_run
    # The fakes hold only what the code reads: to the type checker they are not Airflow's Context
    return cast("Context", context)


def pushed(context: Context) -> dict[str, Any]:
    """What the task pushed to XCom (key -> value) through the :class:`RecordingTI` of ``context``."""
    ti = context["ti"]
    assert isinstance(ti, RecordingTI), ti
    return ti.xcom


def airflow_has_task_state_store() -> bool:
    """Whether this Airflow has ``task_state_store`` (3.3+): a retried task can resume its generation."""
    from airflow.sdk.execution_time import context

    return hasattr(context, "TaskStateStoreAccessor")


def create_generations(count: int) -> list[str]:
    """The ids of ``count`` new FLUX generations (prompts p0, p1, ...) on ``creatify_default``."""
    from airflow_provider_creatify.hooks.creatify import CreatifyHook

    hook = CreatifyHook()
    return [hook.create_generation(FLUX, {"prompt": f"p{n}"}).id for n in range(count)]


def wait_until_finished(generation_id: str) -> Generation:
    """The generation once it is done or failed, read on ``creatify_default`` every 0.05 s (30 s at most)."""
    from airflow_provider_creatify.hooks.creatify import CreatifyHook

    return CreatifyHook().wait_for_generation(generation_id, poll_interval=0.05, deadline=time.time() + 30)


def finished_generation(model: str = FLUX, input_params: dict | None = None) -> Generation:
    """A new generation (FLUX, prompt "x" unless told), once it is done or failed."""
    from airflow_provider_creatify.hooks.creatify import CreatifyHook

    generation = CreatifyHook().create_generation(model, input_params or {"prompt": "x"})
    return wait_until_finished(generation.id)


async def events_of(trigger: BaseTrigger) -> list[TriggerEvent]:
    """Every event a trigger yields (a success ended in the triggerer is a TaskSuccessEvent)."""
    return [event async for event in trigger.run()]


async def only_event(trigger: BaseTrigger) -> dict:
    """The payload of the one event a trigger yields."""
    (event,) = await events_of(trigger)
    return event.payload


#: An answer of :class:`LoopbackServer`: writes its own status line, headers and body (``handler.wfile``),
#: however broken.
Answer = Callable[[http.server.BaseHTTPRequestHandler], None]


def send(handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
    """A plain answer with its Content-Length (``Content_Type=...`` is sent as ``Content-Type``)."""
    handler.send_response(status)
    for name, value in {"Content-Length": str(len(body)), **headers}.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(body)


def file(body: bytes) -> Answer:
    return lambda handler: send(handler, 200, body)


def redirect(location: str, status: int = 302) -> Answer:
    return lambda handler: send(handler, status, b"", Location=location)


class Request(NamedTuple):
    """A request a :class:`LoopbackServer` received."""

    method: str
    path: str  # the query included
    headers: dict[str, str]
    body: bytes


class LoopbackServer:
    """An HTTP server on a loopback address, in a thread, for answers the sandbox does not give: redirects,
    HTML, broken or slow bodies, another host.

    A request to a path listed in :attr:`routes` (the query included) gets that :data:`Answer`; any other,
    ``answer(method, path, headers)``'s ``(status, headers, body)``, or 404 without ``answer``. Every
    request is recorded in :attr:`seen`. It serves from the start; ``with`` (or :meth:`close`) stops it.

    :param answer: the answer to paths not in :attr:`routes`.
    :param host: the loopback address to listen on.
    :param port: the port; 0 picks a free one (:attr:`port`).
    :param tls: (certificate, key) PEM files: serve https.
    """

    def __init__(
        self,
        answer: Callable[[str, str, dict[str, str]], tuple[int, dict[str, str], bytes]] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: tuple[Any, Any] | None = None,
    ) -> None:
        server = self
        self.routes: dict[str, Answer] = {}
        self.seen: list[Request] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                headers = dict(self.headers.items())
                body = self.rfile.read(int(headers.get("Content-Length") or 0))
                server.seen.append(Request(self.command, self.path, headers, body))
                route = server.routes.get(self.path)
                if route is not None:
                    route(self)
                elif answer is not None:
                    status, extra, content = answer(self.command, self.path, headers)
                    send(self, status, content, **extra)
                else:
                    send(self, 404, b"not found")

            do_GET = do_POST = _any

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer((host, port), Handler)
        if tls is not None:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}"
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()

    def paths(self) -> list[str]:
        """The paths requested, in order."""
        return [request.path for request in self.seen]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ConnectProxy:
    """An HTTP ``CONNECT`` proxy on loopback, in a thread, as an egress proxy: it resolves and connects.

    :attr:`tunnels` records each ``(host, port)`` asked for, :attr:`authorizations` each request's
    ``Proxy-Authorization`` header (or ``None``). Any method but ``CONNECT`` is answered 405.
    """

    def __init__(self) -> None:
        self.tunnels: list[tuple[str, int]] = []
        self.authorizations: list[str | None] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            request, *lines = head.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
            method, target, _ = request.split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
            host, _, port = target.rpartition(":")
            self.tunnels.append((host.strip("[]"), int(port)))
            self.authorizations.append(headers.get("proxy-authorization"))
            if method != "CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            try:
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
            except OSError:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            with upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
                _pipe(client, upstream)

    def close(self) -> None:
        self._listener.close()

    def __enter__(self) -> ConnectProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    """Copy ``source`` to ``target`` until either end closes."""
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
        target.shutdown(socket.SHUT_WR)
    except OSError:
        pass
