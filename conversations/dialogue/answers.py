"""Wording: turns facts fetched by the policy into a reply in the shopper's language.

No fact lives here. Prices, stock, dates and rules come from catalog rows and
StorePolicy texts and data, so an admin edit changes the next answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from catalog.models import Order, Product, StorePolicy

POLICY_FOR_LABEL = {
    "consult.logistics.shipping_fee": "shipping_fee",
    "consult.logistics.delivery_time": "dispatch",
    "consult.payment.methods": "payment_methods",
    "consult.payment.installment": "installment",
    "consult.payment.invoice": "invoice",
    "after_sales.product.return": "returns",
    "after_sales.product.exchange": "exchange",
    "after_sales.product.warranty": "warranty",
    "after_sales.logistics.change_address": "change_address",
    "after_sales.logistics.lost_damaged": "exchange",
    "after_sales.payment.refund_status": "refund",
    "after_sales.payment.price_protection": "price_protection",
}

ORDER_STATUS_TEXT = {
    "pending_payment": ("待付款", "waiting for payment"),
    "paid": ("已付款，等待发货", "paid and waiting to be shipped"),
    "shipped": ("已发货", "shipped"),
    "delivered": ("已签收", "delivered"),
    "refunding": ("退款处理中", "being refunded"),
    "refunded": ("已退款", "refunded"),
    "cancelled": ("已取消", "cancelled"),
}

SPEC_CUES: dict[str, list[str]] = {
    "wireless_charging": ["无线充", "无线快充", "wireless"],
    "wired_charging": ["有线", "快充", "充电功率", "wired", "fast charg"],
    "screen": ["屏幕", "屏", "screen", "display"],
    "battery": ["电池", "毫安", "battery", "mah"],
    "battery_life": ["续航", "多久", "battery life", "hours"],
    "storage": ["内存", "存储", "容量", "storage", "gb"],
    "colors": ["颜色", "配色", "color", "colour"],
    "sizes": ["尺码", "码数", "尺寸", "size"],
    "weight": ["重量", "多重", "克", "weight", "heavy", "weigh"],
    "anc": ["降噪", "noise"],
    "bluetooth": ["蓝牙", "bluetooth"],
    "water_resistance": ["防水", "waterproof", "water resist", "ipx", "atm"],
    "material": ["材质", "面料", "棉", "material", "cotton", "fabric"],
    "insulation": ["保温", "保冷", "keep warm", "keeps drinks", "hot"],
    "health_sensors": ["心率", "血氧", "heart", "spo2", "oxygen"],
}


@dataclass
class Reply:
    text: str
    suggestions: list[str] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)


def t(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def money(amount: Decimal | int | float) -> str:
    value = Decimal(str(amount))
    if value == value.to_integral_value():
        return f"¥{value.quantize(Decimal(1))}"
    return f"¥{value.quantize(Decimal('0.01'))}"


def product_card(product: Product, lang: str) -> dict[str, Any]:
    return {
        "kind": "product",
        "sku": product.sku,
        "name": product.name(lang),
        "price": money(product.price),
        "stock": product.stock,
        "restock_date": product.restock_date.isoformat() if product.restock_date else None,
        "url": f"/products/{product.sku}/",
    }


def order_card(order: Order, lang: str) -> dict[str, Any]:
    shipment = getattr(order, "shipment", None)
    return {
        "kind": "order",
        "order_no": order.order_no,
        "status": order.status,
        "status_text": t(lang, *ORDER_STATUS_TEXT.get(order.status, (order.status,) * 2)),
        "carrier": shipment.carrier_name(lang) if shipment else None,
        "tracking_no": shipment.tracking_no if shipment else None,
        "total": money(order.total),
        "items": [
            {"name": item.product.name(lang), "quantity": item.quantity}
            for item in order.items.all()
        ],
    }


# --- Products ---------------------------------------------------------------


def product_price(product: Product, lang: str) -> Reply:
    text = t(
        lang,
        f"{product.name_zh} 售价 {money(product.price)}。",
        f"The {product.name_en} costs {money(product.price)}.",
    )
    return Reply(text=text, cards=[product_card(product, lang)])


def product_stock(product: Product, lang: str) -> Reply:
    if product.stock > 0:
        text = t(
            lang,
            f"{product.name_zh} 有现货，目前库存 {product.stock} 件，下单即可发货。",
            f"The {product.name_en} is in stock ({product.stock} available).",
        )
    elif product.restock_date:
        date = product.restock_date
        text = t(
            lang,
            f"{product.name_zh} 暂时缺货，预计 {date.year}年{date.month}月{date.day}日 补货。",
            f"The {product.name_en} is out of stock; restock expected on {date.isoformat()}.",
        )
    else:
        text = t(
            lang,
            f"{product.name_zh} 暂时缺货，补货时间还没有确定。",
            f"The {product.name_en} is out of stock and no restock date is set yet.",
        )
    return Reply(text=text, cards=[product_card(product, lang)])


APPAREL_ORDER = ["XS", "S", "M", "L", "XL", "XXL", "XXXL"]
_RANGE = re.compile(r"(\d+|XS|S|M|L|XL|XXL|XXXL)\s*[–~-]\s*(\d+|XS|S|M|L|XL|XXL|XXXL)")


def _size_in_range(size: str, spec_text: str) -> bool | None:
    """Whether `size` lies in a range such as "36–45" or "S–XXL" (None: no range)."""
    size = {"2XL": "XXL", "3XL": "XXXL"}.get(size, size)
    match = _RANGE.search(spec_text.upper())
    if not match:
        return None
    low, high = match.groups()
    if low.isdigit() and high.isdigit():
        return size.isdigit() and int(low) <= int(size) <= int(high)
    if low in APPAREL_ORDER and high in APPAREL_ORDER and size in APPAREL_ORDER:
        return APPAREL_ORDER.index(low) <= APPAREL_ORDER.index(size) <= APPAREL_ORDER.index(high)
    return False


def variant_note(product: Product, lang: str, *, size: str | None, colour: str | None) -> str:
    """A sentence on the size or colour asked about, from the product's specs."""
    notes = []
    sizes = product.spec("sizes")
    if size and sizes:
        fits = _size_in_range(size, sizes["en"])
        if fits is not None:
            notes.append(
                t(
                    lang,
                    f"{size} 码在可选尺码内（{sizes['zh']}）。",
                    f"Size {size} is available ({sizes['en']}).",
                )
                if fits
                else t(
                    lang,
                    f"没有 {size} 码，可选{sizes['zh']}。",
                    f"There is no size {size}; {sizes['en'].lower()}.",
                )
            )
    colours = product.spec("colors")
    if colour and colours:
        names_en = [c.strip() for c in colours["en"].split(",")]
        names_zh = [c.strip() for c in re.split(r"[、,，/]", colours["zh"])]
        if colour in names_en:
            zh_name = names_zh[names_en.index(colour)] if len(names_zh) == len(names_en) else ""
            notes.append(t(lang, f"有{zh_name}可选。", f"It comes in {colour}."))
        else:
            notes.append(
                t(
                    lang,
                    f"没有这个颜色，可选{colours['zh']}。",
                    f"It doesn't come in {colour}; colours: {colours['en']}.",
                )
            )
    return ("" if lang == "zh" else " ").join(notes)


