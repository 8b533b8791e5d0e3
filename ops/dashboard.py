"""The manager dashboard: every figure for an hour, a day or a week, cached briefly."""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from experiments.models import Experiment
from experiments.selectors import arm_metrics
from ops.alerts import alerts_active
from ops.figures import (
    MAX_ROWS,
    Headline,
    ReplyRow,
    bot_replies,
    headline_compute,
    percentile,
    rate,
    replies_in,
    shopper_messages_in,
)

log = logging.getLogger(__name__)


WINDOWS: dict[str, tuple[timedelta, timedelta]] = {
    # window: (length, chart bucket)
    "hour": (timedelta(hours=1), timedelta(minutes=5)),
    "day": (timedelta(days=1), timedelta(hours=1)),
    "week": (timedelta(days=7), timedelta(hours=6)),
}


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
        "p99_latency_ms": [
            round(p99 * 1000, 1) if (p99 := percentile(v, 99)) is not None else None for v in lat
        ],
        "error_rate": [round(e / c, 4) if c else None for e, c in zip(errors, counts, strict=True)],
    }


def unresolved_top(*, start: datetime, end: datetime, limit: int = 10) -> list[dict[str, Any]]:
    """The shopper questions most often left unresolved (clarified, handed off or
    thumbed down), grouped by their normalised text."""
    rows = (
        bot_replies(start=start, end=end)
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
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        assert p50 is not None and p99 is not None  # every arm in `groups` has replies
        arms.append(
            {
                "arm": arm,
                "percent": None,
                "replies": len(rows),
                "resolution_rate": rate(sum(r.resolved for r in rows), len(rows)),
                "handoff_rate": None,
                "p50_ms": round(p50 * 1000),
                "p99_ms": round(p99 * 1000),
                "csat": None,
                "negative_rate": rate(sum(r.helpful is False for r in rated), len(rated)),
            }
        )
    return {"experiment": None, "active": False, "arms": arms}


def dashboard_compute(*, window: str, now: datetime | None = None) -> Dashboard:
    """Every figure of the dashboard for one window ending now."""
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
