"""Packaging: provider info, entry point, `airflow providers list`, lazy imports."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

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


def test_provider_info_passes_the_schema_this_airflow_ships():
    import airflow
    import jsonschema

    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    info = airflow_provider_creatify.get_provider_info()
    jsonschema.Draft7Validator(schema).validate(info)
    (integration,) = info["integrations"]
    assert integration["integration-name"] == "Creatify"
    classes = {"hooks": "CreatifyHook", "operators": "CreatifyCreateGenerationOperator"}
    classes |= {"sensors": "CreatifyGenerationSensor", "triggers": "CreatifyGenerationTrigger"}
    for kind, class_name in classes.items():  # each kind names its integration and a module that has it
        (entry,) = info[kind]
        assert entry["integration-name"] == integration["integration-name"]
        modules = [importlib.import_module(module) for module in entry["python-modules"]]
        assert any(hasattr(module, class_name) for module in modules)


def test_airflow_providers_get_shows_the_provider(airflow_db):
    import airflow
    from packaging.version import Version

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow",
            "providers",
            "get",
            "airflow-provider-creatify",
            "-f",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    ).stdout
    (shown,) = json.loads(out[out.index("[") :])
    info = airflow_provider_creatify.get_provider_info()
    for key in (
        "integrations",
        "hooks",
        "operators",
        "sensors",
        "triggers",
        "connection-types",
        "extra-links",
    ):
        assert shown[key] == info[key]
    assert shown["versions"] == [airflow_provider_creatify.__version__]
    if Version(airflow.__version__) >= Version("3.3"):  # the Providers page's link (3.1 ignores the URL)
        assert shown["documentation-url"] == "https://pypi.org/project/airflow-provider-creatify/"


def runtime_hooks() -> Any:
    """The hooks as tasks look them up: the Task SDK's runtime manager (3.3+), else Airflow's."""
    try:
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

        return ProvidersManagerTaskRuntime().hooks
    except ImportError:  # Airflow < 3.3
        from airflow.providers_manager import ProvidersManager

        return ProvidersManager().hooks


def test_connection_type_is_registered(airflow_db):
    info = runtime_hooks()["creatify"]
    assert (
        info is not None and info.hook_class_name == "airflow_provider_creatify.hooks.creatify.CreatifyHook"
    )


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
    assert set(hook_form["hidden_fields"]) == {"schema", "port"}  # extra: the egress proxy
    assert "api.creatify.ai" in hook_form["placeholders"]["host"]
    manager = ProvidersManager()
    manager._customized_form_fields_schema_validator.validate(hook_form)  # the shape Airflow accepts
    if hasattr(manager, "_load_ui_metadata"):  # Airflow 3.2+: from the provider info, no hook import
        behaviour = manager.field_behaviours["creatify"]
        assert behaviour["relabeling"] == expected_labels
        assert behaviour["hidden_fields"] == hook_form["hidden_fields"]
        info = runtime_hooks()["creatify"]
        assert info is not None and info.hook_name == "Creatify"


def test_extra_link_is_registered(airflow_db):
    from airflow.providers_manager import ProvidersManager

    links = ProvidersManager().extra_links_class_names
    assert "airflow_provider_creatify.links.CreatifyAssetLink" in links


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
