"""S3 on loopback: a moto server process, a fresh bucket per test and the Airflow connection to it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devtools.airflow_deployment import free_port

#: The Airflow connection id of the moto server: ``s3://moto_s3@<bucket>/...``.
MOTO_CONN_ID = "moto_s3"
#: Fake credentials and a region, so that boto never looks for real ones (files, IMDS).
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass(frozen=True)
class MotoServer:
    """A ``python -m moto.server`` process answering S3's API at ``endpoint_url`` (127.0.0.1 only)."""

    endpoint_url: str
    pid: int


@dataclass(frozen=True)
class S3Bucket:
    """A bucket of the moto server, and its objects seen through boto3 (not through Airflow)."""

    name: str
    client: Any

    def url(self, path: str = "") -> str:
        """``s3://moto_s3@<bucket>/<path>``: an object storage URL through the moto connection."""
        return f"s3://{MOTO_CONN_ID}@{self.name}/{path}"

    def keys(self, prefix: str = "") -> list[str]:
        """The keys under ``prefix``, sorted."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        """The bytes of the object ``key``."""
        return bytes(self.client.get_object(Bucket=self.name, Key=key)["Body"].read())

    def put(self, key: str, body: bytes) -> None:
        """Store ``body`` as the object ``key``."""
        self.client.put_object(Bucket=self.name, Key=key, Body=body)


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto server process on a free loopback port for the session; killed after it."""
    pytest.importorskip("moto.server", reason="moto[server] is not installed")
    pytest.importorskip("s3fs", reason="the Amazon provider's s3fs extra is not installed")
    pytest.importorskip("airflow.providers.amazon", reason="the Amazon provider is not installed")
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, **AWS_ENV},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(endpoint_url, server)
        yield MotoServer(endpoint_url, server.pid)
    finally:
        server.kill()
        server.wait()
        log.close()


@pytest.fixture
def s3_bucket(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """A new bucket on the moto server, and ``AIRFLOW_CONN_MOTO_S3`` pointing Airflow at it."""
    import boto3

    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    connection = {
        "conn_type": "aws",
        "login": AWS_ENV["AWS_ACCESS_KEY_ID"],
        "password": AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        "extra": {"endpoint_url": moto_server.endpoint_url, "region_name": AWS_ENV["AWS_DEFAULT_REGION"]},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{MOTO_CONN_ID.upper()}", json.dumps(connection))
    client = boto3.client("s3", endpoint_url=moto_server.endpoint_url, region_name="us-east-1")
    bucket = f"creatify-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3Bucket(bucket, client)


def _wait_until_answering(endpoint_url: str, server: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint_url}/moto-api/", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers, if not with a 200
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"The moto server at {endpoint_url} did not answer within {timeout} s")
        time.sleep(0.1)
