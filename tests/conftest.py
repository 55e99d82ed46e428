"""Test set-up: a throw-away AIRFLOW_HOME on SQLite; its dags folder holds example_dags/ and
tests/integration/dags/.

The environment is set at import time, before anything imports Airflow (its config is read once).
Test modules never import this module: they take what it sets up as fixtures (``dags_folder``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers import EXAMPLE_DAGS

_home = Path(tempfile.mkdtemp(prefix="creatify-airflow-home-"))
DAGS_FOLDER = _home / "dags"  # dag.test() needs the DAG file inside the configured dags folder
DAGS_FOLDER.mkdir()
_integration_dags = Path(__file__).parent / "integration" / "dags"
for _dag_file in [*EXAMPLE_DAGS.glob("*.py"), *_integration_dags.glob("*.py")]:
    shutil.copy(_dag_file, DAGS_FOLDER)
os.environ.update(
    {
        "AIRFLOW_HOME": str(_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_home}/airflow.db",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    }
)
os.environ.pop("AIRFLOW_CONN_CREATIFY_DEFAULT", None)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated metadata DB in the temporary AIRFLOW_HOME (once per session)."""
    from airflow.utils.db import initdb

    initdb()
    return _home


@pytest.fixture(scope="session")
def dags_folder() -> Path:
    """The configured dags folder: copies of example_dags/*.py and tests/integration/dags/*.py."""
    return DAGS_FOLDER


@pytest.fixture(autouse=True)
def fresh_list_rests(monkeypatch):
    """No list endpoint rests from an earlier test (the record is per process: ``_batch.LIST_RESTS``)."""
    from airflow_provider_creatify.hooks._batch import LIST_RESTS

    monkeypatch.setattr(LIST_RESTS, "_until", {})


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    """Retries back off in milliseconds, not seconds, so fault tests stay quick."""
    from airflow_provider_creatify.hooks.creatify import CreatifyHook

    monkeypatch.setattr(CreatifyHook, "retry_backoff", 0.01)
    monkeypatch.setattr(CreatifyHook, "retry_max_delay", 0.05)


@pytest.fixture
def creatify_conn(creatify_sandbox, monkeypatch):
    """The sandbox, reachable through the ``creatify_default`` connection (an env var, JSON form)."""
    monkeypatch.setenv("AIRFLOW_CONN_CREATIFY_DEFAULT", creatify_sandbox.connection_json())
    return creatify_sandbox
