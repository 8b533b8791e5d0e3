"""Shared pytest fixtures for every app and the cross-app journeys."""

import pytest
from django.core.cache import cache

# Every frame the server sends during a test is checked against its declared schema.
pytest_plugins = ["tests.frame_check"]


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with empty caches: the shared one (dialogue state, rate limits,
    generations) and every process-level one. What the process derives from the shop
    facts (prices, product and FAQ indexes, hot answers, banned words, the active
    experiment) goes through `csbot.cache.local_reset_all`; the intent model and the LLM
    backends, which are not shop facts, have their own resets."""
    from conversations.llm.registry import backends_reset
    from csbot.cache import local_reset_all
    from intents.runtime import runtime_reset

    for reset in (cache.clear, local_reset_all, runtime_reset, backends_reset):
        reset()
    yield
    cache.clear()
    local_reset_all()


@pytest.fixture
def demo_store(db):
    """The demo store of docs/protocol.md §11, loaded through the real seed command."""
    from django.core.management import call_command

    call_command("seed_demo", "--with-accounts", verbosity=0)
