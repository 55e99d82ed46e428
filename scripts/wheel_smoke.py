"""Smoke test of the INSTALLED wheel: run by scripts/wheel-smoke.sh in a clean venv, outside the checkout.

Proves what only a wheel install shows: the package imported is the venv's (not the checkout), its data
made it (``py.typed``, the sandbox's bundled MP4, served as an asset), Airflow finds the provider info
(version, connection type) and the plugin, the console scripts and the pytest plugin's entry point work,
and one example DAG runs end to end (deferrable, on SQLite) against the sandbox.

Usage: python -I wheel_smoke.py --checkout DIR --dag-file FILE --work DIR
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from importlib import metadata, resources, util
from pathlib import Path
from typing import Any

PACKAGE = "airflow_provider_creatify"
DIST_NAME = "airflow-provider-creatify"
MP4_BRAND = b"ftyp"  # bytes 4-8 of an MP4 file
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STARTED = time.monotonic()


def script(name: str) -> str:
    """A console script of this venv (its bin/ need not be on PATH)."""
    return str(Path(sys.executable).parent / name)


def ok(message: str) -> None:
    print(f"ok {message} [{time.monotonic() - STARTED:.1f} s]", flush=True)


def check(condition: object, message: str) -> None:
    """Fail the smoke test with ``message`` unless ``condition``."""
    if not condition:
        raise SystemExit(f"wheel smoke FAILED: {message}")


def installed_from_wheel(checkout: Path) -> str:
    """The package comes from this venv's site-packages, installed from a .whl; return its version."""
    import airflow_provider_creatify

    where = Path(airflow_provider_creatify.__file__).resolve().parent
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    check(where == site / PACKAGE, f"{PACKAGE} imported from {where}, not from {site}")
    check(where != checkout / PACKAGE, f"{PACKAGE} imported from the checkout {checkout}")
    venv = Path(sys.prefix).resolve()  # may lie inside the checkout (.venv/)
    paths = [Path(p or ".").resolve() for p in sys.path]
    stray = [str(p) for p in paths if p.is_relative_to(checkout) and not p.is_relative_to(venv)]
    check(not stray, f"the checkout is on sys.path: {stray}")
    dist = metadata.distribution(DIST_NAME)
    url = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
    check(url.endswith(".whl"), f"{DIST_NAME} was not installed from a wheel (direct_url: {url or 'none'})")
    check(dist.version == airflow_provider_creatify.__version__, f"{dist.version} is not __version__")
    ok(f"{DIST_NAME} {dist.version} imported from {where} (installed from {Path(url).name})")
    return dist.version


def package_data() -> bytes:
    """``py.typed`` and the sandbox's bundled MP4 are installed; return the MP4's bytes."""
    package = resources.files(PACKAGE)
    check(package.joinpath("py.typed").is_file(), "py.typed is not installed: type checkers ignore the hints")
    media = package.joinpath("sandbox/media/sample.mp4")
    check(media.is_file(), "sandbox/media/sample.mp4 is not installed: the sandbox's video assets fail")
    mp4 = media.read_bytes()
    check(mp4[4:8] == MP4_BRAND, "sandbox/media/sample.mp4 is not an MP4 file")
    ok(f"package data: py.typed, sandbox/media/sample.mp4 ({len(mp4)} bytes)")
    return mp4


def entry_points() -> None:
    """The Airflow plugin loads; the pytest plugin's entry point names an installed module."""
    from airflow.providers.common.compat.sdk import AirflowPlugin

    (plugin,) = metadata.entry_points(group="airflow.plugins", name="creatify")
    check(issubclass(plugin.load(), AirflowPlugin), f"{plugin.value} is not an AirflowPlugin")
    (fixture,) = metadata.entry_points(group="pytest11", name="creatify_sandbox")
    check(util.find_spec(fixture.value) is not None, f"pytest11 entry point {fixture.value} is not installed")
    ok(f"entry points: airflow.plugins creatify -> {plugin.value}; pytest11 -> {fixture.value}")


def run_all(commands: dict[str, list[str]], env: dict[str, str]) -> dict[str, str]:
    """Run the commands side by side; return each one's stdout; fail on a non-zero exit."""
    procs = {
        name: subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for name, cmd in commands.items()
    }
    outputs = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        check(proc.returncode == 0, f"`{' '.join(commands[name])}` exited {proc.returncode}:\n{err[-3000:]}")
        outputs[name] = out
    return outputs


