"""What users of the Creatify provider catch.

Every message says what failed (with the model and generation id where there is one) and what to do.
No message ever contains the API key.

A failure that a retry would only repeat (invalid input, a refused model or account, no credits, a refused
asset or destination) is an ``AirflowFailException``: the task fails at once and keeps its retries.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

__all__ = [
    "CreatifyAPIError",
    "CreatifyAssetCopyError",
    "CreatifyAssetRefusedError",
    "CreatifyAuthError",
    "CreatifyBatchError",
    "CreatifyConfigError",
    "CreatifyCreateUncertainError",
    "CreatifyError",
    "CreatifyGenerationError",
    "CreatifyGenerationFailed",
    "CreatifyInsufficientCreditsError",
    "CreatifyNotFoundError",
    "CreatifyRefusedError",
    "CreatifyTimeoutError",
    "CreatifyValidationError",
]


class CreatifyError(AirflowException):
    """Base class of every error raised by the Creatify provider."""


class CreatifyConfigError(CreatifyError):
    """The Airflow connection is missing or incomplete (no API ID, no API key, bad base URL)."""


class CreatifyValidationError(CreatifyError, ValueError, AirflowFailException):
    """The request was refused before anything was sent: unknown model or invalid ``input_params``.

    Not retried by Airflow: the same input would be refused again.

    :param model_name: the model the input was meant for.
    :param field: the offending field (a dotted path), when there is one.
    """

    def __init__(self, message: str, *, model_name: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.model_name = model_name
        self.field = field


class CreatifyAPIError(CreatifyError):
    """Creatify answered with an error, or with a body that could not be understood.

    :param http_status: the HTTP status, or ``None`` when no answer was received.
    :param body: the start of the response body (never a request header).
    :param retry_after: seconds the server asked to wait (``Retry-After``), if it did.
    :param request_sent: ``False`` only when the request certainly never reached the server
        (connection refused, connect timeout).
    :param transient: whether the same read may succeed later; by default: no answer, 429 or 5xx.
    """

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        body: str = "",
        retry_after: float | None = None,
        request_sent: bool = True,
        transient: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.body = body
        self.retry_after = retry_after
        self.request_sent = request_sent
        if transient is None:
            transient = http_status is None or http_status == 429 or http_status >= 500
        self.is_transient = transient


class CreatifyCreateUncertainError(CreatifyAPIError, AirflowFailException):
    """A create request got no usable answer: a generation may have been created, and billed.

    Not retried automatically, by the hook or by Airflow (it is an ``AirflowFailException``):
    a second POST would be a second, billed generation.
    """


class CreatifyInsufficientCreditsError(CreatifyAPIError, AirflowFailException):
    """The account cannot pay: Creatify refused the create for lack of credits, or the balance is below
    the operator's ``min_remaining_credits``. Nothing was created. Not retried (by the hook or by Airflow):
    a retry would be refused again.

    :param remaining_credits: the balance, when known.
    """

    def __init__(self, message: str, *, remaining_credits: float | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("transient", False)
        super().__init__(message, **kwargs)
        self.remaining_credits = remaining_credits


class CreatifyRefusedError(CreatifyAPIError, AirflowFailException):
    """Creatify refused the request as made (HTTP 400 or 422), e.g. "AI model not found".

    Also raised when Creatify cannot serve what a task's options need, such as the credit balance for
    ``min_remaining_credits``. Nothing was created. Not retried, by the hook or by Airflow: the same
    request would be refused again.
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("transient", False)
        super().__init__(message, **kwargs)


class CreatifyAuthError(CreatifyAPIError, AirflowFailException):
    """Creatify rejected the credentials (HTTP 401), or the account may not do this (HTTP 403).

    Never retried, by the hook or by Airflow: fix the connection or the account, then clear the task.
    """


class CreatifyNotFoundError(CreatifyAPIError):
    """The generation (or endpoint) does not exist (HTTP 404)."""


class CreatifyGenerationError(CreatifyError):
    """A generation ended without usable assets.

    :param generation_id: the Creatify generation id.
    :param model_name: the model that ran it, when known.
    """

    def __init__(self, message: str, *, generation_id: str, model_name: str | None = None) -> None:
        super().__init__(message)
        self.generation_id = generation_id
        self.model_name = model_name


class CreatifyGenerationFailed(CreatifyGenerationError):
    """Creatify reported the generation as ``failed``; ``failed_reason`` holds its reason.

    :param failed_reason: Creatify's own explanation.
    """

    def __init__(
        self, message: str, *, generation_id: str, model_name: str | None = None, failed_reason: str = ""
    ) -> None:
        super().__init__(message, generation_id=generation_id, model_name=model_name)
        self.failed_reason = failed_reason


class CreatifyTimeoutError(CreatifyGenerationError):
    """The generation did not finish before the deadline; it may still finish, and bill, on Creatify."""


class CreatifyAssetCopyError(CreatifyError):
    """An asset could not be copied to storage (download or write failed)."""


class CreatifyAssetRefusedError(CreatifyAssetCopyError, AirflowFailException):
    """An asset copy was refused: its URL, host, size or destination is not allowed.

    Not retried by Airflow: the same copy would be refused again.
    """


class CreatifyBatchError(CreatifyError):
    """More of a batch's items did not end done than its ``max_failed`` allows.

    The manifest is written first: it says what became of each item. A retry (or a cleared task)
    re-attaches every item that has a generation, and creates only those that have none.

    :param manifest_uri: where the manifest is.
    :param counts: how many items ended in each status.
    """

    def __init__(self, message: str, *, manifest_uri: str, counts: dict[str, int]) -> None:
        super().__init__(message)
        self.manifest_uri = manifest_uri
        self.counts = counts
