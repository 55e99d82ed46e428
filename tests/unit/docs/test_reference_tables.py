"""Each `| argument | default | meaning |` table of docs/operators.md lists exactly its class's own keyword
arguments (``inspect.signature`` of ``__init__``, without ``**kwargs``: BaseOperator's arguments are
Airflow's), each with its real default, so a table cannot drift from the code.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import conf

from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.operators.creatify import (
    CreatifyCopyAssetsOperator,
    CreatifyCreateGenerationOperator,
)
from airflow_provider_creatify.sensors.creatify import CreatifyGenerationSensor
from tests.unit.docs.doc_markdown import table

HEADER = ["argument", "default", "meaning"]
REQUIRED = inspect.Parameter.empty
#: Defaults the tables name by the setting they come from, with how the code reads that setting.
SETTINGS = {"`[operators] default_deferrable`": ("operators", "default_deferrable")}
UNITS = {"GiB": 1024**3, "MiB": 1024**2}
NUMBER = re.compile(r"(?P<number>\d+(?:\.\d+)?)(?: (?P<unit>GiB|MiB))?")

#: Each documented class, under the heading of its section.
SECTIONS = {
    "CreatifyCreateGenerationOperator": CreatifyCreateGenerationOperator,
    "CreatifyCopyAssetsOperator": CreatifyCopyAssetsOperator,
    "CreatifyGenerationSensor": CreatifyGenerationSensor,
    "CreatifyHook": CreatifyHook,
}


@pytest.fixture(autouse=True)
def fast_retries():
    """Not here: the tests/conftest.py fixture of this name shortens the hook's retry defaults, which the
    CreatifyHook table documents."""


def documented_default(cell: str) -> Any:
    """What a default cell says: ``REQUIRED``, ``None``, a bool, a number (``5 GiB`` too), a setting's
    value, or a string (in backticks)."""
    if cell == "required":
        return REQUIRED
    if cell in SETTINGS:
        section, key = SETTINGS[cell]
        return conf.getboolean(section, key, fallback=False)
    literals = {"`None`": None, "`True`": True, "`False`": False}
    if cell in literals:
        return literals[cell]
    if found := NUMBER.fullmatch(cell):
        return float(found["number"]) * UNITS.get(found["unit"] or "", 1)
    assert re.fullmatch(r"`[^`]+`", cell), f"unreadable default: {cell!r}"
    return cell.strip("`")


def code_default(cls: type, parameter: inspect.Parameter) -> Any:
    """The parameter's default; ``None`` standing for a class attribute of the same name is that attribute
    (the hook's ``max_retries``, ``retry_backoff``, ``retry_max_delay``)."""
    if parameter.default is None and parameter.name in vars(cls):
        return vars(cls)[parameter.name]
    return parameter.default


def documented(heading: str) -> dict[str, Any]:
    """``{argument: default}`` from the section's table; a row may name several arguments."""
    found: dict[str, Any] = {}
    for name_cell, default_cell, _meaning in table(heading, HEADER):
        assert re.fullmatch(r"`\w+`(, `\w+`)*", name_cell), f"unreadable argument cell {name_cell!r}"
        names = re.findall(r"`(\w+)`", name_cell)
        for name in names:
            assert name not in found, f"{heading}: {name} is listed twice"
            found[name] = documented_default(default_cell)
    return found


def in_code(cls: type) -> dict[str, Any]:
    """``{argument: default}`` of ``cls.__init__``'s own named arguments."""
    parameters = list(inspect.signature(vars(cls)["__init__"]).parameters.values())[1:]  # not self
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name: code_default(cls, p) for p in parameters if p.kind in named}


@pytest.mark.parametrize("heading", SECTIONS)
def test_the_table_lists_exactly_the_arguments_with_their_defaults(heading):
    doc, code = documented(heading), in_code(SECTIONS[heading])
    assert sorted(doc) == sorted(code)
    assert {name: doc[name] for name in code} == code
