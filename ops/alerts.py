"""Alert rules (the same two as the Prometheus rules in deploy/), evaluated from the
database over the last five minutes: their state for the dashboard, and the periodic
check that opens and resolves alert events and notifies the webhook."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from csbot import metrics
from ops.figures import headline_compute
from ops.models import AlertEvent

log = logging.getLogger(__name__)


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


def alerts_check(*, now: datetime | None = None) -> list[AlertEvent]:
    """Evaluate the alert rules on the last 5 minutes, open an event for each rule that
    starts firing (notifying the webhook, when set) and resolve those that stopped.
    Returns the open events."""
    now = now or timezone.now()
    results = alerts_evaluate(now=now)
    firing = {r.rule: r for r in results if r.firing}
    opened: list[AlertEvent] = []
    with transaction.atomic():
        open_events = {e.rule: e for e in AlertEvent.objects.filter(resolved_at__isnull=True)}
        for rule, event in open_events.items():
            if rule not in firing:
                event.resolved_at = now
                event.save(update_fields=["resolved_at"])
        for rule, result in firing.items():
            if rule in open_events:
                continue
            assert result.value is not None  # a rule fires only with a value
            event = AlertEvent.objects.create(
                rule=rule, value=result.value, threshold=result.threshold, started_at=now
            )
            opened.append(event)
    for event in opened:
        metrics.alerts_opened_total.labels(rule=event.rule).inc()
        if alert_notify(event=event):
            AlertEvent.objects.filter(pk=event.pk).update(notified=True)
    return list(AlertEvent.objects.filter(resolved_at__isnull=True))


def alert_notify(*, event: AlertEvent) -> bool:
    """POST the alert to CSBOT_ALERT_WEBHOOK_URL (when set). Best effort: a failed
    notification is logged, and the alert still shows on the dashboard."""
    url = settings.CSBOT_ALERT_WEBHOOK_URL
    if not url:
        return False
    rule = RULES[event.rule]
    payload = {
        "alert": event.rule,
        "summary": rule.summary_en,
        "summary_zh": rule.summary_zh,
        "value": event.value,
        "threshold": event.threshold,
        "started_at": event.started_at.isoformat(),
    }
    try:
        response = httpx.post(url, json=payload, timeout=settings.CSBOT_ALERT_WEBHOOK_TIMEOUT_S)
        response.raise_for_status()
    except httpx.HTTPError:
        log.warning("alert webhook %s failed", url, exc_info=True)
        return False
    return True
