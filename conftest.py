"""Shared pytest fixtures for every app and the cross-app journeys."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache (dialogue state, rate limits)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def demo_store(db):
    """The demo store of DESIGN.md §4, loaded through the real seed command."""
    from django.core.management import call_command

    call_command("seed_demo", "--with-accounts", verbosity=0)
