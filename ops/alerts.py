"""Alert rules, evaluated from the database over the last 5 minutes: the same two
rules `deploy/prometheus/alerts.yml` gives Prometheus (error rate > 5%, P99 reply
latency > 2 s), so alerts work with or without a Prometheus server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

ALERT_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class AlertRule:
    name: str
    setting: str  # the setting that holds the threshold
    unit: str
    summary_zh: str
    summary_en: str

    @property
    def threshold(self) -> float:
        return float(getattr(settings, self.setting))


RULES: dict[str, AlertRule] = {
    rule.name: rule
    for rule in (
        AlertRule(
            name="CsbotHighErrorRate",
            setting="CSBOT_ALERT_ERROR_RATE",
            unit="ratio",
            summary_zh="5 分钟内未得到答复的消息比例过高",
            summary_en="Share of shopper messages left unanswered over 5 minutes is too high",
        ),
        AlertRule(
            name="CsbotSlowReplies",
            setting="CSBOT_ALERT_P99_S",
            unit="seconds",
            summary_zh="5 分钟内 P99 回复延迟过高",
            summary_en="P99 reply latency over 5 minutes is too high",
        ),
    )
}


@dataclass(frozen=True)
class AlertResult:
    rule: str
    value: float | None
    threshold: float
    firing: bool
    unit: str
    summary_zh: str
    summary_en: str
    since: str | None = None


def rule_firing(*, value: float | None, threshold: float) -> bool:
    """A rule fires when its value is known and strictly above the threshold
    (as `> threshold` in the Prometheus rules); no traffic fires nothing."""
    return value is not None and value > threshold


def alerts_evaluate(*, now: datetime | None = None) -> list[AlertResult]:
    """Both rules' current values over the last 5 minutes, and whether each fires."""
    from ops.selectors import headline_compute

    now = now or timezone.now()
    headline = headline_compute(start=now - ALERT_WINDOW, end=now)
    values = {
        "CsbotHighErrorRate": headline.error_rate,
        "CsbotSlowReplies": headline.p99_latency_s,
    }
    return [
        AlertResult(
            rule=name,
            value=values[name],
            threshold=rule.threshold,
            firing=rule_firing(value=values[name], threshold=rule.threshold),
            unit=rule.unit,
            summary_zh=rule.summary_zh,
            summary_en=rule.summary_en,
        )
        for name, rule in RULES.items()
    ]


def alerts_active(*, now: datetime | None = None) -> list[AlertResult]:
    """The rules firing now, with when they started (from the alert history kept by
    the periodic check, when it has run)."""
    from ops.models import AlertEvent

    started = dict(
        AlertEvent.objects.filter(resolved_at__isnull=True).values_list("rule", "started_at")
    )
    out = []
    for result in alerts_evaluate(now=now):
        if result.firing:
            since = started.get(result.rule)
            out.append(
                AlertResult(**{**result.__dict__, "since": since.isoformat() if since else None})
            )
    return out
