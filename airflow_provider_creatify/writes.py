"""Files that land whole or not at all, on local disk and on object storage alike.

A file is written under a temporary name beside its target (:func:`part_beside`), then moved into place:
a writer killed midway leaves no target, at most a ``.part`` file.

Internal: not a supported import; it may change in any release.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from airflow_provider_creatify.destinations import LOCAL_SCHEMES

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath


def as_path(url: str | ObjectStoragePath) -> ObjectStoragePath:
    """A storage URL (or path) as an ``ObjectStoragePath``."""
    from airflow.sdk import ObjectStoragePath

    return url if isinstance(url, ObjectStoragePath) else ObjectStoragePath(url)


def part_beside(target: ObjectStoragePath) -> ObjectStoragePath:
    """The temporary name beside ``target``: ``.<name>.<random>.part``."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.part")


def make_local_folder(target: ObjectStoragePath) -> None:
    """Make ``target``'s folder on local disk; object stores have no folders to make."""
    if target.protocol in LOCAL_SCHEMES:
        target.parent.mkdir(parents=True, exist_ok=True)


def write_whole(target: ObjectStoragePath, text: str) -> None:
    """Write ``text`` under :func:`part_beside` ``target``, then move it into place."""
    make_local_folder(target)
    part = part_beside(target)
    part.write_text(text)
    part.rename(target)
