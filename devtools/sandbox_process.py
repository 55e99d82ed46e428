"""The sandbox in its own process (:class:`SandboxProcess`), and the environment of a child process that
runs this checkout's code.

Standard library only at import time: benchmarks that time imports use it too.
"""

from __future__ import annotations

import json
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

REPO = Path(__file__).resolve().parent.parent


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a child process: the repo importable, a throw-away AIRFLOW_HOME if none set."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    if "AIRFLOW_HOME" not in env:
        env["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="creatify-bench-airflow-home-")
    env.update(extra)
    return env


def raise_open_files_limit() -> int:
    """Raise the soft limit of open files to the hard limit (thousands of sockets); return it."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


class SandboxProcess:
    """``python -m airflow_provider_creatify.sandbox`` on a free loopback port, as a context manager.

    A separate process, so its CPU is not counted in the benchmark's own process. With ``tls=True`` it
    serves HTTPS with its throw-away certificate (``--self-signed-tls``), like the real API;
    :meth:`client_env` makes clients trust it. URL, credentials and certificate come from what the
    sandbox prints; ``extra_args`` go to its CLI (``--counts-file``, ``--fail-rate``, ...).

    .. code-block:: python

        with SandboxProcess(generation_seconds=10) as sandbox:
            os.environ["AIRFLOW_CONN_CREATIFY_DEFAULT"] = sandbox.connection_json()
    """

    def __init__(
        self,
        *,
        generation_seconds: float = 10.0,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 30.0,
        tls: bool = False,
    ) -> None:
        self.generation_seconds = generation_seconds
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.tls = tls
        self.base_url = ""
        self.ca_file: Path | None = None
        self._connection: dict[str, str] = {}
        self._process: subprocess.Popen[str] | None = None
        self._output: IO[str] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "the sandbox is not running"
        return self._process.pid

    @property
    def headers(self) -> dict[str, str]:
        """The sandbox's credentials as Creatify's auth headers."""
        return {"X-API-ID": self._connection["login"], "X-API-KEY": self._connection["password"]}

    def connection_json(self) -> str:
        """The value for ``AIRFLOW_CONN_CREATIFY_DEFAULT``, as the sandbox printed it."""
        return json.dumps(self._connection)

    def client_env(self) -> dict[str, str]:
        """Environment variables for a client process: the connection, and trust in the certificate."""
        env = {"AIRFLOW_CONN_CREATIFY_DEFAULT": self.connection_json()}
        if self.ca_file:  # read by ssl.create_default_context (aiohttp) and by requests
            env.update(SSL_CERT_FILE=str(self.ca_file), REQUESTS_CA_BUNDLE=str(self.ca_file))
        return env

    def counts_now(self, counts_file: Path, timeout: float = 10.0) -> dict[str, int]:
        """The sandbox's request counts now; it must have been started with ``--counts-file counts_file``.

        SIGUSR1 makes it (re)write the file (atomically); this waits for the new one.
        """
        counts_file.unlink(missing_ok=True)
        os.kill(self.pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while not counts_file.exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"The sandbox wrote no {counts_file} within {timeout} s of SIGUSR1")
            time.sleep(0.05)
        return dict(json.loads(counts_file.read_text()))

    def start(self) -> SandboxProcess:
        """Start the process, read its connection (and CA file) from its output, wait until it answers."""
        raise_open_files_limit()  # inherited by the sandbox: it holds one socket per client connection
        command = [sys.executable, "-m", "airflow_provider_creatify.sandbox", "--port", "0"]
        command += ["--generation-seconds", str(self.generation_seconds)]
        command += ["--credits", "1e9", *self.extra_args]  # benchmarks create tens of thousands
        if self.tls:
            command.append("--self-signed-tls")
        # a file, not a pipe: a pipe nobody reads would block the sandbox once full
        self._output = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in stop())
        self._process = subprocess.Popen(
            command, stdout=self._output, stderr=subprocess.STDOUT, text=True, env=child_env()
        )
        deadline = time.monotonic() + self.startup_timeout
        while True:
            self._output.seek(0)
            output = self._output.read()
            conn = re.search(r"^export AIRFLOW_CONN_CREATIFY_DEFAULT='(.*)'$", output, re.MULTILINE)
            ca = re.search(r"^CA file: (.+)$", output, re.MULTILINE)
            if conn and (ca or not self.tls):
                break
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"The sandbox did not start: {output[-2000:]}")
            time.sleep(0.05)
        self._connection = json.loads(conn.group(1))
        self.base_url = self._connection["host"]
        self.ca_file = Path(ca.group(1)) if ca else None
        self._wait_until_answering(deadline)
        return self

    def _wait_until_answering(self, deadline: float) -> None:
        request = urllib.request.Request(
            f"{self.base_url}/api/asset_generator/schemas/", headers=self.headers
        )
        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        while True:
            try:
                with urllib.request.urlopen(request, timeout=2, context=context) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or (self._process and self._process.poll() is not None):
                self.stop()
                raise RuntimeError(
                    f"The sandbox at {self.base_url} did not answer in {self.startup_timeout} s"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM the process (it writes ``--counts-file``, deletes its certificate); SIGKILL after 10 s."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._output is not None:
            self._output.close()
            self._output = None
        self.ca_file = None

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
