"""Copy generated assets to durable storage, through the guards of ``storage.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_creatify import destinations, storage

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.types import RuntimeTaskInstanceProtocol

    from airflow_provider_creatify.lineage import OperatorLineage  # the [openlineage] extra's, via lineage.py

__all__ = ["CreatifyCopyAssetsOperator"]


class CreatifyCopyAssetsOperator(BaseOperator):
    """Copy generated assets to durable storage (Creatify's asset URLs do not last); return the paths.

    .. code-block:: python

        CreatifyCopyAssetsOperator(
            task_id="store",
            asset_urls=generate.output,  # the create operator's asset URLs
            destination="s3://aws_default@my-bucket/creatify/{{ ds }}/",
            allowed_destinations=["s3://aws_default@my-bucket/creatify/"],
        )

    See :func:`airflow_provider_creatify.storage.copy_assets`: streamed, deterministic names, files
    already stored are skipped, a file lands whole or not at all; https only, public hosts only unless
    ``allow_private_hosts``, a byte cap and a deadline per file. No Creatify connection is needed, unless
    downloads must go through the egress proxy set on one.
    XCom ``return_value``: the stored paths, in the URLs' order.

    :param asset_urls: the asset URLs (templated; usually an XComArg of the create operator).
    :param destination: an object storage folder URL (``file://``, ``s3://``, ``gs://``; templated).
    :param allowed_destinations: folders the rendered ``destination`` must lie under (not templated);
        ``None``: anywhere. Set it when a DAG param or any run input reaches ``destination``.
    :param allow_private_hosts: also download from private and loopback addresses (the sandbox);
        ``None``: Airflow's ``[creatify] allow_private_hosts``, read when the task runs (off by default).
    :param max_bytes: the largest file accepted (default 5 GiB).
    :param download_timeout: seconds allowed for one file in all (default 30 min).
    :param creatify_conn_id: a Creatify connection whose ``proxy`` extra the downloads go through;
        ``None``: direct. Through a proxy, host names are checked, not the addresses it connects to.
    :raises CreatifyAssetCopyError: a destination outside ``allowed_destinations`` (before any
        download), a refused URL or host, or a failed download.
    """

    template_fields: Sequence[str] = ("asset_urls", "destination")
    ui_color = "#f4e1ff"

    def __init__(
        self,
        *,
        asset_urls: list[str] | str,
        destination: str,
        allowed_destinations: Sequence[str] | None = None,
        allow_private_hosts: bool | None = None,
        max_bytes: int = storage.DEFAULT_MAX_BYTES,
        download_timeout: float = storage.DEFAULT_DOWNLOAD_TIMEOUT,
        creatify_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.asset_urls = asset_urls
        self.destination = destination
        self.allowed_destinations = (
            [allowed_destinations] if isinstance(allowed_destinations, str) else allowed_destinations
        )
        self.allow_private_hosts = allow_private_hosts
        self.max_bytes = max_bytes
        self.download_timeout = download_timeout
        self.creatify_conn_id = creatify_conn_id

    #: The asset URLs and the paths they were stored as, once copied (for OpenLineage).
    copied: tuple[list[str], list[str]] = ([], [])

    def execute(self, context: Context) -> list[str]:
        if self.allowed_destinations is not None:
            destinations.check_destination(str(self.destination), self.allowed_destinations)
        urls = [self.asset_urls] if isinstance(self.asset_urls, str) else list(self.asset_urls or [])
        stored = storage.copy_assets(
            urls,
            self.destination,
            download_timeout=self.download_timeout,
            max_bytes=self.max_bytes,
            allow_private_hosts=self.allow_private_hosts,
            proxy=self._proxy(),
            log=self.log,
        )
        self.copied = (urls, stored)
        return stored

    def _proxy(self) -> str | None:
        if self.creatify_conn_id is None:
            return None
        from airflow_provider_creatify.hooks.creatify import CreatifyHook

        return CreatifyHook(creatify_conn_id=self.creatify_conn_id).credentials.proxy

    def get_openlineage_facets_on_complete(
        self, task_instance: RuntimeTaskInstanceProtocol
    ) -> OperatorLineage:
        """OpenLineage (when installed): the asset URLs as inputs, the stored files as outputs."""
        from airflow_provider_creatify.lineage import copy_lineage

        return copy_lineage(*self.copied)
