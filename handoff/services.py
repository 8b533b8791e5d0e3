"""Writes for handoffs: opening a request, the agent's take / message / release / close,
after-hours messages, and the live queue pushed to agents and to waiting shoppers.

Every change is one transaction that writes the request, an append-only event, the
conversation's status and a stored `handoff` message (so the shopper's widget and a
resuming client see it with a seq); frames go out only after the commit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from conversations.dialogue.summary import summarize
from conversations.hours import agent_hours_text, agents_on_duty
from conversations.models import Conversation, Message
from conversations.store import message_store
from csbot import metrics
from csbot.broadcast import broadcast_groups_on_commit
from csbot.errors import ChatError, ErrorCode
from handoff import events, selectors
from handoff.models import AgentProfile, HandoffEvent, HandoffRequest
from handoff.selectors import PRIORITY_NAMES, queue_position  # noqa: F401 - public names
from safety.services import output_screen, pii_mask

AGENTS_GROUP = "handoff.agents"
# Where each reason starts in the queue; an angry shopper moves one level up. Keyed by
# the reason's stored string (Reason members are str), so plain strings look up too.
BASE_PRIORITY: dict[str, int] = {
    HandoffRequest.Reason.REQUESTED: HandoffRequest.Priority.NORMAL,
    HandoffRequest.Reason.LOW_CONFIDENCE: HandoffRequest.Priority.NORMAL,
    HandoffRequest.Reason.NEGATIVE_FEEDBACK: HandoffRequest.Priority.NORMAL,
    HandoffRequest.Reason.COMPLAINT: HandoffRequest.Priority.HIGH,
    HandoffRequest.Reason.VERIFICATION_LOCKED: HandoffRequest.Priority.HIGH,
    HandoffRequest.Reason.ANGER: HandoffRequest.Priority.HIGH,
}
ANGRY = frozenset({"angry", "anger"})
SUMMARY_CHARS = 120
MAX_NOTE_CHARS = 2000
PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def agent_group(user_id: int) -> str:
    """The group every console socket of one agent joins."""
    return f"handoff.agent.{user_id}"


def priority_for(*, reason: str, priority: int | None = None, sentiment: str | None = None) -> int:
    """The queue priority for a reason (or the caller's), one level more urgent when the
    shopper is angry and anger is not already the reason (it would count twice). The one
    priority table: the bot, the shopper's own request and the agents all go through it."""
    base = (
        BASE_PRIORITY.get(reason, HandoffRequest.Priority.NORMAL) if priority is None else priority
    )
    if sentiment in ANGRY and reason != HandoffRequest.Reason.ANGER:
        base -= 1
    return max(HandoffRequest.Priority.URGENT, min(HandoffRequest.Priority.NORMAL, base))


def _event(handoff: HandoffRequest, kind: str, actor: Any = None, **data: Any) -> None:
    HandoffEvent.objects.create(handoff=handoff, kind=kind, actor=actor, data=data)


def _positions() -> dict[int, int]:
    """Each waiting request's queue place (by id), as the queue is ordered."""
    ids = HandoffRequest.objects.filter(status=HandoffRequest.Status.WAITING).order_by(
        "priority", "created_at", "pk"
    )
    return {pk: n for n, pk in enumerate(ids.values_list("pk", flat=True), start=1)}


def _queue_push_on_commit(before: dict[int, int]) -> None:
    """After the commit: the queue to every agent, and a fresh place and wait estimate to
    each waiting shopper whose place changed (new requests have their stored frame)."""

    def sends() -> list[tuple[str, dict[str, Any]]]:
        now = timezone.now()
        waiting = selectors.queue_waiting()
        per_position = selectors.wait_per_position_s(now=now)
        out: list[tuple[str, dict[str, Any]]] = [
            (AGENTS_GROUP, events.queue_frame(selectors.queue_items(waiting=waiting, now=now)))
        ]
        for position, handoff in enumerate(waiting, start=1):
            if handoff.pk not in before or before[handoff.pk] == position:
                continue
            out.append(
                (
                    handoff.conversation.group_name,
                    events.handoff_live_frame(
                        selectors.queued_note(handoff, position, per_position)
                    ),
                )
            )
        return out

    broadcast_groups_on_commit(sends)


def _summary(conversation: Conversation) -> str:
    last = (
        Message.objects.filter(conversation=conversation, sender=Message.Sender.SHOPPER)
        .order_by("-seq")
        .values_list("text", flat=True)
        .first()
    )
    if not last:
        return ""
    if len(last) > settings.CSBOT_SUMMARY_OVER_CHARS:
        last = summarize(last)
    return pii_mask(" ".join(last.split()))[:SUMMARY_CHARS]


def _after_hours_text(lang: str) -> str:
    hours = agent_hours_text(lang)
    if lang == "zh":
        return (
            f"现在不在人工客服服务时间（{hours}）。请直接留言，并留下手机号或邮箱，"
            "客服上班后会按排队顺序尽快联系您。"
        )
    return (
        f"Our agents are offline right now (they work {hours}). Leave your message with a "
        "phone number or email address, and an agent will contact you in the morning, in "
        "queue order."
    )


def handoff_open(
    *,
    conversation: Conversation,
    reason: str,
    priority: int | None = None,
    sentiment: str | None = None,
    reply_to: Message | None = None,
    now: datetime | None = None,
) -> HandoffRequest:
    """Put the conversation in the human queue (once: an open request is reused, and
    raised if this reason or mood is more urgent) and tell the shopper their place and
    wait. Outside agent hours the request waits for the morning and the bot asks for a
    message with a contact."""
    if reason not in HandoffRequest.Reason.values:
        raise ValueError(f"unknown handoff reason {reason!r}")
    priority = priority_for(reason=reason, priority=priority, sentiment=sentiment)
    with transaction.atomic():
        current = (
            Conversation.objects.select_for_update()
            .filter(pk=conversation.pk)
            .values_list("status", flat=True)
            .first()
        )
        if current is None:
            raise ChatError(ErrorCode.NOT_FOUND)
        if current == Conversation.Status.CLOSED:
            raise ChatError(ErrorCode.CONVERSATION_CLOSED)
        conversation.status = current
        before = _positions()
        handoff = (
            HandoffRequest.objects.select_for_update()
            .filter(conversation=conversation, status__in=HandoffRequest.OPEN_STATUSES)
            .first()
        )
        created = False
        if handoff is not None:
            fields = []
            if priority < handoff.priority:
                _event(handoff, HandoffEvent.Kind.RAISED, reason=reason, old=handoff.priority)
                handoff.priority = priority
                fields.append("priority")
            if sentiment and sentiment != handoff.sentiment:
                handoff.sentiment = sentiment[:16]
                fields.append("sentiment")
            if fields:
                handoff.save(update_fields=fields)
        else:
            try:
                with transaction.atomic():
                    handoff = HandoffRequest.objects.create(
                        conversation=conversation,
                        reason=reason,
                        priority=priority,
                        sentiment=(sentiment or "")[:16],
                        summary=_summary(conversation),
                        after_hours=not agents_on_duty(now=now),
                    )
                    _event(handoff, HandoffEvent.Kind.OPENED, reason=reason, priority=priority)
                created = True
            except IntegrityError:
                handoff = HandoffRequest.objects.get(
                    conversation=conversation, status__in=HandoffRequest.OPEN_STATUSES
                )
            metrics.handoffs_total.labels(reason=reason).inc()
        if conversation.status == Conversation.Status.BOT:
            conversation.status = Conversation.Status.WAITING
            conversation.save(update_fields=["status"])
        if handoff.status == HandoffRequest.Status.ASSIGNED:
            payload = events.handoff_assigned(priority=handoff.priority)
        else:
            payload = selectors.queued_note(
                handoff,
                queue_position(handoff=handoff),
                selectors.wait_per_position_s(now=now),
            )
        message_store(
            conversation=conversation,
            sender=Message.Sender.SYSTEM,
            kind=Message.Kind.HANDOFF,
            reply_to=reply_to,
            payload=payload,
        )
        if created and handoff.after_hours:
            message_store(
                conversation=conversation,
                sender=Message.Sender.BOT,
                text=_after_hours_text(conversation.language),
                language=conversation.language,
            )
        _queue_push_on_commit(before)
    return handoff


def _held(conversation_id: str, agent: User, *, lock: bool = True) -> HandoffRequest:
    """The open request for this conversation if `agent` holds it; NOT_ASSIGNED otherwise
    (also when the conversation does not exist, so ids cannot be probed)."""
    rows = HandoffRequest.objects.select_related("conversation").filter(
        conversation__public_id=conversation_id,
        status=HandoffRequest.Status.ASSIGNED,
        agent=agent,
    )
    handoff = (rows.select_for_update(of=("self",)) if lock else rows).first()
    if handoff is None:
        raise ChatError(ErrorCode.NOT_ASSIGNED)
    return handoff


def handoff_take(*, conversation_id: str, agent: User) -> HandoffRequest:
    """Assign a waiting chat to the agent. The request row is locked and the update is
    conditional on it still waiting, so of two agents taking at once exactly one gets
    it; the agent's profile row is locked too, so parallel takes respect capacity.
    Taking a chat one already holds is a no-op."""
    if not selectors.agent_is_allowed(agent):
        raise ChatError(ErrorCode.NOT_ASSIGNED)
    AgentProfile.objects.get_or_create(user=agent)
    with transaction.atomic():
        AgentProfile.objects.select_for_update().get(user=agent)
        handoff = (
            HandoffRequest.objects.select_for_update(of=("self",))
            .select_related("conversation")
            .filter(
                conversation__public_id=conversation_id,
                status__in=HandoffRequest.OPEN_STATUSES,
            )
            .first()
        )
        if handoff is None:
            raise ChatError(ErrorCode.NOT_FOUND)
        if handoff.status == HandoffRequest.Status.ASSIGNED:
            if handoff.agent_id == agent.pk:
                return handoff
            raise ChatError(ErrorCode.ALREADY_TAKEN)
        held = HandoffRequest.objects.filter(
            agent=agent, status=HandoffRequest.Status.ASSIGNED
        ).count()
        if held >= selectors.agent_capacity(agent):
            raise ChatError(ErrorCode.AT_CAPACITY)
        before = _positions()
        now = timezone.now()
        taken = HandoffRequest.objects.filter(
            pk=handoff.pk, status=HandoffRequest.Status.WAITING
        ).update(status=HandoffRequest.Status.ASSIGNED, agent=agent, assigned_at=now)
        if taken != 1:
            raise ChatError(ErrorCode.ALREADY_TAKEN)
        handoff.status, handoff.agent, handoff.assigned_at = (
            HandoffRequest.Status.ASSIGNED,
            agent,
            now,
        )
        conversation = handoff.conversation
        Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.AGENT)
        conversation.status = Conversation.Status.AGENT
        _event(handoff, HandoffEvent.Kind.ASSIGNED, actor=agent)
        name = selectors.agent_display_name(agent)
        message_store(
            conversation=conversation,
            sender=Message.Sender.SYSTEM,
            kind=Message.Kind.HANDOFF,
            payload=events.handoff_assigned(priority=handoff.priority, agent=name),
        )
        metrics.handoff_wait_seconds.observe(max(0.0, (now - handoff.created_at).total_seconds()))
        _queue_push_on_commit(before)
        # Every console of this agent starts watching the chat.
        broadcast_groups_on_commit(
            [(agent_group(agent.pk), events.watch_frame(conversation.public_id))]
        )
    return handoff


