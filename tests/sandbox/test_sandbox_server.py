"""The server itself: CLI, pytest plugin, import weight, concurrency."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import aiohttp
import pytest
import requests

from airflow_provider_creatify.sandbox import CreatifySandbox, SandboxSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(argv: list[str]) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [*argv, "--port", str(port), "--generation-seconds", "0.2", "--api-key", "k"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.strip() == f"Creatify sandbox listening on http://127.0.0.1:{port}", first
        export = proc.stdout.readline()
        assert export.startswith("export AIRFLOW_CONN_CREATIFY_DEFAULT='")
        conn = json.loads(export.split("=", 1)[1].strip().strip("'"))
        assert conn["host"] == f"http://127.0.0.1:{port}" and conn["password"] == "k"
        headers = {"X-API-ID": conn["login"], "X-API-KEY": conn["password"]}
        r = requests.get(conn["host"] + "/api/asset_generator/schemas/", headers=headers, timeout=5)
        assert r.status_code == 200 and len(r.json()) == 5
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_cli_module():
    run_cli([sys.executable, "-m", "airflow_provider_creatify.sandbox"])


def test_cli_console_script():
    script = Path(sys.executable).parent / "creatify-sandbox"
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    run_cli([str(script)])


def test_imports_stay_light():
    code = textwrap.dedent(
        """
        import sys
        import airflow_provider_creatify.sandbox.pytest_plugin
        heavy = ("uvicorn", "starlette", "fastapi", "jsonschema", "httpx", "airflow")
        print([m for m in heavy if m in sys.modules])
        from airflow_provider_creatify.sandbox import CreatifySandbox
        with CreatifySandbox():
            pass
        print("airflow" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["[]", "False"]


def test_plugin_autoloads_and_settings_can_be_overridden(tmp_path):
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import pytest
            import requests
            from airflow_provider_creatify.sandbox import SandboxSettings

            def test_default(creatify_sandbox):
                assert creatify_sandbox.settings.generation_seconds == 1.0
                url = creatify_sandbox.base_url + "/api/asset_generator/schemas/"
                headers = {"X-API-ID": creatify_sandbox.api_id, "X-API-KEY": creatify_sandbox.api_key}
                assert requests.get(url, headers=headers, timeout=5).status_code == 200

            class TestOverride:
                @pytest.fixture
                def creatify_sandbox_settings(self):
                    return SandboxSettings(generation_seconds=0.1, api_key="mine")

                def test_override(self, creatify_sandbox):
                    assert creatify_sandbox.api_key == "mine"
                    assert creatify_sandbox.settings.generation_seconds == 0.1
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert "2 passed" in out.stdout, out.stdout + out.stderr


def test_plugin_fixture_in_process(creatify_sandbox):
    assert creatify_sandbox.settings.generation_seconds == 1.0
    assert creatify_sandbox.base_url.startswith("http://127.0.0.1:")


async def test_concurrent_keep_alive_pollers():
    clients, polls = 300, 20
    with CreatifySandbox(SandboxSettings(generation_seconds=60)) as sandbox:
        headers = {"X-API-ID": sandbox.api_id, "X-API-KEY": sandbox.api_key}
        connector = aiohttp.TCPConnector(limit=clients, force_close=False)
        async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
            body = {"model_name": "nano-banana", "input_params": {"prompt": "load"}}
            async with session.post(sandbox.base_url + "/api/asset_generator/", json=body) as r:
                url = f"{sandbox.base_url}/api/asset_generator/{(await r.json())['id']}/"
            statuses: list[int] = []

            async def poller() -> None:
                for _ in range(polls):
                    async with session.get(url) as response:
                        await response.read()
                        statuses.append(response.status)

            started = time.perf_counter()
            await asyncio.gather(*(poller() for _ in range(clients)))
            elapsed = time.perf_counter() - started
        total = clients * polls
        assert statuses == [200] * total
        assert sandbox.count("GET", "/api/asset_generator/{id}/", status=200) == total
        print(
            f"\n{clients} keep-alive clients x {polls} polls: {total} requests in {elapsed:.2f}s "
            f"= {total / elapsed:.0f} req/s (client and server share this process)"
        )


def test_https_with_a_given_certificate(tmp_path):
    from benchmarks.common import write_self_signed_certificate

    cert, key = write_self_signed_certificate(tmp_path)
    with CreatifySandbox(ssl_certfile=str(cert), ssl_keyfile=str(key)) as sandbox:
        assert sandbox.base_url.startswith("https://127.0.0.1:")
        url = sandbox.url("/api/asset_generator/schemas/")
        headers = {"X-API-ID": sandbox.api_id, "X-API-KEY": sandbox.api_key}
        assert requests.get(url, headers=headers, timeout=10, verify=str(cert)).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):  # really TLS, with its own certificate
            requests.get(url, headers=headers, timeout=10)
