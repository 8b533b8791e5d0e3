"""Recommendations: which products fit what the shopper asked for.

A named product comes first (with others of its kind), then products whose category
the question points at ("running", "耳机", "a gift for mum"), within a budget when one
is given ("500以内", "under ¥300"); products out of stock are left out.
With no cue at all, the first in-stock products of the catalog are offered. Every
fact (names, prices, stock, categories) comes from the catalog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from catalog.models import Product
from catalog.selectors import product_list
from conversations.dialogue.slots import products_in

# Words that point at a catalog category, in both languages (the categories are
# Product.Category values; a shop adding a category adds its words here).
CATEGORY_CUES: dict[str, tuple[str, ...]] = {
    "phone": ("手机", "phone", "smartphone", "mobile"),
    "audio": (
        "耳机", "耳塞", "降噪", "听歌", "音乐", "earbud", "headphone", "earphone", "music",
        "listen", "noise cancel", "podcast",
    ),
    "accessory": ("充电", "配件", "charger", "charging", "accessor"),
    "shoes": (
        "鞋", "跑步", "跑鞋", "跑者", "马拉松", "慢跑", "shoe", "sneaker", "run", "jog",
        "marathon",
    ),
    "apparel": ("衣服", "t恤", "衣", "shirt", "tee", "clothes", "clothing", "wear"),
    "home": (
        "杯", "保温", "家居", "热水", "咖啡", "喝茶", "cup", "thermos", "bottle", "mug", "coffee",
        "tea", "hot drink", "keep drinks", "drinks hot",
    ),
    "wearable": (
        "手表", "心率", "健康", "血氧", "睡眠", "watch", "fitness", "heart rate", "health",
        "spo2", "sleep",
    ),
}  # fmt: skip
# Cues shared by several categories: sport suits shoes and watches.
SHARED_CUES: dict[str, tuple[str, ...]] = {
    "运动": ("shoes", "wearable"),
    "健身": ("shoes", "wearable"),
    "sport": ("shoes", "wearable"),
    "workout": ("shoes", "wearable"),
    "gym": ("shoes", "wearable"),
}
BUDGET = re.compile(
    r"[¥￥]?\s*(\d+(?:\.\d+)?)\s*(?:元|块|rmb|yuan)?\s*(?:以内|以下|之内|左右)"
    r"|(?:under|below|less than|within|up to|budget(?: of| is)?|不超过|预算)"
    r"\s*[¥￥]?\s*(\d+(?:\.\d+)?)"
)
MAX_PICKS = 3
CHEAPEST = re.compile(r"最便宜|最实惠|便宜点|便宜的|cheapest|least expensive|lowest price|budget")
# Things a shopper may ask a shop for that are not products (an honest "no information"
# rather than "we don't sell that").
NOT_PRODUCTS = (
    "券", "优惠", "折扣", "打折", "活动", "促销", "实体店", "门店", "线下", "店铺", "会员", "积分",
    "礼品卡", "包装", "价", "套餐", "赠品", "coupon", "voucher", "discount", "promo", "sale",
    "store", "shop", "member", "points", "gift card", "deal", "event", "price", "bundle",
    "free gift",
)  # fmt: skip
# Brands and product lines that shoppers name; asked about, they are not in the catalog
# unless a product's name says so.
_FOREIGN = re.compile(
    r"(iphone|ipad|macbook|airpods|apple watch|galaxy|pixel|kindle|switch|ps5|xbox|"
    r"苹果|华为|小米|三星|索尼|vivo|oppo|荣耀|戴森|dyson|sony|samsung|huawei|xiaomi)"
    r"(?:\s?[a-z0-9]{1,6}(?:\s?(?:pro|max|plus|ultra|mini))?)?"
)


@dataclass(frozen=True)
class Picks:
    products: list[Product]
    budget: Decimal | None  # the budget read from the question, if any
    matched: bool  # the question pointed at something (a product, category or budget)


def budget_in(text: str) -> Decimal | None:
    match = BUDGET.search(text)
    if not match:
        return None
    try:
        return Decimal(next(group for group in match.groups() if group))
    except InvalidOperation:
        return None


def foreign_brand(text: str) -> str | None:
    """A brand or product line the text names ("iphone 15", "华为手机"), as written."""
    match = _FOREIGN.search(text)
    return match.group(0).strip() if match else None


def is_product_word(item: str) -> bool:
    """Whether a thing asked for reads as a product (not a coupon, a store, an event)."""
    return not any(word in item for word in NOT_PRODUCTS)


def sells(item: str) -> bool:
    """Whether the shop carries what `item` names: a product's name, alias or
    description mentions it, or it points at a category the shop has products in."""
    item = item.strip().lower()
    if not item:
        return False
    if foreign_brand(item) is None and products_in(item):
        return True
    products = list(product_list())
    categories = {p.category for p in products}
    if _categories_in(item) & categories:
        return True
    if foreign_brand(item) is not None:
        return any(item in p.name_zh.lower() or item in p.name_en.lower() for p in products)
    item = re.sub(r"(?:的|款)$", "", item)
    return any(
        item in text.lower()
        for p in products
        for text in (
            p.name_zh,
            p.name_en,
            p.aliases,
            p.description_zh,
            p.description_en,
            " ".join(f"{spec['zh']} {spec['en']}" for spec in p.specs),
        )
    )


_NEED = re.compile(
    r"推荐|有什么|有啥|有哪些|想要|想买|需要|适合|送给?|礼物|最便宜|以内|预算|"
    r"\b(?:recommend|suggest|what do you have|anything|something|need|looking for|want|"
    r"gift|cheapest|under|budget|good for)\b"
)


def asks_for_products(text: str) -> bool:
    """A request for suggestions that the catalog can meet: a need or budget cue, and a
    category or a budget to fit."""
    return bool(_NEED.search(text)) and bool(_categories_in(text) or budget_in(text))


def _categories_in(text: str) -> set[str]:
    found = {
        category
        for category, cues in CATEGORY_CUES.items()
        if any(_has_cue(text, cue) for cue in cues)
    }
    for cue, categories in SHARED_CUES.items():
        if _has_cue(text, cue):
            found.update(categories)
    return found


def _has_cue(text: str, cue: str) -> bool:
    if cue.isascii():
        return re.search(rf"(?<![a-z]){re.escape(cue)}", text) is not None
    return cue in text


def recommend(*, text: str, products: list[Product], named_sku: str | None) -> Picks:
    """Up to three products for this question, best fit first."""
    budget = budget_in(text)
    categories = _categories_in(text)
    named = next((p for p in products if p.sku == named_sku), None)
    if named is not None:
        categories.add(named.category)

    def fits(product: Product) -> bool:
        return budget is None or product.price <= budget

    cheapest = bool(CHEAPEST.search(text))
    # In stock first; a product coming back (with a restock date) after them, so a
    # shopper whose need only it meets still hears of it.
    ranked = sorted(
        (p for p in products if p.in_stock or p.restock_date),
        key=lambda p: (not p.in_stock, p.price if cheapest else 0),
    )
    picks: list[Product] = []
    if named is not None and fits(named) and (named.in_stock or named.restock_date):
        picks.append(named)
    matched = named is not None or bool(categories) or budget is not None
    for product in ranked:
        if len(picks) >= MAX_PICKS:
            break
        if product in picks or not fits(product):
            continue
        if categories and product.category not in categories:
            continue
        if not product.in_stock and picks and not cheapest:
            continue  # an in-stock fit is there: no need to offer a missing one
        picks.append(product)
    if cheapest and picks:
        picks.sort(key=lambda p: p.price)
    if not matched:
        picks = [p for p in products if p.in_stock][:MAX_PICKS]
    return Picks(products=picks, budget=budget, matched=matched)
