"""Failover across two Daphne instances on one Redis + PostgreSQL with a real Celery
worker answering: a shopper chats on instance A, A is killed mid-chat, the shopper
reconnects to instance B with the same session and resumes with nothing lost.

Runs when Redis and PostgreSQL answer; skips otherwise (fails with
CSBOT_REQUIRE_SERVICES=1). The stack is bench/scale_out.py's `Stack`.
(The agent side of a two-instance chat is tests/test_handoff_journey.py.)
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request

import psycopg
import pytest
from websockets.asyncio.client import connect

from bench.scale_out import Stack, scratch_database

pytestmark = pytest.mark.services

DATABASE_SERVER = os.environ.get("DATABASE_URL") or os.environ.get(
    "TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("REDIS_URL") or os.environ.get(
    "TEST_REDIS_URL", "redis://127.0.0.1:6379/15"
)
# Celery's queue names are not prefixed: a database of its own keeps other runs'
# workers from taking these tasks.
BROKER_URL = os.environ.get("CSBOT_SCALE_BROKER_URL", "redis://127.0.0.1:6379/13")


def _reachable() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        redis.Redis.from_url(BROKER_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis does not answer: {exc}"
    if not DATABASE_SERVER.startswith("postgres"):
        return "no PostgreSQL server configured"
    try:
        psycopg.connect(DATABASE_SERVER, connect_timeout=2).close()
    except psycopg.Error as exc:
        return f"PostgreSQL does not answer: {exc}"
    return None


@pytest.fixture(scope="module")
def stack():
    reason = _reachable()
    if reason:
        if os.environ.get("CSBOT_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    with (
        scratch_database(DATABASE_SERVER, label="failover") as database_url,
        Stack(
            database_url=database_url, redis_url=REDIS_URL, broker_url=BROKER_URL, instances=2
        ) as running,
    ):
        running.database_url = database_url
        yield running


def session_cookie(url: str) -> str:
    with urllib.request.urlopen(url + "/", timeout=10) as response:  # noqa: S310
        return response.headers["Set-Cookie"].split(";", 1)[0]


STORED = ("shopper", "bot", "agent", "handoff")


class Chat:
    """A shopper socket that, like the widget, keeps one stored frame per seq: after a
    resume a frame can arrive both replayed from the database and broadcast."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.seen: set[int] = set()

    async def frame(self, timeout: float = 20.0) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await self.ws.recv())
                if frame.get("type") in STORED:
                    if frame["seq"] in self.seen:
                        continue
                    self.seen.add(frame["seq"])
                return frame

    async def ask(self, text: str, cid: str) -> tuple[dict, dict]:
        """Send; return the ack and the bot's reply to it."""
        await self.ws.send(json.dumps({"type": "message", "text": text, "client_msg_id": cid}))
        ack = await self.frame()
        assert ack == {"type": "ack", "client_msg_id": cid, "seq": ack["seq"]}
        reply = await self.frame()
        assert reply["type"] == "bot" and reply["reply_to"] == ack["seq"]
        return ack, reply


def _open(url: str, cookie: str):
    return connect(
        url.replace("http://", "ws://") + "/ws/chat/",
        origin=url,
        additional_headers={"Cookie": cookie},
        ping_interval=None,
    )


def stored(database_url: str, conversation_id: str) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            """
            SELECT m.seq, m.sender, m.client_msg_id, r.seq
            FROM conversations_message m
            JOIN conversations_conversation c ON c.id = m.conversation_id
            LEFT JOIN conversations_message r ON r.id = m.reply_to_id
            WHERE c.public_id = %s ORDER BY m.seq
            """,
            [conversation_id],
        ).fetchall()


async def test_load_spread_over_both_instances_is_answered(stack):
    from bench.scale_out import load

    # Shoppers alternate between the two instances; one worker answers them all.
    result = await load(stack.urls, shoppers=6, messages=3)
    assert (result.replies, result.errors) == (18, 0)


async def test_shopper_fails_over_to_the_other_instance_and_loses_nothing(stack):
    a, b = stack.urls
    cookie = await asyncio.to_thread(session_cookie, a)

    async with _open(a, cookie) as ws:
        chat = Chat(ws)
        hello = await chat.frame()
        conversation_id = hello["conversation_id"]
        _, first = await chat.ask("运费怎么算", "f-1")
        assert "99" in first["text"]
        await chat.ask("怎么退货", "f-2")
        # Mid-chat: the message is stored and acked, then instance A dies before the
        # shopper reads the reply.
        await ws.send(json.dumps({"type": "message", "text": "可以分期吗", "client_msg_id": "f-3"}))
        ack3 = await chat.frame()
        assert ack3["seq"] == 5
        last_seen = 4
        await asyncio.to_thread(stack.kill, 0)
    # Instance A may have died before handing f-3's reply task to the broker; the
    # periodic sweep re-queues it (beat runs it every minute; here, once, at once).
    await asyncio.to_thread(stack.sweep)

    # The widget reconnects to the surviving instance with the same session cookie.
    async with _open(b, cookie) as ws:
        chat = Chat(ws)
        hello = await chat.frame()
        assert hello["conversation_id"] == conversation_id  # the same chat, found from the DB
        await ws.send(
            json.dumps(
                {"type": "resume", "conversation_id": conversation_id, "after_seq": last_seen}
            )
        )
        # What it missed, replayed from the database (or broadcast, if the re-queued reply
        # is stored after the replay, possibly before it: the widget orders by seq).
        missed = sorted([await chat.frame(timeout=30) for _ in range(2)], key=lambda f: f["seq"])
        assert [(f["type"], f["seq"]) for f in missed] == [("shopper", 5), ("bot", 6)]
        assert missed[1]["reply_to"] == 5
        assert missed[1]["intent"] == "consult.payment.installment"
        # The widget, unsure whether f-3 arrived, resends it: same ack, no second reply.
        await ws.send(json.dumps({"type": "message", "text": "可以分期吗", "client_msg_id": "f-3"}))
        assert await chat.frame() == {"type": "ack", "client_msg_id": "f-3", "seq": 5}
        ack, reply = await chat.ask("发票怎么开", "f-4")
        assert (ack["seq"], reply["seq"]) == (7, 8)

    rows = await asyncio.to_thread(stored, stack.database_url, conversation_id)
    assert rows == [
        (1, "shopper", "f-1", None),
        (2, "bot", None, 1),
        (3, "shopper", "f-2", None),
        (4, "bot", None, 3),
        (5, "shopper", "f-3", None),
        (6, "bot", None, 5),
        (7, "shopper", "f-4", None),
        (8, "bot", None, 7),
    ]
