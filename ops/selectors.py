"""Reads for the manager dashboard, computed from the database (the record) and
cached briefly, so no Prometheus server is needed.

Definitions (the same ones the alert rules use):
- reply latency: a bot reply's `created_at` minus its shopper message's;
- resolved: a bot reply with an intent and no handoff for the same message;
- handoff rate: conversations handed off / conversations with a shopper message in the
  window;
- error: a shopper message older than the sweep's grace period (CSBOT_SWEEP_AFTER_S)
  that got neither a bot reply nor a handoff, in a chat no agent held at that time.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Avg, Count, Exists, OuterRef, Q
from django.utils import timezone

from conversations.models import Csat, Message

WINDOWS: dict[str, tuple[timedelta, timedelta]] = {
    # window: (length, chart bucket)
    "hour": (timedelta(hours=1), timedelta(minutes=5)),
    "day": (timedelta(days=1), timedelta(hours=1)),
    "week": (timedelta(days=7), timedelta(hours=6)),
}
# Most replies read for latency figures in one window (the newest ones).
MAX_ROWS = 200_000


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _handoff_model():
    from handoff.models import HandoffRequest

    return HandoffRequest


@dataclass
class ReplyRow:
    at: datetime
    latency_s: float
    intent: str | None
    resolved: bool
    helpful: bool | None
    arm: str | None


def replies_in(*, start: datetime, end: datetime) -> list[ReplyRow]:
    """Bot replies stored in [start, end), with their latency and whether they resolved."""
    handoff = Message.objects.filter(
        reply_to=OuterRef("reply_to"), kind=Message.Kind.HANDOFF, sender=Message.Sender.SYSTEM
    )
    rows = (
        Message.objects.filter(
            sender=Message.Sender.BOT,
            kind=Message.Kind.TEXT,
            reply_to__isnull=False,
            created_at__gte=start,
            created_at__lt=end,
        )
        .annotate(handed_off=Exists(handoff))
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
    HandoffRequest = _handoff_model()
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


@dataclass
class Dashboard:
    window: str
    start: str
    end: str
    headline: Headline
    series: dict[str, list] = field(default_factory=dict)
    intents: list[dict[str, Any]] = field(default_factory=list)
    intents_level1: list[dict[str, Any]] = field(default_factory=list)
    unresolved: list[dict[str, Any]] = field(default_factory=list)
    arms: dict[str, Any] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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
        _handoff_model()
        .objects.filter(created_at__gte=start, created_at__lt=end)
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
        handoff_rate=_rate(handoffs, conversations),
        resolution_rate=_rate(sum(r.resolved for r in replies), len(replies)),
        csat=float(csat["avg"]) if csat["avg"] is not None else None,
        csat_count=csat["n"],
        error_rate=_rate(errors, len(shopper)),
        errors=errors,
    )


def _series(
    *, start: datetime, end: datetime, bucket: timedelta, replies: list[ReplyRow], shopper: list
) -> dict[str, list]:
    n = max(1, math.ceil((end - start) / bucket))
    labels = [(start + bucket * i).isoformat() for i in range(n)]
    counts = [0] * n
    errors = [0] * n
    lat: list[list[float]] = [[] for _ in range(n)]
    for at, failed in shopper:
        i = min(n - 1, int((at - start) / bucket))
        counts[i] += 1
        errors[i] += failed
    for row in replies:
        i = min(n - 1, int((row.at - start) / bucket))
        lat[i].append(row.latency_s)
    seconds = bucket.total_seconds()
    return {
        "labels": labels,
        "qps": [round(c / seconds, 4) for c in counts],
        "avg_latency_ms": [round(sum(v) / len(v) * 1000, 1) if v else None for v in lat],
        "p99_latency_ms": [round(percentile(v, 99) * 1000, 1) if v else None for v in lat],
        "error_rate": [round(e / c, 4) if c else None for e, c in zip(errors, counts, strict=True)],
    }


def unresolved_top(*, start: datetime, end: datetime, limit: int = 10) -> list[dict[str, Any]]:
    """The shopper questions most often left unresolved (clarified, handed off or
    thumbed down), grouped by their normalised text."""
    handoff = Message.objects.filter(
        reply_to=OuterRef("reply_to"), kind=Message.Kind.HANDOFF, sender=Message.Sender.SYSTEM
    )
    rows = (
        Message.objects.filter(
            sender=Message.Sender.BOT,
            kind=Message.Kind.TEXT,
            reply_to__isnull=False,
            created_at__gte=start,
            created_at__lt=end,
        )
        .annotate(handed_off=Exists(handoff))
        .filter(Q(intent__isnull=True) | Q(handed_off=True) | Q(helpful=False))
        .values_list("reply_to__text", "language")[:MAX_ROWS]
    )
    counts: Counter[str] = Counter()
    shown: dict[str, tuple[str, str]] = {}
    for text, lang in rows:
        key = " ".join(text.lower().split())[:300]
        counts[key] += 1
        shown.setdefault(key, (text.strip()[:300], lang or "zh"))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"question": shown[key][0], "lang": shown[key][1], "count": n} for key, n in ranked]


def _ranked(counts: Counter[str]) -> list[dict[str, Any]]:
    """Most first; ties by name, so the order never depends on row order."""
    return [
        {"intent": k, "count": v} for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def arms_compare(*, start: datetime, replies: list[ReplyRow]) -> dict[str, Any]:
    """A/B arms side by side: the active (else the latest) experiment's per-arm figures
    from the experiments app since `start`; replies whose payload names an `arm` when
    that app has no experiment."""
    try:
        from experiments.models import Experiment
        from experiments.selectors import arm_metrics
    except ImportError:  # the experiments app is optional
        Experiment = None
    if Experiment is not None:
        experiment = Experiment.objects.order_by("-is_active", "-created_at").first()
        if experiment is not None:
            return {
                "experiment": experiment.name,
                "active": experiment.is_active,
                "arms": [
                    {
                        "arm": m.arm,
                        "percent": m.percent,
                        "replies": m.replies,
                        "resolution_rate": m.resolution_rate,
                        "handoff_rate": m.handoff_rate,
                        "p50_ms": m.latency_p50_ms,
                        "p99_ms": m.latency_p99_ms,
                        "csat": m.csat_avg,
                        "negative_rate": m.negative_feedback_rate,
                    }
                    for m in arm_metrics(experiment=experiment, since=start)
                ],
            }
    groups: dict[str, list[ReplyRow]] = {}
    for row in replies:
        if row.arm is not None:
            groups.setdefault(row.arm, []).append(row)
    arms = []
    for arm in sorted(groups):
        rows = groups[arm]
        latencies = [r.latency_s for r in rows]
        rated = [r for r in rows if r.helpful is not None]
        arms.append(
            {
                "arm": arm,
                "percent": None,
                "replies": len(rows),
                "resolution_rate": _rate(sum(r.resolved for r in rows), len(rows)),
                "handoff_rate": None,
                "p50_ms": round(percentile(latencies, 50) * 1000),
                "p99_ms": round(percentile(latencies, 99) * 1000),
                "csat": None,
                "negative_rate": _rate(sum(r.helpful is False for r in rated), len(rated)),
            }
        )
    return {"experiment": None, "active": False, "arms": arms}


def dashboard_compute(*, window: str, now: datetime | None = None) -> Dashboard:
    """Every figure of the dashboard for one window ending now."""
    from ops.alerts import alerts_active

    if window not in WINDOWS:
        raise ValueError(f"window must be one of {sorted(WINDOWS)}")
    length, bucket = WINDOWS[window]
    end = now or timezone.now()
    start = end - length
    replies = replies_in(start=start, end=end)
    shopper = shopper_messages_in(start=start, end=end)
    intents = Counter(r.intent or "(none)" for r in replies)
    level1 = Counter((r.intent or "(none)").split(".", 1)[0] for r in replies)
    return Dashboard(
        window=window,
        start=start.isoformat(),
        end=end.isoformat(),
        headline=headline_compute(start=start, end=end),
        series=_series(start=start, end=end, bucket=bucket, replies=replies, shopper=shopper),
        intents=_ranked(intents),
        intents_level1=_ranked(level1),
        unresolved=unresolved_top(start=start, end=end),
        arms=arms_compare(start=start, replies=replies),
        alerts=[asdict(a) for a in alerts_active(now=end)],
    )


def dashboard_cached(*, window: str) -> dict[str, Any]:
    """`dashboard_compute` as a dict, cached for CSBOT_DASHBOARD_CACHE_S seconds."""
    key = f"ops:dashboard:{window}"
    data = cache.get(key)
    if data is None:
        data = dashboard_compute(window=window).as_dict()
        cache.set(key, data, settings.CSBOT_DASHBOARD_CACHE_S)
    return data
