"""The emulated endpoints: schemas, auth, validation, generation lifecycle and object, timing, force_status,
reset."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

import jsonschema
import pytest
import requests

from airflow_provider_creatify.sandbox import CreatifySandbox, SandboxSettings
from airflow_provider_creatify.sandbox.catalogue import MODELS

ALL_MODELS = {
    "kling-video/v1.6/pro/image-to-video",
    "kling-video/v2.6/pro/image-to-video",
    "flux-pro/kontext/text-to-image",
    "nano-banana",
    "nano-banana/edit",
    "veo3.1/fast",
    "veo3.1",
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
        assert {"$schema", "type", "required", "properties"} <= schema.keys()
        assert set(schema["required"]) <= set(schema["properties"])
        assert all("type" in prop for prop in schema["properties"].values())
        jsonschema.validators.validator_for(schema).check_schema(schema)
    types = {e["model_name"]: e["generation_type"] for e in entries}
    assert set(types.values()) == {
        "text_to_image",
        "image_to_image",
        "image_to_video",
        "text_to_video",
        "text_to_audio",
    }
    kling = next(e for e in entries if e["model_name"] == api.KLING)
    assert kling["generation_type"] == "image_to_video"
    assert kling["input_params_schema"]["required"] == ["prompt", "image_url"]
    assert list(kling["input_params_schema"]["properties"]) == [
        "prompt",
        "image_url",
        "duration",
        "cfg_scale",
        "aspect_ratio",
        "negative_prompt",
    ]
    assert kling["input_params_schema"]["properties"]["duration"]["enum"] == ["5", "10"]


def test_catalogue_refreshed(api):
    schemas = {e["model_name"]: e for e in api.get(api.SCHEMAS).json()}
    nano, edit = schemas["nano-banana"], schemas["nano-banana/edit"]
    assert nano["generation_type"] == "text_to_image"
    assert nano["input_params_schema"]["required"] == ["prompt"]
    assert "image_urls" not in nano["input_params_schema"]["properties"]
    assert edit["generation_type"] == "image_to_image"
    assert edit["input_params_schema"]["required"] == ["prompt", "image_urls"]
    veo = schemas["veo3.1/fast"]["input_params_schema"]["properties"]
    assert (veo["duration"]["enum"], veo["duration"]["default"]) == (["4s", "6s", "8s"], "8s")
    kling26 = schemas["kling-video/v2.6/pro/image-to-video"]
    assert kling26["generation_type"] == "image_to_video"
    assert kling26["input_params_schema"]["required"] == ["prompt", "image_url"]
    audio = [name for name, e in schemas.items() if e["generation_type"] == "text_to_audio"]
    assert [MODELS[name].asset_type for name in audio] == ["audio"]
    assert "flux-pro/kontext/text-to-image" in schemas


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
    calls = [
        ("GET", "/api/asset_generator/schemas/"),
        ("POST", "/api/asset_generator/"),
        ("GET", gen_path),
        ("GET", f"/api/asset_generator/?ids={uuid.uuid4()}"),
        ("GET", "/api/asset_generator/"),
        ("GET", "/api/remaining_credits/"),
    ]
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


def test_unknown_model_is_a_bare_list(sandbox, api):
    r = api.post(api.CREATE, json={"model_name": "no-such-model", "input_params": {"prompt": "x"}})
    assert r.status_code == 400
    assert r.json() == ["AI model not found"]  # the live body
    assert sandbox.generations == {}
    # a missing field is still an object keyed by field, even with an unknown model
    r = api.post(api.CREATE, json={"model_name": "no-such-model"})
    assert r.json() == {"input_params": ["This field is required."]}


def test_create_answers_201(api):
    r = api.post(api.CREATE, json={"model_name": "nano-banana", "input_params": {"prompt": "x"}})
    assert r.status_code == 201
    assert r.json()["status"] == "initializing"


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
    r = api.post(api.CREATE, json={"model_name": "nano-banana/edit", "input_params": bad_url})
    assert r.json()["input_params"] == ["image_urls.1: 'nope' is not a 'uri'"]
    r = api.post(api.CREATE, json={"model_name": "nano-banana/edit", "input_params": {"prompt": "x"}})
    assert r.json()["input_params"] == ["'image_urls' is a required property"]
    r = api.post(
        api.CREATE, json={"model_name": "nano-banana", "input_params": bad_url}
    )  # edit is its own model
    assert r.json()["input_params"][0].startswith("Additional properties are not allowed ('image_urls'")


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
    assert api.post(api.CREATE, json=body).status_code == 201


def test_unknown_generation(api):
    for gen_id in (str(uuid.uuid4()), "not-a-uuid"):
        r = api.get(api.detail_path(gen_id))
        assert r.status_code == 404
        assert r.json() == {"detail": "Not found."}


def test_method_not_allowed_and_trailing_slash(api):
    r = api.session.put(api.base_url + api.CREATE, timeout=5)
    assert (r.status_code, r.headers["allow"]) == (405, "GET, POST, HEAD, OPTIONS")
    assert api.post(api.CREDITS).status_code == 405
    assert api.post(api.SCHEMAS).status_code == 405
    r = api.get("/api/remaining_credits", allow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (301, "/api/remaining_credits/")
    r = api.get("/api/asset_generator/schemas", allow_redirects=False)
    assert r.status_code == 301
    assert r.headers["location"] == "/api/asset_generator/schemas/"
    assert api.get("/api/unknown/").status_code == 404


def test_status_progression(sandbox, api):
    created = api.create(model=api.KLING, image_url="https://example.com/a.jpg", duration="10")
    assert created["status"] == "initializing"
    assert created["assets"] == []
    assert created["failed_reason"] == ""
    assert (created["credits_used"], created["output_nums"]) == ("0", -1)
    assert uuid.UUID(created["id"]).version == 4
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
    assert len(final["assets"]) == 1
    created_at = datetime.fromisoformat(final["created_at"])
    assert created_at.tzinfo is not None
    assert datetime.fromisoformat(final["updated_at"]) > created_at
    assert sandbox.generations[created["id"]]["status"] == "done"


@pytest.mark.parametrize(
    ("model", "params", "expected"),
    [
        (
            "kling-video/v1.6/pro/image-to-video",
            {"image_url": "https://e.x/a.jpg", "duration": "10", "aspect_ratio": "9:16"},
            {"gen_type": "video", "duration": 10, "resolution": "1080x1920", "aspect_ratio": "9:16"},
        ),
        (
            "veo3.1/fast",
            {"duration": "6s", "resolution": "1080p"},
            {"gen_type": "video", "duration": 6, "resolution": "1920x1080", "aspect_ratio": "16:9"},
        ),
        (
            "veo3.1/fast",
            {"aspect_ratio": "9:16"},
            {"gen_type": "video", "duration": 8, "resolution": "720x1280", "aspect_ratio": "9:16"},
        ),
        (
            "nano-banana",
            {"num_images": 2},
            {"gen_type": "image", "duration": 0, "resolution": "1024x1024", "aspect_ratio": "1:1"},
        ),
        (
            "flux-pro/kontext/text-to-image",
            {"aspect_ratio": "16:9"},
            {"gen_type": "image", "duration": 0, "resolution": "1824x1024", "aspect_ratio": "16:9"},
        ),
        (
            "elevenlabs/sound-effects",
            {"text": "a door slams", "duration_seconds": 2.5},
            {"gen_type": "audio", "duration": 3, "resolution": "", "aspect_ratio": ""},
        ),
    ],
    ids=["kling", "veo-1080p", "veo-portrait", "nano", "flux", "audio"],
)
def test_generation_object(sandbox, api, model, params, expected):
    if "text" not in params:
        params = {"prompt": "x", **params}
    body = {"model_name": model, "input_params": params, "webhook_url": "https://hooks.example.com/x"}
    r = api.post(api.CREATE, json=body)
    assert r.status_code == 201
    created = r.json()
    assert {k: created[k] for k in expected} == expected
    assert (created["credits_used"], created["output_nums"], created["assets"]) == ("0", -1, [])
    assert (created["input_params"], created["webhook_url"]) == (params, body["webhook_url"])
    assert created["failed_reason"] == ""
    assert isinstance(created["duration"], int)
    sandbox.force_status(created["id"], "done")
    final = api.status(created["id"])
    assert {k: final[k] for k in expected} == expected
    outputs = params.get("num_images", 1)
    assert final["output_nums"] == outputs == len(final["assets"])
    assert {a["type"] for a in final["assets"]} == {expected["gen_type"]}
    assert isinstance(final["credits_used"], str)
    assert float(final["credits_used"]) == MODELS[model].price(params) > 0


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


def test_settings_seconds_for_precedence():
    assert SandboxSettings().generation_seconds is None
    assert SandboxSettings().time_scale == 0.05
    assert SandboxSettings(time_scale=0.5).seconds_for(360) == 180
    assert SandboxSettings(time_scale=1).seconds_for(6) == 6  # real pacing
    assert SandboxSettings(generation_seconds=2, time_scale=1).seconds_for(360) == 2  # the override wins
    assert SandboxSettings(generation_seconds=-1).seconds_for(6) == 0
    assert SandboxSettings(time_scale=-1).seconds_for(6) == 0


def test_typical_times_in_real_order():
    seconds = {name: m.typical_seconds for name, m in MODELS.items()}
    assert 5 <= seconds["flux-pro/kontext/text-to-image"] <= seconds["nano-banana"] <= 10
    assert 60 <= seconds["veo3.1/fast"] <= 120
    assert seconds["kling-video/v1.6/pro/image-to-video"] == 360
    assert 10 <= seconds["elevenlabs/sound-effects"] <= 20


def test_time_scale_paces_each_model(sandbox, api):
    sandbox.settings.generation_seconds = None  # the fixture's override off: each model's own time
    sandbox.settings.time_scale = 0.02  # flux 0.12 s, Kling v1.6 7.2 s
    video = api.create(model=api.KLING, image_url="https://example.com/a.jpg")
    image = api.create(model=api.FLUX)
    assert api.wait_final(image["id"], timeout=3)["status"] == "done"
    assert api.status(video["id"])["status"] in ("initializing", "generating")
    sandbox.settings.generation_seconds = 0.05  # set again: it overrides the model's time
    slow_model = api.create(model=api.KLING, image_url="https://example.com/a.jpg")
    assert api.wait_final(slow_model["id"], timeout=3)["status"] == "done"


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
