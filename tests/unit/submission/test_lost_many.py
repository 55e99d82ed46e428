"""The lost creates of several items are found with one read of the account's list, or left in doubt."""

from __future__ import annotations

import json
import time

import pytest

from airflow_provider_creatify.exceptions import CreatifyCreateUncertainError
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.lost_creates import find_lost_many
from airflow_provider_creatify.sandbox import FaultRule, SandboxSettings
from tests.helpers import FLUX

LIST_PATH = "/api/asset_generator/"


def params(n: int) -> dict:
    return {"prompt": f"lost poster {n}"}


def test_each_item_gets_the_generation_made_from_its_input(creatify_conn):
    since = time.time()
    hook = CreatifyHook()
    made = {n: hook.create_generation(FLUX, params(n)).id for n in (0, 2)}  # creates whose answers were lost
    wanted = {f"k{n}": (FLUX, params(n)) for n in range(3)}

    found = find_lost_many(hook, wanted, since)

    assert {key: g and g.id for key, g in found.items()} == {"k0": made[0], "k1": None, "k2": made[2]}
    assert creatify_conn.count("GET", LIST_PATH) == 1  # one read of the list for all of them


def test_items_with_the_same_input_share_its_generations_one_each(creatify_conn):
    since = time.time()
    hook = CreatifyHook()
    held = hook.create_generation(FLUX, params(0)).id  # an item that kept its id
    lost = hook.create_generation(FLUX, params(0)).id
    wanted = {"a": (FLUX, params(0)), "b": (FLUX, params(0))}

    found = find_lost_many(hook, wanted, since, known={held})

    assert sorted(g.id if g else "" for g in found.values()) == sorted(["", lost])


def test_more_matches_than_items_is_doubt_not_a_guess(creatify_conn):
    since = time.time()
    hook = CreatifyHook()
    for _ in range(2):
        hook.create_generation(FLUX, params(0))
    with pytest.raises(CreatifyCreateUncertainError, match="more than one matches"):
        find_lost_many(hook, {"a": (FLUX, params(0))}, since)


def test_a_list_that_cannot_tell_inputs_apart_is_no_proof(creatify_conn):
    since = time.time()
    hook = CreatifyHook()
    hook.create_generation(FLUX, params(5))
    creatify_conn.settings = SandboxSettings(generation_seconds=1.0, list_omits=("input_params",))
    with pytest.raises(CreatifyCreateUncertainError, match="leaves out what"):
        find_lost_many(hook, {"a": (FLUX, params(0)), "b": (FLUX, params(1))}, since)


def test_a_list_in_pages_is_read_back_to_the_window(creatify_conn):
    since = time.time()
    hook = CreatifyHook()
    lost = hook.create_generation(FLUX, params(0)).id
    for n in range(1, 8):  # made after it: the first page of 5 does not show it
        hook.create_generation(FLUX, params(n))
    creatify_conn.settings.list_page_size = 5

    found = find_lost_many(hook, {"a": (FLUX, params(0)), "b": (FLUX, params(9))}, since)

    assert {key: g and g.id for key, g in found.items()} == {"a": lost, "b": None}
    assert creatify_conn.count("GET", LIST_PATH) == 2


def test_a_page_with_more_pages_unread_is_no_proof(creatify_conn, monkeypatch):
    """A short page is the whole list only when no next page follows: otherwise a second POST could bill."""
    monkeypatch.setattr("airflow_provider_creatify.hooks._generations.MAX_LIST_PAGES", 1)
    since = time.time()
    hook = CreatifyHook()
    hook.create_generation(FLUX, params(0))
    for n in range(1, 8):
        hook.create_generation(FLUX, params(n))
    creatify_conn.settings.list_page_size = 5

    with pytest.raises(CreatifyCreateUncertainError, match="more than the 5 listed were made since then"):
        find_lost_many(hook, {"a": (FLUX, params(0))}, since)


def test_a_next_page_elsewhere_is_not_followed(creatify_conn):
    """The key goes only to the connection's origin: a page pointing elsewhere ends the search in doubt."""
    since = time.time()
    hook = CreatifyHook()
    hook.create_generation(FLUX, params(0))
    page = {
        "count": 9,
        "next": "https://lists.example.net/api/asset_generator/?page=2&t=s3cret",
        "results": [],
    }
    creatify_conn.add_fault(FaultRule(method="GET", path=LIST_PATH, body=json.dumps(page).encode()))

    with pytest.raises(CreatifyCreateUncertainError, match=r"lists\.example\.net") as err:
        find_lost_many(hook, {"a": (FLUX, params(0))}, since)
    assert "s3cret" not in str(err.value) and creatify_conn.count("GET", LIST_PATH) == 1


def test_an_input_listed_with_more_fields_is_no_proof(creatify_conn):
    """An API that stores its defaults lists a lost create's input widened: never a second POST then."""
    creatify_conn.settings.stores_defaults = True
    since = time.time()
    hook = CreatifyHook()
    lost = hook.create_generation(FLUX, params(0)).id
    listed = creatify_conn.generations[lost]["input_params"]
    assert listed != params(0) and listed.items() >= params(0).items()

    with pytest.raises(CreatifyCreateUncertainError, match=f"{lost} holds the input sent, stored otherwise"):
        find_lost_many(hook, {"a": (FLUX, params(0))}, since)


def listed_as(creatify_conn, generation_id: str, input_params) -> None:
    """The list answers this generation alone, its ``input_params`` given as ``input_params``."""
    listed = [{**creatify_conn.generations[generation_id], "input_params": input_params}]
    creatify_conn.add_fault(FaultRule(method="GET", path=LIST_PATH, body=json.dumps(listed).encode()))


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ({"prompt": "lost poster 0"}, {"prompt": "Lost Poster 0 "}),
        ({"prompt": "lost poster 0", "num_images": 2}, {"prompt": "lost poster 0", "num_images": "2"}),
    ],
    ids=["case-and-spaces", "number-as-text"],
)
def test_an_input_listed_written_differently_is_no_proof(creatify_conn, sent, stored):
    since = time.time()
    hook = CreatifyHook()
    lost = hook.create_generation(FLUX, sent).id
    listed_as(creatify_conn, lost, stored)

    with pytest.raises(CreatifyCreateUncertainError, match=f"{lost} holds the input sent, stored otherwise"):
        find_lost_many(hook, {"a": (FLUX, sent)}, since)


def test_an_input_listed_as_json_text_is_read_as_its_object(creatify_conn):
    since = time.time()
    hook = CreatifyHook()
    lost = hook.create_generation(FLUX, params(0)).id
    listed_as(creatify_conn, lost, json.dumps(params(0)))
    found = find_lost_many(hook, {"a": (FLUX, params(0))}, since)["a"]
    assert found is not None and found.id == lost


def test_an_input_listed_as_no_object_proves_nothing(creatify_conn):
    since = time.time()
    hook = CreatifyHook()
    lost = hook.create_generation(FLUX, params(0)).id
    listed_as(creatify_conn, lost, [params(0)])
    with pytest.raises(CreatifyCreateUncertainError, match=f"leaves out what {lost} were made from"):
        find_lost_many(hook, {"a": (FLUX, params(0))}, since)
