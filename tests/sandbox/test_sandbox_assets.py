"""Assets: real PNG / MP4 / WAV files served by the sandbox itself."""

from __future__ import annotations

import io
import struct
import wave
import zlib

import requests


def check_png(data: bytes, size: int | None = None) -> None:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert zlib.crc32(data[12:29]) & 0xFFFFFFFF == struct.unpack(">I", data[29:33])[0]
    assert (depth, colour) == (8, 2)
    if size:
        assert (width, height) == (size, size)
    assert data.endswith(b"IEND\xaeB`\x82")


def download(url: str, content_type: str) -> bytes:
    r = requests.get(url, timeout=10)  # no credentials: media URLs are public
    assert r.status_code == 200
    assert r.headers["content-type"] == content_type
    assert int(r.headers["content-length"]) == len(r.content)
    return r.content


def test_image_assets_several_outputs(api):
    final = api.wait_final(api.create(num_images=3)["id"])
    assert final["output_nums"] == 3
    assert final["credits_used"] == "1.5"  # 3 x 0.5
    assets = final["assets"]
    assert len(assets) == 3
    assert len({a["id"] for a in assets}) == 3
    for asset in assets:
        assert asset["type"] == "image"
        assert asset["url"].startswith(api.base_url + "/media/")
        assert asset["name"].startswith("Image-")
        image = download(asset["url"], "image/png")
        check_png(image, 64)
        check_png(download(asset["thumbnail_url"], "image/png"), 32)
        assert download(asset["url"], "image/png") == image  # deterministic
    assert len({download(a["url"], "image/png") for a in assets}) == 3


def test_video_asset(api):
    final = api.wait_final(api.create(model="veo3.1/fast", duration="4s")["id"])
    assert final["credits_used"] == "6"
    (asset,) = final["assets"]
    assert asset["type"] == "video"
    assert asset["name"].startswith("Video-")
    video = download(asset["url"], "video/mp4")
    assert video[4:8] == b"ftyp"
    assert b"avc1" in video[:64]
    check_png(download(asset["thumbnail_url"], "image/png"))


def test_audio_asset(api):
    final = api.wait_final(api.create(model="elevenlabs/sound-effects", text="door slam")["id"])
    (asset,) = final["assets"]
    assert asset["type"] == "audio"
    assert asset["thumbnail_url"] is None
    audio = download(asset["url"], "audio/wav")
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
    with wave.open(io.BytesIO(audio)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        assert w.getnframes() == w.getframerate()  # one second


def test_media_streaming_and_errors(api, sandbox):
    final = api.wait_final(api.create()["id"])
    url = final["assets"][0]["url"]
    with requests.get(url, stream=True, timeout=10) as r:
        chunks = b"".join(r.iter_content(100))
    check_png(chunks)
    head = requests.head(url, timeout=10)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(chunks)
    assert requests.get(sandbox.base_url + "/media/nope.png", timeout=10).status_code == 404
    assert requests.get(sandbox.base_url + "/media/" + final["id"] + ".gif", timeout=10).status_code == 404
