"""The manager dashboard: who may see it, and exact figures from known history."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from ops.dashboard import dashboard_compute
from ops.figures import percentile
from ops.tests.factories import ChatBuilder

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_store")]


def client_for(username: str | None) -> Client:
    client = Client()
    if username:
        client.force_login(get_user_model().objects.get(username=username))
    return client


def test_anonymous_is_sent_to_login():
    response = client_for(None).get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/dashboard/")


@pytest.mark.parametrize("username", ["alice", "agent1"])
def test_shoppers_and_agents_are_refused(username):
    response = client_for(username).get("/dashboard/")
    assert response.status_code == 403
    assert "Managers only" in response.content.decode()
    assert client_for(username).get("/dashboard/data/").status_code == 403


def test_manager_sees_the_page_with_charts_and_empty_state(manager_client):
    response = manager_client.get("/dashboard/?window=hour")
    assert response.status_code == 200
    html = response.content.decode()
    for needle in [
        'id="chart-qps"',
        'id="chart-latency"',
        'id="chart-errors"',
        'id="chart-intents"',
        "vendor/chart.js/chart.umd.min.js",
        "ops/dashboard.js",
        'id="dashboard-series" type="application/json"',
        "当前没有告警",
    ]:
        assert needle in html
    # No inline script: every <script> either loads a file or carries JSON data.
    assert html.count("<script") == html.count("<script src=") + html.count(
        'type="application/json"'
    )


def test_bad_window_is_refused(manager_client):
    assert manager_client.get("/dashboard/?window=year").status_code == 400
    response = manager_client.get("/dashboard/data/?window=year")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_window"


def test_percentile_is_nearest_rank():
    assert percentile([], 99) is None
    assert percentile([5.0], 99) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 99) == 99.0
    assert percentile(values, 50) == 50.0
    assert percentile(list(reversed(values)), 100) == 100.0


@pytest.fixture
def history():
    """Ten shopper messages in the last hour with known outcomes."""
    now = timezone.now().replace(microsecond=0)
    base = now - timedelta(minutes=30)
    chat = ChatBuilder(visitor="v-a")
    latencies = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    for i, latency in enumerate(latencies):
        q = chat.ask(f"运费多少 {i}", base + timedelta(minutes=i))
        chat.answer(q, after_s=latency, intent="consult.logistics.shipping_fee", arm="A")
    q = chat.ask("你们的老板是谁", base + timedelta(minutes=8))
    chat.answer(q, after_s=3.0, intent=None, arm="B")  # clarify: unresolved
    other = ChatBuilder(visitor="v-b", language="en")
    q = other.ask("this is broken!!", base + timedelta(minutes=9))
    other.answer(q, after_s=1.0, intent="complaint.product.quality", helpful=False, arm="B")
    other.hand_off(q)
    # In a chat an agent holds, no bot reply is expected; elsewhere it is an error.
    other.ask("are you there?", base + timedelta(minutes=9, seconds=30))
    ChatBuilder(visitor="v-c").ask("hello?", base + timedelta(minutes=10))
    chat.rate(4, base + timedelta(minutes=11))
    other.rate(1, base + timedelta(minutes=12))
    return now


def test_figures_over_the_hour(history):
    data = dashboard_compute(window="hour", now=history)
    h = data.headline
    assert (h.messages, h.replies) == (11, 9)
    assert h.qps == pytest.approx(11 / 3600)
    assert h.avg_latency_s == pytest.approx((0.1 + 0.2 + 0.3 + 0.4 + 0.5 + 0.6 + 0.7 + 3 + 1) / 9)
    assert h.p99_latency_s == pytest.approx(3.0)
    assert h.resolution_rate == pytest.approx(7 / 9)  # clarify and handed-off don't count
    assert h.handoff_rate == pytest.approx(1 / 3)  # one handoff, three conversations
    assert (h.csat, h.csat_count) == (pytest.approx(2.5), 2)
    assert (h.errors, h.error_rate) == (1, pytest.approx(1 / 11))
    assert data.intents == [
        {"intent": "consult.logistics.shipping_fee", "count": 7},
        {"intent": "(none)", "count": 1},
        {"intent": "complaint.product.quality", "count": 1},
    ]
    assert data.intents_level1[0] == {"intent": "consult", "count": 7}
    assert data.unresolved == [
        {"question": "this is broken!!", "lang": "en", "count": 1},
        {"question": "你们的老板是谁", "lang": "zh", "count": 1},
    ]
    # No experiment in the experiments app: arms named in reply payloads.
    assert data.arms["experiment"] is None
    arms = {a["arm"]: a for a in data.arms["arms"]}
    assert (arms["A"]["replies"], arms["A"]["resolution_rate"]) == (7, 1.0)
    assert (arms["B"]["replies"], arms["B"]["resolution_rate"], arms["B"]["negative_rate"]) == (
        2,
        0.0,
        1.0,
    )
    assert arms["B"]["p99_ms"] == 3000
    assert len(data.series["labels"]) == 12
    assert sum(round(q * 300) for q in data.series["qps"]) == 11


def test_messages_outside_the_window_do_not_count(history):
    data = dashboard_compute(window="hour", now=history + timedelta(hours=2))
    assert (data.headline.messages, data.headline.replies) == (0, 0)
    assert data.headline.error_rate is None and data.headline.p99_latency_s is None
    day = dashboard_compute(window="day", now=history + timedelta(hours=2))
    assert day.headline.messages == 11


def test_unresolved_links_prefill_faq_and_training_example_forms(history, manager_client):
    html = manager_client.get("/dashboard/?window=hour").content.decode()
    assert "你们的老板是谁" in html
    faq = "/admin/catalog/faqentry/add/?" + urlencode({"question_zh": "你们的老板是谁"})
    assert faq in html
    form = manager_client.get(faq)
    assert form.status_code == 200
    assert form.context["adminform"].form.initial["question_zh"] == "你们的老板是谁"
    example = "/admin/intents/trainingexample/add/?text=this+is+broken%21%21&amp;lang=en"
    example += "&amp;source=review"
    assert example in html
    form = manager_client.get(example.replace("&amp;", "&"))
    assert form.status_code == 200
    assert form.context["adminform"].form.initial["text"] == "this is broken!!"


def test_data_endpoint_is_cached(history, manager_client):
    first = manager_client.get("/dashboard/data/?window=hour").json()
    ChatBuilder(visitor="v-late").ask("later", timezone.now())
    assert manager_client.get("/dashboard/data/?window=hour").json() == first
    from django.core.cache import cache

    cache.clear()
    assert manager_client.get("/dashboard/data/?window=hour").json()["headline"]["messages"] == 12


def test_arms_come_from_the_experiments_app(history, manager_client):
    from conversations.models import Message
    from experiments.models import Arm, ArmReply, Experiment

    experiment = Experiment.objects.create(name="wording-test", is_active=True)
    template = Arm.objects.create(experiment=experiment, name="template", percent=50)
    model = Arm.objects.create(experiment=experiment, name="llm", percent=50)
    replies = list(Message.objects.filter(sender="bot").order_by("pk"))
    for i, reply in enumerate(replies):
        ArmReply.objects.create(
            arm=template if i % 2 == 0 else model,
            message=reply,
            conversation=reply.conversation,
            resolved=reply.intent is not None,
            handoff=False,
            latency_ms=100 * (i + 1),
            wording="template" if i % 2 == 0 else "model",
            created_at=reply.created_at,
        )
    data = dashboard_compute(window="hour", now=history)
    assert (data.arms["experiment"], data.arms["active"]) == ("wording-test", True)
    arms = {a["arm"]: a for a in data.arms["arms"]}
    assert (arms["template"]["replies"], arms["llm"]["replies"]) == (5, 4)
    assert arms["template"]["percent"] == 50
    html = manager_client.get("/dashboard/?window=hour").content.decode()
    assert '<span id="experiment-name">wording-test</span>' in html
    assert "template (50%)" in html and "llm (50%)" in html


def test_firing_alert_is_shown_in_both_languages(manager_client):
    now = timezone.now()
    chat = ChatBuilder(visitor="v-slow")
    for i in range(5):
        q = chat.ask(f"慢 {i}", now - timedelta(minutes=2, seconds=-i))
        chat.answer(q, after_s=2.5, intent="general.chat.greeting")
    html = manager_client.get("/dashboard/?window=hour").content.decode()
    assert 'data-rule="CsbotSlowReplies"' in html
    assert "5 分钟内 P99 回复延迟过高" in html
    assert "当前没有告警" not in html
    manager_client.cookies["django_language"] = "en"
    from django.core.cache import cache

    cache.clear()
    html = manager_client.get("/dashboard/?window=hour").content.decode()
    assert "P99 reply latency over 5 minutes is too high" in html
    assert "Service dashboard" in html
