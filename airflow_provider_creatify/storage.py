"""Streaming generated assets to any Airflow object storage, under deterministic names.

Needs no Creatify connection: asset URLs are fetched without the API credentials. What an asset URL (or a
redirect) points at is data, not an instruction: https only (plain http to loopback), public addresses
only unless allowed, a byte cap and a deadline per file, and a file lands whole or not at all.
requests, urllib3 and the object storage classes are imported where used: DAG files import this module.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import unquote, urljoin, urlsplit

from airflow_provider_creatify.addresses import (
    DownloadGuard,
    RefusedAddress,
    check_proxied_host,
    guarded_session,
    https_or_loopback,
)
from airflow_provider_creatify.destinations import check_local_is_absolute
from airflow_provider_creatify.exceptions import CreatifyAssetCopyError, CreatifyAssetRefusedError
from airflow_provider_creatify.generation import without_query
from airflow_provider_creatify.writes import make_local_folder, part_beside

if TYPE_CHECKING:
    import requests
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_creatify.protocols import Log

__all__ = ["copy_assets"]

#: Bytes read and written at a time: a video is never held in memory.
COPY_CHUNK_BYTES = 1024 * 1024
#: The default cap on one file's size.
DEFAULT_MAX_BYTES = 5 * 1024**3
#: The default time allowed for one file, start to end, in seconds.
DEFAULT_DOWNLOAD_TIMEOUT = 30 * 60.0
#: Redirects followed for one file, each hop checked like the URL itself.
MAX_REDIRECTS = 5
#: Longer asset URLs are refused.
MAX_URL_CHARS = 8192
#: The longest stored file name.
MAX_NAME_CHARS = 120

_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_log = logging.getLogger(__name__)


def redacted(url: str) -> str:
    """``url`` fit for a log line or a message: without its query (signed URLs carry their signature
    there), fragment and user info; control characters shown as ``?``; at most 300 characters."""
    shown = _CONTROL_CHARS.sub("?", without_query(str(url)))
    return shown if len(shown) <= 300 else shown[:297] + "..."


def asset_file_name(url: str) -> str:
    """A deterministic file name for an asset: a hash of the whole URL (fragment left out), then its name.

    The name is sanitized (``[A-Za-z0-9._-]``, anything else becomes ``_``, no leading dot) and the whole
    is at most :data:`MAX_NAME_CHARS` long, extension kept. URLs that differ only in their query get
    different names; a retry finds what an earlier try stored.

    :raises CreatifyAssetRefusedError: the URL is not text, holds a control character or is too long.
    """
    _check_text(url)
    whole = url.partition("#")[0]
    digest = hashlib.sha256(whole.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    path = unquote(whole.partition("?")[0].partition("://")[2].partition("/")[2])
    name = _UNSAFE_NAME_CHARS.sub("_", posixpath.basename(path)).lstrip(".") or "asset"
    room = MAX_NAME_CHARS - len(digest) - 1
    if len(name) > room:
        stem, extension = posixpath.splitext(name)
        extension = extension if len(extension) <= 16 else ""
        name = stem[: room - len(extension)] + extension
    return f"{digest}-{name}"


def copy_assets(
    asset_urls: Sequence[str],
    destination: str | ObjectStoragePath,
    *,
    request_timeout: float = 60.0,
    download_timeout: float = DEFAULT_DOWNLOAD_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_private_hosts: bool | None = None,
    proxy: str | None = None,
    log: Log = _log,
) -> list[str]:
    """Stream each asset into the ``destination`` folder; return the stored paths, in order.

    ``destination`` is any Airflow object storage URL (``file:///data/creatify/``, ``/data/creatify/``,
    ``s3://aws_default@bucket/creatify/``, ``gs://...``) or ``ObjectStoragePath``; a local folder must be
    an absolute path, and is made if missing. Names are
    :func:`asset_file_name`, so a retry skips what an earlier try stored. Each file is streamed in 1 MiB
    chunks to a temporary name in the folder, its length checked against ``Content-Length`` (when sent),
    then moved into place: a broken download leaves nothing under the final name, on any backend.

    Only ``https`` URLs are fetched (``http`` only from loopback), redirects included (at most
    :data:`MAX_REDIRECTS`, each hop checked). Unless ``allow_private_hosts``, the address actually
    connected to must be public (not private, loopback, link-local, reserved, multicast or a cloud
    metadata service), so DNS rebinding cannot slip past the check. Downloads go direct unless ``proxy``
    is given: proxy variables (``HTTPS_PROXY``) and ``.netrc`` are ignored, and no credentials are sent.

    :param asset_urls: the asset URLs, e.g. the create operator's ``asset_urls`` XCom.
    :param destination: the folder to store them in.
    :param request_timeout: seconds allowed to connect, and for each read.
    :param download_timeout: seconds allowed for one file in all (default 30 min).
    :param max_bytes: the largest file accepted (default 5 GiB).
    :param allow_private_hosts: also fetch from private and loopback addresses; ``None``: Airflow's
        ``[creatify] allow_private_hosts`` (off by default).
    :param proxy: an egress proxy (``http://proxy.internal:3128``) for https downloads. The proxy resolves
        and connects, so each host name is checked instead of the address connected to: an IP literal must
        be public, and a name that resolves here must resolve to public addresses only.
    :param log: where each copy (or skip) is logged, URLs without their query.
    :raises CreatifyAssetCopyError: naming the URL (without its query), the target and what to do;
        a :class:`CreatifyAssetRefusedError` (not retried by Airflow) when the URL, host, size or
        destination is not allowed.
    """
    from airflow.sdk import ObjectStoragePath

    if allow_private_hosts is None:
        from airflow.providers.common.compat.sdk import conf

        allow_private_hosts = conf.getboolean("creatify", "allow_private_hosts", fallback=False)
    check_local_is_absolute(str(destination))
    folder = destination if isinstance(destination, ObjectStoragePath) else ObjectStoragePath(destination)
    names = [asset_file_name(url) for url in asset_urls]  # every URL checked before any download
    for url in asset_urls:
        _check_hop(url, url)
    stored = []
    for url, name in zip(asset_urls, names, strict=True):
        target = folder / name
        if target.exists():
            log.info("Skipping %s: already copied to %s.", redacted(url), target)
        else:
            guard = DownloadGuard(not allow_private_hosts and not proxy, download_timeout)
            size = _download(
                url,
                target,
                guard,
                proxy=proxy,
                check_hosts=not allow_private_hosts,
                request_timeout=request_timeout,
                max_bytes=max_bytes,
                log=log,
            )
            log.info("Copied %s to %s (%d bytes).", redacted(url), target, size)
        stored.append(str(target))
    return stored


def _check_text(url: object) -> None:
    if not isinstance(url, str):
        reason = "is not a string"
    elif _CONTROL_CHARS.search(url):
        reason = "holds a control character"
    elif len(url) > MAX_URL_CHARS:
        reason = f"is longer than {MAX_URL_CHARS} characters"
    else:
        return
    raise CreatifyAssetRefusedError(
        f"Refused to copy Creatify asset {redacted(str(url))}: the URL {reason}. Check where the URL "
        "comes from (an asset URL of Creatify is short printable text)."
    )


def _check_hop(url: str, asked: str) -> None:
    _check_text(url)
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
    if host and https_or_loopback(parts.scheme, host):
        return
    hop = "" if url == asked else f" (redirected to {redacted(url)})"
    raise CreatifyAssetRefusedError(
        f"Refused to copy Creatify asset {redacted(asked)}{hop}: only https URLs are fetched (plain http "
        "only from loopback). Check where the URL comes from."
    )


def _download(
    url: str,
    target: ObjectStoragePath,
    guard: DownloadGuard,
    *,
    proxy: str | None,
    check_hosts: bool,
    request_timeout: float,
    max_bytes: int,
    log: Log,
) -> int:
    """Stream ``url`` to a temporary name beside ``target``, then move it into place; return its size."""
    part = part_beside(target)
    failed = f"Copying Creatify asset {redacted(url)} to {target} failed"
    try:
        make_local_folder(target)
        with guard, guarded_session(guard, proxy) as http:
            with _get(http, url, request_timeout, check_name=bool(proxy) and check_hosts) as response:
                size = _write(response, part, max_bytes, failed)
            if guard.expired:
                raise TimeoutError
        part.rename(target)
        return size
    except Exception as exc:
        try:
            part.unlink(missing_ok=True)
        except Exception:
            log.warning("Could not remove the partial file %s; delete it by hand.", part)
        if guard.expired:
            raise CreatifyAssetCopyError(
                f"{failed}: not done within download_timeout ({guard.seconds:g} s). Raise "
                "download_timeout for large files, or check the asset host."
            ) from None
        if isinstance(exc, RefusedAddress):
            raise CreatifyAssetRefusedError(
                f"Refused to copy Creatify asset {redacted(url)}: the host {exc.host} resolves to "
                f"{exc.address}, not a public address. Set allow_private_hosts (or [creatify] "
                "allow_private_hosts) only if that host is meant to be reached."
            ) from None
        if isinstance(exc, CreatifyAssetCopyError):
            raise
        # requests' own messages carry the URL with its query: say only what kind of failure it was
        own = isinstance(exc, OSError) and not type(exc).__module__.startswith(("requests", "urllib3"))
        raise CreatifyAssetCopyError(
            f"{failed}: {exc if own else type(exc).__name__}. Retry the task: assets already copied are "
            "skipped."
        ) from None


def _get(http: requests.Session, url: str, request_timeout: float, *, check_name: bool) -> requests.Response:
    """GET ``url``, following at most :data:`MAX_REDIRECTS` redirects, each hop checked first.

    :param check_name: check each hop's host name too (a proxy connects, so no address is checked).
    """
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        _check_hop(current, url)
        if check_name:
            check_proxied_host(urlsplit(current).hostname or "")
        response = http.get(
            current,
            stream=True,
            timeout=request_timeout,
            allow_redirects=False,
            headers={"Accept-Encoding": "identity"},
        )
        location = http.get_redirect_target(response)
        if location is None:
            return response
        response.close()
        current = urljoin(current, location).partition("#")[0]
    raise CreatifyAssetRefusedError(
        f"Copying Creatify asset {redacted(url)} failed: more than {MAX_REDIRECTS} redirects. Check the URL."
    )


def _write(response: requests.Response, part: ObjectStoragePath, max_bytes: int, failed: str) -> int:
    if response.status_code != 200:
        raise CreatifyAssetCopyError(
            f"{failed}: the server answered HTTP {response.status_code}. Check that the URL is still valid "
            "(asset URLs expire). Retry the task: assets already copied are skipped."
        )
    header = response.headers.get("Content-Length")
    announced = int(header) if header is not None and header.strip().isdigit() else None
    if header is not None and announced is None:
        raise CreatifyAssetCopyError(f"{failed}: an invalid Content-Length. Retry the task.")
    if announced is not None and announced > max_bytes:
        raise CreatifyAssetRefusedError(
            f"{failed}: it announces {announced} bytes, more than max_bytes ({max_bytes}). Raise max_bytes "
            "if the file is meant to be that large."
        )
    size = 0
    with part.open("wb") as out:
        for chunk in response.iter_content(COPY_CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                raise CreatifyAssetRefusedError(
                    f"{failed}: more than max_bytes ({max_bytes}) were sent. Raise max_bytes if the file "
                    "is meant to be that large."
                )
            out.write(chunk)
    encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    if announced is not None and not encoded and size != announced:
        raise CreatifyAssetCopyError(
            f"{failed}: {size} of the {announced} bytes announced arrived. Retry the task."
        )
    return size
