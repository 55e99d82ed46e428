"""Copying assets to object storage: CreatifyHook.copy_assets against the sandbox's media over HTTP."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from airflow.sdk import ObjectStoragePath
from airflow.sdk.io import attach
from fsspec.implementations.memory import MemoryFileSystem

from airflow_provider_creatify.exceptions import CreatifyAssetCopyError
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from airflow_provider_creatify.storage import asset_file_name
from tests.helpers import KLING, KLING_PARAMS, finished_generation


def media_gets(sandbox) -> int:
    return sum(1 for r in sandbox.requests if r.method == "GET" and r.path.startswith("/media/"))


def test_asset_file_name_is_deterministic_and_the_query_counts():
    url = "https://cdn.example.com/out/abc/video.mp4"
    assert asset_file_name(url) == asset_file_name(url)
    assert asset_file_name(url) != asset_file_name(url + "?X-Amz-Signature=1234")
    assert asset_file_name(url).endswith("-video.mp4")
    assert asset_file_name(url) != asset_file_name("https://cdn.example.com/out/xyz/video.mp4")
    assert asset_file_name("https://cdn.example.com/").endswith("-asset")


def test_copies_to_a_local_folder_byte_for_byte_and_skips_what_is_there(creatify_conn, tmp_path):
    hook = CreatifyHook()
    urls = finished_generation(KLING, KLING_PARAMS).asset_urls + finished_generation().asset_urls
    destination = f"file://{tmp_path}/nested/folder/"

    stored = hook.copy_assets(urls, destination)

    assert stored == [f"{destination}{asset_file_name(url)}" for url in urls]
    for url, path in zip(urls, stored, strict=True):
        assert ObjectStoragePath(path).read_bytes() == requests.get(url, timeout=10).content
    assert not list(tmp_path.rglob("*.part"))
    gets = media_gets(creatify_conn)
    assert hook.copy_assets(urls, destination) == stored  # a retry: nothing downloaded again
    assert media_gets(creatify_conn) == gets


def test_copies_to_any_fsspec_backend_without_sending_credentials(creatify_conn, monkeypatch):
    sent_headers = []
    original_send = requests.Session.send

    def recording_send(self, request, **kwargs):
        if "/media/" in request.url:
            sent_headers.append(dict(request.headers))
        return original_send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", recording_send)
    attach("memory", fs=MemoryFileSystem())  # any fsspec filesystem, as s3:// or gs:// with their provider
    hook = CreatifyHook()
    urls = finished_generation().asset_urls

    stored = hook.copy_assets(urls, ObjectStoragePath("memory://creatify-test/assets/"))

    assert [ObjectStoragePath(p).read_bytes()[:8] for p in stored] == [b"\x89PNG\r\n\x1a\n"] * len(urls)
    assert sent_headers and all(
        "X-API-KEY" not in headers and creatify_conn.api_key not in str(headers) for headers in sent_headers
    )


def test_a_missing_asset_fails_with_the_url_and_what_to_do(creatify_conn, tmp_path):
    url = creatify_conn.base_url + "/media/not-there.png"
    with pytest.raises(CreatifyAssetCopyError) as info:
        CreatifyHook().copy_assets([url], f"file://{tmp_path}/")
    message = str(info.value)
    assert url in message and "404" in message and "Retry the task" in message
    assert list(tmp_path.iterdir()) == []  # nothing that a retry would mistake for a copied asset


def test_copy_operator_needs_no_creatify_connection(creatify_conn, make_copy_operator, monkeypatch, tmp_path):
    urls = finished_generation().asset_urls
    monkeypatch.delenv("AIRFLOW_CONN_CREATIFY_DEFAULT")  # the asset URLs are all it needs
    operator = make_copy_operator(urls, f"file://{tmp_path}/")

    stored = operator.execute({})

    assert stored == [f"file://{tmp_path}/{asset_file_name(url)}" for url in urls]
    assert all(ObjectStoragePath(path).exists() for path in stored)


def test_the_hook_passes_the_copy_options_on(creatify_conn, tmp_path):
    urls = finished_generation().asset_urls
    gets = media_gets(creatify_conn)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"allow_private_hosts": False}, "not a public address"),  # the sandbox's setting overridden
        ({"max_bytes": 10}, "more than max_bytes (10)"),
    ]
    for options, reason in cases:
        with pytest.raises(CreatifyAssetCopyError, match=re.escape(reason)):
            CreatifyHook().copy_assets(urls, f"file://{tmp_path}/", **options)
    assert media_gets(creatify_conn) == gets + 1  # only the one under max_bytes reached the sandbox
    assert list(tmp_path.iterdir()) == []
