"""``GET /api/asset_generator/``: many generations at once by ``ids``, or the account's newest."""

from __future__ import annotations

import uuid

from airflow_provider_creatify.sandbox import FaultRule
from tests.helpers import STATUS_PATH


def ids_of(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [g["id"] for g in response.json()]


def test_ids_in_the_order_asked(sandbox, api):
    a, b, c = (api.create()["id"] for _ in range(3))
    unknown = str(uuid.uuid4())
    asked = f"{c},{unknown},not-a-uuid,{a},{c}, {b} ,"
    r = api.get(api.LIST, params={"ids": asked})
    assert ids_of(r) == [c, a, b]  # unknown and malformed absent, duplicates once
    assert r.json()[0] == api.status(c)  # the same objects as the detail endpoint
    assert ids_of(api.get(api.LIST, params={"ids": unknown})) == []
    assert ids_of(api.get(api.LIST, params={"ids": ""})) == []
    assert sandbox.count("GET", api.LIST) == 3


def test_at_most_100_ids(sandbox, api):
    gen_id = api.create()["id"]
    hundred = [gen_id] + [str(uuid.uuid4()) for _ in range(99)]
    assert ids_of(api.get(api.LIST, params={"ids": ",".join(hundred)})) == [gen_id]
    r = api.get(api.LIST, params={"ids": ",".join([*hundred, str(uuid.uuid4())])})
    assert r.status_code == 400
    assert r.json() == ["At most 100 ids per request, got 101."]
    assert sandbox.count("GET", api.LIST, status=400) == 1


def test_without_ids_newest_first_and_bounded(sandbox, api):
    created = [api.create()["id"] for _ in range(105)]
    newest_first = created[::-1]
    assert ids_of(api.get(api.LIST)) == newest_first[:100]
    assert ids_of(api.get(api.LIST, params={"limit": "3"})) == newest_first[:3]
    for bad in ("0", "101", "x", "-1"):
        r = api.get(api.LIST, params={"limit": bad})
        assert r.status_code == 400
        assert r.json() == {"limit": ["Ensure this value is between 1 and 100."]}


def test_lists_statuses_as_they_are(sandbox, api):
    sandbox.settings.generation_seconds = 30
    running, failed = api.create(), api.create()
    sandbox.force_status(failed["id"], "failed", failed_reason="nope")
    r = api.get(api.LIST, params={"ids": f"{running['id']},{failed['id']}"})
    listed = {g["id"]: g for g in r.json()}
    assert (listed[running["id"]]["status"], listed[running["id"]]["credits_used"]) == ("initializing", "0")
    assert (listed[failed["id"]]["status"], listed[failed["id"]]["failed_reason"]) == ("failed", "nope")


def test_fault_rules_tell_the_list_from_one_generation(sandbox, api):
    gen_id = api.create()["id"]
    sandbox.add_fault(FaultRule(method="GET", path=api.LIST, status=503))
    assert api.get(api.LIST, params={"ids": gen_id}).status_code == 503
    assert api.get(api.LIST).status_code == 503
    assert api.get(api.detail_path(gen_id)).status_code == 200  # the detail path is not the list
    assert (
        api.post(api.CREATE, json={"model_name": "nano-banana", "input_params": {"prompt": "x"}}).status_code
        == 201
    )
    sandbox.clear_faults()
    sandbox.add_fault(FaultRule(method="GET", path=STATUS_PATH, status=429))
    assert api.get(api.detail_path(gen_id)).status_code == 429
    assert ids_of(api.get(api.LIST, params={"ids": gen_id})) == [gen_id]  # the list is not a detail path
    assert sandbox.count("GET", api.LIST) == 3
    assert sandbox.count("GET", STATUS_PATH) == 2


def test_pages_of_a_fixed_size_link_the_next_with_the_same_query(sandbox, api):
    sandbox.settings.list_page_size = 2
    newest_first = [api.create()["id"] for _ in range(5)][::-1]
    pages, response = [], api.get(api.LIST, params={"limit": "1"})  # limit ignored, as pages go
    while True:
        assert response.status_code == 200, response.text
        pages.append([g["id"] for g in response.json()["results"]])
        following = response.json()["next"]
        if following is None:
            break
        assert following.startswith(f"{sandbox.url(api.LIST)}?") and "limit=1" in following
        response = api.session.get(following)
    assert pages == [newest_first[:2], newest_first[2:4], newest_first[4:]]
    by_ids = api.get(api.LIST, params={"ids": ",".join(newest_first)}).json()
    assert by_ids["count"] == 5 and [g["id"] for g in by_ids["results"]] == newest_first[:2]
    assert "ids=" in by_ids["next"]
