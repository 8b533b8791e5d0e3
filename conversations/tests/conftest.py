"""Fixtures for conversation tests: shoppers with real sessions, conversations."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.backends.cached_db import SessionStore

from conversations import services
from csbot.identity import VISITOR_SESSION_KEY, Shopper


@pytest.fixture
def visitor() -> Shopper:
    return Shopper(user=None, visitor_id="v_test_visitor")


@pytest.fixture
def conversation(db, visitor):
    return services.conversation_open(shopper=visitor, channel="web", language="zh")


@pytest.fixture
def session_cookie(transactional_db):
    """A saved session for one visitor, as the cookie header a browser would send."""

    @database_sync_to_async
    def make(visitor_id: str = "v_ws_visitor") -> tuple[bytes, str]:
        store = SessionStore()
        store[VISITOR_SESSION_KEY] = visitor_id
        store.save()
        return f"sessionid={store.session_key}".encode(), visitor_id

    return make
