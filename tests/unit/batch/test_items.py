"""A batch's items: from a list or a file (JSON lines, CSV), checked before anything is sent."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_creatify.batch.items import BatchItem, items_from, read_items
from airflow_provider_creatify.exceptions import CreatifyValidationError


def test_keys_default_to_the_index_and_models_to_the_batch_model():
    items = items_from(
        [{"input_params": {"prompt": "a"}}, {"key": "sku-2", "model_name": "flux", "input_params": {}}],
        "nano-banana",
    )

    assert items == [
        BatchItem("0", 0, "nano-banana", {"prompt": "a"}),
        BatchItem("sku-2", 1, "flux", {}),
    ]


@pytest.mark.parametrize(
    ("entries", "said"),
    [
        ([{"key": "a", "input_params": {}}, {"key": "a", "input_params": {}}], "item 1 repeats the key 'a'"),
        ([{"key": "1", "input_params": {}}, {"input_params": {}}], "item 1 repeats the key '1'"),
        (["a prompt"], "item 0 is not an object with an 'input_params' object"),
        ([{"input_params": "a prompt"}], "item 0 is not an object"),
        ([{"key": True, "input_params": {}}], "item 0 has a key that is not a string or an integer: True"),
        ([{"key": "", "input_params": {}}], "item 0 has a key"),
    ],
)
def test_unusable_items_are_refused_before_anything_is_sent(entries, said):
    with pytest.raises(CreatifyValidationError, match="nothing was created") as err:
        items_from(entries, "nano-banana")

    assert said in str(err.value) and isinstance(err.value, AirflowFailException)


def test_the_error_lists_the_first_few_problems():
    with pytest.raises(CreatifyValidationError) as err:
        items_from([None] * 12, "nano-banana")

    assert (
        "item 4 is not" in str(err.value)
        and "item 5" not in str(err.value)
        and "(and 7 more)" in str(err.value)
    )


def test_json_lines_and_csv_files_are_read(tmp_path):
    (tmp_path / "a.jsonl").write_text(
        '{"key": "k1", "input_params": {"prompt": "x"}}\n\n{"input_params": {}}\n'
    )
    (tmp_path / "b.csv").write_text("key,prompt,aspect_ratio\nk1,a fox,16:9\nk2,a cat,\n")
    (tmp_path / "c.csv").write_text('key,model_name,input_params\nk1,flux,"{""prompt"": ""x"", ""n"": 2}"\n')

    assert read_items(f"file://{tmp_path}/a.jsonl") == [
        {"key": "k1", "input_params": {"prompt": "x"}},
        {"input_params": {}},
    ]
    assert read_items(str(tmp_path / "b.csv")) == [
        {"key": "k1", "input_params": {"prompt": "a fox", "aspect_ratio": "16:9"}},
        {"key": "k2", "input_params": {"prompt": "a cat"}},
    ]
    assert read_items(str(tmp_path / "c.csv")) == [
        {"key": "k1", "model_name": "flux", "input_params": {"prompt": "x", "n": 2}}
    ]


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("a.jsonl", '{"input_params": {}}\n{not json\n', "is not valid"),
        ("a.csv", 'key,input_params\nk,"{not json"\n', "is not valid"),
        ("a.txt", "a fox\n", "neither .jsonl, .ndjson nor .csv"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_clearly(tmp_path, name, content, said):
    (tmp_path / name).write_text(content)

    with pytest.raises(CreatifyValidationError, match=said) as err:
        read_items(str(tmp_path / name))

    assert name in str(err.value)
