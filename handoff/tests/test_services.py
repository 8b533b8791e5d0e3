"""The handoff queue through its services: order, place and wait, take (race and
capacity), agent messages, release to the bot, close and CSAT, after hours, triggers."""

import json
import os
import threading
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from conversations import services as chat
from conversations.hours import agents_on_duty
from conversations.models import Conversation, Csat, Message
from csbot.errors import ChatError, ErrorCode
from handoff import selectors, services
from handoff.models import AgentProfile, CannedReply, HandoffEvent, HandoffRequest

SERVICES_RUN = os.environ.get("CSBOT_TEST_RUN") == "services"


def events(handoff) -> list[str]:
    return list(handoff.events.order_by("pk").values_list("kind", flat=True))


def snapshot(conversation):
    """Everything a refused agent action must leave as it was."""
    conversation.refresh_from_db()
    handoffs = list(
        HandoffRequest.objects.filter(conversation=conversation)
        .order_by("pk")
        .values_list("status", "agent_id", "resolution_note", "ended_at")
    )
    return (
        conversation.status,
        conversation.last_seq,
        handoffs,
        HandoffEvent.objects.filter(handoff__conversation=conversation).count(),
    )


def queued(open_chat, visitor, reason="requested", **kwargs):
    conversation = open_chat(visitor)
    handoff = services.handoff_open(conversation=conversation, reason=reason, **kwargs)
    return conversation, handoff


def age(handoff, minutes: int) -> None:
    HandoffRequest.objects.filter(pk=handoff.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes)
    )


# --- queue order, place, wait ---------------------------------------------------


def test_queue_is_ordered_by_priority_then_waiting_time(open_chat):
    _, normal_old = queued(open_chat, "v1")
    _, normal_new = queued(open_chat, "v2")
    _, complaint = queued(open_chat, "v3", reason="complaint")
    _, angry = queued(open_chat, "v4", reason="complaint", sentiment="angry")
    age(normal_old, 30)
    age(normal_new, 20)
    age(complaint, 1)
    age(angry, 0)

    items = selectors.queue_items()
    assert [(i["priority"], i["reason"]) for i in items] == [
        ("urgent", "complaint"),
        ("high", "complaint"),
        ("normal", "requested"),
        ("normal", "requested"),
    ]
    assert [i["conversation_id"] for i in items][2:] == [
        normal_old.conversation.public_id,
        normal_new.conversation.public_id,
    ]
    assert [i["position"] for i in items] == [1, 2, 3, 4]
    assert items[2]["waiting_s"] >= 30 * 60
    normal_new.refresh_from_db()
    assert selectors.queue_position(handoff=normal_new) == 4


def test_shopper_is_told_place_and_estimated_wait(open_chat, say):
    queued(open_chat, "v_first")
    conversation = open_chat("v_second")
    say(conversation, "你好，我想问一下能不能帮我看看这个问题")
    replies = say(conversation, "转人工")
    note = next(m for m in replies if m.kind == "handoff")
    # Two places at the default 90 s each: 180 s, shown as whole minutes.
    assert note.payload == {"status": "queued", "priority": "normal", "position": 2, "wait_s": 180}
    handoff = HandoffRequest.objects.get(conversation=conversation)
    assert handoff.summary == "转人工"
    assert handoff.after_hours is False
    conversation.refresh_from_db()
    assert conversation.status == "waiting"


def test_wait_estimate_learns_from_the_last_hours_takes(open_chat):
    assert selectors.wait_per_position_s() == 90
    now = timezone.now()
    for n in range(6):
        _, handoff = queued(open_chat, f"v_take{n}")
        HandoffRequest.objects.filter(pk=handoff.pk).update(
            status="returned", agent=None, assigned_at=now - timedelta(minutes=n * 5)
        )
    # Six takes in the last hour: one place clears every ten minutes.
    assert selectors.wait_per_position_s() == 600
    assert selectors.wait_estimate_s(position=2, per_position_s=600) == 1200
    assert selectors.wait_estimate_s(position=1, per_position_s=61) == 120