def _end(
    *,
    conversation_id: str,
    agent: User,
    status: str,
    conversation_status: str,
    frame_status: Literal["returned", "closed"],
    event: str,
    note: str = "",
) -> HandoffRequest:
    with transaction.atomic():
        handoff = _held(conversation_id, agent)
        now = timezone.now()
        handoff.status = status
        handoff.ended_at = now
        fields = ["status", "ended_at"]
        if note:
            handoff.resolution_note = note
            fields.append("resolution_note")
        handoff.save(update_fields=fields)
        conversation = handoff.conversation
        Conversation.objects.filter(pk=conversation.pk).update(status=conversation_status)
        conversation.status = conversation_status
        _event(handoff, event, actor=agent, **({"note": note} if note else {}))
        message_store(
            conversation=conversation,
            sender=Message.Sender.SYSTEM,
            kind=Message.Kind.HANDOFF,
            payload=events.handoff_ended(frame_status),
        )
        metrics.handoffs_ended_total.labels(outcome=status).inc()
        _queue_push_on_commit({})
    return handoff


def handoff_release(*, conversation_id: str, agent: User) -> HandoffRequest:
    """Give the chat back to the bot; the dialogue state is left as it was, so the bot
    carries on where it stopped."""
    return _end(
        conversation_id=conversation_id,
        agent=agent,
        status=HandoffRequest.Status.RETURNED,
        conversation_status=Conversation.Status.BOT,
        frame_status="returned",
        event=HandoffEvent.Kind.RETURNED,
    )


