"""Shopper WebSocket frames, declared once, and the conversation-level broadcast helpers.

Incoming frames are validated against the pydantic models below (unknown
fields rejected); so is the body of `POST /api/chat/` (`ChatRequest`). Every
server -> client frame of the shopper socket (docs/protocol.md §3) is declared
below as a `csbot.frames.OutgoingFrame` schema and built only by the builder next
to it: plain dict builds (they are on the hot path), checked against the schemas
in tests (`tests/frame_check.py`). Frames for stored messages are built by
`message_frame`, so the socket, the HTTP API and resume all send the same shape.
The handoff app builds the `handoff` notes and declares `typing`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from django.conf import settings
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from conversations.models import Conversation, Message
from csbot.broadcast import broadcast_groups_on_commit
from csbot.errors import ChatError, ErrorCode
from csbot.frames import OutgoingFrame, Strict, outgoing
from csbot.text import clean_text

# --- Client -> server -------------------------------------------------------

_STRICT = ConfigDict(extra="forbid", strict=True)
ClientMsgId = Annotated[str, Field(min_length=1, max_length=64)]
ConversationId = Annotated[str, Field(min_length=1, max_length=40)]


class PageContext(BaseModel):
    """Where the shopper is: the product page they are looking at (its SKU)."""

    model_config = _STRICT
    sku: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]


class MessageFrame(BaseModel):
    model_config = _STRICT
    type: Literal["message"]
    text: str
    client_msg_id: ClientMsgId
    context: PageContext | None = None


class ResumeFrame(BaseModel):
    model_config = _STRICT
    type: Literal["resume"]
    conversation_id: ConversationId
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


class ChatRequest(BaseModel):
    """The body of `POST /api/chat/` (docs/protocol.md §4): a `message` frame's `text`
    and `client_msg_id` rules (the id optional: the server makes one), and the
    conversation to post in (optional: the shopper's latest open one)."""

    model_config = _STRICT
    text: str
    conversation_id: ConversationId | None = None
    client_msg_id: ClientMsgId | None = None
    context: PageContext | None = None


def message_payload(context: PageContext | None) -> dict[str, Any] | None:
    """What a shopper message stores besides its text: the product page it came from."""
    return {"page": context.sku.upper()} if context is not None else None


def parse_chat_request(data: Any) -> ChatRequest:
    """Validate a decoded `POST /api/chat/` body, raising ChatError: `invalid_frame`
    naming the unknown fields, else the first bad field; text cleaned like a frame's."""
    if not isinstance(data, dict):
        raise ChatError(ErrorCode.INVALID_FRAME, "expected a JSON object")
    try:
        body = ChatRequest.model_validate(data)
    except PydanticValidationError as exc:
        errors = exc.errors()
        unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
        detail = "unknown fields: " + ", ".join(unknown) if unknown else str(errors[0]["loc"][0])
        raise ChatError(ErrorCode.INVALID_FRAME, detail) from exc
    body.text = clean_text(body.text)
    return body


# --- Server -> client: schemas ------------------------------------------------

Seq = Annotated[StrictInt, Field(ge=1)]
Language = Literal["zh", "en"]
Priority = Literal["urgent", "high", "normal"]


class ProductCard(Strict):
    kind: Literal["product"]
    sku: str
    name: str
    price: str
    stock: int
    restock_date: str | None
    url: str


class OrderItem(Strict):
    name: str
    quantity: int


class OrderCard(Strict):
    kind: Literal["order"]
    order_no: str
    status: str
    status_text: str
    carrier: str | None
    tracking_no: str | None
    total: str
    items: list[OrderItem]


Card = Annotated[ProductCard | OrderCard, Field(discriminator="kind")]


class ImageInfo(Strict):
    """The picture a shopper frame carries (built by `vision.events.image_info`):
    `outcome` and `text` once it was read, `product` when one was recognised."""

    id: str
    url: str
    thumbnail_url: str
    width: int
    height: int
    status: Literal["pending", "done", "failed"]
    outcome: Literal["order", "product", "text", "nothing"] | None = None
    text: str | None = None
    product: str | None = None


@outgoing("shopper")
class ConversationOut(OutgoingFrame):
    """On connect, and on a `resume` that switches conversation."""

    type: Literal["conversation"]
    conversation_id: ConversationId
    language: Language
    privacy_notice: str


@outgoing("shopper")
class AckOut(OutgoingFrame):
    """The shopper's message is stored (again, unchanged, for a resend)."""

    type: Literal["ack"]
    client_msg_id: ClientMsgId
    seq: Seq


@outgoing("shopper")
class BotOut(OutgoingFrame):
    type: Literal["bot"]
    seq: Seq
    text: str
    intent: str | None
    confidence: float | None
    reply_to: Seq | None
    suggestions: Annotated[list[str], Field(min_length=1)] | None = None
    cards: Annotated[list[Card], Field(min_length=1)] | None = None


@outgoing("shopper")
class ShopperOut(OutgoingFrame):
    """A shopper's stored message: on resume, and live while an agent holds the chat."""

    type: Literal["shopper"]
    seq: Seq
    text: str
    client_msg_id: str | None
    image: ImageInfo | None = None


@outgoing("shopper")
class AgentOut(OutgoingFrame):
    type: Literal["agent"]
    seq: Seq
    text: str
    agent: str


@outgoing("shopper")
class HandoffOut(OutgoingFrame):
    """A stored handoff note (with `seq`; its fields are the message's payload, built by
    `handoff.events`), or the live queued frame sent on resume and on place changes
    (no `seq`). `queued`: priority, position, and wait_s or after_hours; `assigned`:
    priority, and the agent's name after a take; `returned`/`closed`: nothing more."""

    type: Literal["handoff"]
    seq: Seq | None = None
    status: Literal["queued", "assigned", "returned", "closed"]
    priority: Priority | None = None
    position: Annotated[StrictInt, Field(ge=1)] | None = None
    wait_s: Annotated[StrictInt, Field(ge=0)] | None = None
    after_hours: Literal[True] | None = None
    agent: str | None = None

    @model_validator(mode="after")
    def _fields_for_status(self) -> HandoffOut:
        queued = ("position", "wait_s", "after_hours")
        if self.status == "queued":
            if self.priority is None or self.position is None:
                raise ValueError("a queued handoff has priority and position")
            if (self.wait_s is None) == (self.after_hours is None):
                raise ValueError("a queued handoff has either wait_s or after_hours")
            extra = ["agent"] if self.agent is not None else []
        elif self.status == "assigned":
            if self.priority is None:
                raise ValueError("an assigned handoff has priority")
            extra = [f for f in queued if getattr(self, f) is not None]
        else:
            extra = [f for f in ("priority", "agent", *queued) if getattr(self, f) is not None]
        if extra:
            raise ValueError(f"a {self.status} handoff has no {', '.join(extra)}")
        return self


@outgoing("shopper")
class OrderUpdateOut(OutgoingFrame):
    """An owned or verified order changed (docs/protocol.md §6; not stored)."""

    type: Literal["order_update"]
    order_no: str
    status: str
    text: str


# The frames of stored messages (history, HTTP replies).
StoredFrame = Annotated[ShopperOut | BotOut | AgentOut | HandoffOut, Field(discriminator="type")]


# --- Server -> client: builders -----------------------------------------------


def conversation_frame(conversation: Conversation, *, privacy_notice: str) -> dict[str, Any]:
    return {
        "type": "conversation",
        "conversation_id": conversation.public_id,
        "language": conversation.language,
        "privacy_notice": privacy_notice,
    }


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
        "reply_to": message.reply_to.seq if message.reply_to is not None else None,
    }
    for key in ("suggestions", "cards"):
        if message.payload.get(key):
            frame[key] = message.payload[key]
    return frame


def ack_frame(message: Message) -> dict[str, Any]:
    return {"type": "ack", "client_msg_id": message.client_msg_id, "seq": message.seq}


def order_update_frame(*, order_no: str, status: str, text: str) -> dict[str, Any]:
    """The `order_update` frame (docs/protocol.md §6) (not stored: it carries no seq)."""
    return {"type": "order_update", "order_no": order_no, "status": status, "text": text}


# --- broadcast ------------------------------------------------------------------


def broadcast_on_commit(conversation: Conversation, frame: dict[str, Any]) -> None:
    """Send a frame to every socket watching the conversation, once the write commits.
    A client that misses it gets it again by resuming with `after_seq`."""
    broadcast_groups_on_commit([(conversation.group_name, frame)])


def broadcast_many_on_commit(items: Sequence[tuple[Conversation, dict[str, Any]]]) -> None:
    """`broadcast_on_commit` for several frames: one callback, frames sent in order."""
    broadcast_groups_on_commit([(conversation.group_name, frame) for conversation, frame in items])
