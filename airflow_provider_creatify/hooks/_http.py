"""HTTP under :class:`~airflow_provider_creatify.hooks.creatify.CreatifyHook` (private).

- :func:`decode`: the one place that maps an HTTP answer to JSON or an exception, for the sync
  (``requests``) and async (``aiohttp``) clients alike, a refusal's body in words (:func:`readable`);
  :func:`no_answer` for no answer at all, :func:`refuse_redirect` for a redirect (never followed).
- :class:`SyncClient`: the worker's ``requests`` session, reads retried, a create never sent twice.

requests is imported where used: DAG files import the hook, and this module, on every parse.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_creatify.addresses import plain_session
from airflow_provider_creatify.exceptions import (
    CreatifyAPIError,
    CreatifyAuthError,
    CreatifyCreateUncertainError,
    CreatifyInsufficientCreditsError,
    CreatifyNotFoundError,
    CreatifyRefusedError,
)
from airflow_provider_creatify.hooks._connection import DEFAULT_BASE_URL
from airflow_provider_creatify.polling import backoff_delay, parse_retry_after

if TYPE_CHECKING:
    from airflow_provider_creatify.hooks._connection import Credentials
    from airflow_provider_creatify.protocols import Log

# Answers to a create that mean "refused before processing": nothing was created, retrying is safe. Only
# the rate limit: a 503 may come from a proxy (Envoy, Istio, Heroku's router) after the backend created it.
CREATE_RETRYABLE_STATUSES = (429,)
#: Seconds of waits a create refused with 429 keeps being retried for, past ``max_retries``: a rate
#: limit met by a burst (hundreds of mapped creates) delays a create, it is no reason to fail its task.
CREATE_THROTTLE_BUDGET = 600.0
#: Keys of an error object whose value is the message itself, not a field's.
MESSAGE_KEYS = frozenset({"detail", "error", "message", "non_field_errors"})


def decode(status: int, body: bytes, what: str, *, conn_id: str, retry_after: str | None = None) -> object:
    """Turn an HTTP answer into JSON, or raise the matching :class:`CreatifyAPIError`.

    :param what: what was being done, for the message (e.g. "Reading Creatify generation <id>").
    :param conn_id: the Airflow connection, named where the credentials or the account matter.
    :param retry_after: the ``Retry-After`` header, if any.
    """
    text = body[:500].decode("utf-8", "replace")
    if 200 <= status < 300:
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise CreatifyAPIError(
                f"{what} failed: Creatify answered HTTP {status} with a body that is not valid JSON "
                f"({len(body)} bytes). Retry later.",
                http_status=status,
                body=text,
                transient=True,
            ) from None
    if status == 401:
        raise CreatifyAuthError(
            f"{what} failed: Creatify rejected the credentials of Airflow connection {conn_id!r} "
            f"(HTTP {status}). Check the connection's API ID (login) and API key (password).",
            http_status=status,
            body=text,
        )
    if status == 403:  # the key, or what the account may do (its plan, its credits): Creatify says which
        raise CreatifyAuthError(
            f"{what} failed: Creatify refused it for the account of Airflow connection {conn_id!r} "
            f"(HTTP 403): {readable(body)}. If that is about the key, check the connection's API ID "
            "(login) and API key (password); otherwise it is about the account's plan or credits.",
            http_status=status,
            body=text,
        )
    if status == 404:
        raise CreatifyNotFoundError(
            f"{what} failed: Creatify has no such resource (HTTP 404). Check the id, and that it belongs "
            f"to the account of Airflow connection {conn_id!r}.",
            http_status=status,
            body=text,
        )
    if status == 429 or status >= 500:
        raise CreatifyAPIError(
            f"{what} failed: Creatify is {'rate limiting' if status == 429 else 'failing'} "
            f"(HTTP {status}). Retry later.",
            http_status=status,
            body=text,
            retry_after=parse_retry_after(retry_after),
        )
    reason = readable(body)
    if status == 402 or (status < 500 and "credit" in reason.lower()):
        raise CreatifyInsufficientCreditsError(
            f"{what} failed: the Creatify account of Airflow connection {conn_id!r} is out of credits "
            f"(HTTP {status}: {reason}). A refused request costs nothing. Add credits, or make this run "
            "create less; min_remaining_credits on CreatifyCreateGenerationOperator stops a batch before "
            "the balance runs out.",
            http_status=status,
            body=text,
        )
    refused = CreatifyRefusedError if status in (400, 422) else CreatifyAPIError
    raise refused(
        f"{what} failed: Creatify refused the request (HTTP {status}): {reason}",
        http_status=status,
        body=text,
    )


def readable(body: bytes) -> str:
    """A refusal's JSON body in words, whatever its shape: a bare list (``["AI model not found"]``), an
    object keyed by field (``{"input_params": ["prompt is required"]}``), ``{"detail": ...}``, a string.

    A body that is not JSON is not echoed (an HTML page of a proxy, or of whatever a mistyped base URL
    points at, says nothing useful and may say too much): only its size. ``CreatifyAPIError.body`` keeps it.
    """
    if not body.strip():
        return "no reason given"
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return f"a body that is not JSON ({len(body)} bytes)"
    try:
        words = _words(data)
    except RecursionError:
        return "a JSON body nested too deeply to read"
    return (words[:297] + "...") if len(words) > 300 else words or "no reason given"


def _words(data: object) -> str:
    if isinstance(data, list):
        return "; ".join(filter(None, map(_words, data)))
    if isinstance(data, dict):
        return "; ".join(
            _words(value) if key in MESSAGE_KEYS else f"{key}: {_words(value)}" for key, value in data.items()
        )
    return "" if data is None else str(data)


def refuse_redirect(status: int, location: str | None, what: str, base_url: str) -> None:
    """Raise for a redirect: API calls follow none (the client would carry ``X-API-KEY`` to its target:
    requests and aiohttp strip only ``Authorization`` and cookies when a redirect changes host)."""
    if not 300 <= status < 400:
        return
    target = urlsplit(location or "")
    where = f"{target.scheme}://{target.netloc.rpartition('@')[2]}{target.path}" if target.netloc else "?"
    raise CreatifyAPIError(
        f"{what} failed: Creatify at {base_url} answered HTTP {status}, a redirect to {where}. API calls "
        "follow no redirect (the API key would go along), so nothing was sent there. Set the connection's "
        f"base URL to the API's own address ({DEFAULT_BASE_URL} unless Creatify says otherwise).",
        http_status=status,
        transient=False,
    )


def no_answer(what: str, base_url: str, exc: Exception, *, request_sent: bool = True) -> CreatifyAPIError:
    """The error for a request that got no HTTP answer (sync and async clients alike)."""
    return CreatifyAPIError(
        f"{what} failed: no answer from Creatify at {base_url} ({type(exc).__name__}). "
        "Check the connection's base URL and the network.",
        request_sent=request_sent,
    )


def never_sent(exc: Exception) -> bool:
    """Whether a requests exception proves the request never reached the server (refused, connect timeout)."""
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    return isinstance(getattr(reason, "reason", reason), NewConnectionError)


def uncertain_create(what: str, err: CreatifyAPIError) -> CreatifyCreateUncertainError:
    """The error for a create that reached Creatify without a usable answer: it may have been billed."""
    answer = f"HTTP {err.http_status}" if err.http_status else "the connection broke before an answer"
    return CreatifyCreateUncertainError(
        f"{what}: the request reached Creatify but no usable answer came back ({answer}), so a "
        "generation may have been created and billed. It is not retried automatically, to never bill "
        "twice. Check your Creatify dashboard (or your webhook_url) before running the task again; if "
        "the generation exists, wait on it with CreatifyGenerationSensor(generation_id=...).",
        http_status=err.http_status,
        body=err.body,
    )


class SyncClient:
    """``requests`` under the hook (workers): one session carrying the auth headers, retries as
    :class:`~airflow_provider_creatify.hooks.creatify.CreatifyHook` documents them.

    :param creds: where and as whom.
    :param conn_id: the Airflow connection, for messages.
    :param request_timeout: seconds allowed for each request.
    :param max_retries: retries of one request after its first try.
    :param retry_backoff: seconds before the first retry; doubles each time, up to ``retry_max_delay``.
    :param retry_max_delay: the longest wait between two tries.
    :param log: where retries are logged.
    """

    def __init__(
        self,
        creds: Credentials,
        *,
        conn_id: str,
        request_timeout: float,
        max_retries: int,
        retry_backoff: float,
        retry_max_delay: float,
        log: Log,
    ) -> None:
        self.creds = creds
        self.conn_id = conn_id
        self.request_timeout = request_timeout
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self.retry_max_delay = retry_max_delay
        self.log = log
        self.session = plain_session(creds.api_proxy)  # no HTTP(S)_PROXY, no .netrc Authorization
        self.session.headers.update(creds.headers)

    def request_once(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        """One try: the decoded JSON, or the error :func:`decode` maps the answer (or its absence) to."""
        import requests

        base_url = self.creds.base_url
        try:
            response = self.session.request(
                method, base_url + path, timeout=self.request_timeout, allow_redirects=False, **kwargs
            )
        except requests.RequestException as exc:
            raise no_answer(what, base_url, exc, request_sent=not never_sent(exc)) from None
        refuse_redirect(response.status_code, response.headers.get("Location"), what, base_url)
        retry_after = response.headers.get("Retry-After")
        body = self.creds.redact(response.content)
        return decode(response.status_code, body, what, conn_id=self.conn_id, retry_after=retry_after)

    def request(self, method: str, path: str, what: str, *, idempotent: bool = True, **kwargs: Any) -> Any:
        """A request retried on transient errors; one that is not ``idempotent`` (a create) only while it
        certainly never reached Creatify (refused connection, 429), else :func:`uncertain_create`.
        A create refused with 429 is retried past ``max_retries`` while the waits stay within
        :data:`CREATE_THROTTLE_BUDGET`.
        """
        attempt = 0
        throttled = 0.0  # seconds waited on a create's 429s
        while True:
            try:
                return self.request_once(method, path, what, **kwargs)
            except CreatifyAPIError as err:
                never_processed = not err.request_sent or err.http_status in CREATE_RETRYABLE_STATUSES
                if not idempotent and err.is_transient and not never_processed:
                    raise uncertain_create(what, err) from None
                throttled_create = not idempotent and err.http_status == 429
                within_budget = throttled_create and throttled < CREATE_THROTTLE_BUDGET
                if not err.is_transient or (attempt >= self.max_retries and not within_budget):
                    raise
                delay = backoff_delay(
                    attempt, base=self.retry_backoff, cap=self.retry_max_delay, retry_after=err.retry_after
                )
                attempt += 1
                if throttled_create:
                    throttled += delay
                    self.log.warning(
                        "%s Retrying in %.1f s (retry %d; rate limited for %.0f s of at most %.0f s).",
                        err,
                        delay,
                        attempt,
                        throttled,
                        CREATE_THROTTLE_BUDGET,
                    )
                else:
                    self.log.warning(
                        "%s Retrying in %.1f s (retry %d of %d).", err, delay, attempt, self.max_retries
                    )
                time.sleep(delay)
