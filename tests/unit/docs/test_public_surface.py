"""The supported imports listed in docs/operators.md are each module's ``__all__``; the rest say they are
internal."""

from __future__ import annotations

import ast
import importlib
import re

from tests.helpers import REPO

PACKAGE = "airflow_provider_creatify"
ROW = re.compile(r"^\| `(airflow_provider_creatify[\w.]*)` \| (.+) \|$")
#: Packages whose ``__init__`` is their interface: the modules inside are theirs, not the users'.
WRAPPED = ("batch", "sandbox")
MARK = "Internal: not a supported import"


def listed() -> dict[str, set[str]]:
    """Module -> the names docs/operators.md's "Supported imports" lists for it."""
    text = (REPO / "docs" / "operators.md").read_text().split("## Supported imports", 1)[1]
    rows = [ROW.match(line) for line in text.splitlines()]
    return {row[1]: set(re.findall(r"`(\w+)`", row[2])) for row in rows if row}


def test_each_listed_module_exports_exactly_the_listed_names():
    table = listed()
    assert len(table) >= 14
    for module, names in table.items():
        exported = importlib.import_module(module).__all__
        assert set(exported) == names, module
        assert all(hasattr(importlib.import_module(module), name) for name in names), module


def test_every_other_module_is_private_by_name_or_says_it_is_internal():
    public = set(listed())
    unmarked = []
    for path in sorted((REPO / PACKAGE).rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        inside_wrapped = len(parts) > 2 and parts[1] in WRAPPED
        private = any(part.startswith("_") and part != "__init__" for part in parts)
        empty = not path.read_text().strip()  # hooks/, operators/, ...: namespaces, nothing in them
        if module in public or module == PACKAGE or inside_wrapped or private or empty:
            continue
        docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
        if MARK not in docstring:
            unmarked.append(module)
    assert unmarked == []
