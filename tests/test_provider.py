"""Packaging: provider info, entry point, `airflow providers list`, lazy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points

import airflow_provider_creatify


def test_provider_info_entry_point():
    (entry,) = [
        e
        for e in entry_points(group="apache_airflow_provider")
        if e.value.startswith("airflow_provider_creatify")
    ]
    info = entry.load()()
    assert info["package-name"] == "airflow-provider-creatify"
    assert info["versions"] == [airflow_provider_creatify.__version__]
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == "creatify"
    module, _, name = conn_type["hook-class-name"].rpartition(".")
    hook = getattr(__import__(module, fromlist=[name]), name)
    assert hook.conn_type == "creatify" and hook.default_conn_name == "creatify_default"


def test_airflow_providers_list_shows_the_provider(airflow_db):
    out = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    ).stdout
    packages = {p["package_name"]: p for p in json.loads(out[out.index("[") :])}
    assert packages["airflow-provider-creatify"]["version"] == airflow_provider_creatify.__version__


def test_connection_type_is_registered(airflow_db):
    from airflow.providers_manager import ProvidersManager

    hooks = ProvidersManager().hooks
    assert hooks["creatify"].hook_class_name == "airflow_provider_creatify.hooks.creatify.CreatifyHook"


def test_dag_parse_imports_no_http_client():
    code = (
        "import sys, airflow.sdk; before = set(sys.modules);"
        "import airflow_provider_creatify.operators.creatify, airflow_provider_creatify.sensors.creatify;"
        "lazy = ('requests', 'aiohttp', 'airflow.triggers.base');"
        "print(sorted(m for m in lazy if m in sys.modules and m not in before))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