def test_opening_twice_reuses_the_request_and_anger_raises_it(open_chat):
    conversation, first = queued(open_chat, "v_twice")
    again = services.handoff_open(conversation=conversation, reason="requested")
    raised = services.handoff_open(conversation=conversation, reason="anger", sentiment="angry")
    assert first.pk == again.pk == raised.pk
    raised.refresh_from_db()
    # anger is high; the angry mood is the same signal, so it does not count twice.
    assert (raised.priority, raised.sentiment) == (HandoffRequest.Priority.HIGH, "angry")
    assert events(raised) == ["opened", "raised"]
    assert HandoffRequest.objects.filter(conversation=conversation).count() == 1
    assert services.priority_for(reason="requested", sentiment="angry") == 1
    assert services.priority_for(reason="complaint", sentiment="angry") == 0
    assert services.priority_for(reason="requested", sentiment="neutral") == 2
    with pytest.raises(ValueError):
        services.handoff_open(conversation=conversation, reason="bored")


# --- take, capacity, race --------------------------------------------------------


def test_take_assigns_once_and_a_second_agent_is_refused(open_chat, agent1, agent2):
    conversation, handoff = queued(open_chat, "v_take")
    taken = services.handoff_take(conversation_id=conversation.public_id, agent=agent1)
    assert (taken.status, taken.agent) == ("assigned", agent1)
    before = snapshot(conversation)
    assert before[0] == "agent"

    with pytest.raises(ChatError) as refused:
        services.handoff_take(conversation_id=conversation.public_id, agent=agent2)
    assert refused.value.code == ErrorCode.ALREADY_TAKEN
    assert snapshot(conversation) == before
    # Taking again what one holds changes nothing either.
    services.handoff_take(conversation_id=conversation.public_id, agent=agent1)
    assert snapshot(conversation) == before
    assert events(taken) == ["opened", "assigned"]
    note = Message.objects.filter(conversation=conversation, kind="handoff").last()
    assert note.payload == {"status": "assigned", "priority": "normal", "agent": "agent1"}


def test_take_of_an_unknown_or_bot_only_chat_is_not_found(open_chat, agent1):
    conversation = open_chat("v_bot_only")
    for conversation_id in (conversation.public_id, "c_nope"):
        with pytest.raises(ChatError) as refused:
            services.handoff_take(conversation_id=conversation_id, agent=agent1)
        assert refused.value.code == ErrorCode.NOT_FOUND
    assert not HandoffRequest.objects.exists()


def test_shopper_account_cannot_take(open_chat, demo_store, django_user_model):
    conversation, _ = queued(open_chat, "v_shop")
    alice = django_user_model.objects.get(username="alice")
    with pytest.raises(ChatError):
        services.handoff_take(conversation_id=conversation.public_id, agent=alice)
    assert HandoffRequest.objects.get(conversation=conversation).status == "waiting"


@override_settings(CSBOT_AGENT_CAPACITY=2)
def test_capacity_limits_concurrent_chats(open_chat, agent1):
    chats = [queued(open_chat, f"v_cap{n}")[0] for n in range(4)]
    for conversation in chats[:2]:
        services.handoff_take(conversation_id=conversation.public_id, agent=agent1)
    before = snapshot(chats[2])
    with pytest.raises(ChatError) as refused:
        services.handoff_take(conversation_id=chats[2].public_id, agent=agent1)
    assert refused.value.code == ErrorCode.AT_CAPACITY
    assert snapshot(chats[2]) == before
    assert before[2][0][0] == "waiting"

    # The profile (admin) overrides the default; a release frees a place too.
    AgentProfile.objects.filter(user=agent1).update(capacity=3)
    services.handoff_take(conversation_id=chats[2].public_id, agent=agent1)
    with pytest.raises(ChatError):
        services.handoff_take(conversation_id=chats[3].public_id, agent=agent1)
    services.handoff_release(conversation_id=chats[0].public_id, agent=agent1)
    services.handoff_take(conversation_id=chats[3].public_id, agent=agent1)
    assert selectors.agent_handoffs(agent=agent1).count() == 3


