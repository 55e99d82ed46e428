"""Describing and validating a model's ``input_params`` against its JSON Schema (from the schemas endpoint).

jsonschema is imported inside :func:`validate_input` only: DAG files import this module on every parse.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from airflow_provider_creatify.exceptions import CreatifyValidationError

#: Validation problems named in one error message (the most relevant first).
MAX_PROBLEMS = 5
#: The longest ``webhook_url`` Creatify accepts.
MAX_WEBHOOK_URL_LENGTH = 200


def require_object(model_name: str, input_params: Any) -> None:
    """Refuse ``input_params`` that is not a dict (a JSON object).

    :raises CreatifyValidationError: naming the model and the type received.
    """
    if not isinstance(input_params, dict):
        raise CreatifyValidationError(
            f"input_params for Creatify model {model_name!r} must be a dict (a JSON object), "
            f"got {type(input_params).__name__}.",
            model_name=model_name,
        )


def validate_input(model_name: str, schema: dict[str, Any], input_params: Any) -> None:
    """Check ``input_params`` against the model's ``input_params_schema``; nothing is sent.

    :param schema: the model's JSON Schema (draft from its ``$schema``, else 2020-12; formats checked).
    :raises CreatifyValidationError: naming the model, the offending fields and the fields it takes.
    """
    require_object(model_name, input_params)
    from jsonschema import validators
    from jsonschema.exceptions import relevance

    validator_cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    validator = validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(input_params), key=relevance)
    if not errors:
        return
    problems = []
    for error in errors[:MAX_PROBLEMS]:
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            path = next((f for f in error.validator_value if f not in error.instance), path)
        problems.append((path or "input_params", error.message))
    allowed = ", ".join(sorted(schema.get("properties", {}))) or "see the model's schema"
    raise CreatifyValidationError(
        f"input_params for Creatify model {model_name!r} are invalid: "
        + "; ".join(f"field {field!r}: {message}" for field, message in problems)
        + f". Fields this model takes: {allowed}. Nothing was created.",
        model_name=model_name,
        field=problems[0][0],
    )


def validate_webhook_url(model_name: str, webhook_url: Any) -> None:
    """Refuse a ``webhook_url`` that is not an http(s) URL of at most 200 characters.

    :raises CreatifyValidationError: naming the model and the field.
    """
    parts = urlsplit(webhook_url) if isinstance(webhook_url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise CreatifyValidationError(
            f"webhook_url for Creatify model {model_name!r} must be an http(s) URL, got {webhook_url!r}.",
            model_name=model_name,
            field="webhook_url",
        )
    if len(webhook_url) > MAX_WEBHOOK_URL_LENGTH:
        raise CreatifyValidationError(
            f"webhook_url for Creatify model {model_name!r} is {len(webhook_url)} characters long; "
            f"Creatify accepts at most {MAX_WEBHOOK_URL_LENGTH}.",
            model_name=model_name,
            field="webhook_url",
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
