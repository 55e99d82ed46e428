"""The rooms keep their doors: what imports what, and how big a module may grow."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import airflow_provider_creatify

PACKAGE = Path(airflow_provider_creatify.__file__).parent


def test_every_module_is_at_most_300_lines_the_operators_200():
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    too_long = {name: n for name, n in sizes.items() if n > (200 if name.startswith("operators") else 300)}
    assert too_long == {}


def package_imports() -> dict[str, set[str]]:
    """Module -> the package modules it imports, at the top, lazily or for type checking alike.

    ``from package import submodule`` imports the submodule (not the package's ``__init__``).
    """
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                subs = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
                targets = subs if len(subs) == len(node.names) else [base, *subs]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target not in (name, PACKAGE.name):
                    graph[name].add(target)
    return graph


def test_no_import_circle_inside_the_package():
    """Imports point one way: operators and sensors -> mixins -> triggers -> hooks -> the rest."""
    try:
        tuple(TopologicalSorter(package_imports()).static_order())
    except CycleError as err:
        raise AssertionError(f"import circle: {' -> '.join(err.args[1])}") from None


def test_only_provider_info_names_the_operators():
    """Nothing in the package imports operators/ (provider info names them as strings)."""
    prefixes = ("from airflow_provider_creatify.operators", "import airflow_provider_creatify.operators")
    importers = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if "operators" not in p.parts
        and any(line.lstrip().startswith(prefixes) for line in p.read_text().splitlines())
    ]
    assert importers == []


def test_the_sensor_loads_without_the_operator_module():
    code = (
        "import sys, airflow_provider_creatify.sensors.creatify, airflow_provider_creatify.testing;"
        "assert 'airflow_provider_creatify.operators.creatify' not in sys.modules, 'operator module loaded'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_import_the_readme_shows_works():
    """Every ``from airflow_provider_creatify... import ...`` in README.md and docs/*.md imports."""
    root = PACKAGE.parent
    docs = "\n".join(page.read_text() for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))])
    imports = re.findall(r"from (airflow_provider_creatify[\w.]*) import (\([^)]*\)|[\w, ]+)", docs)
    assert len(imports) >= 6
    for module, names in imports:
        imported = importlib.import_module(module)
        for name in re.findall(r"\w+", names):
            assert hasattr(imported, name), f"{module}.{name}"


def test_no_test_imports_benchmarks():
    """Benchmarks are programs; what tests share with them lives in devtools/ (tests/benchmarks runs them)."""
    tests = PACKAGE.parent / "tests"
    importers = []
    for path in tests.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            if any(name == "benchmarks" or name.startswith("benchmarks.") for name in names):
                importers.append(str(path.relative_to(tests)))
    assert importers == []