@pytest.mark.skipif(
    not SERVICES_RUN,
    reason="concurrent transactions meet row locks only on a server database (SQLite "
    "runs one writer at a time); runs in the services run",
)
def test_take_race_exactly_one_of_many_agents_wins(transactional_db, open_chat, make_agent):
    conversation, handoff = queued(open_chat, "v_race")
    agents = [make_agent(f"racer{n}") for n in range(6)]
    barrier = threading.Barrier(len(agents))
    outcomes: list[str] = []

    def take(agent) -> None:
        try:
            barrier.wait(timeout=10)
            services.handoff_take(conversation_id=conversation.public_id, agent=agent)
            outcomes.append("took")
        except ChatError as exc:
            outcomes.append(exc.code.value)
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["already_taken"] * 5 + ["took"]
    handoff.refresh_from_db()
    assert handoff.status == "assigned" and handoff.agent in agents
    assert events(handoff) == ["opened", "assigned"]
    assert (
        Message.objects.filter(conversation=conversation, payload__status="assigned").count() == 1
    )


@pytest.mark.skipif(not SERVICES_RUN, reason="concurrent transactions: services run only")
@override_settings(CSBOT_AGENT_CAPACITY=2)
def test_parallel_takes_by_one_agent_respect_capacity(transactional_db, open_chat, make_agent):
    agent = make_agent("busy")
    chats = [queued(open_chat, f"v_par{n}")[0] for n in range(5)]
    barrier = threading.Barrier(len(chats))
    outcomes: list[str] = []

    def take(conversation) -> None:
        try:
            barrier.wait(timeout=10)
            services.handoff_take(conversation_id=conversation.public_id, agent=agent)
            outcomes.append("took")
        except ChatError as exc:
            outcomes.append(exc.code.value)
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(c,)) for c in chats]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["at_capacity"] * 3 + ["took"] * 2
    assert selectors.agent_handoffs(agent=agent).count() == 2


# --- holding, messages, release, close ------------------------------------------


def test_while_an_agent_holds_the_chat_the_bot_is_quiet(open_chat, say, agent1):
    conversation = open_chat("v_quiet")
    say(conversation, "转人工")
    services.handoff_take(conversation_id=conversation.public_id, agent=agent1)
    stored = say(conversation, "运费怎么算")
    assert [(m.sender, m.text) for m in stored] == [("shopper", "运费怎么算")]


def test_agent_messages_carry_the_display_name_and_are_stored_once(open_chat, agent1):
    AgentProfile.objects.create(user=agent1, display_name="小美")
    conversation, _ = queued(open_chat, "v_msg")
    services.handoff_take(conversation_id=conversation.public_id, agent=agent1)
    first = services.agent_message_send(
        conversation_id=conversation.public_id, agent=agent1, text="您好", client_msg_id="a1"
    )
    again = services.agent_message_send(
        conversation_id=conversation.public_id, agent=agent1, text="您好", client_msg_id="a1"
    )
    assert first.pk == again.pk
    assert (first.sender, first.text, first.payload) == ("agent", "您好", {"agent": "小美"})
    assert Message.objects.filter(conversation=conversation, sender="agent").count() == 1


def test_another_agent_cannot_act_on_a_chat_not_theirs(open_chat, agent1, agent2):
    conversation, _ = queued(open_chat, "v_mine")
    waiting_before = snapshot(conversation)
    # Waiting, held by nobody: no agent may message, release or close it.
    for act in (
        lambda: services.agent_message_send(
            conversation_id=conversation.public_id, agent=agent2, text="hi", client_msg_id="x"
        ),
        lambda: services.handoff_release(conversation_id=conversation.public_id, agent=agent2),
        lambda: services.handoff_close(conversation_id=conversation.public_id, agent=agent2),
        lambda: services.agent_typing(conversation_id=conversation.public_id, agent=agent2),
    ):
        with pytest.raises(ChatError) as refused:
            act()
        assert refused.value.code == ErrorCode.NOT_ASSIGNED
    assert snapshot(conversation) == waiting_before

    services.handoff_take(conversation_id=conversation.public_id, agent=agent1)
    held_before = snapshot(conversation)
    for act in (
        lambda: services.agent_message_send(
            conversation_id=conversation.public_id, agent=agent2, text="hi", client_msg_id="y"
        ),
        lambda: services.handoff_release(conversation_id=conversation.public_id, agent=agent2),
        lambda: services.handoff_close(
            conversation_id=conversation.public_id, agent=agent2, note="x"
        ),
    ):
        with pytest.raises(ChatError) as refused:
            act()
        assert refused.value.code == ErrorCode.NOT_ASSIGNED
    assert snapshot(conversation) == held_before


