"""``ModelSpec``: one model as the sandbox knows it, and what it derives from a create's ``input_params``.

The derived values (price, outputs, seconds of output, resolution, aspect ratio) fill in the generation
object; the models themselves are listed in :mod:`airflow_provider_creatify.sandbox.catalogue`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Params = dict[str, Any]


def _one(params: Params) -> int:
    return 1


def _no_duration(params: Params) -> int:
    return 0


@dataclass(frozen=True)
class ModelSpec:
    """One generation model as the sandbox knows it.

    :param asset_type: what it makes, the generation's ``gen_type``: ``image``, ``video`` or ``audio``.
    :param credits_per_output: the price of one output, in credits.
    :param typical_seconds: how long the real service takes (before ``time_scale``).
    :param duration: seconds of output (0 for an image).
    :param short_side: the output's shorter side in pixels; ``None`` for audio (no picture).
    """

    model_name: str
    generation_type: str
    asset_type: str
    schema: dict[str, Any]
    credits_per_output: Callable[[Params], float]
    typical_seconds: float
    outputs: Callable[[Params], int] = _one
    duration: Callable[[Params], int] = _no_duration
    short_side: Callable[[Params], int] | None = None

    def describe(self) -> dict[str, Any]:
        """The entry of ``GET /api/asset_generator/schemas/``."""
        return {
            "model_name": self.model_name,
            "generation_type": self.generation_type,
            "input_params_schema": self.schema,
        }

    def price(self, params: Params) -> float:
        """What a generation with ``params`` costs: the price of one output times the outputs."""
        return self.credits_per_output(params) * self.outputs(params)

    def aspect_ratio(self, params: Params) -> str:
        """The asked aspect ratio, else the schema's default; ``""`` for a model without one."""
        default = self.schema["properties"].get("aspect_ratio", {}).get("default", "")
        return str(params.get("aspect_ratio", default))

    def resolution(self, params: Params) -> str:
        """``"<width>x<height>"`` from the aspect ratio and the short side; ``""`` for audio."""
        ratio = self.aspect_ratio(params)
        if self.short_side is None or ":" not in ratio:
            return ""
        short = self.short_side(params)
        w, h = (float(x) for x in ratio.split(":", 1))
        long = 16 * round(short * max(w, h) / min(w, h) / 16)
        return f"{long}x{short}" if w >= h else f"{short}x{long}"
