"""The catalog admin: pages render, and a status edit appends to the history."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils.timezone import localtime

from catalog.models import Order


@pytest.fixture
def admin_client_(demo_store) -> Client:
    client = Client()
    user = get_user_model().objects.create_superuser("root", password="x-root-pass")
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/catalog/product/",
        "/admin/catalog/product/?q=x5",
        "/admin/catalog/product/?in_stock=no",
        "/admin/catalog/product/?in_stock=yes&category=phone",
        "/admin/catalog/order/",
        "/admin/catalog/order/?q=13800138000",
        "/admin/catalog/order/?status=shipped",
        "/admin/catalog/storepolicy/",
    ],
)
def test_changelists_render(admin_client_, url):
    assert admin_client_.get(url).status_code == 200


def test_out_of_stock_filter(admin_client_):
    response = admin_client_.get("/admin/catalog/product/?in_stock=no")
    assert [p.sku for p in response.context["cl"].result_list] == ["XH-X5L"]


def test_order_search_by_phone(admin_client_):
    response = admin_client_.get("/admin/catalog/order/?q=13900139000")
    assert sorted(o.order_no for o in response.context["cl"].result_list) == [
        "DD202611030003",
        "DD202611040004",
    ]


def _change_form_data(order: Order, **changes) -> dict:
    item = order.items.get()
    data = {
        "order_no": order.order_no,
        "user": order.user_id,
        "phone": order.phone,
        "status": order.status,
        "subtotal": order.subtotal,
        "shipping_fee": order.shipping_fee,
        "total": order.total,
        "region": order.region,
        "created_at_0": localtime(order.created_at).strftime("%Y-%m-%d"),
        "created_at_1": localtime(order.created_at).strftime("%H:%M:%S"),
        "delivered_at": "",
        "items-TOTAL_FORMS": 1,
        "items-INITIAL_FORMS": 1,
        "items-0-id": item.pk,
        "items-0-order": order.pk,
        "items-0-product": item.product_id,
        "items-0-quantity": item.quantity,
        "items-0-unit_price": item.unit_price,
        "shipment-TOTAL_FORMS": 0,
        "shipment-INITIAL_FORMS": 0,
        "status_events-TOTAL_FORMS": 0,
        "status_events-INITIAL_FORMS": 0,
    }
    data.update(changes)
    return data


def test_status_change_in_admin_appends_event(admin_client_):
    order = Order.objects.get(order_no="DD202611030003")
    url = reverse("admin:catalog_order_change", args=[order.pk])
    response = admin_client_.post(url, _change_form_data(order, status="cancelled"))
    assert response.status_code == 302, response.context["adminform"].form.errors

    order.refresh_from_db()
    assert order.status == "cancelled"
    assert list(order.status_events.values_list("status", "note")) == [
        ("pending_payment", ""),
        ("paid", ""),
        ("cancelled", "admin: root"),
    ]


def test_other_edits_leave_the_history_alone(admin_client_):
    order = Order.objects.get(order_no="DD202611030003")
    url = reverse("admin:catalog_order_change", args=[order.pk])
    response = admin_client_.post(url, _change_form_data(order, region="杭州"))
    assert response.status_code == 302

    order.refresh_from_db()
    assert (order.region, order.status) == ("杭州", "paid")
    assert list(order.status_events.values_list("status", flat=True)) == ["pending_payment", "paid"]
