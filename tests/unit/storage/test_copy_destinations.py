"""Where the copy operator may write: under one of its ``allowed_destinations``, checked before any download;
and ``allow_private_hosts`` read from Airflow's configuration when the task runs."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_creatify.exceptions import CreatifyAssetCopyError
from airflow_provider_creatify.operators.creatify import CreatifyCopyAssetsOperator
from airflow_provider_creatify.storage import asset_file_name
from tests.helpers import file

ROOT = "file:///srv/creatify-assets/"


@pytest.mark.parametrize(
    "destination",
    [
        "file:///srv/other/",
        "file:///srv/creatify-assets-evil/",  # a prefix, not on a / boundary
        "file:///srv/creatify-assets/../../etc/",
        "file:///srv/creatify-assets/a/%2e%2e/%2e%2e/etc/",
        "file:///srv/creatify-assets/./x/",
        "file:///srv/creatify-assets/x/?q=1",
        "file:///srv/creatify-assets/x/#f",
        "/etc/",
        "s3://aws_default@bucket/srv/creatify-assets/",
    ],
)
def test_a_destination_outside_the_allowed_ones_is_refused_before_any_download(
    asset_server, make_copy_operator, destination
):
    asset_server.routes["/a.png"] = file(b"png")
    task = make_copy_operator([asset_server.url + "/a.png"], destination, allowed_destinations=[ROOT])

    with pytest.raises(CreatifyAssetCopyError) as info:
        task.execute({})

    assert "not under an allowed destination" in str(info.value) and ROOT in str(info.value)
    assert isinstance(info.value, AirflowFailException)  # a retry would be refused again
    assert asset_server.seen == []


@pytest.mark.parametrize(
    "destination",
    [
        "srv/creatify-assets/x/",  # passes a text check against file:///srv/creatify-assets/ ...
        "file://srv/creatify-assets/x/",  # ... and so would these: all land under the current directory
        "local://srv/creatify-assets/x/",
        "file:srv/creatify-assets/x/",
        "file://localhost/srv/creatify-assets/x/",
    ],
)
@pytest.mark.parametrize("allowed", [[ROOT], None])
def test_a_relative_local_destination_is_refused_with_or_without_allowed_ones(
    asset_server, make_copy_operator, tmp_path, monkeypatch, destination, allowed
):
    asset_server.routes["/a.png"] = file(b"png")
    monkeypatch.chdir(tmp_path)
    task = make_copy_operator(
        [asset_server.url + "/a.png"], destination, allowed_destinations=allowed, allow_private_hosts=True
    )

    with pytest.raises(
        CreatifyAssetCopyError, match=r"is a relative path\. A local folder must be an absolute path"
    ) as info:
        task.execute({})

    assert isinstance(info.value, AirflowFailException)
    assert asset_server.seen == [] and list(tmp_path.iterdir()) == []


def test_a_relative_allowed_destination_is_refused_rather_than_matched(asset_server, make_copy_operator):
    asset_server.routes["/a.png"] = file(b"png")
    task = make_copy_operator(
        [asset_server.url + "/a.png"],
        "/srv/creatify-assets/x/",
        allowed_destinations=["srv/creatify-assets/"],
    )

    with pytest.raises(
        CreatifyAssetCopyError, match="the allowed destination 'srv/creatify-assets/' is a relative path"
    ):
        task.execute({})
    assert asset_server.seen == []


def test_a_plain_absolute_folder_that_does_not_exist_yet_is_created(
    asset_server, make_copy_operator, tmp_path
):
    asset_server.routes["/a.png"] = file(b"png")
    url = asset_server.url + "/a.png"
    task = make_copy_operator(
        url,
        f"{tmp_path}/assets/batch/2026-01-01/",
        allowed_destinations=[f"{tmp_path}/assets/"],
        allow_private_hosts=True,
    )

    stored = task.execute({})

    assert (tmp_path / "assets/batch/2026-01-01" / asset_file_name(url)).read_bytes() == b"png"
    assert stored == [f"{tmp_path}/assets/batch/2026-01-01/{asset_file_name(url)}"]


def test_a_destination_under_an_allowed_one_is_copied_to(asset_server, make_copy_operator, tmp_path):
    asset_server.routes["/a.png"] = file(b"png")
    url = asset_server.url + "/a.png"
    allowed = ["s3://aws_default@bucket/x/", f"file://{tmp_path}/assets"]  # with or without a final /
    task = make_copy_operator(
        url,
        f"file://{tmp_path}/assets/batch/2026-01-01/",
        allowed_destinations=allowed,
        allow_private_hosts=True,
    )

    assert task.execute({}) == [f"file://{tmp_path}/assets/batch/2026-01-01/{asset_file_name(url)}"]
    assert task.copied == ([url], task.execute({}))  # what OpenLineage reads
    assert "allowed_destinations" not in CreatifyCopyAssetsOperator.template_fields


def test_allow_private_hosts_comes_from_the_configuration_when_the_task_runs(
    asset_server, make_copy_operator, tmp_path, monkeypatch
):
    asset_server.routes["/a.png"] = file(b"png")
    monkeypatch.setenv("AIRFLOW__CREATIFY__ALLOW_PRIVATE_HOSTS", "True")
    task = make_copy_operator(
        [asset_server.url + "/a.png"], f"file://{tmp_path}/", max_bytes=10, download_timeout=5
    )
    monkeypatch.setenv("AIRFLOW__CREATIFY__ALLOW_PRIVATE_HOSTS", "False")  # read at execute, not before

    with pytest.raises(CreatifyAssetCopyError, match="not a public address"):
        task.execute({})
    assert asset_server.seen == []

    monkeypatch.setenv("AIRFLOW__CREATIFY__ALLOW_PRIVATE_HOSTS", "True")
    assert len(task.execute({})) == 1
    refusing = make_copy_operator(
        [asset_server.url + "/a.png"], f"file://{tmp_path}/new/", allow_private_hosts=False
    )
    with pytest.raises(CreatifyAssetCopyError, match="not a public address"):
        refusing.execute({})