def spec_keys_asked(text: str) -> list[str]:
    return [key for key, cues in SPEC_CUES.items() if any(cue in text for cue in cues)]


def product_spec(product: Product, lang: str, asked_keys: list[str]) -> Reply:
    found = [item for key in asked_keys if (item := product.spec(key))]
    if found:
        facts = (
            "；".join(item["zh"] for item in found)
            if lang == "zh"
            else "; ".join(item["en"] for item in found)
        )
        text = t(lang, f"{product.name_zh}：{facts}。", f"{product.name_en}: {facts}.")
    elif asked_keys:
        listed = product.specs
        facts = (
            "；".join(i["zh"] for i in listed)
            if lang == "zh"
            else "; ".join(i["en"] for i in listed)
        )
        text = t(
            lang,
            f"{product.name_zh} 的参数里没有这一项。它的主要参数：{facts}。",
            f"The {product.name_en}'s specs don't list that. Its main specs: {facts}.",
        )
    else:
        facts = (
            "；".join(i["zh"] for i in product.specs)
            if lang == "zh"
            else "; ".join(i["en"] for i in product.specs)
        )
        text = t(
            lang, f"{product.name_zh} 主要参数：{facts}。", f"{product.name_en} specs: {facts}."
        )
    return Reply(text=text, cards=[product_card(product, lang)])


