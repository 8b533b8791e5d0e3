"""Shopper WebSocket frames, declared once, and the one broadcast helper.

Incoming frames are validated against the pydantic models below (unknown
fields rejected). Outgoing frames for stored messages are built by
`message_frame`, so the socket, the HTTP API and resume all send the same shape.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, Literal

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from conversations.models import Conversation, Message


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
    except (ValueError, UnicodeDecodeError) as exc:
        raise ChatError(ErrorCode.BAD_JSON) from exc
    return parse_client_data(data)


def parse_client_data(data: Any) -> BaseModel:
    if not isinstance(data, dict):
        raise ChatError(ErrorCode.INVALID_FRAME, "expected a JSON object")
    if data.get("type") not in CLIENT_TYPES:
        raise ChatError(ErrorCode.UNKNOWN_TYPE)
    try:
        frame = _client_frame.validate_python(data)
    except PydanticValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in err["loc"][1:]) for err in exc.errors())
        raise ChatError(ErrorCode.INVALID_FRAME, fields) from exc
    if isinstance(frame, MessageFrame):
        frame.text = clean_text(frame.text)
    return frame


def clean_text(text: str) -> str:
    """Trim, reject empty and over-long text; the limit counts characters, not bytes."""
    text = text.strip()
    if not text:
        raise ChatError(ErrorCode.EMPTY_TEXT)
    if len(text) > settings.CSBOT_MAX_TEXT_CHARS:
        raise ChatError(ErrorCode.TEXT_TOO_LONG)
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise ChatError(ErrorCode.INVALID_FRAME, "text contains lone surrogates")
    return text.replace("\x00", "")


# --- Server -> client -------------------------------------------------------


def message_frame(message: Message) -> dict[str, Any]:
    """The frame a stored message becomes on the shopper's socket and in the API."""
    if message.kind == Message.Kind.HANDOFF:
        frame = {"type": "handoff", "seq": message.seq, **message.payload}
        return frame
    if message.sender == Message.Sender.SHOPPER:
        return {
            "type": "shopper",
            "seq": message.seq,
            "text": message.text,
            "client_msg_id": message.client_msg_id,
        }
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

    def send() -> None:
        layer = get_channel_layer()
        async_to_sync(layer.group_send)(
            conversation.group_name, {"type": "chat.frame", "frame": frame}
        )

    transaction.on_commit(send)
