"""Connection, auth and HTTP for Creatify's Asset Generator API.

One request path for sync (``requests``) and async (``aiohttp``) code: both take the base URL and auth
from the connection's credentials and headers from :meth:`CreatifyHook._headers`, and both hand the answer
to :meth:`CreatifyHook._decode`, the one place that maps HTTP answers to exceptions.
HTTP clients and jsonschema are imported where they are used: DAG files import this module on every parse.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import posixpath
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from airflow.sdk import BaseHook

from airflow_provider_creatify.exceptions import (
    CreatifyAPIError,
    CreatifyAssetCopyError,
    CreatifyAuthError,
    CreatifyConfigError,
    CreatifyCreateUncertainError,
    CreatifyNotFoundError,
    CreatifyValidationError,
)
from airflow_provider_creatify.models import MIN_POLL_INTERVAL, Generation, describe_models, timeout_error

if TYPE_CHECKING:
    import aiohttp
    import requests
    from airflow.sdk import Connection, ObjectStoragePath

DEFAULT_BASE_URL = "https://api.creatify.ai"
SCHEMAS_PATH = "/api/asset_generator/schemas/"
GENERATIONS_PATH = "/api/asset_generator/"
MAX_WEBHOOK_URL_LENGTH = 200
COPY_CHUNK_BYTES = 1024 * 1024
# Answers to a create that mean "refused before processing": nothing was created, retrying is safe.
CREATE_RETRYABLE_STATUSES = (429, 503)


@dataclass
class _SharedSession:
    session: aiohttp.ClientSession
    users: int = 0


# One aiohttp session per running event loop, shared by the waits in it (see CreatifyHook.__aenter__).
_SHARED_SESSIONS: dict[asyncio.AbstractEventLoop, _SharedSession] = {}
# Connection lookups in flight per (event loop, conn id), joined by waits starting meanwhile (acredentials).
_LOOKUPS: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Future[_Credentials]] = {}


def _forget_lookup(key: tuple[asyncio.AbstractEventLoop, str], lookup: asyncio.Future[_Credentials]) -> None:
    _LOOKUPS.pop(key, None)
    if not lookup.cancelled():
        lookup.exception()  # retrieved: if every wait joined to it was cancelled, nobody else reads it


@dataclass(frozen=True)
class _Credentials:
    base_url: str
    api_id: str
    api_key: str

    def __repr__(self) -> str:  # never show the key, even in a debugger or a traceback
        return f"_Credentials(base_url={self.base_url!r}, api_id={self.api_id!r}, api_key='***')"


def generation_path(generation_id: str) -> str:
    return f"{GENERATIONS_PATH}{generation_id}/"


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


#: Failed status reads in a row (each after the client's own retries) that end a wait.
MAX_CONSECUTIVE_READ_ERRORS = 10


@dataclass(kw_only=True)
class GenerationWait:
    """The rules of one wait on a generation, shared by the blocking loop and the trigger.

    Each status change is logged once; done or failed ends the wait; reads follow the adaptive schedule
    (:meth:`Generation.next_poll_delay`); a transient read error (no answer, 429, 5xx) is followed by
    another read after a backoff (honouring ``Retry-After``) until ``max_consecutive_errors`` in a row;
    the deadline ends it with :class:`~airflow_provider_creatify.exceptions.CreatifyTimeoutError`. A loop
    reads, stops if :meth:`finished`, asks :meth:`next_delay` (or :meth:`after_error`) how long to wait,
    and sleeps :meth:`sleep_for` that.

    :param log: where status changes and read errors are logged (the hook's or the trigger's logger).
    """

    generation_id: str
    deadline: float
    poll_interval: float
    log: Any
    min_poll_interval: float = MIN_POLL_INTERVAL
    model_name: str | None = None
    max_consecutive_errors: int = MAX_CONSECUTIVE_READ_ERRORS
    last_status: str | None = field(default=None, init=False)
    errors: int = field(default=0, init=False)

    def finished(self, generation: Generation) -> bool:
        """Take a read in (logging a status change); ``True`` if the generation is done or failed."""
        self.errors = 0
        self.model_name = generation.model_name or self.model_name
        if generation.status != self.last_status:
            self.log.info("Creatify %s is %s.", generation.describe(), generation.status)
            self.last_status = generation.status
        return generation.is_terminal

    def next_delay(self, generation: Generation) -> float:
        """Seconds until the next read of a generation still running."""
        return generation.next_poll_delay(self.poll_interval, self.min_poll_interval)

    def after_error(self, err: CreatifyAPIError) -> float:
        """Seconds until the next read after a failed one; re-raises ``err`` unless the wait goes on."""
        self.errors += 1
        if not err.is_transient or self.errors >= self.max_consecutive_errors:
            raise err
        delay = backoff_delay(self.errors - 1, base=self.poll_interval, cap=60.0, retry_after=err.retry_after)
        self.log.warning("%s Polling again in %.1f s (%d in a row).", err, delay, self.errors)
        return delay

    def sleep_for(self, delay: float) -> float:
        """``delay``, cut at the deadline.

        :raises CreatifyTimeoutError: the deadline has passed.
        """
        remaining = self.deadline - time.time()
        if remaining <= 0:
            raise timeout_error(self.generation_id, self.model_name, self.last_status)
        return min(delay, remaining)


def asset_file_name(url: str) -> str:
    """A deterministic file name for an asset: a short hash of its URL (query left out), then its name."""
    parts = urlsplit(url)
    name = posixpath.basename(unquote(parts.path)) or "asset"
    return f"{hashlib.sha256((parts.netloc + parts.path).encode()).hexdigest()[:12]}-{name}"


def base_url_from_connection(conn: Connection) -> str:
    """``https://api.creatify.ai`` unless the connection's host says otherwise.

    The host may be a full URL (``http://127.0.0.1:8765``) or a bare host name, whose scheme then comes
    from the connection's schema field (``http`` or ``https``, default ``https``) and port from its port.
    """
    host = (conn.host or "").strip().rstrip("/")
    if not host:
        return DEFAULT_BASE_URL
    if "://" not in host:
        scheme = conn.schema if conn.schema in ("http", "https") else "https"
        host = f"{scheme}://{host}"
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CreatifyConfigError(
            f"The host of Airflow connection {conn.conn_id!r} is not a valid base URL: {host!r}. "
            f"Use a URL like {DEFAULT_BASE_URL} (or leave it empty for that default)."
        )
    if conn.port and parts.port is None:
        host = f"{host}:{conn.port}"
    return host


class CreatifyHook(BaseHook):
    """Talk to Creatify's Asset Generator API through an Airflow connection.

    The connection (type ``creatify``): login = API ID, password = API key, host = base URL (optional).

    .. code-block:: python

        hook = CreatifyHook()  # connection "creatify_default"
        gen = hook.create_generation("nano-banana", {"prompt": "a red fox"})

    Reads (schemas, status) are retried on no answer, 429 and 5xx with capped exponential backoff and
    jitter, honouring ``Retry-After``; 400/401/403/404 fail at once. A create is retried only when it
    certainly did not reach Creatify (connection refused, or 429/503); otherwise it fails with
    :class:`~airflow_provider_creatify.exceptions.CreatifyCreateUncertainError`, never posting twice.

    :param creatify_conn_id: the Airflow connection id.
    :param timeout: seconds allowed for each HTTP request.
    :param max_retries: retries of one request after its first try (default: the class attribute).
    :param retry_backoff: seconds before the first retry; doubles each time, up to ``retry_max_delay``.
    :param retry_max_delay: the longest wait between two tries (a longer ``Retry-After`` is cut to it).
    """

    max_retries = 5
    retry_backoff = 1.0
    retry_max_delay = 30.0
    #: Failed status reads in a row (each after its retries) that end :meth:`wait_for_generation`.
    max_consecutive_read_errors = MAX_CONSECUTIVE_READ_ERRORS

    conn_name_attr = "creatify_conn_id"
    default_conn_name = "creatify_default"
    conn_type = "creatify"
    hook_name = "Creatify"

    def __init__(
        self,
        creatify_conn_id: str = default_conn_name,
        *,
        timeout: float = 60.0,
        max_retries: int | None = None,
        retry_backoff: float | None = None,
        retry_max_delay: float | None = None,
    ) -> None:
        super().__init__()
        self.creatify_conn_id = creatify_conn_id
        self.timeout = timeout
        if max_retries is not None:
            self.max_retries = max_retries
        if retry_backoff is not None:
            self.retry_backoff = retry_backoff
        if retry_max_delay is not None:
            self.retry_max_delay = retry_max_delay
        self._schemas: dict[str, dict[str, Any]] = {}
        self._credentials: _Credentials | None = None
        self._asession: aiohttp.ClientSession | None = None
        self._aheaders: dict[str, str] = {}
        self._atimeout: aiohttp.ClientTimeout | None = None

    # -- connection -----------------------------------------------------------------------------------

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form for Airflow < 3.2 (newer versions read it from the provider info)."""
        from airflow_provider_creatify import get_provider_info

        (conn_type,) = get_provider_info()["connection-types"]
        behaviour = conn_type["ui-field-behaviour"]
        return {
            "hidden_fields": behaviour["hidden-fields"],
            **{k: behaviour[k] for k in ("relabeling", "placeholders")},
        }

    def _credentials_from(self, conn: Connection) -> _Credentials:
        missing = [
            name
            for name, value in (("API ID (login)", conn.login), ("API key (password)", conn.password))
            if not value
        ]
        if missing:
            raise CreatifyConfigError(
                f"Airflow connection {self.creatify_conn_id!r} has no {' and no '.join(missing)}. "
                "Set them in the connection (Admin > Connections, or AIRFLOW_CONN_"
                f"{self.creatify_conn_id.upper()}) with your Creatify API ID and API key."
            )
        return _Credentials(base_url_from_connection(conn), conn.login, conn.password)  # type: ignore[arg-type]

    def _missing_connection(self, exc: Exception) -> CreatifyConfigError:
        return CreatifyConfigError(
            f"Airflow connection {self.creatify_conn_id!r} is not defined ({type(exc).__name__}). Create it "
            f"with conn type 'creatify', login = API ID, password = API key, or set AIRFLOW_CONN_"
            f"{self.creatify_conn_id.upper()}."
        )

    @property
    def credentials(self) -> _Credentials:
        """Base URL and auth, read once from the Airflow connection (synchronously)."""
        if self._credentials is None:
            try:
                conn = self.get_connection(self.creatify_conn_id)
            except Exception as exc:  # AirflowNotFoundException and the SDK's runtime errors
                raise self._missing_connection(exc) from None
            self._credentials = self._credentials_from(conn)  # Airflow registered the key with its masker
        return self._credentials

    async def acredentials(self) -> _Credentials:
        """Like :attr:`credentials`, without blocking the event loop (for triggers).

        Waits starting together on one connection join one lookup in flight instead of each making their
        own (hundreds of deferred tasks start at once); nothing is kept once it is answered.
        """
        if self._credentials is None:
            key = (asyncio.get_running_loop(), self.creatify_conn_id)
            lookup = _LOOKUPS.get(key)
            if lookup is None:
                lookup = _LOOKUPS[key] = asyncio.ensure_future(self._alookup())
                lookup.add_done_callback(lambda done: _forget_lookup(key, done))
            self._credentials = await asyncio.shield(lookup)
        return self._credentials

    async def _alookup(self) -> _Credentials:
        from airflow.providers.common.compat.connection import get_async_connection

        try:
            conn = await get_async_connection(self.creatify_conn_id, hook=type(self))
        except Exception as exc:
            raise self._missing_connection(exc) from None
        return self._credentials_from(conn)

    @staticmethod
    def _headers(creds: _Credentials) -> dict[str, str]:
        return {"X-API-ID": creds.api_id, "X-API-KEY": creds.api_key, "Accept": "application/json"}

    # -- one decoding path for sync and async ---------------------------------------------------------

    def _decode(self, status: int, body: bytes, what: str, retry_after: str | None = None) -> Any:
        """Turn an HTTP answer into JSON, or raise the matching :class:`CreatifyAPIError`.

        :param what: what was being done, for the message (e.g. "Reading generation <id>").
        :param retry_after: the ``Retry-After`` header, if any.
        """
        text = body[:500].decode("utf-8", "replace")
        if 200 <= status < 300:
            try:
                return json.loads(body)
            except ValueError:
                raise CreatifyAPIError(
                    f"{what} failed: Creatify answered HTTP {status} with a body that is not valid JSON "
                    f"({len(body)} bytes, starting {text[:80]!r}). Retry later.",
                    http_status=status,
                    body=text,
                    transient=True,
                ) from None
        if status in (401, 403):
            raise CreatifyAuthError(
                f"{what} failed: Creatify rejected the credentials of Airflow connection "
                f"{self.creatify_conn_id!r} (HTTP {status}). Check the connection's API ID (login) and "
                "API key (password).",
                http_status=status,
                body=text,
            )
        if status == 404:
            raise CreatifyNotFoundError(
                f"{what} failed: Creatify has no such resource (HTTP 404). Check the id, and that it belongs "
                f"to the account of Airflow connection {self.creatify_conn_id!r}.",
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
        raise CreatifyAPIError(
            f"{what} failed: Creatify refused the request (HTTP {status}): {text[:300]}",
            http_status=status,
            body=text,
        )

    # -- sync HTTP (requests) ---------------------------------------------------------------------------

    @cached_property
    def session(self) -> requests.Session:
        """One ``requests.Session`` per hook, carrying the auth headers."""
        import requests

        session = requests.Session()
        session.headers.update(self._headers(self.credentials))
        return session

    def _request_once(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        import requests

        base_url = self.credentials.base_url
        try:
            response = self.session.request(method, base_url + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise _no_answer(what, base_url, exc, request_sent=not _never_sent(exc)) from None
        return self._decode(response.status_code, response.content, what, response.headers.get("Retry-After"))

    def _request(self, method: str, path: str, what: str, *, idempotent: bool = True, **kwargs: Any) -> Any:
        """One request, retried as the class docstring says."""
        attempt = 0
        while True:
            try:
                return self._request_once(method, path, what, **kwargs)
            except CreatifyAPIError as err:
                never_processed = not err.request_sent or err.http_status in CREATE_RETRYABLE_STATUSES
                if not idempotent and err.is_transient and not never_processed:
                    raise self._uncertain_create(what, err) from None
                if not err.is_transient or attempt >= self.max_retries:
                    raise
                delay = backoff_delay(
                    attempt, base=self.retry_backoff, cap=self.retry_max_delay, retry_after=err.retry_after
                )
                attempt += 1
                self.log.warning(
                    "%s Retrying in %.1f s (retry %d of %d).", err, delay, attempt, self.max_retries
                )
                time.sleep(delay)

    @staticmethod
    def _uncertain_create(what: str, err: CreatifyAPIError) -> CreatifyCreateUncertainError:
        answer = f"HTTP {err.http_status}" if err.http_status else "the connection broke before an answer"
        return CreatifyCreateUncertainError(
            f"{what}: the request reached Creatify but no usable answer came back ({answer}), so a "
            "generation may have been created and billed. It is not retried automatically, to never bill "
            "twice. Check your Creatify dashboard (or your webhook_url) before running the task again; if "
            "the generation exists, wait on it with CreatifyGenerationSensor(generation_id=...).",
            http_status=err.http_status,
            body=err.body,
        )

    # -- async HTTP (aiohttp), for triggers -------------------------------------------------------------

    async def __aenter__(self) -> CreatifyHook:
        """Join the event loop's shared HTTP session for the ``async with`` block (a trigger run).

        All waits running in one event loop (a triggerer) share one ``aiohttp`` session and its pool of
        keep-alive connections: the first to enter opens it, the last to leave closes it. Auth headers go
        with each request, so waits on different connections share it too. Measured against one session
        per wait in ``benchmarks/triggerer_cost.py``.
        """
        import aiohttp

        creds = await self.acredentials()
        self._aheaders = self._headers(creds)
        self._atimeout = aiohttp.ClientTimeout(total=self.timeout)
        loop = asyncio.get_running_loop()
        shared = _SHARED_SESSIONS.get(loop)
        if shared is None:
            shared = _SHARED_SESSIONS[loop] = _SharedSession(aiohttp.ClientSession())
        shared.users += 1
        self._asession = shared.session
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._asession is None:
            return
        self._asession = None
        loop = asyncio.get_running_loop()
        shared = _SHARED_SESSIONS[loop]
        shared.users -= 1
        if shared.users == 0:
            del _SHARED_SESSIONS[loop]
            await shared.session.close()

    async def aget_generation(self, generation_id: str) -> Generation:
        """Read a generation without blocking the event loop. Use inside ``async with hook:``."""
        import aiohttp

        if self._asession is None:
            raise RuntimeError("CreatifyHook.aget_generation must be called inside 'async with hook:'.")
        what = f"Reading Creatify generation {generation_id}"
        creds = await self.acredentials()
        url = creds.base_url + generation_path(generation_id)
        try:
            async with self._asession.get(url, headers=self._aheaders, timeout=self._atimeout) as response:
                status, body = response.status, await response.read()
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise _no_answer(what, creds.base_url, exc) from None
        data = self._decode(status, body, what, retry_after)
        return Generation.from_api(data, context=f"generation {generation_id}")

    # -- the API ------------------------------------------------------------------------------------------

    def list_models(self, model_names: list[str] | None = None) -> list[dict[str, Any]]:
        """Models with their ``generation_type`` and ``input_params_schema``.

        :param model_names: only these models (unknown names are simply absent from the answer).
        """
        params = {"model_name": ",".join(model_names)} if model_names else None
        models = self._request("GET", SCHEMAS_PATH, "Listing Creatify models", params=params)
        if not isinstance(models, list):
            raise CreatifyAPIError(
                f"Listing Creatify models failed: expected a JSON array, got {type(models).__name__}.",
                http_status=200,
            )
        for model in models:
            if isinstance(model, dict) and model.get("model_name"):
                self._schemas[model["model_name"]] = model.get("input_params_schema") or {}
        return models

    def describe_models(self, model_names: list[str] | None = None) -> list[dict[str, Any]]:
        """Models with their ``generation_type`` and input fields (required first), sorted by model name.

        Each field is ``{"name", "required", "type", "enum", "default", "description"}``
        (see :func:`airflow_provider_creatify.models.input_fields`).

        :param model_names: only these models (unknown names are simply absent from the answer).
        """
        return describe_models(self.list_models(model_names))

    def get_input_schema(self, model_name: str) -> dict[str, Any]:
        """The JSON Schema of one model's ``input_params``.

        :raises CreatifyValidationError: the model does not exist.
        """
        if model_name not in self._schemas:
            self.list_models([model_name])
        if model_name not in self._schemas:
            known = sorted(
                m["model_name"] for m in self.list_models() if isinstance(m, dict) and "model_name" in m
            )
            raise CreatifyValidationError(
                f"Unknown Creatify model {model_name!r}. Available models: {', '.join(known) or 'none'}.",
                model_name=model_name,
            )
        return self._schemas[model_name]

    def validate_input(self, model_name: str, input_params: Any) -> None:
        """Check ``input_params`` against the model's schema; nothing is created.

        :raises CreatifyValidationError: naming the model and the offending field.
        """
        if not isinstance(input_params, dict):
            raise CreatifyValidationError(
                f"input_params for Creatify model {model_name!r} must be a dict (a JSON object), "
                f"got {type(input_params).__name__}.",
                model_name=model_name,
            )
        from jsonschema import validators
        from jsonschema.exceptions import relevance

        schema = self.get_input_schema(model_name)
        validator_cls = validators.validator_for(schema, default=validators.Draft202012Validator)
        validator = validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(input_params), key=relevance)
        if not errors:
            return
        problems = []
        for error in errors[:5]:
            path = ".".join(str(p) for p in error.absolute_path)
            if error.validator == "required":
                path = next((f for f in error.validator_value if f not in error.instance), path)
            problems.append((path or "input_params", error.message))
        allowed = ", ".join(sorted(schema.get("properties", {}))) or "see the model's schema"
        raise CreatifyValidationError(
            f"input_params for Creatify model {model_name!r} are invalid: "
            + "; ".join(f"field {field!r}: {message}" for field, message in problems)
            + f". Fields this model takes: {allowed}. Nothing was created.",
            model_name=model_name,
            field=problems[0][0],
        )

    def create_generation(
        self, model_name: str, input_params: dict[str, Any], webhook_url: str | None = None
    ) -> Generation:
        """``POST /api/asset_generator/``: start a (billed) generation.

        Not retried: there is no idempotency key, a second POST is a second, billed generation.
        """
        body: dict[str, Any] = {"model_name": model_name, "input_params": input_params}
        if webhook_url is not None:
            parts = urlsplit(webhook_url) if isinstance(webhook_url, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
                raise CreatifyValidationError(
                    f"webhook_url for Creatify model {model_name!r} must be an http(s) URL, "
                    f"got {webhook_url!r}.",
                    model_name=model_name,
                    field="webhook_url",
                )
            if len(webhook_url) > MAX_WEBHOOK_URL_LENGTH:
                raise CreatifyValidationError(
                    f"webhook_url for Creatify model {model_name!r} is {len(webhook_url)} characters long; "
                    f"Creatify accepts at most {MAX_WEBHOOK_URL_LENGTH}.",
                    model_name=model_name,
                    field="webhook_url",
                )
            body["webhook_url"] = webhook_url
        what = f"Creating a Creatify generation of model {model_name!r}"
        data = self._request("POST", GENERATIONS_PATH, what, idempotent=False, json=body)
        try:
            return Generation.from_api(data, context=f"the new generation of model {model_name!r}")
        except CreatifyAPIError as err:  # answered 2xx, so something was probably created
            raise self._uncertain_create(what, err) from None

    def get_generation(self, generation_id: str) -> Generation:
        """``GET /api/asset_generator/{id}/``."""
        data = self._request(
            "GET", generation_path(generation_id), f"Reading Creatify generation {generation_id}"
        )
        return Generation.from_api(data, context=f"generation {generation_id}")

    def wait_for_generation(self, generation_id: str, *, poll_interval: float, deadline: float) -> Generation:
        """Poll until the generation is done or failed (blocking); returns it either way.

        The same rules as the trigger (:class:`GenerationWait`): a read that still fails after its retries
        does not end the wait when the error is transient, unless it is the
        :attr:`max_consecutive_read_errors`-th in a row.

        :param poll_interval: the longest wait between reads (see :meth:`Generation.next_poll_delay`).
        :param deadline: absolute time (``time.time()``) after which :class:`CreatifyTimeoutError` is raised.
        """
        wait = GenerationWait(
            generation_id=generation_id,
            deadline=deadline,
            poll_interval=poll_interval,
            log=self.log,
            max_consecutive_errors=self.max_consecutive_read_errors,
        )
        while True:
            try:
                generation = self.get_generation(generation_id)
            except CreatifyAPIError as err:
                delay = wait.after_error(err)
            else:
                if wait.finished(generation):
                    return generation
                delay = wait.next_delay(generation)
            time.sleep(wait.sleep_for(delay))

    def copy_assets(self, asset_urls: Sequence[str], destination: str | ObjectStoragePath) -> list[str]:
        """Stream each asset into the ``destination`` folder; return the stored paths, in order.

        ``destination`` is any Airflow object storage URL (``file:///data/creatify/``,
        ``s3://aws_default@bucket/creatify/``, ``gs://...``) or ``ObjectStoragePath``. Names are
        :func:`asset_file_name`, so a retry skips what an earlier try stored. Files are streamed in 1 MiB
        chunks (a video is never held in memory); local ones are written under ``.part`` first, so a broken
        transfer never looks copied. Asset URLs are fetched without the API credentials.

        :param asset_urls: the asset URLs, e.g. the create operator's ``asset_urls`` XCom.
        :param destination: the folder to store them in.
        """
        import requests
        from airflow.sdk import ObjectStoragePath

        folder = destination if isinstance(destination, ObjectStoragePath) else ObjectStoragePath(destination)
        stored = []
        with requests.Session() as http:
            for url in asset_urls:
                target = folder / asset_file_name(url)
                if target.exists():
                    self.log.info("Skipping %s: already copied to %s.", url, target)
                else:
                    self._stream(http, url, target)
                    self.log.info("Copied %s to %s.", url, target)
                stored.append(str(target))
        return stored

    def _stream(self, http: requests.Session, url: str, target: ObjectStoragePath) -> None:
        import requests

        local = target.protocol in ("file", "local")
        part = target.with_name(target.name + ".part") if local else target
        try:
            if local:
                target.parent.mkdir(parents=True, exist_ok=True)
            with http.get(url, stream=True, timeout=self.timeout) as response:
                response.raise_for_status()
                with part.open("wb") as out:
                    for chunk in response.iter_content(COPY_CHUNK_BYTES):
                        out.write(chunk)
            if local:
                part.rename(target)
        except (requests.RequestException, OSError) as exc:
            raise CreatifyAssetCopyError(
                f"Copying Creatify asset {url} to {target} failed: {exc}. Retry the task: assets already "
                "copied are skipped."
            ) from None

    def test_connection(self) -> tuple[bool, str]:
        """Check the credentials by listing the models (``airflow connections test``, UI Test button)."""
        try:
            models = self.list_models()
        except Exception as exc:
            return False, str(exc)
        return True, f"Connected to Creatify at {self.credentials.base_url}: {len(models)} models available."


def _no_answer(what: str, base_url: str, exc: Exception, *, request_sent: bool = True) -> CreatifyAPIError:
    """The error for a request that got no HTTP answer (sync and async clients alike)."""
    return CreatifyAPIError(
        f"{what} failed: no answer from Creatify at {base_url} ({type(exc).__name__}). "
        "Check the connection's base URL and the network.",
        request_sent=request_sent,
    )


def _never_sent(exc: Exception) -> bool:
    """Whether a requests exception proves the request never reached the server (refused, connect timeout)."""
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    return isinstance(getattr(reason, "reason", reason), NewConnectionError)
