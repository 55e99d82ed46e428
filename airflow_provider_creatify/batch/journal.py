"""A batch's write-ahead journal under ``<output_path>/state/``: what became of each item, across tries.

Each flush writes one new, whole file of records (never an append: object stores have none), so a writer
killed mid-flush leaves the whole file or nothing. Replayed in name order, the records give each item:

- ``intent``: its fingerprint and time, written (and flushed) before its POST. It starts the item afresh.
- ``created``: the generation id its POST (or the search for a lost answer) gave. The first one stays.
- ``released``: Creatify certainly made nothing (a 429, a refused connection): the intent is void.
- ``refused``: the item is invalid (its schema, or Creatify's 4xx), for this fingerprint.
- ``uncertain``: in this try, no proof either way of what a lost create made.
- ``result``: its generation's summary, once done or failed, and in which try.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_creatify.writes import as_path, write_whole

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

#: The journal's folder under ``output_path``.
STATE_FOLDER = "state"
#: A journal of more segments than this is rewritten as one (:meth:`BatchState.compact`).
COMPACT_AFTER = 64


@dataclass
class ItemState:
    """What the journal knows of one item."""

    fingerprint: str | None = None
    intent_at: float | None = None
    generation_id: str | None = None
    result: dict[str, Any] | None = None
    result_try: int | None = None
    refused: str | None = None
    refused_fingerprint: str | None = None
    uncertain: str | None = None
    uncertain_try: int | None = None

    def invalid_for(self, fingerprint: str) -> str | None:
        """Why the item made from ``fingerprint`` was refused, if it was."""
        return self.refused if self.refused_fingerprint == fingerprint else None


class BatchState:
    """The journal of one batch under ``output_path``: read once, then added to by flushes.

    :param output_path: the batch's folder (a URL or an ``ObjectStoragePath``).
    """

    def __init__(self, *, output_path: str | ObjectStoragePath) -> None:
        self.folder = as_path(output_path) / STATE_FOLDER
        self.items: dict[str, ItemState] = {}
        self._pending: list[dict[str, Any]] = []
        self._segments: list[ObjectStoragePath] = []
        # Object stores' file systems keep listings for the process's life (s3fs never expires them): a
        # triggerer or a worker that read this journal before would miss what other processes flushed since
        self.folder.fs.invalidate_cache(self.folder.path)
        if self.folder.exists():
            for segment in sorted(self.folder.iterdir(), key=lambda path: path.name):
                if segment.name.endswith(".jsonl"):
                    self._segments.append(segment)
                    for line in segment.read_text().splitlines():
                        self._apply(json.loads(line))

    def get(self, key: str) -> ItemState:
        """What the journal knows of ``key`` (nothing yet: an empty state)."""
        return self.items.get(key) or ItemState()

    def known_ids(self) -> set[str]:
        """Every generation id the batch holds."""
        return {item.generation_id for item in self.items.values() if item.generation_id}

    def intend(self, key: str, fingerprint: str, at: float) -> None:
        """Record that ``key`` is about to be created from ``fingerprint``."""
        self._add({"event": "intent", "key": key, "fingerprint": fingerprint, "intent_at": at})

    def created(self, key: str, generation_id: str) -> None:
        """Record the generation id ``key`` got."""
        self._add({"event": "created", "key": key, "generation_id": generation_id})

    def released(self, key: str) -> None:
        """Record that the create of ``key`` certainly made nothing."""
        self._add({"event": "released", "key": key})

    def refused(self, key: str, fingerprint: str, reason: str) -> None:
        """Record that ``key``, made from ``fingerprint``, is invalid, and why."""
        self._add({"event": "refused", "key": key, "fingerprint": fingerprint, "reason": reason})

    def uncertain(self, key: str, reason: str, try_number: int) -> None:
        """Record that try ``try_number`` cannot tell what the lost create of ``key`` made."""
        self._add({"event": "uncertain", "key": key, "reason": reason, "try": try_number})

    def finished(self, key: str, summary: dict[str, Any], try_number: int) -> None:
        """Record the summary of ``key``'s generation, done or failed, as try ``try_number`` read it."""
        self._add({"event": "result", "key": key, "generation": summary, "try": try_number})

    def flush(self) -> None:
        """Write the records added since the last flush, as one new whole file; nothing if there are none."""
        if not self._pending:
            return
        number = int(self._segments[-1].name[:8]) + 1 if self._segments else 1  # replayed in name order
        segment = self.folder / f"{number:08d}-{uuid.uuid4().hex[:8]}.jsonl"
        write_whole(segment, "".join(json.dumps(r, sort_keys=True) + "\n" for r in self._pending))
        self._segments.append(segment)
        self._pending = []

    def compact(self) -> None:
        """Rewrite a journal of more than :data:`COMPACT_AFTER` segments as one, so replays stay quick.

        The new segment, which says all the others do, is written whole before they are deleted: a writer
        killed in between leaves both, and replaying both gives the same state.
        """
        if len(self._segments) <= COMPACT_AFTER or self._pending:
            return
        older = list(self._segments)
        self._pending = [record for key, item in self.items.items() for record in _records(key, item)]
        self.flush()
        for segment in older:
            segment.unlink()
        self._segments = self._segments[-1:]

    def _add(self, record: dict[str, Any]) -> None:
        self._apply(record)
        self._pending.append(record)

    def _apply(self, record: dict[str, Any]) -> None:
        key, event = str(record["key"]), record["event"]
        item = self.items.setdefault(key, ItemState())
        if event == "intent":
            self.items[key] = ItemState(
                fingerprint=record["fingerprint"],
                intent_at=float(record["intent_at"]),
                refused=item.refused,
                refused_fingerprint=item.refused_fingerprint,
            )
        elif event == "created" and item.generation_id is None:  # the first id stays: it was paid for
            item.generation_id = str(record["generation_id"])
        elif event == "released" and item.generation_id is None:
            item.fingerprint = item.intent_at = None
        elif event == "refused":
            item.refused, item.refused_fingerprint = str(record["reason"]), record["fingerprint"]
        elif event == "uncertain":
            item.uncertain, item.uncertain_try = str(record["reason"]), int(record["try"])
        elif event == "result":
            item.result, item.result_try = dict(record["generation"]), int(record["try"])


def _records(key: str, item: ItemState) -> list[dict[str, Any]]:
    """The records that give ``key`` the state ``item`` when replayed, in order."""
    records: list[dict[str, Any]] = []
    if item.fingerprint is not None:
        records.append(
            {"event": "intent", "key": key, "fingerprint": item.fingerprint, "intent_at": item.intent_at}
        )
    if item.generation_id is not None:
        records.append({"event": "created", "key": key, "generation_id": item.generation_id})
    if item.refused is not None:
        records.append(
            {"event": "refused", "key": key, "fingerprint": item.refused_fingerprint, "reason": item.refused}
        )
    if item.uncertain is not None:
        records.append(
            {"event": "uncertain", "key": key, "reason": item.uncertain, "try": item.uncertain_try}
        )
    if item.result is not None:
        records.append({"event": "result", "key": key, "generation": item.result, "try": item.result_try})
    return records
