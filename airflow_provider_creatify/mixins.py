"""What the create operator and the sensor share: wait on a generation, then finish the task with it.

Waiting (deferred to the triggerer, or polling in the worker) and finishing (XComs, Asset events, errors
from the trigger's event) are written once here; the operator adds the create, the sensor the poke.

Internal: not a supported import; it may change in any release.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowTaskTimeout, get_listener_manager
from airflow.sdk import Asset

from airflow_provider_creatify.exceptions import CreatifyError
from airflow_provider_creatify.generation import Generation
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.links import CreatifyAssetLink
from airflow_provider_creatify.polling import stopped_message, timeout_error

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.bases.operator import BaseOperator as _Operator
    from airflow.sdk.types import RuntimeTaskInstanceProtocol

    from airflow_provider_creatify.lineage import OperatorLineage  # the [openlineage] extra's, via lineage.py
else:
    _Operator = object

#: Seconds Airflow's deferral timeout waits past the try's execution_timeout: the trigger ends the wait at
#: the deadline itself, with an event that names the generation; Airflow's timeout is the backstop.
DEFER_TIMEOUT_GRACE = 10.0


class WaitAndFinishMixin(_Operator):
    """The wait and the finish shared by the operator and the sensor.

    Done: returns the asset URLs (XCom ``return_value``) and pushes ``asset_urls``, ``assets`` and
    ``credits_used``. Failed, timed out or unreadable: raises a
    :class:`~airflow_provider_creatify.exceptions.CreatifyError` naming the generation.

    A deferred wait that ends in success ends the task in the triggerer, XComs and extra link included
    (the ``end_from_trigger`` argument), unless the worker still has work to do: see
    :meth:`ends_in_triggerer`. The argument is kept as ``finish_in_triggerer``, not under its own name:
    Airflow's DAG bag refuses every task whose ``end_from_trigger`` attribute is true wherever a listener
    plugin is installed (OpenLineage's, for one), while this decision is made at run time.
    """

    creatify_conn_id: str
    deferrable: bool
    finish_in_triggerer: bool
    operator_extra_links = (CreatifyAssetLink(),)
    #: The generation this task created or waits on, once known (for :meth:`on_kill` and the extra link).
    generation: Generation | None = None

    @cached_property
    def hook(self) -> CreatifyHook:
        return CreatifyHook(self.creatify_conn_id)

    def ends_in_triggerer(self, ti: RuntimeTaskInstanceProtocol | None = None) -> bool:
        """Whether a success ends the task in the triggerer, with no worker resumed.

        Only with ``end_from_trigger``, and only when the worker has nothing left to do on success. A
        worker still finishes the task when it has:

        - outlets: Airflow emits Asset events from the worker;
        - an ``on_success_callback``: Airflow 3.1 to 3.3 run none for a task ended by its trigger;
        - ``do_xcom_push=False``;
        - listeners: plugins such as OpenLineage's hear of a task's success in the worker only;
        - tasks mapped over this unmapped task's output: the worker records their count with the return
          value, and a trigger cannot.

        :param ti: the running task instance (whether it is mapped).
        """
        return (
            self.finish_in_triggerer
            and self.do_xcom_push
            and not self.outlets
            and not self.on_success_callback
            and not get_listener_manager().has_listeners
            and not self._maps_downstream_tasks(ti)
        )

    def _maps_downstream_tasks(self, ti: RuntimeTaskInstanceProtocol | None) -> bool:
        if getattr(ti, "is_mapped", False) or self.get_dag() is None:
            return False  # a mapped task's output is counted by its task instances, not recorded
        return next(self.iter_mapped_dependants(), None) is not None

    def get_openlineage_facets_on_complete(
        self, task_instance: RuntimeTaskInstanceProtocol
    ) -> OperatorLineage:
        """OpenLineage (when installed): the URLs the generation was given as inputs, its assets as
        outputs, and a ``creatify_generation`` run facet (id, model, status, credits)."""
        from airflow_provider_creatify.lineage import generation_lineage

        return generation_lineage(self.generation)

    def wait_and_finish(
        self, context: Context, generation: Generation, *, deadline: float, poll_interval: float
    ) -> list[str]:
        """Finish now if ``generation`` is terminal; else defer (deferrable) or poll in the worker."""
        self.generation = generation
        if generation.is_terminal:
            return self.finish(context, generation)
        if self.deferrable:
            from airflow_provider_creatify.triggers.creatify import CreatifyGenerationTrigger

            end_from_trigger = self.ends_in_triggerer(context["ti"])
            execution_deadline = try_deadline(context, self.execution_timeout)
            self.log.info(
                "Deferring the wait on Creatify %s to the triggerer; %s.",
                generation.describe(),
                "a success ends the task there" if end_from_trigger else "a worker resumes the task",
            )
            self.defer(
                trigger=CreatifyGenerationTrigger(
                    generation_id=generation.id,
                    deadline=deadline,
                    creatify_conn_id=self.creatify_conn_id,
                    poll_interval=poll_interval,
                    model_name=generation.model_name,
                    end_from_trigger=end_from_trigger,
                    execution_deadline=execution_deadline,
                    last_status=generation.status,
                ),
                method_name="execute_complete",
                timeout=deferral_timeout(execution_deadline),
            )
        generation = self.hook.wait_for_generation(
            generation.id, poll_interval=poll_interval, deadline=deadline
        )
        return self.finish(context, generation)

    def on_kill(self) -> None:
        """Killed (or out of ``execution_timeout``) mid-wait: say which generation goes on, and how to pick
        it up; Creatify has no cancel, so nothing else is done."""
        generation = self.generation
        if generation is not None and not generation.is_terminal:
            self.log.warning(stopped_message(generation.id, generation.model_name, "the task was stopped"))

    def finish(self, context: Context, generation: Generation) -> list[str]:
        """Raise unless done; push ``asset_urls``, ``assets`` and ``credits_used``; return the asset URLs.

        Each Airflow Asset in ``outlets`` gets an event whose extra carries ``generation_id``,
        ``model_name``, ``asset_urls`` and ``credits_used``, for the DAGs scheduled on it.
        """
        generation.raise_for_status()
        self.generation = generation
        urls = generation.asset_urls
        for key, value in generation.result_xcoms().items():
            context["ti"].xcom_push(key=key, value=value)
        extra: dict[str, Any] = {
            "generation_id": generation.id,
            "model_name": generation.model_name,
            "asset_urls": urls,
            "credits_used": generation.credits_used,
        }
        for outlet in self.outlets or ():
            if isinstance(outlet, Asset):
                context["outlet_events"][outlet].extra.update(extra)
        self.log.info(
            "Creatify %s is done with %d asset(s)%s.",
            generation.describe(),
            len(urls),
            generation.describe_credits(),
        )
        return urls

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> list[str]:
        """Resume after the trigger fired: turn its event into a result or an error."""
        if not isinstance(event, dict) or "status" not in event or "generation_id" not in event:
            raise CreatifyError(f"Unexpected event from CreatifyGenerationTrigger: {event!r}.")
        status, generation_id = event["status"], event["generation_id"]
        if status in ("done", "failed"):
            return self.finish(context, Generation.from_api(event.get("generation")))
        if status == "timeout":
            raise timeout_error(generation_id, event.get("model_name"), event.get("last_status"))
        if status == "execution_timeout":
            raise AirflowTaskTimeout(
                f"This try's execution_timeout ({self.execution_timeout}) passed while waiting for Creatify "
                f"generation {generation_id} (model {event.get('model_name') or 'unknown'}, last status "
                f"{event.get('last_status') or 'unknown'}); it goes on at Creatify and may still bill. "
                "Airflow retries the task as for any execution_timeout; on Airflow 3.3+ the retry resumes "
                "this generation instead of creating a new one."
            )
        raise CreatifyError(
            event.get("message") or f"Waiting for Creatify generation {generation_id} failed."
        )


def try_deadline(context: Context, execution_timeout: timedelta | None) -> float | None:
    """When this try runs out of ``execution_timeout`` (epoch seconds); ``None`` without one."""
    if not execution_timeout:
        return None
    started = getattr(context["ti"], "start_date", None)  # this try's start
    return (started.timestamp() if started else time.time()) + execution_timeout.total_seconds()


def deferral_timeout(execution_deadline: float | None) -> timedelta | None:
    """Airflow's own limit on a deferral, for a real scheduler: what the try has left, plus a grace.

    The grace lets the trigger's event (the task's timeout, naming the generation) come first; without it
    Airflow's anonymous ``TaskDeferralTimeout`` won 4 of 35 times (deployment test, Airflow 3.1.1).
    """
    if execution_deadline is None:
        return None
    return timedelta(seconds=max(0.0, execution_deadline - time.time()) + DEFER_TIMEOUT_GRACE)
