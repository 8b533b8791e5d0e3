"""Fixtures for ops tests: sockets of logged-in shoppers and managers."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from csbot.asgi import application

ORIGIN = (b"origin", b"http://localhost")


def login_cookie(username: str) -> bytes:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def shopper_socket(*, username: str | None = None, lang: str = "zh"):
    """A connected shopper socket (logged in as `username` when given) and its hello."""
    headers = [ORIGIN, (b"accept-language", b"en-US,en;q=0.9" if lang == "en" else b"zh-CN")]
    if username:
        headers.append((b"cookie", await sync_to_async(login_cookie)(username)))
    comm = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    connected, _ = await comm.connect()
    assert connected
    hello = await comm.receive_json_from(timeout=5)
    assert hello["type"] == "conversation"
    return comm, hello


async def say(comm, text: str, client_msg_id: str) -> list[dict]:
    """Send a message; return the ack and the frames up to the bot's reply."""
    await comm.send_to(
        text_data=json.dumps({"type": "message", "text": text, "client_msg_id": client_msg_id})
    )
    frames = [await comm.receive_json_from(timeout=5)]
    while frames[-1]["type"] != "bot":
        frames.append(await comm.receive_json_from(timeout=5))
    return frames


@pytest.fixture
def manager_client(demo_store) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username="manager"))
    return client
