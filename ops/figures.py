"""The figures managers and alerts share, computed from the database (the record), so
no Prometheus server is needed.

Definitions (the alert rules use the same ones):
- reply latency: a bot reply's `created_at` minus its shopper message's;
- resolved: a bot reply with an intent and no handoff for the same message;
- handoff rate: conversations handed off / conversations with a shopper message in the
  window;
- error: a shopper message older than the sweep's grace period (CSBOT_SWEEP_AFTER_S)
  that got neither a bot reply nor a handoff, in a chat no agent held at that time.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from conversations.models import Csat, Message
from handoff.models import HandoffRequest

log = logging.getLogger(__name__)


# Most replies read for latency figures in one window (the newest ones).
MAX_ROWS = 200_000


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class ReplyRow:
    at: datetime
    latency_s: float
    intent: str | None
    resolved: bool
    helpful: bool | None
    arm: str | None


def bot_replies(*, start: datetime, end: datetime) -> QuerySet[Any]:
    """Bot answers stored in [start, end), each marked `handed_off` when its shopper
    message also got a handoff note."""
    handoff = Message.objects.filter(
        reply_to=OuterRef("reply_to"), kind=Message.Kind.HANDOFF, sender=Message.Sender.SYSTEM
    )
    return Message.objects.filter(
        sender=Message.Sender.BOT,
        kind=Message.Kind.TEXT,
        reply_to__isnull=False,
        created_at__gte=start,
        created_at__lt=end,
    ).annotate(handed_off=Exists(handoff))


def replies_in(*, start: datetime, end: datetime) -> list[ReplyRow]:
    """Bot replies stored in [start, end), with their latency and whether they resolved."""
    rows = (
        bot_replies(start=start, end=end)
        .order_by("-created_at")
        .values_list(
            "created_at", "reply_to__created_at", "intent", "handed_off", "helpful", "payload"
        )[:MAX_ROWS]
    )
    out = []
    for at, asked_at, intent, handed_off, helpful, payload in rows:
        arm = (payload or {}).get("arm")
        out.append(
            ReplyRow(
                at=at,
                latency_s=max(0.0, (at - asked_at).total_seconds()),
                intent=intent,
                resolved=bool(intent) and not handed_off,
                helpful=helpful,
                arm=str(arm) if arm is not None else None,
            )
        )
    return out


def shopper_messages_in(*, start: datetime, end: datetime) -> list[tuple[datetime, bool]]:
    """(created_at, failed) for shopper messages in [start, end): failed means no reply
    and no handoff after the grace period, while no agent held the chat."""
    grace = timedelta(seconds=settings.CSBOT_SWEEP_AFTER_S)
    now = timezone.now()
    replied = Message.objects.filter(reply_to=OuterRef("pk"))
    with_agent = HandoffRequest.objects.filter(
        conversation=OuterRef("conversation"), created_at__lte=OuterRef("created_at")
    ).filter(Q(ended_at__isnull=True) | Q(ended_at__gte=OuterRef("created_at")))
    rows = (
        Message.objects.filter(
            sender=Message.Sender.SHOPPER, created_at__gte=start, created_at__lt=end
        )
        .annotate(replied=Exists(replied), with_agent=Exists(with_agent))
        .values_list("created_at", "replied", "with_agent")[:MAX_ROWS]
    )
    return [
        (at, not replied and not with_agent and at <= now - grace)
        for at, replied, with_agent in rows
    ]


@dataclass
class Headline:
    qps: float
    messages: int
    replies: int
    avg_latency_s: float | None
    p99_latency_s: float | None
    handoff_rate: float | None
    resolution_rate: float | None
    csat: float | None
    csat_count: int
    error_rate: float | None
    errors: int


def headline_compute(*, start: datetime, end: datetime) -> Headline:
    replies = replies_in(start=start, end=end)
    shopper = shopper_messages_in(start=start, end=end)
    latencies = [r.latency_s for r in replies]
    conversations = (
        Message.objects.filter(
            sender=Message.Sender.SHOPPER, created_at__gte=start, created_at__lt=end
        )
        .values("conversation_id")
        .distinct()
        .count()
    )
    handoffs = (
        HandoffRequest.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("conversation_id")
        .distinct()
        .count()
    )
    csat = Csat.objects.filter(created_at__gte=start, created_at__lt=end).aggregate(
        avg=Avg("score"), n=Count("pk")
    )
    errors = sum(1 for _, failed in shopper if failed)
    seconds = max((end - start).total_seconds(), 1.0)
    return Headline(
        qps=len(shopper) / seconds,
        messages=len(shopper),
        replies=len(replies),
        avg_latency_s=sum(latencies) / len(latencies) if latencies else None,
        p99_latency_s=percentile(latencies, 99),
        handoff_rate=rate(handoffs, conversations),
        resolution_rate=rate(sum(r.resolved for r in replies), len(replies)),
        csat=float(csat["avg"]) if csat["avg"] is not None else None,
        csat_count=csat["n"],
        error_rate=rate(errors, len(shopper)),
        errors=errors,
    )
