"""Shared helpers for the benchmarks: machine info, a sandbox in its own process, tables, JSON results.

Import-light on purpose (standard library only at import time): benchmarks that time imports use it too.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Collection, Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"


# -- machine -----------------------------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU model name from ``/proc/cpuinfo`` (``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_version(name: str) -> str | None:
    """The installed version of a distribution, without importing it; ``None`` if absent."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine_info(packages: Iterable[str] = ("apache-airflow", "aiohttp")) -> dict[str, Any]:
    """Where the numbers come from: CPU, cores, OS, Python and package versions."""
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": {name: package_version(name) for name in packages},
    }


def format_machine(info: Mapping[str, Any]) -> str:
    """One line for a report header."""
    packages = ", ".join(f"{name} {version}" for name, version in info.get("packages", {}).items())
    return f"{info['cpu_model']}, {info['cores']} cores, {info['platform']}, Python {info['python']}" + (
        f", {packages}" if packages else ""
    )


# -- process measurements --------------------------------------------------------------------------------

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size now, from ``/proc/<pid>/statm`` (Linux)."""
    with open(f"/proc/{pid}/statm", "rb") as f:
        return int(f.read().split()[1]) * _PAGE_SIZE


def peak_rss_bytes() -> int | None:
    """Peak RSS (``VmHWM``) since start or since :func:`reset_peak_rss`; ``None`` if unknown."""
    try:
        match = re.search(r"^VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def reset_peak_rss() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux ``clear_refs``); ``False`` if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of another process, from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime (fields 14, 15)


def group_cpu_seconds(pgids: Collection[int]) -> float:
    """CPU seconds of every process in these process groups, their reaped children's included."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        if int(fields[2]) in pgids:  # pgrp
            ticks += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / _CLOCK_TICKS


def system_busy_seconds() -> float:
    """CPU seconds used by all processes since boot (all cores, from ``/proc/stat``)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / _CLOCK_TICKS


def busy_cores(seconds: float = 1.0) -> float:
    """How many cores were busy, all processes together, over the next ``seconds``."""
    start = system_busy_seconds()
    time.sleep(seconds)
    return (system_busy_seconds() - start) / seconds


def wait_for_quiet(max_busy_cores: float = 0.3, timeout: float = 300.0, log: bool = True) -> float:
    """Wait until other work on the machine (builds, other benchmarks) leaves it nearly idle.

    Samples one second at a time; gives up after ``timeout`` seconds. Returns the last busy-core count.
    """
    deadline = time.monotonic() + timeout
    warned = False
    while True:
        busy = busy_cores(1.0)
        if busy <= max_busy_cores or time.monotonic() >= deadline:
            if busy > max_busy_cores and log:
                print(
                    f"  warning: the machine is still busy ({busy:.2f} cores); measuring anyway", flush=True
                )
            return busy
        if log and not warned:
            print(f"  waiting for the machine to be quiet ({busy:.2f} cores busy)...", flush=True)
            warned = True


def raise_open_files_limit() -> int:
    """Raise the soft limit of open files to the hard limit (thousands of sockets); return it."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


# -- statistics --------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def target(name: str, value: float | None, limit: float, *, at_least: bool = False, unit: str = "") -> dict:
    """A target and whether ``value`` meets it (``value <= limit``, or ``>=`` with ``at_least``)."""
    met = value is not None and not math.isnan(value) and (value >= limit if at_least else value <= limit)
    return {"name": name, "value": value, "limit": limit, "at_least": at_least, "unit": unit, "met": met}


def format_targets(targets: Iterable[Mapping[str, Any]]) -> str:
    """Targets as lines: ``[met] name: value (target <= limit)``."""
    lines = []
    for t in targets:
        value = "n/a" if t["value"] is None else f"{t['value']:.3g}"
        sign = ">=" if t["at_least"] else "<="
        unit = f" {t['unit']}" if t["unit"] else ""
        verdict = "met" if t["met"] else "MISSED"
        lines.append(f"  [{verdict}] {t['name']}: {value}{unit} (target {sign} {t['limit']:g}{unit})")
    return "\n".join(lines)


# -- output ------------------------------------------------------------------------------------------------

Column = tuple[str, str, str]  # (key in the row, header, format spec such as ".2f"; "" for str())


def format_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    """A plain-text table; missing values print as ``-``."""

    def cell(row: Mapping[str, Any], key: str, spec: str) -> str:
        value = row.get(key)
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "yes" if value else "no"
        return format(value, spec) if spec else str(value)

    body = [[cell(row, key, spec) for key, _, spec in columns] for row in rows]
    headers = [header for _, header, _ in columns]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]
    lines = [
        "  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)),
        "  ".join("-" * w for w in widths),
        *("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in body),
    ]
    return "\n".join(lines)


def write_results(name: str, data: Mapping[str, Any], directory: Path = RESULTS_DIR) -> Path:
    """Write ``<directory>/<name>.json`` (the folder is git-ignored); return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a benchmark subprocess: the repo importable, a throw-away AIRFLOW_HOME if none set."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    if "AIRFLOW_HOME" not in env:
        env["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="creatify-bench-airflow-home-")
    env.update(extra)
    return env


# -- the sandbox in its own process -----------------------------------------------------------------------


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

    def cpu_seconds(self) -> float:
        """CPU the sandbox process has used so far."""
        return process_cpu_seconds(self.pid)

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
