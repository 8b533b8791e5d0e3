"""Writes for experiments: activation (one at a time, shares adding to 100) and the
per-reply rows the metrics are computed from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from csbot.cache import SHOP_FACTS, generation_bump_on_commit
from experiments.models import Arm, ArmReply, Experiment


def experiment_activate(*, experiment: Experiment) -> Experiment:
    """Make this the one active experiment; refused (nothing changes) unless it has
    arms whose shares add up to 100."""
    arms = list(experiment.arms.all())
    total = sum(arm.percent for arm in arms)
    if not arms or total != 100:
        raise ValidationError(
            f"arms' shares must add up to 100 (now {total}) / 各组占比之和须为 100（当前 {total}）"
        )
    with transaction.atomic():
        Experiment.objects.filter(is_active=True).exclude(pk=experiment.pk).update(is_active=False)
        experiment.is_active = True
        experiment.save(update_fields=["is_active", "updated_at"])
    generation_bump_on_commit(SHOP_FACTS)  # every process reads the change within seconds
    return experiment


def experiment_deactivate(*, experiment: Experiment) -> Experiment:
    experiment.is_active = False
    experiment.save(update_fields=["is_active", "updated_at"])
    generation_bump_on_commit(SHOP_FACTS)
    return experiment


@dataclass(frozen=True)
class ReplyRecord:
    """One bot reply given under an arm, as the reply pipeline saw it."""

    arm: Arm
    message_id: int
    conversation_id: int
    resolved: bool
    handoff: bool
    latency_ms: int
    wording: str


def arm_replies_record(*, records: Sequence[ReplyRecord]) -> int:
    """Store the rows the per-arm metrics come from; a reply recorded twice (a
    redelivered task) is stored once. Returns how many were given."""
    ArmReply.objects.bulk_create(
        [
            ArmReply(
                arm=r.arm,
                message_id=r.message_id,
                conversation_id=r.conversation_id,
                resolved=r.resolved,
                handoff=r.handoff,
                latency_ms=max(0, r.latency_ms),
                wording=r.wording,
            )
            for r in records
        ],
        ignore_conflicts=True,
    )
    return len(records)
