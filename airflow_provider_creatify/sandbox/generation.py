"""``SandboxGeneration``: one generation's life, from its start (time and fate drawn from the settings) to
the API object at any moment (its status derived lazily from elapsed time)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_creatify.sandbox import media
from airflow_provider_creatify.sandbox.credits import credits_used_string
from airflow_provider_creatify.sandbox.model_spec import ModelSpec

if TYPE_CHECKING:
    import random

    from airflow_provider_creatify.sandbox.settings import SandboxSettings


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


@dataclass
class SandboxGeneration:
    """One generation in the sandbox (not the provider's ``generation.Generation``); its status is derived
    from elapsed time unless forced. ``charge`` is what it cost (credits), taken when it was created."""

    id: str
    model: ModelSpec
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

    def to_dict(self, base_url: str, now_mono: float, *, assets_as_strings: bool = False) -> dict[str, Any]:
        """The generation object as the API returns it.

        ``credits_used`` is a string (the reference's type): ``"0"`` until done, then the charge.
        ``output_nums`` is -1 until done. ``duration`` is seconds of output (0 for images);
        ``resolution`` and ``aspect_ratio`` are ``""`` for audio.

        :param assets_as_strings: give the assets as their URLs, not objects (a dialect of the API).
        """
        status, updated = self.status(now_mono)
        params, model, done = self.input_params, self.model, status == "done"
        assets: list[Any] = self.assets(base_url) if done else []
        if assets_as_strings:
            assets = [asset["url"] for asset in assets]
        return {
            "id": self.id,
            "model_name": model.model_name,
            "gen_type": model.asset_type,
            "status": status,
            "failed_reason": (self.forced_reason or self.failed_reason) if status == "failed" else "",
            "assets": assets,
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


def new_generation(
    *,
    model: ModelSpec,
    params: dict[str, Any],
    webhook_url: str | None,
    charge: float,
    settings: SandboxSettings,
    rng: random.Random,
) -> SandboxGeneration:
    """A generation starting now: it fails if its ``prompt`` (or ``text``) holds ``settings.fail_marker``,
    else with probability ``settings.fail_rate``; its time is ``settings.seconds_for`` the model's.

    :param charge: what it cost (credits), already taken.
    :param rng: the sandbox's seeded random source (for ``fail_rate``).
    """
    s = settings
    text = params.get("prompt", params.get("text"))
    fails = bool(s.fail_marker and isinstance(text, str) and s.fail_marker in text)
    if not fails and s.fail_rate > 0:
        fails = rng.random() < s.fail_rate
    seconds = s.seconds_for(model.typical_seconds)
    if s.stores_defaults:  # as an API that stores its validated input may
        properties = model.schema.get("properties", {})
        params = {**{k: v["default"] for k, v in properties.items() if "default" in v}, **params}
    return SandboxGeneration(
        id=str(uuid.uuid4()),
        model=model,
        input_params=params,
        webhook_url=webhook_url,
        created_wall=time.time(),
        created_mono=time.monotonic(),
        seconds=seconds,
        init_seconds=seconds * min(max(s.initializing_fraction, 0.0), 1.0),
        fails=fails,
        failed_reason=s.failed_reason,
        charge=charge,
    )
