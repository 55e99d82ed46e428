"""Many generations in one task: its items, its write-ahead state and its manifest, in object storage.

Everything lives under the batch's ``output_path`` (any Airflow object storage folder):

- ``state/``: the journal. Each flush writes one new, whole file of records (never an append: object
  stores have none), so a writer killed mid-flush leaves the whole file or nothing. Replayed in order,
  the records give each item its intent (fingerprint and time, written before its POST) and its
  generation id (written after).
- ``manifest.jsonl``: one line per item once the batch ends, read back with :func:`read_manifest`.

jsonschema and HTTP clients are not needed here; ``ObjectStoragePath`` is imported where used.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_creatify.exceptions import CreatifyValidationError
from airflow_provider_creatify.writes import write_whole

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

__all__ = [
    "MANIFEST_NAME",
    "STATUSES",
    "BatchItem",
    "BatchState",
    "ItemState",
    "items_from",
    "read_items",
    "read_manifest",
    "write_manifest",
]

#: The manifest's file name under ``output_path``.
MANIFEST_NAME = "manifest.jsonl"
#: The journal's folder under ``output_path``.
STATE_FOLDER = "state"
#: What the manifest says became of an item.
STATUSES = ("done", "failed", "invalid", "not_submitted", "timeout", "uncertain")
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


def items_from(entries: Sequence[Any], model_name: str) -> list[BatchItem]:
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
        items.append(BatchItem(str(key), index, str(model), dict(entry["input_params"])))
    if problems:
        shown = "; ".join(problems[:SHOWN_PROBLEMS])
        more = f" (and {len(problems) - SHOWN_PROBLEMS} more)" if len(problems) > SHOWN_PROBLEMS else ""
        raise CreatifyValidationError(
            f"The batch's items cannot be used: {shown}{more}. Fix the items; nothing was created."
        )
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


@dataclass
class ItemState:
    """What the journal knows of one item: its intent, then its generation id."""

    fingerprint: str | None = None
    intent_at: float | None = None
    generation_id: str | None = None


class BatchState:
    """The journal of one batch under ``output_path``: read once, then added to by flushes.

    :param output_path: the batch's folder (a URL or an ``ObjectStoragePath``).
    """

    def __init__(self, *, output_path: str | ObjectStoragePath) -> None:
        self.folder = as_path(output_path) / STATE_FOLDER
        self.items: dict[str, ItemState] = {}
        self._pending: list[dict[str, Any]] = []
        self._segments = 0
        if self.folder.exists():
            for segment in sorted(self.folder.iterdir(), key=lambda path: path.name):
                if segment.name.endswith(".jsonl"):
                    self._segments += 1
                    for line in segment.read_text().splitlines():
                        self._apply(json.loads(line))

    def intend(self, key: str, fingerprint: str, at: float) -> None:
        """Record that ``key`` is about to be created from ``fingerprint`` (kept until :meth:`flush`)."""
        self._add({"key": key, "fingerprint": fingerprint, "intent_at": at})

    def created(self, key: str, generation_id: str) -> None:
        """Record the generation id ``key`` got (kept until :meth:`flush`)."""
        self._add({"key": key, "generation_id": generation_id})

    def flush(self) -> None:
        """Write the records added since the last flush, as one new whole file; nothing if there are none."""
        if not self._pending:
            return
        self._segments += 1
        name = f"{self._segments:08d}-{uuid.uuid4().hex[:8]}.jsonl"
        write_whole(self.folder / name, "".join(json.dumps(r, sort_keys=True) + "\n" for r in self._pending))
        self._pending = []

    def _add(self, record: dict[str, Any]) -> None:
        self._apply(record)
        self._pending.append(record)

    def _apply(self, record: dict[str, Any]) -> None:
        item = self.items.setdefault(str(record["key"]), ItemState())
        if "fingerprint" in record:
            item.fingerprint, item.intent_at = record["fingerprint"], float(record["intent_at"])
        if record.get("generation_id") and item.generation_id is None:  # the first id stays: it was paid
            item.generation_id = str(record["generation_id"])


def write_manifest(output_path: str | ObjectStoragePath, rows: Iterable[dict[str, Any]]) -> str:
    """Write the manifest, one JSON line per item, whole or not at all; return its URI."""
    target = as_path(output_path) / MANIFEST_NAME
    write_whole(target, "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows))
    return str(target)


def read_manifest(uri: str | ObjectStoragePath) -> Iterator[dict[str, Any]]:
    """Each item of a batch's manifest, as a dict, in the items' order.

    :param uri: the manifest (``manifest_uri`` of the batch's XCom), or the batch's ``output_path``.
    """
    path = as_path(uri)
    if path.name != MANIFEST_NAME:
        path = path / MANIFEST_NAME
    with path.open("r") as handle:
        while line := handle.readline():  # Airflow 3.1 wraps the file in an object that cannot iterate
            if line.strip():
                yield json.loads(line)


def as_path(url: str | ObjectStoragePath) -> ObjectStoragePath:
    """A storage URL (or path) as an ``ObjectStoragePath``."""
    from airflow.sdk import ObjectStoragePath

    return url if isinstance(url, ObjectStoragePath) else ObjectStoragePath(url)
