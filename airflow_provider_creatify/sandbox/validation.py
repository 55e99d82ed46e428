"""Which creates the sandbox refuses, and the ``400`` it answers: the body's fields, the model, the inputs.

Field errors are shaped like the live API's (``{"webhook_url": ["Enter a valid URL."]}``), an unknown model
gets its bare list, and ``input_params`` are checked against the model's JSON Schema (jsonschema, imported
at the first check, with a ``uri`` format check).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_creatify.sandbox.asgi import Response, json_response
from airflow_provider_creatify.sandbox.catalogue import MODELS
from airflow_provider_creatify.sandbox.model_spec import ModelSpec, Params

MAX_WEBHOOK_URL = 200


@dataclass(frozen=True)
class CreateRequest:
    """A create's body that passed every check.

    :param model: the model asked for.
    :param params: its ``input_params``, valid against the model's schema.
    :param webhook_url: where to send the notices; ``None`` for none (also when sent as ``""``).
    """

    model: ModelSpec
    params: Params
    webhook_url: str | None


def check_create(raw: bytes) -> CreateRequest | Response:
    """The create ``raw`` asks for, or the ``400`` the API answers to it.

    :param raw: the request's body.
    """
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return json_response(400, {"detail": f"JSON parse error - {exc}"})
    if not isinstance(data, dict):
        kind = type(data).__name__
        return json_response(
            400, {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]}
        )
    errors: dict[str, list[str]] = {}
    model_name = data.get("model_name")
    if model_name is None:
        errors["model_name"] = ["This field is required."]
    elif not isinstance(model_name, str):
        errors["model_name"] = ["Not a valid string."]
    params = data.get("input_params")
    if params is None:
        errors["input_params"] = ["This field is required."]
    elif not isinstance(params, dict):
        errors["input_params"] = [f'Expected a dictionary of items but got type "{type(params).__name__}".']
    webhook_url = data.get("webhook_url")
    if webhook_url == "":
        webhook_url = None
    if webhook_url is not None:
        if not isinstance(webhook_url, str):
            errors["webhook_url"] = ["Not a valid string."]
        elif len(webhook_url) > MAX_WEBHOOK_URL:
            errors["webhook_url"] = [f"Ensure this field has no more than {MAX_WEBHOOK_URL} characters."]
        elif not _valid_http_url(webhook_url):
            errors["webhook_url"] = ["Enter a valid URL."]
    if errors:
        return json_response(400, errors)
    assert isinstance(model_name, str) and isinstance(params, dict)
    model = MODELS.get(model_name)
    if model is None:
        return json_response(400, ["AI model not found"])  # the live body: a bare list
    messages = validation_errors(model_name, params)
    if messages:
        return json_response(400, {"input_params": messages})
    return CreateRequest(model=model, params=params, webhook_url=webhook_url)


def _valid_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


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
