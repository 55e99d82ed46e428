"""Many generations in one task: its items, its write-ahead journal and its manifest, in object storage.

Everything lives under the batch's ``output_path`` (any Airflow object storage folder): the journal in
``state/`` (:mod:`.journal`) and, once the batch ends, ``manifest.jsonl`` (:func:`read_manifest`).
The operator is :class:`~airflow_provider_creatify.operators.batch.CreatifyBatchGenerationOperator`.
"""

from __future__ import annotations

from airflow_provider_creatify.batch.manifest import MANIFEST_NAME, STATUSES, read_manifest

__all__ = ["MANIFEST_NAME", "STATUSES", "read_manifest"]
