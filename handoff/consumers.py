"""The agent WebSocket edge (`/ws/agent/`): staff in the `agents` group only.

On connect the console gets the queue and every chat the agent holds (history and
context packet). The queue is pushed on every change; a held chat's frames (the
shopper's messages, the agent's own from another tab, status changes) come through
the conversation's channel-layer group. Frames are validated, then one service runs;
bad input gets an `error` frame and the socket stays open.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from csbot import frames, metrics
from csbot.errors import ChatError, ErrorCode
from csbot.text import language_preferred
from handoff import selectors, services
from handoff.events import (
    AgentMessageFrame,
    CloseFrame,
    ReleaseFrame,
    TakeFrame,
    TypingFrame,
    agent_ack_frame,
    agent_error_frame,
    agent_view,
    chat_frame,
    parse_agent_frame,
    queue_frame,
)

log = logging.getLogger(__name__)
# Close code for a refused handshake: not an agent.
FORBIDDEN = 4403


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


class AgentConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.user = self.scope.get("user")
        self.watching: set[str] = set()
        self.frame_times: deque[float] = deque()
        allowed = await database_sync_to_async(selectors.agent_is_allowed)(self.user)
        if not allowed:
            await self.close(code=FORBIDDEN)
            return
        self.lang = language_preferred(
            self.scope.get("cookies", {}).get(settings.LANGUAGE_COOKIE_NAME),
            _header(self.scope, b"accept-language"),
        )
        await self.accept()
        metrics.connected_sockets.labels(kind="agent").inc()
        self.joined = [services.AGENTS_GROUP, services.agent_group(self.user.pk)]
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self._send(queue_frame(await database_sync_to_async(_queue)()))
        held = await database_sync_to_async(_held_ids)(self.user)
        for conversation_id in held:
            await self._watch(conversation_id)

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "joined"):
            return
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        for conversation_id in list(self.watching):
            await self._unwatch(conversation_id)
        metrics.connected_sockets.labels(kind="agent").dec()

    async def _watch(self, conversation_id: str) -> None:
        """Follow a held chat: join its group first, then send the packet, so no frame
        falls between the two (the console drops repeats by seq)."""
        if conversation_id not in self.watching:
            self.watching.add(conversation_id)
            await self.channel_layer.group_add(f"conv.{conversation_id}", self.channel_name)
        packet = await database_sync_to_async(_packet)(conversation_id, self.user)
        if packet is None:  # released or closed meanwhile
            await self._unwatch(conversation_id)
            return
        await self._send(chat_frame(packet))

    async def _unwatch(self, conversation_id: str) -> None:
        if conversation_id in self.watching:
            self.watching.discard(conversation_id)
            await self.channel_layer.group_discard(f"conv.{conversation_id}", self.channel_name)

    # --- incoming ---------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame: Any = None
        try:
            self._frame_rate_check()
            if bytes_data is not None and text_data is None:
                raise ChatError(ErrorCode.BINARY_FRAME)
            frame = parse_agent_frame(text_data)
            await self._dispatch(frame)
        except ChatError as exc:
            metrics.frame_errors_total.labels(code=exc.code.value).inc()
            conversation_id = frame.conversation_id if frame is not None else None
            await self._send(agent_error_frame(exc, self.lang, conversation_id))

    def _frame_rate_check(self) -> None:
        now = time.monotonic()
        while self.frame_times and now - self.frame_times[0] >= 10.0:
            self.frame_times.popleft()
        self.frame_times.append(now)
        if len(self.frame_times) > settings.CSBOT_WS_FRAMES_PER_10S * 2:
            raise ChatError(ErrorCode.RATE_LIMITED)

    async def _dispatch(self, frame: Any) -> None:
        conversation_id = frame.conversation_id
        if isinstance(frame, TakeFrame):
            await database_sync_to_async(services.handoff_take)(
                conversation_id=conversation_id, agent=self.user
            )
            await self._send(agent_ack_frame(action=frame.type, conversation_id=conversation_id))
            await self._watch(conversation_id)  # the `watch` broadcast may come later
        elif isinstance(frame, AgentMessageFrame):
            client_msg_id = frame.client_msg_id or f"srv-{time.time_ns()}"
            message = await database_sync_to_async(services.agent_message_send)(
                conversation_id=conversation_id,
                agent=self.user,
                text=frame.text,
                client_msg_id=client_msg_id,
            )
            await self._send(
                agent_ack_frame(
                    action=frame.type,
                    conversation_id=conversation_id,
                    client_msg_id=client_msg_id,
                    seq=message.seq,
                )
            )
        elif isinstance(frame, ReleaseFrame):
            await database_sync_to_async(services.handoff_release)(
                conversation_id=conversation_id, agent=self.user
            )
            await self._send(agent_ack_frame(action=frame.type, conversation_id=conversation_id))
        elif isinstance(frame, CloseFrame):
            await database_sync_to_async(services.handoff_close)(
                conversation_id=conversation_id, agent=self.user, note=frame.note
            )
            await self._send(agent_ack_frame(action=frame.type, conversation_id=conversation_id))
        elif isinstance(frame, TypingFrame):
            await database_sync_to_async(services.agent_typing)(
                conversation_id=conversation_id, agent=self.user
            )

    # --- outgoing ---------------------------------------------------------

    async def chat_frame(self, event: dict[str, Any]) -> None:
        """A frame broadcast to one of this socket's groups by a service."""
        group = event.get("group", "")
        frame = event["frame"]
        if group == services.AGENTS_GROUP:
            await self._send(frame)
        elif group == services.agent_group(self.user.pk):
            if frame.get("type") == "watch" and frame["conversation_id"] not in self.watching:
                await self._watch(frame["conversation_id"])
        elif group.startswith("conv."):
            conversation_id = group[len("conv.") :]
            if conversation_id not in self.watching:
                return
            view = agent_view(conversation_id, frame)
            if view is None:
                return
            await self._send(view)
            if view["type"] == "handoff" and view.get("status") in ("returned", "closed"):
                await self._unwatch(conversation_id)

    async def _send(self, frame: dict[str, Any]) -> None:
        frames.sent(frame, "agent")
        await self.send(text_data=json.dumps(frame, ensure_ascii=False))


def _queue() -> list[dict[str, Any]]:
    return selectors.queue_items()


def _held_ids(user: Any) -> list[str]:
    return [h.conversation.public_id for h in selectors.agent_handoffs(agent=user)]


def _packet(conversation_id: str, user: Any) -> dict[str, Any] | None:
    handoff = selectors.handoff_open_for(conversation_id=conversation_id)
    if handoff is None or handoff.agent_id != user.pk:
        return None
    return selectors.context_packet(handoff=handoff, agent=user)
