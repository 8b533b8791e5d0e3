"""The shopper WebSocket edge: validate frames, call one service, send frames.

Bad input gets an `error` frame with a code and the socket stays open; nothing
is stored for a refused frame. Frames stored in the conversation reach every
socket watching it through the channel-layer group, after the write commits.
Shopper messages go through this process's group commit (`conversations.batching`):
the ack is sent once the batch holding the message has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from conversations import selectors, services
from conversations.batching import batches_settle, message_submit
from conversations.events import (
    CsatFrame,
    FeedbackFrame,
    HandoffRequestFrame,
    MessageFrame,
    ResumeFrame,
    ack_frame,
    conversation_frame,
    message_frame,
    message_payload,
    parse_client_frame,
)
from conversations.models import Conversation
from csbot import frames, metrics
from csbot.errors import ChatError, ErrorCode
from csbot.identity import Shopper, shopper_from, visitor_id_from_session
from csbot.ratelimit import RateLimit
from csbot.text import language_preferred

log = logging.getLogger(__name__)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def client_ip(scope: dict[str, Any]) -> str:
    client = scope.get("client") or ("unknown", 0)
    return str(client[0])


class ChatConsumer(AsyncWebsocketConsumer):
    conversation: Conversation | None = None
    shopper: Shopper

    async def connect(self) -> None:
        self.frame_times: deque[float] = deque()
        self.lang = language_preferred(
            self.scope.get("cookies", {}).get(settings.LANGUAGE_COOKIE_NAME),
            _header(self.scope, b"accept-language"),
        )
        self.shopper = await database_sync_to_async(self._identify)()
        conversation = await database_sync_to_async(services.conversation_open)(
            shopper=self.shopper, channel=Conversation.Channel.WEB, language=self.lang
        )
        await self.accept()
        metrics.connected_sockets.labels(kind="shopper").inc()
        await self._watch(conversation)
        notice = await database_sync_to_async(selectors.privacy_notice)(lang=conversation.language)
        await self._send(conversation_frame(conversation, privacy_notice=notice))

    def _identify(self) -> Shopper:
        session = self.scope["session"]
        created = session.get("csbot_visitor") is None
        visitor_id = visitor_id_from_session(session, create=True)
        if created:
            session.save()
        return shopper_from(self.scope.get("user"), visitor_id)

    async def disconnect(self, code: int) -> None:
        # Let this socket's messages in flight finish (stored, answered) before the
        # consumer ends: an orderly shutdown, and tests see a quiet database afterwards.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await batches_settle()
        if self.conversation is not None:
            await self.channel_layer.group_discard(self.conversation.group_name, self.channel_name)
            metrics.connected_sockets.labels(kind="shopper").dec()

    async def _watch(self, conversation: Conversation) -> None:
        if self.conversation is not None and self.conversation.pk != conversation.pk:
            await self.channel_layer.group_discard(self.conversation.group_name, self.channel_name)
        self.conversation = conversation
        await self.channel_layer.group_add(conversation.group_name, self.channel_name)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch, less its `aclose_old_connections()` before every handler:
        that is a hop to the database thread for each frame, and this consumer never
        touches the database on the event loop: `database_sync_to_async` and the
        batcher open and close connections around their own work."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- incoming ---------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            self._frame_rate_check()
            if bytes_data is not None and text_data is None:
                raise ChatError(ErrorCode.BINARY_FRAME)
            frame = parse_client_frame(text_data)
            await self._dispatch(frame)
        except ChatError as exc:
            metrics.frame_errors_total.labels(code=exc.code.value).inc()
            await self._send(exc.frame(self.conversation.language if self.conversation else "en"))

    def _frame_rate_check(self) -> None:
        now = time.monotonic()
        while self.frame_times and now - self.frame_times[0] >= 10.0:
            self.frame_times.popleft()
        self.frame_times.append(now)
        if len(self.frame_times) > settings.CSBOT_WS_FRAMES_PER_10S:
            raise ChatError(ErrorCode.RATE_LIMITED)

    async def _dispatch(self, frame: Any) -> None:
        assert self.conversation is not None
        if isinstance(frame, MessageFrame):
            await self._message(frame)
        elif isinstance(frame, ResumeFrame):
            await self._resume(frame)
        elif isinstance(frame, HandoffRequestFrame):
            await database_sync_to_async(services.handoff_request)(conversation=self.conversation)
        elif isinstance(frame, FeedbackFrame):
            await database_sync_to_async(services.message_feedback)(
                conversation=self.conversation, seq=frame.seq, helpful=frame.helpful
            )
        elif isinstance(frame, CsatFrame):
            await database_sync_to_async(services.csat_record)(
                conversation=self.conversation, score=frame.score
            )

    async def _message(self, frame: MessageFrame) -> None:
        assert self.conversation is not None
        # Stored in this process's next group commit; the ack follows that commit.
        message = await message_submit(
            conversation=self.conversation,
            text=frame.text,
            client_msg_id=frame.client_msg_id,
            payload=message_payload(frame.context),
            limits=(
                RateLimit(
                    key=f"visitor:{self.shopper.visitor_id}",
                    limit=settings.CSBOT_MESSAGES_PER_MINUTE,
                    window_s=60,
                ),
                RateLimit(
                    key=f"ip:{client_ip(self.scope)}",
                    limit=settings.CSBOT_IP_MESSAGES_PER_MINUTE,
                    window_s=60,
                ),
            ),
        )
        await self._send(ack_frame(message))

    async def _resume(self, frame: ResumeFrame) -> None:
        assert self.conversation is not None
        if frame.conversation_id != self.conversation.public_id:
            conversation = await database_sync_to_async(services.conversation_get_owned)(
                public_id=frame.conversation_id, shopper=self.shopper
            )
            await self._watch(conversation)
            notice = await database_sync_to_async(selectors.privacy_notice)(
                lang=conversation.language
            )
            await self._send(conversation_frame(conversation, privacy_notice=notice))
        frames = await database_sync_to_async(_frames_after)(self.conversation, frame.after_seq)
        for item in frames:
            await self._send(item)
        # Frames about the conversation as it is now (its place in the queue, say).
        for live in await database_sync_to_async(selectors.live_frames)(
            conversation=self.conversation
        ):
            await self._send(live)

    # --- outgoing ---------------------------------------------------------

    async def chat_frame(self, event: dict[str, Any]) -> None:
        """A frame broadcast to the conversation's group by a service."""
        await self._send(event["frame"])

    async def _send(self, frame: dict[str, Any]) -> None:
        frames.sent(frame, "shopper")
        await self.send(text_data=json.dumps(frame, ensure_ascii=False))


def _frames_after(conversation: Conversation, after_seq: int) -> list[dict[str, Any]]:
    return [
        message_frame(m)
        for m in selectors.messages_after(conversation=conversation, after_seq=after_seq)
    ]
