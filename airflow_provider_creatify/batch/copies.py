"""A batch's asset copies: each done item's assets under ``<destination>/<key>/``, checked beforehand."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_creatify import destinations
from airflow_provider_creatify.batch.items import BatchItem, listing
from airflow_provider_creatify.exceptions import CreatifyAssetCopyError, CreatifyValidationError

if TYPE_CHECKING:
    from airflow_provider_creatify.hooks.creatify import CreatifyHook

#: What a key must look like to name its item's folder under ``destination``.
FOLDER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")


def check_destination(destination: str, allowed: Sequence[str] | None, items: Sequence[BatchItem]) -> None:
    """Refuse, before anything is created, a destination the copies may not use or keys that name no folder.

    :param allowed: folders ``destination`` must lie under; ``None``: anywhere.
    :raises CreatifyAssetRefusedError: a relative local path, or a destination outside ``allowed``.
    :raises CreatifyValidationError: keys that are not plain folder names (listing the first few).
    """
    destinations.check_local_is_absolute(destination)
    if allowed is not None:
        destinations.check_destination(destination, allowed)
    if bad := [repr(item.key) for item in items if not FOLDER_NAME.fullmatch(item.key)]:
        raise CreatifyValidationError(
            f"With a destination, each item's key names its folder, and {len(bad)} cannot: {listing(bad)}. "
            "Use keys of letters, digits, '_', '.' and '-' (at most 128, not starting with '.' or '-'); "
            "nothing was created."
        )


def copy_done(rows: Sequence[dict[str, Any]], destination: str, hook: CreatifyHook) -> None:
    """Copy each done item's assets to ``<destination>/<key>/``; record in its row where they landed.

    A copy that fails makes the item ``failed``, with the reason. Files already stored are skipped, so a
    retry copies only what is missing.
    """
    folder = destination.rstrip("/")
    for row in rows:
        if row["status"] != "done":
            continue
        try:
            row["stored"] = hook.copy_assets(row["asset_urls"], f"{folder}/{row['key']}/")
        except CreatifyAssetCopyError as err:
            row.update(status="failed", failed_reason=f"its assets could not be copied: {err}")
