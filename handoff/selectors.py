"""Reads for handoffs: agent hours, the queue and its order, wait estimates, agents'
names and capacity, and the context packet an agent sees when taking a chat."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.utils import timezone

from catalog.selectors import product_get
from conversations.dialogue.answers import order_card, product_card
from conversations.dialogue.state import state_load
from conversations.dialogue.summary import summarize
from conversations.dialogue.verification import order_verified_get
from conversations.events import message_frame
from conversations.models import Conversation, Message
from handoff import events
from handoff.events import PRIORITY_NAMES  # noqa: F401 - public name
from handoff.models import AgentProfile, CannedReply, HandoffRequest

AGENTS_GROUP_NAME = "agents"
# Takes in this window teach the wait estimate; fewer than MIN_TAKES use the setting.
TAKE_WINDOW = timedelta(hours=1)
MIN_TAKES = 3


# --- agents ---------------------------------------------------------------------


def agent_is_allowed(user: Any) -> bool:
    """Staff in the `agents` group: the only people who may use the console."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.groups.filter(name=AGENTS_GROUP_NAME).exists()
    )


def agent_display_name(user: User) -> str:
    profile = AgentProfile.objects.filter(user=user).first()
    if profile is not None and profile.display_name:
        return profile.display_name
    return user.get_full_name() or user.get_username()


def agent_capacity(user: User) -> int:
    profile = AgentProfile.objects.filter(user=user).first()
    if profile is not None and profile.capacity is not None:
        return profile.capacity
    return settings.CSBOT_AGENT_CAPACITY


def agent_handoffs(*, agent: User) -> QuerySet[HandoffRequest]:
    """The chats this agent holds now, oldest first."""
    return (
        HandoffRequest.objects.filter(agent=agent, status=HandoffRequest.Status.ASSIGNED)
        .select_related("conversation")
        .order_by("assigned_at")
    )


# --- the queue --------------------------------------------------------------------


def queue_waiting() -> list[HandoffRequest]:
    """Waiting requests in the order agents should take them: priority, then wait."""
    return list(
        HandoffRequest.objects.filter(status=HandoffRequest.Status.WAITING)
        .select_related("conversation")
        .order_by("priority", "created_at", "pk")
    )


def queue_position(*, handoff: HandoffRequest) -> int:
    """1-based place among waiting requests: by priority, then by waiting time."""
    ahead = HandoffRequest.objects.filter(status=HandoffRequest.Status.WAITING).filter(
        Q(priority__lt=handoff.priority)
        | Q(priority=handoff.priority, created_at__lt=handoff.created_at)
        | Q(priority=handoff.priority, created_at=handoff.created_at, pk__lt=handoff.pk)
    )
    return ahead.count() + 1


def wait_per_position_s(*, now: datetime | None = None) -> int:
    """Seconds one queue place takes to clear: learned from the takes of the last hour
    (the window divided by their number), or the setting when there are too few."""
    now = now or timezone.now()
    takes = HandoffRequest.objects.filter(assigned_at__gte=now - TAKE_WINDOW).count()
    if takes < MIN_TAKES:
        return settings.CSBOT_HANDOFF_WAIT_PER_POSITION_S
    return max(15, min(900, int(TAKE_WINDOW.total_seconds() / takes)))


def wait_estimate_s(*, position: int, per_position_s: int) -> int:
    """The estimated wait for a queue place, rounded up to whole minutes."""
    return int(math.ceil(position * per_position_s / 60.0) * 60)


