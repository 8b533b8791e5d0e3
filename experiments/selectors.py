"""Reads for experiments: the shopper's arm (the active experiment is kept per process
and follows the shop facts) and per-arm metrics for the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from csbot.cache import Derived
from experiments.assignment import arm_pick
from experiments.models import Arm, ArmReply, Experiment


def shopper_key(*, user_id: int | None, visitor_id: str) -> str:
    """Who is assigned: the account when logged in, else the browser's visitor id."""
    return f"user:{user_id}" if user_id is not None else f"visitor:{visitor_id}"


def _active_build() -> tuple[Experiment | None, list[Arm]]:
    experiment = Experiment.objects.filter(is_active=True).first()
    if experiment is None:
        return None, []
    arms = list(experiment.arms.select_related("intent_model_version"))
    for arm in arms:
        arm.experiment = experiment
    return experiment, arms


# Activation, deactivation and admin saves bump the shop facts once they commit.
_active: Derived[tuple[Experiment | None, list[Arm]]] = Derived("experiments.active", _active_build)


def experiment_active() -> tuple[Experiment | None, list[Arm]]:
    """The active experiment and its arms, as this process last read them: a change
    reaches every process within a second or two (`csbot.cache.SHOP_FACTS`)."""
    return _active.get()


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
    conversations the arm answered, and the share of negative feedback. CSAT is read
    through the replies' conversations (one score a conversation, however many replies)."""
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
        scores = dict(
            rows.filter(conversation__csat__isnull=False).values_list(
                "conversation_id", "conversation__csat__score"
            )
        )
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
                csat_avg=sum(scores.values()) / len(scores) if scores else None,
                csat_count=len(scores),
                feedback_count=totals["feedback"],
                negative_feedback_rate=(
                    totals["negative"] / totals["feedback"] if totals["feedback"] else None
                ),
            )
        )
    return result