def handoff_close(*, conversation_id: str, agent: User, note: str = "") -> HandoffRequest:
    """End the chat with a resolution note; the shopper is asked for a 1-5 rating."""
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ChatError(ErrorCode.TEXT_TOO_LONG)
    return _end(
        conversation_id=conversation_id,
        agent=agent,
        status=HandoffRequest.Status.RESOLVED,
        conversation_status=Conversation.Status.CLOSED,
        frame_status="closed",
        event=HandoffEvent.Kind.RESOLVED,
        note=note,
    )


AGENT_ID_PREFIX = "agent:"


def agent_message_send(
    *, conversation_id: str, agent: User, text: str, client_msg_id: str
) -> Message:
    """Store an agent's message in a chat they hold; the shopper sees it live with the
    agent's name. Idempotent per client_msg_id (a resend gets the stored message)."""
    stored_id = AGENT_ID_PREFIX + client_msg_id
    with transaction.atomic():
        handoff = _held(conversation_id, agent)
        conversation = handoff.conversation
        existing = Message.objects.filter(
            conversation=conversation, client_msg_id=stored_id, sender=Message.Sender.AGENT
        ).first()
        if existing is not None:
            return existing
        return message_store(
            conversation=conversation,
            sender=Message.Sender.AGENT,
            text=output_screen(text=text, source="agent", conversation=conversation),
            client_msg_id=stored_id,
            language=conversation.language,
            payload={"agent": selectors.agent_display_name(agent)},
        )


