"""CreatifyHook against the sandbox over real HTTP, and its connection parsing."""

from __future__ import annotations

import json
import time

import pytest
from airflow.sdk import Connection

from airflow_provider_creatify.exceptions import (
    CreatifyAPIError,
    CreatifyAuthError,
    CreatifyConfigError,
    CreatifyGenerationFailed,
    CreatifyNotFoundError,
    CreatifyTimeoutError,
    CreatifyValidationError,
)
from airflow_provider_creatify.hooks._connection import base_url_from_connection
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.sandbox import FaultRule
from tests.helpers import FLUX, KLING, KLING_PARAMS, POST_PATH, SCHEMAS_PATH


@pytest.mark.parametrize(
    ("host", "schema", "port", "expected"),
    [
        (None, None, None, "https://api.creatify.ai"),
        ("", "", None, "https://api.creatify.ai"),
        ("http://127.0.0.1:8765", None, None, "http://127.0.0.1:8765"),
        ("http://127.0.0.1:8765/", None, None, "http://127.0.0.1:8765"),
        ("127.0.0.1", "http", 8765, "http://127.0.0.1:8765"),
        ("api.example.com", None, None, "https://api.example.com"),
        ("http://localhost", None, 9000, "http://localhost:9000"),
    ],
)
def test_base_url_from_connection(host, schema, port, expected):
    conn = Connection(conn_id="c", conn_type="creatify", host=host, schema=schema, port=port)
    assert base_url_from_connection(conn) == expected


def test_base_url_rejects_nonsense():
    with pytest.raises(CreatifyConfigError, match=r"'c'.*not a valid base URL"):
        base_url_from_connection(Connection(conn_id="c", conn_type="creatify", host="ftp://x"))


def test_list_models_and_filter(creatify_conn):
    hook = CreatifyHook()
    models = hook.list_models()
    names = {m["model_name"] for m in models}
    assert {KLING, FLUX} <= names
    kling = next(m for m in models if m["model_name"] == KLING)
    assert kling["generation_type"] == "image_to_video"
    assert {"prompt", "image_url"} <= set(kling["input_params_schema"]["required"])
    assert [m["model_name"] for m in hook.list_models([KLING])] == [KLING]
    assert hook.get_input_schema(KLING) == kling["input_params_schema"]


def test_unknown_model_names_the_model_and_the_alternatives(creatify_conn):
    with pytest.raises(
        CreatifyValidationError, match=r"Unknown Creatify model 'no-such-model'.*kling"
    ) as err:
        CreatifyHook().validate_input("no-such-model", {"prompt": "x"})
    assert err.value.model_name == "no-such-model"


def test_create_read_and_wait(creatify_conn):
    hook = CreatifyHook()
    created = hook.create_generation(KLING, KLING_PARAMS)
    assert created.status == "initializing" and created.model_name == KLING
    assert hook.get_generation(created.id).id == created.id
    done = hook.wait_for_generation(created.id, poll_interval=0.2, deadline=time.time() + 30)
    assert done.is_done
    assert done.asset_urls and all(url.startswith(creatify_conn.base_url) for url in done.asset_urls)
    done.raise_for_status()
    assert creatify_conn.count("POST", POST_PATH) == 1


def test_one_session_per_hook(creatify_conn):
    hook = CreatifyHook()
    hook.list_models()
    hook.list_models()
    assert hook.session is hook.session
    assert hook.session.headers["X-API-ID"] == creatify_conn.api_id


def test_failed_generation_reports_reason_and_id(creatify_conn):
    hook = CreatifyHook()
    created = hook.create_generation(FLUX, {"prompt": "please fail [sandbox:fail]"})
    ended = hook.wait_for_generation(created.id, poll_interval=0.2, deadline=time.time() + 30)
    assert ended.is_failed
    with pytest.raises(CreatifyGenerationFailed) as err:
        ended.raise_for_status()
    assert created.id in str(err.value) and ended.failed_reason in str(err.value)
    assert err.value.failed_reason == ended.failed_reason


def test_wait_times_out_with_the_generation_id(creatify_conn):
    creatify_conn.settings.generation_seconds = 60
    hook = CreatifyHook()
    created = hook.create_generation(FLUX, {"prompt": "slow"})
    with pytest.raises(CreatifyTimeoutError, match=created.id) as err:
        hook.wait_for_generation(created.id, poll_interval=0.1, deadline=time.time() + 0.3)
    assert err.value.generation_id == created.id


