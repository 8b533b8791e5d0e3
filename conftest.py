"""Shared pytest fixtures for every app and the cross-app journeys."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with empty caches: the shared one (dialogue state, rate
    limits) and each process-level one (hot answers, FAQ, product names, intent model,
    banned words, the active experiment, LLM backends)."""
    from conversations.dialogue.faq import faq_index_reset
    from conversations.dialogue.hotcache import hot_local_reset
    from conversations.dialogue.slots import product_index_reset
    from conversations.llm.registry import backends_reset
    from experiments.selectors import experiments_reset
    from intents.runtime import runtime_reset
    from safety.banned import matcher_reset

    for reset in (
        cache.clear,
        hot_local_reset,
        faq_index_reset,
        product_index_reset,
        runtime_reset,
        matcher_reset,
        experiments_reset,
        backends_reset,
    ):
        reset()
    yield
    cache.clear()


@pytest.fixture
def demo_store(db):
    """The demo store of DESIGN.md §4, loaded through the real seed command."""
    from django.core.management import call_command

    call_command("seed_demo", "--with-accounts", verbosity=0)
