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

import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_creatify.destinations import LOCAL_SCHEMES

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

__all__ = ["MANIFEST_NAME", "STATUSES", "BatchState", "ItemState", "read_manifest", "write_manifest"]

#: The manifest's file name under ``output_path``.
MANIFEST_NAME = "manifest.jsonl"
#: The journal's folder under ``output_path``.
STATE_FOLDER = "state"
#: What the manifest says became of an item.
STATUSES = ("done", "failed", "invalid", "not_submitted", "timeout", "uncertain")


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
        self.folder = folder(output_path) / STATE_FOLDER
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
    target = folder(output_path) / MANIFEST_NAME
    write_whole(target, "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows))
    return str(target)


def read_manifest(uri: str | ObjectStoragePath) -> Iterator[dict[str, Any]]:
    """Each item of a batch's manifest, as a dict, in the items' order.

    :param uri: the manifest (``manifest_uri`` of the batch's XCom), or the batch's ``output_path``.
    """
    from airflow.sdk import ObjectStoragePath

    path = uri if isinstance(uri, ObjectStoragePath) else ObjectStoragePath(uri)
    if path.name != MANIFEST_NAME:
        path = path / MANIFEST_NAME
    with path.open("r") as handle:
        while line := handle.readline():  # Airflow 3.1 wraps the file in an object that cannot iterate
            if line.strip():
                yield json.loads(line)


def folder(output_path: str | ObjectStoragePath) -> ObjectStoragePath:
    """``output_path`` as an ``ObjectStoragePath``."""
    from airflow.sdk import ObjectStoragePath

    return output_path if isinstance(output_path, ObjectStoragePath) else ObjectStoragePath(output_path)


def write_whole(target: ObjectStoragePath, text: str) -> None:
    """Write ``text`` to a temporary name beside ``target``, then move it into place.

    A writer killed midway leaves no ``target`` (at most a ``.part`` file, which readers skip).
    """
    if target.protocol in LOCAL_SCHEMES:  # object stores have no folders to make
        target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.part")
    part.write_text(text)
    part.rename(target)
