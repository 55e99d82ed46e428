"""A batch's items: from a list or a file (JSON lines, CSV), checked before anything is sent."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_creatify.exceptions import CreatifyConfigError, CreatifyValidationError
from airflow_provider_creatify.lost_creates import fingerprint
from airflow_provider_creatify.writes import as_path

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

#: How many problems an error about the items lists.
SHOWN_PROBLEMS = 5
#: Columns of an items CSV that are not input fields.
CSV_FIELDS = ("key", "model_name")


@dataclass(frozen=True)
class BatchItem:
    """One generation of a batch: its key (unique), its place in the input, its model and input."""

    key: str
    index: int
    model_name: str
    input_params: dict[str, Any]

    @cached_property
    def fingerprint(self) -> str:
        """What it is made from, as a digest (:func:`~airflow_provider_creatify.lost_creates.fingerprint`)."""
        return fingerprint(self.model_name, self.input_params)


def items_from(entries: Sequence[Any], model_name: str | None) -> list[BatchItem]:
    """The batch's items, checked: each an object with ``input_params``, a unique ``key``, a model.

    :param entries: dicts with ``input_params`` (an object), optional ``key`` (default: the index) and
        ``model_name`` (default: ``model_name``).
    :param model_name: the model of the items that name none.
    :raises CreatifyValidationError: listing the first few problems (nothing was sent).
    """
    items, problems, seen = [], [], set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("input_params"), Mapping):
            problems.append(f"item {index} is not an object with an 'input_params' object")
            continue
        key = entry.get("key", index)
        if isinstance(key, bool) or not isinstance(key, (str, int)) or str(key) == "":
            problems.append(f"item {index} has a key that is not a string or an integer: {key!r}")
            continue
        if str(key) in seen:
            problems.append(f"item {index} repeats the key {str(key)!r}")
        seen.add(str(key))
        model = entry.get("model_name") or model_name
        if not model:
            problems.append(f"item {index} names no model_name, and the operator's model_name is not set")
            continue
        items.append(BatchItem(str(key), index, str(model), dict(entry["input_params"])))
    if problems:
        raise CreatifyValidationError(
            f"The batch's items cannot be used: {listing(problems)}. Fix the items; nothing was created."
        )
    return items


def listing(problems: Sequence[str]) -> str:
    """The first :data:`SHOWN_PROBLEMS` problems, and how many more there are."""
    shown = "; ".join(problems[:SHOWN_PROBLEMS])
    more = len(problems) - SHOWN_PROBLEMS
    return f"{shown} (and {more} more)" if more > 0 else shown


def entries_of(items: Any, items_path: str | ObjectStoragePath | None, task_id: str) -> Sequence[Any]:
    """The operator's ``items``, or the entries of its ``items_path`` file.

    :raises CreatifyConfigError: ``items`` is not a list.
    """
    if items_path is not None:
        return read_items(items_path)
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
        raise CreatifyConfigError(f"Task {task_id!r}: items must be a list, got {type(items).__name__}.")
    return items


def read_items(items_path: str | ObjectStoragePath) -> list[dict[str, Any]]:
    """The entries of an items file: JSON lines (``.jsonl``, ``.ndjson``) or a CSV with a header.

    A CSV's ``input_params`` column, when there is one, holds each item's input as JSON. Without it,
    every column but ``key`` and ``model_name`` is an input field (text; empty cells left out).

    :raises CreatifyValidationError: the file's kind is unknown, or a line or cell is not valid JSON.
    """
    path = as_path(items_path)
    suffix = path.name.rpartition(".")[2].lower()
    text = path.read_text()
    try:
        if suffix in ("jsonl", "ndjson"):
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        if suffix == "csv":
            return [_csv_entry(row) for row in csv.DictReader(io.StringIO(text))]
    except ValueError as exc:
        raise CreatifyValidationError(
            f"The batch's items file {str(path)!r} is not valid: {exc}. Fix the file; nothing was created."
        ) from None
    raise CreatifyValidationError(
        f"The batch's items file {str(path)!r} is neither .jsonl, .ndjson nor .csv: name it after its kind."
    )


def _csv_entry(row: dict[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {name: row[name] for name in CSV_FIELDS if row.get(name)}
    if "input_params" in row:
        entry["input_params"] = json.loads(row["input_params"])
    else:
        entry["input_params"] = {k: v for k, v in row.items() if k not in CSV_FIELDS and k and v}
    return entry
