"""Agent WebSocket frames (DESIGN.md §2, docs/protocol.md §5), declared once and
validated like the shopper's: strict types, unknown fields rejected, precise error codes.

Client -> server: take, message, release, close (optional resolution `note`), typing.
Server -> client: queue, chat (history and context packet of a held chat), shopper,
bot, agent, handoff, ack, error — each about a chat carries its `conversation_id` —
declared as `csbot.frames` schemas and built only by the builders below. This app also
builds the frames it sends to the shopper's socket: the `handoff` notes (stored
payloads and the live queued frame, declared by `conversations.events.HandoffOut`) and
`typing`; and `watch`, which tells every console of one agent to follow a chat.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field, StrictInt, TypeAdapter, model_validator
from pydantic import ValidationError as PydanticValidationError

from conversations.events import (
    AgentOut,
    BotOut,
    HandoffOut,
    ImageInfo,
    Language,
    OrderCard,
    Priority,
    ProductCard,
    Seq,
    StoredFrame,
)
from csbot.errors import ChatError, ErrorCode
from csbot.frames import ErrorOut, OutgoingFrame, Strict, outgoing
from csbot.text import clean_text

if TYPE_CHECKING:
    from conversations.models import Conversation
    from handoff.models import CannedReply, HandoffRequest

_STRICT = ConfigDict(extra="forbid", strict=True)
ConversationId = Annotated[str, Field(min_length=1, max_length=40)]


class TakeFrame(BaseModel):
    model_config = _STRICT
    type: Literal["take"]
    conversation_id: ConversationId


class AgentMessageFrame(BaseModel):
    model_config = _STRICT
    type: Literal["message"]
    conversation_id: ConversationId
    text: str
    client_msg_id: Annotated[str, Field(min_length=1, max_length=56)] | None = None


class ReleaseFrame(BaseModel):
    model_config = _STRICT
    type: Literal["release"]
    conversation_id: ConversationId


class CloseFrame(BaseModel):
    model_config = _STRICT
    type: Literal["close"]
    conversation_id: ConversationId
    note: Annotated[str, Field(max_length=2000)] = ""


class TypingFrame(BaseModel):
    model_config = _STRICT
    type: Literal["typing"]
    conversation_id: ConversationId


AgentFrame = Annotated[
    TakeFrame | AgentMessageFrame | ReleaseFrame | CloseFrame | TypingFrame,
    Field(discriminator="type"),
]
_agent_frame = TypeAdapter(AgentFrame)
AGENT_TYPES = frozenset({"take", "message", "release", "close", "typing"})


def parse_agent_frame(raw: str | None) -> BaseModel:
    """Validate one frame from an agent's console, raising ChatError with the code."""
    if raw is None:
        raise ChatError(ErrorCode.BINARY_FRAME)
    if len(raw.encode("utf-8", "surrogatepass")) > settings.CSBOT_MAX_FRAME_BYTES:
        raise ChatError(ErrorCode.FRAME_TOO_LARGE)
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ChatError(ErrorCode.BAD_JSON) from exc
    if not isinstance(data, dict):
        raise ChatError(ErrorCode.INVALID_FRAME, "expected a JSON object")
    if data.get("type") not in AGENT_TYPES:
        raise ChatError(ErrorCode.UNKNOWN_TYPE)
    try:
        frame = _agent_frame.validate_python(data)
    except PydanticValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in err["loc"][1:]) for err in exc.errors())
        raise ChatError(ErrorCode.INVALID_FRAME, fields) from exc
    if isinstance(frame, AgentMessageFrame):
        frame.text = clean_text(frame.text)
    if isinstance(frame, CloseFrame):
        frame.note = frame.note.strip()
    return frame


# --- Server -> client: schemas ------------------------------------------------

PRIORITY_NAMES = {0: "urgent", 1: "high", 2: "normal"}
AgentAction = Literal["take", "message", "release", "close"]


class QueueItem(Strict):
    conversation_id: ConversationId
    priority: Priority
    reason: str
    waiting_s: Annotated[StrictInt, Field(ge=0)]
    summary: str
    position: Annotated[StrictInt, Field(ge=1)]
    language: Language
    after_hours: bool
    contact: str


@outgoing("agent")
class QueueOut(OutgoingFrame):
    """The waiting chats in queue order: on connect and after every queue change."""

    type: Literal["queue"]
    items: list[QueueItem]


