"""The server itself: CLI (counts file, throw-away TLS), pytest plugin, import weight, concurrency, HTTPS."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
import requests

from airflow_provider_creatify.sandbox import CreatifySandbox, SandboxSettings
from airflow_provider_creatify.sandbox.catalogue import MODELS

CLI = [sys.executable, "-m", "airflow_provider_creatify.sandbox"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(argv: list[str]) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """Run a sandbox CLI; yield it and the lines it printed before "Press Ctrl-C"; SIGTERM it at the end."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while (line := proc.stdout.readline()) and not line.startswith("Press Ctrl-C"):
            lines.append(line.rstrip("\n"))
        assert line, lines
        yield proc, lines
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def printed_connection(lines: list[str]) -> dict[str, str]:
    """The connection from the CLI's ``export AIRFLOW_CONN_CREATIFY_DEFAULT='...'`` line."""
    export = next(line for line in lines if line.startswith("export AIRFLOW_CONN_CREATIFY_DEFAULT='"))
    return json.loads(export.split("=", 1)[1].strip("'"))


def client(conn: dict[str, str]) -> requests.Session:
    """A session with the connection's credentials that ignores proxies and CA variables."""
    session = requests.Session()
    session.trust_env = False
    session.headers.update({"X-API-ID": conn["login"], "X-API-KEY": conn["password"]})
    return session


def run_cli(argv: list[str]) -> None:
    port = free_port()
    with serving([*argv, "--port", str(port), "--generation-seconds", "0.2", "--api-key", "k"]) as (_, lines):
        assert lines[0] == f"Creatify sandbox listening on http://127.0.0.1:{port}", lines
        conn = printed_connection(lines)
        assert conn["host"] == f"http://127.0.0.1:{port}" and conn["password"] == "k"
        assert "export AIRFLOW__CREATIFY__ALLOW_PRIVATE_HOSTS=True" in lines  # copies of its assets
        r = client(conn).get(conn["host"] + "/api/asset_generator/schemas/", timeout=5)
        assert r.status_code == 200 and len(r.json()) == len(MODELS)


def test_cli_module():
    run_cli(CLI)


def test_cli_console_script():
    script = Path(sys.executable).parent / "creatify-sandbox"
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    run_cli([str(script)])


def test_cli_counts_file_on_sigusr1_and_after_sigterm(tmp_path):
    counts = tmp_path / "counts.json"
    with serving([*CLI, "--port", "0", "--counts-file", str(counts)]) as (proc, lines):
        conn = printed_connection(lines)
        session, create = client(conn), conn["host"] + "/api/asset_generator/"
        body = {"model_name": "nano-banana", "input_params": {"prompt": "a fox"}}
        gen_id = session.post(create, json=body, timeout=5).json()["id"]
        other_id = session.post(create, json=body, timeout=5).json()["id"]
        assert session.post(create, json={"model_name": "nano-banana"}, timeout=5).status_code == 400
        assert session.get(f"{create}{gen_id}/", timeout=5).status_code == 200
        assert session.get(create + "schemas/", timeout=5).status_code == 200
        assert session.get(create, params={"ids": f"{gen_id},{other_id}"}, timeout=5).status_code == 200
        assert session.get(create, params={"ids": gen_id}, timeout=5).status_code == 200
        assert session.get(create, params={"limit": 5}, timeout=5).status_code == 200  # no ids: a listing
        assert not counts.exists()  # written on exit, or when asked
        proc.send_signal(signal.SIGUSR1)  # asked: the counts so far, and the sandbox goes on
        deadline = time.monotonic() + 10
        while not counts.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        reads = {"reads_list": 2, "ids_listed": 3, "listings": 1}
        assert json.loads(counts.read_text()) == {
            **{"post_create": 3, "requests": 8, "generations": 2, "reads_one": 1},
            **reads,
        }
        assert session.get(f"{create}{gen_id}/", timeout=5).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert json.loads(counts.read_text()) == {
        **{"post_create": 3, "requests": 9, "generations": 2, "reads_one": 2},
        **reads,
    }
    assert list(tmp_path.iterdir()) == [counts]  # no temporary file left


def test_cli_read_fail_rate_fails_status_reads_only():
    with serving([*CLI, "--port", "0", "--read-fail-rate", "1"]) as (_, lines):
        conn = printed_connection(lines)
        session, create = client(conn), conn["host"] + "/api/asset_generator/"
        body = {"model_name": "nano-banana", "input_params": {"prompt": "a fox"}}
        created = session.post(create, json=body, timeout=5)
        assert created.status_code == 201  # creates are untouched
        gen_id = created.json()["id"]
        assert session.get(f"{create}{gen_id}/", timeout=5).status_code == 503
        assert session.get(f"{create}?ids={gen_id}", timeout=5).status_code == 503
        assert session.get(create + "schemas/", timeout=5).status_code == 200


