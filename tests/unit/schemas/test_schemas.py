"""Describing and validating input_params: input fields from odd schemas, validation errors that name
the model and the field (through CreatifyHook.validate_input, with the schema from the sandbox)."""

from __future__ import annotations

import pytest

from airflow_provider_creatify.exceptions import CreatifyValidationError
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.schemas import input_fields
from tests.helpers import KLING, KLING_PARAMS, POST_PATH


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
