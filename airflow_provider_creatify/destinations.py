"""Where asset copies may land: a destination checked against the allowed folders, as text only.

Used by :class:`~airflow_provider_creatify.operators.creatify.CreatifyCopyAssetsOperator` before it
downloads anything, since its ``destination`` may come from a DAG param.

Internal: not a supported import; it may change in any release.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

from airflow_provider_creatify.exceptions import CreatifyAssetRefusedError

#: URL schemes of the local file system, where a path must be absolute.
LOCAL_SCHEMES = ("", "file", "local")


def check_destination(destination: str, allowed: Sequence[str]) -> None:
    """Refuse ``destination`` unless it lies under one of the ``allowed`` folders.

    Under means: the same protocol and bucket (or connection), a path that starts with the allowed one on
    a ``/`` boundary; a destination with a ``.``/``..`` segment, a query or a fragment is never under.
    A local path must be absolute, in ``destination`` and in ``allowed``.

    :raises CreatifyAssetRefusedError: the destination is not allowed (nothing was downloaded).
    """
    roots = [allowed] if isinstance(allowed, str) else list(allowed)
    check_local_is_absolute(destination)
    for root in roots:
        check_local_is_absolute(root, what="allowed destination")
    wanted = _location(destination)
    places = [_location(root) for root in roots]
    if wanted is not None and any(
        root is not None and root[:2] == wanted[:2] and wanted[2][: len(root[2])] == root[2]
        for root in places
    ):
        return
    raise CreatifyAssetRefusedError(
        f"Refused to copy Creatify assets to {destination!r}: it is not under an allowed destination "
        f"({', '.join(map(repr, roots))}). Pick a folder under one of them, or widen the operator's "
        "allowed_destinations."
    )


def check_local_is_absolute(url: str, *, what: str = "destination") -> None:
    """Refuse a local folder given by a relative path (``data/x/``, ``file://data/x/``).

    A relative path lands under the worker's current directory, which differs between workers and runs.

    :param what: what ``url`` is, for the message.
    :raises CreatifyAssetRefusedError: naming the path and the absolute forms to use instead.
    """
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return  # not a URL at all: _location refuses it
    if parts.scheme.lower() not in LOCAL_SCHEMES or (not parts.netloc and parts.path.startswith("/")):
        return
    raise CreatifyAssetRefusedError(
        f"Refused to copy Creatify assets: the {what} {url!r} is a relative path. A local folder must be "
        "an absolute path, since a relative one lands under whatever the worker's current directory is. "
        "Write it as /data/creatify/ or file:///data/creatify/."
    )


def _location(url: str) -> tuple[str, str, tuple[str, ...]] | None:
    """(protocol, bucket or connection, path segments) of a storage URL; ``None`` when it is unsafe."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return None
    segments = [s for path in (parts.path, unquote(parts.path)) for s in path.split("/")]
    if "?" in str(url) or "#" in str(url) or "." in segments or ".." in segments:
        return None
    scheme = "file" if parts.scheme.lower() in LOCAL_SCHEMES else parts.scheme.lower()
    return scheme, parts.netloc, tuple(s for s in unquote(parts.path).split("/") if s)
