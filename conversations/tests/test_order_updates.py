"""Order push: a status change reaches the owner's open chats at once, as an
`order_update` frame and a stored bot follow-up, from the service and the admin."""

import pytest
from channels.db import database_sync_to_async

from catalog.models import Order, OrderStatusEvent
from catalog.services import order_status_set
from conversations.dialogue.state import state_load
from conversations.models import Conversation, Message, VerifiedOrder
from ops.tests.conftest import say, shopper_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("demo_store")]

BOB_PAID = "DD202611030003"


@database_sync_to_async
def ship(order_no: str, tracking: str = "SF5550001111"):
    order = Order.objects.get(order_no=order_no)
    return order_status_set(order=order, status="shipped", shipment=("sf", tracking))


@database_sync_to_async
def bot_messages(public_id: str) -> list[tuple[int, str, str | None]]:
    return list(
        Message.objects.filter(conversation__public_id=public_id, sender="bot")
        .order_by("seq")
        .values_list("seq", "text", "intent")
    )


async def test_owner_chat_gets_frame_then_follow_up_with_tracking():
    comm, hello = await shopper_socket(username="bob")
    other, _ = await shopper_socket(username="alice")

    await ship(BOB_PAID)

    assert await comm.receive_json_from(timeout=5) == {
        "type": "order_update",
        "order_no": BOB_PAID,
        "status": "shipped",
        "text": f"订单 {BOB_PAID} 已发货。",
    }
    bot = await comm.receive_json_from(timeout=5)
    expected = (
        f"您的订单 {BOB_PAID} 已发货。承运快递：顺丰速运，运单号 SF5550001111。"
        "您可以随时问我“到哪了”。"
    )
    assert (bot["type"], bot["seq"], bot["text"], bot["intent"], bot["reply_to"]) == (
        "bot",
        1,
        expected,
        "consult.logistics.order_status",
        None,
    )
    assert bot["cards"][0]["order_no"] == BOB_PAID
    assert bot["cards"][0]["tracking_no"] == "SF5550001111"
    assert await bot_messages(hello["conversation_id"]) == [
        (1, expected, "consult.logistics.order_status")
    ]
    assert state_load(hello["conversation_id"]).last_order == BOB_PAID
    # Alice owns no part of this order: her chat hears nothing.
    assert await other.receive_nothing(timeout=0.3)
    await comm.disconnect()
    await other.disconnect()


async def test_english_chat_gets_english_wording():
    comm, hello = await shopper_socket(username="bob", lang="en")
    assert hello["language"] == "en"
    await ship(BOB_PAID, "SF1112223334")
    frame = await comm.receive_json_from(timeout=5)
    assert frame["text"] == f"Order {BOB_PAID} has shipped."
    bot = await comm.receive_json_from(timeout=5)
    assert bot["text"] == (
        f"Your order {BOB_PAID} has shipped. Carrier: SF Express, tracking number "
        "SF1112223334. Ask me “where is it?” any time."
    )
    await comm.disconnect()


async def test_follow_up_is_part_of_the_dialogue_and_a_resume_replays_it():
    comm, hello = await shopper_socket(username="bob")
    await ship(BOB_PAID)
    await comm.receive_json_from(timeout=5)  # order_update
    await comm.receive_json_from(timeout=5)  # bot follow-up, seq 1
    frames = await say(comm, "你好", "m-1")
    assert [f["type"] for f in frames] == ["ack", "bot"]
    assert frames[0]["seq"] == 2 and frames[-1]["seq"] == 3
    await comm.disconnect()

    # A reconnect that missed everything gets the stored follow-up back (the frame is live only).
    again, _ = await shopper_socket(username="bob")
    await again.send_json_to(
        {"type": "resume", "conversation_id": hello["conversation_id"], "after_seq": 0}
    )
    replayed = await again.receive_json_from(timeout=5)
    assert replayed["type"] == "bot" and replayed["seq"] == 1
    assert BOB_PAID in replayed["text"]
    await again.disconnect()


@database_sync_to_async
def set_status(public_id: str, status: str) -> None:
    Conversation.objects.filter(public_id=public_id).update(status=status)


async def test_agent_held_chat_gets_the_frame_but_no_bot_message():
    comm, hello = await shopper_socket(username="bob")
    await set_status(hello["conversation_id"], Conversation.Status.AGENT)
    await ship(BOB_PAID)
    frame = await comm.receive_json_from(timeout=5)
    assert frame["type"] == "order_update"
    assert await comm.receive_nothing(timeout=0.3)
    assert await bot_messages(hello["conversation_id"]) == []
    await comm.disconnect()


async def test_closed_chat_hears_nothing():
    comm, hello = await shopper_socket(username="bob")
    await set_status(hello["conversation_id"], Conversation.Status.CLOSED)
    await ship(BOB_PAID)
    assert await comm.receive_nothing(timeout=0.3)
    assert await bot_messages(hello["conversation_id"]) == []
    await comm.disconnect()


@database_sync_to_async
def verify(public_id: str, order_no: str) -> None:
    VerifiedOrder.objects.create(
        conversation=Conversation.objects.get(public_id=public_id),
        order=Order.objects.get(order_no=order_no),
    )


async def test_anonymous_visitor_who_verified_the_order_is_told():
    comm, hello = await shopper_socket()
    await verify(hello["conversation_id"], BOB_PAID)
    await ship(BOB_PAID)
    assert (await comm.receive_json_from(timeout=5))["type"] == "order_update"
    assert (await comm.receive_json_from(timeout=5))["type"] == "bot"
    await comm.disconnect()


async def test_repeating_the_same_status_pushes_nothing_more():
    comm, hello = await shopper_socket(username="bob")
    await ship(BOB_PAID)
    await comm.receive_json_from(timeout=5)
    await comm.receive_json_from(timeout=5)
    assert await ship(BOB_PAID) is None
    assert await comm.receive_nothing(timeout=0.3)
    assert len(await bot_messages(hello["conversation_id"])) == 1
    await comm.disconnect()


def test_unknown_carrier_is_refused_and_nothing_changes():
    from django.core.exceptions import ValidationError

    order = Order.objects.get(order_no=BOB_PAID)
    before = OrderStatusEvent.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        order_status_set(order=order, status="shipped", shipment=("pigeon", "P1"))
    assert excinfo.value.code == "invalid_carrier"
    order.refresh_from_db()
    assert order.status == "paid"
    assert OrderStatusEvent.objects.count() == before
    assert not Message.objects.filter(sender="bot").exists()


async def test_next_question_is_answered_about_the_pushed_order():
    comm, _ = await shopper_socket(username="bob")
    await ship(BOB_PAID, "SF5550001111")
    await comm.receive_json_from(timeout=5)
    await comm.receive_json_from(timeout=5)
    # "Can I change the address?" names no order: the bot takes the one it just announced.
    frames = await say(comm, "可以改地址吗", "m-addr")
    reply = frames[-1]
    assert reply["intent"] == "after_sales.logistics.change_address"
    assert reply["text"].startswith(
        f"订单 {BOB_PAID} 当前状态：已发货。承运快递：顺丰速运，运单号 SF5550001111。"
    )
    await comm.disconnect()