def command_lines(version: str) -> None:
    """Airflow's CLI finds the provider and the plugin; ``creatify-models`` asks a ``creatify-sandbox``."""
    sandbox = subprocess.Popen(
        [script("creatify-sandbox"), "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert sandbox.stdout is not None
        conn = ""
        for line in sandbox.stdout:  # its banner says how to reach it
            if line.startswith("export AIRFLOW_CONN_CREATIFY_DEFAULT="):
                conn = line.split("=", 1)[1].strip().strip("'")
                break
        check(conn, "creatify-sandbox printed no AIRFLOW_CONN_CREATIFY_DEFAULT line")
        out = run_all(
            {
                "full": [script("airflow"), "providers", "get", DIST_NAME, "--full", "-o", "json"],
                "plugins": [script("airflow"), "plugins", "-o", "json"],
                "help": [script("creatify-sandbox"), "--help"],
                "models": [script("creatify-models"), "nano-banana"],
            },
            {**os.environ, "AIRFLOW_CONN_CREATIFY_DEFAULT": conn},
        )
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
    check(sandbox.returncode == 0, f"creatify-sandbox exited {sandbox.returncode} on SIGTERM")
    (info,) = json.loads(out["full"])
    check(
        info.get("versions", [None])[0] == version,
        f"`airflow providers get` versions: {info.get('versions')}",
    )
    conn_types = [c.get("connection-type") for c in info.get("connection-types", [])]
    check(conn_types == ["creatify"], f"provider info connection types: {conn_types}")
    ok(f"airflow providers get: {DIST_NAME} {version}, connection type creatify")
    plugins = {p.get("name"): p.get("source", "") for p in json.loads(out["plugins"])}
    check(DIST_NAME in plugins.get("creatify", ""), f"`airflow plugins` does not list creatify: {plugins}")
    ok(f"airflow plugins: creatify from {DIST_NAME}=={version}")
    check("creatify-sandbox" in out["help"], "creatify-sandbox --help printed no usage")
    check(out["models"].startswith("nano-banana ("), f"creatify-models printed {out['models'][:200]!r}")
    ok("creatify-sandbox --help; creatify-models asked a creatify-sandbox process")


def run_dag(dag_file: Path, dags: Path, assets: Path, mp4: bytes) -> None:
    """Run the example DAG deferrable with ``dag.test()``; its video asset downloads as the bundled MP4."""
    from airflow_provider_creatify.hooks.creatify import CreatifyHook
    from airflow_provider_creatify.sandbox import CreatifySandbox, SandboxSettings
    from airflow_provider_creatify.testing import dagrun_xcoms, load_dag_file, set_deferrable

    shutil.copy(dag_file, dags)
    with CreatifySandbox(SandboxSettings(generation_seconds=0.5)) as sandbox:
        os.environ["AIRFLOW_CONN_CREATIFY_DEFAULT"] = sandbox.connection_json()
        from airflow.utils.db import initdb

        initdb()
        dag = load_dag_file(dags / dag_file.name, dag_file.stem)
        set_deferrable(dag, True)
        dagrun = dag.test()
        check(dagrun.state == "success", f"DAG run {dagrun.run_id} ended {dagrun.state}")
        xcoms: dict[tuple[str, int, str], Any] = dagrun_xcoms(dagrun)
        urls = [url for (_, _, key), value in sorted(xcoms.items()) if key == "asset_urls" for url in value]
        check(urls, f"the DAG run pushed no asset_urls: {sorted(xcoms)}")
        stored = CreatifyHook().copy_assets(urls, f"file://{assets}/")
        posts = sandbox.count("POST", "/api/asset_generator/")
    files = {
        Path(p.removeprefix("file://")).suffix: Path(p.removeprefix("file://")).read_bytes() for p in stored
    }
    check(
        files.get(".mp4") == mp4, f"the video asset is not the bundled sample.mp4 (assets: {sorted(files)})"
    )
    check(files.get(".png", b"").startswith(PNG_SIGNATURE), "the image asset is not a PNG")
    ok(
        f"DAG {dag.dag_id} ran deferrable: {len(dag.tasks)} tasks, {posts} generations, "
        f"{len(stored)} assets downloaded ({', '.join(sorted(files))}; the MP4 is the bundled one)"
    )


def loaded_from(site: Path) -> None:
    """Every module of the package that ran came from the venv's copy."""
    modules = {n: Path(m.__file__) for n, m in sys.modules.items() if n.startswith(PACKAGE) and m.__file__}
    stray = {n: str(f) for n, f in modules.items() if not f.resolve().is_relative_to(site / PACKAGE)}
    check(not stray, f"modules loaded from outside {site}: {stray}")
    ok(f"all {len(modules)} {PACKAGE} modules loaded came from {site}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, required=True, help="the source checkout, never imported")
    parser.add_argument("--dag-file", type=Path, required=True, help="an example DAG file to run")
    parser.add_argument("--work", type=Path, required=True, help="an empty folder for Airflow's files")
    args = parser.parse_args()
    home, dags, assets = args.work / "airflow-home", args.work / "dags", args.work / "assets"
    for folder in (home, dags, assets):
        folder.mkdir(parents=True, exist_ok=True)
    os.environ.update(  # before Airflow is imported: it reads its config once
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AIRFLOW__CREATIFY__ALLOW_PRIVATE_HOSTS="True",  # the sandbox serves its assets from 127.0.0.1
    )
    version = installed_from_wheel(args.checkout.resolve())
    mp4 = package_data()
    entry_points()
    command_lines(version)
    run_dag(args.dag_file, dags, assets, mp4)
    loaded_from(Path(sysconfig.get_paths()["purelib"]).resolve())
    print("wheel smoke: all checks passed", flush=True)


if __name__ == "__main__":
    main()
