"""A small model of the Creatify API: the generation object and its status rules.

The one place that decides what a status means. Sync and async code, the operator, the sensor and the
trigger all ask :class:`Generation`, never compare status strings themselves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_provider_creatify.exceptions import (
    CreatifyAPIError,
    CreatifyGenerationError,
    CreatifyGenerationFailed,
    CreatifyTimeoutError,
)

DONE = "done"
FAILED = "failed"
# Statuses Creatify documents for this endpoint; anything else (pending, in_queue, running, rejected, ...)
# means "not finished yet", never success.
KNOWN_RUNNING = frozenset({"initializing", "generating"})

#: The shortest wait between two status reads (when ``poll_interval`` is not shorter still).
MIN_POLL_INTERVAL = 5.0
#: Each wait is this fraction of the generation's age: the delay between "done" and its detection stays
#: around a tenth of the generation's run time, with a number of reads that grows only logarithmically.
POLL_AGE_FRACTION = 0.2


@dataclass(frozen=True)
class Generation:
    """One Creatify generation, as ``GET /api/asset_generator/{id}/`` returns it.

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
    def from_api(cls, data: Any, *, context: str = "the generation") -> Generation:
        """Build from a decoded JSON body: tolerate missing optional fields, refuse one without id/status."""
        if not isinstance(data, dict) or not data.get("id") or not isinstance(data.get("status"), str):
            raise CreatifyAPIError(
                f"Creatify returned an unexpected body for {context}: expected a generation object with "
                f"'id' and 'status', got {str(data)[:200]!r}. Retry later; if it persists, contact Creatify.",
                http_status=200,
                body=str(data)[:500],
            )
        assets = data.get("assets") or []
        return cls(
            id=str(data["id"]),
            status=data["status"],
            model_name=data.get("model_name"),
            failed_reason=data.get("failed_reason") or "",
            assets=[a for a in assets if isinstance(a, dict)] if isinstance(assets, list) else [],
            raw=data,
        )

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
    def age(self) -> float | None:
        """Seconds since ``created_at`` (``None`` if the API did not say)."""
        created_at = self.raw.get("created_at")
        if not isinstance(created_at, str):
            return None
        try:
            created = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
        except ValueError:
            return None
        if created.tzinfo is None:
            return None
        return max(0.0, time.time() - created.timestamp())

    def next_poll_delay(self, poll_interval: float, min_poll_interval: float = MIN_POLL_INTERVAL) -> float:
        """Seconds to wait before reading this generation again: the adaptive schedule.

        A fifth of the generation's age, between ``min_poll_interval`` and ``poll_interval``: young
        generations (most images) are read often, long videos rarely. Derived from ``created_at`` alone,
        so a restarted triggerer or a retried task picks the schedule up where it was.

        :param poll_interval: the longest wait (the user's setting).
        :param min_poll_interval: the shortest wait; ``min_poll_interval >= poll_interval`` polls at a
            fixed ``poll_interval``.
        """
        shortest = min(min_poll_interval, poll_interval)
        age = self.age
        if age is None:
            return poll_interval if shortest >= poll_interval else shortest
        return min(poll_interval, max(shortest, age * POLL_AGE_FRACTION))

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


def input_fields(schema: Any) -> list[dict[str, Any]]:
    """The fields of an ``input_params_schema``: required first, then optional, each in ``properties`` order.

    Each field is ``{"name", "required", "type", "enum", "default", "description"}``; ``type`` is the JSON
    Schema type as a string (a list of types joined by ``|``, ``""`` if absent). A required name missing
    from ``properties`` is listed too, after the other required fields, with nothing known about it.
    """
    schema = schema if isinstance(schema, dict) else {}
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    listed = schema.get("required")
    required = [n for n in listed if isinstance(n, str)] if isinstance(listed, list) else []
    names = [n for n in properties if n in required]
    names += [n for n in dict.fromkeys(required) if n not in properties]
    names += [n for n in properties if n not in required]
    fields = []
    for name in names:
        spec = properties.get(name)
        spec = spec if isinstance(spec, dict) else {}
        json_type = spec.get("type", "")
        enum = spec.get("enum")
        description = spec.get("description")
        fields.append(
            {
                "name": name,
                "required": name in required,
                "type": "|".join(map(str, json_type)) if isinstance(json_type, list) else str(json_type),
                "enum": list(enum) if isinstance(enum, list) else None,
                "default": spec.get("default"),
                "description": description if isinstance(description, str) else None,
            }
        )
    return fields


def describe_models(models: list[Any]) -> list[dict[str, Any]]:
    """``{"model_name", "generation_type", "fields"}`` for each entry of the schemas listing, by model name.

    Entries that are not objects with a ``model_name`` are skipped; see :func:`input_fields` for ``fields``.
    """
    described = [
        {
            "model_name": model["model_name"],
            "generation_type": model.get("generation_type"),
            "fields": input_fields(model.get("input_params_schema")),
        }
        for model in models
        if isinstance(model, dict) and isinstance(model.get("model_name"), str) and model["model_name"]
    ]
    return sorted(described, key=lambda m: m["model_name"])
