"""Alert rules: the database evaluation, its history and webhook, and the Prometheus
rules file naming the same thresholds."""

import json
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from ops.alerts import RULES, alerts_active, alerts_check, alerts_evaluate, rule_firing
from ops.models import AlertEvent
from ops.tests.factories import ChatBuilder

pytestmark = pytest.mark.django_db
RULES_FILE = Path(settings.BASE_DIR) / "deploy" / "prometheus" / "alerts.yml"


@pytest.mark.parametrize(
    "value, threshold, firing",
    [
        (None, 0.05, False),
        (0.0, 0.05, False),
        (0.05, 0.05, False),
        (0.0501, 0.05, True),
        (2.0, 2.0, False),
        (2.001, 2.0, True),
    ],
)
def test_rule_fires_only_strictly_above(value, threshold, firing):
    assert rule_firing(value=value, threshold=threshold) is firing


def traffic(now, *, answered: int, unanswered: int, latency_s: float):
    chat = ChatBuilder(visitor="v-alert")
    for i in range(answered):
        q = chat.ask(f"q{i}", now - timedelta(minutes=4, seconds=-i))
        chat.answer(q, after_s=latency_s, intent="general.chat.greeting")
    for i in range(unanswered):
        ChatBuilder(visitor=f"v-lost-{i}").ask("lost", now - timedelta(minutes=3))


def by_rule(results):
    return {r.rule: r for r in results}


def test_quiet_service_fires_nothing():
    results = by_rule(alerts_evaluate())
    assert results["CsbotHighErrorRate"].value is None
    assert not any(r.firing for r in results.values())


def test_error_rate_above_five_percent_fires():
    now = timezone.now()
    traffic(now, answered=18, unanswered=2, latency_s=0.1)  # 2/20 = 10%
    results = by_rule(alerts_evaluate(now=now))
    assert results["CsbotHighErrorRate"].value == pytest.approx(0.1)
    assert results["CsbotHighErrorRate"].firing
    assert not results["CsbotSlowReplies"].firing


def test_error_rate_at_five_percent_does_not_fire():
    now = timezone.now()
    traffic(now, answered=19, unanswered=1, latency_s=0.1)  # exactly 5%
    assert not by_rule(alerts_evaluate(now=now))["CsbotHighErrorRate"].firing


def test_slow_p99_fires_and_old_traffic_is_ignored():
    now = timezone.now()
    traffic(now, answered=10, unanswered=0, latency_s=2.5)
    results = by_rule(alerts_evaluate(now=now))
    assert results["CsbotSlowReplies"].value == pytest.approx(2.5)
    assert results["CsbotSlowReplies"].firing
    # Ten minutes later the 5-minute window no longer holds it.
    assert not any(r.firing for r in alerts_evaluate(now=now + timedelta(minutes=10)))


def test_threshold_is_a_setting():
    now = timezone.now()
    traffic(now, answered=10, unanswered=0, latency_s=2.5)
    with override_settings(CSBOT_ALERT_P99_S=3.0):
        assert not by_rule(alerts_evaluate(now=now))["CsbotSlowReplies"].firing


class _Hook(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):  # noqa: N802
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook():
    _Hook.received = []
    _Hook.status = 200
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with override_settings(CSBOT_ALERT_WEBHOOK_URL=f"http://127.0.0.1:{server.server_port}/hook"):
        yield _Hook
    server.shutdown()


def test_check_opens_notifies_once_and_resolves(hook):
    now = timezone.now()
    traffic(now, answered=10, unanswered=0, latency_s=2.5)
    open_ = alerts_check(now=now)
    assert [(e.rule, e.value, e.threshold, e.notified) for e in open_] == [
        ("CsbotSlowReplies", pytest.approx(2.5), 2.0, True)
    ]
    assert [m["alert"] for m in hook.received] == ["CsbotSlowReplies"]
    assert hook.received[0]["threshold"] == 2.0
    assert hook.received[0]["summary_zh"] == RULES["CsbotSlowReplies"].summary_zh

    # Still firing a minute later: no second event, no second notification.
    alerts_check(now=now + timedelta(seconds=30))
    assert AlertEvent.objects.count() == 1 and len(hook.received) == 1
    active = alerts_active(now=now + timedelta(seconds=30))
    assert [(a.rule, a.since) for a in active] == [("CsbotSlowReplies", now.isoformat())]

    # Quiet again: the event is resolved.
    assert alerts_check(now=now + timedelta(minutes=10)) == []
    event = AlertEvent.objects.get()
    assert event.resolved_at == now + timedelta(minutes=10)


def test_failed_webhook_still_records_the_alert(hook):
    hook.status = 500
    now = timezone.now()
    traffic(now, answered=10, unanswered=0, latency_s=2.5)
    alerts_check(now=now)
    event = AlertEvent.objects.get()
    assert (event.rule, event.notified) == ("CsbotSlowReplies", False)


def test_prometheus_rules_parse_and_name_the_same_thresholds():
    doc = yaml.safe_load(RULES_FILE.read_text())
    rules = {r["alert"]: r for group in doc["groups"] for r in group["rules"]}
    assert set(rules) == set(RULES)
    for name, rule in RULES.items():
        expr = rules[name]["expr"]
        threshold = float(re.search(r">\s*([0-9.]+)\s*$", expr.strip()).group(1))
        assert threshold == rule.threshold
        assert float(rules[name]["labels"]["threshold"]) == rule.threshold
    assert "[5m]" in rules["CsbotHighErrorRate"]["expr"]
    assert re.search(r"histogram_quantile\(\s*0\.99,", rules["CsbotSlowReplies"]["expr"])
    assert "csbot_reply_latency_seconds_bucket[5m]" in rules["CsbotSlowReplies"]["expr"]