def test_wrong_key_is_an_auth_error_without_the_key(creatify_sandbox, monkeypatch):
    secret = "wrong-but-secret-key-123"
    monkeypatch.setenv(
        "AIRFLOW_CONN_CREATIFY_DEFAULT",
        Connection(
            conn_id="creatify_default",
            conn_type="creatify",
            login="id",
            password=secret,
            host=creatify_sandbox.base_url,
        ).as_json(),
    )
    with pytest.raises(CreatifyAuthError, match=r"creatify_default.*API ID.*API key") as err:
        CreatifyHook().list_models()
    assert err.value.http_status == 401
    assert secret not in str(err.value) and secret not in err.value.body
    ok, message = CreatifyHook().test_connection()
    assert not ok and "401" in message and secret not in message
    # a test names no connection: the UI tests under a throw-away id of Airflow's
    assert "creatify_default" not in message and "rejected the credentials of the connection" in message


def test_test_connection_of_a_masked_key_says_so_without_calling_creatify(creatify_sandbox, monkeypatch):
    # Airflow 3.1's UI Test button sends the saved key as its mask (apache/airflow#61670)
    masked = json.loads(creatify_sandbox.connection_json()) | {"password": "***"}
    monkeypatch.setenv("AIRFLOW_CONN_CREATIFY_DEFAULT", json.dumps(masked))
    ok, message = CreatifyHook().test_connection()
    assert not ok and "Airflow's mask '***'" in message and "airflow connections test" in message
    assert creatify_sandbox.count() == 0


def test_test_connection_of_a_connection_without_a_key_names_no_connection(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_X8K2", json.dumps({"conn_type": "creatify", "login": "id"}))
    ok, message = CreatifyHook("x8k2").test_connection()
    assert not ok and "API key (password)" in message
    assert "x8k2" not in message.lower() and "AIRFLOW_CONN_<ID>" in message


def test_test_connection_ok(creatify_conn):
    ok, message = CreatifyHook().test_connection()
    assert ok and creatify_conn.base_url in message


def test_unknown_generation_is_not_found(creatify_conn):
    with pytest.raises(CreatifyNotFoundError, match="00000000-0000-0000-0000-000000000000"):
        CreatifyHook().get_generation("00000000-0000-0000-0000-000000000000")


def test_non_json_body_is_a_clear_api_error(creatify_conn):
    creatify_conn.add_fault(FaultRule(path=SCHEMAS_PATH, body=b'[{"model_na', rate=1.0))
    with pytest.raises(CreatifyAPIError, match="not valid JSON"):
        CreatifyHook().list_models()


@pytest.mark.parametrize(
    ("conn_kwargs", "missing"),
    [({"password": "k"}, "API ID"), ({"login": "i"}, "API key"), ({}, "API ID")],
)
def test_incomplete_connection_is_named(monkeypatch, conn_kwargs, missing):
    monkeypatch.setenv(
        "AIRFLOW_CONN_MY_CREATIFY",
        Connection(conn_id="my_creatify", conn_type="creatify", **conn_kwargs).as_json(),
    )
    with pytest.raises(CreatifyConfigError, match=f"'my_creatify' has no {missing}"):
        CreatifyHook("my_creatify").list_models()


def test_undefined_connection_is_named():
    with pytest.raises(CreatifyConfigError, match="'nowhere' is not defined"):
        CreatifyHook("nowhere").list_models()


def test_uri_form_connection(creatify_sandbox, monkeypatch):
    host_port = creatify_sandbox.base_url.removeprefix("http://")
    monkeypatch.setenv(
        "AIRFLOW_CONN_CREATIFY_DEFAULT",
        f"creatify://{creatify_sandbox.api_id}:{creatify_sandbox.api_key}@{host_port}/http",
    )
    assert CreatifyHook().credentials.base_url == creatify_sandbox.base_url
    assert CreatifyHook().list_models()


@pytest.mark.parametrize("url", ["not a url", "ftp://example.com/hook", "https://example.com/" + "x" * 200])
def test_bad_webhook_url_creates_nothing(creatify_conn, url):
    with pytest.raises(CreatifyValidationError, match="webhook_url"):
        CreatifyHook().create_generation(FLUX, {"prompt": "x"}, webhook_url=url)
    assert creatify_conn.count("POST", POST_PATH) == 0


def test_credentials_repr_hides_the_key(creatify_conn):
    assert creatify_conn.api_key not in repr(CreatifyHook().credentials)


def test_the_key_is_registered_with_the_secret_masker(creatify_conn):
    from airflow.sdk._shared.secrets_masker.secrets_masker import redact

    key = CreatifyHook().credentials.api_key
    assert key not in str(redact(f"the key is {key}"))
