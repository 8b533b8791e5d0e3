"""Writes for conversations: which conversation a shopper is in, receiving their messages,
feedback, ratings, and the sweep of messages left unanswered. Rows and seqs are written
by `conversations.store`; the bot's replies are built by `conversations.replies`.

Nothing-lost rules (docs/protocol.md §1): a message is stored, with the conversation's
next `seq`, before it is acknowledged; a resent `client_msg_id` returns the stored
message and queues nothing; the reply task is queued only after the commit, and
a database constraint allows one bot reply per shopper message.

The hot path works on batches (`messages_receive`, and `conversations.replies` for the
bot's replies): one seq statement and one insert per transaction, however many
conversations it touches (see `conversations.batching`). The one-message functions
(`message_receive`, `reply_generate`) are thin wrappers used by the HTTP API, the Celery
task and the sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from conversations.events import broadcast_many_on_commit, message_frame
from conversations.models import Conversation, Csat, Message
from conversations.replies import replies_generate, replies_generate_fresh
from conversations.store import (
    message_new,
    messages_count,
    messages_insert_rows,
    seqs_reserve,
)
from csbot import hooks, metrics
from csbot.celery import app as celery_app
from csbot.celery import task_send
from csbot.errors import ChatError, ErrorCode
from csbot.hooks import Event
from csbot.identity import Shopper

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


@dataclass(frozen=True)
class Incoming:
    """One shopper message to store: what the socket or the API received."""

    conversation: Conversation
    text: str
    client_msg_id: str
    # Extra fields stored with the message, e.g. {"image": {...}} for a picture.
    payload: dict[str, Any] | None = None


@dataclass(frozen=True)
class Received:
    """What storing an `Incoming` gave: the stored message and whether it is new, or
    the refusal the shopper should see (nothing was stored)."""

    message: Message | None = None
    created: bool = False
    error: ChatError | None = None


def message_receive(
    *,
    conversation: Conversation,
    text: str,
    client_msg_id: str,
    payload: dict[str, Any] | None = None,
) -> tuple[Message, bool]:
    """Store a shopper message once per client_msg_id; queue its reply after commit.

    Returns the message and whether it was new. A resend gets the stored message
    (same seq, same ack) and queues nothing. A closed conversation takes no more
    messages: the shopper starts a new one.
    """
    (result,) = messages_receive(
        items=[
            Incoming(
                conversation=conversation,
                text=text,
                client_msg_id=client_msg_id,
                payload=payload,
            )
        ]
    )
    if result.error is not None:
        raise result.error
    assert result.message is not None
    return result.message, result.created


_INSERT_ATTEMPTS = 3


def messages_receive(*, items: Sequence[Incoming], enqueue_replies: bool = True) -> list[Received]:
    """Store a batch of shopper messages in one transaction (group commit): one seq
    statement for every conversation in the batch and one bulk insert.

    Results are in input order. Idempotent per (conversation, client_msg_id): a resend,
    in this batch or stored before, gets the stored message with `created=False`. The
    unique constraint decides, not a pre-check: on a conflict the batch is rolled back,
    the already stored ids are looked up, and the rest is inserted again. New messages'
    replies are queued after commit unless `enqueue_replies` is False, in which case the
    caller queues them (`replies_enqueue`) once it has acknowledged the batch.
    """
    results: list[Received | None] = [None] * len(items)
    first: dict[tuple[int, str], int] = {}
    repeats: list[tuple[int, int]] = []
    todo: list[int] = []
    for index, item in enumerate(items):
        key = (item.conversation.pk, item.client_msg_id)
        if key in first:
            repeats.append((index, first[key]))
        else:
            first[key] = index
            todo.append(index)

    for _attempt in range(_INSERT_ATTEMPTS):
        try:
            with transaction.atomic():
                stored = _messages_insert([items[i] for i in todo])
        except IntegrityError:
            # A client_msg_id stored before (a resend, or a race with another socket).
            found = _messages_existing([items[i] for i in todo])
            for i in todo:
                message = found.get((items[i].conversation.pk, items[i].client_msg_id))
                if message is not None:
                    results[i] = Received(message=message)
            todo = [i for i in todo if results[i] is None]
            continue
        for i, result in zip(todo, stored, strict=True):
            results[i] = result
        todo = []
        break
    for i in todo:  # still conflicting after retries (heavy races): one at a time
        results[i] = _message_receive_one(items[i])

    for index, original in repeats:
        first_result = results[original]
        assert first_result is not None
        results[index] = Received(message=first_result.message, error=first_result.error)
    done = [r for r in results if r is not None]
    new = [r.message for r in done if r.created and r.message is not None]
    if enqueue_replies and new:
        transaction.on_commit(lambda: replies_enqueue(message_ids=[m.pk for m in new], stored=new))
    return done


def _messages_insert(items: list[Incoming]) -> list[Received]:
    """Inside a transaction: reserve seqs and insert every item; messages to closed or
    deleted conversations are refused (or answered with the stored resend)."""
    counts: dict[int, int] = {}
    for item in items:
        counts[item.conversation.pk] = counts.get(item.conversation.pk, 0) + 1
    statuses: dict[int, str] = {}
    last = seqs_reserve(counts=counts, skip_closed=True, statuses=statuses)
    refused = [item for item in items if item.conversation.pk not in last]
    found = _messages_existing(refused) if refused else {}
    alive = (
        set(
            Conversation.objects.filter(pk__in={i.conversation.pk for i in refused}).values_list(
                "pk", flat=True
            )
        )
        if refused
        else set()
    )
    next_seq = {pk: seq - counts[pk] + 1 for pk, seq in last.items()}
    results: list[Received] = []
    new: list[Message] = []
    for item in items:
        pk = item.conversation.pk
        if pk not in last:
            message = found.get((pk, item.client_msg_id))
            if message is not None:
                results.append(Received(message=message))
            else:
                code = ErrorCode.CONVERSATION_CLOSED if pk in alive else ErrorCode.NOT_FOUND
                results.append(Received(error=ChatError(code)))
            continue
        message = message_new(
            conversation=item.conversation,
            seq=next_seq[pk],
            sender=Message.Sender.SHOPPER,
            text=item.text,
            client_msg_id=item.client_msg_id,
            payload=item.payload or {},
        )
        next_seq[pk] += 1
        new.append(message)
        results.append(Received(message=message, created=True))
    messages_insert_rows(new)
    for item in items:
        if item.conversation.pk in last:
            item.conversation.last_seq = last[item.conversation.pk]
            # As of this write (the seq UPDATE returns it): the reply step trusts it.
            item.conversation.status = statuses.get(item.conversation.pk, item.conversation.status)
    # An agent holds these chats: the shopper's words go to the agent's console (through
    # the conversation's group, which the console watches); the bot stays quiet.
    held = [m for m in new if statuses.get(m.conversation_id) == Conversation.Status.AGENT]
    if held:
        broadcast_many_on_commit([(m.conversation, message_frame(m)) for m in held])
    messages_count(new)
    return results


def _messages_existing(items: Sequence[Incoming]) -> dict[tuple[int, str], Message]:
    """Stored shopper messages for these (conversation, client_msg_id) pairs."""
    if not items:
        return {}
    wanted = {(i.conversation.pk, i.client_msg_id) for i in items}
    rows = Message.objects.filter(
        conversation_id__in={pk for pk, _ in wanted},
        client_msg_id__in={cid for _, cid in wanted},
    )
    return {
        (m.conversation_id, m.client_msg_id): m
        for m in rows
        if m.client_msg_id is not None and (m.conversation_id, m.client_msg_id) in wanted
    }


def _message_receive_one(item: Incoming) -> Received:
    """The one-row path, for a message whose batch kept conflicting."""
    existing = _messages_existing([item]).get((item.conversation.pk, item.client_msg_id))
    if existing is not None:
        return Received(message=existing)
    try:
        with transaction.atomic():
            (result,) = _messages_insert([item])
    except IntegrityError:
        existing = Message.objects.get(
            conversation=item.conversation, client_msg_id=item.client_msg_id
        )
        return Received(message=existing)
    return result


def replies_enqueue(*, message_ids: Sequence[int], stored: Sequence[Message] = ()) -> None:
    """Hand replies to the inference queue, one task per message so workers share the
    load. In eager mode (no broker) the whole batch is generated here, in one go;
    `stored`, the messages just stored under these ids, saves reading them back."""
    if not message_ids:
        return
    if celery_app.conf.task_always_eager:
        if stored:
            replies_generate_fresh(stored)
        else:
            replies_generate(message_ids=message_ids)
        return
    for message_id in message_ids:
        task_send("conversations.reply_generate", message_id)


def reply_generate(*, message_id: int) -> Message | None:
    """Build and store the bot reply to one shopper message. Idempotent: a second run
    (a redelivered task, the sweep) finds the reply and does nothing."""
    return replies_generate(message_ids=[message_id])[0]


def handoff_request(*, conversation: Conversation) -> None:
    """The shopper asked for a person: the handoff app queues the conversation (and the
    shopper gets their place through the conversation's group)."""
    hooks.run(Event.HANDOFF_WANTED, conversation=conversation, reason="requested")


def message_feedback(*, conversation: Conversation, seq: int, helpful: bool) -> Message:
    """Record a thumbs up/down on one bot message of this conversation. Two thumbs down
    in a row (the last two rated bot answers since the last handoff) hand the chat to
    a human."""
    with transaction.atomic():
        updated = Message.objects.filter(
            conversation=conversation, seq=seq, sender=Message.Sender.BOT
        ).update(helpful=helpful)
        if not updated:
            raise ChatError(ErrorCode.NOT_FOUND, "no bot message with that seq")
        message = Message.objects.get(conversation=conversation, seq=seq)
        if not helpful and _negative_streak(conversation) >= 2:
            conversation.refresh_from_db(fields=["status"])
            if conversation.status == Conversation.Status.BOT:
                hooks.run(
                    Event.HANDOFF_WANTED, conversation=conversation, reason="negative_feedback"
                )
    return message


def _negative_streak(conversation: Conversation) -> int:
    """How many of the most recently rated bot answers (by seq, after the last handoff
    status change) were rated unhelpful, counting back until a helpful one."""
    since = (
        Message.objects.filter(conversation=conversation, kind=Message.Kind.HANDOFF)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    ) or 0
    rated = (
        Message.objects.filter(
            conversation=conversation,
            sender=Message.Sender.BOT,
            helpful__isnull=False,
            seq__gt=since,
        )
        .order_by("-seq")
        .values_list("helpful", flat=True)[:2]
    )
    streak = 0
    for helpful in rated:
        if helpful:
            break
        streak += 1
    return streak


def csat_record(*, conversation: Conversation, score: int) -> Csat:
    """Store the shopper's 1-5 rating of the conversation (asked when an agent closes
    it; a second answer replaces the first)."""
    if not 1 <= score <= 5:
        raise ChatError(ErrorCode.INVALID_FRAME, "score must be 1..5")
    csat, _ = Csat.objects.update_or_create(conversation=conversation, defaults={"score": score})
    metrics.csat_scores_total.labels(score=str(score)).inc()
    return csat


def unanswered_sweep(*, older_than_s: int | None = None) -> int:
    """Re-queue shopper messages that never got a reply (a lost task, a crashed
    worker). Safe to run any time: reply generation is idempotent. Messages a human
    agent took care of (an agent message or a take, release or close after them) are
    not the bot's to answer, even once the chat is back with the bot."""
    age = settings.CSBOT_SWEEP_AFTER_S if older_than_s is None else older_than_s
    cutoff = timezone.now() - timedelta(seconds=age)
    answered = Message.objects.filter(reply_to=OuterRef("pk"), sender=Message.Sender.BOT)
    human = Message.objects.filter(
        conversation=OuterRef("conversation"), seq__gt=OuterRef("seq")
    ).filter(
        Q(sender=Message.Sender.AGENT)
        | Q(kind=Message.Kind.HANDOFF, payload__status__in=["assigned", "returned", "closed"])
    )
    ids = list(
        Message.objects.filter(
            sender=Message.Sender.SHOPPER,
            created_at__lte=cutoff,
            created_at__gte=cutoff - timedelta(days=1),
            conversation__status__in=[Conversation.Status.BOT, Conversation.Status.WAITING],
        )
        .exclude(Exists(answered))
        .exclude(Exists(human))
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    replies_enqueue(message_ids=ids)
    metrics.sweep_requeued_total.inc(len(ids))
    return len(ids)
