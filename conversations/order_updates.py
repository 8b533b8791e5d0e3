"""Order news in the chat: when an order's status changes, the owner's open chats get
an `order_update` frame and, where the bot holds the chat, a bot follow-up that makes
this order the one "it" refers to next. The wording is here in Chinese and English;
the facts come from the order row, never from here."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from catalog.models import Order
from conversations.dialogue.answers import order_card
from conversations.dialogue.state import state_load, state_save
from conversations.events import broadcast_on_commit, order_update_frame
from conversations.models import Conversation, Message
from conversations.store import message_store
from csbot import metrics

ORDER_INTENT = "consult.logistics.order_status"

# What happened to the order, told as news (the dialogue's own status words describe
# a state; these announce a change).
STATUS_NEWS: dict[str, tuple[str, str]] = {
    "pending_payment": ("已创建，等待付款", "has been placed and is waiting for payment"),
    "paid": ("已付款，我们正在备货", "is paid and being packed"),
    "shipped": ("已发货", "has shipped"),
    "delivered": ("已签收", "has been delivered"),
    "refunding": ("的退款已开始处理", "is being refunded"),
    "refunded": ("已退款，款项将原路退回", "has been refunded to the original payment method"),
    "cancelled": ("已取消", "has been cancelled"),
}

FOLLOW_UP: dict[str, tuple[str, str]] = {
    "shipped": ("您可以随时问我“到哪了”。", "Ask me “where is it?” any time."),
    "delivered": (
        "签收后 7 天内可无理由退货；如有问题请告诉我。",
        "You can return it within 7 days of receipt; tell me if anything is wrong.",
    ),
    "refunded": (
        "一般 1–3 个工作日到账。",
        "It usually arrives within 1–3 business days.",
    ),
}


def _pick(lang: str, pair: tuple[str, str]) -> str:
    return pair[0] if lang == "zh" else pair[1]


def order_update_text(*, order: Order, lang: str) -> str:
    """One line for the `order_update` frame: which order, what happened."""
    news = STATUS_NEWS.get(order.status, (order.status, order.status))
    if lang == "zh":
        return f"订单 {order.order_no} {news[0]}。"
    return f"Order {order.order_no} {news[1]}."


def order_follow_up_text(*, order: Order, lang: str) -> str:
    """The bot's message in the chat: the news, the tracking details when shipped,
    and what the shopper can do next."""
    news = STATUS_NEWS.get(order.status, (order.status, order.status))
    shipment = getattr(order, "shipment", None)
    if lang == "zh":
        text = f"您的订单 {order.order_no} {news[0]}。"
        if shipment is not None and order.status in ("shipped", "delivered"):
            text += f"承运快递：{shipment.carrier_name('zh')}，运单号 {shipment.tracking_no}。"
    else:
        text = f"Your order {order.order_no} {news[1]}."
        if shipment is not None and order.status in ("shipped", "delivered"):
            text += (
                f" Carrier: {shipment.carrier_name('en')}, tracking number {shipment.tracking_no}."
            )
    extra = FOLLOW_UP.get(order.status)
    if extra:
        text += ("" if lang == "zh" else " ") + _pick(lang, extra)
    return text


def order_update_announce(*, order_id: int) -> list[Message]:
    """Tell the owner's open chats that `order` changed: an `order_update` frame to
    each, and, where the bot holds the chat, a stored bot follow-up that makes this
    order the one "it" refers to next. Runs once the status change has committed
    (`Event.ORDER_STATUS_CHANGED`); frames go out after this write commits."""
    order = (
        Order.objects.select_related("shipment").prefetch_related("items__product").get(pk=order_id)
    )
    conversations = list(
        Conversation.objects.exclude(status=Conversation.Status.CLOSED)
        .filter(Q(user_id=order.user_id) | Q(verified_orders__order=order))
        .distinct()
        .order_by("pk")
    )
    with transaction.atomic():
        return _announce(order, conversations)


def _announce(order: Order, conversations: list[Conversation]) -> list[Message]:
    stored = []
    for conversation in conversations:
        lang = conversation.language if conversation.language in ("zh", "en") else "zh"
        broadcast_on_commit(
            conversation,
            order_update_frame(
                order_no=order.order_no,
                status=order.status,
                text=order_update_text(order=order, lang=lang),
            ),
        )
        metrics.order_updates_total.labels(status=order.status).inc()
        if conversation.status == Conversation.Status.AGENT:
            continue  # a person holds this chat: the frame informs, the bot stays quiet
        stored.append(
            message_store(
                conversation=conversation,
                sender=Message.Sender.BOT,
                text=order_follow_up_text(order=order, lang=lang),
                intent=ORDER_INTENT,
                confidence=1.0,
                language=lang,
                payload={"cards": [order_card(order, lang)], "order_update": order.order_no},
            )
        )
        public_id = conversation.public_id

        def remember(public_id: str = public_id) -> None:
            state = state_load(public_id)
            state.last_order = order.order_no
            state.remember_turn(role="bot", text=order.order_no, intent=ORDER_INTENT)
            state_save(public_id, state)

        transaction.on_commit(remember)
    return stored
