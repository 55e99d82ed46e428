"""Asset files served under ``/media/``: deterministic PNGs, WAVs and a bundled sample MP4."""

from __future__ import annotations

import hashlib
import io
import math
import struct
import wave
import zlib
from functools import lru_cache
from importlib import resources

CONTENT_TYPES = {"png": "image/png", "mp4": "video/mp4", "wav": "audio/wav"}
EXTENSIONS = {"image": "png", "video": "mp4", "audio": "wav"}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


@lru_cache(maxsize=512)
def png(seed: str, size: int = 64) -> bytes:
    """A valid ``size``x``size`` RGB PNG whose colours are derived from ``seed``."""
    d = hashlib.sha256(seed.encode()).digest()
    (r0, g0, b0), (r1, g1, b1) = d[0:3], d[3:6]
    rows = []
    for y in range(size):
        row = bytearray(b"\x00")  # filter type: None
        for x in range(size):
            t = (x + y) / (2 * size - 2 or 1)
            row += bytes(
                (int(r0 + (r1 - r0) * t) & 255, int(g0 + (g1 - g0) * t) & 255, int(b0 + (b1 - b0) * t) & 255)
            )
        rows.append(bytes(row))
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk(b"IEND", b"")
    )


@lru_cache(maxsize=128)
def wav(seed: str, seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A valid mono 16-bit PCM WAV: a sine tone whose pitch is derived from ``seed``."""
    freq = 220 + hashlib.sha256(seed.encode()).digest()[0] * 3
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * freq * i / rate)))
        for i in range(int(rate * seconds))
    )
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


@lru_cache(maxsize=1)
def mp4() -> bytes:
    """The bundled 1-second 64x64 H.264 sample video."""
    return resources.files("airflow_provider_creatify.sandbox").joinpath("media/sample.mp4").read_bytes()


def media_file(name: str) -> tuple[bytes, str] | None:
    """Bytes and content type for a media file name (``<uuid>.png``, ``<uuid>_thumb.png``, ...)."""
    stem, _, ext = name.rpartition(".")
    if ext not in CONTENT_TYPES or not stem:
        return None
    thumb = stem.endswith("_thumb")
    if thumb:
        stem = stem[: -len("_thumb")]
    if not _is_uuid(stem):
        return None
    if thumb:
        return (png("thumb:" + stem, 32), CONTENT_TYPES["png"]) if ext == "png" else None
    if ext == "png":
        return png(stem), CONTENT_TYPES[ext]
    if ext == "wav":
        return wav(stem), CONTENT_TYPES[ext]
    return mp4(), CONTENT_TYPES[ext]


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
