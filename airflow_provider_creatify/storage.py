"""Streaming generated assets to any Airflow object storage, under deterministic names.

Needs no Creatify connection: asset URLs are fetched as they are, without the API credentials.
requests and the object storage classes are imported where used: DAG files import this module.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from airflow_provider_creatify.exceptions import CreatifyAssetCopyError

if TYPE_CHECKING:
    import requests
    from airflow.sdk import ObjectStoragePath

#: Bytes read and written at a time: a video is never held in memory.
COPY_CHUNK_BYTES = 1024 * 1024

_log = logging.getLogger(__name__)


def asset_file_name(url: str) -> str:
    """A deterministic file name for an asset: a short hash of its URL (query left out), then its name."""
    parts = urlsplit(url)
    name = posixpath.basename(unquote(parts.path)) or "asset"
    return f"{hashlib.sha256((parts.netloc + parts.path).encode()).hexdigest()[:12]}-{name}"


def copy_assets(
    asset_urls: Sequence[str],
    destination: str | ObjectStoragePath,
    *,
    request_timeout: float = 60.0,
    log: Any = _log,
) -> list[str]:
    """Stream each asset into the ``destination`` folder; return the stored paths, in order.

    ``destination`` is any Airflow object storage URL (``file:///data/creatify/``,
    ``s3://aws_default@bucket/creatify/``, ``gs://...``) or ``ObjectStoragePath``. Names are
    :func:`asset_file_name`, so a retry skips what an earlier try stored. Files are streamed in 1 MiB
    chunks; local ones are written under ``.part`` first, so a broken transfer never looks copied.

    :param asset_urls: the asset URLs, e.g. the create operator's ``asset_urls`` XCom.
    :param destination: the folder to store them in.
    :param request_timeout: seconds allowed for each download to connect and to send each chunk.
    :param log: where each copy (or skip) is logged.
    :raises CreatifyAssetCopyError: naming the URL and the target.
    """
    import requests
    from airflow.sdk import ObjectStoragePath

    folder = destination if isinstance(destination, ObjectStoragePath) else ObjectStoragePath(destination)
    stored = []
    with requests.Session() as http:
        for url in asset_urls:
            target = folder / asset_file_name(url)
            if target.exists():
                log.info("Skipping %s: already copied to %s.", url, target)
            else:
                _stream(http, url, target, request_timeout)
                log.info("Copied %s to %s.", url, target)
            stored.append(str(target))
    return stored


def _stream(http: requests.Session, url: str, target: ObjectStoragePath, request_timeout: float) -> None:
    import requests

    local = target.protocol in ("file", "local")
    part = target.with_name(target.name + ".part") if local else target
    try:
        if local:
            target.parent.mkdir(parents=True, exist_ok=True)
        with http.get(url, stream=True, timeout=request_timeout) as response:
            response.raise_for_status()
            with part.open("wb") as out:
                for chunk in response.iter_content(COPY_CHUNK_BYTES):
                    out.write(chunk)
        if local:
            part.rename(target)
    except (requests.RequestException, OSError) as exc:
        raise CreatifyAssetCopyError(
            f"Copying Creatify asset {url} to {target} failed: {exc}. Retry the task: assets already "
            "copied are skipped."
        ) from None
