"""The suite runs on what the lock files pin: every installed package at its committed version.

``scripts/lock.sh`` writes ``constraints/airflow-<version>-py<X.Y>.txt``; every venv the scripts make
installs from it. ``scripts/newest.sh`` runs this suite on the newest releases instead, where a difference
from the lock is the point: there these tests skip.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import sys
from pathlib import Path

import pytest
from airflow import __version__ as airflow_version
from packaging.version import Version

from tests.helpers import REPO

pytestmark = pytest.mark.skipif(
    os.environ.get("CREATIFY_NEWEST") == "1", reason="scripts/newest.sh: the newest releases, not the lock"
)


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path) -> dict[str, str]:
    """``{package: version}`` of a lock file's ``name==version`` lines."""
    lines = [line for line in lock.read_text().splitlines() if line and not line.startswith("#")]
    assert all("==" in line for line in lines), "a lock pins every package with =="
    return {normalized(name): version for name, version in (line.split("==", 1) for line in lines)}


def this_venvs_lock() -> Path:
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return REPO / "constraints" / f"airflow-{airflow_version}-py{python}.txt"


def test_every_installed_package_is_at_the_version_its_lock_pins():
    lock = this_venvs_lock()
    assert lock.is_file(), f"no {lock.name}: write it with `bash scripts/lock.sh`"
    pinned = pins(lock)
    installed = {normalized(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    installed.pop("airflow-provider-creatify")
    assert {name: (v, pinned.get(name)) for name, v in installed.items() if pinned.get(name) != v} == {}


def test_the_airflow_3_1_locks_keep_cryptography_below_51():
    """Airflow 3.1 reads no connection with cryptography 51+ (docs/known-airflow-issues.md)."""
    locks = sorted((REPO / "constraints").glob("airflow-3.1.*-py*.txt"))
    assert locks
    for lock in locks:
        assert Version(pins(lock)["cryptography"]).major < 51, lock.name
