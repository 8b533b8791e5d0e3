"""Safety inside the reply pipeline, through POST /api/chat/: banned words refused or
masked (and not kept), bot output screened, anger carried to the handoff queue.
"""

import json

import pytest

from conversations.models import Message
from handoff.models import HandoffRequest
from safety import services
from safety.models import SafetyFlag

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("demo_store"),
]


@pytest.fixture
def words():
    services.banned_word_save(word="法轮功", category="illegal", action="block")
    services.banned_word_save(word="傻逼", category="abuse", action="mask")


def say(client, text, **extra):
    response = client.post(
        "/api/chat/", data=json.dumps({"text": text}), content_type="application/json", **extra
    )
    assert response.status_code == 200
    return response.json()


def test_a_blocked_message_gets_the_polite_refusal_and_is_flagged(client, words):
    body = say(client, "你们卖法 輪 功的书吗")
    (bot,) = [f for f in body["replies"] if f["type"] == "bot"]
    assert bot["text"] == services.REFUSAL["zh"]
    assert bot["intent"] is None
    assert Message.objects.get(sender="shopper").text == "你们卖* * *的书吗"
    flag = SafetyFlag.objects.get()
    assert (flag.action, flag.masked_text) == ("block", "你们卖* * *的书吗")


def test_a_masked_word_is_starred_and_the_question_still_answered(client, words):
    body = say(client, "傻 逼快递，运费怎么算")
    (bot,) = [f for f in body["replies"] if f["type"] == "bot"]
    assert bot["intent"] == "consult.logistics.shipping_fee"
    assert Message.objects.get(sender="shopper").text == "* *快递，运费怎么算"


def test_anger_reaches_the_handoff_queue(client, settings):
    settings.CSBOT_ANGER_ACTION = "handoff"
    say(client, "你们就是骗子！！气死我了，退钱！")
    handoff = HandoffRequest.objects.get()
    assert handoff.sentiment == "angry"


def test_anger_in_the_queue_moves_the_chat_up_a_level(client, settings):
    settings.CSBOT_ANGER_ACTION = "priority"
    say(client, "转人工")
    assert HandoffRequest.objects.get().priority == HandoffRequest.Priority.NORMAL
    say(client, "怎么还没人理我！！气死我了！！")
    handoff = HandoffRequest.objects.get()
    assert (handoff.priority, handoff.sentiment) == (HandoffRequest.Priority.HIGH, "angry")


def test_anger_without_a_queue_only_raises_a_later_handoff(client, settings):
    settings.CSBOT_ANGER_ACTION = "priority"
    say(client, "气死我了！！你们这什么破服务！！")
    assert not HandoffRequest.objects.exists()
