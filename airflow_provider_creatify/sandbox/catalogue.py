"""The sandbox's model catalogue: names, generation types, input schemas, prices and typical times.

``MODELS`` holds one :class:`~airflow_provider_creatify.sandbox.model_spec.ModelSpec` per model;
:func:`list_schemas` answers the schemas endpoint from it. Prices are credits per output (Creatify's 2026
reference where it gives one, else marked "invented"); typical times are what the real service takes,
which ``SandboxSettings.time_scale`` scales.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from airflow_provider_creatify.sandbox.model_spec import ModelSpec, Params

DRAFT7 = "http://json-schema.org/draft-07/schema#"
DRAFT202012 = "https://json-schema.org/draft/2020-12/schema"


def _schema(draft: str, required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": draft,
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": False,
    }


_PROMPT = {"type": "string", "minLength": 1, "description": "Text prompt describing the output."}
_URI = {"type": "string", "format": "uri"}
_NUM_IMAGES = {"type": "integer", "minimum": 1, "maximum": 4, "default": 1}
_IMAGE_RATIOS = ["21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21"]
_OUTPUT_FORMAT = {"type": "string", "enum": ["png", "jpeg"], "default": "png"}
_NEGATIVE = {
    "type": "string",
    "default": "blur, distort, and low quality",
    "description": "What the video should not show.",
}


def _num_images(params: Params) -> int:
    return int(params.get("num_images", 1))


def _image_side(params: Params) -> int:
    return 1024


def _video_side(default: str) -> Callable[[Params], int]:
    return lambda p: int(str(p.get("resolution", default)).rstrip("p"))


def _kling(
    version: str, credits: dict[str, float], seconds: float, extra: dict[str, Any] | None = None
) -> ModelSpec:
    return ModelSpec(
        model_name=f"kling-video/{version}/pro/image-to-video",
        generation_type="image_to_video",
        asset_type="video",
        schema=_schema(
            DRAFT7,
            ["prompt", "image_url"],
            {
                "prompt": _PROMPT,
                "image_url": {**_URI, "description": "URL of the start image."},
                "duration": {
                    "type": "string",
                    "enum": ["5", "10"],
                    "default": "5",
                    "description": "Length of the video in seconds.",
                },
                "cfg_scale": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5},
                "aspect_ratio": {"type": "string", "enum": ["16:9", "9:16", "1:1"], "default": "16:9"},
                "negative_prompt": _NEGATIVE,
                **(extra or {}),
            },
        ),
        credits_per_output=lambda p: credits[str(p.get("duration", "5"))],
        typical_seconds=seconds,
        duration=lambda p: int(p.get("duration", "5")),
        short_side=_video_side("1080p"),
    )


def _veo(name: str, credits: dict[str, float], seconds: float) -> ModelSpec:
    return ModelSpec(
        model_name=name,
        generation_type="text_to_video",
        asset_type="video",
        schema=_schema(
            DRAFT202012,
            ["prompt"],
            {
                "prompt": _PROMPT,
                "duration": {"type": "string", "enum": ["4s", "6s", "8s"], "default": "8s"},
                "aspect_ratio": {"type": "string", "enum": ["16:9", "9:16"], "default": "16:9"},
                "resolution": {"type": "string", "enum": ["720p", "1080p"], "default": "720p"},
                "generate_audio": {"type": "boolean", "default": True},
                "negative_prompt": {"type": "string", "description": "What the video should not show."},
                "seed": {"type": "integer", "description": "Fix it to repeat a result."},
            },
        ),
        credits_per_output=lambda p: credits[str(p.get("duration", "8s"))],
        typical_seconds=seconds,
        duration=lambda p: int(str(p.get("duration", "8s")).rstrip("s")),
        short_side=_video_side("720p"),
    )


def _image(
    name: str, schema: dict[str, Any], *, credits: float, seconds: float, kind: str = "text_to_image"
) -> ModelSpec:
    return ModelSpec(
        model_name=name,
        generation_type=kind,
        asset_type="image",
        schema=schema,
        credits_per_output=lambda p: credits,
        typical_seconds=seconds,
        outputs=_num_images,
        short_side=_image_side,
    )


def _image_properties(**first: Any) -> dict[str, Any]:
    return {
        **first,
        "num_images": _NUM_IMAGES,
        "aspect_ratio": {"type": "string", "enum": _IMAGE_RATIOS, "default": "1:1"},
        "output_format": _OUTPUT_FORMAT,
    }


MODELS: dict[str, ModelSpec] = {
    m.model_name: m
    for m in (
        # Reference price (2025 list): 5 s / 10 s = 12 / 24. ~6 min at the model's host.
        _kling("v1.6", {"5": 12, "10": 24}, 360.0),
        # Price and time invented (not in the sheet): a newer, dearer Kling with sound.
        _kling(
            "v2.6",
            {"5": 18, "10": 36},
            180.0,
            {"generate_audio": {"type": "boolean", "default": True, "description": "Add a soundtrack."}},
        ),
        # Reference price 0.5 (a live call was charged 1; the sandbox charges 0.5). ~6 s live.
        _image(
            "flux-pro/kontext/text-to-image",
            _schema(
                DRAFT7,
                ["prompt"],
                {
                    "prompt": _PROMPT,
                    "aspect_ratio": {"type": "string", "enum": _IMAGE_RATIOS, "default": "1:1"},
                    "num_images": _NUM_IMAGES,
                    "seed": {"type": "integer", "description": "Fix it to repeat a result."},
                    "guidance_scale": {"type": "number", "minimum": 1, "maximum": 20, "default": 3.5},
                    "output_format": _OUTPUT_FORMAT,
                },
            ),
            credits=0.5,
            seconds=6.0,
        ),
        # Reference price 0.5; time invented (~8 s).
        _image(
            "nano-banana",
            _schema(DRAFT202012, ["prompt"], _image_properties(prompt=_PROMPT)),
            credits=0.5,
            seconds=8.0,
        ),
        # Price (as nano-banana) and time invented.
        _image(
            "nano-banana/edit",
            _schema(
                DRAFT202012,
                ["prompt", "image_urls"],
                _image_properties(
                    prompt={**_PROMPT, "description": "How to edit the images."},
                    image_urls={
                        "type": "array",
                        "items": _URI,
                        "minItems": 1,
                        "maxItems": 10,
                        "description": "URLs of the images to edit.",
                    },
                ),
            ),
            credits=0.5,
            seconds=10.0,
            kind="image_to_image",
        ),
        # Reference prices 4s / 6s / 8s = 6 / 9 / 12; time invented (~1.5 min).
        _veo("veo3.1/fast", {"4s": 6, "6s": 9, "8s": 12}, 90.0),
        # Reference: "from 16" (the 4 s price); 6 s / 8 s = 24 / 32 and the time (~2.5 min) invented.
        _veo("veo3.1", {"4s": 16, "6s": 24, "8s": 32}, 150.0),
        # Price and time (~15 s) invented.
        ModelSpec(
            model_name="elevenlabs/sound-effects",
            generation_type="text_to_audio",
            asset_type="audio",
            schema=_schema(
                DRAFT7,
                ["text"],
                {
                    "text": {"type": "string", "minLength": 1, "description": "Describe the sound."},
                    "duration_seconds": {
                        "type": "number",
                        "minimum": 0.5,
                        "maximum": 22,
                        "description": "Length in seconds; omit to let the model choose.",
                    },
                    "prompt_influence": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.3},
                },
            ),
            credits_per_output=lambda p: 1,
            typical_seconds=15.0,
            duration=lambda p: math.ceil(float(p.get("duration_seconds", 5))),
        ),
    )
}


def list_schemas(model_names: str | None = None) -> list[dict[str, Any]]:
    """The schema listing, optionally filtered by a comma-separated ``model_name`` list."""
    if model_names is None or not model_names.strip():
        return [m.describe() for m in MODELS.values()]
    wanted = [n.strip() for n in model_names.split(",") if n.strip()]
    return [MODELS[n].describe() for n in dict.fromkeys(wanted) if n in MODELS]
