"""Agent WebSocket frames (DESIGN.md §2), declared once and validated like the
shopper's: strict types, unknown fields rejected, precise error codes.

Client -> server: take, message, release, close (optional resolution `note`), typing.
Server -> client: queue, chat (history and context packet of a held chat), shopper,
bot, agent, handoff, ack, error — each about a chat carries its `conversation_id`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from conversations.events import ChatError, ErrorCode, clean_text

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
