"""OpenLineage: what a generation read (the URLs in its ``input_params``: images, audio, video), what it
made (its assets), which generation it was; what a copy stored.

Imported only from the operators' ``get_openlineage_facets_on_complete``, which Airflow's OpenLineage
provider calls where it is installed (``pip install airflow-provider-creatify[openlineage]``): this module
imports it at the top; nothing else in the package does.

Internal: not a supported import; it may change in any release.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from airflow.providers.common.compat.openlineage.facet import Dataset, RunFacet
from airflow.providers.openlineage.extractors import OperatorLineage
from attrs import define

from airflow_provider_creatify.generation import Generation


@define
class CreatifyGenerationRunFacet(RunFacet):
    """The Creatify generation a task created or waited on (run facet ``creatify_generation``).

    :param generationId: Creatify's generation id.
    :param modelName: the model that ran it.
    :param status: its status when the task completed.
    :param creditsUsed: what it cost, once done.
    :param assetCount: how many assets it made.
    """

    generationId: str
    modelName: str | None
    status: str
    creditsUsed: float | None
    assetCount: int


def url_dataset(url: str) -> Dataset:
    """A URL as a dataset: namespace ``scheme://host[:port]``, name its path. The query (a signed URL's
    signature) and any user info are left out."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return Dataset(namespace=f"{parts.scheme}://{host}{port}", name=parts.path or "/")


def _datasets(urls: Iterable[str]) -> list[Dataset]:
    return [url_dataset(url) for url in dict.fromkeys(urls)]  # once each, in order


def generation_lineage(generation: Generation | None) -> OperatorLineage:
    """Inputs: the URLs the generation was given; outputs: its assets; the run facet. Empty before the
    task knew its generation."""
    if generation is None:
        return OperatorLineage()
    facet = CreatifyGenerationRunFacet(
        generationId=generation.id,
        modelName=generation.model_name,
        status=generation.status,
        creditsUsed=generation.credits_used,
        assetCount=len(generation.asset_urls),
    )
    return OperatorLineage(
        inputs=_datasets(generation.input_urls),
        outputs=_datasets(generation.asset_urls),
        run_facets={"creatify_generation": facet},
    )


def copy_lineage(asset_urls: Iterable[str], stored: Iterable[str]) -> OperatorLineage:
    """Inputs: the asset URLs; outputs: the files they were stored as (object storage paths)."""
    from airflow.sdk import ObjectStoragePath

    outputs = []
    for path in map(ObjectStoragePath, stored):
        # Airflow's namespace (s3://bucket, file); 3.1 keeps the connection id in it (s3://conn@bucket)
        scheme, sep, bucket = path.namespace.partition("://")
        outputs.append(Dataset(namespace=scheme + sep + bucket.rpartition("@")[2], name=path.key))
    return OperatorLineage(inputs=_datasets(asset_urls), outputs=outputs)
