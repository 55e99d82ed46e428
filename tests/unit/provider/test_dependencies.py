"""Every package the shipped code imports is declared in pyproject.toml, and where: the sandbox's server
packages in the ``[sandbox]`` extra (imported only under sandbox/), OpenLineage in ``[openlineage]``."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from collections import defaultdict

import pytest

from tests.helpers import REPO

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

PACKAGE = REPO / "airflow_provider_creatify"


def requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def imports_by_file() -> dict[str, set[str]]:
    """Dotted module -> the package's files importing it (absolute imports, lazy ones included)."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                found[module].add(str(path.relative_to(PACKAGE)))
    return found


def distributions(module: str) -> set[str]:
    """The distributions that may provide ``module``: Airflow's providers by their module path."""
    parts = module.split(".")
    if parts[:2] == ["airflow", "providers"]:  # a provider's name has one part or two (common.compat)
        return {"apache-airflow-providers-" + "-".join(parts[2:n]).replace("_", "-") for n in (3, 4)}
    if parts[0] == "airflow":
        return {"apache-airflow"}
    top = importlib.metadata.packages_distributions().get(parts[0], [])
    return {name.lower().replace("_", "-") for name in top}


def test_every_imported_package_is_declared_where_it_is_used():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    required = requirement_names(project["dependencies"])
    extras = {name: requirement_names(reqs) for name, reqs in project["optional-dependencies"].items()}
    undeclared, misplaced = {}, {}
    for module, files in imports_by_file().items():
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top in ("airflow_provider_creatify", "__future__"):
            continue
        if top == "pytest" and files == {"sandbox/pytest_plugin.py"}:  # loaded by pytest only
            continue
        dists = distributions(module)
        if dists & required:
            continue
        extra = next((name for name, names in extras.items() if dists & names and name != "test"), None)
        allowed = {"sandbox": lambda f: f.startswith("sandbox/"), "openlineage": lambda f: f == "lineage.py"}
        if extra is None:
            undeclared[module] = sorted(files)
        elif extra in allowed and not all(map(allowed[extra], files)):
            misplaced[module] = sorted(files)
    assert undeclared == {}
    assert misplaced == {}


def test_the_sandbox_server_is_an_extra_and_the_test_extra_has_it():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert {"uvicorn", "httpx", "cryptography"} <= requirement_names(
        project["optional-dependencies"]["sandbox"]
    )
    assert not {"uvicorn", "httpx", "cryptography"} & requirement_names(project["dependencies"])
    assert "airflow-provider-creatify[sandbox]" in project["optional-dependencies"]["test"]
