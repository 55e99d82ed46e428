"""The hook's generation calls (private): create, read one or many, list, the credit balance, and wait.

:class:`GenerationCalls` is a base of :class:`~airflow_provider_creatify.hooks.creatify.CreatifyHook`.
Its calls go through the hook's requests client (the worker's, blocking); the triggerer's reads are
:mod:`._async`. The wait rules are :mod:`airflow_provider_creatify.polling`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_creatify import schemas
from airflow_provider_creatify.endpoints import (
    CREDITS_PATH,
    GENERATIONS_PATH,
    MAX_IDS_PER_READ,
    generation_path,
)
from airflow_provider_creatify.exceptions import CreatifyAPIError, CreatifyNotFoundError
from airflow_provider_creatify.generation import Generation, listed, parse_credits
from airflow_provider_creatify.hooks._batch import LIST_RESTS, batches
from airflow_provider_creatify.hooks._http import uncertain_create
from airflow_provider_creatify.polling import GenerationWait

if TYPE_CHECKING:
    from airflow.sdk.types import Logger

    from airflow_provider_creatify.hooks._connection import Credentials


#: The most pages of the account's list read when searching back to a moment (100 generations a page,
#: or the API's own page size).
MAX_LIST_PAGES = 50


class GenerationCalls:
    """The generation endpoints, for the worker (blocking calls, each read retried)."""

    creatify_conn_id: str
    if TYPE_CHECKING:  # CreatifyHook's: its own, and Airflow's LoggingMixin's

        @property
        def credentials(self) -> Credentials: ...

        @property
        def log(self) -> Logger: ...

    def _request(self, method: str, path: str, what: str, *, idempotent: bool = True, **kwargs: Any) -> Any:
        raise NotImplementedError  # CreatifyHook's

    def _next_page(self, data: Any, what: str) -> str | None:
        raise NotImplementedError  # CreatifyHook's: it knows the base URL

    def _pages(self, path: str, what: str, max_pages: int, **kwargs: Any) -> Iterator[Any]:
        raise NotImplementedError  # CreatifyHook's

    def create_generation(
        self, model_name: str, input_params: dict[str, Any], webhook_url: str | None = None
    ) -> Generation:
        """``POST /api/asset_generator/``: start a (billed) generation.

        Sent again only when Creatify certainly did not get it (a refused connection, or 429). There is no
        idempotency key: a second POST is a second, billed generation.

        :param model_name: the Creatify model, e.g. ``nano-banana``.
        :param input_params: the model's input (checked to be a JSON object, not against its schema).
        :param webhook_url: a URL Creatify POSTs the result to (at most 200 characters).
        :returns: the new generation (its id; its status when Creatify gives one).
        :raises CreatifyCreateUncertainError: the POST may have reached Creatify, and its answer was lost.
        :raises CreatifyAPIError: Creatify refused it (a subclass says why); nothing was created.
        """
        schemas.require_object(model_name, input_params)  # refused before the POST counts as sent
        body: dict[str, Any] = {"model_name": model_name, "input_params": input_params}
        if webhook_url is not None:
            schemas.validate_webhook_url(model_name, webhook_url)
            body["webhook_url"] = webhook_url
        what = f"Creating a Creatify generation of model {model_name!r}"
        data = self._request("POST", GENERATIONS_PATH, what, idempotent=False, json=body)
        try:  # an answer with an id is a created generation, whatever else it lacks
            return Generation.from_api(
                data, context=f"the new generation of model {model_name!r}", created=True
            )
        except CreatifyAPIError as err:  # answered 2xx, so something was probably created
            raise uncertain_create(what, err) from None

    def get_generation(self, generation_id: str) -> Generation:
        """``GET /api/asset_generator/{id}/``: one generation, read now (retried on transient errors).

        :param generation_id: the Creatify generation id.
        :returns: the generation, whatever its status.
        :raises CreatifyNotFoundError: Creatify has no such generation (unknown, or another account's).
        :raises CreatifyAPIError: the read failed after its retries.
        """
        data = self._request(
            "GET", generation_path(generation_id), f"Reading Creatify generation {generation_id}"
        )
        return Generation.from_api(data, context=f"generation {generation_id}")

    def get_generations(self, generation_ids: Sequence[str]) -> dict[str, Generation | None]:
        """``GET /api/asset_generator/?ids=...``: many generations, 100 per request (each read retried).

        An id missing from a list answer is read alone. A list answer that cannot be used (an error after
        the retries, not a list, ``ids`` ignored) makes every read of it go alone, and the connection's
        reads go per id for a while (:class:`._batch.ListRests`).

        :returns: every id asked for, in order (duplicates once), with its generation, or ``None`` when
            Creatify has none (404: unknown, or another account's).
        :raises CreatifyAPIError: a read alone failed.
        """
        result: dict[str, Generation | None] = {}
        base_url = self.credentials.base_url
        for ids, path, what in batches(generation_ids):
            found: dict[str, Generation | None] = dict.fromkeys(ids)
            if not LIST_RESTS.resting(self.creatify_conn_id, base_url):
                try:
                    found = Generation.from_api_list(ids, self._request("GET", path, what), what)
                except CreatifyAPIError as err:
                    LIST_RESTS.rest(self.creatify_conn_id, base_url, err)
            for generation_id in [i for i, generation in found.items() if generation is None]:
                with contextlib.suppress(CreatifyNotFoundError):  # 404: None
                    found[generation_id] = self.get_generation(generation_id)
            result.update(found)
        if missing := [generation_id for generation_id, found in result.items() if found is None]:
            self.log.warning(
                "Creatify returned no generation for %d id(s): %s", len(missing), ", ".join(missing)
            )
        return result

    def list_generations(self, limit: int = 100) -> list[Generation]:
        """The account's newest generations, newest first.

        Creatify's pagination of this list is undocumented, so one page is all it reads.

        :param limit: at most this many (1 to 100).
        :raises CreatifyAPIError: the list could not be read (an extra, not every API has it).
        """
        what = "Listing the account's Creatify generations"
        data = self._request("GET", f"{GENERATIONS_PATH}?limit={int(limit)}", what)
        return [Generation.from_api(item, context=what.lower()) for item in listed(data, what)]

    def list_generations_since(self, since: float) -> tuple[list[Generation], bool]:
        """The account's generations back to ``since``, newest first, and whether that is all of them.

        It reads the newest 100. When the answer is a Django REST framework page, it follows the pages'
        ``next`` (on the connection's base URL only) until one reaches back before ``since``, at most
        :data:`MAX_LIST_PAGES` pages.

        :param since: epoch seconds.
        :returns: the generations read (some may be older), and whether every generation created since
            ``since`` is among them: the list ended, or, newest first, it reached back before ``since``.
        :raises CreatifyAPIError: a page could not be read (an extra, not every API has it).
        """
        what = "Listing the account's Creatify generations"
        found: list[Generation] = []
        for data in self._pages(f"{GENERATIONS_PATH}?limit={MAX_IDS_PER_READ}", what, MAX_LIST_PAGES):
            found += [Generation.from_api(item, context=what.lower()) for item in listed(data, what)]
            if _reaches_back(found, since):
                break
        if isinstance(data, dict):  # a page: the list ended where no next page follows
            ended = self._next_page(data, what) is None
        else:  # a bare array: shorter than the limit
            ended = len(data) < MAX_IDS_PER_READ
        return found, ended or _reaches_back(found, since)

    def remaining_credits(self) -> float:
        """``GET /api/remaining_credits/``: the account's credit balance.

        :raises CreatifyAPIError: the balance could not be read, or came in another shape.
        """
        what = "Reading the Creatify credit balance"
        data = self._request("GET", CREDITS_PATH, what)
        credits = parse_credits(data.get("remaining_credits")) if isinstance(data, dict) else None
        if credits is None:
            raise CreatifyAPIError(
                f'{what} failed: expected {{"remaining_credits": <number>}}, got {str(data)[:200]!r}.',
                http_status=200,
            )
        return credits

    def wait_for_generation(self, generation_id: str, *, poll_interval: float, deadline: float) -> Generation:
        """Poll until the generation is done or failed (blocking); returns it either way.

        The trigger's rules (:class:`~airflow_provider_creatify.polling.GenerationWait`): transient read
        errors end the wait only when ``GenerationWait.max_consecutive_errors`` come in a row.

        :param poll_interval: the longest wait between reads (see :func:`.polling.poll_delay`).
        :param deadline: absolute time (``time.time()``) after which :class:`CreatifyTimeoutError` is raised.
        """
        wait = GenerationWait(
            generation_id=generation_id, deadline=deadline, poll_interval=poll_interval, log=self.log
        )
        while True:
            try:
                generation = self.get_generation(generation_id)
                delay = wait.after_read(generation)
            except CreatifyAPIError as err:
                delay = wait.after_error(err)
            if delay is None:
                return generation
            time.sleep(wait.sleep_for(delay))


def _reaches_back(generations: Sequence[Generation], since: float) -> bool:
    """Whether these generations, newest first, reach back before ``since`` (a missing time counts as 0)."""
    created = [g.created_at or 0.0 for g in generations]
    return bool(created) and created == sorted(created, reverse=True) and created[-1] < since