def test_release_gives_the_chat_back_to_the_bot_with_its_state(open_chat, say, agent1):
    conversation = open_chat("v_release")
    say(conversation, "星河X5多少钱")
    say(conversation, "转人工")
    services.handoff_take(conversation_id=conversation.public_id, agent=agent1)
    say(conversation, "我再想想")
    handoff = services.handoff_release(conversation_id=conversation.public_id, agent=agent1)
    assert handoff.status == "returned" and handoff.ended_at is not None
    conversation.refresh_from_db()
    assert conversation.status == "bot"
    assert Message.objects.filter(conversation=conversation, kind="handoff").last().payload == {
        "status": "returned"
    }
    # The bot still knows the product talked about before the handoff.
    reply = next(m for m in say(conversation, "它支持无线充电吗") if m.sender == "bot")
    assert reply.intent == "consult.product.spec"
    assert "15W" in reply.text
    assert events(handoff) == ["opened", "assigned", "returned"]


def test_close_ends_the_chat_with_a_note_and_the_rating_is_stored(open_chat, say, agent1):
    conversation = open_chat("v_close")
    say(conversation, "转人工")
    services.handoff_take(conversation_id=conversation.public_id, agent=agent1)
    with pytest.raises(ChatError) as too_long:
        services.handoff_close(
            conversation_id=conversation.public_id, agent=agent1, note="x" * 2001
        )
    assert too_long.value.code == ErrorCode.TEXT_TOO_LONG
    handoff = services.handoff_close(
        conversation_id=conversation.public_id, agent=agent1, note="  已补发配件  "
    )
    assert (handoff.status, handoff.resolution_note) == ("resolved", "已补发配件")
    conversation.refresh_from_db()
    assert conversation.status == "closed"
    last = Message.objects.filter(conversation=conversation).last()
    assert (last.kind, last.payload) == ("handoff", {"status": "closed"})
    assert HandoffEvent.objects.get(handoff=handoff, kind="resolved").data == {"note": "已补发配件"}
    with pytest.raises(ChatError) as closed:
        chat.message_receive(conversation=conversation, text="还在吗", client_msg_id="late")
    assert closed.value.code == ErrorCode.CONVERSATION_CLOSED
    chat.csat_record(conversation=conversation, score=4)
    assert Csat.objects.get(conversation=conversation).score == 4


def test_event_log_is_append_only(open_chat):
    _, handoff = queued(open_chat, "v_log")
    event = handoff.events.get()
    event.kind = "resolved"
    with pytest.raises(ValueError):
        event.save()
    assert handoff.events.get().kind == "opened"


# --- triggers --------------------------------------------------------------------


def test_two_thumbs_down_in_a_row_hand_off(open_chat, say):
    conversation = open_chat("v_fb")
    first = next(m for m in say(conversation, "运费怎么算") if m.sender == "bot")
    second = next(m for m in say(conversation, "怎么退货") if m.sender == "bot")
    third = next(m for m in say(conversation, "支持哪些支付方式") if m.sender == "bot")
    chat.message_feedback(conversation=conversation, seq=first.seq, helpful=False)
    chat.message_feedback(conversation=conversation, seq=second.seq, helpful=True)
    chat.message_feedback(conversation=conversation, seq=third.seq, helpful=False)
    assert not HandoffRequest.objects.exists()  # down, up, down: not in a row

    chat.message_feedback(conversation=conversation, seq=second.seq, helpful=False)
    handoff = HandoffRequest.objects.get(conversation=conversation)
    assert (handoff.reason, handoff.priority) == ("negative_feedback", 2)
    conversation.refresh_from_db()
    assert conversation.status == "waiting"


def test_order_verification_lockout_hands_off_with_high_priority(open_chat, say):
    conversation = open_chat("v_lock")
    for digits in ("1111", "2222", "3333"):
        say(conversation, f"订单 DD202611010001 尾号 {digits}")
    handoff = HandoffRequest.objects.get(conversation=conversation)
    assert (handoff.reason, handoff.priority) == ("verification_locked", 1)


