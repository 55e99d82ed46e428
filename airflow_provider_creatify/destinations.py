"""Where asset copies may land: a destination checked against the allowed folders, as text only.

Used by :class:`~airflow_provider_creatify.operators.creatify.CreatifyCopyAssetsOperator` before it
downloads anything, since its ``destination`` may come from a DAG param.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

from airflow_provider_creatify.exceptions import CreatifyAssetRefusedError


def check_destination(destination: str, allowed: Sequence[str]) -> None:
    """Refuse ``destination`` unless it lies under one of the ``allowed`` folders.

    Under means: the same protocol and bucket (or connection), a path that starts with the allowed one on
    a ``/`` boundary; a destination with a ``.``/``..`` segment, a query or a fragment is never under.

    :raises CreatifyAssetRefusedError: the destination is not allowed (nothing was downloaded).
    """
    wanted = _location(destination)
    roots = [_location(root) for root in ([allowed] if isinstance(allowed, str) else allowed)]
    if wanted is not None and any(
        root is not None and root[:2] == wanted[:2] and wanted[2][: len(root[2])] == root[2] for root in roots
    ):
        return
    raise CreatifyAssetRefusedError(
        f"Refused to copy Creatify assets to {destination!r}: it is not under an allowed destination "
        f"({', '.join(map(repr, allowed))}). Pick a folder under one of them, or widen the operator's "
        "allowed_destinations."
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
    scheme = "file" if parts.scheme.lower() in ("", "file", "local") else parts.scheme.lower()
    return scheme, parts.netloc, tuple(s for s in unquote(parts.path).split("/") if s)
