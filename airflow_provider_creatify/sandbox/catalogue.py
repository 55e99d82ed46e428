"""The sandbox's model catalogue: names, generation types, input schemas and bookkeeping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

DRAFT7 = "http://json-schema.org/draft-07/schema#"
DRAFT202012 = "https://json-schema.org/draft/2020-12/schema"

Params = dict[str, Any]


@dataclass(frozen=True)
class ModelSpec:
    """One generation model as the sandbox knows it."""

    model_name: str
    generation_type: str
    asset_type: str  # "image" | "video" | "audio"
    schema: dict[str, Any]
    credits_per_output: Callable[[Params], int]
    outputs: Callable[[Params], int] = lambda p: 1
    duration: Callable[[Params], float | None] = lambda p: None
    resolution: str | None = None

    def describe(self) -> dict[str, Any]:
        """The entry of ``GET /api/asset_generator/schemas/``."""
        return {
            "model_name": self.model_name,
            "generation_type": self.generation_type,
            "input_params_schema": self.schema,
        }


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

_VEO_FAST_CREDITS = {"4s": 16, "6s": 24, "8s": 32}

MODELS: dict[str, ModelSpec] = {
    m.model_name: m
    for m in (
        ModelSpec(
            model_name="kling-video/v1.6/pro/image-to-video",
            generation_type="image_to_video",
            asset_type="video",
            schema=_schema(
                DRAFT7,
                ["prompt", "image_url"],
                {
                    "prompt": _PROMPT,
                    "image_url": {**_URI, "description": "URL of the start image."},
                    "duration": {"type": "string", "enum": ["5", "10"], "default": "5"},
                    "cfg_scale": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5},
                    "aspect_ratio": {"type": "string", "enum": ["16:9", "9:16", "1:1"], "default": "16:9"},
                    "negative_prompt": {"type": "string", "default": "blur, distort, and low quality"},
                },
            ),
            credits_per_output=lambda p: 24 if p.get("duration") == "10" else 12,
            duration=lambda p: float(p.get("duration", "5")),
            resolution="1080p",
        ),
        ModelSpec(
            model_name="flux-pro/kontext/text-to-image",
            generation_type="text_to_image",
            asset_type="image",
            schema=_schema(
                DRAFT7,
                ["prompt"],
                {
                    "prompt": _PROMPT,
                    "aspect_ratio": {"type": "string", "enum": _IMAGE_RATIOS, "default": "1:1"},
                    "num_images": _NUM_IMAGES,
                    "seed": {"type": "integer"},
                    "guidance_scale": {"type": "number", "minimum": 1, "maximum": 20, "default": 3.5},
                    "output_format": {"type": "string", "enum": ["png", "jpeg"], "default": "png"},
                },
            ),
            credits_per_output=lambda p: 4,
            outputs=lambda p: int(p.get("num_images", 1)),
        ),
        ModelSpec(
            model_name="nano-banana",
            generation_type="text_to_image",
            asset_type="image",
            schema=_schema(
                DRAFT202012,
                ["prompt"],
                {
                    "prompt": _PROMPT,
                    "image_urls": {
                        "type": "array",
                        "items": _URI,
                        "minItems": 1,
                        "maxItems": 10,
                        "description": "Images to edit (image-to-image); omit for text-to-image.",
                    },
                    "num_images": _NUM_IMAGES,
                    "aspect_ratio": {"type": "string", "enum": _IMAGE_RATIOS, "default": "1:1"},
                    "output_format": {"type": "string", "enum": ["png", "jpeg"], "default": "png"},
                },
            ),
            credits_per_output=lambda p: 4,
            outputs=lambda p: int(p.get("num_images", 1)),
        ),
        ModelSpec(
            model_name="veo3.1/fast",
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
                    "negative_prompt": {"type": "string"},
                    "seed": {"type": "integer"},
                },
            ),
            credits_per_output=lambda p: _VEO_FAST_CREDITS.get(p.get("duration", "8s"), 32),
            duration=lambda p: float(str(p.get("duration", "8s")).rstrip("s")),
            resolution="720p",
        ),
        ModelSpec(
            model_name="elevenlabs/sound-effects",
            generation_type="text_to_audio",
            asset_type="audio",
            schema=_schema(
                DRAFT7,
                ["text"],
                {
                    "text": {"type": "string", "minLength": 1, "description": "Describe the sound."},
                    "duration_seconds": {"type": "number", "minimum": 0.5, "maximum": 22},
                    "prompt_influence": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.3},
                },
            ),
            credits_per_output=lambda p: 1,
            duration=lambda p: float(p.get("duration_seconds", 5.0)),
        ),
    )
}


def list_schemas(model_names: str | None = None) -> list[dict[str, Any]]:
    """The schema listing, optionally filtered by a comma-separated ``model_name`` list."""
    if model_names is None or not model_names.strip():
        return [m.describe() for m in MODELS.values()]
    wanted = [n.strip() for n in model_names.split(",") if n.strip()]
    return [MODELS[n].describe() for n in dict.fromkeys(wanted) if n in MODELS]


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and (parts.netloc or parts.scheme in ("data", "urn", "mailto")))


@cache
def validator(model_name: str) -> Any:
    """A cached jsonschema validator (class chosen by the schema's ``$schema``) with a ``uri`` check."""
    from jsonschema import FormatChecker
    from jsonschema.validators import validator_for

    schema = MODELS[model_name].schema
    checker = FormatChecker(formats=())
    checker.checks("uri")(_is_uri)
    cls = validator_for(schema)
    return cls(schema, format_checker=checker)


def validation_errors(model_name: str, params: Params) -> list[str]:
    """Validator messages, each prefixed by the offending field path (``"duration: ..."``) if any."""
    errors = sorted(validator(model_name).iter_errors(params), key=lambda e: [str(p) for p in e.path])
    out = []
    for err in errors:
        where = ".".join(str(p) for p in err.absolute_path)
        out.append(f"{where}: {err.message}" if where else err.message)
    return out