def queue_items(
    *, waiting: list[HandoffRequest] | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The `queue` frame's items, in queue order (`waiting`: from `queue_waiting`)."""
    now = now or timezone.now()
    return [
        events.queue_item(handoff, position=position, now=now)
        for position, handoff in enumerate(queue_waiting() if waiting is None else waiting, 1)
    ]


def waiting_frame(*, conversation: Conversation) -> dict[str, Any] | None:
    """The shopper's current place and wait, as a live (unstored) `handoff` frame, while
    the conversation waits in the queue; None otherwise."""
    handoff = HandoffRequest.objects.filter(
        conversation=conversation, status=HandoffRequest.Status.WAITING
    ).first()
    if handoff is None:
        return None
    position = queue_position(handoff=handoff)
    # Agents' hours over: no estimate, so no need to learn the pace of takes.
    per_position_s = None if handoff.after_hours else wait_per_position_s()
    return events.handoff_live_frame(queued_note(handoff, position, per_position_s))


def queued_note(
    handoff: HandoffRequest, position: int, per_position_s: int | None
) -> dict[str, Any]:
    """A waiting request's `handoff` note: its place and wait (`per_position_s` from
    `wait_per_position_s`; None only for an after-hours request, which has no wait)."""
    return events.handoff_queued(
        priority=handoff.priority,
        position=position,
        after_hours=handoff.after_hours,
        wait_s=(
            None
            if per_position_s is None
            else wait_estimate_s(position=position, per_position_s=per_position_s)
        ),
    )


def handoff_open_for(*, conversation_id: str) -> HandoffRequest | None:
    return (
        HandoffRequest.objects.filter(
            conversation__public_id=conversation_id, status__in=HandoffRequest.OPEN_STATUSES
        )
        .select_related("conversation", "agent")
        .first()
    )


# --- the context packet -------------------------------------------------------


def _intent_path(messages: list[Message]) -> list[str]:
    """The intents the bot worked through, in order, repeats folded."""
    path: list[str] = []
    for message in messages:
        fresh = not path or path[-1] != message.intent
        if message.sender == Message.Sender.BOT and message.intent and fresh:
            path.append(message.intent)
    return path


def _shopper_label(conversation: Conversation) -> str:
    """The account name, or the tail of an anonymous visitor's id (the console adds
    the word "visitor" in the agent's language)."""
    if conversation.user is not None:
        return conversation.user.get_username()
    return conversation.visitor_id[-6:]


def context_packet(*, handoff: HandoffRequest, agent: User) -> dict[str, Any]:
    """Everything an agent needs to pick up a chat: the history as frames and what the
    bot knows (intent path, slots, product, order — details only when the shopper owns
    or verified it — sentiment, reason, language, summaries of long messages)."""
    conversation = (
        Conversation.objects.select_related("user").filter(pk=handoff.conversation_id).get()
    )
    messages = list(
        Message.objects.filter(conversation=conversation).select_related("reply_to").order_by("seq")
    )
    state = state_load(conversation.public_id)
    lang = conversation.language
    product = None
    if state.last_product:
        found = product_get(sku=state.last_product)
        product = product_card(found, lang) if found is not None else None
    order: dict[str, Any] | None = None
    order_no = state.last_order or state.slots.get("order_no")
    if order_no:
        verified = order_verified_get(conversation=conversation, order_no=order_no)
        order = events.order_ref(
            order_no=order_no, card=order_card(verified, lang) if verified is not None else None
        )
    summaries = [
        events.long_message_summary(seq=m.seq, summary=summarize(m.text))
        for m in messages
        if m.sender == Message.Sender.SHOPPER and len(m.text) > settings.CSBOT_SUMMARY_OVER_CHARS
    ]
    return events.chat_packet(
        handoff=handoff,
        conversation=conversation,
        shopper=_shopper_label(conversation),
        intent_path=_intent_path(messages),
        slots={k: v for k, v in state.slots.items() if k != "phone_last4"},
        product=product,
        order=order,
        summaries=summaries,
        history=[message_frame(m) for m in messages],
        canned=canned_rendered(
            conversation=conversation,
            agent=agent,
            values={
                "order_no": order_no or "",
                "product": product["name"] if product else "",
            },
        ),
    )


def canned_rendered(
    *, conversation: Conversation, agent: User, values: dict[str, str]
) -> list[dict[str, Any]]:
    """Active canned replies in the conversation's language with placeholders filled;
    a placeholder with no value stays as written, for the agent to complete."""
    fill = {
        "agent": agent_display_name(agent),
        "shopper": conversation.user.get_username() if conversation.user is not None else "",
        **values,
    }
    rendered = []
    for canned in CannedReply.objects.filter(active=True):
        text = canned.text(conversation.language)
        for key, value in fill.items():
            if value:
                text = text.replace("{" + key + "}", value)
        rendered.append(events.canned_item(canned, text=text))
    return rendered


def resume_frames(
    frames: list[dict[str, Any]], *, conversation: Conversation
) -> list[dict[str, Any]]:
    """`Event.RESUME_FRAMES`: while the conversation waits for an agent, its place and
    wait as they are now (the stored notes the shopper just got give them as they were)."""
    live = waiting_frame(conversation=conversation)
    return frames if live is None else [*frames, live]