def agent_typing(*, conversation_id: str, agent: User) -> None:
    """Tell the shopper the agent is typing (not stored: it only matters now)."""
    handoff = _held(conversation_id, agent, lock=False)
    name = selectors.agent_display_name(agent)
    broadcast_groups_on_commit([(handoff.conversation.group_name, events.typing_frame(name))])


def _contact_in(text: str) -> str:
    found = PHONE.search(text) or EMAIL.search(text)
    return found.group(0) if found else ""


def _message_taken_text(lang: str, contact: str) -> str:
    if contact:
        if lang == "zh":
            return f"已收到您的留言，客服上班后会通过 {contact} 联系您。"
        return f"Got your message. An agent will contact you at {contact} once they are in."
    if lang == "zh":
        return "已记下您的留言。请再留下手机号或邮箱，方便客服联系您。"
    return "I've noted your message. Please also leave a phone number or email address."


def after_hours_messages_take(*, messages: Sequence[Message]) -> set[int]:
    """Outside agent hours, a waiting shopper's messages are the message for the morning:
    each one is added to the request (with the contact it holds) and acknowledged by
    the bot until a contact is known. Returns the ids taken this way (the bot's usual
    reply is not made for them)."""
    waiting = [m for m in messages if m.conversation.status == Conversation.Status.WAITING]
    if not waiting:
        return set()
    handoffs = {
        h.conversation_id: h
        for h in HandoffRequest.objects.filter(
            conversation_id__in={m.conversation_id for m in waiting},
            status=HandoffRequest.Status.WAITING,
            after_hours=True,
            contact="",
        )
    }
    taken: set[int] = set()
    for message in sorted(waiting, key=lambda m: (m.conversation_id, m.seq)):
        handoff = handoffs.get(message.conversation_id)
        if handoff is None or handoff.contact:
            continue
        contact = _contact_in(message.text)
        try:
            with transaction.atomic():
                handoff.left_message = "\n".join(filter(None, [handoff.left_message, message.text]))
                handoff.contact = contact[:120]
                # The queue line shows what the shopper left for the morning.
                handoff.summary = " ".join(handoff.left_message.split())[:SUMMARY_CHARS]
                handoff.save(update_fields=["left_message", "contact", "summary"])
                _event(handoff, HandoffEvent.Kind.MESSAGE_LEFT, seq=message.seq, contact=contact)
                message_store(
                    conversation=message.conversation,
                    sender=Message.Sender.BOT,
                    text=_message_taken_text(message.conversation.language, contact),
                    reply_to=message,
                    language=message.conversation.language,
                )
                _queue_push_on_commit({})
        except IntegrityError:  # answered meanwhile (a redelivered task)
            handoff.refresh_from_db()
            continue
        taken.add(message.pk)
    return taken


# --- subscriptions (csbot.hooks) --------------------------------------------------


def handoff_wanted(
    value: None,
    *,
    conversation: Conversation,
    reason: str,
    sentiment: str | None = None,
    reply_to: Message | None = None,
) -> HandoffRequest:
    """`Event.HANDOFF_WANTED`: the bot, the shopper or their feedback asks for a person.
    The priority comes from this app's one table (`priority_for`), from the reason and
    the shopper's mood."""
    return handoff_open(
        conversation=conversation, reason=reason, sentiment=sentiment, reply_to=reply_to
    )


def after_hours_route(messages: list[Message]) -> list[Message]:
    """`Event.REPLIES_ROUTE`: the messages the bot should still answer, once a queued
    shopper's after-hours messages are taken as the message for the morning."""
    if not any(m.conversation.status == Conversation.Status.WAITING for m in messages):
        return messages
    taken = after_hours_messages_take(messages=messages)
    return [m for m in messages if m.pk not in taken] if taken else messages
