"""Reads for conversations."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from catalog.models import Order
from catalog.selectors import order_get_unchecked
from conversations.models import Conversation, Message, VerifiedOrder
from csbot import hooks
from csbot.hooks import Event
from safety.selectors import privacy_notice as _privacy_notice


def messages_after(*, conversation: Conversation, after_seq: int) -> QuerySet[Message]:
    """Every stored message the client has not seen, in order (for resume)."""
    return (
        Message.objects.filter(conversation=conversation, seq__gt=after_seq)
        .select_related("reply_to")
        .order_by("seq")
    )


def replies_for(*, message: Message) -> list[Message]:
    """The bot and system messages produced for one shopper message."""
    return list(Message.objects.filter(reply_to=message).select_related("reply_to").order_by("seq"))


def live_frames(*, conversation: Conversation) -> list[dict[str, Any]]:
    """Unstored frames that describe the conversation now, sent after a resume (the
    handoff app adds the shopper's place in the queue)."""
    return hooks.run(Event.RESUME_FRAMES, [], conversation=conversation)


def privacy_notice(*, lang: str) -> str:
    """The privacy notice in force (safety app: admin-edited, else the store policy,
    else the built-in text)."""
    return _privacy_notice(lang=lang)


def order_for_viewer(
    *,
    order_no: str,
    user: User | AnonymousUser | None,
    visitor_id: str | None,
) -> Order | None:
    """The order if this viewer may see it: its logged-in owner, or a visitor who
    verified it (order number + phone last four) in one of their conversations."""
    order = order_get_unchecked(order_no=order_no)
    if order is None:
        return None
    if user is not None and user.is_authenticated and order.user_id == user.pk:
        return order
    if (
        visitor_id
        and VerifiedOrder.objects.filter(order=order, conversation__visitor_id=visitor_id).exists()
    ):
        return order
    return None
