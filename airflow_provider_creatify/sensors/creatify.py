"""Wait on an existing Creatify generation."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowSensorTimeout, conf
from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_creatify.exceptions import CreatifyAPIError, CreatifyTimeoutError
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.mixins import WaitAndFinishMixin
from airflow_provider_creatify.polling import GenerationWait
from airflow_provider_creatify.submission import SENSOR_STATE_KEY, TryRecord, state_store

if TYPE_CHECKING:
    from airflow.sdk import Context


__all__ = ["CreatifyGenerationSensor"]


class CreatifyGenerationSensor(WaitAndFinishMixin, BaseSensorOperator):
    """Wait until a Creatify generation is done; return its asset URLs (same XCom as the operator).

    .. code-block:: python

        CreatifyGenerationSensor(task_id="wait", generation_id=create.output["generation_id"])

    Poke, reschedule and deferrable waits; ``timeout`` and ``poke_interval`` (the poll interval) as
    for any sensor. A failed generation fails the task with Creatify's reason. A read that fails after
    the hook's retries with a transient error (no answer, 429, 5xx) is a "not yet", until
    ``GenerationWait.max_consecutive_errors`` in a row (counted within one worker process: in reschedule
    mode each poke is a new one, and the sensor's ``timeout`` bounds the wait). Deferred, the
    ``timeout`` counts from the first try's start (Airflow 3.3+, through ``task_state_store``), as
    Airflow counts a rescheduled sensor's, and its end fails the task without a retry
    (``AirflowSensorTimeout``; skipped with ``soft_fail``), as any sensor's timeout.

    :param generation_id: the generation to wait on (templated; an XComArg works).
    :param creatify_conn_id: the Airflow connection id.
    :param deferrable: wait in the triggerer, freeing the worker slot.
    :param end_from_trigger: when a deferred wait succeeds, end the task in the triggerer with its XComs
        instead of resuming it in a worker (as the create operator's).
    """

    template_fields: Sequence[str] = ("generation_id", "creatify_conn_id")

    def __init__(
        self,
        *,
        generation_id: str,
        creatify_conn_id: str = CreatifyHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        end_from_trigger: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.generation_id = generation_id
        self.creatify_conn_id = creatify_conn_id
        self.deferrable = deferrable
        # Not stored as end_from_trigger: where a listener plugin is installed, Airflow's DAG bag refuses
        # every task whose end_from_trigger attribute is true; ends_in_triggerer() decides at run time.
        self.finish_in_triggerer = end_from_trigger

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        generation = self.hook.get_generation(self.generation_id)
        self.log.info("Creatify %s is %s.", generation.describe(), generation.status)
        return self.wait_and_finish(
            context, generation, deadline=self._deadline(context), poll_interval=self.poke_interval
        )

    def _deadline(self, context: Context) -> float:
        """``timeout`` after the first try's start, as Airflow measures a sensor's timeout across retries.

        The first try records it in ``task_state_store`` (Airflow 3.3+); without one, it is this try's.
        """
        store = state_store(context)
        first = TryRecord.load(store, SENSOR_STATE_KEY)
        if first is not None and first.generation_id == self.generation_id:
            return first.deadline
        deadline = time.time() + self.timeout
        if store is not None:
            TryRecord(generation_id=self.generation_id, deadline=deadline).save(store, SENSOR_STATE_KEY)
        return deadline

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> list[str]:
        """As the operator's, except that the sensor's ``timeout`` is Airflow's sensor timeout."""
        try:
            return super().execute_complete(context, event)
        except CreatifyTimeoutError as err:
            raise AirflowSensorTimeout(str(err)) from err

    @cached_property
    def _reads(self) -> GenerationWait:
        """The wait rules across the pokes of this process: status changes logged once, the error streak."""
        return GenerationWait(
            generation_id=self.generation_id,
            deadline=math.inf,
            poll_interval=self.poke_interval,
            log=self.log,
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        try:
            generation = self.generation = self.hook.get_generation(self.generation_id)
        except CreatifyAPIError as err:
            self._reads.count_error(err)  # raises unless transient and the streak is not full
            self.log.warning(
                "%s Trying again at the next poke (%d failed in a row; %d end the wait).",
                err,
                self._reads.errors,
                GenerationWait.max_consecutive_errors,
            )
            return False
        if self._reads.after_read(generation) is not None:  # still running
            return False
        return PokeReturnValue(is_done=True, xcom_value=self.finish(context, generation))
