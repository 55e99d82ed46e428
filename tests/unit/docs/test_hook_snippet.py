"""The CreatifyHook snippet of docs/operators.md runs as written, against the sandbox over real HTTP.

Only its destination folder is swapped for a temporary one. Each expression statement's value is kept
(by the name of the method or attribute it ends with), so the test checks what the comments say.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from airflow_provider_creatify.generation import Generation
from airflow_provider_creatify.hooks.creatify import CreatifyHook
from tests.helpers import POST_PATH
from tests.unit.docs.doc_markdown import python_blocks, section

#: The folder the snippet stores the assets in; the test stores them under its tmp_path instead.
DOC_DESTINATION = '"file:///tmp/creatify-assets/"'


def hook_snippet() -> str:
    blocks = python_blocks(section("CreatifyHook"))
    assert len(blocks) == 1, "the CreatifyHook section has one Python block"
    return blocks[0]


def _name(node: ast.expr) -> str:
    """``list_models`` for ``hook.list_models(...)``, ``asset_urls`` for ``generation.asset_urls``."""
    target = node.func if isinstance(node, ast.Call) else node
    assert isinstance(target, ast.Attribute), ast.unparse(node)
    return target.attr


def run_keeping_values(source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Execute ``source`` as a module; return its globals and the value of each expression statement."""
    tree = ast.parse(source)
    for i, node in enumerate(tree.body):
        if isinstance(node, ast.Expr):  # `hook.f(...)` becomes `_values["f"] = hook.f(...)`
            key = ast.Subscript(ast.Name("_values", ast.Load()), ast.Constant(_name(node.value)), ast.Store())
            tree.body[i] = ast.copy_location(ast.Assign([key], node.value), node)
    values: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__name__": "operators_md_hook_snippet", "_values": values}
    exec(compile(ast.fix_missing_locations(tree), "docs/operators.md#creatifyhook", "exec"), namespace)
    return namespace, values


def test_the_hook_snippet_runs_against_the_sandbox(creatify_conn, tmp_path: Path):
    # creatify_sandbox (under creatify_conn) sets AIRFLOW__CREATIFY__ALLOW_PRIVATE_HOSTS=True: the sandbox
    # serves its assets from 127.0.0.1, which copies refuse by default.
    source = hook_snippet()
    assert source.count(DOC_DESTINATION) == 1, "the snippet names its destination once"
    folder = tmp_path / "assets"
    balance = CreatifyHook().remaining_credits()

    namespace, values = run_keeping_values(source.replace(DOC_DESTINATION, repr(folder.as_uri() + "/")))

    generation = namespace["generation"]
    assert isinstance(generation, Generation) and generation.is_done
    assert creatify_conn.count("POST", POST_PATH) == 1  # what the text says it buys: one image
    assert [m["model_name"] for m in values["list_models"]] == ["nano-banana"]
    assert "input_params_schema" in values["list_models"][0]
    (described,) = values["describe_models"]
    assert described["model_name"] == "nano-banana" and "prompt" in {f["name"] for f in described["fields"]}
    assert values["validate_input"] is None
    assert values["asset_urls"] == generation.asset_urls and len(generation.asset_urls) == 1
    assert values["credits_used"] == 0.5  # the Costs table's nano-banana price
    (stored,) = values["copy_assets"]  # a file:// URL, as the destination is one
    assert stored.startswith(folder.as_uri() + "/")
    asset = requests.get(generation.asset_urls[0], timeout=10)
    assert Path(urlsplit(stored).path).read_bytes() == asset.content
    assert generation.id in {g.id for g in namespace["recent"]}
    by_id = values["get_generations"]
    assert by_id[generation.id].asset_urls == generation.asset_urls and None not in by_id.values()
    assert values["remaining_credits"] == balance - 0.5
