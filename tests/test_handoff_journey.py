"""A whole handoff across two Daphne processes sharing the Redis channel layer: the
shopper's socket is on one server, the agent's console socket on the other, and every
frame between them crosses Redis. The store is a temporary PostgreSQL database when
the run has one (the services run), else a SQLite file both processes open.

Runs whenever Redis answers; skips only when it does not (and fails instead with
CSBOT_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.browser_server import running_servers

pytestmark = pytest.mark.services

REDIS_URL = os.environ.get("REDIS_URL") or os.environ.get(
    "TEST_REDIS_URL", "redis://127.0.0.1:6379/15"
)
DATABASE_URL = os.environ.get("DATABASE_URL", "")


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@contextlib.contextmanager
def _temp_postgres(url: str) -> Iterator[str]:
    """A fresh database on the run's PostgreSQL server, dropped afterwards."""
    import psycopg

    name = f"csbot_journey_{secrets.token_hex(4)}"
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    if not _redis_answers(REDIS_URL):
        reason = f"Redis at {REDIS_URL} does not answer"
        if os.environ.get("CSBOT_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    prefix = f"journey{secrets.token_hex(4)}"
    env = {
        "REDIS_URL": REDIS_URL,
        "CSBOT_CHANNEL_PREFIX": prefix,
        "CSBOT_CACHE_PREFIX": prefix,
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "CSBOT_AGENT_HOURS": "00:00-24:00",
        # Without DATABASE_URL both processes open this SQLite file.
        "CSBOT_VAR_DIR": str(tmp_path_factory.mktemp("journey-store")),
    }
    with contextlib.ExitStack() as stack:
        database_url = stack.enter_context(_temp_postgres(DATABASE_URL)) if DATABASE_URL else None
        urls = stack.enter_context(running_servers(2, env_extra=env, database_url=database_url))
        yield urls, database_url or Path(env["CSBOT_VAR_DIR"]) / "db.sqlite3"


def _login(base_url: str, username: str) -> str:
    """Log in through the admin login form like a browser; return the Cookie header."""
    with httpx.Client(base_url=base_url, follow_redirects=False) as client:
        page = client.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        done = client.post(
            "/admin/login/?next=/handoff/console/",
            data={"username": username, "password": "demo12345", "csrfmiddlewaretoken": token},
            headers={"Referer": base_url + "/admin/login/"},
        )
        assert done.status_code == 302, done.text[-500:]
        assert client.get("/handoff/console/").status_code == 200
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


class Socket:
    def __init__(self, ws):
        self.ws = ws

    async def send(self, frame: dict) -> None:
        await self.ws.send(json.dumps(frame, ensure_ascii=False))

    async def until(self, kind: str, timeout: float = 10.0, **fields) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await self.ws.recv())
                if frame.get("type") == kind and all(frame.get(k) == v for k, v in fields.items()):
                    return frame


def _ws(url: str, path: str) -> str:
    return url.replace("http://", "ws://") + path


