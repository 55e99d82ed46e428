"""The rules of waiting on a generation, shared by the blocking wait (worker) and the trigger (triggerer).

The adaptive schedule, backoff with ``Retry-After``, the error streak that ends a wait, and the deadline.
No I/O here: the loops that read (``CreatifyHook.wait_for_generation``, ``CreatifyGenerationTrigger``)
ask :class:`GenerationWait` what to do after each read.

Internal: not a supported import; it may change in any release.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from airflow_provider_creatify.exceptions import CreatifyError, CreatifyTimeoutError

if TYPE_CHECKING:
    from airflow_provider_creatify.exceptions import CreatifyAPIError
    from airflow_provider_creatify.generation import Generation
    from airflow_provider_creatify.protocols import Log

#: The shortest wait between two status reads (when ``poll_interval`` is not shorter still).
MIN_POLL_INTERVAL = 5.0
#: Each wait is this fraction of the generation's age: the delay between "done" and its detection stays
#: around a tenth of the generation's run time, with a number of reads that grows only logarithmically.
POLL_AGE_FRACTION = 0.2
#: The longest backoff after failed status reads in a row.
READ_ERROR_MAX_DELAY = 60.0


def poll_delay(
    age: float | None, poll_interval: float, min_poll_interval: float = MIN_POLL_INTERVAL
) -> float:
    """Seconds to wait before reading a running generation again: the adaptive schedule.

    A fifth of the generation's age, between ``min_poll_interval`` and ``poll_interval``: young
    generations (most images) are read often, long videos rarely. Derived from ``created_at`` alone, so a
    restarted triggerer or a retried task picks the schedule up where it was.

    :param age: seconds since the generation was created (``None`` when the API did not say).
    :param poll_interval: the longest wait (the user's setting).
    :param min_poll_interval: the shortest wait; ``min_poll_interval >= poll_interval`` polls at a fixed
        ``poll_interval``.
    """
    shortest = min(min_poll_interval, poll_interval)
    if age is None:
        return poll_interval if shortest >= poll_interval else shortest
    return min(poll_interval, max(shortest, age * POLL_AGE_FRACTION))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if absent or bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def backoff_delay(attempt: int, *, base: float, cap: float, retry_after: float | None = None) -> float:
    """Capped exponential backoff with jitter (half fixed, half random), never shorter than Retry-After.

    :param attempt: 0 for the first retry.
    :param retry_after: what the server asked for; honoured up to ``cap``.
    """
    ceiling = min(cap, base * 2**attempt)
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


def timeout_error(
    generation_id: str, model_name: str | None, last_status: str | None
) -> CreatifyTimeoutError:
    """The error for a wait that passed its deadline; the generation may still finish (and bill)."""
    model = f" (model {model_name})" if model_name else ""
    return CreatifyTimeoutError(
        f"Timed out waiting for Creatify generation {generation_id}{model}, last status {last_status!r}. "
        "It may still finish and bill on Creatify's side: check it with "
        f"GET /api/asset_generator/{generation_id}/ or wait on it with CreatifyGenerationSensor.",
        generation_id=generation_id,
        model_name=model_name,
    )


def stopped_message(generation_id: str, model_name: str | None, why: str) -> str:
    """What to log when a wait stops early (task killed, trigger cancelled): the generation goes on."""
    model = f" (model {model_name})" if model_name else ""
    return (
        f"Stopped waiting on Creatify generation {generation_id}{model}: {why}. Creatify has no cancel: "
        "the generation goes on and may still finish, and bill. To pick it up, wait on it with "
        f"CreatifyGenerationSensor(generation_id={generation_id!r}) or read it with "
        f"CreatifyHook().get_generation({generation_id!r}); a retry of this task resumes it (Airflow 3.3+, "
        "same inputs)."
    )


@dataclass(kw_only=True)
class GenerationWait:
    """The rules of one wait on a generation, shared by the blocking loop and the trigger.

    Each status change while it runs is logged once; done or failed ends the wait; reads follow the
    adaptive schedule (:func:`poll_delay`); a transient read error (no answer, 429, 5xx) is followed by
    another read after a backoff (honouring ``Retry-After``) until :attr:`max_consecutive_errors` in a row;
    the deadline ends it with :class:`~airflow_provider_creatify.exceptions.CreatifyTimeoutError`. A loop
    reads, asks :meth:`after_read` (or :meth:`after_error`) how long to wait, stops when that is ``None``,
    and sleeps :meth:`sleep_for` that.

    :param generation_id: the generation waited on.
    :param deadline: absolute time (``time.time()``) after which the wait times out.
    :param poll_interval: the longest wait between two reads.
    :param log: where status changes and read errors are logged (the hook's or the trigger's logger).
    :param min_poll_interval: the shortest wait between two reads.
    :param model_name: the model, for messages, until a read tells it.
    :param last_status: the status the caller last saw (and logged): only changes from it are logged.
    """

    #: Failed status reads in a row (each after the client's own retries) that end a wait: the one knob,
    #: for the blocking wait and the trigger alike.
    max_consecutive_errors: ClassVar[int] = 10

    generation_id: str
    deadline: float
    poll_interval: float
    log: Log
    min_poll_interval: float = MIN_POLL_INTERVAL
    model_name: str | None = None
    last_status: str | None = None
    errors: int = field(default=0, init=False)
    created_at: float | None = field(default=None, init=False)

    def after_read(self, generation: Generation) -> float | None:
        """Take a read in: the error streak ends, a status change is logged (once). Seconds until the next
        read, or ``None``: the generation is done or failed, the wait is over (not logged here: whoever
        takes the result says so, with its assets and credits, or raises)."""
        self.errors = 0
        self.model_name = generation.model_name or self.model_name
        if generation.is_terminal:
            self.last_status = generation.status
            return None
        if generation.status != self.last_status:
            self.log.info("Creatify %s is %s.", generation.describe(), generation.status)
            self.last_status = generation.status
        if self.created_at is None:  # parsed once: it does not change
            self.created_at = generation.created_at
        age = None if self.created_at is None else max(0.0, time.time() - self.created_at)
        return poll_delay(age, self.poll_interval, self.min_poll_interval)

    def count_error(self, err: CreatifyAPIError) -> None:
        """Count a failed read; raise if it ends the wait.

        :raises CreatifyAPIError: ``err`` itself, when it is not transient (401, 404, ...).
        :raises CreatifyError: it was the :attr:`max_consecutive_errors`-th failed read in a row.
        """
        self.errors += 1
        if not err.is_transient:
            raise err
        if self.gave_up:
            raise CreatifyError(f"{self.errors} reads in a row failed; the last: {err}") from err

    def after_error(self, err: CreatifyAPIError) -> float:
        """Seconds until the next read after a failed one (see :meth:`count_error` for when it raises)."""
        self.count_error(err)
        delay = backoff_delay(
            self.errors - 1, base=self.poll_interval, cap=READ_ERROR_MAX_DELAY, retry_after=err.retry_after
        )
        self.log.warning("%s Polling again in %.1f s (%d in a row).", err, delay, self.errors)
        return delay

    @property
    def gave_up(self) -> bool:
        """Whether the reads failed :attr:`max_consecutive_errors` times in a row."""
        return self.errors >= self.max_consecutive_errors

    def sleep_for(self, delay: float) -> float:
        """``delay``, cut at the deadline.

        :raises CreatifyTimeoutError: the deadline has passed.
        """
        remaining = self.deadline - time.time()
        if remaining <= 0:
            raise timeout_error(self.generation_id, self.model_name, self.last_status)
        return min(delay, remaining)
