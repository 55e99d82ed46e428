"""What a copy bounds and guarantees: a byte cap and a deadline per file; a file lands whole or not at all,
on local and object storage alike."""

from __future__ import annotations

import time

import pytest
from airflow.sdk import ObjectStoragePath
from airflow.sdk.io import attach
from fsspec.implementations.memory import MemoryFileSystem

from airflow_provider_creatify.exceptions import CreatifyAssetCopyError
from airflow_provider_creatify.storage import copy_assets
from tests.helpers import Answer, file, send


def copy_fails(url: str, destination: str, **kwargs) -> str:
    with pytest.raises(CreatifyAssetCopyError) as info:
        copy_assets([url], destination, allow_private_hosts=True, **kwargs)
    return str(info.value)


def dribble(total: int, every: float = 0.1, at_most: float = 10.0) -> Answer:
    """Announces ``total`` bytes, then sends one byte every ``every`` seconds, for ``at_most`` seconds."""

    def answer(handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        ends = time.monotonic() + at_most
        try:
            while time.monotonic() < ends:
                handler.wfile.write(b"x")
                handler.wfile.flush()
                time.sleep(every)
        except OSError:
            pass  # the client gave up: what the test expects
        handler.close_connection = True

    return answer


def test_a_file_announced_larger_than_max_bytes_is_refused_at_once(asset_server, tmp_path):
    def huge(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(10 * 1024**3))
        handler.end_headers()
        handler.wfile.write(b"x" * 1000)
        time.sleep(30)  # a body that would take long: the copy must not wait for it

    asset_server.routes["/huge.mp4"] = huge
    started = time.monotonic()

    message = copy_fails(asset_server.url + "/huge.mp4", f"file://{tmp_path}/", max_bytes=1000)

    assert time.monotonic() - started < 15  # at once, not after the 30 s body
    assert f"announces {10 * 1024**3} bytes, more than max_bytes (1000)" in message
    assert list(tmp_path.iterdir()) == []


def test_a_stream_past_max_bytes_is_cut(asset_server, tmp_path):
    def unannounced(handler):  # no Content-Length: the body runs until the server closes
        handler.send_response(200)
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(b"x" * 5000)
        handler.close_connection = True

    asset_server.routes["/big.mp4"] = unannounced

    message = copy_fails(asset_server.url + "/big.mp4", f"file://{tmp_path}/", max_bytes=1000)

    assert "more than max_bytes (1000) were sent" in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("part", ["body", "headers"])
def test_a_server_that_dribbles_cannot_hang_the_task(asset_server, tmp_path, part):
    if part == "body":
        asset_server.routes["/slow.mp4"] = dribble(1000, every=0.1, at_most=15)
    else:

        def slow_headers(handler):
            ends = time.monotonic() + 15
            try:
                for byte in b"HTTP/1.1 200 OK\r\nX-Padding: " + b"x" * 1000:
                    if time.monotonic() > ends:
                        break
                    handler.wfile.write(bytes([byte]))
                    handler.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass

        asset_server.routes["/slow.mp4"] = slow_headers
    started = time.monotonic()

    message = copy_fails(
        asset_server.url + "/slow.mp4", f"file://{tmp_path}/", download_timeout=1.0, request_timeout=5.0
    )

    assert time.monotonic() - started < 12  # download_timeout's 1 s, not the 15 s of headers
    assert "not done within download_timeout (1 s)" in message
    assert list(tmp_path.iterdir()) == []


def broken_then_whole(body: bytes):
    """Announces the whole body; the first answer closes after half of it, later ones send it all."""
    answers = []

    def answer(handler):
        answers.append(1)
        if len(answers) > 1:
            send(handler, 200, body)
            return
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body[: len(body) // 2])
        handler.close_connection = True

    return answer


def test_a_broken_download_leaves_nothing_on_object_storage_and_the_retry_lands_it(asset_server):
    attach("memory", fs=MemoryFileSystem())
    body = bytes(range(256)) * 40
    asset_server.routes["/video.mp4"] = broken_then_whole(body)
    url, folder = asset_server.url + "/video.mp4", "memory://creatify-atomic/assets/"

    message = copy_fails(url, folder)
    assert not ObjectStoragePath(folder).exists() or list(ObjectStoragePath(folder).iterdir()) == []
    assert asset_server.url + "/video.mp4" in message and "Retry the task" in message

    (stored,) = copy_assets([url], folder, allow_private_hosts=True)  # the retry

    assert ObjectStoragePath(stored).read_bytes() == body
    assert [p.name for p in ObjectStoragePath(folder).iterdir()] == [stored.rpartition("/")[2]]
    assert asset_server.paths() == ["/video.mp4", "/video.mp4"]


def test_a_broken_download_leaves_nothing_in_a_local_folder(asset_server, tmp_path):
    body = b"0123456789" * 500
    asset_server.routes["/video.mp4"] = broken_then_whole(body)

    copy_fails(asset_server.url + "/video.mp4", f"file://{tmp_path}/")
    assert list(tmp_path.iterdir()) == []

    (stored,) = copy_assets(
        [asset_server.url + "/video.mp4"], f"file://{tmp_path}/", allow_private_hosts=True
    )
    assert [p.name for p in tmp_path.iterdir()] == [stored.rpartition("/")[2]]
    assert (tmp_path / stored.rpartition("/")[2]).read_bytes() == body


def test_what_a_copy_downloads_and_stores_is_the_whole_file(asset_server, tmp_path):
    body = b"\x89PNG" + b"\x00" * 3 * 1024 * 1024  # several chunks
    asset_server.routes["/big.png"] = file(body)
    (stored,) = copy_assets([asset_server.url + "/big.png"], f"file://{tmp_path}/", allow_private_hosts=True)
    assert (tmp_path / stored.rpartition("/")[2]).read_bytes() == body