def product_recommend(
    products: list[Product], lang: str, *, budget: Decimal | None = None
) -> Reply:
    if not products and budget is not None:
        return Reply(
            text=t(
                lang,
                f"抱歉，{money(budget)} 以内暂时没有合适的商品。"
                "您可以放宽预算，或告诉我想要哪类商品。",
                f"Sorry, nothing suitable is in stock within {money(budget)}. You could raise the "
                "budget or tell me what kind of product you are after.",
            )
        )
    if not products:
        return Reply(
            text=t(
                lang,
                "抱歉，暂时没有符合您要求的在售商品。您可以告诉我想要哪类商品。",
                "Sorry, nothing in stock matches that right now. Tell me what kind of product "
                "you are after and I will look again.",
            )
        )
    names = (
        "、".join(f"{p.name_zh}（{money(p.price)}{_restock_note(p, lang)}）" for p in products)
        if lang == "zh"
        else ", ".join(f"{p.name_en} ({money(p.price)}{_restock_note(p, lang)})" for p in products)
    )
    text = t(lang, f"为您推荐：{names}。", f"You might like: {names}.")
    return Reply(text=text, cards=[product_card(p, lang) for p in products])


def _restock_note(product: Product, lang: str) -> str:
    if product.in_stock:
        return ""
    if product.restock_date is None:
        return t(lang, "，暂时缺货", ", out of stock")
    date = product.restock_date
    return t(
        lang,
        f"，暂时缺货，预计{date.month}月{date.day}日补货",
        f", out of stock until {date.isoformat()}",
    )


def product_compare(
    products: list[Product], lang: str, asked_keys: list[str], *, focus: str | None = None
) -> Reply:
    """Products side by side from their catalog facts: price, stock, and the specs asked
    about (all of them when none is named; none for a price or stock question), then
    which is cheaper and by how much."""
    lines = []
    for product in products:
        chosen = [item for key in asked_keys if (item := product.spec(key))]
        if not chosen and focus not in ("consult.product.price", "consult.product.stock"):
            chosen = product.specs
        facts = ("；" if lang == "zh" else "; ").join(item[lang] for item in chosen)
        stock = (
            t(lang, "有现货", "in stock")
            if product.in_stock
            else _restock_note(product, lang).lstrip("，, ")
        )
        lines.append(
            t(
                lang,
                f"· {product.name_zh}：{money(product.price)}，{stock}"
                + (f"；{facts}" if facts else ""),
                f"- {product.name_en}: {money(product.price)}, {stock}"
                + (f"; {facts}" if facts else ""),
            )
        )
    by_price = sorted(products, key=lambda p: p.price)
    if len(by_price) >= 2 and by_price[0].price < by_price[-1].price:
        low, high = by_price[0], by_price[-1]
        gap = money(high.price - low.price)
        lines.append(
            t(
                lang,
                f"{low.name_zh} 最便宜，比 {high.name_zh} 便宜 {gap}。",
                f"The {low.name_en} is the cheapest, {gap} less than the {high.name_en}.",
            )
        )
    head = t(lang, "为您对比如下：", "Here they are side by side:")
    return Reply(text="\n".join([head, *lines]), cards=[product_card(p, lang) for p in products])


def who_i_am(lang: str, shop_name: str) -> Reply:
    """The bot says what it is: the shop's automated assistant, with people on offer."""
    return Reply(
        text=t(
            lang,
            f"我是{shop_name}的智能客服助手（AI），可以回答商品、运费、订单和售后问题；"
            "需要真人客服时，随时说“转人工”。",
            f"I'm {shop_name}'s virtual assistant (an AI bot). I can help with products, "
            "shipping, orders and after-sales; say “talk to a human” any time for a person.",
        ),
        suggestions=[t(lang, "转人工", "Talk to a human")],
    )


def not_carried(item: str, lang: str, *, product: bool) -> Reply:
    """The honest answer for a thing the shop does not sell (or a topic it has no facts
    on), with a person on offer."""
    if product:
        text = t(
            lang,
            f"抱歉，我们目前没有销售{item}。您可以问问店里在售的商品，或转人工客服。",
            f"Sorry, we don't sell {item} at the moment. Ask me about what we do carry, "
            "or talk to a human agent.",
        )
    else:
        text = t(
            lang,
            f"抱歉，关于「{item}」我这里没有相关信息，无法为您确认。如需帮助可以转人工客服。",
            f"Sorry, I don't have any information about {item}, so I can't confirm that. "
            "A human agent can help if you like.",
        )
    return Reply(text=text, suggestions=[t(lang, "转人工", "Talk to a human")])


