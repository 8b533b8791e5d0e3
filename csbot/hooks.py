"""Domain events: a lower app announces what happened, higher apps react.

Dependencies between the apps point one way (see the import-linter contracts in
`pyproject.toml`). When something in a lower app must make a higher one act, the lower
app names an `Event` and the higher app subscribes in its `AppConfig.ready()` (the way
Saleor's plugin manager and Zulip's `send_event_on_commit` work). Two kinds:

- notifications, `emit_on_commit(Event.X, ...)`: handlers run once the transaction
  commits (at once outside one), in subscription order; one handler's failure is logged
  and stops neither the others nor the write that emitted the event. An order's status
  changed, so the chat announces it.
- steps, `run(Event.X, value, ...)`: handlers run now, inside the caller's transaction,
  each taking the value the previous one returned; an error propagates, so the caller's
  write rolls back with it. The bot decided a human should take over, so the queue
  opens in the same transaction as the bot's reply.

A handler is named by its dotted path and imported on first use, so `apps.py` needs no
imports of its own modules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


class Event(StrEnum):
    """Every event, with what its handlers receive and return."""

    # Notification. order_id: int. An order's status changed (admin, webhook, remote store).
    ORDER_STATUS_CHANGED = "order_status_changed"
    # Step, value None. conversation: Conversation, reason: str, sentiment: str | None,
    # reply_to: Message | None. The bot, the shopper or their feedback asks for a human;
    # the handler puts the conversation in the queue (and stores its `handoff` note).
    HANDOFF_WANTED = "handoff_wanted"
    # Step, value: the shopper messages the bot is about to answer (list[Message]).
    # Returns those the bot should still answer; a handler takes the others (a queued
    # shopper's messages after hours are the message for the morning).
    REPLIES_ROUTE = "replies_route"
    # Step, value: the live frames to send after a resume (list[dict]), conversation:
    # Conversation. A handler adds frames that describe the conversation now (its place
    # in the queue while it waits for an agent).
    RESUME_FRAMES = "resume_frames"


Handler = Callable[..., Any]
_handlers: dict[Event, list[str | Handler]] = {}


def subscribe(event: Event, handler: str | Handler) -> None:
    """Register `handler` (a callable or its dotted path) for `event`, from an
    `AppConfig.ready()`; idempotent."""
    handlers = _handlers.setdefault(event, [])
    if handler not in handlers:
        handlers.append(handler)


def _resolve(event: Event, index: int) -> Handler:
    handler = _handlers[event][index]
    if isinstance(handler, str):
        handler = _handlers[event][index] = import_string(handler)
    return handler


def emit_on_commit(event: Event, **payload: Any) -> None:
    """Run the event's handlers once the current transaction commits."""
    transaction.on_commit(lambda: dispatch(event, **payload))


def dispatch(event: Event, **payload: Any) -> None:
    """Run the event's handlers now (what `emit_on_commit` does after the commit)."""
    for index in range(len(_handlers.get(event, ()))):
        handler = _resolve(event, index)
        try:
            handler(**payload)
        except Exception:  # a failing reaction must not undo or block the others
            log.exception("handler %s for %s failed", getattr(handler, "__name__", handler), event)


def run(event: Event, value: Any = None, **payload: Any) -> Any:
    """Run the step's handlers now, in order, each given the previous one's result as
    `value`; returns the last result (`value` itself when nobody subscribed)."""
    for index in range(len(_handlers.get(event, ()))):
        value = _resolve(event, index)(value, **payload)
    return value


def subscribers(event: Event) -> list[Handler]:
    """The handlers registered for `event` (for tests and diagnostics)."""
    return [_resolve(event, index) for index in range(len(_handlers.get(event, ())))]
