"""One try's path to its generation: resume, adopt, pre-flight, intent, POST, record (:class:`Submission`).

A retry resumes the generation an earlier try recorded (a :class:`TryRecord`; Airflow 3.3+) only when it
was made from the same model and input (:func:`fingerprint`): a user who fixed a prompt and cleared the
task gets a new generation, not the old asset. An intent recorded without an id, or a create that lost
its answer, is looked for with :func:`~airflow_provider_creatify.lost_creates.search_lost`.

Internal: not a supported import; it may change in any release.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from airflow_provider_creatify import schemas
from airflow_provider_creatify.credits import check_credits
from airflow_provider_creatify.exceptions import (
    CreatifyCreateUncertainError,
    CreatifyNotFoundError,
)
from airflow_provider_creatify.lost_creates import LOST_SEARCHES, fingerprint, search_lost

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_creatify.generation import Generation
    from airflow_provider_creatify.hooks.creatify import CreatifyHook
    from airflow_provider_creatify.protocols import DagRun, Log, StateStore, TaskInstance

#: The task_state_store key under which a try records its generation for the next try.
STATE_KEY = "creatify_generation"
#: The key under which the sensor's first deferred try records its deadline (``timeout`` from then).
SENSOR_STATE_KEY = "creatify_sensor_deadline"
_warned_no_state_store = False


def state_store(context: Context) -> StateStore | None:
    """``context["task_state_store"]`` (Airflow 3.3+), or ``None``."""
    # Airflow 3.1 and 3.2 type Context without the key: there, the checker cannot know the value's type
    return cast("StateStore | None", context.get("task_state_store"))


def task_state_store(context: Context, log: Log) -> StateStore | None:
    """``context["task_state_store"]`` (Airflow 3.3+), or ``None`` with a warning once per process."""
    global _warned_no_state_store
    store = state_store(context)
    if store is None and not _warned_no_state_store:
        _warned_no_state_store = True
        log.warning(
            "This Airflow has no task_state_store (it came with Airflow 3.3): if this task is retried "
            "after its generation was created, the retry creates (and pays for) a new generation."
        )
    return store


@dataclass(frozen=True, kw_only=True)
class TryRecord:
    """What a try leaves the next try in ``task_state_store``, under :data:`STATE_KEY`.

    Right before the POST its intent, ``{"intent_at", "deadline", "fingerprint"}``, then, once the id is
    known, ``{"generation_id", "deadline", "fingerprint"}``. The sensor's first deferred try keeps
    ``{"generation_id", "deadline"}`` under :data:`SENSOR_STATE_KEY`.
    """

    generation_id: str | None = None
    intent_at: float | None = None
    deadline: float
    fingerprint: str | None = None

    @classmethod
    def load(cls, store: StateStore | None, key: str = STATE_KEY) -> TryRecord | None:
        """The record under ``key``; ``None`` without a store, without a record, or for one no try wrote."""
        value = store.get(key) if store is not None else None
        if not isinstance(value, dict) or not isinstance(value.get("deadline"), (int, float)):
            return None
        generation_id, digest, intent_at = map(value.get, ("generation_id", "fingerprint", "intent_at"))
        if not all(text is None or isinstance(text, str) for text in (generation_id, digest)):
            return None
        return cls(
            deadline=float(value["deadline"]),
            generation_id=generation_id or None,
            fingerprint=digest,
            intent_at=float(intent_at) if isinstance(intent_at, (int, float)) else None,
        )

    def save(self, store: StateStore, key: str = STATE_KEY) -> None:
        """Store the fields that are set, in the order above (as every version stored them)."""
        store.set(key, {name: value for name, value in asdict(self).items() if value is not None})


@dataclass(frozen=True, kw_only=True)
class Submission:
    """One try of the create operator: the generation it goes on with, and until when.

    Resumes the generation of an earlier try (same model and input, not failed), or adopts the one an
    earlier try's lost create made; otherwise validates the input, checks the credits, records the intent
    (3.3+), POSTs (a lost answer is searched for before a second POST) and records the id.
    The fields are the operator's arguments of the same names (rendered), its ``hook``, its ``task_id``
    (the other map indexes' ``generation_id`` XComs are not adopted) and its ``log``.
    """

    hook: CreatifyHook
    model_name: str
    input_params: Any
    webhook_url: str | None
    timeout: float
    task_id: str
    log: Log
    validate_input: bool = True
    min_remaining_credits: float | None = None
    adopt_on_retry: bool = False

    def run(
        self, store: StateStore | None, ti: TaskInstance, dag_run: DagRun | None
    ) -> tuple[Generation, float]:
        """The generation this try goes on with, and its deadline (epoch seconds).

        :param store: ``task_state_store`` (Airflow 3.3+, with ``resume_on_retry``), else ``None``.
        :param ti: the task instance (its try number; the other map indexes' XComs).
        :param dag_run: the DAG run (its start bounds the search of ``adopt_on_retry``).
        """
        record = TryRecord.load(store)
        found = self._resume(record) if record is not None else None
        if found is not None:
            return found
        generation, deadline = self._adopt_lost(record, ti, dag_run) or self._create(store, ti)
        if store is not None:  # kept for the next try
            kept = TryRecord(generation_id=generation.id, deadline=deadline, fingerprint=self._fingerprint)
            kept.save(store)
        return generation, deadline

    @cached_property
    def _fingerprint(self) -> str:
        return fingerprint(self.model_name, self.input_params)

    def _resume(self, record: TryRecord) -> tuple[Generation, float] | None:
        """The generation an earlier try recorded, with its deadline, unless there is none or it failed."""
        saved_id = record.generation_id
        if saved_id is None:
            return None
        if record.fingerprint != self._fingerprint:
            self.log.warning(
                "Creatify generation %s of an earlier try was made from another model or input_params "
                "than this try's (the task changed, e.g. a fixed prompt); creating a new one. The old one "
                "is abandoned: it may still finish, and bill, at Creatify.",
                saved_id,
            )
            return None
        try:
            generation = self.hook.get_generation(saved_id)
        except CreatifyNotFoundError:
            self.log.warning("Generation %s of an earlier try is gone; creating a new one.", saved_id)
            return None
        if generation.is_failed:
            self.log.warning(
                "Creatify %s of an earlier try failed (%s); creating a new one.",
                generation.describe(),
                generation.failed_reason,
            )
            return None
        self.log.info(
            "Resuming Creatify %s, created by an earlier try (status %s), instead of creating a new one.",
            generation.describe(),
            generation.status,
        )
        return generation, record.deadline

    def _adopt_lost(
        self, record: TryRecord | None, ti: TaskInstance, dag_run: DagRun | None
    ) -> tuple[Generation, float] | None:
        """The generation an earlier try's create made without its id being kept, with its deadline."""
        since: float | None = None
        if record is not None:  # an intent without id, from the same inputs (3.3+)
            same = record.generation_id is None and record.fingerprint == self._fingerprint
            since = record.intent_at if same else None
        elif self.adopt_on_retry and ti.try_number > 1:  # 3.1/3.2: since the DAG run started
            started = dag_run.start_date if dag_run is not None else None
            since = started.timestamp() if started else None
        adopted = None if since is None else self._adopt(since, ti, "an earlier try's create left no id")
        if adopted is None:
            return None
        return adopted, record.deadline if record is not None else time.time() + self.timeout  # the intent's

    def _adopt(self, since: float, ti: TaskInstance, why: str, *, searches: int = 1) -> Generation | None:
        """The one generation of this model and input created since ``since``, if Creatify lists it; not
        one that another map index of this task holds (its ``generation_id`` XCom)."""
        pulled = ti.xcom_pull(task_ids=[self.task_id], key="generation_id")
        known = {value for value in pulled or () if isinstance(value, str)}
        wanted = {self.task_id: (self.model_name, self.input_params)}
        found, doubt = search_lost(
            self.hook, wanted, since, known, self.model_name, self.log, searches=searches
        )
        if doubt is not None:
            raise doubt
        if generation := found.get(self.task_id):
            self.log.warning(
                "Adopting Creatify %s (status %s, the one generation of this model and input_params "
                "created since this task set out to create it) instead of creating a new one: %s.",
                generation.describe(),
                generation.status,
                why,
            )
            return generation
        self.log.info(
            "The account's generations since the create are all listed and none is of this model and "
            "input_params: the create never reached Creatify. Creating."
        )
        return None

    def _create(self, store: StateStore | None, ti: TaskInstance) -> tuple[Generation, float]:
        """Validate, check the credits, record the intent (3.3+), POST; a lost answer is searched for."""
        deadline = time.time() + self.timeout  # set once, on the try that creates
        if self.validate_input:
            self.hook.validate_input(self.model_name, self.input_params)
            self.log.info("input_params are valid for Creatify model %s.", self.model_name)
        else:
            schemas.require_object(self.model_name, self.input_params)
        if self.min_remaining_credits is not None:
            self._check_credits(self.min_remaining_credits)
        intent_at = time.time()
        if store is not None:  # before the POST: a try killed right after it leaves this trace
            TryRecord(intent_at=intent_at, deadline=deadline, fingerprint=self._fingerprint).save(store)
        try:
            generation = self.hook.create_generation(self.model_name, self.input_params, self.webhook_url)
        except CreatifyCreateUncertainError as err:
            found = self._adopt(intent_at, ti, f"its answer was lost ({err})", searches=LOST_SEARCHES)
            if found is not None:
                return found, deadline
            # the whole window listed, LOST_SEARCHES times, and none is ours: the POST never reached Creatify
            generation = self.hook.create_generation(self.model_name, self.input_params, self.webhook_url)
        self.log.info(
            "Created Creatify generation %s (model %s, status %s%s).",
            generation.id,
            self.model_name,
            generation.status or "not given yet",
            generation.describe_credits(),
        )
        return generation, deadline

    def _check_credits(self, minimum: float) -> None:
        check_credits(self.hook, minimum, f"a Creatify generation of model {self.model_name!r}", self.log)