def ask_product(label: str, products: list[Product], lang: str) -> Reply:
    return Reply(
        text=t(lang, "请问您想了解哪款商品？", "Which product would you like to know about?"),
        suggestions=[p.name(lang) for p in products[:4]],
    )


# --- Policies ---------------------------------------------------------------


def policy_answer(policy: StorePolicy, lang: str) -> Reply:
    return Reply(text=policy.text(lang))


def shipping_fee(
    policy: StorePolicy, lang: str, *, amount: Decimal | None, region: str | None
) -> Reply:
    data = policy.data
    remote_zh = data.get("remote_regions_zh", [])
    text = policy.text(lang)
    if region and region in remote_zh:
        region_en = dict(zip(remote_zh, data.get("remote_regions_en", []), strict=False))
        extra = t(
            lang,
            f"寄往{region}的运费是 {money(data['remote_fee'])}。",
            f"Shipping to {region_en.get(region, region)} costs {money(data['remote_fee'])}.",
        )
        return Reply(text=f"{text} {extra}" if lang == "en" else text + extra)
    if amount is not None and "free_threshold" in data:
        if amount >= Decimal(str(data["free_threshold"])):
            extra = t(
                lang,
                f"您的订单 {money(amount)} 可以包邮。",
                f"An order of {money(amount)} ships free.",
            )
        else:
            short = Decimal(str(data["free_threshold"])) - amount
            extra = t(
                lang,
                f"您的订单 {money(amount)} 需付运费 {money(data['base_fee'])}，"
                f"再买 {money(short)} 即可包邮。",
                f"An order of {money(amount)} pays {money(data['base_fee'])} shipping; "
                f"add {money(short)} more to ship free.",
            )
        return Reply(text=f"{text} {extra}" if lang == "en" else text + extra)
    return Reply(text=text)


# --- Orders -----------------------------------------------------------------


def order_status(order: Order, lang: str) -> Reply:
    status_zh, status_en = ORDER_STATUS_TEXT.get(order.status, (order.status, order.status))
    shipment = getattr(order, "shipment", None)
    text = t(
        lang,
        f"订单 {order.order_no} 当前状态：{status_zh}。",
        f"Order {order.order_no} is {status_en}.",
    )
    if shipment and order.status in {"shipped", "delivered"}:
        text += t(
            lang,
            f"承运快递：{shipment.carrier_name('zh')}，运单号 {shipment.tracking_no}。",
            f" Carrier: {shipment.carrier_name('en')}, tracking number {shipment.tracking_no}.",
        )
    if order.delivered_at and order.status == "delivered":
        d = order.delivered_at
        text += t(
            lang, f"签收日期：{d.year}年{d.month}月{d.day}日。", f" Delivered on {d.isoformat()}."
        )
    return Reply(text=text, cards=[order_card(order, lang)])


def ask_order_details(lang: str, *, need_order_no: bool, need_last4: bool) -> Reply:
    if need_order_no and need_last4:
        text = t(
            lang,
            "为保护您的隐私，请提供订单号（以 DD 开头）和下单手机号的后四位。",
            "To protect your privacy, please give me the order number (starting with DD) "
            "and the last four digits of the phone number on the order.",
        )
    elif need_order_no:
        text = t(
            lang,
            "请提供您的订单号（以 DD 开头）。",
            "Please give me your order number (starting with DD).",
        )
    else:
        text = t(
            lang,
            "请再提供下单手机号的后四位，用于核实身份。",
            "Please also give me the last four digits of the phone number on the order.",
        )
    return Reply(text=text)


def order_not_verified(lang: str) -> Reply:
    # The same words whether the order is missing or the phone is wrong: reveal nothing.
    return Reply(
        text=t(
            lang,
            "抱歉，没能用这组订单号和手机尾号核实到订单，请检查后重新输入。",
            "Sorry, I couldn't verify an order with that order number and phone digits. "
            "Please check them and try again.",
        )
    )


def verification_locked(lang: str) -> Reply:
    return Reply(
        text=t(
            lang,
            "核实失败次数过多，订单查询已暂时锁定。我为您转接人工客服协助处理。",
            "Too many failed verification attempts, so order lookup is locked for a while. "
            "I'm passing you to a human agent who can help.",
        )
    )


def orders_list(orders: list[Order], lang: str) -> Reply:
    if not orders:
        return Reply(text=t(lang, "您的账户下还没有订单。", "You have no orders yet."))
    text = t(lang, "这是您最近的订单：", "Here are your recent orders:")
    return Reply(text=text, cards=[order_card(order, lang) for order in orders])


