"""What the bot says when an order changes on its own (not in reply to a question),
in Chinese and English. The facts come from the order row, never from here."""

from __future__ import annotations

from catalog.models import Order

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
