"""Reads for conversations."""

from django.db.models import QuerySet

from conversations.models import Conversation, Message


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


def privacy_notice(*, lang: str) -> str:
    """The privacy notice in force (safety app: admin-edited, else the store policy,
    else the built-in text)."""
    from safety.selectors import privacy_notice as notice

    return notice(lang=lang)
