"""Slot extraction: the concrete things a question is about.

Order number, phone last four, product, region and amount, read from the
normalised text. Product names come from the catalog (names, SKUs, aliases),
so a product added in the admin is recognised without a code change.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from catalog.models import Product

ORDER_NO = re.compile(r"(?<![a-z0-9])dd\s?(\d{12})(?!\d)", re.IGNORECASE)
MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?(\d{4})(?!\d)")
FOUR_DIGITS = re.compile(r"(?<![\d.])(\d{4})(?![\d.])")
LAST4_CUE = re.compile(r"尾号|后四位|后4位|last\s*(?:four|4)|ending (?:in|with)")
AMOUNT = re.compile(
    r"[¥￥]\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*(?:元|块|rmb|yuan|cny)"
    r"|(?:满|买了?|order of|spend|spending|worth)\s*[¥￥]?\s*(\d+(?:\.\d+)?)"
)
REGIONS = {
    "新疆": "新疆",
    "xinjiang": "新疆",
    "西藏": "西藏",
    "tibet": "西藏",
    "xizang": "西藏",
    "北京": "北京",
    "beijing": "北京",
    "上海": "上海",
    "shanghai": "上海",
    "广州": "广东",
    "广东": "广东",
    "guangzhou": "广东",
    "guangdong": "广东",
    "深圳": "广东",
    "shenzhen": "广东",
    "杭州": "浙江",
    "浙江": "浙江",
    "hangzhou": "浙江",
    "成都": "四川",
    "四川": "四川",
    "chengdu": "四川",
    "内蒙古": "内蒙古",
    "青海": "青海",
    "甘肃": "甘肃",
    "宁夏": "宁夏",
}

_PRODUCT_INDEX_TTL_S = 30.0
_product_index: tuple[float, list[tuple[str, str]]] | None = None


@dataclass
class Slots:
    order_no: str | None = None
    phone_last4: str | None = None
    product: str | None = None  # SKU
    product_mention: str | None = None  # the words that named it
    region: str | None = None
    amount: Decimal | None = None

    def as_dict(self) -> dict[str, str]:
        return {
            k: str(v) for k, v in self.__dict__.items() if v is not None and k != "product_mention"
        }


def product_index() -> list[tuple[str, str]]:
    """(needle, sku) pairs, longest needle first; rebuilt every 30 s so admin
    edits to names and aliases are picked up without a restart."""
    global _product_index
    now = time.monotonic()
    if _product_index is not None and now - _product_index[0] < _PRODUCT_INDEX_TTL_S:
        return _product_index[1]
    pairs: set[tuple[str, str]] = set()
    for sku, name_zh, name_en, aliases in Product.objects.filter(is_active=True).values_list(
        "sku", "name_zh", "name_en", "aliases"
    ):
        for needle in [sku, name_zh, name_en, *aliases.split(",")]:
            needle = " ".join(needle.lower().split())
            if len(needle) >= 2:
                pairs.add((needle, sku))
    index = sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)
    _product_index = (now, index)
    return index


def product_index_reset() -> None:
    global _product_index
    _product_index = None


def _contains_word(text: str, needle: str) -> bool:
    if needle.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(needle)}(?![a-z0-9])", text) is not None
    return needle in text


def extract(text: str, *, expecting_last4: bool = False) -> Slots:
    """Slots found in normalised text. `expecting_last4` means the bot just asked
    for the phone's last four digits, so a bare 4-digit number is taken as them."""
    slots = Slots()
    order = ORDER_NO.search(text)
    if order:
        slots.order_no = "DD" + order.group(1)
    rest = ORDER_NO.sub(" ", text)
    mobile = MOBILE.search(rest)
    if mobile:
        slots.phone_last4 = mobile.group(1)
    elif expecting_last4 or LAST4_CUE.search(rest):
        four = FOUR_DIGITS.search(rest)
        if four:
            slots.phone_last4 = four.group(1)
    for needle, sku in product_index():
        if _contains_word(text, needle):
            slots.product = sku
            slots.product_mention = needle
            break
    for needle, region in REGIONS.items():
        if _contains_word(text, needle):
            slots.region = region
            break
    amount = AMOUNT.search(rest)
    if amount:
        raw = next(group for group in amount.groups() if group)
        try:
            slots.amount = Decimal(raw)
        except InvalidOperation:
            slots.amount = None
    return slots
