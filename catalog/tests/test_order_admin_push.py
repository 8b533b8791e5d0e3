"""An order status changed in the admin reaches the owner's open chat, with the
shipment entered in the same save already named in the follow-up."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from catalog.models import Order
from conversations.models import Message
from conversations.services import conversation_open
from csbot.identity import Shopper

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_store")]


def form_data(response) -> dict:
    """The change form's current values, main form and inlines, as a browser would post them."""
    data = {}
    form = response.context["adminform"].form
    for name in form.fields:
        value = form[name].value()
        if value is not None:
            data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for sub in formset.forms:
            for name in sub.fields:
                value = sub[name].value()
                if value is not None:
                    data[sub.add_prefix(name)] = value
    return {k: v for k, v in data.items() if v != ""}


def test_admin_status_change_with_new_shipment_pushes_one_follow_up(
    django_capture_on_commit_callbacks,
):
    admin = Client()
    admin.force_login(get_user_model().objects.get(username="admin"))
    bob = get_user_model().objects.get(username="bob")
    chat = conversation_open(
        shopper=Shopper(user=bob, visitor_id="v-bob"), channel="web", language="zh"
    )
    order = Order.objects.get(order_no="DD202611030003")
    url = f"/admin/catalog/order/{order.pk}/change/"
    data = form_data(admin.get(url))
    data["status"] = "shipped"
    data["created_at_0"], data["created_at_1"] = "2026-11-03", "10:00:00"
    data["shipment-TOTAL_FORMS"] = "1"
    data.update(
        {
            "shipment-0-carrier": "sf",
            "shipment-0-tracking_no": "SF2468013579",
            "shipment-0-shipped_at_0": "2026-11-24",
            "shipment-0-shipped_at_1": "10:00:00",
        }
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    order.refresh_from_db()
    assert order.status == "shipped"
    assert list(order.status_events.values_list("status", "note"))[-1] == (
        "shipped",
        "admin: admin",
    )
    texts = list(
        Message.objects.filter(conversation=chat, sender="bot").values_list("text", flat=True)
    )
    assert texts == [
        "您的订单 DD202611030003 已发货。承运快递：顺丰速运，运单号 SF2468013579。"
        "您可以随时问我“到哪了”。"
    ]


def test_admin_save_without_status_change_pushes_nothing():
    admin = Client()
    admin.force_login(get_user_model().objects.get(username="admin"))
    order = Order.objects.get(order_no="DD202611030003")
    bob = get_user_model().objects.get(username="bob")
    chat = conversation_open(
        shopper=Shopper(user=bob, visitor_id="v-bob"), channel="web", language="zh"
    )
    url = f"/admin/catalog/order/{order.pk}/change/"
    data = form_data(admin.get(url))
    data["region"] = "上海"
    data["created_at_0"], data["created_at_1"] = "2026-11-03", "10:00:00"
    response = admin.post(url, data)
    assert response.status_code == 302
    assert not Message.objects.filter(conversation=chat).exists()
