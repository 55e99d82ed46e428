"""Creatify's Asset Generator API as the methods of an Airflow hook: connection → credentials, the models
and their schemas, validate, create, read one or many generations, the credit balance, and wait.

What is underneath is private:

- :mod:`._connection`: the connection → credentials;
- :mod:`._http`: the one decode path, the worker's requests client;
- :mod:`._models`: the models and their schemas;
- :mod:`._generations`: create, read one or many, list, the credit balance, and wait;
- :mod:`._async`: the hook's triggerer half (``async with hook:`` and the async reads);
- :mod:`._transport`: what a triggerer's waits share; :mod:`._batch`: batched status reads.

The wait rules are in :mod:`airflow_provider_creatify.polling`. HTTP clients and jsonschema are
imported where used: DAG files import this module on every parse."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseHook

from airflow_provider_creatify import storage
from airflow_provider_creatify.exceptions import CreatifyAPIError
from airflow_provider_creatify.generation import without_query
from airflow_provider_creatify.hooks._async import AsyncReads
from airflow_provider_creatify.hooks._connection import (
    MASKED_KEY_TEST,
    Credentials,
    credentials_from_connection,
    missing_connection,
    ui_field_behaviour,
    without_connection_id,
)
from airflow_provider_creatify.hooks._generations import GenerationCalls
from airflow_provider_creatify.hooks._http import SyncClient
from airflow_provider_creatify.hooks._models import ModelReads
from airflow_provider_creatify.hooks._transport import TRANSPORT, AsyncTransport

if TYPE_CHECKING:
    import requests
    from airflow.sdk import ObjectStoragePath


__all__ = ["CreatifyHook"]


class CreatifyHook(GenerationCalls, ModelReads, AsyncReads, BaseHook):
    """Talk to Creatify's Asset Generator API through an Airflow connection.

    The connection (type ``creatify``): login = API ID, password = API key, host = base URL (optional).

    .. code-block:: python

        hook = CreatifyHook()  # connection "creatify_default"
        gen = hook.create_generation("nano-banana", {"prompt": "a red fox"})

    Reads (schemas, status) are retried on no answer, 429 and 5xx with capped exponential backoff and
    jitter, honouring ``Retry-After``; 400/401/403/404 fail at once. A create is retried only when it
    certainly did not reach Creatify (connection refused, or 429); otherwise it fails with
    :class:`~airflow_provider_creatify.exceptions.CreatifyCreateUncertainError`, never posting twice.

    :param creatify_conn_id: the Airflow connection id.
    :param request_timeout: seconds allowed for each HTTP request.
    :param max_retries: retries of one request after its first try (default: the class attribute).
    :param retry_backoff: seconds before the first retry; doubles each time, up to ``retry_max_delay``.
    :param retry_max_delay: the longest wait between two tries (a longer ``Retry-After`` is cut to it).
    """

    max_retries = 5
    retry_backoff = 1.0
    retry_max_delay = 30.0
    #: Seconds a connection test waits for its one request.
    connection_test_timeout = 10.0
    #: What this process shares between async waits (see :class:`._transport.AsyncTransport`).
    transport: ClassVar[AsyncTransport] = TRANSPORT

    conn_name_attr = "creatify_conn_id"
    default_conn_name = "creatify_default"
    conn_type = "creatify"
    hook_name = "Creatify"

    def __init__(
        self,
        creatify_conn_id: str = default_conn_name,
        *,
        request_timeout: float = 60.0,
        max_retries: int | None = None,
        retry_backoff: float | None = None,
        retry_max_delay: float | None = None,
    ) -> None:
        super().__init__()
        self.creatify_conn_id = creatify_conn_id
        self.request_timeout = request_timeout
        if max_retries is not None:
            self.max_retries = max_retries
        if retry_backoff is not None:
            self.retry_backoff = retry_backoff
        if retry_max_delay is not None:
            self.retry_max_delay = retry_max_delay
        self._schemas: dict[str, Any] = {}
        self._credentials: Credentials | None = None

    # -- connection -----------------------------------------------------------------------------------

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form for Airflow < 3.2 (newer versions read it from the provider info)."""
        return ui_field_behaviour()

    @property
    def credentials(self) -> Credentials:
        """Base URL and auth, read once from the Airflow connection (synchronously)."""
        if self._credentials is None:
            try:
                conn = self.get_connection(self.creatify_conn_id)
            except Exception as exc:  # AirflowNotFoundException and the SDK's runtime errors
                raise missing_connection(self.creatify_conn_id, exc) from None
            # Airflow registered the key with its secret masker when it read the connection.
            self._credentials = credentials_from_connection(conn)
        return self._credentials

    # -- sync HTTP (requests) ---------------------------------------------------------------------------

    @cached_property
    def _client(self) -> SyncClient:
        return SyncClient(
            self.credentials,
            conn_id=self.creatify_conn_id,
            request_timeout=self.request_timeout,
            max_retries=self.max_retries,
            retry_backoff=self.retry_backoff,
            retry_max_delay=self.retry_max_delay,
            log=self.log,
        )

    @property
    def session(self) -> requests.Session:
        """One ``requests.Session`` per hook, carrying the auth headers."""
        return self._client.session

    def _pages(self, path: str, what: str, max_pages: int, **kwargs: Any) -> Iterator[Any]:
        """``GET path``'s answer, then, while it is a Django REST framework page with a ``next``, the next
        pages: at most ``max_pages`` answers in all, read only as they are taken.

        :param kwargs: for the first request (a ``next`` link carries its own query).
        """
        data = self._request("GET", path, what, **kwargs)
        yield data
        for page in range(1, max_pages):
            next_path = self._next_page(data, what)
            if next_path is None:
                return
            data = self._request("GET", next_path, f"{what} (page {page + 1})")
            yield data

    def _next_page(self, data: Any, what: str) -> str | None:
        """The path of a Django REST framework page's ``next``: followed only on the connection's base URL
        (the API key goes along)."""
        following = data.get("next") if isinstance(data, dict) else None
        if not following:
            return None
        base_url = self.credentials.base_url
        if not isinstance(following, str) or not following.startswith(f"{base_url}/"):
            raise CreatifyAPIError(
                f"{what} failed: the next page is at {without_query(str(following))!r}, not under the "
                f"connection's base URL {base_url}. Not followed: the API key would go along.",
                http_status=200,
            )
        return following[len(base_url) :]

    def _request(self, method: str, path: str, what: str, *, idempotent: bool = True, **kwargs: Any) -> Any:
        return self._client.request(method, path, what, idempotent=idempotent, **kwargs)

    def copy_assets(
        self, asset_urls: Sequence[str], destination: str | ObjectStoragePath, **limits: Any
    ) -> list[str]:
        """Stream each asset into the ``destination`` folder; return the stored paths, in order.

        See :func:`airflow_provider_creatify.storage.copy_assets` (https, public hosts, whole files only).
        Downloads go through the connection's ``proxy`` extra, when it has one.

        :param asset_urls: the asset URLs, e.g. the create operator's ``asset_urls`` XCom.
        :param destination: an object storage folder URL (``file://``, ``s3://``, ``gs://``) or path.
        :param limits: its ``allow_private_hosts``, ``max_bytes``, ``download_timeout``, ``request_timeout``.
        """
        limits.setdefault("request_timeout", self.request_timeout)
        if "proxy" not in limits:  # the connection is read only when its proxy is wanted
            limits["proxy"] = self.credentials.proxy
        return storage.copy_assets(asset_urls, destination, log=self.log, **limits)

    def test_connection(self) -> tuple[bool, str]:
        """Check the credentials by listing the models (``airflow connections test``, UI Test button): one
        try within :attr:`connection_test_timeout`; the message names no connection, echoes no raw body."""
        self.max_retries = 0
        self.request_timeout = min(self.request_timeout, self.connection_test_timeout)
        self.__dict__.pop("_client", None)  # built anew with these
        try:
            if self.credentials.api_key == "***":  # Airflow's mask of a stored secret, never a key
                return False, MASKED_KEY_TEST
            models = self.list_models()
        except Exception as exc:
            return False, without_connection_id(str(exc), self.creatify_conn_id)
        return True, f"Connected to Creatify at {self.credentials.base_url}: {len(models)} models available."
