"""The Costs table of docs/operators.md is the sandbox's price list, so the two cannot drift apart.

Each row is read back into prices and compared with ``sandbox/catalogue.py`` (every model, every
``duration``, the per-image rule, the default), then one generation of each model is bought from the
sandbox over real HTTP and its ``credits_used`` compared with the row. The "price from" column (which
prices are Creatify's) is the catalogue's comments: it is checked by reading, not here.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.sandbox.catalogue import MODELS
from airflow_provider_creatify.sandbox.model_spec import ModelSpec
from airflow_provider_creatify.sandbox.settings import SandboxSettings
from tests.unit.docs.doc_markdown import table

HEADER = ["model", "makes", "credits", "price from"]
MAKES = {"images": "image", "a video": "video", "a sound": "audio"}  # the column, the spec's asset_type
PER_IMAGE = re.compile(r"(?P<price>[\d.]+) an image")
BY_DURATION = re.compile(r"`(?P<duration>[^`]+)`: (?P<price>[\d.]+)(?P<default> \(default\))?")
FLAT = re.compile(r"[\d.]+")


@dataclass(frozen=True)
class Row:
    """One row of the Costs table, read back."""

    model: str
    asset_type: str
    per_image: float | None = None
    by_duration: dict[str, float] | None = None
    default_duration: str | None = None
    flat: float | None = None

    @property
    def default_price(self) -> float:
        """What a generation with only the required inputs costs."""
        if self.by_duration is not None and self.default_duration is not None:
            return self.by_duration[self.default_duration]
        price = self.per_image if self.per_image is not None else self.flat
        assert price is not None
        return price


def read_row(cells: list[str]) -> Row:
    model_cell, makes, credits, _source = cells
    assert re.fullmatch(r"`[^`]+`", model_cell), model_cell
    model, asset_type = model_cell.strip("`"), MAKES[makes]
    if found := PER_IMAGE.fullmatch(credits):
        return Row(model, asset_type, per_image=float(found["price"]))
    if FLAT.fullmatch(credits):
        return Row(model, asset_type, flat=float(credits))
    pairs = list(BY_DURATION.finditer(credits))
    assert ", ".join(p.group(0) for p in pairs) == credits, f"unreadable credits cell: {credits!r}"
    defaults = [p["duration"] for p in pairs if p["default"]]
    assert len(defaults) == 1, f"{model}: one duration is marked (default)"
    by_duration = {p["duration"]: float(p["price"]) for p in pairs}
    return Row(model, asset_type, by_duration=by_duration, default_duration=defaults[0])


def costs_rows() -> list[Row]:
    return [read_row(cells) for cells in table("Costs", HEADER)]


def other_inputs(spec: ModelSpec, *, but: str) -> list[dict[str, Any]]:
    """Inputs that vary one field other than ``but`` to each of its enum values or its bounds."""
    variants = []
    for name, prop in spec.schema["properties"].items():
        if name == but:
            continue
        for value in [*prop.get("enum", []), prop.get("minimum"), prop.get("maximum")]:
            if value is not None:
                variants.append({name: value})
    return variants


def test_the_table_lists_every_model_of_the_sandbox_once():
    models = [row.model for row in costs_rows()]
    assert sorted(models) == sorted(MODELS) and len(set(models)) == len(models)


@pytest.mark.parametrize("row", costs_rows(), ids=lambda row: row.model)
def test_each_row_is_the_sandboxs_price(row: Row):
    spec = MODELS[row.model]
    assert spec.asset_type == row.asset_type
    if row.per_image is not None:
        assert spec.price({}) == row.per_image
        for count in range(1, spec.schema["properties"]["num_images"]["maximum"] + 1):
            assert spec.price({"num_images": count}) == count * row.per_image
        varied = other_inputs(spec, but="num_images")
        assert all(spec.price(params) == row.per_image for params in varied)
    elif row.by_duration is not None:
        duration = spec.schema["properties"]["duration"]
        assert row.default_duration is not None, f"{row.model}: a price by duration marks its default"
        assert list(row.by_duration) == duration["enum"] and row.default_duration == duration["default"]
        varied = other_inputs(spec, but="duration")
        for value, price in row.by_duration.items():
            assert spec.price({"duration": value}) == price
            assert all(spec.price({**params, "duration": value}) == price for params in varied)
        assert spec.price({}) == row.by_duration[row.default_duration]
    else:
        assert all(spec.price(params) == row.flat for params in [{}, *other_inputs(spec, but="")])


@pytest.fixture
def creatify_sandbox_settings() -> SandboxSettings:
    return SandboxSettings(generation_seconds=0.2)


def minimal_input(spec: ModelSpec) -> dict[str, Any]:
    """The model's required fields, filled in (URLs are not fetched by the sandbox)."""
    url = "https://example.com/start.jpg"
    filled = {"string": "a lighthouse at dusk", "array": [url]}
    props = spec.schema["properties"]
    return {
        name: url if props[name].get("format") == "uri" else filled[props[name]["type"]]
        for name in spec.schema["required"]
    }


def test_what_the_sandbox_bills_over_http_is_the_tables_default_price(creatify_conn):
    hook = CreatifyHook()
    balance = hook.remaining_credits()
    rows = costs_rows()
    created = {row.model: hook.create_generation(row.model, minimal_input(MODELS[row.model])) for row in rows}
    deadline = time.monotonic() + 30
    while True:
        done = hook.get_generations([g.id for g in created.values()])
        if all(g is not None and g.is_done for g in done.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    expected = {row.model: row.default_price for row in rows}
    used = {}
    for model, generation in created.items():
        read = done[generation.id]
        assert read is not None, f"{model}: generation {generation.id} is not listed"
        used[model] = read.credits_used
    assert used == expected
    assert hook.remaining_credits() == balance - sum(expected.values())
