"""Both sockets of a handoff through the real ASGI stack (origin check, session, auth):
the agent's `/ws/agent/` and the shopper's `/ws/chat/`, on the configured channel layer."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model

from conversations.models import Conversation, Csat, Message
from csbot.asgi import application
from handoff.models import HandoffRequest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_store")]
ORIGIN = (b"origin", b"http://localhost")
HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'


@database_sync_to_async
def user(username: str):
    return get_user_model().objects.get(username=username)


@database_sync_to_async
def count(model, **filters) -> int:
    return model.objects.filter(**filters).count()


@database_sync_to_async
def stored(conversation_id: str) -> list[tuple[str, str]]:
    return list(
        Message.objects.filter(conversation__public_id=conversation_id)
        .order_by("seq")
        .values_list("sender", "text")
    )


async def agent_socket(cookie: bytes):
    comm = WebsocketCommunicator(application, "/ws/agent/", headers=[ORIGIN, (b"cookie", cookie)])
    connected, _ = await comm.connect()
    assert connected
    first = await comm.receive_json_from(timeout=5)
    assert first["type"] == "queue"
    return comm, first


async def shopper_socket(lang: bytes = b"zh-CN,zh;q=0.9"):
    comm = WebsocketCommunicator(
        application, "/ws/chat/", headers=[ORIGIN, (b"accept-language", lang)]
    )
    connected, _ = await comm.connect()
    assert connected
    hello = await comm.receive_json_from(timeout=5)
    return comm, hello["conversation_id"]


async def say(comm, text: str, client_msg_id: str) -> None:
    await comm.send_json_to({"type": "message", "text": text, "client_msg_id": client_msg_id})


async def until(comm, predicate, timeout: float = 5.0) -> tuple[dict, list[dict]]:
    """Read frames until one matches; return it and everything read before it."""
    seen = []
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        if predicate(frame):
            return frame, seen
        seen.append(frame)


async def drain(comm, quiet_s: float = 0.3) -> list[dict]:
    """Every frame that arrives until the socket has been quiet for `quiet_s`."""
    frames = []
    while not await comm.receive_nothing(timeout=quiet_s):
        frames.append(await comm.receive_json_from(timeout=1))
    return frames


def of(kind: str, **fields):
    return lambda f: f.get("type") == kind and all(f.get(k) == v for k, v in fields.items())


async def queued_shopper(text: str = "转人工", lang: bytes = b"zh-CN,zh;q=0.9"):
    comm, conversation_id = await shopper_socket(lang)
    await say(comm, text, "need-human")
    await until(comm, of("handoff", status="queued"))
    return comm, conversation_id


# --- who may connect ---------------------------------------------------------------


@pytest.mark.parametrize("username", [None, "alice", "manager"])
async def test_only_staff_in_the_agents_group_may_open_the_agent_socket(username, login_cookie):
    headers = [ORIGIN]
    if username:
        headers.append((b"cookie", await login_cookie(await user(username))))
    comm = WebsocketCommunicator(application, "/ws/agent/", headers=headers)
    connected, code = await comm.connect()
    assert (connected, code) == (False, 4403)


async def test_agent_socket_refuses_a_foreign_origin(login_cookie):
    cookie = await login_cookie(await user("agent1"))
    comm = WebsocketCommunicator(
        application,
        "/ws/agent/",
        headers=[(b"origin", b"http://evil.example"), (b"cookie", cookie)],
    )
    connected, _ = await comm.connect()
    assert connected is False


# --- bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{nope", "bad_json"),
        ("[1]", "invalid_frame"),
        ('{"type":"steal","conversation_id":"c_x"}', "unknown_type"),
        ('{"type":"take"}', "invalid_frame"),
        ('{"type":"take","conversation_id":"c_x","agent":"agent2"}', "invalid_frame"),
        ('{"type":"take","conversation_id":7}', "invalid_frame"),
        ('{"type":"message","conversation_id":"c_x","text":"   "}', "empty_text"),
        (
            '{"type":"message","conversation_id":"c_x","text":"' + "长" * 2001 + '"}',
            "text_too_long",
        ),
        ('{"type":"close","conversation_id":"c_x","note":5}', "invalid_frame"),
        ('{"type":"message","conversation_id":"c_x","text":"hi"}', "not_assigned"),
        ('{"type":"take","conversation_id":"c_nope"}', "not_found"),
    ],
)
async def test_bad_agent_frames_get_an_error_and_change_nothing(raw, code, login_cookie):
    shopper, conversation_id = await queued_shopper()
    before = await stored(conversation_id)
    agent, _ = await agent_socket(await login_cookie(await user("agent1")))
    await agent.send_to(text_data=raw.replace("c_x", conversation_id))
    error, _ = await until(agent, of("error"))
    assert error["code"] == code
    assert error["message"]
    assert await stored(conversation_id) == before
    assert await count(HandoffRequest, status="waiting") == 1
    # The socket stays open and usable.
    await agent.send_json_to({"type": "take", "conversation_id": conversation_id})
    await until(agent, of("ack", action="take"))
    await agent.disconnect()
    await shopper.disconnect()


async def test_binary_agent_frame_is_refused(login_cookie):
    agent, _ = await agent_socket(await login_cookie(await user("agent1")))
    await agent.send_to(bytes_data=b"\x00\x01")
    assert (await agent.receive_json_from(timeout=5))["code"] == "binary_frame"
    await agent.disconnect()


# --- the journey on one server ---------------------------------------------------------


async def test_take_talk_release_on_both_sockets(login_cookie):
    agent, _ = await agent_socket(await login_cookie(await user("agent1")))
    shopper, conversation_id = await queued_shopper()

    queue, _ = await until(agent, lambda f: f["type"] == "queue" and f["items"])
    (item,) = queue["items"]
    assert (item["conversation_id"], item["reason"], item["priority"]) == (
        conversation_id,
        "requested",
        "normal",
    )
    assert item["summary"] == "转人工" and item["position"] == 1

    await agent.send_json_to({"type": "take", "conversation_id": conversation_id})
    chat, _ = await until(agent, of("chat"))
    assert chat["conversation_id"] == conversation_id
    assert [f["type"] for f in chat["history"]][:3] == ["shopper", "bot", "handoff"]
    assert chat["reason"] == "requested"
    assigned, _ = await until(shopper, of("handoff", status="assigned"))
    assert assigned["agent"] == "agent1"

    # The shopper's words reach the console, escaped nowhere and changed in no way;
    # the bot stays quiet.
    await say(shopper, HOSTILE, "s-1")
    ack, _ = await until(shopper, of("ack"))
    frame, _ = await until(agent, of("shopper"))
    assert frame == {
        "type": "shopper",
        "conversation_id": conversation_id,
        "seq": ack["seq"],
        "text": HOSTILE,
    }

    await agent.send_json_to({"type": "typing", "conversation_id": conversation_id})
    typing, skipped = await until(shopper, of("typing"))
    assert typing == {"type": "typing", "agent": "agent1"}
    assert not [f for f in skipped if f["type"] == "bot"]

    await agent.send_json_to(
        {
            "type": "message",
            "conversation_id": conversation_id,
            "text": "您好，请问哪里不满意？",
            "client_msg_id": "a-1",
        }
    )
    agent_ack, _ = await until(agent, of("ack", action="message"))
    assert agent_ack["client_msg_id"] == "a-1"
    said, _ = await until(shopper, of("agent"))
    assert said == {
        "type": "agent",
        "seq": agent_ack["seq"],
        "text": "您好，请问哪里不满意？",
        "agent": "agent1",
    }

    await agent.send_json_to({"type": "release", "conversation_id": conversation_id})
    await until(agent, of("handoff", status="returned", conversation_id=conversation_id))
    await until(shopper, of("handoff", status="returned"))
    await say(shopper, "运费怎么算", "s-2")
    reply, _ = await until(shopper, of("bot"))
    assert reply["intent"] == "consult.logistics.shipping_fee"
    # The console no longer follows the chat: the bot's answer is not sent to it.
    later = await drain(agent)
    assert {f["type"] for f in later} <= {"ack", "queue"}
    assert [s for s, _ in await stored(conversation_id)].count("bot") == 2
    await agent.disconnect()
    await shopper.disconnect()


async def test_close_asks_for_the_rating_and_stores_it(login_cookie):
    agent, _ = await agent_socket(await login_cookie(await user("agent1")))
    shopper, conversation_id = await queued_shopper("I want to talk to a person", b"en-US,en")
    await agent.send_json_to({"type": "take", "conversation_id": conversation_id})
    await until(agent, of("chat"))
    await agent.send_json_to(
        {"type": "close", "conversation_id": conversation_id, "note": "Refund explained"}
    )
    await until(agent, of("ack", action="close"))
    await until(shopper, of("handoff", status="closed"))
    await shopper.send_json_to({"type": "csat", "score": 5})
    await say(shopper, "one more thing", "late")
    refused, _ = await until(shopper, of("error"))
    assert refused["code"] == "conversation_closed"
    assert await count(Csat, conversation__public_id=conversation_id, score=5) == 1
    assert await count(HandoffRequest, status="resolved", resolution_note="Refund explained") == 1
    assert await count(Conversation, public_id=conversation_id, status="closed") == 1
    await agent.disconnect()
    await shopper.disconnect()


async def test_another_agent_cannot_act_on_a_held_chat(login_cookie):
    first, _ = await agent_socket(await login_cookie(await user("agent1")))
    second, _ = await agent_socket(await login_cookie(await user("agent2")))
    shopper, conversation_id = await queued_shopper()
    await first.send_json_to({"type": "take", "conversation_id": conversation_id})
    await until(first, of("chat"))
    await second.send_json_to({"type": "take", "conversation_id": conversation_id})
    taken, _ = await until(second, of("error"))
    assert (taken["code"], taken["conversation_id"]) == ("already_taken", conversation_id)
    before = await stored(conversation_id)
    for frame in (
        {"type": "message", "conversation_id": conversation_id, "text": "hijack"},
        {"type": "release", "conversation_id": conversation_id},
        {"type": "close", "conversation_id": conversation_id},
        {"type": "typing", "conversation_id": conversation_id},
    ):
        await second.send_json_to(frame)
        error, _ = await until(second, of("error"))
        assert error["code"] == "not_assigned"
    assert await stored(conversation_id) == before
    assert await count(HandoffRequest, status="assigned", agent__username="agent1") == 1
    for comm in (first, second, shopper):
        await comm.disconnect()


async def test_waiting_shoppers_see_their_place_move_up_live(login_cookie):
    agent, _ = await agent_socket(await login_cookie(await user("agent1")))
    first, first_id = await queued_shopper()
    second, _ = await shopper_socket()
    await say(second, "转人工", "second")
    queued, _ = await until(second, of("handoff", status="queued"))
    assert queued["position"] == 2 and queued["wait_s"] == 180
    await agent.send_json_to({"type": "take", "conversation_id": first_id})
    moved, _ = await until(second, lambda f: f["type"] == "handoff" and "seq" not in f)
    assert moved == {
        "type": "handoff",
        "status": "queued",
        "priority": "normal",
        "position": 1,
        "wait_s": 120,
    }
    for comm in (agent, first, second):
        await comm.disconnect()


async def test_a_reconnecting_console_gets_its_held_chats_back(login_cookie):
    cookie = await login_cookie(await user("agent1"))
    agent, _ = await agent_socket(cookie)
    shopper, conversation_id = await queued_shopper()
    await agent.send_json_to({"type": "take", "conversation_id": conversation_id})
    await until(agent, of("chat"))
    await agent.disconnect()

    again, queue = await agent_socket(cookie)
    assert queue["items"] == []
    chat, _ = await until(again, of("chat"))
    assert chat["conversation_id"] == conversation_id
    await say(shopper, "还在吗", "s-9")
    frame, _ = await until(again, of("shopper"))
    assert frame["text"] == "还在吗"
    await again.disconnect()
    await shopper.disconnect()


async def test_a_second_console_tab_follows_a_take(login_cookie):
    cookie = await login_cookie(await user("agent1"))
    tab1, _ = await agent_socket(cookie)
    tab2, _ = await agent_socket(cookie)
    shopper, conversation_id = await queued_shopper()
    await tab1.send_json_to({"type": "take", "conversation_id": conversation_id})
    for tab in (tab1, tab2):
        chat, _ = await until(tab, of("chat"))
        assert chat["conversation_id"] == conversation_id
    await tab1.send_json_to(
        {"type": "message", "conversation_id": conversation_id, "text": json.dumps({"a": 1})}
    )
    echoed, _ = await until(tab2, of("agent"))
    assert echoed["text"] == '{"a": 1}'
    for comm in (tab1, tab2, shopper):
        await comm.disconnect()


async def test_a_closed_chat_cannot_be_queued_again(login_cookie):
    agent, _ = await agent_socket(await login_cookie(await user("agent1")))
    shopper, conversation_id = await queued_shopper()
    await agent.send_json_to({"type": "take", "conversation_id": conversation_id})
    await until(agent, of("chat"))
    await agent.send_json_to({"type": "close", "conversation_id": conversation_id})
    await until(shopper, of("handoff", status="closed"))
    before = await stored(conversation_id)
    await shopper.send_json_to({"type": "handoff_request"})
    refused, _ = await until(shopper, of("error"))
    assert refused["code"] == "conversation_closed"
    assert await stored(conversation_id) == before
    assert await count(HandoffRequest, status__in=["waiting", "assigned"]) == 0
    await agent.disconnect()
    await shopper.disconnect()


async def test_agent_errors_come_in_the_console_language(login_cookie):
    cookie = await login_cookie(await user("agent1"))
    comm = WebsocketCommunicator(
        application,
        "/ws/agent/",
        headers=[ORIGIN, (b"cookie", cookie), (b"accept-language", b"en-US,en;q=0.9")],
    )
    assert (await comm.connect())[0]
    await comm.receive_json_from(timeout=5)
    await comm.send_json_to({"type": "take", "conversation_id": "c_missing"})
    error = await comm.receive_json_from(timeout=5)
    assert error == {
        "type": "error",
        "code": "not_found",
        "message": "That conversation was not found.",
        "conversation_id": "c_missing",
    }
    await comm.disconnect()


async def test_a_resuming_shopper_gets_the_place_as_it_is_now(login_cookie, visitor_cookie):
    agent, _ = await agent_socket(await login_cookie(await user("agent1")))
    first, first_id = await queued_shopper()
    cookie = await visitor_cookie("v_resumer")
    second = WebsocketCommunicator(application, "/ws/chat/", headers=[ORIGIN, (b"cookie", cookie)])
    assert (await second.connect())[0]
    second_id = (await second.receive_json_from(timeout=5))["conversation_id"]
    await second.send_json_to({"type": "handoff_request"})
    await until(second, of("handoff", status="queued", position=2))
    await second.disconnect()
    await agent.send_json_to({"type": "take", "conversation_id": first_id})
    await until(agent, of("chat"))

    again = WebsocketCommunicator(application, "/ws/chat/", headers=[ORIGIN, (b"cookie", cookie)])
    assert (await again.connect())[0]
    assert (await again.receive_json_from(timeout=5))["conversation_id"] == second_id
    await again.send_json_to({"type": "resume", "conversation_id": second_id, "after_seq": 0})
    stored_note = await again.receive_json_from(timeout=5)
    assert (stored_note["seq"], stored_note["position"]) == (1, 2)
    assert await again.receive_json_from(timeout=5) == {
        "type": "handoff",
        "status": "queued",
        "priority": "normal",
        "position": 1,
        "wait_s": 120,
    }
    for comm in (agent, first, again):
        await comm.disconnect()
