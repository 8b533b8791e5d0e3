"""Shopper WebSocket frames, declared once, and the one broadcast helper.

Incoming frames are validated against the pydantic models below (unknown
fields rejected). Outgoing frames for stored messages are built by
`message_frame`, so the socket, the HTTP API and resume all send the same shape.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any, Literal

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import transaction
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from conversations.models import Conversation, Message

log = logging.getLogger(__name__)


class ErrorCode(StrEnum):
    BAD_JSON = "bad_json"
    BINARY_FRAME = "binary_frame"
    FRAME_TOO_LARGE = "frame_too_large"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_FRAME = "invalid_frame"
    EMPTY_TEXT = "empty_text"
    TEXT_TOO_LONG = "text_too_long"
    RATE_LIMITED = "rate_limited"
    NOT_FOUND = "not_found"
    CONVERSATION_CLOSED = "conversation_closed"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    # Agent console (handoff app).
    ALREADY_TAKEN = "already_taken"
    AT_CAPACITY = "at_capacity"
    NOT_ASSIGNED = "not_assigned"


ERROR_MESSAGES: dict[ErrorCode, tuple[str, str]] = {
    ErrorCode.BAD_JSON: ("消息格式不正确（需要 JSON）。", "The frame is not valid JSON."),
    ErrorCode.BINARY_FRAME: ("不支持二进制消息。", "Binary frames are not supported."),
    ErrorCode.FRAME_TOO_LARGE: ("消息太大了。", "The frame is too large."),
    ErrorCode.UNKNOWN_TYPE: ("未知的消息类型。", "Unknown frame type."),
    ErrorCode.INVALID_FRAME: ("消息字段不正确。", "The frame has missing or invalid fields."),
    ErrorCode.EMPTY_TEXT: ("消息不能为空。", "The message is empty."),
    ErrorCode.TEXT_TOO_LONG: (
        "消息太长了，请控制在 2000 字以内。",
        "The message is too long (2000 characters at most).",
    ),
    ErrorCode.RATE_LIMITED: (
        "发送太频繁了，请稍后再试。",
        "You are sending messages too fast; please wait a moment.",
    ),
    ErrorCode.NOT_FOUND: ("没有找到这个会话。", "That conversation was not found."),
    ErrorCode.CONVERSATION_CLOSED: (
        "这个会话已结束，请开始新的会话。",
        "This conversation has ended; please start a new one.",
    ),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: (
        "请求体需要是 JSON（Content-Type: application/json）。",
        "The request body must be JSON (Content-Type: application/json).",
    ),
    ErrorCode.METHOD_NOT_ALLOWED: ("不支持该请求方法。", "Method not allowed."),
    ErrorCode.ALREADY_TAKEN: (
        "这个会话已被其他客服接入。",
        "Another agent has already taken this chat.",
    ),
    ErrorCode.AT_CAPACITY: (
        "您同时接待的会话已达上限，请先结束或转回一个会话。",
        "You are at your limit of concurrent chats; close or release one first.",
    ),
    ErrorCode.NOT_ASSIGNED: (
        "这个会话不在您的接待列表中。",
        "This chat is not assigned to you.",
    ),
}


class ChatError(Exception):
    """A refusal the shopper should see: a code for machines, a message for people."""

    def __init__(self, code: ErrorCode, detail: str = "") -> None:
        super().__init__(code.value)
        self.code = code
        self.detail = detail

    def frame(self, lang: str = "en") -> dict[str, str]:
        zh, en = ERROR_MESSAGES[self.code]
        message = zh if lang == "zh" else en
        if self.detail:
            message = f"{message} ({self.detail})"
        return {"type": "error", "code": self.code.value, "message": message}


# --- Client -> server -------------------------------------------------------

_STRICT = ConfigDict(extra="forbid", strict=True)


class MessageFrame(BaseModel):
    model_config = _STRICT
    type: Literal["message"]
    text: str
    client_msg_id: Annotated[str, Field(min_length=1, max_length=64)]


class ResumeFrame(BaseModel):
    model_config = _STRICT
    type: Literal["resume"]
    conversation_id: Annotated[str, Field(min_length=1, max_length=40)]
    after_seq: Annotated[StrictInt, Field(ge=0)]


class HandoffRequestFrame(BaseModel):
    model_config = _STRICT
    type: Literal["handoff_request"]


class FeedbackFrame(BaseModel):
    model_config = _STRICT
    type: Literal["feedback"]
    seq: Annotated[StrictInt, Field(ge=1)]
    helpful: StrictBool


class CsatFrame(BaseModel):
    model_config = _STRICT
    type: Literal["csat"]
    score: Annotated[StrictInt, Field(ge=1, le=5)]


ClientFrame = Annotated[
    MessageFrame | ResumeFrame | HandoffRequestFrame | FeedbackFrame | CsatFrame,
    Field(discriminator="type"),
]
_client_frame = TypeAdapter(ClientFrame)
CLIENT_TYPES = frozenset({"message", "resume", "handoff_request", "feedback", "csat"})


def parse_client_frame(raw: str | bytes | None) -> BaseModel:
    """Validate one incoming text frame, raising ChatError with the precise code."""
    if raw is None:
        raise ChatError(ErrorCode.BINARY_FRAME)
    if len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw) > (
        settings.CSBOT_MAX_FRAME_BYTES
    ):
        raise ChatError(ErrorCode.FRAME_TOO_LARGE)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ChatError(ErrorCode.BAD_JSON) from exc
    return parse_client_data(data)


def parse_client_data(data: Any) -> BaseModel:
    if not isinstance(data, dict):
        raise ChatError(ErrorCode.INVALID_FRAME, "expected a JSON object")
    frame_type = data.get("type")
    if not isinstance(frame_type, str) or frame_type not in CLIENT_TYPES:
        raise ChatError(ErrorCode.UNKNOWN_TYPE)
    try:
        frame = _client_frame.validate_python(data)
    except PydanticValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in err["loc"][1:]) for err in exc.errors())
        raise ChatError(ErrorCode.INVALID_FRAME, fields) from exc
    if isinstance(frame, MessageFrame):
        frame.text = clean_text(frame.text)
    return frame


# NUL and the bidi embedding/override/isolate controls: never stored (they can make the
# agent console show text in another order than it was written).
_STRIPPED = dict.fromkeys([0x00, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def clean_text(text: str) -> str:
    """Drop NUL and bidi controls, trim, reject empty and over-long text; the limit
    counts characters, not bytes."""
    text = text.translate(_STRIPPED).strip()
    if not text:
        raise ChatError(ErrorCode.EMPTY_TEXT)
    if len(text) > settings.CSBOT_MAX_TEXT_CHARS:
        raise ChatError(ErrorCode.TEXT_TOO_LONG)
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise ChatError(ErrorCode.INVALID_FRAME, "text contains lone surrogates")
    return text


# --- Server -> client -------------------------------------------------------


def message_frame(message: Message) -> dict[str, Any]:
    """The frame a stored message becomes on the shopper's socket and in the API."""
    if message.kind == Message.Kind.HANDOFF:
        frame = {"type": "handoff", "seq": message.seq, **message.payload}
        return frame
    if message.sender == Message.Sender.SHOPPER:
        frame = {
            "type": "shopper",
            "seq": message.seq,
            "text": message.text,
            "client_msg_id": message.client_msg_id,
        }
        if message.payload.get("image"):
            frame["image"] = message.payload["image"]  # a picture the shopper sent
        return frame
    if message.sender == Message.Sender.AGENT:
        return {
            "type": "agent",
            "seq": message.seq,
            "text": message.text,
            "agent": message.payload.get("agent", ""),
        }
    frame = {
        "type": "bot",
        "seq": message.seq,
        "text": message.text,
        "intent": message.intent,
        "confidence": message.confidence,
        "reply_to": message.reply_to.seq if message.reply_to_id else None,
    }
    for key in ("suggestions", "cards"):
        if message.payload.get(key):
            frame[key] = message.payload[key]
    return frame


