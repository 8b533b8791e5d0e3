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

# Words that point at a catalog category, in both languages (the categories are
# Product.Category values; a shop adding a category adds its words here).
CATEGORY_CUES: dict[str, tuple[str, ...]] = {
    "phone": ("手机", "phone", "smartphone", "mobile"),
    "audio": ("耳机", "降噪", "听歌", "音乐", "earbud", "headphone", "earphone", "music"),
    "accessory": ("充电", "配件", "charger", "charging", "accessor"),
    "shoes": ("鞋", "跑步", "跑鞋", "shoe", "sneaker", "running", "jogging"),
    "apparel": ("衣服", "t恤", "衣", "shirt", "tee", "clothes", "clothing"),
    "home": ("杯", "保温", "家居", "cup", "thermos", "bottle", "mug"),
    "wearable": ("手表", "心率", "健康", "watch", "fitness", "heart rate", "health"),
}
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

    picks: list[Product] = []
    if named is not None and named.in_stock and fits(named):
        picks.append(named)
    matched = named is not None or bool(categories) or budget is not None
    for product in products:
        if len(picks) >= MAX_PICKS:
            break
        if product in picks or not product.in_stock or not fits(product):
            continue
        if categories and product.category not in categories:
            continue
        picks.append(product)
    if not matched:
        picks = [p for p in products if p.in_stock][:MAX_PICKS]
    return Picks(products=picks, budget=budget, matched=matched)
