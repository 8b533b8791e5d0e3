"""Fixtures for handoff tests: the demo store's agents, shoppers' conversations, a way
to send a shopper message the way the socket does, and logged-in session cookies."""

import itertools

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.cached_db import SessionStore
from django.test import Client

from conversations import services
from conversations.models import Conversation, Message
from csbot.identity import VISITOR_SESSION_KEY, Shopper
from handoff.models import CannedReply

_ids = itertools.count()


@pytest.fixture(autouse=True)
def _agents_on_duty(settings):
    """Agents are on duty whatever the time of day the suite runs; the after-hours
    tests say otherwise for themselves."""
    settings.CSBOT_AGENT_HOURS = "00:00-24:00"


@pytest.fixture
def agent1(demo_store):
    return get_user_model().objects.get(username="agent1")


@pytest.fixture
def agent2(demo_store):
    return get_user_model().objects.get(username="agent2")


@pytest.fixture
def make_agent(demo_store):
    """A fresh staff user in the agents group (for capacity and race tests)."""

    def make(username: str):
        user = get_user_model().objects.create_user(username, password="x", is_staff=True)
        user.groups.add(Group.objects.get(name="agents"))
        return user

    return make


@pytest.fixture
def open_chat(demo_store):
    """A new shopper conversation (anonymous visitor) in the given language."""

    def open_(visitor: str = "v_shopper", lang: str = "zh") -> Conversation:
        return services.conversation_open(
            shopper=Shopper(user=None, visitor_id=visitor), channel="web", language=lang
        )

    return open_


@pytest.fixture
def say(django_capture_on_commit_callbacks):
    """Store one shopper message (its reply runs in-process) and return what was stored
    after it: the bot's reply and any handoff notes."""

    def say(conversation: Conversation, text: str) -> list[Message]:
        with django_capture_on_commit_callbacks(execute=True):
            message, _ = services.message_receive(
                conversation=conversation, text=text, client_msg_id=f"s{next(_ids)}"
            )
        return list(Message.objects.filter(conversation=conversation, seq__gte=message.seq))

    return say


@pytest.fixture
def canned(db):
    """The starter canned replies the migration loads (made here too: a transactional
    test before this one empties every table)."""
    rows = [
        (
            "问候",
            "Greeting",
            "您好，我是人工客服{agent}，很高兴为您服务。请问有什么可以帮您？",
            "Hi, I'm {agent} from customer service. How can I help you?",
        ),
        (
            "查询订单",
            "Checking the order",
            "好的，我这就为您查询订单 {order_no} 的情况，请稍等一下。",
            "Sure, I'm checking order {order_no} for you now; one moment please.",
        ),
    ]
    for position, (title_zh, title_en, zh, en) in enumerate(rows):
        CannedReply.objects.update_or_create(
            title_en=title_en,
            defaults={"title_zh": title_zh, "text_zh": zh, "text_en": en, "position": position},
        )


@pytest.fixture
def visitor_cookie():
    """The Cookie header of an anonymous visitor's saved session."""

    @database_sync_to_async
    def cookie(visitor_id: str) -> bytes:
        store = SessionStore()
        store[VISITOR_SESSION_KEY] = visitor_id
        store.save()
        return f"sessionid={store.session_key}".encode()

    return cookie


@pytest.fixture
def login_cookie():
    """The Cookie header of a browser logged in as `user`."""

    @database_sync_to_async
    def cookie(user) -> bytes:
        client = Client()
        client.force_login(user)
        return f"sessionid={client.cookies['sessionid'].value}".encode()

    return cookie
