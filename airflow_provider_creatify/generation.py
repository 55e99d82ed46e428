"""The generation object and what its status means (an unknown status means "still running").

The one place that decides what a status means. Sync and async code, the operator, the sensor and the
trigger all ask :class:`Generation`, never compare status strings themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_provider_creatify.exceptions import (
    CreatifyAPIError,
    CreatifyGenerationError,
    CreatifyGenerationFailed,
)

__all__ = ["Generation"]

DONE = "done"
FAILED = "failed"
# Statuses Creatify documents for this endpoint; anything else (pending, in_queue, running, rejected, ...)
# means "not finished yet", never success.
KNOWN_RUNNING = frozenset({"initializing", "generating"})


@dataclass
class Generation:
    """One Creatify generation, as ``GET /api/asset_generator/{id}/`` returns it. Not a frozen dataclass: a
    triggerer builds thousands a second (one per wait-poll), and frozen fields cost twice as much to set.

    :param id: the generation id (a UUID string).
    :param status: the raw status string.
    :param raw: the whole object as the API returned it (unknown fields kept).
    """

    id: str
    status: str
    model_name: str | None = None
    failed_reason: str = ""
    assets: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Any, *, context: str = "the generation", created: bool = False) -> Generation:
        """Build from a decoded JSON body: tolerate missing optional fields, refuse one without id/status.

        :param created: the answer to a create: an id is enough (a generation exists; its status is read
            later), and one without a status gets ``""``, which means "not finished".
        """
        get = data.get if isinstance(data, dict) else None
        status = get and get("status")
        if created and get and get("id") and not isinstance(status, str):
            status = ""
        if not get or not get("id") or not isinstance(status, str):
            raise CreatifyAPIError(
                f"Creatify returned an unexpected body for {context}: expected a generation object with "
                f"'id' and 'status', got {str(data)[:200]!r}. Retry later; if it persists, contact Creatify.",
                http_status=200,
                body=str(data)[:500],
            )
        assets = get("assets")
        return cls(
            id=str(data["id"]),
            status=status,
            model_name=get("model_name"),
            failed_reason=get("failed_reason") or "",
            assets=[
                {"url": a} if isinstance(a, str) else a for a in assets if isinstance(a, (dict, str)) and a
            ]
            if assets and isinstance(assets, list)
            else [],
            raw=data,
        )

    @classmethod
    def from_api_list(cls, ids: list[str], data: Any, what: str) -> dict[str, Generation | None]:
        """Each id asked for, in order, with its generation from a list answer, or ``None`` if absent.

        A generation listed as done without an asset URL is ``None`` too: a listing may leave assets out,
        and the caller reads it alone (``GET /{id}/``) before deciding it has none.

        :param what: what was being read, for the message when ``data`` is not a list of generations.
        :raises CreatifyAPIError: ``data`` is not a list (or a page) of generations, or holds one not
            asked for (``ids`` ignored).
        """
        context = what.lower()
        found = {}
        for item in listed(data, what):
            generation = cls.from_api(item, context=context)
            found[generation.id] = None if generation.is_done and not generation.asset_urls else generation
        if others := found.keys() - set(ids):
            raise CreatifyAPIError(
                f"{what} failed: the answer holds {len(others)} generation(s) not asked for, e.g. "
                f"{min(others)}: the list endpoint ignores 'ids'.",
                http_status=200,
            )
        return {generation_id: found.get(generation_id) for generation_id in ids}

    def result_xcoms(self) -> dict[str, Any]:
        """The XComs a finished generation leaves besides ``return_value``, wherever the task ends (the
        worker, or the trigger when the task ends in the triggerer)."""
        return {"asset_urls": self.asset_urls, "assets": self.assets, "credits_used": self.credits_used}

    def summary(self) -> dict[str, Any]:
        """What a finished wait hands on (the trigger's event, stored in Airflow's DB and logged): id,
        status, model, failed reason, assets, credits, and the input URLs without their query. Not the
        whole object: its ``input_params`` and ``webhook_url`` may hold signed URLs.
        ``Generation.from_api(g.summary())`` reads it back."""
        return {
            "id": self.id,
            "status": self.status,
            "model_name": self.model_name,
            "failed_reason": self.failed_reason,
            "assets": self.assets,
            "credits_used": self.raw.get("credits_used"),
            "input_urls": self.input_urls,
        }

    @property
    def input_urls(self) -> list[str]:
        """The http(s) URLs among its ``input_params`` (the images, audio, video it read), at any depth,
        once each, as ``scheme://host[:port]/path``: no query (a signature), fragment or user info."""
        if "input_urls" in self.raw and "input_params" not in self.raw:  # read back from a summary
            return list(self.raw["input_urls"])
        return list(dict.fromkeys(map(without_query, urls_in(self.raw.get("input_params")))))

    @property
    def credits_used(self) -> float | None:
        """What the generation cost, as a number (the reference types it a string, live calls a number).

        ``0`` while it runs; ``None`` when Creatify did not say or said something that is not a number.
        """
        return parse_credits(self.raw.get("credits_used"))

    @property
    def is_done(self) -> bool:
        return self.status == DONE

    @property
    def is_failed(self) -> bool:
        return self.status == FAILED

    @property
    def is_terminal(self) -> bool:
        return self.status in (DONE, FAILED)

    @property
    def asset_urls(self) -> list[str]:
        """The asset URLs in the API's order."""
        return [a["url"] for a in self.assets if a.get("url")]

    @property
    def created_at(self) -> float | None:
        """When Creatify created it (seconds since the epoch); ``None`` if the API did not say."""
        created_at = self.raw.get("created_at")
        if not isinstance(created_at, str):
            return None
        try:
            created = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
        except ValueError:
            return None
        return created.timestamp() if created.tzinfo is not None else None

    def describe_credits(self) -> str:
        """``", 12 credits used"`` for log lines, or ``""`` when the cost is not known."""
        credits = self.credits_used
        return "" if credits is None else f", {format_credits(credits)} credits used"

    def describe(self) -> str:
        """``generation <id> (model <name>)`` for messages."""
        model = f" (model {self.model_name})" if self.model_name else ""
        return f"generation {self.id}{model}"

    def raise_for_status(self) -> None:
        """Raise unless the generation is done with at least one asset URL.

        :raises CreatifyGenerationFailed: Creatify reported ``failed``.
        :raises CreatifyGenerationError: ``done`` but no asset URL, or not terminal at all.
        """
        if self.is_failed:
            raise CreatifyGenerationFailed(
                f"Creatify {self.describe()} failed: {self.failed_reason or 'no reason given'}. "
                "Fix the input (or the prompt) and run the task again; inspect it with "
                f"GET /api/asset_generator/{self.id}/.",
                generation_id=self.id,
                model_name=self.model_name,
                failed_reason=self.failed_reason,
            )
        if not self.is_done:
            raise CreatifyGenerationError(
                f"Creatify {self.describe()} is not finished (status {self.status!r}).",
                generation_id=self.id,
                model_name=self.model_name,
            )
        if not self.asset_urls:
            raise CreatifyGenerationError(
                f"Creatify {self.describe()} is done but returned no asset URL. Check it with "
                f"GET /api/asset_generator/{self.id}/ and ask Creatify support if the assets are missing.",
                generation_id=self.id,
                model_name=self.model_name,
            )


