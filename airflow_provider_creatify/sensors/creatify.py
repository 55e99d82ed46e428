"""Wait on an existing Creatify generation."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import conf
from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.mixins import WaitAndFinishMixin

if TYPE_CHECKING:
    from airflow.sdk import Context


class CreatifyGenerationSensor(WaitAndFinishMixin, BaseSensorOperator):
    """Wait until a Creatify generation is done; return its asset URLs (same XCom as the operator).

    .. code-block:: python

        CreatifyGenerationSensor(task_id="wait", generation_id=create.output["generation_id"])

    Poke, reschedule and deferrable waits; ``timeout`` and ``poke_interval`` (the poll interval) as
    for any sensor. A failed generation fails the task with Creatify's reason.

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
        self.end_from_trigger = end_from_trigger

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        generation = self.hook.get_generation(self.generation_id)
        self.log.info("Creatify %s is %s.", generation.describe(), generation.status)
        return self.wait_and_finish(
            context, generation, deadline=time.time() + self.timeout, poll_interval=self.poke_interval
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        generation = self.generation_in_flight = self.hook.get_generation(self.generation_id)
        self.log.info("Creatify %s is %s.", generation.describe(), generation.status)
        if not generation.is_terminal:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self.finish(context, generation))
