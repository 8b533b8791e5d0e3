"""POST /api/chat/ for apps and third-party channels."""

import json

import pytest
from django.test import override_settings

from conversations.models import Conversation, Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_store")]


def post(client, body, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/api/chat/", data=data, content_type="application/json", **extra)


def test_chat_returns_conversation_and_reply_frames(client):
    response = post(client, {"text": "运费怎么算"})
    assert response.status_code == 200
    body = response.json()
    assert body["conversation_id"].startswith("c_")
    assert body["seq"] == 1
    [reply] = body["replies"]
    assert reply["type"] == "bot" and reply["seq"] == 2 and reply["reply_to"] == 1
    assert reply["intent"] == "consult.logistics.shipping_fee"
    assert "¥99" in reply["text"] and "¥8" in reply["text"]
    assert "sessionid" in response.cookies


def test_session_keeps_the_conversation_and_its_context(client):
    first = post(client, {"text": "星河X5多少钱"}).json()
    second = post(client, {"text": "它支持无线充电吗"}).json()
    assert second["conversation_id"] == first["conversation_id"]
    assert second["replies"][0]["text"] == "星河 X5 手机：支持15W无线快充，兼容Qi标准。"


def test_accept_language_is_the_prior_for_language(client):
    body = post(client, {"text": "DD202611010001"}, HTTP_ACCEPT_LANGUAGE="en-US").json()
    assert body["replies"][0]["text"] == (
        "Please also give me the last four digits of the phone number on the order."
    )


def test_resend_with_same_client_msg_id_is_idempotent(client):
    first = post(client, {"text": "你好", "client_msg_id": "app-1"}).json()
    again = post(client, {"text": "你好", "client_msg_id": "app-1"}).json()
    assert again == first
    assert Message.objects.count() == 2


def test_handoff_frames_come_with_the_reply(client):
    body = post(client, {"text": "转人工"}).json()
    assert [f["type"] for f in body["replies"]] == ["bot", "handoff"]
    assert body["replies"][1]["status"] == "queued"


def test_other_visitors_conversation_is_not_found(client, django_user_model):
    owner = Conversation.objects.create(visitor_id="v_owner")
    response = post(client, {"text": "hi", "conversation_id": owner.public_id})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("{not json", 400, "bad_json"),
        ("[]", 400, "invalid_frame"),
        ({"conversation_id": None}, 400, "invalid_frame"),
        ({"text": 12}, 400, "invalid_frame"),
        ({"text": "   "}, 400, "empty_text"),
        ({"text": "hi", "extra": True}, 400, "invalid_frame"),
        ({"text": "hi", "conversation_id": 5}, 400, "invalid_frame"),
        ({"text": "hi", "client_msg_id": "x" * 65}, 400, "invalid_frame"),
        ({"text": "a" * 2001}, 413, "text_too_long"),
        ({"text": "a" * 20000}, 413, "frame_too_large"),
        ('{"text": "a\\ud800"}', 400, "invalid_frame"),
    ],
)
def test_bad_input_gets_a_clear_error_and_stores_nothing(client, body, status, code):
    response = post(client, body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert not Message.objects.exists()


def test_wrong_content_type_and_method(client):
    form = client.post("/api/chat/", data={"text": "hi"})
    assert form.status_code == 415
    assert form.json()["error"]["code"] == "unsupported_media_type"
    get = client.get("/api/chat/")
    assert get.status_code == 405
    assert not Message.objects.exists()


def test_error_message_follows_accept_language(client):
    response = post(client, {"text": ""}, HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response.json()["error"]["message"] == "消息不能为空。"


@override_settings(CSBOT_MESSAGES_PER_MINUTE=3)
def test_flood_gets_429_and_is_not_stored(client):
    codes = [post(client, {"text": f"你好{i}"}).status_code for i in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert Message.objects.filter(sender="shopper").count() == 3


def test_storefront_language_cookie_wins_over_accept_language(client):
    client.cookies["django_language"] = "en"
    body = post(client, {"text": "DD202611010001"}, HTTP_ACCEPT_LANGUAGE="zh-CN").json()
    assert body["replies"][0]["text"] == (
        "Please also give me the last four digits of the phone number on the order."
    )


def test_closed_conversation_answers_409(client):
    first = post(client, {"text": "你好"}).json()
    Conversation.objects.filter(public_id=first["conversation_id"]).update(status="closed")
    response = post(client, {"text": "还在吗", "conversation_id": first["conversation_id"]})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conversation_closed"
