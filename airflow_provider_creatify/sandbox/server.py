"""``CreatifySandbox``: the sandbox served by uvicorn in a background thread on loopback."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from airflow_provider_creatify.sandbox.faults import FaultInjector, FaultRule, RequestLog, RequestRecord
from airflow_provider_creatify.sandbox.settings import SandboxSettings, sandbox_import

if TYPE_CHECKING:
    from airflow_provider_creatify.sandbox.state import SandboxState


class CreatifySandbox:
    """An emulated Creatify API on ``http://127.0.0.1:<free port>`` (or https); use as a context manager.

    uvicorn (and the app and state modules) are imported only by :meth:`start`.

    :param ssl_certfile: serve HTTPS with this PEM certificate (and ``ssl_keyfile``), like the real API;
        clients must trust it (``SSL_CERT_FILE`` for aiohttp, ``REQUESTS_CA_BUNDLE`` for requests).
    :param ssl_keyfile: the certificate's PEM private key.
    """

    def __init__(
        self,
        settings: SandboxSettings | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
    ) -> None:
        self._settings = settings or SandboxSettings()
        self.ssl_certfile = ssl_certfile
        self.ssl_keyfile = ssl_keyfile
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self._rng = random.Random(self._settings.seed)
        self._faults = FaultInjector(self._rng)
        self._log = RequestLog()
        self._state: SandboxState | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.base_url = ""

    # ----------------------------------------------------------- lifecycle
    def start(self) -> CreatifySandbox:
        """Bind the socket, start uvicorn in a daemon thread and wait until it serves."""
        if self._thread is not None:
            return self
        uvicorn = sandbox_import("uvicorn", "to serve the API")
        sandbox_import("httpx", "to deliver webhooks")  # checked now, not at the first webhook
        from airflow_provider_creatify.sandbox.app import SandboxApp
        from airflow_provider_creatify.sandbox.asgi import install_log_filter
        from airflow_provider_creatify.sandbox.state import SandboxState

        install_log_filter()
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(4096)
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        public_host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        if ":" in public_host:
            public_host = f"[{public_host}]"
        scheme = "https" if self.ssl_certfile else "http"
        self.base_url = f"{scheme}://{public_host}:{self.port}"
        self._state = SandboxState(settings=self._settings, base_url=self.base_url)
        app = SandboxApp(state=self._state, faults=self._faults, log=self._log, rng=self._rng)
        config = uvicorn.Config(
            app,
            log_level="warning",
            log_config=None,  # never reconfigure the host process's logging
            access_log=False,
            lifespan="off",
            backlog=4096,
            timeout_keep_alive=60,
            timeout_graceful_shutdown=2,
            server_header=False,
            ssl_certfile=self.ssl_certfile,
            ssl_keyfile=self.ssl_keyfile,
        )
        server = uvicorn.Server(config)
        self._server, self._socket = server, sock
        errors: list[BaseException] = []

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # surfaced by start()
                errors.append(exc)

        self._thread = threading.Thread(target=run, name=f"creatify-sandbox-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not server.started:
            if errors or not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Creatify sandbox failed to start on {self.base_url}: {errors}")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> CreatifySandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------ settings
    @property
    def settings(self) -> SandboxSettings:
        """The live settings (mutate attributes or assign a new object)."""
        return self._settings

    @settings.setter
    def settings(self, value: SandboxSettings) -> None:
        self._settings = value
        if self._state is not None:
            self._state.settings = value

    @property
    def api_id(self) -> str:
        """The accepted ``X-API-ID``."""
        return self._settings.api_id

    @property
    def api_key(self) -> str:
        """The accepted ``X-API-KEY``."""
        return self._settings.api_key

    def connection_json(self, conn_type: str = "creatify") -> str:
        """JSON for ``AIRFLOW_CONN_CREATIFY_DEFAULT``."""
        return json.dumps(
            {"conn_type": conn_type, "login": self.api_id, "password": self.api_key, "host": self.base_url}
        )

    def url(self, path: str) -> str:
        """``base_url + path``."""
        return self.base_url + path

    # --------------------------------------------------------------- faults
    def add_fault(self, rule: FaultRule) -> None:
        """Activate a fault rule (a copy of it)."""
        self._faults.add(rule)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._faults.clear()

    @property
    def faults(self) -> list[FaultRule]:
        """The rules that can still fire."""
        return self._faults.rules

    # ---------------------------------------------------------- inspection
    @property
    def requests(self) -> list[RequestRecord]:
        """Every request so far, in arrival order (a copy)."""
        return self._log.snapshot()

    def count(self, method: str | None = None, path: str | None = None, status: int | None = None) -> int:
        """How many logged requests match method / path (template or exact) / status."""
        return self._log.count(method, path, status)

    @property
    def generations(self) -> dict[str, dict[str, Any]]:
        """id -> generation object, as a GET would return it now (a snapshot)."""
        return self._state.snapshot() if self._state is not None else {}

    @property
    def remaining_credits(self) -> float:
        """The balance ``GET /api/remaining_credits/`` answers now (the starting balance before start)."""
        return self._state.remaining_credits() if self._state is not None else float(self._settings.credits)

    @property
    def webhook_deliveries(self) -> list[tuple[str, int | None, dict[str, Any]]]:
        """(url, HTTP status or None if delivery failed, payload) per delivery attempt."""
        return self._state.deliveries() if self._state is not None else []

    def force_status(self, gen_id: str, status: str, failed_reason: str | None = None) -> None:
        """Pin a generation to ``status`` forever (``done``/``failed`` also fire its webhook; ``failed``
        refunds it)."""
        if self._state is None:
            raise KeyError(gen_id)
        self._state.force_status(gen_id, status, failed_reason)

    def reset(self) -> None:
        """Clear generations, credits spent, webhook deliveries, request log and faults; re-seed the RNG."""
        self._faults.clear()
        self._log.clear()
        self._rng.seed(self._settings.seed)
        if self._state is not None:
            self._state.reset()
