"""Writes for handoffs. The queue, console and agent side grow here (handoff issue)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from conversations.models import Conversation, Message
from csbot import metrics
from handoff.models import HandoffRequest

PRIORITY_NAMES = {0: "urgent", 1: "high", 2: "normal"}


def queue_position(*, handoff: HandoffRequest) -> int:
    """1-based place among waiting requests: by priority, then by waiting time."""
    ahead = HandoffRequest.objects.filter(status=HandoffRequest.Status.WAITING).filter(
        priority__lt=handoff.priority
    ) | HandoffRequest.objects.filter(
        status=HandoffRequest.Status.WAITING,
        priority=handoff.priority,
        created_at__lt=handoff.created_at,
    )
    return ahead.count() + 1


def handoff_open(
    *,
    conversation: Conversation,
    reason: str,
    priority: int = HandoffRequest.Priority.NORMAL,
    reply_to: Message | None = None,
) -> HandoffRequest:
    """Put the conversation in the human queue (once: an open request is reused,
    and its priority raised if this reason is more urgent) and tell the shopper."""
    from conversations.services import message_store

    with transaction.atomic():
        handoff = (
            HandoffRequest.objects.select_for_update()
            .filter(conversation=conversation, status__in=HandoffRequest.OPEN_STATUSES)
            .first()
        )
        if handoff is not None:
            if priority < handoff.priority:
                handoff.priority = priority
                handoff.save(update_fields=["priority"])
        else:
            try:
                with transaction.atomic():
                    handoff = HandoffRequest.objects.create(
                        conversation=conversation, reason=reason, priority=priority
                    )
            except IntegrityError:
                handoff = HandoffRequest.objects.get(
                    conversation=conversation, status__in=HandoffRequest.OPEN_STATUSES
                )
            metrics.handoffs_total.labels(reason=reason).inc()
        if conversation.status == Conversation.Status.BOT:
            conversation.status = Conversation.Status.WAITING
            conversation.save(update_fields=["status"])
        status = "assigned" if handoff.status == HandoffRequest.Status.ASSIGNED else "queued"
        payload = {"status": status, "priority": PRIORITY_NAMES[handoff.priority]}
        if status == "queued":
            payload["position"] = queue_position(handoff=handoff)
        message_store(
            conversation=conversation,
            sender=Message.Sender.SYSTEM,
            kind=Message.Kind.HANDOFF,
            reply_to=reply_to,
            payload=payload,
        )
    return handoff
