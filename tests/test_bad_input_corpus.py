"""A corpus of hostile and broken input against both shopper seams: the HTTP chat API
(`POST /api/chat/`) and the WebSocket (`/ws/chat/` through csbot.asgi.application).

Every item must get a clear refusal (a 4xx with an error code and message, or an
`error` frame on a socket that stays open) or be accepted with exactly the text that
should be kept: never a 500, a dropped socket, or a stored message that should not be.
"""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from conversations.models import Conversation, Message
from csbot.asgi import application

ORIGIN = (b"origin", b"http://localhost")
DEEP = 5000  # nesting levels, well inside the 16 KiB frame limit


def deep_json(depth: int = DEEP) -> str:
    return '{"type": "message", "client_msg_id": "d", "text": ' + "[" * depth + "]" * depth + "}"


def deep_json_http(depth: int = 2000) -> str:
    return '{"text": ' + '{"a": ' * depth + "1" + "}" * depth + "}"


# (name, raw HTTP body, expected status, expected error code)
HTTP_REFUSED = [
    ("oversized body", json.dumps({"text": "字" * 6000}), 413, "frame_too_large"),
    ("text over 2000 characters", json.dumps({"text": "a" * 2001}), 413, "text_too_long"),
    ("truncated JSON", '{"text": "hi"', 400, "bad_json"),
    ("not JSON at all", "hello there", 400, "bad_json"),
    ("binary garbage", b"\x00\xff\xfe\x80\x81binary", 400, "bad_json"),
    ("invalid UTF-8 inside a string", b'{"text": "\xff\xfe"}', 400, "bad_json"),
    ("deeply nested arrays", '{"text": ' + "[" * DEEP + "]" * DEEP + "}", 400, "bad_json"),
    ("deeply nested objects", deep_json_http(), 400, "bad_json"),
    ("lone surrogate", '{"text": "abc\\ud800"}', 400, "invalid_frame"),
    ("only NUL characters", '{"text": "\\u0000\\u0000"}', 400, "empty_text"),
    ("only whitespace", json.dumps({"text": " \t\n\u3000 "}), 400, "empty_text"),
    ("number text", '{"text": 42}', 400, "invalid_frame"),
    ("null text", '{"text": null}', 400, "invalid_frame"),
    ("list text", '{"text": ["a"]}', 400, "invalid_frame"),
    ("object text", '{"text": {"a": 1}}', 400, "invalid_frame"),
    ("NaN text", '{"text": NaN}', 400, "invalid_frame"),
    ("huge number id", '{"text": "hi", "client_msg_id": 1e400}', 400, "invalid_frame"),
    ("top-level array", "[]", 400, "invalid_frame"),
    ("top-level string", '"text"', 400, "invalid_frame"),
    ("unknown field", json.dumps({"text": "hi", "admin": True}), 400, "invalid_frame"),
    ("overlong client_msg_id", json.dumps({"text": "hi", "client_msg_id": "x" * 65}), 400,
     "invalid_frame"),
    ("conversation id of nobody", json.dumps({"text": "hi", "conversation_id": "c_nope"}), 404,
     "not_found"),
]  # fmt: skip

# (name, text sent, text that must be stored)
HTTP_ACCEPTED = [
    ("emoji", "😀👍🏽 X5 有货吗？🇨🇳", "😀👍🏽 X5 有货吗？🇨🇳"),
    ("NUL inside text", "运费\u0000怎么算", "运费怎么算"),
    ("XSS script tag", "<script>alert(1)</script>", "<script>alert(1)</script>"),
    ("XSS img onerror", '<img src=x onerror="alert(1)">运费', '<img src=x onerror="alert(1)">运费'),
    ("XSS javascript URL", "[x](javascript:alert(1))", "[x](javascript:alert(1))"),
    ("SQL-looking text", "'; DROP TABLE x; --", "'; DROP TABLE x; --"),
    ("bidi override", "订单\u202eDD202611010001\u202c到哪了", "订单DD202611010001到哪了"),
    ("bidi isolates", "hi \u2066abc\u2069 there", "hi abc there"),
    ("exactly 2000 characters", "好" * 2000, "好" * 2000),
]  # fmt: skip


def cases(rows):
    return [pytest.param(*row, id=row[0]) for row in rows]


def post(client, body, **extra):
    return client.post("/api/chat/", data=body, content_type="application/json", **extra)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "body", "status", "code"), cases(HTTP_REFUSED))
def test_http_refusals_are_clear_and_store_nothing(client, name, body, status, code):
    response = post(client, body)
    assert response.status_code == status, response.content[:200]
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("demo_store")
@pytest.mark.parametrize(("name", "text", "stored"), cases(HTTP_ACCEPTED))
def test_http_accepts_odd_but_valid_text_and_stores_it_clean(client, name, text, stored):
    response = post(client, json.dumps({"text": text}))
    assert response.status_code == 200
    assert response.json()["replies"], "the bot answers odd text like any other"
    message = Message.objects.get(sender="shopper")
    assert message.text == stored
    for frame in response.json()["replies"]:
        assert "<script" not in frame.get("text", "")
        assert "onerror" not in frame.get("text", "")