async def test_handoff_journey_across_two_servers(two_servers):
    (shop_url, agent_url), store = two_servers
    cookie = await asyncio.to_thread(_login, agent_url, "agent1")
    async with (
        connect(_ws(shop_url, "/ws/chat/"), origin=shop_url) as shopper_ws,
        connect(
            _ws(agent_url, "/ws/agent/"),
            origin=agent_url,
            additional_headers={"Cookie": cookie},
        ) as agent_ws,
    ):
        shopper, agent = Socket(shopper_ws), Socket(agent_ws)
        conversation_id = (await shopper.until("conversation"))["conversation_id"]
        await agent.until("queue")

        # The shopper asks for a person on server A; the queue on server B updates.
        await shopper.send({"type": "message", "text": "转人工", "client_msg_id": "j1"})
        queued = await shopper.until("handoff", status="queued")
        assert queued["position"] == 1
        queue = await agent.until("queue")
        while not queue["items"]:
            queue = await agent.until("queue")
        assert [i["conversation_id"] for i in queue["items"]] == [conversation_id]

        await agent.send({"type": "take", "conversation_id": conversation_id})
        chat = await agent.until("chat", conversation_id=conversation_id)
        assert chat["history"][0]["text"] == "转人工"
        assigned = await shopper.until("handoff", status="assigned")
        assert assigned["agent"] == "agent1"

        await shopper.send({"type": "message", "text": "耳机坏了 <b>急</b>", "client_msg_id": "j2"})
        heard = await agent.until("shopper", conversation_id=conversation_id)
        assert heard["text"] == "耳机坏了 <b>急</b>"

        await agent.send({"type": "typing", "conversation_id": conversation_id})
        assert await shopper.until("typing") == {"type": "typing", "agent": "agent1"}
        await agent.send(
            {
                "type": "message",
                "conversation_id": conversation_id,
                "text": "马上为您处理",
                "client_msg_id": "a1",
            }
        )
        said = await shopper.until("agent")
        assert (said["text"], said["agent"]) == ("马上为您处理", "agent1")

        await agent.send({"type": "release", "conversation_id": conversation_id})
        await shopper.until("handoff", status="returned")
        await shopper.send({"type": "message", "text": "运费怎么算", "client_msg_id": "j3"})
        answer = await shopper.until("bot")
        assert answer["intent"] == "consult.logistics.shipping_fee"

        # A second stint ends with a close: the shopper rates it.
        await shopper.send({"type": "handoff_request"})
        await shopper.until("handoff", status="queued")
        await agent.send({"type": "take", "conversation_id": conversation_id})
        await shopper.until("handoff", status="assigned")
        await agent.send(
            {"type": "close", "conversation_id": conversation_id, "note": "换新已安排"}
        )
        await agent.until("handoff", status="closed", conversation_id=conversation_id)
        await shopper.until("handoff", status="closed")
        await shopper.send({"type": "csat", "score": 5})
        await shopper.send({"type": "message", "text": "谢谢", "client_msg_id": "j4"})
        closed = await shopper.until("error")
        assert closed["code"] == "conversation_closed"

    rows = await asyncio.to_thread(_rows, store, conversation_id)
    assert rows == {
        "handoffs": [("returned", "requested"), ("resolved", "requested")],
        "note": "换新已安排",
        "csat": 5,
        "status": "closed",
    }


def _rows(store: str | Path, conversation_id: str) -> dict:
    """What the database holds for the conversation (PostgreSQL URL or SQLite path)."""
    sql = {
        "handoffs": "SELECT h.status, h.reason FROM handoff_handoffrequest h JOIN "
        "conversations_conversation c ON c.id = h.conversation_id WHERE c.public_id = %s "
        "ORDER BY h.id",
        "note": "SELECT h.resolution_note FROM handoff_handoffrequest h JOIN "
        "conversations_conversation c ON c.id = h.conversation_id WHERE c.public_id = %s "
        "AND h.status = 'resolved'",
        "csat": "SELECT s.score FROM conversations_csat s JOIN conversations_conversation c "
        "ON c.id = s.conversation_id WHERE c.public_id = %s",
        "status": "SELECT status FROM conversations_conversation WHERE public_id = %s",
    }
    if isinstance(store, str):
        import psycopg

        with psycopg.connect(store) as conn:
            found = {k: conn.execute(q, (conversation_id,)).fetchall() for k, q in sql.items()}
    else:
        with contextlib.closing(sqlite3.connect(store)) as conn:
            found = {
                k: conn.execute(q.replace("%s", "?"), (conversation_id,)).fetchall()
                for k, q in sql.items()
            }
    return {
        "handoffs": [tuple(r) for r in found["handoffs"]],
        "note": found["note"][0][0],
        "csat": found["csat"][0][0],
        "status": found["status"][0][0],
    }
