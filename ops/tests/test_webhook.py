"""POST /api/webhooks/order-status: signed with HMAC-SHA256 over the body; any bad
signature, replay, stale or malformed body is refused with a clear 4xx and no change."""

import json
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from catalog.models import Order, OrderStatusEvent, Shipment
from conversations.models import Message
from ops.models import WebhookDelivery
from ops.webhooks import webhook_signature

SECRET = "whsec-test-0123456789abcdef"
URL = "/api/webhooks/order-status"
ORDER = "DD202611030003"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("demo_store"),
]


def body(**overrides) -> bytes:
    data = {
        "event_id": "evt-000001",
        "sent_at": timezone.now().isoformat(),
        "order_no": ORDER,
        "status": "shipped",
        "carrier": "zto",
        "tracking_no": "ZT7788990011",
    }
    data.update(overrides)
    return json.dumps({k: v for k, v in data.items() if v is not None}).encode()


def post(raw: bytes, signature: str | None = "auto", client: Client | None = None):
    headers = {}
    if signature == "auto":
        signature = webhook_signature(secret=SECRET, body=raw)
    if signature is not None:
        headers["HTTP_X_CSBOT_SIGNATURE"] = signature
    return (client or Client()).post(URL, raw, content_type="application/json", **headers)


def snapshot() -> tuple:
    order = Order.objects.get(order_no=ORDER)
    return (
        order.status,
        OrderStatusEvent.objects.count(),
        Shipment.objects.filter(order=order).count(),
        WebhookDelivery.objects.count(),
        Message.objects.count(),
    )


@pytest.fixture(autouse=True)
def secret():
    with override_settings(CSBOT_ORDER_WEBHOOK_SECRET=SECRET):
        yield


@pytest.fixture
def bob_chat():
    """Bob's open chat, so the push has somewhere to go."""
    from django.contrib.auth import get_user_model

    from conversations.services import conversation_open
    from csbot.identity import Shopper

    bob = get_user_model().objects.get(username="bob")
    return conversation_open(
        shopper=Shopper(user=bob, visitor_id="v-bob"), channel="web", language="en"
    )


def test_signed_event_applies_the_change_and_tells_the_owner(
    bob_chat, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(body())
    assert response.status_code == 200
    assert response.json() == {
        "event_id": "evt-000001",
        "order_no": ORDER,
        "status": "shipped",
        "changed": True,
    }
    order = Order.objects.get(order_no=ORDER)
    assert order.status == "shipped"
    assert (order.shipment.carrier, order.shipment.tracking_no) == ("zto", "ZT7788990011")
    assert order.status_events.last().note == "webhook evt-000001"
    follow_up = Message.objects.get(conversation=bob_chat, sender="bot")
    assert follow_up.text == (
        f"Your order {ORDER} has shipped. Carrier: ZTO Express, tracking number "
        "ZT7788990011. Ask me “where is it?” any time."
    )


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=" + "0" * 64, "sha1=abc", webhook_signature(secret="other", body=body())],
)
def test_bad_signature_is_refused_and_nothing_changes(signature, bob_chat):
    before = snapshot()
    response = post(body(), signature=signature)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert snapshot() == before


def test_signature_over_a_different_body_is_refused(bob_chat):
    before = snapshot()
    signed = webhook_signature(secret=SECRET, body=body(status="delivered"))
    response = post(body(status="cancelled"), signature=signed)
    assert response.status_code == 401
    assert snapshot() == before


def test_replayed_event_is_refused_the_second_time(bob_chat):
    raw = body()
    assert post(raw).status_code == 200
    after_first = snapshot()
    response = post(raw)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "replayed"
    assert snapshot() == after_first


@pytest.mark.parametrize("age", [timedelta(minutes=6), -timedelta(minutes=6)])
def test_stale_or_future_event_is_refused(age, bob_chat):
    before = snapshot()
    response = post(body(sent_at=(timezone.now() - age).isoformat()))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "stale"
    assert snapshot() == before


@pytest.mark.parametrize(
    "raw, code, status",
    [
        (b"{not json", "bad_json", 400),
        (b"[]", "invalid_body", 400),
        (body(status="teleported"), "invalid_body", 400),
        (body(event_id="x"), "invalid_body", 400),
        (body(sent_at="2026-11-24T10:00:00"), "invalid_body", 400),  # no time zone
        (body(carrier="pigeon"), "invalid_body", 400),
        (body(extra="field"), "invalid_body", 400),
        (body(order_no="DD000000000000"), "unknown_order", 404),
        (b"x" * (17 * 1024), "too_large", 413),
    ],
)
def test_malformed_bodies_get_clear_errors_and_nothing_changes(raw, code, status, bob_chat):
    before = snapshot()
    response = post(raw)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert snapshot() == before


def test_invalid_body_names_the_field():
    response = post(body(status="teleported"))
    assert "status" in response.json()["error"]["message"]


def test_webhook_is_off_without_a_secret(bob_chat):
    before = snapshot()
    with override_settings(CSBOT_ORDER_WEBHOOK_SECRET=""):
        response = post(body(), signature=webhook_signature(secret="", body=body()))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_configured"
    assert snapshot() == before


def test_only_post_is_allowed():
    assert Client().get(URL).status_code == 405


def test_same_status_again_with_a_new_event_is_accepted_but_changes_nothing(bob_chat):
    assert post(body()).status_code == 200
    after_first = snapshot()
    response = post(body(event_id="evt-000002"))
    assert response.status_code == 200
    assert response.json()["changed"] is False
    status, events, shipments, deliveries, messages = snapshot()
    assert (status, events, shipments, messages) == (
        after_first[0],
        after_first[1],
        after_first[2],
        after_first[4],
    )
    assert deliveries == after_first[3] + 1


def test_deliveries_are_counted_by_result(bob_chat, django_capture_on_commit_callbacks):
    from prometheus_client import REGISTRY

    def count(result: str) -> float:
        return REGISTRY.get_sample_value("csbot_order_webhooks_total", {"result": result}) or 0.0

    def pushed() -> float:
        return REGISTRY.get_sample_value("csbot_order_updates_total", {"status": "shipped"}) or 0.0

    before = (count("accepted"), count("bad_signature"), pushed())
    post(body(), signature="sha256=" + "0" * 64)
    with django_capture_on_commit_callbacks(execute=True):
        post(body())
    assert (count("accepted"), count("bad_signature"), pushed()) == (
        before[0] + 1,
        before[1] + 1,
        before[2] + 1,
    )
