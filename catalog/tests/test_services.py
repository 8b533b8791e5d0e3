"""order_status_set: the order and its history change together, or not at all."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from catalog.models import Order, OrderStatusEvent
from catalog.services import order_status_set

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def paid_order(demo_store) -> Order:
    return Order.objects.get(order_no="DD202611030003")


def history(order: Order) -> list[tuple[str, str]]:
    return list(order.status_events.values_list("status", "note"))


def test_sets_status_and_appends_event(paid_order):
    at = datetime(2026, 11, 3, 15, 0, tzinfo=SHANGHAI)
    event = order_status_set(order=paid_order, status="shipped", note="packed", at=at)

    paid_order.refresh_from_db()
    assert paid_order.status == "shipped"
    assert (event.order_id, event.status, event.at, event.note) == (
        paid_order.pk,
        "shipped",
        at,
        "packed",
    )
    assert history(paid_order) == [("pending_payment", ""), ("paid", ""), ("shipped", "packed")]


def test_updates_the_passed_instance(paid_order):
    order_status_set(order=paid_order, status="cancelled")
    assert paid_order.status == "cancelled"


def test_unknown_status_is_refused_and_nothing_changes(paid_order):
    before = OrderStatusEvent.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        order_status_set(order=paid_order, status="teleported")
    assert excinfo.value.code == "invalid_status"
    paid_order.refresh_from_db()
    assert paid_order.status == "paid"
    assert OrderStatusEvent.objects.count() == before


def test_same_status_twice_records_once(paid_order):
    assert order_status_set(order=paid_order, status="shipped") is not None
    assert order_status_set(order=paid_order, status="shipped") is None
    assert [s for s, _ in history(paid_order)] == ["pending_payment", "paid", "shipped"]


def test_current_status_is_a_no_op(paid_order):
    assert order_status_set(order=paid_order, status="paid") is None
    assert [s for s, _ in history(paid_order)] == ["pending_payment", "paid"]


def test_delivered_stamps_delivery_date(demo_store):
    order = Order.objects.get(order_no="DD202611010001")
    at = datetime(2026, 11, 3, 9, 30, tzinfo=SHANGHAI)
    order_status_set(order=order, status="delivered", at=at)
    order.refresh_from_db()
    assert (order.status, order.delivered_at) == ("delivered", date(2026, 11, 3))


def test_delivered_keeps_an_existing_delivery_date(demo_store):
    order = Order.objects.get(order_no="DD202611020002")
    order_status_set(order=order, status="refunding")
    order_status_set(order=order, status="delivered")
    order.refresh_from_db()
    assert order.delivered_at == date(2026, 11, 5)


def test_first_status_of_a_new_order_is_recorded(demo_store):
    template = Order.objects.get(order_no="DD202611050005")
    order = Order.objects.create(
        order_no="DD202612010099",
        user=template.user,
        phone=template.phone,
        status="pending_payment",
        subtotal=template.subtotal,
        total=template.total,
        created_at=template.created_at,
    )
    event = order_status_set(order=order, status="pending_payment")
    assert event is not None
    assert [s for s, _ in history(order)] == ["pending_payment"]
