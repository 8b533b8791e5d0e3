"""Reads for experiments: the shopper's arm (cached per process for a few seconds)
and per-arm metrics for the dashboard."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Avg, Count, Q

from experiments.assignment import arm_pick
from experiments.models import Arm, ArmReply, Experiment

_lock = threading.Lock()
_active: tuple[float, Experiment | None, list[Arm]] | None = None


def shopper_key(*, user_id: int | None, visitor_id: str) -> str:
    """Who is assigned: the account when logged in, else the browser's visitor id."""
    return f"user:{user_id}" if user_id is not None else f"visitor:{visitor_id}"


def experiment_active() -> tuple[Experiment | None, list[Arm]]:
    """The active experiment and its arms, read at most every CSBOT_EXPERIMENTS_CACHE_S."""
    global _active
    now = time.monotonic()
    with _lock:
        if _active is not None and now - _active[0] < settings.CSBOT_EXPERIMENTS_CACHE_S:
            return _active[1], _active[2]
    experiment = Experiment.objects.filter(is_active=True).first()
    arms = list(experiment.arms.select_related("intent_model_version")) if experiment else []
    for arm in arms:
        arm.experiment = experiment
    with _lock:
        _active = (now, experiment, arms)
    return experiment, arms


def experiments_reset() -> None:
    """Forget the cached active experiment (after an admin change; tests)."""
    global _active
    with _lock:
        _active = None


def arm_for(*, shopper_key: str) -> Arm | None:
    """The active experiment's arm for this shopper, or None (no experiment, or the
    shares leave the shopper out)."""
    experiment, arms = experiment_active()
    if experiment is None:
        return None
    name = arm_pick(
        experiment=experiment.name,
        arms=[(arm.name, arm.percent) for arm in arms],
        shopper_key=shopper_key,
    )
    return next((arm for arm in arms if arm.name == name), None)


@dataclass(frozen=True)
class ArmMetrics:
    arm: str
    percent: int
    replies: int
    resolution_rate: float | None
    handoff_rate: float | None
    latency_p50_ms: int | None
    latency_p99_ms: int | None
    csat_avg: float | None
    csat_count: int
    feedback_count: int
    negative_feedback_rate: float | None


def _percentile(values: list[int], q: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def arm_metrics(*, experiment: Experiment, since: datetime | None = None) -> list[ArmMetrics]:
    """Per arm: replies, resolution and handoff rates, latency p50/p99, CSAT of the
    conversations the arm answered, and the share of negative feedback."""
    from conversations.models import Csat

    result: list[ArmMetrics] = []
    for arm in experiment.arms.all():
        rows = ArmReply.objects.filter(arm=arm)
        if since is not None:
            rows = rows.filter(created_at__gte=since)
        totals = rows.aggregate(
            replies=Count("pk"),
            resolved=Count("pk", filter=Q(resolved=True)),
            handoff=Count("pk", filter=Q(handoff=True)),
            feedback=Count("pk", filter=Q(message__helpful__isnull=False)),
            negative=Count("pk", filter=Q(message__helpful=False)),
        )
        latencies = list(rows.values_list("latency_ms", flat=True))
        csat = Csat.objects.filter(
            conversation_id__in=rows.values("conversation_id").distinct()
        ).aggregate(avg=Avg("score"), n=Count("pk"))
        n = totals["replies"]
        result.append(
            ArmMetrics(
                arm=arm.name,
                percent=arm.percent,
                replies=n,
                resolution_rate=totals["resolved"] / n if n else None,
                handoff_rate=totals["handoff"] / n if n else None,
                latency_p50_ms=_percentile(latencies, 0.5),
                latency_p99_ms=_percentile(latencies, 0.99),
                csat_avg=float(csat["avg"]) if csat["avg"] is not None else None,
                csat_count=csat["n"],
                feedback_count=totals["feedback"],
                negative_feedback_rate=(
                    totals["negative"] / totals["feedback"] if totals["feedback"] else None
                ),
            )
        )
    return result