def test_cli_lose_create_answers_makes_the_generation_and_drops_the_answer():
    with serving([*CLI, "--port", "0", "--lose-create-answers", "1"]) as (_, lines):
        conn = printed_connection(lines)
        session, create = client(conn), conn["host"] + "/api/asset_generator/"
        body = {"model_name": "nano-banana", "input_params": {"prompt": "a fox"}}
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            session.post(create, json=body, timeout=5)
        assert session.post(create, json=body, timeout=5).status_code == 201  # only the first is lost
        assert len(session.get(create, timeout=5).json()) == 2  # both were made


def test_cli_credits_and_time_scale():
    # --time-scale 0.001: a 6-minute Kling video in 0.36 s; --credits: the starting balance
    argv = [*CLI, "--port", "0", "--credits", "12.5", "--time-scale", "0.001"]
    with serving(argv) as (_, lines):
        conn = printed_connection(lines)
        session, create = client(conn), conn["host"] + "/api/asset_generator/"
        body = {
            "model_name": "kling-video/v1.6/pro/image-to-video",
            "input_params": {"prompt": "a fox", "image_url": "https://example.com/a.jpg"},
        }
        gen_id = session.post(create, json=body, timeout=5).json()["id"]
        r = session.get(conn["host"] + "/api/remaining_credits/", timeout=5)
        assert r.json() == {"remaining_credits": 0.5}
        deadline = time.monotonic() + 5
        while session.get(f"{create}{gen_id}/", timeout=5).json()["status"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_cli_defaults():
    from airflow_provider_creatify.sandbox.__main__ import build_parser

    args = build_parser().parse_args([])
    assert (args.generation_seconds, args.time_scale, args.credits) == (None, 0.05, 10_000.0)


def test_cli_dialect_switches_become_settings():
    from airflow_provider_creatify.sandbox.__main__ import build_parser, settings_from

    parse = build_parser().parse_args
    assert settings_from(parse([])) == SandboxSettings()  # no switch: the settings' defaults
    argv = [
        *("--list-omits", "input_params,created_at", "--list-omits", "assets"),
        *("--list-pages", "--list-page-size", "20", "--list-ignores-ids", "--list-status", "502"),
        *("--schema-page-size", "3", "--schemas-as-text"),
        *("--create-answers-id-only", "--assets-as-strings", "--stores-defaults"),
        *("--forbidden-reason", "Your plan does not include this model."),
    ]
    settings = settings_from(parse(argv))
    assert settings == SandboxSettings(
        list_omits=("input_params", "created_at", "assets"),
        list_pages=True,
        list_page_size=20,
        list_ignores_ids=True,
        list_status=502,
        schema_page_size=3,
        schemas_as_text=True,
        create_answers_id_only=True,
        assets_as_strings=True,
        stores_defaults=True,
        forbidden_reason="Your plan does not include this model.",
    )


def test_cli_self_signed_tls():
    with serving([*CLI, "--port", "0", "--self-signed-tls"]) as (_, lines):
        conn = printed_connection(lines)
        ca = next(line for line in lines if line.startswith("CA file: ")).removeprefix("CA file: ")
        assert f"export SSL_CERT_FILE={ca} REQUESTS_CA_BUNDLE={ca}" in lines
        assert conn["host"].startswith("https://127.0.0.1:")
        url = conn["host"] + "/api/asset_generator/schemas/"
        assert client(conn).get(url, timeout=10, verify=ca).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):  # not trusted without the printed CA file
            client(conn).get(url, timeout=10)
    assert not Path(ca).parent.exists()  # the throw-away certificate is deleted at exit


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
    from airflow_provider_creatify.sandbox.tls import write_self_signed_certificate

    cert, key = write_self_signed_certificate(tmp_path)
    with CreatifySandbox(ssl_certfile=str(cert), ssl_keyfile=str(key)) as sandbox:
        assert sandbox.base_url.startswith("https://127.0.0.1:")
        url = sandbox.url("/api/asset_generator/schemas/")
        headers = {"X-API-ID": sandbox.api_id, "X-API-KEY": sandbox.api_key}
        assert requests.get(url, headers=headers, timeout=10, verify=str(cert)).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):  # really TLS, with its own certificate
            requests.get(url, headers=headers, timeout=10)
