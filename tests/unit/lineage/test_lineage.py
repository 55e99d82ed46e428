"""lineage.py: URLs as datasets, the URLs among input_params, what a generation and a copy report."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "airflow.providers.openlineage", reason="apache-airflow-providers-openlineage is in the test extra"
)

from airflow_provider_creatify.generation import Generation, urls_in
from airflow_provider_creatify.lineage import (
    copy_lineage,
    generation_lineage,
    url_dataset,
)


def test_a_url_is_a_dataset_without_its_query_or_user_info():
    dataset = url_dataset("https://user:secret@cdn.creatify.ai:8443/a/b.png?X-Amz-Signature=abc")
    assert (dataset.namespace, dataset.name) == ("https://cdn.creatify.ai:8443", "/a/b.png")


def test_the_urls_among_input_params_at_any_depth():
    params = {
        "prompt": "see https://example.com in the text",  # not a URL value
        "image_url": "https://cdn.creatify.ai/1.png",
        "reference_images": ["https://cdn.creatify.ai/2.png", {"url": "http://host/3.png"}],
        "seed": 3,
    }
    assert list(urls_in(params)) == [
        "https://cdn.creatify.ai/1.png",
        "https://cdn.creatify.ai/2.png",
        "http://host/3.png",
    ]


def test_a_generation_reports_inputs_outputs_and_its_facet():
    generation = Generation.from_api(
        {
            "id": "g1",
            "status": "done",
            "model_name": "kling",
            "input_params": {
                "image_url": "https://cdn.creatify.ai/in.png",
                "again": "https://cdn.creatify.ai/in.png",
            },
            "assets": [{"url": "https://cdn.creatify.ai/out.mp4?sig=1"}],
            "credits_used": "12",
        }
    )
    lineage = generation_lineage(generation)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("https://cdn.creatify.ai", "/in.png")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("https://cdn.creatify.ai", "/out.mp4")]
    facet = lineage.run_facets["creatify_generation"]
    assert (facet.generationId, facet.modelName, facet.status, facet.creditsUsed, facet.assetCount) == (
        "g1",
        "kling",
        "done",
        12.0,
        1,
    )
    assert generation_lineage(None).inputs == []  # the task never knew its generation


def test_a_copy_reports_the_stored_files_without_a_connection_id():
    lineage = copy_lineage(["https://cdn.creatify.ai/x.png"], ["s3://aws_default@bucket/creatify/x.png"])
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("https://cdn.creatify.ai", "/x.png")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("s3://bucket", "creatify/x.png")]
