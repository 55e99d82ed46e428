"""The emulated endpoints: schemas, auth, validation, generation lifecycle, force_status, reset."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

import jsonschema
import pytest
import requests

from airflow_provider_creatify.sandbox import CreatifySandbox

ALL_MODELS = {
    "kling-video/v1.6/pro/image-to-video",
    "flux-pro/kontext/text-to-image",
    "nano-banana",
    "veo3.1/fast",
    "elevenlabs/sound-effects",
}


def test_schema_listing(api):
    response = api.get(api.SCHEMAS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    entries = response.json()
    assert isinstance(entries, list)
    assert {e["model_name"] for e in entries} == ALL_MODELS
    for entry in entries:
        schema = entry["input_params_schema"]
        assert entry["generation_type"] in {
            "text_to_image",
            "image_to_video",
            "text_to_video",
            "text_to_audio",
        }
        assert {"$schema", "type", "required", "properties"} <= schema.keys()
        assert set(schema["required"]) <= set(schema["properties"])
        jsonschema.validators.validator_for(schema).check_schema(schema)
    kling = next(e for e in entries if e["model_name"] == api.KLING)
    assert kling["generation_type"] == "image_to_video"
    assert kling["input_params_schema"]["required"] == ["prompt", "image_url"]
    assert kling["input_params_schema"]["properties"]["duration"]["enum"] == ["5", "10"]


def test_schema_filter(api):
    names = lambda r: [e["model_name"] for e in r.json()]  # noqa: E731
    assert names(api.get(api.SCHEMAS, params={"model_name": "nano-banana"})) == ["nano-banana"]
    both = api.get(api.SCHEMAS, params={"model_name": "veo3.1/fast,nano-banana,does-not-exist"})
    assert sorted(names(both)) == ["nano-banana", "veo3.1/fast"]
    assert names(api.get(api.SCHEMAS, params={"model_name": "nope"})) == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-ID": "sandbox-api-id"}, {"X-API-ID": "sandbox-api-id", "X-API-KEY": "wrong"}],
    ids=["none", "id-only", "bad-key"],
)
def test_auth_required_on_every_endpoint(sandbox, headers):
    gen_path = f"/api/asset_generator/{uuid.uuid4()}/"
    calls = [("GET", "/api/asset_generator/schemas/"), ("POST", "/api/asset_generator/"), ("GET", gen_path)]
    for method, path in calls:
        r = requests.request(
            method, sandbox.base_url + path, headers=headers, json={"model_name": "nano-banana"}, timeout=5
        )
        assert r.status_code == 401, (method, path)
        assert isinstance(r.json()["detail"], str)
    assert sandbox.generations == {}


def test_settings_are_live(sandbox, api):
    sandbox.settings.api_key = "rotated"
    assert api.get(api.SCHEMAS).status_code == 401
    api.session.headers["X-API-KEY"] = "rotated"
    assert api.get(api.SCHEMAS).status_code == 200
    assert sandbox.api_key == "rotated"


def test_unknown_model(api):
    r = api.post(api.CREATE, json={"model_name": "no-such-model", "input_params": {"prompt": "x"}})
    assert r.status_code == 400
    assert "model_name" in r.json()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"prompt": "x"}, "'image_url' is a required property"),
        ({"prompt": 3, "image_url": "https://e.x/a.jpg"}, "prompt: 3 is not of type 'string'"),
        ({"prompt": "x", "image_url": "https://e.x/a.jpg", "duration": "7"}, "duration: '7' is not one of"),
        ({"prompt": "x", "image_url": "https://e.x/a.jpg", "cfg_scale": 2}, "cfg_scale: 2 is greater than"),
        ({"prompt": "x", "image_url": "not a url"}, "image_url: 'not a url' is not a 'uri'"),
        ({"prompt": "x", "image_url": "https://e.x/a.jpg", "typo": 1}, "Additional properties"),
    ],
    ids=["required", "type", "enum", "range", "format", "additional"],
)
def test_input_params_validation(sandbox, api, params, expected):
    r = api.post(api.CREATE, json={"model_name": api.KLING, "input_params": params})
    assert r.status_code == 400
    messages = r.json()["input_params"]
    assert any(m.startswith(expected) for m in messages), messages
    assert sandbox.generations == {}


def test_draft_2020_12_schema_validation(api):
    r = api.post(
        api.CREATE, json={"model_name": "nano-banana", "input_params": {"prompt": "x", "num_images": 5}}
    )
    assert r.status_code == 400
    assert r.json()["input_params"] == ["num_images: 5 is greater than the maximum of 4"]
    bad_url = {"prompt": "x", "image_urls": ["https://ok.example/a.png", "nope"]}
    r = api.post(api.CREATE, json={"model_name": "nano-banana", "input_params": bad_url})
    assert r.json()["input_params"] == ["image_urls.1: 'nope' is not a 'uri'"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"input_params": {"prompt": "x"}}, "model_name"),
        ({"model_name": "nano-banana"}, "input_params"),
        ({"model_name": "nano-banana", "input_params": "prompt=x"}, "input_params"),
        ({"model_name": "nano-banana", "input_params": {"prompt": "x"}, "webhook_url": 5}, "webhook_url"),
        (
            {"model_name": "nano-banana", "input_params": {"prompt": "x"}, "webhook_url": "ftp://x"},
            "webhook_url",
        ),
    ],
)
def test_body_validation(api, body, field):
    r = api.post(api.CREATE, json=body)
    assert r.status_code == 400
    assert isinstance(r.json()[field], list)


def test_non_json_body(api):
    r = api.post(api.CREATE, data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert "JSON parse error" in r.json()["detail"]
    assert api.post(api.CREATE, json=["a list"]).status_code == 400


def test_webhook_url_too_long(sandbox, api):
    url = "https://hooks.example.com/" + "a" * 175  # 201 characters
    body = {"model_name": "nano-banana", "input_params": {"prompt": "x"}, "webhook_url": url}
    r = api.post(api.CREATE, json=body)
    assert r.status_code == 400
    assert r.json() == {"webhook_url": ["Ensure this field has no more than 200 characters."]}
    body["webhook_url"] = url[:200]
    assert api.post(api.CREATE, json=body).status_code == 200


def test_unknown_generation(api):
    for gen_id in (str(uuid.uuid4()), "not-a-uuid"):
        r = api.get(api.detail_path(gen_id))
        assert r.status_code == 404
        assert r.json() == {"detail": "Not found."}


def test_method_not_allowed_and_trailing_slash(api):
    assert api.get(api.CREATE).status_code == 405
    r = api.get("/api/asset_generator/schemas", allow_redirects=False)
    assert r.status_code == 301
    assert r.headers["location"] == "/api/asset_generator/schemas/"
    assert api.get("/api/unknown/").status_code == 404


def test_status_progression(sandbox, api):
    created = api.create(model=api.KLING, image_url="https://example.com/a.jpg", duration="10")
    assert created["status"] == "initializing"
    assert created["assets"] == []
    assert created["failed_reason"] == ""
    assert uuid.UUID(created["id"]).version == 4
    assert created["gen_type"] == "image_to_video"
    assert created["input_params"]["duration"] == "10"
    seen = [created["status"]]
    deadline = time.monotonic() + 5
    while seen[-1] != "done" and time.monotonic() < deadline:
        status = api.status(created["id"])["status"]
        if status != seen[-1]:
            seen.append(status)
        time.sleep(0.01)
    assert seen == ["initializing", "generating", "done"]
    final = api.status(created["id"])
    assert final["credits_used"] == 24
    assert final["output_nums"] == 1
    assert final["duration"] == 10
    assert len(final["assets"]) == 1
    created_at = datetime.fromisoformat(final["created_at"])
    assert created_at.tzinfo is not None
    assert datetime.fromisoformat(final["updated_at"]) > created_at
    assert sandbox.generations[created["id"]]["status"] == "done"


def test_failed_by_prompt_marker(api):
    gen = api.create(prompt="please [sandbox:fail] now")
    final = api.wait_final(gen["id"])
    assert final["status"] == "failed"
    assert final["failed_reason"].startswith("Content moderation")
    assert final["assets"] == []


def test_failed_by_fail_rate(sandbox, api):
    sandbox.settings.fail_rate = 1.0
    sandbox.settings.failed_reason = "GPU on fire"
    final = api.wait_final(api.create(model="elevenlabs/sound-effects", text="boom")["id"])
    assert (final["status"], final["failed_reason"]) == ("failed", "GPU on fire")


def test_generation_seconds_change_applies_to_new_generations(sandbox, api):
    sandbox.settings.generation_seconds = 30
    slow = api.create()
    sandbox.settings.generation_seconds = 0.05
    fast = api.create()
    assert api.wait_final(fast["id"])["status"] == "done"
    assert api.status(slow["id"])["status"] in ("initializing", "generating")


def test_force_status(sandbox, api):
    stuck = api.create()
    sandbox.force_status(stuck["id"], "rejected")
    failed = api.create()
    sandbox.force_status(failed["id"], "failed", failed_reason="nope")
    done = api.create(num_images=2)
    sandbox.force_status(done["id"], "done")
    assert len(api.status(done["id"])["assets"]) == 2
    time.sleep(0.4)  # past generation_seconds
    assert api.status(stuck["id"])["status"] == "rejected"
    assert api.status(failed["id"])["failed_reason"] == "nope"
    with pytest.raises(KeyError):
        sandbox.force_status(str(uuid.uuid4()), "done")


def test_reset(sandbox, api):
    api.create()
    sandbox.reset()
    assert sandbox.generations == {}
    assert sandbox.requests == []
    assert sandbox.faults == []


def test_two_sandboxes_at_once(sandbox, api):
    with CreatifySandbox() as other:
        assert other.base_url != sandbox.base_url
        api.create()
        assert len(sandbox.generations) == 1
        assert other.generations == {}
        r = requests.get(other.base_url + api.SCHEMAS, headers=dict(api.session.headers), timeout=5)
        assert r.status_code == 200
        assert other.count() == 1


def test_connection_json(sandbox):
    import json

    conn = json.loads(sandbox.connection_json())
    assert conn == {
        "conn_type": "creatify",
        "login": "sandbox-api-id",
        "password": "sandbox-api-key",
        "host": sandbox.base_url,
    }
    assert sandbox.base_url.startswith("http://127.0.0.1:")
