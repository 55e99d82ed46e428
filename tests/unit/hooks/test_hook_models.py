"""The schemas endpoint in the shapes a Django REST API may give it: pages, schemas as text, odd schemas."""

from __future__ import annotations

import json

import pytest

from airflow_provider_creatify.exceptions import CreatifyAPIError, CreatifyValidationError
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.sandbox import FaultRule
from airflow_provider_creatify.sandbox.catalogue import MODELS
from tests.helpers import FLUX, SCHEMAS_PATH


@pytest.mark.parametrize(
    "dialect",
    [{"schema_page_size": 3}, {"schemas_as_text": True}, {"schema_page_size": 2, "schemas_as_text": True}],
    ids=["pages", "text", "pages-of-text"],
)
def test_every_model_is_read_and_validated_whatever_the_shape(creatify_conn, dialect):
    for name, value in dialect.items():
        setattr(creatify_conn.settings, name, value)
    hook = CreatifyHook()
    assert sorted(m["model_name"] for m in hook.list_models()) == sorted(MODELS)
    assert all(isinstance(m["input_params_schema"], dict) for m in hook.list_models())
    (flux,) = CreatifyHook().describe_models([FLUX])
    assert any(field["name"] == "prompt" and field["required"] for field in flux["fields"])
    hook.validate_input(FLUX, {"prompt": "a fox"})
    with pytest.raises(CreatifyValidationError, match="prompt"):
        CreatifyHook().validate_input(FLUX, {})


@pytest.mark.parametrize(
    "schema", ['"[1, 2]"', "[1, 2]", '"not json"', "7"], ids=["text-list", "list", "text", "7"]
)
def test_a_schema_that_is_not_an_object_is_a_clear_error_not_a_type_error(creatify_conn, schema):
    body = f'[{{"model_name": "odd", "generation_type": "x", "input_params_schema": {schema}}}]'
    creatify_conn.add_fault(FaultRule(method="GET", path=SCHEMAS_PATH, body=body.encode()))
    with pytest.raises(CreatifyAPIError, match="input_params_schema of model 'odd' is not a JSON object"):
        CreatifyHook().validate_input("odd", {"prompt": "x"})


def test_a_next_page_off_the_base_url_is_not_followed(creatify_conn):
    page = {
        "count": 9,
        "next": "https://elsewhere.example/api/asset_generator/schemas/?page=2",
        "results": [],
    }
    creatify_conn.add_fault(FaultRule(method="GET", path=SCHEMAS_PATH, body=json.dumps(page).encode()))
    with pytest.raises(
        CreatifyAPIError, match=r"https://elsewhere\.example/api/asset_generator/schemas/'.*Not followed"
    ):
        CreatifyHook().list_models()
    assert creatify_conn.count("GET", SCHEMAS_PATH) == 1