def listed(data: Any, what: str) -> list[Any]:
    """The items of a list answer: a JSON array, or a Django REST framework page's ``results``.

    :param what: what was being read, for the message when ``data`` is neither.
    :raises CreatifyAPIError: anything else (an object without ``results``, a string, ...).
    """
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return data["results"]
    if not isinstance(data, list):
        raise CreatifyAPIError(
            f"{what} failed: expected a JSON array (or a page with 'results'), got {str(data)[:200]!r}.",
            http_status=200,
        )
    return data


def urls_in(value: Any) -> Iterator[str]:
    """The http(s) URLs among ``value``'s strings, at any depth (``image_url``, ``reference_images``...)."""
    if isinstance(value, str):
        if value.startswith(("http://", "https://")):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from urls_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from urls_in(item)


def without_query(url: str) -> str:
    """``url`` as ``scheme://host[:port]/path``, for logs, events and lineage: a signed URL's query,
    a fragment and any user info left out (read as text: even a URL that does not parse)."""
    scheme, sep, rest = url.partition("#")[0].partition("?")[0].partition("://")
    if sep:
        authority, slash, path = rest.partition("/")
        rest = authority.rpartition("@")[2] + slash + path
    return scheme + sep + rest


def parse_credits(value: Any) -> float | None:
    """A credit amount from a number or a numeric string (``12``, ``"0.5"``); ``None`` otherwise.

    Whole amounts come back as ``int`` (``"12"`` → ``12``), so XComs and messages read naturally.
    """
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return int(number) if number.is_integer() else number


def format_credits(value: float) -> str:
    """``12``, ``0.5``, ``1,250``: a credit amount for messages."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0")