# --- Small talk, handoff, fallback -----------------------------------------

LABEL_QUESTIONS: dict[str, tuple[str, str]] = {
    "consult.product.price": ("商品价格是多少", "How much does it cost?"),
    "consult.product.stock": ("商品有货吗", "Is it in stock?"),
    "consult.product.spec": ("商品参数是什么", "What are the specs?"),
    "consult.product.recommend": ("有什么推荐", "What do you recommend?"),
    "consult.logistics.shipping_fee": ("运费怎么算", "How much is shipping?"),
    "consult.logistics.delivery_time": ("多久能到货", "How long does delivery take?"),
    "consult.logistics.order_status": ("查询订单状态", "Where is my order?"),
    "consult.payment.methods": ("支持哪些支付方式", "Which payment methods can I use?"),
    "consult.payment.installment": ("可以分期付款吗", "Can I pay in installments?"),
    "consult.payment.invoice": ("怎么开发票", "How do I get an invoice?"),
    "after_sales.product.return": ("怎么退货", "How do I return an item?"),
    "after_sales.product.exchange": ("怎么换货", "How do I exchange an item?"),
    "after_sales.product.warranty": ("保修政策是什么", "What is the warranty?"),
    "after_sales.logistics.change_address": ("能修改收货地址吗", "Can I change the address?"),
    "after_sales.logistics.lost_damaged": ("包裹丢失或破损怎么办", "My parcel is lost or damaged"),
    "after_sales.logistics.urge": ("能催一下发货吗", "Can you hurry my order?"),
    "after_sales.payment.refund_status": ("退款多久到账", "When will I get my refund?"),
    "after_sales.payment.price_protection": (
        "降价了能保价吗",
        "The price dropped, can I get the difference?",
    ),
    "general.chat.human": ("转人工", "Talk to a human"),
}


def label_question(label: str, lang: str) -> str | None:
    """A question that means `label`, offered as a suggestion when the bot is unsure."""
    pair = LABEL_QUESTIONS.get(label)
    return None if pair is None else t(lang, *pair)


STARTER_QUESTIONS = {
    "zh": ["运费怎么算", "星河 X5 多少钱", "查询订单状态", "怎么退货"],
    "en": [
        "How much is shipping?",
        "How much is the Xinghe X5?",
        "Where is my order?",
        "How do I return an item?",
    ],
}


def greeting(lang: str, shop_name: str) -> Reply:
    return Reply(
        text=t(
            lang,
            f"您好，欢迎光临{shop_name}！我是智能客服，可以帮您查商品、运费、订单和售后政策。",
            f"Hello and welcome to {shop_name}! I can help with products, shipping, "
            "orders and after-sales policies.",
        ),
        suggestions=STARTER_QUESTIONS[lang],
    )


def thanks(lang: str) -> Reply:
    return Reply(text=t(lang, "不客气，还有其他问题随时问我。", "You're welcome! Ask me anytime."))


def goodbye(lang: str) -> Reply:
    return Reply(text=t(lang, "感谢光临，祝您购物愉快，再见！", "Thanks for visiting. Goodbye!"))


def handoff_notice(
    lang: str, hours: StorePolicy | None, *, complaint: bool, on_duty: bool = True
) -> Reply:
    """The bot's words when a chat goes to the queue. Outside agent hours it promises
    no one at once; the handoff service then asks for a message and a contact."""
    opening = t(
        lang,
        "非常抱歉给您带来不好的体验。" if complaint else "",
        "I'm sorry about this experience. " if complaint else "",
    )
    text = opening + (
        t(
            lang,
            "正在为您转接人工客服，请稍候。",
            "I'm connecting you to a human agent; please hold on.",
        )
        if on_duty
        else t(
            lang,
            "已为您登记人工客服。",
            "I've put your chat in the queue for a human agent.",
        )
    )
    if hours is not None:
        text += (" " if lang == "en" else "") + hours.text(lang)
    return Reply(text=text)


def not_sure(lang: str, candidates: list[str]) -> Reply:
    return Reply(
        text=t(
            lang,
            "抱歉，我不太确定您的意思。您可以换个说法，或者选择下面的问题；也可以转人工客服。",
            "Sorry, I'm not sure what you mean. You can rephrase, pick a question below, "
            "or talk to a human agent.",
        ),
        suggestions=[*candidates[:3], t(lang, "转人工", "Talk to a human")],
    )