def ack_frame(message: Message) -> dict[str, Any]:
    return {"type": "ack", "client_msg_id": message.client_msg_id, "seq": message.seq}


def broadcast_on_commit(conversation: Conversation, frame: dict[str, Any]) -> None:
    """Send a frame to every socket watching the conversation, once the write commits.

    The channel layer is best effort: the database is the record, and a client
    that misses this frame gets it again by resuming with `after_seq`.
    """
    broadcast_many_on_commit([(conversation, frame)])


def broadcast_many_on_commit(items: Sequence[tuple[Conversation, dict[str, Any]]]) -> None:
    """`broadcast_on_commit` for several frames: one callback, frames sent in order."""
    sends = [(conversation.group_name, frame) for conversation, frame in items]
    if sends:
        transaction.on_commit(lambda: _broadcast(sends))


def broadcast_groups_on_commit(
    sends: Sequence[tuple[str, dict[str, Any]]] | Callable[[], list[tuple[str, dict[str, Any]]]],
) -> None:
    """Send frames to named groups (agents' groups, say) once the write commits. `sends`
    may be a function, called after the commit, for frames that read the committed state."""
    if callable(sends):
        make = sends
        transaction.on_commit(lambda: _broadcast(make()))
        return
    items = list(sends)
    if items:
        transaction.on_commit(lambda: _broadcast(items))


