"""A batch's rounds in the worker: read what finished, find lost creates, submit what the slots allow.

Each round starts from the journal (:mod:`.journal`), so a resumed, retried or cleared task goes on where
the last one stopped, whatever process it runs in. An item is POSTed only after its intent is flushed;
its id is flushed right after its chunk. An intent without an id is looked for among the account's
generations (:func:`~airflow_provider_creatify.lost_creates.search_lost`) and created again only on
proof that nothing was made.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from airflow_provider_creatify.batch.items import BatchItem, listing
from airflow_provider_creatify.credits import check_credits
from airflow_provider_creatify.exceptions import (
    CreatifyAPIError,
    CreatifyAuthError,
    CreatifyCreateUncertainError,
    CreatifyInsufficientCreditsError,
    CreatifyValidationError,
)
from airflow_provider_creatify.lost_creates import search_lost

if TYPE_CHECKING:
    from airflow_provider_creatify.batch.journal import BatchState
    from airflow_provider_creatify.generation import Generation
    from airflow_provider_creatify.hooks.creatify import CreatifyHook
    from airflow_provider_creatify.protocols import Log

#: Items whose intents are flushed together, then POSTed (at most this many between two flushes).
CHUNK_SIZE = 50
#: POSTs of one chunk in flight at once.
CREATE_THREADS = 8


@dataclass(frozen=True)
class Progress:
    """Where a batch stands after a round.

    :param in_flight: items created and still running, within their deadline.
    :param to_submit: items not created yet (invalid and uncertain ones aside).
    :param stopped: why no more items are submitted in this try (the credits guard), if so.
    """

    in_flight: int
    to_submit: int
    stopped: str | None = None

    @property
    def finished(self) -> bool:
        """Nothing left to wait for, and nothing more to submit."""
        return self.in_flight == 0 and (self.to_submit == 0 or self.stopped is not None)

    def wake_after(self, max_in_flight: int | None) -> int | None:
        """How many running generations must finish before a round can submit more (half the slots, or
        what is left to submit); ``None``: nothing more will be submitted, wait for them all."""
        more = 0 if self.stopped else self.to_submit
        return min(more, max(1, (max_in_flight or 2) // 2)) if more else None


@dataclass(kw_only=True)
class BatchRun:
    """A batch's work in one worker process, round after round, on its journal ``state``.

    The fields are the operator's arguments of the same names, its ``hook`` and ``log``, the task
    instance's ``try_number`` and the parsed ``items``.
    """

    hook: CreatifyHook
    items: Sequence[BatchItem]
    state: BatchState
    try_number: int
    timeout: float
    log: Log
    max_in_flight: int | None = None
    min_remaining_credits: float | None = None
    on_invalid: str = "fail"
    resubmit_failed: bool = False
    stopped: str | None = field(default=None, init=False)

    def advance(self) -> Progress:
        """One round: read the running generations, search lost creates, submit into free slots."""
        self.state.compact()
        self.refresh()
        self.search_lost(self.lost())
        to_submit = [item for item in self.items if self._wants_create(item)]
        if to_submit and not any(self.state.get(i.key).fingerprint == i.fingerprint for i in self.items):
            to_submit = self._validate(to_submit)  # before the first POST, every item
        slots = len(to_submit) if self.max_in_flight is None else self.max_in_flight - self.in_flight()
        for start in range(0, max(0, min(slots, len(to_submit))), CHUNK_SIZE):
            if self.stopped is not None:
                break
            self._submit(to_submit[start : min(start + CHUNK_SIZE, slots)])
        left = sum(1 for item in self.items if self._wants_create(item))
        return Progress(in_flight=self.in_flight(), to_submit=left, stopped=self.stopped)

    def deadline(self, item: BatchItem) -> float:
        """When the wait on ``item``'s generation ends: ``timeout`` after its intent."""
        return (self.state.get(item.key).intent_at or 0.0) + self.timeout

    def running(self) -> list[BatchItem]:
        """The items created from their current input and not finished (timed out or not)."""
        return [
            item
            for item in self.items
            if (st := self.state.get(item.key)).fingerprint == item.fingerprint
            and st.generation_id
            and st.result is None
        ]

    def in_flight(self) -> int:
        """How many running items are still within their deadline."""
        now = time.time()
        return sum(1 for item in self.running() if self.deadline(item) > now)

    def lost(self) -> list[BatchItem]:
        """The items whose create may have been made without its id kept, not yet uncertain in this try."""
        return [
            item
            for item in self.items
            if (st := self.state.get(item.key)).fingerprint == item.fingerprint
            and not st.generation_id
            and st.uncertain_try != self.try_number
        ]

    def refresh(self) -> None:
        """Read the running items' generations (100 a request); journal those done or failed."""
        running = {self.state.get(item.key).generation_id or "": item for item in self.running()}
        if not running:
            return
        for generation_id, generation in self.hook.get_generations(list(running)).items():
            key = running[generation_id].key
            if generation is None:  # 404: gone, or another account's
                summary = {"id": generation_id, "status": "failed", "failed_reason": GONE}
                self.state.finished(key, summary, self.try_number)
            elif generation.is_terminal:
                self.state.finished(key, generation.summary(), self.try_number)
        self.state.flush()

    def search_lost(self, lost: Sequence[BatchItem]) -> None:
        """Find what the lost creates made: adopt what is found; release only on proof that none was made.

        As for one generation (:func:`.lost_creates.search_lost`): what the last search cannot prove stays
        uncertain, in this try.
        """
        wanted = {item.key: (item.model_name, item.input_params) for item in lost}
        if not wanted:
            return
        since = min(self.state.get(item.key).intent_at or 0.0 for item in lost)
        models = ", ".join(sorted({item.model_name for item in lost}))
        found, doubt = search_lost(self.hook, wanted, since, self.state.known_ids(), models, self.log)
        for key, generation in found.items():
            self.log.warning(
                "Item %r: adopting %s, made by a create whose answer was lost.", key, generation.id
            )
            self.state.created(key, generation.id)
        left = [key for key in wanted if key not in found]
        for key in left:
            if doubt is None:  # listed whole, LOST_SEARCHES times, and not there: never made
                self.state.released(key)
            else:
                self.state.uncertain(key, str(doubt), self.try_number)
        if doubt is not None:
            self.log.warning("%d item(s) stay uncertain in this try: %s", len(left), doubt)
        elif left:
            self.log.info("The account's list proves %d lost create(s) made nothing.", len(left))
        self.state.flush()

    def _wants_create(self, item: BatchItem) -> bool:
        st = self.state.get(item.key)
        if st.invalid_for(item.fingerprint):
            return False
        if st.fingerprint != item.fingerprint:  # never submitted, released, or made from another input
            return True
        result = st.result or {}
        failed_earlier = result.get("status") == "failed" and (st.result_try or 0) < self.try_number
        return self.resubmit_failed and failed_earlier

    def _validate(self, items: list[BatchItem]) -> list[BatchItem]:
        """The valid items; the invalid ones fail the task (``on_invalid="fail"``) or are journaled."""
        problems: dict[str, str] = {}
        for item in items:
            try:
                self.hook.validate_input(item.model_name, item.input_params)
            except CreatifyValidationError as err:
                problems[item.key] = str(err)
        if problems and self.on_invalid == "fail":
            raise CreatifyValidationError(
                f"{len(problems)} of the batch's {len(self.items)} items are invalid: "
                f"{listing([f'item {key!r}: {why}' for key, why in problems.items()])}. Nothing was "
                'created. Fix the items, or pass on_invalid="skip" to create the valid ones.'
            )
        for item in items:
            if item.key in problems:
                self.state.refused(item.key, item.fingerprint, problems[item.key])
        self.state.flush()
        if problems:
            self.log.warning("%d item(s) are invalid and skipped (on_invalid='skip').", len(problems))
        self.log.info("%d item(s) are valid for their models' schemas.", len(items) - len(problems))
        return [item for item in items if item.key not in problems]

    def _submit(self, chunk: Sequence[BatchItem]) -> None:
        """Check the credits, flush the chunk's intents, POST them, flush their ids, search lost ones."""
        if self.min_remaining_credits is not None:
            try:
                check_credits(self.hook, self.min_remaining_credits, "more of this batch", self.log)
            except CreatifyInsufficientCreditsError as err:
                self.stopped = str(err)
                self.log.warning("No more items are submitted in this try: %s", err)
                return
        at = time.time()
        for item in chunk:
            self.state.intend(item.key, item.fingerprint, at)
        self.state.flush()
        self.hook.session  # noqa: B018 - built here, not by the first threads at once
        with ThreadPoolExecutor(max_workers=min(CREATE_THREADS, len(chunk))) as pool:
            outcomes = list(pool.map(self._create, chunk))
        failures = [
            error
            for item, outcome in zip(chunk, outcomes, strict=True)
            if (error := self._record(item, outcome))
        ]
        self.state.flush()
        self.search_lost(
            [item for item, outcome in zip(chunk, outcomes, strict=True) if isinstance(outcome, LOST)]
        )
        if failures:
            raise failures[0]  # once every outcome is journaled; Airflow's retry goes on from the journal

    def _create(self, item: BatchItem) -> Generation | Exception:
        try:
            return self.hook.create_generation(item.model_name, item.input_params)
        except Exception as err:  # each outcome is journaled before any is raised
            return err

    def _record(self, item: BatchItem, outcome: Generation | Exception) -> Exception | None:
        """Journal one create's outcome; return the error that must fail the round, if it is one."""
        if not isinstance(outcome, Exception):
            self.state.created(item.key, outcome.id)
            return None
        if isinstance(outcome, LOST):
            return None  # searched for right after the chunk
        if not isinstance(outcome, CreatifyAPIError):
            return outcome  # unknown whether it was sent: the intent stays, searched for by the next try
        self.state.released(item.key)  # the hook raises these only when nothing was made
        if isinstance(outcome, CreatifyInsufficientCreditsError):
            self.stopped = str(outcome)
            return None
        if _refused(outcome):
            self.state.refused(item.key, item.fingerprint, str(outcome))
            return None
        return outcome  # 401/403, 429 after the retries, no connection


def _refused(err: CreatifyAPIError) -> bool:
    """Creatify refused this item's create as made (4xx other than 401, 403, 429): it stays invalid."""
    status = err.http_status or 0
    return 400 <= status < 500 and status != 429 and not isinstance(err, CreatifyAuthError)


#: The failed reason of an item whose generation Creatify no longer has.
GONE = "Creatify has no such generation any more (HTTP 404)"
#: Create outcomes that may have made a generation: searched for, never POSTed again without proof.
LOST: tuple[type[Exception], ...] = (CreatifyCreateUncertainError,)
