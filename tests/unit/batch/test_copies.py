"""A batch's copies: checked before anything is created, each item's assets in its own folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from airflow_provider_creatify.batch.copies import check_destination
from airflow_provider_creatify.batch.items import items_from
from airflow_provider_creatify.batch.manifest import conclude, read_manifest
from airflow_provider_creatify.exceptions import CreatifyAssetRefusedError, CreatifyValidationError
from tests.unit.batch.conftest import prompts, run_until_finished


@pytest.mark.parametrize("key", ["../escape", "..", "a/b", ".hidden", "-flag", "x" * 129, "tab\there"])
def test_a_key_that_is_not_a_plain_folder_name_is_refused_with_a_destination(key):
    items = items_from([{"key": key, "input_params": {}}, *prompts(1)], "m")
    with pytest.raises(CreatifyValidationError, match="names its folder"):
        check_destination("file:///data/out/", None, items)


@pytest.mark.parametrize(
    ("destination", "allowed"),
    [
        ("data/out/", None),  # relative: would land under the worker's current directory
        ("file:///data/elsewhere/", ["file:///data/creatify/"]),
        ("file:///data/creatify/../etc/", ["file:///data/creatify/"]),
    ],
)
def test_a_destination_the_copies_may_not_use_is_refused(destination, allowed):
    with pytest.raises(CreatifyAssetRefusedError):
        check_destination(destination, allowed, items_from(prompts(1), "m"))


def test_each_done_item_lands_in_its_key_folder_and_the_manifest_says_where(
    make_run, creatify_conn, tmp_path
):
    run = make_run([*prompts(2), {"key": "fails", "input_params": {"prompt": "[sandbox:fail] x"}}])
    run_until_finished(run)

    result, error = conclude(run, f"file://{tmp_path}/batch/", 1, destination=f"file://{tmp_path}/assets")

    assert error is None and result["counts"]["done"] == 2
    rows = {row["key"]: row for row in read_manifest(result["manifest_uri"])}
    assert rows["fails"]["stored"] == []
    for key in ("sku-0", "sku-1"):
        (stored,) = rows[key]["stored"]
        assert stored.startswith(f"file://{tmp_path}/assets/{key}/")
        (url,) = rows[key]["asset_urls"]
        assert Path(stored.removeprefix("file://")).read_bytes() == requests.get(url, timeout=10).content
