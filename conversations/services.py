"""Writes for conversations: the only place that stores messages or broadcasts.

Nothing-lost rules (DESIGN.md §1): a message is stored, with the conversation's
next `seq`, before it is acknowledged; a resent `client_msg_id` returns the stored
message and queues nothing; the reply task is queued only after the commit, and
a database constraint allows one bot reply per shopper message.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from conversations.dialogue import policy
from conversations.dialogue.state import state_load, state_save
from conversations.events import ChatError, ErrorCode, broadcast_on_commit, message_frame
from conversations.identity import Shopper
from conversations.models import Conversation, Csat, Message
from csbot import metrics

log = logging.getLogger(__name__)


def conversation_open(*, shopper: Shopper, channel: str, language: str) -> Conversation:
    """The shopper's latest open conversation, or a new one. A shopper who logs in
    mid-chat keeps the chat: their open anonymous conversation joins the account."""
    open_ = Conversation.objects.exclude(status=Conversation.Status.CLOSED).order_by("-updated_at")
    anonymous = open_.filter(user__isnull=True, visitor_id=shopper.visitor_id)
    if shopper.user is not None:
        conversation = open_.filter(user=shopper.user).first()
        if conversation is None:
            conversation = anonymous.first()
            if conversation is not None:
                conversation.user = shopper.user
                conversation.save(update_fields=["user"])
    else:
        conversation = anonymous.first()
    if conversation is not None:
        return conversation
    return Conversation.objects.create(
        user=shopper.user, visitor_id=shopper.visitor_id, channel=channel, language=language
    )


def conversation_get_owned(*, public_id: str, shopper: Shopper) -> Conversation:
    """The conversation if this shopper owns it; otherwise NOT_FOUND (never 'forbidden',
    which would confirm the id exists)."""
    conversation = Conversation.objects.filter(public_id=public_id).first()
    if conversation is None or not _owns(shopper, conversation):
        raise ChatError(ErrorCode.NOT_FOUND)
    return conversation


def _owns(shopper: Shopper, conversation: Conversation) -> bool:
    if conversation.user_id is not None:
        return shopper.user_id == conversation.user_id
    return conversation.visitor_id == shopper.visitor_id


def _next_seq(conversation_id: int) -> int:
    """Reserve the conversation's next seq. The UPDATE locks the row until commit,
    so concurrent writers get consecutive, unique numbers."""
    Conversation.objects.filter(pk=conversation_id).update(
        last_seq=F("last_seq") + 1, updated_at=timezone.now()
    )
    return Conversation.objects.values_list("last_seq", flat=True).get(pk=conversation_id)


def message_store(
    *, conversation: Conversation, sender: str, text: str = "", **fields: Any
) -> Message:
    """Store one message with the next seq and broadcast its frame after commit."""
    with transaction.atomic(savepoint=False):
        seq = _next_seq(conversation.pk)
        message = Message.objects.create(
            conversation=conversation, seq=seq, sender=sender, text=text, **fields
        )
        broadcast_on_commit(conversation, message_frame(message))
    conversation.last_seq = seq
    metrics.messages_total.labels(sender=sender, channel=conversation.channel).inc()
    return message


def message_receive(
    *, conversation: Conversation, text: str, client_msg_id: str
) -> tuple[Message, bool]:
    """Store a shopper message once per client_msg_id; queue its reply after commit.

    Returns the message and whether it was new. A resend gets the stored message
    (same seq, same ack) and queues nothing. A closed conversation takes no more
    messages: the shopper starts a new one.
    """
    existing = Message.objects.filter(
        conversation=conversation, client_msg_id=client_msg_id
    ).first()
    if existing is not None:
        return existing, False
    if Conversation.objects.filter(pk=conversation.pk, status=Conversation.Status.CLOSED).exists():
        raise ChatError(ErrorCode.CONVERSATION_CLOSED)
    try:
        with transaction.atomic():
            seq = _next_seq(conversation.pk)
            message = Message.objects.create(
                conversation=conversation,
                seq=seq,
                sender=Message.Sender.SHOPPER,
                text=text,
                client_msg_id=client_msg_id,
            )
            transaction.on_commit(lambda: reply_enqueue(message_id=message.pk))
    except IntegrityError:
        # The same client_msg_id raced in on another socket; the first one won.
        existing = Message.objects.get(conversation=conversation, client_msg_id=client_msg_id)
        return existing, False
    conversation.last_seq = seq
    metrics.messages_total.labels(sender="shopper", channel=conversation.channel).inc()
    return message, True


def reply_enqueue(*, message_id: int) -> None:
    """Hand the reply to the inference queue (or run it now, in eager mode)."""
    from conversations.tasks import reply_generate_task

    reply_generate_task.delay(message_id)


def reply_generate(*, message_id: int) -> Message | None:
    """Build and store the bot reply to one shopper message. Idempotent: a second run
    (a redelivered task, the sweep) finds the reply and does nothing."""
    started = time.perf_counter()
    message = (
        Message.objects.select_related("conversation", "conversation__user")
        .filter(pk=message_id, sender=Message.Sender.SHOPPER)
        .first()
    )
    if message is None:
        return None
    conversation = message.conversation
    if conversation.status in (Conversation.Status.AGENT, Conversation.Status.CLOSED):
        return None  # a human owns the chat; the agent console shows the message
    if Message.objects.filter(reply_to=message, sender=Message.Sender.BOT).exists():
        return None

    state = state_load(conversation.public_id)
    with metrics.stage_latency_seconds.labels(stage="policy").time():
        outcome = policy.respond(conversation=conversation, text=message.text, state=state)
    payload: dict[str, Any] = {}
    if outcome.reply.suggestions:
        payload["suggestions"] = outcome.reply.suggestions
    if outcome.reply.cards:
        payload["cards"] = outcome.reply.cards
    try:
        with transaction.atomic():
            reply = message_store(
                conversation=conversation,
                sender=Message.Sender.BOT,
                text=outcome.reply.text,
                reply_to=message,
                intent=outcome.intent,
                confidence=outcome.confidence,
                language=outcome.language,
                payload=payload,
            )
            if outcome.language != conversation.language:
                conversation.language = outcome.language
                conversation.save(update_fields=["language"])
            if outcome.handoff_reason:
                from handoff.services import handoff_open

                handoff_open(
                    conversation=conversation,
                    reason=outcome.handoff_reason,
                    priority=policy.HANDOFF_PRIORITY.get(outcome.handoff_reason, 2),
                    reply_to=message,
                )
    except IntegrityError:
        log.info("reply already stored for message %s", message_id)
        return None
    state_save(conversation.public_id, state)
    level1 = (outcome.intent or "none").split(".", 1)[0]
    result = "handoff" if outcome.handoff_reason else ("answered" if outcome.intent else "unsure")
    metrics.replies_total.labels(intent=level1, outcome=result).inc()
    metrics.stage_latency_seconds.labels(stage="total_task").observe(time.perf_counter() - started)
    metrics.reply_latency_seconds.observe(
        max(0.0, (reply.created_at - message.created_at).total_seconds())
    )
    return reply


def message_feedback(*, conversation: Conversation, seq: int, helpful: bool) -> Message:
    """Record a thumbs up/down on one bot message of this conversation."""
    updated = Message.objects.filter(
        conversation=conversation, seq=seq, sender=Message.Sender.BOT
    ).update(helpful=helpful)
    if not updated:
        raise ChatError(ErrorCode.NOT_FOUND, "no bot message with that seq")
    return Message.objects.get(conversation=conversation, seq=seq)


def csat_record(*, conversation: Conversation, score: int) -> Csat:
    if not 1 <= score <= 5:
        raise ChatError(ErrorCode.INVALID_FRAME, "score must be 1..5")
    csat, _ = Csat.objects.update_or_create(conversation=conversation, defaults={"score": score})
    return csat


def unanswered_sweep(*, older_than_s: int | None = None) -> int:
    """Re-queue shopper messages that never got a reply (a lost task, a crashed
    worker). Safe to run any time: reply generation is idempotent."""
    age = settings.CSBOT_SWEEP_AFTER_S if older_than_s is None else older_than_s
    cutoff = timezone.now() - timedelta(seconds=age)
    answered = Message.objects.filter(reply_to=OuterRef("pk"), sender=Message.Sender.BOT)
    ids = list(
        Message.objects.filter(
            sender=Message.Sender.SHOPPER,
            created_at__lte=cutoff,
            created_at__gte=cutoff - timedelta(days=1),
            conversation__status__in=[Conversation.Status.BOT, Conversation.Status.WAITING],
        )
        .exclude(Exists(answered))
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    for message_id in ids:
        reply_enqueue(message_id=message_id)
    metrics.sweep_requeued_total.inc(len(ids))
    return len(ids)
