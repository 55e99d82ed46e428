"""The API's other shapes the sandbox plays on request (``SandboxSettings``), as raw HTTP answers."""

from __future__ import annotations

import pytest


def test_create_answers_id_only(sandbox, api):
    sandbox.settings.create_answers_id_only = True
    r = api.post(api.CREATE, json={"model_name": api.FLUX, "input_params": {"prompt": "a fox"}})
    assert r.status_code == 201
    (gen_id,) = sandbox.generations
    assert r.json() == {"id": gen_id}
    assert api.wait_final(gen_id)["status"] == "done"  # the generation itself is whole


def test_assets_as_strings_keep_the_same_urls(sandbox, api):
    gen_id = api.create(num_images=2)["id"]
    objects = api.wait_final(gen_id)["assets"]
    sandbox.settings.assets_as_strings = True
    urls = [asset["url"] for asset in objects]
    assert len(urls) == 2 and all(isinstance(url, str) for url in urls)
    assert api.status(gen_id)["assets"] == urls
    assert api.get(api.LIST, params={"ids": gen_id}).json()[0]["assets"] == urls
    assert api.get(api.LIST).json()[0]["assets"] == urls
    assert api.get(urls[0].removeprefix(api.base_url)).status_code == 200


def test_forbidden_reason_refuses_creates_and_charges_nothing(sandbox, api):
    reason = "Your plan does not include this model."
    sandbox.settings.forbidden_reason = reason
    before = api.credits()
    r = api.post(api.CREATE, json={"model_name": api.FLUX, "input_params": {"prompt": "a fox"}})
    assert (r.status_code, r.json()) == (403, {"detail": reason})
    assert sandbox.generations == {} and api.credits() == before
    api.session.headers["X-API-KEY"] = "wrong"  # the credentials are still checked first
    r = api.post(api.CREATE, json={"model_name": api.FLUX, "input_params": {"prompt": "a fox"}})
    assert (r.status_code, r.json()) == (401, {"detail": "Invalid API credentials."})


@pytest.mark.parametrize(
    ("status", "content_type", "body"),
    [
        (404, "application/json", {"detail": "Not found."}),
        (500, "application/json", {"detail": "A server error occurred."}),
        (503, "application/json", {"detail": "A server error occurred."}),
        (502, "text/html", None),
    ],
)
def test_list_status_answers_the_list_only(sandbox, api, status, content_type, body):
    gen_id = api.create()["id"]
    sandbox.settings.list_status = status
    for params in ({"ids": gen_id}, {}, {"limit": "5"}):
        r = api.get(api.LIST, params=params)
        assert (r.status_code, r.headers["content-type"]) == (status, content_type)
        if body is None:
            assert "<html>" in r.text and "502" in r.text
        else:
            assert r.json() == body
    assert api.status(gen_id)["id"] == gen_id  # one generation is read as ever
    assert api.get(api.SCHEMAS).status_code == 200
    assert api.post(api.CREATE, json={"model_name": api.FLUX, "input_params": {"prompt": "b"}}).ok
