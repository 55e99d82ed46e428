"""Creatify's Asset Generator API paths: the one place they are written, for the hook, the sandbox that
serves them and the tests.

Standard library only: the sandbox imports no Airflow, and DAG files import the hook on every parse.

Internal: not a supported import; it may change in any release.
"""

from __future__ import annotations

#: ``POST``: create a generation; ``GET``: the account's generations, or those of ``?ids=`` (a list).
GENERATIONS_PATH = "/api/asset_generator/"
#: ``GET``: the models and their input schemas (``?model_name=a,b`` filters).
SCHEMAS_PATH = "/api/asset_generator/schemas/"
#: ``GET``: the account's credit balance.
CREDITS_PATH = "/api/remaining_credits/"
#: ``GET``: one generation, as a template (``{id}``): :func:`generation_path` fills it in.
GENERATION_PATH = "/api/asset_generator/{id}/"
#: The most ids one ``GET /api/asset_generator/?ids=`` may carry (documented).
MAX_IDS_PER_READ = 100


def generation_path(generation_id: str) -> str:
    """The path of one generation."""
    return GENERATION_PATH.format(id=generation_id)
