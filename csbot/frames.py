"""Server -> client frames: declared once, as pydantic schemas, checked in tests.

Each app declares the frames it sends in its `events.py`, as `OutgoingFrame` subclasses
with a `type` Literal, registered with `@outgoing(socket)`; the dicts themselves are
built by plain builder functions next to those schemas (no pydantic on the hot path).
The schemas are the declaration, and what the test suite checks every sent frame
against: the edges (the two consumers' `_send`, the HTTP chat answers, the broadcast
transport) call `sent(frame, socket)`, which does nothing unless a test turned
`recording()` on (`tests/frame_check.py`). Several schemas may share a type name on different
sockets (the shopper's `ack` and the agent's `ack`); a frame is valid when it
validates against one of the schemas of its type.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from csbot.errors import ErrorCode

Socket = Literal["shopper", "agent"]
SOCKETS: tuple[str, ...] = get_args(Socket)

# Outgoing frames and the objects inside them: unknown fields are refused, types strict.
STRICT = ConfigDict(extra="forbid", strict=True)


class Strict(BaseModel):
    """An object inside a frame (a card, a queue item): same rules as frames."""

    model_config = STRICT


class OutgoingFrame(BaseModel):
    """Base of every server -> client frame schema; subclasses declare `type` as a
    Literal and are registered with `@outgoing(socket)`."""

    model_config = STRICT
    socket: ClassVar[str] = ""


F = TypeVar("F", bound=type[OutgoingFrame])

# type name -> the schemas declaring it (one per socket).
REGISTRY: dict[str, list[type[OutgoingFrame]]] = {}


def frame_type(schema: type[OutgoingFrame]) -> str:
    """The `type` Literal's one value."""
    field = schema.model_fields.get("type")
    values = get_args(field.annotation) if field is not None else ()
    if len(values) != 1 or not isinstance(values[0], str):
        raise TypeError(f"{schema.__name__}: `type` must be a Literal of one string")
    return values[0]


def outgoing(socket: str) -> Callable[[F], F]:
    """Class decorator: register a frame schema for `socket` ("shopper" or "agent")."""
    if socket not in SOCKETS:
        raise ValueError(f"unknown socket {socket!r}")

    def register(schema: F) -> F:
        schema.socket = socket
        schemas = REGISTRY.setdefault(frame_type(schema), [])
        if schema not in schemas:
            schemas.append(schema)
        return schema

    return register


def frame_problems(frame: Any, socket: str | None = None) -> str | None:
    """None when `frame` validates against a schema of its type (of `socket`'s schemas
    when given); else what is wrong with it."""
    if not isinstance(frame, dict):
        return f"not a JSON object: {type(frame).__name__}"
    kind = frame.get("type")
    schemas = REGISTRY.get(kind, []) if isinstance(kind, str) else []
    if socket is not None:
        schemas = [schema for schema in schemas if schema.socket == socket]
    if not schemas:
        where = f" on the {socket} socket" if socket else ""
        return f"no schema declares frame type {kind!r}{where}"
    problems = []
    for schema in schemas:
        try:
            schema.model_validate(frame)
        except ValidationError as exc:
            errors = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(frame)'}: {err['msg']}"
                for err in exc.errors(include_url=False)
            )
            problems.append(f"{schema.__name__} ({schema.socket}): {errors}")
        else:
            return None
    return " | ".join(problems)


# --- the `error` frame (both sockets), built by csbot.errors.ChatError.frame ----------


@outgoing("shopper")
class ErrorOut(OutgoingFrame):
    """A refused frame; the socket stays open and nothing was stored (docs/protocol.md §3)."""

    type: Literal["error"]
    code: Annotated[ErrorCode, Field(strict=False)]  # the code's string value
    message: str


# --- emission hook --------------------------------------------------------------


class Sent(NamedTuple):
    """A frame as recorded: the socket it went to (None: a channel-layer broadcast,
    any socket's schema will do), the JSON the client got, and why it could not be
    serialised (then `frame` is None)."""

    socket: str | None
    frame: dict[str, Any] | None
    unserialisable: str = ""

    def problems(self) -> str | None:
        if self.frame is None:
            return f"not JSON-serialisable: {self.unserialisable}"
        return frame_problems(self.frame, self.socket)


_recorder: Callable[[dict[str, Any], str | None], None] | None = None


def sent(frame: dict[str, Any], socket: str | None = None) -> None:
    """Called by the edges for every frame they send: nothing, unless a test records.
    (The hot path pays one global lookup and one comparison.)"""
    if _recorder is not None:
        _recorder(frame, socket)


def is_recording() -> bool:
    return _recorder is not None


@contextmanager
def recording() -> Iterator[list[Sent]]:
    """Within the block, every frame passed to `sent` is kept in the yielded list, as
    the JSON the client gets (a copy: later changes to the dict do not count)."""
    global _recorder
    seen: list[Sent] = []

    def record(frame: dict[str, Any], socket: str | None) -> None:
        try:
            seen.append(Sent(socket, json.loads(json.dumps(frame, ensure_ascii=False))))
        except (TypeError, ValueError) as exc:
            seen.append(Sent(socket, None, f"{exc}: {frame!r:.300}"))

    previous, _recorder = _recorder, record
    try:
        yield seen
    finally:
        _recorder = previous