# --- agent hours -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "clock", "on_duty"),
    [
        ("09:00-22:00", "08:59", False),
        ("09:00-22:00", "09:00", True),
        ("09:00-22:00", "21:59", True),
        ("09:00-22:00", "22:00", False),
        ("22:00-06:00", "23:30", True),
        ("22:00-06:00", "05:59", True),
        ("22:00-06:00", "12:00", False),
        ("00:00-24:00", "23:59", True),
        ("00:00-00:00", "12:00", False),
    ],
)
def test_agent_hours(hours, clock, on_duty):
    hour, minute = map(int, clock.split(":"))
    now = timezone.make_aware(datetime(2026, 11, 24, hour, minute))
    with override_settings(CSBOT_AGENT_HOURS=hours):
        assert agents_on_duty(now=now) is on_duty


@override_settings(CSBOT_AGENT_HOURS="9 to 5")
def test_malformed_agent_hours_are_refused_clearly():
    with pytest.raises(ValueError, match="CSBOT_AGENT_HOURS"):
        agents_on_duty()


@override_settings(CSBOT_AGENT_HOURS="00:00-00:00")
def test_after_hours_the_bot_takes_a_message_and_a_contact(open_chat, say):
    conversation = open_chat("v_night")
    replies = say(conversation, "转人工")
    note = next(m for m in replies if m.kind == "handoff")
    assert note.payload == {
        "status": "queued",
        "priority": "normal",
        "position": 1,
        "after_hours": True,
    }
    offline = replies[-1]
    assert offline.sender == "bot" and offline.reply_to is None
    assert offline.text.startswith("现在不在人工客服服务时间（每天 00:00–00:00）")

    asked = say(conversation, "耳机左耳没声音了")
    assert [(m.sender, m.text) for m in asked[1:]] == [
        ("bot", "已记下您的留言。请再留下手机号或邮箱，方便客服联系您。")
    ]
    given = say(conversation, "电话 13812345678")
    assert given[1].text == "已收到您的留言，客服上班后会通过 13812345678 联系您。"
    handoff = HandoffRequest.objects.get(conversation=conversation)
    assert (handoff.status, handoff.after_hours, handoff.contact) == (
        "waiting",
        True,
        "13812345678",
    )
    assert handoff.left_message == "耳机左耳没声音了\n电话 13812345678"
    assert events(handoff) == ["opened", "message_left", "message_left"]
    # With a contact on file the bot answers questions as usual while they wait.
    later = next(m for m in say(conversation, "运费怎么算") if m.sender == "bot")
    assert later.intent == "consult.logistics.shipping_fee"
    (item,) = selectors.queue_items()
    assert (item["contact"], item["summary"], item["after_hours"]) == (
        "13812345678",
        "耳机左耳没声音了 电话 13812345678",
        True,
    )


@override_settings(CSBOT_AGENT_HOURS="00:00-00:00")
def test_after_hours_in_english_takes_an_email(open_chat, say):
    conversation = open_chat("v_night_en", lang="en")
    replies = say(conversation, "I want to talk to a human")
    assert replies[-1].text.startswith("Our agents are offline right now (they work 00:00–00:00")
    given = say(conversation, "My watch broke, mail me at li.lei@example.com please")
    assert given[1].text == (
        "Got your message. An agent will contact you at li.lei@example.com once they are in."
    )


# --- the context packet ----------------------------------------------------------


