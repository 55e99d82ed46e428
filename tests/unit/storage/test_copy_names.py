"""What a copy names and says: a safe file name per URL (the query counts), clear errors for unusable URLs,
and no query string (signed URLs) in a log line or a message."""

from __future__ import annotations

import logging
import re
import socket

import pytest

from airflow_provider_creatify.exceptions import CreatifyAssetCopyError
from airflow_provider_creatify.storage import MAX_NAME_CHARS, asset_file_name, copy_assets, redacted
from tests.helpers import file

SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")


def test_urls_that_differ_only_in_their_query_get_different_files(asset_server, tmp_path):
    asset_server.routes["/dl?id=1"] = file(b"one")
    asset_server.routes["/dl?id=2"] = file(b"two")
    urls = [asset_server.url + "/dl?id=1", asset_server.url + "/dl?id=2"]

    stored = copy_assets(urls, f"file://{tmp_path}/", allow_private_hosts=True)

    assert len(set(stored)) == 2
    assert [(tmp_path / path.rpartition("/")[2]).read_bytes() for path in stored] == [b"one", b"two"]
    assert asset_file_name(urls[0]) == asset_file_name(urls[0] + "#fragment")  # never sent: not part of it


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example.com/a%2F..%2F..%2Fetc%2Fpasswd",
        "https://cdn.example.com/..%2F.hidden",
        "https://cdn.example.com/%2e%2e",
        "https://cdn.example.com/we%C3%AFrd%20name%3B%7C%24(x).png",
        "https://cdn.example.com/" + "long" * 200 + ".mp4",
        "https://cdn.example.com/",
    ],
)
def test_names_are_safe_and_bounded(url):
    name = asset_file_name(url)
    assert SAFE_NAME.match(name) and not name.startswith(".") and len(name) <= MAX_NAME_CHARS
    assert name == asset_file_name(url)  # deterministic: a retry finds what an earlier try stored


def test_a_long_name_keeps_its_extension():
    assert asset_file_name("https://cdn.example.com/" + "x" * 500 + ".mp4").endswith("x.mp4")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://cdn.example.com/a\x00b.png", "holds a control character"),
        ("https://cdn.example.com/a\nb.png", "holds a control character"),
        ("https://cdn.example.com/" + "a" * 9000 + ".png", "is longer than 8192 characters"),
    ],
    ids=["nul", "newline", "too-long"],
)
def test_an_unusable_url_is_a_clear_error(tmp_path, url, reason):
    with pytest.raises(CreatifyAssetCopyError) as info:
        copy_assets([url], f"file://{tmp_path}/", allow_private_hosts=True)
    message = str(info.value)
    assert reason in message and "\x00" not in message and "\n" not in message and len(message) < 600
    assert list(tmp_path.iterdir()) == []


def test_logs_and_messages_show_no_query_string(asset_server, tmp_path, caplog):
    log = logging.getLogger("test-copy")
    asset_server.routes["/a.png?X-Amz-Signature=SECRET1"] = file(b"png")
    with caplog.at_level(logging.INFO, logger="test-copy"):
        for _ in range(2):  # copied, then skipped
            copy_assets(
                [asset_server.url + "/a.png?X-Amz-Signature=SECRET1"],
                f"file://{tmp_path}/",
                allow_private_hosts=True,
                log=log,
            )
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2 and all(f"{asset_server.url}/a.png" in line for line in lines)
    assert not any("SECRET" in line for line in lines)

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    failures = [
        asset_server.url + "/gone.png?X-Amz-Signature=SECRET2",  # 404
        f"http://127.0.0.1:{port}/a.png?X-Amz-Signature=SECRET3",  # connection refused
    ]
    for url in failures:
        with pytest.raises(CreatifyAssetCopyError) as info:
            copy_assets([url], f"file://{tmp_path}/", allow_private_hosts=True)
        assert "SECRET" not in str(info.value) and url.partition("?")[0] in str(info.value)


def test_redacted_drops_query_fragment_and_user_info():
    assert (
        redacted("https://user:pw@cdn.example.com:8443/a/b.png?sig=1#x")
        == "https://cdn.example.com:8443/a/b.png"
    )
    assert redacted("https://cdn.example.com/a\r\nb") == "https://cdn.example.com/a??b"
    assert len(redacted("https://cdn.example.com/" + "a" * 5000)) == 300
