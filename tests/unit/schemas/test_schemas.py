"""Describing and validating input_params: input fields from odd schemas, validation errors that name
the model and the field (through CreatifyHook.validate_input, with the schema from the sandbox), values
that are not JSON, and a schema's $ref: resolved inside the schema, never fetched."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_creatify.exceptions import CreatifyValidationError
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.schemas import input_fields, require_object, validate_input
from tests.helpers import KLING, KLING_PARAMS, POST_PATH, LoopbackServer, Request


def test_input_fields_tolerates_odd_schemas():
    schema = {
        "required": ["b", "ghost"],
        "properties": {
            "a": {"type": ["string", "null"], "description": "A."},
            "b": {"enum": [1, 2], "default": 2},
        },
    }
    nothing = {"enum": None, "default": None, "description": None}
    assert input_fields(schema) == [
        {"name": "b", "required": True, "type": "", "enum": [1, 2], "default": 2, "description": None},
        {"name": "ghost", "required": True, "type": "", **nothing},
        {"name": "a", "required": False, "type": "string|null", **nothing, "description": "A."},
    ]
    assert input_fields(None) == [] and input_fields({"properties": "nonsense"}) == []


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({k: v for k, v in KLING_PARAMS.items() if k != "image_url"}, "image_url", "required property"),
        ({**KLING_PARAMS, "cfg_scale": "high"}, "cfg_scale", "not of type 'number'"),
        ({**KLING_PARAMS, "duration": "7"}, "duration", "is not one of"),
    ],
)
def test_validate_input_names_model_and_field(creatify_conn, params, field, fragment):
    with pytest.raises(CreatifyValidationError) as err:
        CreatifyHook().validate_input(KLING, params)
    message = str(err.value)
    assert KLING in message and repr(field) in message and fragment in message
    assert err.value.field == field
    assert creatify_conn.count("POST", POST_PATH) == 0


def test_validate_input_refuses_a_non_dict(creatify_conn):
    with pytest.raises(CreatifyValidationError, match="must be a dict"):
        CreatifyHook().validate_input(KLING, '{"prompt": "x"}')


def test_validate_input_accepts_valid_params(creatify_conn):
    CreatifyHook().validate_input(KLING, KLING_PARAMS)


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({"frames": [{}, {}, {"weight": float("nan")}]}, "frames.2.weight", "is nan: JSON has no NaN"),
        ({"cfg_scale": float("-inf")}, "cfg_scale", "is -inf"),
        ({"at": datetime.datetime(2025, 1, 1)}, "at", "is of type datetime"),
        ({"image": {"data": b"\x89PNG"}}, "image.data", "is of type bytes"),
        ({"tags": {"fox"}}, "tags", "is of type set"),
        ({"obj": object()}, "obj", "is of type object"),
        ({"by_id": {1: "a", "1": "b"}}, "by_id", "has a key that is not a string: 1 (int)"),
        ({None: "a"}, "input_params", "has a key that is not a string: None (NoneType)"),
    ],
)
def test_values_that_are_not_json_are_refused(params, field, fragment):
    for check in (require_object, lambda model, p: validate_input(model, {}, p)):
        with pytest.raises(CreatifyValidationError) as err:
            check("m", params)
        message = str(err.value)
        assert err.value.field == field and err.value.model_name == "m"
        assert f"'m' are not JSON: field {field!r} {fragment}" in message and "Nothing was created" in message


def test_a_list_that_contains_itself_is_refused():
    loop: list = []
    loop.append(loop)
    with pytest.raises(CreatifyValidationError, match="nests deeper than 100 lists and dicts") as err:
        require_object("m", {"loop": loop})
    assert err.value.field is not None and err.value.field.startswith("loop.0.0.0")


def test_json_values_pass():
    require_object("m", {"a": (1, 2.5, None, True), "b": {"c": ["x", {"d": -0.0}]}, "e": "", "f": {}})


@pytest.fixture
def schema_server() -> Iterator[tuple[str, list[Request]]]:
    """A loopback HTTP server answering any GET with a schema; yields its origin and the requests made."""
    with LoopbackServer(
        lambda *_: (200, {"Content-Type": "application/json"}, b'{"type": "string"}')
    ) as server:
        yield server.url, server.seen


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative-to-id"])
def test_a_remote_ref_is_reported_not_fetched(schema_server, relative):
    origin, seen = schema_server
    ref = "prompt.json?signature=s3cr3t" if relative else f"{origin}/prompt.json?signature=s3cr3t"
    schema: dict[str, Any] = {"properties": {"prompt": {"$ref": ref}}}
    if relative:
        schema["$id"] = f"{origin}/root.json"
    with pytest.raises(CreatifyValidationError) as err:
        validate_input("m", schema, {"prompt": "a red fox"})
    message = str(err.value)
    assert seen == []
    assert f"model 'm' refers to {ref.partition('?')[0]!r} ($ref)" in message and "s3cr3t" not in message
    assert "not fetched" in message and "Nothing was created" in message and "validate_input=False" in message
    assert err.value.model_name == "m"


def test_a_file_ref_is_reported_not_read(tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"enum": ["TOP-SECRET-LINE"]}))
    schema = {"properties": {"prompt": {"$ref": secret.as_uri()}}}
    with pytest.raises(CreatifyValidationError) as err:
        validate_input("m", schema, {"prompt": "a red fox"})
    message = str(err.value)
    assert f"refers to {secret.as_uri()!r}" in message and "TOP-SECRET" not in message


def test_a_ref_to_nowhere_in_the_schema_is_reported():
    schema = {"properties": {"ratio": {"$ref": "#/$defs/missing"}}, "$defs": {"ratio": {"enum": ["1:1"]}}}
    with pytest.raises(CreatifyValidationError, match="refers to '#/\\$defs/missing' \\(\\$ref\\)"):
        validate_input("m", schema, {"ratio": "1:1"})


RATIO = {"enum": ["1:1", "16:9"]}
SELF = "https://api.creatify.ai/schemas/m.json"


@pytest.mark.parametrize(
    "schema",
    [
        {"$defs": {"ratio": RATIO}, "properties": {"ratio": {"$ref": "#/$defs/ratio"}}},
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "definitions": {"ratio": RATIO},
            "properties": {"ratio": {"$ref": "#/definitions/ratio"}},
        },
        {"$id": SELF, "$defs": {"ratio": RATIO}, "properties": {"ratio": {"$ref": f"{SELF}#/$defs/ratio"}}},
    ],
    ids=["defs", "draft7-definitions", "own-id"],
)
def test_local_refs_resolve(schema):
    validate_input("m", schema, {"ratio": "16:9"})
    with pytest.raises(CreatifyValidationError) as err:
        validate_input("m", schema, {"ratio": "2:1"})
    assert err.value.field == "ratio" and "is not one of ['1:1', '16:9']" in str(err.value)


@pytest.mark.parametrize("schema", [{"type": 5}, {"properties": []}, {"required": "prompt"}])
def test_a_broken_schema_is_reported_not_a_crash(schema):
    with pytest.raises(
        CreatifyValidationError, match=r"model 'm' is not a valid JSON Schema .*validate_input=False"
    ):
        validate_input("m", schema, {"prompt": "a red fox"})
