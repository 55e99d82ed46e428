"""PostgreSQL and Redis for the deployment test: Debian's packages, each started on a free loopback port
in a throw-away directory (not the system services; there is no systemd in CI)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from devtools.airflow_deployment import DeploymentError, free_port


def ensure_packages() -> None:
    """``apt-get install postgresql redis-server`` if either is missing (CI runs as root); apt's output is
    shown only when it fails."""
    if shutil.which("redis-server") and glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    started = time.monotonic()
    for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql", "redis-server"]):
        done = subprocess.run(argv, env=env, timeout=900, capture_output=True, text=True)
        if done.returncode:
            raise DeploymentError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    print(f"installed postgresql and redis-server with apt-get in {time.monotonic() - started:.0f} s")


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise DeploymentError(f"PostgreSQL's {name} is not installed")
    return found[-1]


class Postgres:
    """A cluster owned by ``postgres`` (PostgreSQL refuses to run as root), trust auth, database ``airflow``.

    :param root: a directory the ``postgres`` user can traverse; the cluster lives in ``root/pg``.
    """

    def __init__(self, root: Path) -> None:
        self.dir = root / "pg"
        self.dir.mkdir()
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.port = free_port()
        self.started = False

    def _as_postgres(self, *argv: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *argv], check=True, cwd="/", timeout=120, capture_output=True
        )

    def start(self) -> Postgres:
        """initdb, start (no fsync: a test), create the database."""
        self._as_postgres(
            _pg_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "airflow",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c max_connections=200 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self.started = True
        log = str(self.dir / "postgres.log")
        self._as_postgres(_pg_bin("pg_ctl"), "-D", str(self.data), "-l", log, "-w", "-o", options, "start")
        create = ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "airflow", "-d", "postgres"]
        subprocess.run(
            [*create, "-qc", "CREATE DATABASE airflow"], check=True, timeout=60, capture_output=True
        )
        return self

    @property
    def url(self) -> str:
        """The SQLAlchemy URL (``+psycopg2``: SQLAlchemy 2.1 would pick psycopg 3 otherwise)."""
        return f"postgresql+psycopg2://airflow@127.0.0.1:{self.port}/airflow"

    def stop(self) -> None:
        """Fast shutdown; the postmaster is killed if that fails."""
        if not self.started:
            return
        try:
            self._as_postgres(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        except (subprocess.SubprocessError, OSError):
            with contextlib.suppress(OSError, ValueError):
                os.kill(int((self.data / "postmaster.pid").read_text().split()[0]), 9)


class Redis:
    """``redis-server`` on a free loopback port, no persistence."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "redis"
        self.dir.mkdir()
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Redis:
        """Start it and wait until it answers PING."""
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return self
            time.sleep(0.1)
        raise DeploymentError(f"redis-server did not answer on port {self.port}")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)
            self.process.kill()
