"""Describing and validating a model's ``input_params`` against its JSON Schema (from the schemas endpoint).

jsonschema and referencing are imported where a schema is checked: DAG files import this module on
every parse.

Internal: not a supported import; it may change in any release.
"""

from __future__ import annotations

import functools
import json
import math
import reprlib
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_creatify.exceptions import CreatifyValidationError

#: Validation problems named in one error message (the most relevant first).
MAX_PROBLEMS = 5
#: The longest ``webhook_url`` Creatify accepts.
MAX_WEBHOOK_URL_LENGTH = 200
#: How deep lists and dicts may nest in ``input_params``; deeper (or a list that contains itself) is refused.
MAX_DEPTH = 100


def require_object(model_name: str, input_params: Any) -> None:
    """Refuse ``input_params`` that is not a JSON object: a dict with string keys whose values, at any
    depth, are strings, ints, finite floats, bools, ``None``, lists (or tuples: sent as lists) and such dicts.

    :raises CreatifyValidationError: naming the model and the type received, or the first field that is
        not JSON (a dotted path, e.g. ``frames.2.weight``).
    """
    if not isinstance(input_params, dict):
        raise CreatifyValidationError(
            f"input_params for Creatify model {model_name!r} must be a dict (a JSON object), "
            f"got {type(input_params).__name__}.",
            model_name=model_name,
        )
    problem = _not_json(input_params, "", 0)
    if problem is not None:
        field, what = problem
        raise CreatifyValidationError(
            f"input_params for Creatify model {model_name!r} are not JSON: field {field!r} {what}. Pass only "
            "strings, numbers, booleans, None, lists and dicts with string keys (e.g. a datetime as its "
            ".isoformat() string). Nothing was created.",
            model_name=model_name,
            field=field,
        )


def _not_json(value: Any, path: str, depth: int) -> tuple[str, str] | None:
    """The first place where ``value`` is not JSON, as ``(dotted path, what is wrong)``; ``None`` if it is.

    A key that is not a string is refused, not coerced as ``json.dumps`` would (``{1: x}`` would be sent as
    ``{"1": x}``, validated as another object than the one sent, and may collide with a key ``"1"``).
    """
    if value is None or isinstance(value, (str, int)):  # bool is an int
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, f"is {value!r}: JSON has no NaN or infinity")
    if not isinstance(value, (dict, list, tuple)):
        return path, f"is of type {type(value).__name__}, not a JSON value"
    if depth >= MAX_DEPTH:
        return path, f"nests deeper than {MAX_DEPTH} lists and dicts (or contains itself)"
    for key, item in value.items() if isinstance(value, dict) else enumerate(value):
        if not isinstance(key, str) and isinstance(value, dict):
            where = path or "input_params"
            return where, f"has a key that is not a string: {reprlib.repr(key)} ({type(key).__name__})"
        problem = _not_json(item, f"{path}.{key}" if path else str(key), depth + 1)
        if problem is not None:
            return problem
    return None


def validate_input(model_name: str, schema: dict[str, Any], input_params: Any) -> None:
    """Check ``input_params`` against the model's ``input_params_schema``; nothing is sent.

    The schema's ``$ref`` are resolved inside it only (``#/$defs/...``): it comes from the network, so a
    remote ``$ref`` (``https://``, ``file://``) is never fetched but refused.

    :param schema: the model's JSON Schema (draft from its ``$schema``, else 2020-12; formats checked).
    :raises CreatifyValidationError: naming the model, the offending fields and the fields it takes; or
        naming a ``$ref`` of the schema that is not inside it.
    """
    require_object(model_name, input_params)
    from jsonschema.exceptions import SchemaError, relevance
    from referencing.exceptions import PointerToNowhere, Unresolvable

    try:
        validator = _validator(json.dumps(schema, sort_keys=True, default=str))
    except SchemaError as err:  # the API's schema is data: a broken one is said, not a crash
        raise CreatifyValidationError(
            f"The schema Creatify gives for model {model_name!r} is not a valid JSON Schema "
            f"({err.message[:200]}), so input_params cannot be checked. Nothing was created. Set "
            "validate_input=False to create without this check.",
            model_name=model_name,
        ) from None
    try:
        errors = sorted(validator.iter_errors(input_params), key=relevance)
    except Unresolvable as err:
        # jsonschema wraps referencing's error: name the ref of the original
        unresolved = err.__context__ if isinstance(err.__context__, Unresolvable) else err
        ref = f"#{unresolved.ref}" if isinstance(unresolved, PointerToNowhere) else unresolved.ref
        raise CreatifyValidationError(
            f"The schema Creatify gives for model {model_name!r} refers to {_without_query(ref)!r} ($ref), "
            "which is not in the schema (references outside it are not fetched), so input_params cannot be "
            "checked. Nothing was created. Set validate_input=False to create without this check.",
            model_name=model_name,
        ) from None
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


@functools.lru_cache(maxsize=64)
def _validator(schema_text: str) -> Any:
    """A validator of the schema given as JSON text, the schema checked once per process.

    Checking a schema against its draft's meta-schema costs about 3 ms: a batch of 10,000 items of one
    model pays it once, not 10,000 times.

    :raises SchemaError: the schema is not a valid JSON Schema (not cached: said again each time).
    """
    from jsonschema import validators
    from referencing import Registry

    schema = json.loads(schema_text)
    validator_cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    validator_cls.check_schema(schema)
    return validator_cls(schema, registry=Registry(), format_checker=validator_cls.FORMAT_CHECKER)


def _without_query(ref: str) -> str:
    """``ref`` up to its query string (a signed URL's signature kept out), at most 200 characters."""
    return ref.partition("?")[0][:200]


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
