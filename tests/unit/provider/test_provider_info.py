"""Packaging: provider info, entry point, `airflow providers list`, lazy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import airflow_provider_creatify
from tests.helpers import REPO


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


def test_connection_form_relabels_fields_on_this_airflow(airflow_db):
    """Airflow 3.2+ reads the form from the provider info; older ones from the hook: the same form."""
    from airflow.providers_manager import ProvidersManager

    from airflow_provider_creatify.hooks.creatify import CreatifyHook

    expected_labels = {"login": "API ID", "password": "API Key", "host": "Base URL"}
    hook_form = CreatifyHook.get_ui_field_behaviour()
    assert hook_form["relabeling"] == expected_labels
    assert set(hook_form["hidden_fields"]) == {"schema", "port", "extra"}
    assert "api.creatify.ai" in hook_form["placeholders"]["host"]
    manager = ProvidersManager()
    manager._customized_form_fields_schema_validator.validate(hook_form)  # the shape Airflow accepts
    if hasattr(manager, "_load_ui_metadata"):  # Airflow 3.2+: from the provider info, no hook import
        behaviour = manager.field_behaviours["creatify"]
        assert behaviour["relabeling"] == expected_labels
        assert behaviour["hidden_fields"] == hook_form["hidden_fields"]
        assert manager.hooks["creatify"].hook_name == "Creatify"


def test_extra_link_is_registered(airflow_db):
    from airflow.providers_manager import ProvidersManager

    links = ProvidersManager().extra_links_class_names
    assert "airflow_provider_creatify.operators.creatify.CreatifyAssetLink" in links


def airflow_connections_test(connection_json: str) -> str:
    env = os.environ | {
        "AIRFLOW_CONN_CREATIFY_DEFAULT": connection_json,
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
    }
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "connections", "test", "creatify_default"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    return done.stdout + done.stderr


def test_airflow_connections_test_explains_a_wrong_key(airflow_db, creatify_sandbox):
    secret = "definitely-the-wrong-key"
    wrong = json.loads(creatify_sandbox.connection_json()) | {"password": secret}
    out = airflow_connections_test(json.dumps(wrong))
    assert "Connection failed" in out and "401" in out and "API key" in out
    assert secret not in out


def test_airflow_connections_test_succeeds(airflow_db, creatify_sandbox):
    out = airflow_connections_test(creatify_sandbox.connection_json())
    assert "Connection success!" in out


def test_packaging_ships_types_and_a_changelog_entry_for_this_version():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    package = Path(airflow_provider_creatify.__file__).parent
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert (package / "py.typed").is_file()
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["airflow_provider_creatify"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "airflow_provider_creatify.__version__"
    }
    assert f"## {airflow_provider_creatify.__version__} " in (REPO / "CHANGELOG.md").read_text()