class VerifiedOrder(OrderCard):
    verified: Literal[True]


class UnverifiedOrder(Strict):
    verified: Literal[False]
    order_no: str


class LongMessageSummary(Strict):
    seq: Seq
    summary: str


class CannedReplyItem(Strict):
    id: int
    title_zh: str
    title_en: str
    text: str


@outgoing("agent")
class ChatOut(OutgoingFrame):
    """A held chat: its history and the context packet (`chat_packet`)."""

    type: Literal["chat"]
    conversation_id: ConversationId
    status: str
    shopper: str
    logged_in: bool
    language: Language
    reason: str
    priority: Priority
    sentiment: str | None
    after_hours: bool
    contact: str
    left_message: str
    created_at: str
    intent_path: list[str]
    slots: dict[str, Any]
    product: ProductCard | None
    order: Annotated[VerifiedOrder | UnverifiedOrder, Field(discriminator="verified")] | None
    summaries: list[LongMessageSummary]
    history: list[StoredFrame]
    canned: list[CannedReplyItem]


@outgoing("agent")
class AgentAckOut(OutgoingFrame):
    """After `take`, `message`, `release`, `close` succeed; a message's ack also carries
    its `client_msg_id` (the server's `srv-…` when none was sent) and `seq`."""

    type: Literal["ack"]
    action: AgentAction
    conversation_id: ConversationId
    client_msg_id: Annotated[str, Field(min_length=1, max_length=56)] | None = None
    seq: Seq | None = None

    @model_validator(mode="after")
    def _message_fields(self) -> AgentAckOut:
        has = (self.client_msg_id is not None, self.seq is not None)
        if has != ((True, True) if self.action == "message" else (False, False)):
            raise ValueError("client_msg_id and seq come with (only) a message's ack")
        return self


@outgoing("agent")
class AgentErrorOut(ErrorOut):
    """A refused agent frame: `conversation_id` when the frame parsed."""

    conversation_id: ConversationId | None = None


@outgoing("agent")
class WatchOut(OutgoingFrame):
    """To the agent's own group after a take: every console of that agent follows the
    chat (the consumer acts on it: it answers with a `chat` frame, never forwards it)."""

    type: Literal["watch"]
    conversation_id: ConversationId


@outgoing("shopper")
class TypingOut(OutgoingFrame):
    """To the shopper's socket: an agent is typing (not stored)."""

    type: Literal["typing"]
    agent: str


# A held chat's frames as the console gets them (`agent_view`): the shopper socket's,
# tagged with the chat, the shopper's own client ids left out.


@outgoing("agent")
class ShopperViewOut(OutgoingFrame):
    type: Literal["shopper"]
    conversation_id: ConversationId
    seq: Seq
    text: str
    image: ImageInfo | None = None


@outgoing("agent")
class BotViewOut(BotOut):
    conversation_id: ConversationId


@outgoing("agent")
class AgentViewOut(AgentOut):
    conversation_id: ConversationId


@outgoing("agent")
class HandoffViewOut(HandoffOut):
    conversation_id: ConversationId


# --- Server -> client: builders -----------------------------------------------


def queue_item(handoff: HandoffRequest, *, position: int, now: datetime) -> dict[str, Any]:
    """One line of the `queue` frame."""
    return {
        "conversation_id": handoff.conversation.public_id,
        "priority": PRIORITY_NAMES[handoff.priority],
        "reason": handoff.reason,
        "waiting_s": max(0, int((now - handoff.created_at).total_seconds())),
        "summary": handoff.summary,
        "position": position,
        "language": handoff.conversation.language,
        "after_hours": handoff.after_hours,
        "contact": handoff.contact,
    }


def queue_frame(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "queue", "items": items}


def chat_packet(
    *,
    handoff: HandoffRequest,
    conversation: Conversation,
    shopper: str,
    intent_path: list[str],
    slots: dict[str, Any],
    product: dict[str, Any] | None,
    order: dict[str, Any] | None,
    summaries: list[dict[str, Any]],
    history: list[dict[str, Any]],
    canned: list[dict[str, Any]],
) -> dict[str, Any]:
    """The context packet of a held chat (`handoff.selectors.context_packet` reads it)."""
    return {
        "conversation_id": conversation.public_id,
        "status": handoff.status,
        "shopper": shopper,
        "logged_in": conversation.user_id is not None,
        "language": conversation.language,
        "reason": handoff.reason,
        "priority": PRIORITY_NAMES[handoff.priority],
        "sentiment": handoff.sentiment or None,
        "after_hours": handoff.after_hours,
        "contact": handoff.contact,
        "left_message": handoff.left_message,
        "created_at": handoff.created_at.isoformat(),
        "intent_path": intent_path,
        "slots": slots,
        "product": product,
        "order": order,
        "summaries": summaries,
        "history": history,
        "canned": canned,
    }