def test_context_packet_shows_the_verified_order_and_what_the_bot_knows(
    open_chat, say, agent1, canned
):
    conversation = open_chat("v_packet")
    say(conversation, "星河X5多少钱")
    say(conversation, "订单 DD202611010001 尾号 8000")
    long_text = "我上周买了手机，收到以后一直用得挺好的。" * 18 + "请问现在能帮我催一下发票吗？"
    say(conversation, long_text)
    say(conversation, "我要投诉")
    handoff = services.handoff_take(conversation_id=conversation.public_id, agent=agent1)
    packet = selectors.context_packet(handoff=handoff, agent=agent1)

    assert packet["conversation_id"] == conversation.public_id
    assert (packet["reason"], packet["priority"], packet["language"]) == (
        "complaint",
        "high",
        "zh",
    )
    assert packet["intent_path"][:2] == ["consult.product.price", "consult.logistics.order_status"]
    assert packet["intent_path"][-1].startswith("complaint.")
    assert packet["product"]["sku"] == "XH-X5"
    assert packet["order"]["verified"] is True
    assert packet["order"]["order_no"] == "DD202611010001"
    assert packet["order"]["tracking_no"] == "SF1234567890"
    assert packet["summaries"] == [
        {
            "seq": 5,
            "summary": "我上周买了手机，收到以后一直用得挺好的。 请问现在能帮我催一下发票吗？",
        },
    ]
    assert [f["type"] for f in packet["history"][:2]] == ["shopper", "bot"]
    assert packet["history"][0]["text"] == "星河X5多少钱"
    assert "phone_last4" not in packet["slots"]
    checking = next(c for c in packet["canned"] if c["title_en"] == "Checking the order")
    assert checking["text"] == "好的，我这就为您查询订单 DD202611010001 的情况，请稍等一下。"
    greeting = next(c for c in packet["canned"] if c["title_en"] == "Greeting")
    assert greeting["text"].startswith("您好，我是人工客服agent1，")


def test_context_packet_hides_order_details_until_verified(open_chat, say, agent1, canned):
    conversation = open_chat("v_unverified", lang="en")
    say(conversation, "where is my order DD202611010001")
    say(conversation, "I want a human")
    handoff = services.handoff_take(conversation_id=conversation.public_id, agent=agent1)
    packet = selectors.context_packet(handoff=handoff, agent=agent1)
    assert packet["order"] == {"verified": False, "order_no": "DD202611010001"}
    dumped = json.dumps(packet, ensure_ascii=False)
    for secret in ("SF1234567890", "2999", "shipped", "alice"):
        assert secret not in dumped.replace("XH-X5", "")
    checking = next(c for c in packet["canned"] if c["title_en"] == "Checking the order")
    assert (
        checking["text"]
        == "Sure, I'm checking order DD202611010001 for you now; one moment please."
    )


def test_canned_placeholders_without_a_value_stay_for_the_agent(open_chat, agent1):
    CannedReply.objects.create(
        title_zh="尺码", title_en="Size", text_zh="{shopper}您好，{product}的尺码是？", text_en="x"
    )
    conversation, _ = queued(open_chat, "v_canned")
    rendered = selectors.canned_rendered(conversation=conversation, agent=agent1, values={})
    assert {"title_zh": "尺码", "text": "{shopper}您好，{product}的尺码是？"} in [
        {"title_zh": c["title_zh"], "text": c["text"]} for c in rendered
    ]


def test_conversation_status_never_left_waiting_without_an_open_request(open_chat, agent1):
    conversation, _ = queued(open_chat, "v_status")
    services.handoff_take(conversation_id=conversation.public_id, agent=agent1)
    services.handoff_release(conversation_id=conversation.public_id, agent=agent1)
    assert Conversation.objects.get(pk=conversation.pk).status == "bot"
    assert not HandoffRequest.objects.filter(
        conversation=conversation, status__in=HandoffRequest.OPEN_STATUSES
    ).exists()


def test_sweep_leaves_what_an_agent_handled_to_the_agent(open_chat, say, agent1):
    conversation = open_chat("v_sweep")
    say(conversation, "转人工")
    services.handoff_take(conversation_id=conversation.public_id, agent=agent1)
    say(conversation, "我等你回复")
    services.handoff_release(conversation_id=conversation.public_id, agent=agent1)
    (received,) = chat.messages_receive(
        items=[chat.Incoming(conversation=conversation, text="运费怎么算", client_msg_id="lost")],
        enqueue_replies=False,
    )
    lost = received.message
    Message.objects.filter(conversation=conversation).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    # Only the message whose reply was lost after the release is the bot's to answer.
    assert chat.unanswered_sweep() == 1
    assert Message.objects.get(reply_to=lost, sender="bot").intent == (
        "consult.logistics.shipping_fee"
    )
    assert not Message.objects.filter(
        conversation=conversation, sender="bot", reply_to__text="我等你回复"
    ).exists()