_thread = threading.local()
_senders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _GroupSender] = (
    weakref.WeakKeyDictionary()
)


@contextmanager
def broadcasts_via(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Within this block, broadcasts from this (worker) thread are handed to `loop`
    without waiting for them: the thread goes on with its next database write."""
    previous = getattr(_thread, "loop", None)
    _thread.loop = loop
    try:
        yield
    finally:
        _thread.loop = previous


def _broadcast_loop() -> asyncio.AbstractEventLoop | None:
    """The server's event loop, when this thread does database work on its behalf: set
    by `broadcasts_via`, or by asgiref for `sync_to_async` calls. None in a Celery
    worker, a management command or a plain test, which send synchronously."""
    loop = getattr(_thread, "loop", None)
    if loop is None and getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) == (
        os.getpid()
    ):
        loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    try:
        if asyncio.get_running_loop() is loop:
            return None  # on the loop itself: never block it, but also never nest
    except RuntimeError:
        pass
    return loop


def _broadcast(sends: list[tuple[str, dict[str, Any]]]) -> None:
    if not sends:
        return
    loop = _broadcast_loop()
    if loop is not None:
        loop.call_soon_threadsafe(_enqueue, loop, sends)
    else:
        async_to_sync(_send_all)(sends)


def _enqueue(loop: asyncio.AbstractEventLoop, sends: list[tuple[str, dict[str, Any]]]) -> None:
    sender = _senders.get(loop)
    if sender is None:
        sender = _senders[loop] = _GroupSender()
    sender.push(sends)


# Groups sent to at once: enough to overlap Redis round trips, few enough to leave the
# channel layer's connection pool (100 by default) to the sockets' receives.
BROADCAST_CONCURRENCY = 8


async def _send_all(sends: list[tuple[str, dict[str, Any]]]) -> None:
    """Send frames to their groups: in order within a group, a few groups at a time."""
    layer = get_channel_layer()
    if layer is None:
        return
    by_group: dict[str, list[dict[str, Any]]] = {}
    for group, frame in sends:
        by_group.setdefault(group, []).append(frame)

    # In memory nothing holds a connection: all groups in one loop pass (the stock layer
    # suspends inside group_send, so one at a time would cost a loop pass per group).
    in_memory = isinstance(layer, InMemoryChannelLayer)
    gate = asyncio.Semaphore(len(by_group) if in_memory else BROADCAST_CONCURRENCY)

    async def send_group(group: str, frames: list[dict[str, Any]]) -> None:
        async with gate:
            for frame in frames:
                try:
                    await layer.group_send(
                        group, {"type": "chat.frame", "group": group, "frame": frame}
                    )
                except Exception:  # best effort: the client resumes from the database
                    log.warning("broadcast to %s failed", group, exc_info=True)

    if len(by_group) == 1:
        ((group, frames),) = by_group.items()
        await send_group(group, frames)
    else:
        await asyncio.gather(*(send_group(g, f) for g, f in by_group.items()))


class _GroupSender:
    """Per event loop: sends the frames worker threads hand over, in the order they
    committed, without making those threads wait."""

    def __init__(self) -> None:
        self.pending: list[tuple[str, dict[str, Any]]] = []
        self.task: asyncio.Task[None] | None = None

    def push(self, sends: list[tuple[str, dict[str, Any]]]) -> None:
        self.pending.extend(sends)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.pending:
                sends, self.pending = self.pending, []
                await _send_all(sends)
        finally:
            self.task = None
