"""Bad input_params are refused before the intent is recorded and before any POST (against the sandbox):
input the model's schema refuses, and input that is not JSON (NaN, a datetime, bytes), whether or not it
is checked against the schema."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from airflow_provider_creatify.exceptions import CreatifyValidationError
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from tests.helpers import KLING, KLING_PARAMS, POST_PATH, FakeStateStore, RecordingTI

NOT_JSON = [
    pytest.param({**KLING_PARAMS, "cfg_scale": float("nan")}, "cfg_scale", id="nan"),
    pytest.param({**KLING_PARAMS, "frames": [{}, {}, {"weight": float("inf")}]}, "frames.2.weight", id="inf"),
    pytest.param(
        {**KLING_PARAMS, "prompt": datetime(2025, 1, 1, tzinfo=timezone.utc)}, "prompt", id="datetime"
    ),
    pytest.param({**KLING_PARAMS, "image_url": b"https://example.com/image.jpg"}, "image_url", id="bytes"),
]


def test_invalid_input_leaves_no_intent(make_submission, creatify_conn):
    store = FakeStateStore()
    with pytest.raises(Exception, match="duration"):
        make_submission(input_params={**KLING_PARAMS, "duration": "7"}).run(store, RecordingTI(), None)
    assert store.values == {} and creatify_conn.count("POST", POST_PATH) == 0


@pytest.mark.parametrize("validate_input", [True, False], ids=["validated", "not-validated"])
@pytest.mark.parametrize(("params", "field"), NOT_JSON)
def test_not_json_is_refused_before_the_intent_and_the_post(
    make_submission, creatify_conn, params, field, validate_input
):
    store = FakeStateStore()
    submission = make_submission(input_params=params, validate_input=validate_input)
    with pytest.raises(CreatifyValidationError) as err:
        submission.run(store, RecordingTI(), None)
    assert err.value.field == field and err.value.model_name == KLING
    assert f"{KLING!r} are not JSON: field {field!r}" in str(err.value)
    assert store.values == {}  # no intent recorded: a retry has nothing to search for
    assert creatify_conn.count("POST", POST_PATH) == 0


@pytest.mark.parametrize(("params", "field"), NOT_JSON[:1] + NOT_JSON[2:3])
def test_the_hook_refuses_not_json_before_the_post(creatify_conn, params, field):
    with pytest.raises(CreatifyValidationError) as err:
        CreatifyHook().create_generation(KLING, params)
    assert err.value.field == field and f"{KLING!r} are not JSON" in str(err.value)
    assert creatify_conn.count("POST", POST_PATH) == 0
