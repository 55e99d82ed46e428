"""The numbers that "What the provider depends on" in docs/reliability.md quotes are the code's constants.

Each is read back from the section's text (the phrase that carries it) and compared with the constant, so
a changed rest, page cap or search window cannot leave the page saying the old one.
"""

from __future__ import annotations

import re

import pytest

from airflow_provider_creatify.endpoints import MAX_IDS_PER_READ
from airflow_provider_creatify.hooks._batch import LIST_REST_SECONDS
from airflow_provider_creatify.hooks._generations import MAX_LIST_PAGES
from airflow_provider_creatify.hooks._http import CREATE_THROTTLE_BUDGET
from airflow_provider_creatify.hooks._models import MAX_SCHEMA_PAGES
from airflow_provider_creatify.lost_creates import (
    CLOCK_SKEW_SECONDS,
    LOST_SEARCH_INTERVAL,
    LOST_SEARCHES,
)
from tests.unit.docs.doc_markdown import ROOT, section

RELIABILITY_MD = ROOT / "docs" / "reliability.md"

#: A phrase of the section, its number as a group, and what the number must be (seconds as quoted).
QUOTED = [
    (r"for the next (\d+) s \(`LIST_REST_SECONDS`\)", LIST_REST_SECONDS),
    (r"at most (\d+) pages \(`MAX_SCHEMA_PAGES`\)", MAX_SCHEMA_PAGES),
    (r"\(at most (\d+) ids a request\)", MAX_IDS_PER_READ),
    (r"`GET /api/asset_generator/\?limit=(\d+)`", MAX_IDS_PER_READ),
    (r"at most (\d+) pages \(`MAX_LIST_PAGES`\)", MAX_LIST_PAGES),
    (r"reads the list up to (\d+) times", LOST_SEARCHES),
    (r"times, (\d+) s apart", LOST_SEARCH_INTERVAL),
    (r"less (\d+) minutes of clock skew", CLOCK_SKEW_SECONDS / 60),
    (r"a 429 \(retried for up to (\d+) minutes of waits\)", CREATE_THROTTLE_BUDGET / 60),
]


def contract_text() -> str:
    """The section as one line of prose (its paragraphs wrap anywhere)."""
    return " ".join(line.strip() for line in section("What the provider depends on", RELIABILITY_MD))


@pytest.mark.parametrize(("phrase", "value"), QUOTED, ids=[phrase for phrase, _ in QUOTED])
def test_each_number_quoted_is_the_codes(phrase: str, value: float):
    found = re.findall(phrase, contract_text())
    assert len(found) == 1, f"the section says {phrase!r} once"
    assert float(found[0]) == value


def test_the_contract_is_the_three_documented_endpoints():
    text = contract_text()
    documented = [
        "GET /api/asset_generator/schemas/",
        "POST /api/asset_generator/",
        "GET /api/asset_generator/{id}/",
    ]
    assert [endpoint for endpoint in documented if f"**`{endpoint}`**" not in text] == []
