"""Reading many generations at once, the credit balance, and refusals in words."""

from __future__ import annotations

import pytest

from airflow_provider_creatify.exceptions import (
    CreatifyAPIError,
    CreatifyAuthError,
    CreatifyInsufficientCreditsError,
    CreatifyValidationError,
)
from airflow_provider_creatify.hooks._batch import MAX_IDS_PER_READ, batches
from airflow_provider_creatify.hooks._http import readable
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.sandbox import FaultRule
from tests.helpers import CREDITS_PATH, FLUX, POST_PATH, STATUS_PATH, UNKNOWN, create_generations


def test_batches_of_at_most_100_ids_each_once():
    ids = [f"id-{n}" for n in range(250)]
    reads = batches([*ids, ids[0]])
    assert [len(chunk) for chunk, _, _ in reads] == [MAX_IDS_PER_READ, MAX_IDS_PER_READ, 50]
    assert [i for chunk, _, _ in reads for i in chunk] == ids
    assert reads[0][1].startswith("/api/asset_generator/?ids=id-0,id-1,")
    assert reads[2][2] == "Reading 50 Creatify generations"


def test_a_hostile_id_stays_inside_the_ids_parameter():
    ((_, path, _),) = batches(["a&ids=b#c", "../d?e f"])
    assert path == "/api/asset_generator/?ids=a%26ids%3Db%23c,..%2Fd%3Fe%20f"


def test_get_generations_keeps_the_order_and_reports_missing_ids(creatify_conn, capfd):
    ids = create_generations(3)
    asked = [ids[2], UNKNOWN, ids[0], ids[1]]
    found = CreatifyHook().get_generations(asked)
    assert list(found) == asked
    assert found[UNKNOWN] is None and [found[i].id for i in ids] == ids  # type: ignore[union-attr]
    assert f"no generation for 1 id(s): {UNKNOWN}" in capfd.readouterr().out
    assert creatify_conn.count("GET", POST_PATH) == 1


def test_get_generations_reads_100_per_request(creatify_conn):
    ids = create_generations(3)
    asked = ids + [f"00000000-0000-4000-8000-{n:012d}" for n in range(200)]
    found = CreatifyHook().get_generations(asked)
    assert len(found) == 203 and all(found[i] is not None for i in ids)
    assert creatify_conn.count("GET", POST_PATH) == 3


def test_get_generations_retries_a_failing_read(creatify_conn):
    ids = create_generations(2)
    creatify_conn.add_fault(FaultRule(path=POST_PATH, method="GET", status=503, count=2))
    assert all(CreatifyHook().get_generations(ids).values())
    assert creatify_conn.count("GET", POST_PATH, status=503) == 2


async def test_aget_generations_is_the_async_twin(creatify_conn):
    import asyncio

    ids = await asyncio.to_thread(create_generations, 2)
    async with CreatifyHook() as hook:
        found = await hook.aget_generations([ids[1], UNKNOWN, ids[0]])
    assert list(found) == [ids[1], UNKNOWN, ids[0]] and found[UNKNOWN] is None
    assert found[ids[0]].id == ids[0]  # type: ignore[union-attr]


async def test_aget_generations_outside_async_with_is_refused():
    with pytest.raises(RuntimeError, match="async with hook"):
        await CreatifyHook().aget_generations(["x"])


def test_remaining_credits_goes_down_by_each_create(creatify_conn):
    hook = CreatifyHook()
    before = hook.remaining_credits()
    create_generations(2)
    assert hook.remaining_credits() == pytest.approx(before - 2 * 0.5)


def test_a_balance_that_is_no_number_is_an_api_error(creatify_conn):
    creatify_conn.add_fault(FaultRule(path=CREDITS_PATH, body=b'{"remaining": 1}'))
    with pytest.raises(CreatifyAPIError, match="remaining_credits"):
        CreatifyHook().remaining_credits()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'["AI model not found"]', "AI model not found"),
        (
            b'{"input_params": ["prompt is required"], "webhook_url": "too long"}',
            "input_params: prompt is required; webhook_url: too long",
        ),
        (b'{"detail": "Not allowed on your plan."}', "Not allowed on your plan."),
        (b"Bad Request", "a body that is not JSON (11 bytes)"),  # not echoed: it may be anybody's page
        (b"", "no reason given"),
    ],
)
def test_refusals_read_as_words_whatever_their_shape(body, words):
    assert readable(body) == words


