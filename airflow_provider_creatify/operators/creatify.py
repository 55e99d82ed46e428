"""Create a Creatify generation and (by default) wait for its assets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import conf
from airflow.sdk import BaseOperator

from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.mixins import WaitAndFinishMixin
from airflow_provider_creatify.operators.copy import CreatifyCopyAssetsOperator
from airflow_provider_creatify.submission import Submission, task_state_store

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["CreatifyCopyAssetsOperator", "CreatifyCreateGenerationOperator"]


class CreatifyCreateGenerationOperator(WaitAndFinishMixin, BaseOperator):
    """Create a Creatify generation; by default wait for it and return its asset URLs.

    .. code-block:: python

        CreatifyCreateGenerationOperator(
            task_id="image", model_name="nano-banana", input_params={"prompt": "a red fox"}
        )

    XCom: ``generation_id`` (pushed right after the POST); when done, ``return_value`` and ``asset_urls``
    (the asset URLs, in the API's order), ``assets`` (the asset objects) and ``credits_used``.
    With ``wait_for_completion=False`` the return value is the generation id.

    :param model_name: the Creatify model, e.g. ``kling-video/v1.6/pro/image-to-video``.
    :param input_params: the model's input (a dict; Jinja is rendered inside nested values).
    :param webhook_url: a URL Creatify POSTs the result to (at most 200 characters).
    :param creatify_conn_id: the Airflow connection id.
    :param wait_for_completion: wait until the generation is done or failed.
    :param deferrable: wait in the triggerer, freeing the worker slot.
    :param end_from_trigger: when a deferred wait succeeds, end the task in the triggerer with its XComs
        instead of resuming it in a worker (one worker process per generation instead of two). Tasks with
        outlets, an ``on_success_callback`` or ``do_xcom_push=False`` resume in a worker regardless.
    :param poll_interval: the longest wait between two status reads; young generations are read more
        often (a fifth of their age, at least 5 s), so short jobs are seen done quickly and long ones
        cost few requests.
    :param timeout: seconds to wait for the generation before failing (it may still finish on Creatify).
    :param validate_input: check ``input_params`` against the model's schema before creating anything.
    :param resume_on_retry: on a retry, resume the generation an earlier try created (or return its
        result) instead of creating (and paying for) a new one; a new one only when it failed, or was
        made from another model or ``input_params``.
        Needs Airflow 3.3+ (``task_state_store``); on older versions every try creates anew.
    :param adopt_on_retry: Airflow 3.1 and 3.2 (no ``task_state_store``): on a retry, before creating,
        look for a generation of the same model and ``input_params`` created since the DAG run started,
        and wait on it if there is exactly one (more than one: fail, listing them). Off by default: it
        cannot tell this task's generation from another task's with identical inputs. On 3.3+ a try
        records its intent before the POST and a retry searches from that moment, always.
    :param min_remaining_credits: read the account's balance before creating, and fail (creating nothing,
        without retries) when it is below this; ``None`` (default) skips the check. How a mapped batch
        stops before it spends the month's credits; tasks running at the same moment may each pass it.
    """

    template_fields: Sequence[str] = ("model_name", "input_params", "webhook_url", "creatify_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"input_params": "json"}
    ui_color = "#f4e1ff"

    def __init__(
        self,
        *,
        model_name: str,
        input_params: dict[str, Any],
        webhook_url: str | None = None,
        creatify_conn_id: str = CreatifyHook.default_conn_name,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        end_from_trigger: bool = True,
        poll_interval: float = 10.0,
        timeout: float | timedelta = 3600.0,
        validate_input: bool = True,
        resume_on_retry: bool = True,
        adopt_on_retry: bool = False,
        min_remaining_credits: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.input_params = input_params
        self.webhook_url = webhook_url
        self.creatify_conn_id = creatify_conn_id
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        # Not stored as end_from_trigger: where a listener plugin is installed, Airflow's DAG bag refuses
        # every task whose end_from_trigger attribute is true; ends_in_triggerer() decides at run time.
        self.finish_in_triggerer = end_from_trigger
        self.poll_interval = float(poll_interval)
        self.timeout = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        self.validate_input = validate_input
        self.resume_on_retry = resume_on_retry
        self.adopt_on_retry = adopt_on_retry
        self.min_remaining_credits = min_remaining_credits

    def execute(self, context: Context) -> list[str] | str:
        submission = Submission(
            hook=self.hook,
            model_name=self.model_name,
            input_params=self.input_params,
            webhook_url=self.webhook_url,
            timeout=self.timeout,
            task_id=self.task_id,
            log=self.log,
            validate_input=self.validate_input,
            min_remaining_credits=self.min_remaining_credits,
            adopt_on_retry=self.adopt_on_retry,
        )
        store = task_state_store(context, self.log) if self.resume_on_retry else None
        generation, deadline = submission.run(store, context["ti"], context.get("dag_run"))
        self.generation = generation
        context["ti"].xcom_push(key="generation_id", value=generation.id)
        if not self.wait_for_completion:
            return generation.id
        return self.wait_and_finish(context, generation, deadline=deadline, poll_interval=self.poll_interval)
