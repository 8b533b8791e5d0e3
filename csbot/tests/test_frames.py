"""The outgoing frame schemas (csbot.frames and the apps' events.py) and their builders."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

import conversations.events as chat_events
import handoff.events as agent_events
import vision.events as vision_events
from conversations.models import Conversation, Message
from csbot import frames
from csbot.errors import ChatError, ErrorCode
from handoff.models import CannedReply, HandoffRequest
from tests.frame_check import problems_report
from vision.models import ChatImage

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def valid(frame: dict[str, Any], socket: str) -> None:
    assert frames.frame_problems(frame, socket) is None, (frame, frames.frame_problems(frame))


# --- the registry ---------------------------------------------------------------


def test_every_socket_declares_each_type_once():
    per_socket = Counter(
        (schema.socket, kind) for kind, schemas in frames.REGISTRY.items() for schema in schemas
    )
    assert [key for key, n in per_socket.items() if n > 1] == []
    assert all(schema.socket in frames.SOCKETS for s in frames.REGISTRY.values() for schema in s)


def test_the_documented_frames_are_declared():
    declared = {(s.socket, kind) for kind, schemas in frames.REGISTRY.items() for s in schemas}
    shopper = {"conversation", "ack", "bot", "shopper", "agent", "handoff", "order_update"}
    agent = {"queue", "chat", "ack", "shopper", "bot", "agent", "handoff", "error", "watch"}
    assert {("shopper", k) for k in shopper | {"error", "typing"}} <= declared
    assert {("agent", k) for k in agent} <= declared


def test_a_schema_needs_a_one_value_type_literal():
    class NoType(frames.OutgoingFrame):
        text: str

    with pytest.raises(TypeError):
        frames.outgoing("shopper")(NoType)
    with pytest.raises(ValueError):
        frames.outgoing("fax")


# --- what frame_problems reports ----------------------------------------------------


ORDER_UPDATE = {"type": "order_update", "order_no": "DD1", "status": "shipped", "text": "t"}


def test_a_valid_frame_has_no_problem():
    assert frames.frame_problems(ORDER_UPDATE) is None
    assert frames.frame_problems(ORDER_UPDATE, "shopper") is None


def test_an_unknown_field_is_reported():
    problem = frames.frame_problems({**ORDER_UPDATE, "extra": 1})
    assert problem is not None and "extra" in problem and "OrderUpdateOut" in problem


def test_a_missing_field_is_reported():
    frame = dict(ORDER_UPDATE)
    del frame["order_no"]
    problem = frames.frame_problems(frame)
    assert problem is not None and "order_no" in problem and "required" in problem.lower()


def test_a_wrong_type_is_reported():
    problem = frames.frame_problems({**ORDER_UPDATE, "status": 3})
    assert problem is not None and "status" in problem


def test_unknown_types_and_the_wrong_socket_are_reported():
    assert "'nope'" in frames.frame_problems({"type": "nope"})
    assert "no schema" in frames.frame_problems({"text": "x"})
    assert "not a JSON object" in frames.frame_problems([1])
    assert "agent socket" in frames.frame_problems(ORDER_UPDATE, "agent")


def test_a_shared_type_is_valid_against_either_schema_but_checked_per_socket():
    shopper_ack = {"type": "ack", "client_msg_id": "c1", "seq": 1}
    agent_ack = {"type": "ack", "action": "take", "conversation_id": "c_1"}
    for frame in (shopper_ack, agent_ack):
        assert frames.frame_problems(frame) is None
    assert frames.frame_problems(shopper_ack, "agent") is not None
    problem = frames.frame_problems(agent_ack, "shopper")
    assert problem is not None and "AckOut (shopper)" in problem


def test_agent_views_need_the_conversation_id():
    bot = {"type": "bot", "seq": 2, "text": "hi", "intent": None, "confidence": None}
    bot["reply_to"] = None
    valid(bot, "shopper")
    assert "conversation_id" in frames.frame_problems(bot, "agent")
    valid({**bot, "conversation_id": "c_1"}, "agent")


@pytest.mark.parametrize(
    "note",
    [
        {"status": "queued", "priority": "normal", "position": 1},  # no wait, no after_hours
        {"status": "queued", "priority": "high", "position": 1, "wait_s": 60, "after_hours": True},
        {"status": "queued", "position": 1, "wait_s": 60},
        {"status": "queued", "priority": "normal", "position": 0, "wait_s": 60},
        {"status": "assigned"},
        {"status": "assigned", "priority": "normal", "position": 2},
        {"status": "closed", "agent": "Ann"},
        {"status": "lost"},
        {"status": "queued", "priority": "soon", "position": 1, "wait_s": 60},
    ],
)
def test_handoff_notes_have_the_fields_of_their_status(note):
    assert frames.frame_problems({"type": "handoff", "seq": 3, **note}) is not None


def test_recording_keeps_the_json_sent_and_reports_what_is_not(monkeypatch):
    monkeypatch.setattr(frames, "_recorder", None)  # as outside tests (the plugin records)
    assert not frames.is_recording()
    frames.sent({"type": "x"})  # nothing happens
    with frames.recording() as sent:
        assert frames.is_recording()
        frame = dict(ORDER_UPDATE)
        frames.sent(frame, "shopper")
        frame["text"] = "changed later"
        frames.sent({"type": "bot", "when": datetime.now()})
    assert not frames.is_recording()
    assert sent[0] == frames.Sent("shopper", ORDER_UPDATE) and sent[0].problems() is None
    assert sent[1].frame is None and "not JSON-serialisable" in sent[1].problems()


def test_the_plugin_report_names_the_frame_and_the_problem():
    with frames.recording() as sent:
        frames.sent(ORDER_UPDATE, "shopper")
        frames.sent({**ORDER_UPDATE, "order_no": None}, "shopper")
    report = problems_report(sent)
    assert report is not None
    assert "1 of 2 frames" in report and '"order_no": null' in report and "order_no" in report
    assert problems_report(sent[:1]) is None


# --- the builders make valid frames ----------------------------------------------------


def conversation(**extra: Any) -> Conversation:
    return Conversation(public_id="c_abc", language="en", **extra)


def message(seq: int, **fields: Any) -> Message:
    return Message(conversation=conversation(), seq=seq, **fields)


def stored_frames() -> list[dict[str, Any]]:
    shopper = message(1, sender=Message.Sender.SHOPPER, text="hi", client_msg_id="m1")
    image = ChatImage(public_id="img_1", width=4, height=3, status=ChatImage.Status.DONE)
    image.outcome, image.ocr_text, image.match = "product", "X5", {"sku": "XH-X5"}
    pictured = message(
        2,
        sender=Message.Sender.SHOPPER,
        text="X5",
        client_msg_id="img-img_1",
        payload={"image": vision_events.image_info(image)},
    )
    card = {"kind": "product", "sku": "A", "name": "A", "price": "¥1", "stock": 1}
    card |= {"restock_date": None, "url": "/products/A/"}
    bot = message(
        3,
        sender=Message.Sender.BOT,
        text="yes",
        intent="consult.product.price",
        confidence=0.9,
        reply_to=shopper,
        payload={"suggestions": ["more?"], "cards": [card], "order_update": "DD1"},
    )
    agent = message(4, sender=Message.Sender.AGENT, text="hello", payload={"agent": "Ann"})
    notes = [
        agent_events.handoff_queued(priority=2, position=3, after_hours=False, wait_s=180),
        agent_events.handoff_queued(priority=0, position=1, after_hours=True, wait_s=None),
        agent_events.handoff_assigned(priority=1),
        agent_events.handoff_assigned(priority=1, agent="Ann"),
        agent_events.handoff_ended("returned"),
        agent_events.handoff_ended("closed"),
    ]
    handoffs = [
        message(5 + n, sender=Message.Sender.SYSTEM, kind=Message.Kind.HANDOFF, payload=note)
        for n, note in enumerate(notes)
    ]
    return [chat_events.message_frame(m) for m in (shopper, pictured, bot, agent, *handoffs)]


def test_shopper_socket_builders():
    history = stored_frames()
    assert [f["type"] for f in history[:4]] == ["shopper", "shopper", "bot", "agent"]
    assert history[1]["image"]["product"] == "XH-X5"
    built = [
        *history,
        chat_events.conversation_frame(conversation(), privacy_notice="We keep…"),
        chat_events.ack_frame(message(1, sender=Message.Sender.SHOPPER, client_msg_id="m1")),
        chat_events.order_update_frame(order_no="DD1", status="shipped", text="Shipped."),
        ChatError(ErrorCode.RATE_LIMITED).frame("zh"),
        ChatError(ErrorCode.INVALID_FRAME, "text").frame("en"),
        agent_events.typing_frame("Ann"),
        agent_events.handoff_live_frame(
            agent_events.handoff_queued(priority=1, position=2, after_hours=False, wait_s=120)
        ),
    ]
    for frame in built:
        valid(frame, "shopper")


def test_a_picture_frame_as_the_upload_answers_it():
    image = ChatImage(public_id="img_2", width=4, height=3, status=ChatImage.Status.PENDING)
    shopper = message(1, sender=Message.Sender.SHOPPER, text="…", client_msg_id="img-img_2")
    frame = vision_events.shopper_image_frame(shopper, image)
    assert frame["image"]["status"] == "pending" and "outcome" not in frame["image"]
    valid(frame, "shopper")


def test_agent_socket_builders():
    chat = conversation(user_id=None)
    handoff = HandoffRequest(
        conversation=chat,
        reason=HandoffRequest.Reason.REQUESTED,
        priority=HandoffRequest.Priority.NORMAL,
        status=HandoffRequest.Status.ASSIGNED,
        created_at=NOW,
        after_hours=False,
        contact="",
        summary="where is my order",
    )
    canned = CannedReply(pk=7, title_zh="问候", title_en="Hello")
    packet = agent_events.chat_packet(
        handoff=handoff,
        conversation=chat,
        shopper="abc123",
        intent_path=["consult.logistics.order_status"],
        slots={"order_no": "DD1"},
        product=None,
        order=agent_events.order_ref(order_no="DD1", card=None),
        summaries=[agent_events.long_message_summary(seq=1, summary="…")],
        history=stored_frames(),
        canned=[agent_events.canned_item(canned, text="Hi, I'm Ann.")],
    )
    order_card = {"kind": "order", "order_no": "DD1", "status": "shipped", "status_text": "s"}
    order_card |= {"carrier": "SF Express", "tracking_no": "SF1", "total": "¥1", "items": []}
    built = [
        agent_events.queue_frame(
            [agent_events.queue_item(handoff, position=1, now=NOW)]
            + [agent_events.queue_item(handoff, position=2, now=datetime(2020, 1, 1, tzinfo=UTC))]
        ),
        agent_events.chat_frame(packet),
        agent_events.chat_frame(
            {**packet, "order": agent_events.order_ref(order_no="DD1", card=order_card)}
        ),
        agent_events.agent_ack_frame(action="take", conversation_id="c_abc"),
        agent_events.agent_ack_frame(
            action="message", conversation_id="c_abc", client_msg_id="srv-1", seq=9
        ),
        agent_events.agent_error_frame(ChatError(ErrorCode.NOT_ASSIGNED), "en", "c_abc"),
        agent_events.agent_error_frame(ChatError(ErrorCode.BAD_JSON), "zh", None),
        agent_events.watch_frame("c_abc"),
    ]
    built += [v for f in stored_frames() if (v := agent_events.agent_view("c_abc", f))]
    for frame in built:
        valid(frame, "agent")
    assert agent_events.agent_view("c_abc", agent_events.typing_frame("Ann")) is None


def test_an_ack_without_its_message_fields_is_not_a_message_ack():
    ack = agent_events.agent_ack_frame(action="message", conversation_id="c_abc")
    assert frames.frame_problems(ack, "agent") is not None
    take = agent_events.agent_ack_frame(action="take", conversation_id="c", seq=1)
    assert frames.frame_problems(take, "agent") is not None