def test_an_unknown_model_refusal_names_the_model_and_the_reason(creatify_conn):
    with pytest.raises(CreatifyAPIError, match=r"model 'no-such-model'.*HTTP 400\): AI model not found"):
        CreatifyHook().create_generation("no-such-model", {"prompt": "x"})


def test_out_of_credits_says_so_and_is_not_retried(creatify_conn):
    creatify_conn.add_fault(
        FaultRule(path=POST_PATH, method="POST", status=400, body=b'["Insufficient credits: 0 remaining."]')
    )
    with pytest.raises(
        CreatifyInsufficientCreditsError, match=r"out of credits.*Insufficient credits"
    ) as err:
        CreatifyHook().create_generation(FLUX, {"prompt": "x"})
    assert "creatify_default" in str(err.value) and "min_remaining_credits" in str(err.value)
    assert creatify_conn.count("POST", POST_PATH) == 1


def test_validation_errors_are_not_credit_errors(creatify_conn):
    with pytest.raises(CreatifyValidationError):
        CreatifyHook().validate_input(FLUX, {})


def test_list_answers_are_read_as_arrays_or_as_django_rest_framework_pages(creatify_conn):
    made = [CreatifyHook().create_generation(FLUX, {"prompt": f"p{i}"}).id for i in range(2)]
    for pages in (False, True):
        creatify_conn.settings.list_pages = pages
        assert [g.id for g in CreatifyHook().list_generations()] == made[::-1]
        assert list(CreatifyHook().get_generations(made)) == made
        assert all(found is not None for found in CreatifyHook().get_generations(made).values())


@pytest.mark.parametrize(
    "unusable",
    [
        FaultRule(path=POST_PATH, method="GET", status=404),
        FaultRule(path=POST_PATH, method="GET", status=502),
        FaultRule(path=POST_PATH, method="GET", body=b'{"detail": "not a list"}'),
    ],
    ids=["404", "502", "not-a-list"],
)
def test_get_generations_reads_alone_what_a_list_cannot_give(creatify_conn, unusable):
    made = [CreatifyHook().create_generation(FLUX, {"prompt": f"p{i}"}).id for i in range(3)]
    creatify_conn.add_fault(unusable)
    found = CreatifyHook().get_generations([*made, UNKNOWN])
    assert [g.id if g else None for g in found.values()] == [*made, None]  # unknown: a 404 alone
    assert creatify_conn.count("GET", STATUS_PATH) == 4


def test_get_generations_does_not_take_a_list_that_ignores_ids(creatify_conn):
    made = [CreatifyHook().create_generation(FLUX, {"prompt": f"p{i}"}).id for i in range(3)]
    CreatifyHook().create_generation(FLUX, {"prompt": "newer, not asked for"})
    creatify_conn.settings.list_ignores_ids = True
    found = CreatifyHook().get_generations(made)
    assert [g.id if g else None for g in found.values()] == made


async def test_aget_generations_reads_alone_what_a_list_cannot_give(creatify_conn):
    made = [CreatifyHook().create_generation(FLUX, {"prompt": f"p{i}"}).id for i in range(2)]
    creatify_conn.add_fault(FaultRule(path=POST_PATH, method="GET", status=500))
    async with CreatifyHook() as hook:
        found = await hook.aget_generations([*made, UNKNOWN])
    assert [g.id if g else None for g in found.values()] == [*made, None]


def test_a_403_says_what_creatify_said_not_only_the_credentials(creatify_conn):
    reason = b'{"detail": "Your plan does not include the Asset Generator API."}'
    creatify_conn.add_fault(FaultRule(path=STATUS_PATH, method="GET", status=403, body=reason))
    with pytest.raises(CreatifyAuthError) as err:
        CreatifyHook().get_generation(UNKNOWN)
    assert "Your plan does not include the Asset Generator API." in str(err.value)
    assert "HTTP 403" in str(err.value) and "plan or credits" in str(err.value)