def order_ref(*, order_no: str, card: dict[str, Any] | None) -> dict[str, Any]:
    """The packet's order: the card once the shopper owns or verified it, else its number."""
    if card is None:
        return {"verified": False, "order_no": order_no}
    return {"verified": True, **card}


def long_message_summary(*, seq: int, summary: str) -> dict[str, Any]:
    return {"seq": seq, "summary": summary}


def canned_item(canned: CannedReply, *, text: str) -> dict[str, Any]:
    """A canned reply in the packet, `text` in the chat's language, placeholders filled."""
    return {"id": canned.pk, "title_zh": canned.title_zh, "title_en": canned.title_en, "text": text}


def chat_frame(packet: dict[str, Any]) -> dict[str, Any]:
    return {"type": "chat", **packet}


def agent_ack_frame(
    *,
    action: str,
    conversation_id: str,
    client_msg_id: str | None = None,
    seq: int | None = None,
) -> dict[str, Any]:
    """The ack of a successful take, message, release or close; a message's carries
    its `client_msg_id` and `seq`."""
    frame: dict[str, Any] = {"type": "ack", "action": action, "conversation_id": conversation_id}
    if client_msg_id is not None or seq is not None:
        frame["client_msg_id"] = client_msg_id
        frame["seq"] = seq
    return frame


def agent_error_frame(exc: ChatError, lang: str, conversation_id: str | None) -> dict[str, Any]:
    frame: dict[str, Any] = exc.frame(lang)
    if conversation_id is not None:
        frame["conversation_id"] = conversation_id
    return frame


def watch_frame(conversation_id: str) -> dict[str, Any]:
    return {"type": "watch", "conversation_id": conversation_id}


def typing_frame(agent: str) -> dict[str, Any]:
    return {"type": "typing", "agent": agent}


# The `handoff` frame (`HandoffOut`): a stored note's payload (the shopper's frame is
# the message's `seq` plus these fields, `conversations.events.message_frame`), or
# the live queued frame (no `seq`).


def handoff_queued(
    *, priority: int, position: int, after_hours: bool, wait_s: int | None
) -> dict[str, Any]:
    """A queued note: the place and the wait estimate (or that agents are off)."""
    payload: dict[str, Any] = {
        "status": "queued",
        "priority": PRIORITY_NAMES[priority],
        "position": position,
    }
    if after_hours:
        payload["after_hours"] = True
    else:
        assert wait_s is not None, "a queued handoff in agent hours has a wait estimate"
        payload["wait_s"] = wait_s
    return payload


def handoff_assigned(*, priority: int, agent: str | None = None) -> dict[str, Any]:
    """An agent holds the chat (their name after a take; none when a held chat's
    handoff is asked for again)."""
    payload: dict[str, Any] = {"status": "assigned", "priority": PRIORITY_NAMES[priority]}
    if agent is not None:
        payload["agent"] = agent
    return payload


def handoff_ended(status: Literal["returned", "closed"]) -> dict[str, Any]:
    return {"status": status}


def handoff_live_frame(payload: dict[str, Any]) -> dict[str, Any]:
    """A note sent live, not stored (a waiting shopper's new place): no `seq`."""
    return {"type": "handoff", **payload}


def agent_view(conversation_id: str, frame: dict[str, Any]) -> dict[str, Any] | None:
    """A conversation frame as the agent console gets it: tagged with the conversation,
    without the shopper's client ids; None for frames agents do not need."""
    kind = frame.get("type")
    if kind == "shopper":
        view = {
            "type": "shopper",
            "conversation_id": conversation_id,
            "seq": frame["seq"],
            "text": frame["text"],
        }
        if frame.get("image"):
            view["image"] = frame["image"]  # the console shows image.thumbnail_url
        return view
    if kind in ("bot", "agent", "handoff"):
        return {"conversation_id": conversation_id, **frame}
    return None
