"""A generation's state; its status is derived lazily from elapsed time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from airflow_provider_creatify.sandbox import catalogue, media
from airflow_provider_creatify.sandbox.credits import credits_used_string


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


@dataclass
class SandboxGeneration:
    """One generation in the sandbox (not the provider's ``generation.Generation``); its status is derived
    from elapsed time unless forced. ``charge`` is what it cost (credits), taken when it was created."""

    id: str
    model: catalogue.ModelSpec
    input_params: dict[str, Any]
    webhook_url: str | None
    created_wall: float
    created_mono: float
    seconds: float
    init_seconds: float
    fails: bool
    failed_reason: str
    charge: float = 0.0
    forced_status: str | None = None
    forced_reason: str = ""
    forced_wall: float = 0.0

    def status(self, now_mono: float) -> tuple[str, float]:
        """(status, updated_at wall time)."""
        if self.forced_status is not None:
            return self.forced_status, self.forced_wall
        elapsed = now_mono - self.created_mono
        if elapsed < self.init_seconds:
            return "initializing", self.created_wall
        if elapsed < self.seconds:
            return "generating", self.created_wall + self.init_seconds
        return ("failed" if self.fails else "done"), self.created_wall + self.seconds

    def next_change(self, now_mono: float) -> float | None:
        """Seconds until the status changes by itself; ``None`` if it never will (final or forced)."""
        if self.forced_status is not None:
            return None
        elapsed = now_mono - self.created_mono
        for edge in (self.init_seconds, self.seconds):
            if elapsed < edge:
                return edge - elapsed
        return None

    def assets(self, base_url: str) -> list[dict[str, Any]]:
        """The output assets (one per output)."""
        kind = self.model.asset_type
        ext = media.EXTENSIONS[kind]
        out = []
        for i in range(self.model.outputs(self.input_params)):
            asset_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"creatify-sandbox/{self.id}/{i}"))
            out.append(
                {
                    "id": asset_id,
                    "type": kind,
                    "url": f"{base_url}/media/{asset_id}.{ext}",
                    "thumbnail_url": None if kind == "audio" else f"{base_url}/media/{asset_id}_thumb.png",
                    "name": f"{kind.capitalize()}-{asset_id[:8]}",
                }
            )
        return out

    def to_dict(self, base_url: str, now_mono: float) -> dict[str, Any]:
        """The generation object as the API returns it.

        ``credits_used`` is a string (the reference's type): ``"0"`` until done, then the charge.
        ``output_nums`` is -1 until done. ``duration`` is seconds of output (0 for images);
        ``resolution`` and ``aspect_ratio`` are ``""`` for audio.
        """
        status, updated = self.status(now_mono)
        params, model, done = self.input_params, self.model, status == "done"
        return {
            "id": self.id,
            "model_name": model.model_name,
            "gen_type": model.asset_type,
            "status": status,
            "failed_reason": (self.forced_reason or self.failed_reason) if status == "failed" else "",
            "assets": self.assets(base_url) if done else [],
            "input_params": params,
            "webhook_url": self.webhook_url,
            "credits_used": credits_used_string(self.charge) if done else "0",
            "output_nums": model.outputs(params) if done else -1,
            "duration": model.duration(params),
            "resolution": model.resolution(params),
            "aspect_ratio": model.aspect_ratio(params),
            "created_at": _iso(self.created_wall),
            "updated_at": _iso(updated),
        }
