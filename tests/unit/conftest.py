"""What every unit test shares: a lost create's answer is searched for quickly (``quick_searches``)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def quick_searches(monkeypatch):
    """A lost answer is searched for LOST_SEARCHES times, milliseconds apart (not seconds)."""
    monkeypatch.setattr("airflow_provider_creatify.lost_creates.LOST_SEARCH_INTERVAL", 0.01)
