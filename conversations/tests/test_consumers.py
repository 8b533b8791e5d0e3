"""The shopper WebSocket through the real ASGI stack (origin check, session, auth)."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from catalog.models import StorePolicy
from conversations.models import Conversation, Csat, Message
from csbot.asgi import application
from handoff.models import HandoffRequest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_store")]
ORIGIN = (b"origin", b"http://localhost")


async def connect(cookie: bytes | None = None, lang: bytes = b"zh-CN,zh;q=0.9"):
    headers = [ORIGIN, (b"accept-language", lang)]
    if cookie:
        headers.append((b"cookie", cookie))
    comm = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    connected, _ = await comm.connect()
    assert connected
    hello = await comm.receive_json_from(timeout=5)
    return comm, hello


async def send(comm, text: str, client_msg_id: str) -> None:
    await comm.send_to(
        text_data=json.dumps({"type": "message", "text": text, "client_msg_id": client_msg_id})
    )


@database_sync_to_async
def policy_text(key: str, lang: str) -> str:
    return StorePolicy.objects.get(key=key).text(lang)


@database_sync_to_async
def count(model, **filters) -> int:
    return model.objects.filter(**filters).count()


async def test_connect_announces_conversation_with_privacy_notice():
    comm, hello = await connect()
    assert hello["type"] == "conversation"
    assert hello["conversation_id"].startswith("c_")
    assert hello["language"] == "zh"
    assert hello["privacy_notice"] == await policy_text("privacy_notice", "zh")
    await comm.disconnect()


async def test_english_browser_gets_english_conversation():
    comm, hello = await connect(lang=b"en-US,en;q=0.9")
    assert hello["language"] == "en"
    assert hello["privacy_notice"] == await policy_text("privacy_notice", "en")
    await comm.disconnect()


async def test_message_is_acked_then_answered():
    comm, _ = await connect()
    await send(comm, "运费怎么算", "m-1")
    assert await comm.receive_json_from(timeout=5) == {
        "type": "ack",
        "client_msg_id": "m-1",
        "seq": 1,
    }
    reply = await comm.receive_json_from(timeout=5)
    assert reply["type"] == "bot"
    assert reply["seq"] == 2 and reply["reply_to"] == 1
    assert reply["intent"] == "consult.logistics.shipping_fee"
    assert "99" in reply["text"] and "8" in reply["text"]
    await comm.disconnect()


async def test_resend_gets_same_ack_and_no_second_reply():
    comm, _ = await connect()
    await send(comm, "你好", "dup")
    first_ack = await comm.receive_json_from(timeout=5)
    await comm.receive_json_from(timeout=5)  # the bot reply
    await send(comm, "你好", "dup")
    assert await comm.receive_json_from(timeout=5) == first_ack
    assert await comm.receive_nothing(timeout=0.3)
    assert await count(Message) == 2
    await comm.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_json"),
        ('{"type":"dance"}', "unknown_type"),
        ('{"type":"message","text":"hi"}', "invalid_frame"),
        ('{"type":"message","text":"","client_msg_id":"a"}', "empty_text"),
        ('{"type":"message","text":"' + "长" * 2001 + '","client_msg_id":"a"}', "text_too_long"),
        ('{"type":"message","text":"' + "a" * 17000 + '","client_msg_id":"a"}', "frame_too_large"),
        ('{"type":"feedback","seq":99,"helpful":true}', "not_found"),
        ('{"type":"resume","conversation_id":"c_not_mine","after_seq":0}', "not_found"),
    ],
)
async def test_bad_frames_get_error_and_socket_stays_usable(frame, code):
    comm, _ = await connect()
    await comm.send_to(text_data=frame)
    error = await comm.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["code"] == code and error["message"]
    assert await count(Message) == 0
    await send(comm, "你好", "after-error")
    assert (await comm.receive_json_from(timeout=5))["type"] == "ack"
    await comm.disconnect()


async def test_binary_frame_is_refused_with_error():
    comm, _ = await connect()
    await comm.send_to(bytes_data=b"\x00\x01\x02")
    assert (await comm.receive_json_from(timeout=5))["code"] == "binary_frame"
    await comm.disconnect()


@override_settings(CSBOT_WS_FRAMES_PER_10S=5)
async def test_flood_is_rate_limited_and_nothing_extra_is_stored():
    comm, _ = await connect()
    for _ in range(7):
        await comm.send_to(text_data=json.dumps({"type": "csat", "score": 3}))
    errors = []
    for _ in range(2):
        errors.append(await comm.receive_json_from(timeout=5))
    assert [e["code"] for e in errors] == ["rate_limited", "rate_limited"]
    assert await count(Csat) == 1
    await comm.disconnect()


@override_settings(CSBOT_MESSAGES_PER_MINUTE=2)
async def test_message_rate_per_visitor():
    comm, _ = await connect()
    for i in range(2):
        await send(comm, "你好", f"r{i}")
        await comm.receive_json_from(timeout=5)
        await comm.receive_json_from(timeout=5)
    await send(comm, "你好", "r-over")
    assert (await comm.receive_json_from(timeout=5))["code"] == "rate_limited"
    assert await count(Message, sender="shopper") == 2
    await comm.disconnect()


async def test_cross_origin_connect_is_refused():
    comm = WebsocketCommunicator(
        application, "/ws/chat/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await comm.connect()
    assert connected is False
    assert await count(Conversation) == 0


async def test_connect_without_origin_is_refused():
    comm = WebsocketCommunicator(application, "/ws/chat/")
    connected, _ = await comm.connect()
    assert connected is False


async def test_reconnect_with_session_resumes_same_conversation_with_missed_frames(session_cookie):
    cookie, _ = await session_cookie()
    comm, hello = await connect(cookie)
    await send(comm, "星河X5多少钱", "a")
    await comm.receive_json_from(timeout=5)
    await comm.receive_json_from(timeout=5)
    await comm.disconnect()

    again, hello2 = await connect(cookie)
    assert hello2["conversation_id"] == hello["conversation_id"]
    await again.send_json_to(
        {"type": "resume", "conversation_id": hello["conversation_id"], "after_seq": 0}
    )
    shopper = await again.receive_json_from(timeout=5)
    reply = await again.receive_json_from(timeout=5)
    assert shopper == {"type": "shopper", "seq": 1, "text": "星河X5多少钱", "client_msg_id": "a"}
    assert reply["seq"] == 2 and reply["text"] == "星河 X5 手机 售价 ¥2999。"
    await again.send_json_to(
        {"type": "resume", "conversation_id": hello["conversation_id"], "after_seq": 2}
    )
    assert await again.receive_nothing(timeout=0.3)
    await again.disconnect()


async def test_another_visitor_cannot_resume_my_conversation(session_cookie):
    mine, _ = await session_cookie("v_mine")
    theirs, _ = await session_cookie("v_theirs")
    comm, hello = await connect(mine)
    await comm.disconnect()
    other, other_hello = await connect(theirs)
    assert other_hello["conversation_id"] != hello["conversation_id"]
    await other.send_json_to(
        {"type": "resume", "conversation_id": hello["conversation_id"], "after_seq": 0}
    )
    assert (await other.receive_json_from(timeout=5))["code"] == "not_found"
    await other.disconnect()


async def test_two_sockets_of_one_visitor_both_see_the_reply(session_cookie):
    cookie, _ = await session_cookie()
    first, _ = await connect(cookie)
    second, _ = await connect(cookie)
    await send(first, "你好", "x")
    await first.receive_json_from(timeout=5)  # ack
    assert (await first.receive_json_from(timeout=5))["type"] == "bot"
    assert (await second.receive_json_from(timeout=5))["type"] == "bot"
    await first.disconnect()
    await second.disconnect()


async def test_handoff_request_queues_and_feedback_and_csat_are_stored():
    comm, _ = await connect()
    await send(comm, "你好", "h1")
    await comm.receive_json_from(timeout=5)
    await comm.receive_json_from(timeout=5)
    await comm.send_json_to({"type": "feedback", "seq": 2, "helpful": True})
    await comm.send_json_to({"type": "handoff_request"})
    frame = await comm.receive_json_from(timeout=5)
    assert frame == {
        "type": "handoff",
        "seq": 3,
        "status": "queued",
        "priority": "normal",
        "position": 1,
        "wait_s": 120,
    }
    await comm.send_json_to({"type": "csat", "score": 5})
    assert await comm.receive_nothing(timeout=0.3)
    assert await count(HandoffRequest, reason="requested", status="waiting") == 1
    assert await count(Message, seq=2, helpful=True) == 1
    assert await count(Csat, score=5) == 1
    await comm.disconnect()


async def test_messages_sent_back_to_back_are_each_acked_once_and_answered_in_order():
    comm, _ = await connect()
    await send(comm, "星河X5多少钱", "b-1")
    await send(comm, "它支持无线充电吗", "b-2")
    frames = [await comm.receive_json_from(timeout=5) for _ in range(4)]
    acks = {f["client_msg_id"]: f["seq"] for f in frames if f["type"] == "ack"}
    replies = {f["reply_to"]: (f["seq"], f["intent"]) for f in frames if f["type"] == "bot"}
    # Same batch or two batches: either way each message is acked once, the second
    # after the first, and each reply answers its own message (the second in context).
    assert list(acks) == ["b-1", "b-2"] and acks["b-1"] < acks["b-2"]
    assert replies[acks["b-1"]][1] == "consult.product.price"
    assert replies[acks["b-2"]][1] == "consult.product.spec"
    assert sorted([*acks.values(), *(seq for seq, _ in replies.values())]) == [1, 2, 3, 4]
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()