@pytest.mark.django_db
def test_http_empty_body_is_refused(client):
    response = client.generic("POST", "/api/chat/", b"", content_type="application/json")
    assert response.status_code in (400, 415)
    assert response.json()["error"]["code"] in ("bad_json", "unsupported_media_type")
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_http_wrong_content_type_and_method(client):
    assert client.post("/api/chat/", data={"text": "hi"}).status_code == 415
    assert (
        client.post(
            "/api/chat/", data=b"\x00\x01", content_type="application/octet-stream"
        ).status_code
        == 415
    )
    response = client.put("/api/chat/", data="{}", content_type="application/json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert not Message.objects.exists()


# --- WebSocket -------------------------------------------------------------------

# (name, frame (str) or bytes, expected error code)
WS_REFUSED = [
    ("oversized frame", json.dumps({"type": "message", "text": "字" * 6000, "client_msg_id": "o"}),
     "frame_too_large"),
    ("text over 2000 characters", json.dumps({"type": "message", "text": "a" * 2001,
     "client_msg_id": "l"}), "text_too_long"),
    ("truncated JSON", '{"type": "message", "text": "hi"', "bad_json"),
    ("not JSON", "hello", "bad_json"),
    ("empty frame", "", "bad_json"),
    ("binary frame", b"\x00\xff binary", "binary_frame"),
    ("deeply nested", deep_json(), "bad_json"),
    ("lone surrogate", '{"type": "message", "text": "a\\udc00", "client_msg_id": "s"}',
     "invalid_frame"),
    ("only NUL", '{"type": "message", "text": "\\u0000", "client_msg_id": "n"}', "empty_text"),
    ("missing type", json.dumps({"text": "hi", "client_msg_id": "t"}), "unknown_type"),
    ("unknown type", json.dumps({"type": "sudo", "text": "hi"}), "unknown_type"),
    ("type not a string", json.dumps({"type": ["message"], "text": "hi"}), "unknown_type"),
    ("extra field", json.dumps({"type": "message", "text": "hi", "client_msg_id": "e",
     "role": "system"}), "invalid_frame"),
    ("number text", json.dumps({"type": "message", "text": 5, "client_msg_id": "n5"}),
     "invalid_frame"),
    ("negative after_seq", json.dumps({"type": "resume", "conversation_id": "c_x",
     "after_seq": -1}), "invalid_frame"),
    ("csat out of range", json.dumps({"type": "csat", "score": 6}), "invalid_frame"),
    ("csat as string", json.dumps({"type": "csat", "score": "5"}), "invalid_frame"),
    ("feedback bool as int", json.dumps({"type": "feedback", "seq": 1, "helpful": 1}),
     "invalid_frame"),
    ("resume someone else's conversation", json.dumps({"type": "resume",
     "conversation_id": "c_not_mine", "after_seq": 0}), "not_found"),
    ("top-level array", "[1, 2]", "invalid_frame"),
]  # fmt: skip


async def _connect():
    comm = WebsocketCommunicator(application, "/ws/chat/", headers=[ORIGIN])
    connected, _ = await comm.connect()
    assert connected
    hello = await comm.receive_json_from(timeout=5)
    assert hello["type"] == "conversation"
    return comm, hello


@database_sync_to_async
def _messages() -> list[tuple[str, str]]:
    return list(Message.objects.order_by("pk").values_list("sender", "text"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("name", "frame", "code"), cases(WS_REFUSED))
async def test_ws_refusals_get_an_error_frame_and_the_socket_stays_open(name, frame, code):
    comm, hello = await _connect()
    if isinstance(frame, bytes):
        await comm.send_input({"type": "websocket.receive", "bytes": frame})
    else:
        await comm.send_input({"type": "websocket.receive", "text": frame})
    error = await comm.receive_json_from(timeout=5)
    assert error["type"] == "error"
    assert error["code"] == code
    assert error["message"]
    assert await _messages() == []
    # Still open and working: a valid message after the refusal is acked.
    await comm.send_to(
        text_data=json.dumps({"type": "message", "text": "你好", "client_msg_id": "after"})
    )
    ack = await comm.receive_json_from(timeout=5)
    assert ack == {"type": "ack", "client_msg_id": "after", "seq": 1}
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("name", "text", "stored"), cases(HTTP_ACCEPTED))
async def test_ws_accepts_odd_but_valid_text_and_stores_it_clean(name, text, stored):
    comm, hello = await _connect()
    await comm.send_to(
        text_data=json.dumps({"type": "message", "text": text, "client_msg_id": "x"})
    )
    ack = await comm.receive_json_from(timeout=5)
    assert ack["type"] == "ack"
    reply = await comm.receive_json_from(timeout=5)
    assert reply["type"] in {"bot", "handoff"}
    assert "<script" not in reply.get("text", "")
    assert (await _messages())[0] == ("shopper", stored)
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_ws_flood_of_bad_frames_is_rate_limited_not_crashed(settings):
    settings.CSBOT_WS_FRAMES_PER_10S = 5
    comm, _ = await _connect()
    codes = []
    for _ in range(8):
        await comm.send_to(text_data="{bad")
        codes.append((await comm.receive_json_from(timeout=5))["code"])
    assert codes == ["bad_json"] * 5 + ["rate_limited"] * 3
    assert await _messages() == []
    assert await database_sync_to_async(Conversation.objects.count)() == 1
    await comm.disconnect()
