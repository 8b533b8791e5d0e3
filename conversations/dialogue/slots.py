"""Slot extraction: the concrete things a question is about.

Order number, phone last four, product, region and amount, read from the
normalised text. Product names come from the catalog (names, SKUs, aliases),
so a product added in the admin is recognised without a code change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from rapidfuzz import fuzz, process

from catalog.models import Product
from csbot.cache import Derived

ORDER_NO = re.compile(r"(?<![a-z0-9])dd\s?(\d{12})(?!\d)", re.IGNORECASE)
MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?(\d{4})(?!\d)")
FOUR_DIGITS = re.compile(r"(?<![\d.])(\d{4})(?![\d.])")
LAST4_CUE = re.compile(r"尾号|后四位|后4位|last\s*(?:four|4)|ending (?:in|with)")
AMOUNT = re.compile(
    r"[¥￥]\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*(?:元|块|rmb|yuan|cny)"
    r"|(?:满|买了?|order of|spend|spending|worth)\s*[¥￥]?\s*(\d+(?:\.\d+)?)"
)
SHOE_SIZE = re.compile(
    r"(?<!\d)(3[4-9]|4[0-8])\s*(?:码|號|号|yards?)|(?:size|尺码|码数)\s*(3[4-9]|4[0-8])(?!\d)"
)
APPAREL_SIZE = re.compile(
    r"(?<![a-z])(xxxl|xxl|xl|xs|s|m|l|2xl|3xl)\s*(?:码|號|号)|(?:size|尺码|码)\s*(xxxl|xxl|xl|xs|s|m|l|2xl|3xl)(?![a-z])"
    # Sizes of two or more letters read as sizes on their own ("XXXL呢"); S, M, L do not.
    r"|(?<![a-z0-9])(xxxl|xxl|xl|xs|2xl|3xl)(?![a-z0-9])"
)
COLOURS = {
    "黑": "black",
    "black": "black",
    "白": "white",
    "white": "white",
    "蓝": "blue",
    "blue": "blue",
    "红": "red",
    "red": "red",
    "绿": "green",
    "green": "green",
    "灰": "grey",
    "grey": "grey",
    "gray": "grey",
    "粉": "pink",
    "pink": "pink",
    "紫": "purple",
    "purple": "purple",
    "黄": "yellow",
    "yellow": "yellow",
    "银": "silver",
    "silver": "silver",
    "金": "gold",
    "gold": "gold",
}
COLOUR_CONTEXT = re.compile(
    r"色|颜色|款|colou?r|(?:black|white|blue|red|green|gr[ae]y|pink|purple|yellow|silver|gold)(?:\s|$|\?|!|,)"
)
FUZZY_MIN_ASCII = 90
FUZZY_MIN_CJK = 83
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


@dataclass(frozen=True)
class _Needle:
    """One way of naming a product, prepared once per index build: English needles
    match as whole words, Chinese ones as substrings."""

    text: str
    sku: str
    ascii: bool


@dataclass(frozen=True)
class _ProductIndex:
    """The needles, longest first, and one pattern that finds every needle in a text in
    a single scan: a lookahead at each position captures the longest needle starting
    there (alternatives are tried longest first), so overlapping names are all seen."""

    needles: list[_Needle]
    pattern: re.Pattern[str] | None
    rank: dict[str, int]  # needle text -> its first place in `needles`
    fuzzy: list[_Needle]  # the needles long enough to be matched despite a typo

    def exact(self, text: str) -> _Needle | None:
        """The first needle (in index order) that the text contains."""
        if self.pattern is None:
            return None
        found = {m.group(1) for m in self.pattern.finditer(text)}
        if not found:
            return None
        return self.needles[min(self.rank[f] for f in found)]


def _needle_regex(needle: _Needle) -> str:
    if needle.ascii:
        return rf"(?<![a-z0-9]){re.escape(needle.text)}(?![a-z0-9])"
    return re.escape(needle.text)


def _words_regex(words: dict[str, str]) -> re.Pattern[str]:
    """One pattern for a table of cue words: English ones whole-word, Chinese ones
    anywhere; a match's text is the key back into the table."""
    parts = [
        rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])" if w.isascii() else re.escape(w)
        for w in sorted(words, key=len, reverse=True)
    ]
    return re.compile("|".join(parts))


@dataclass
class Slots:
    order_no: str | None = None
    phone_last4: str | None = None
    product: str | None = None  # SKU
    product_mention: str | None = None  # the words that named it
    region: str | None = None
    amount: Decimal | None = None
    size: str | None = None
    colour: str | None = None  # canonical English colour word

    def as_dict(self) -> dict[str, str]:
        return {
            k: str(v) for k, v in self.__dict__.items() if v is not None and k != "product_mention"
        }


def _product_index_build() -> _ProductIndex:
    pairs: set[tuple[str, str]] = set()
    for sku, name_zh, name_en, aliases in Product.objects.filter(is_active=True).values_list(
        "sku", "name_zh", "name_en", "aliases"
    ):
        for needle in [sku, name_zh, name_en, *aliases.split(",")]:
            needle = " ".join(needle.lower().split())
            if len(needle) >= 2:
                pairs.add((needle, sku))
    # A variant named by what sets it apart from its line: "lite" for "x5 lite" when "x5"
    # is another product ("那Lite呢", "X5和Lite哪个好").
    owner = {needle: sku for needle, sku in pairs}
    for needle, sku in list(pairs):
        prefix, _, last = needle.rpartition(" ")
        if prefix and len(last) >= 3 and owner.get(prefix, sku) != sku and last not in owner:
            pairs.add((last, sku))
    needles = [
        _Needle(text=needle, sku=sku, ascii=needle.isascii())
        for needle, sku in sorted(pairs, key=lambda pair: (-len(pair[0]), pair))
    ]
    rank: dict[str, int] = {}
    for place, entry in enumerate(needles):
        rank.setdefault(entry.text, place)
    alternatives = [_needle_regex(n) for n in needles]
    pattern = re.compile(f"(?=({'|'.join(alternatives)}))") if alternatives else None
    return _ProductIndex(
        needles=needles,
        pattern=pattern,
        rank=rank,
        fuzzy=[n for n in needles if len(n.text) >= 6],
    )


_product_index: Derived[_ProductIndex] = Derived("slots.product_index", _product_index_build)


def product_index() -> _ProductIndex:
    """Every name, SKU and alias of the active products, longest first. It follows the
    shop facts (`csbot.cache.SHOP_FACTS`): a product added or renamed in the admin is
    recognised by every process within a second or two."""
    return _product_index.get()


def _product_in(text: str) -> tuple[str | None, str | None]:
    """The product a text names: an exact name, SKU or alias first; otherwise a name
    that differs by a typo or two ("clowd buds pro", "featherlite runing shoes")."""
    index = product_index()
    exact = index.exact(text)
    if exact is not None:
        return exact.sku, exact.text
    words = re.findall(r"[a-z0-9]+", text)
    windows_by_size: dict[int, list[str]] = {}
    best: tuple[float, str, str] | None = None
    for needle in index.fuzzy:
        if needle.ascii:
            # English names: windows of as many words as the name has.
            if not words:
                continue
            size = needle.text.count(" ") + 1
            windows = windows_by_size.get(size)
            if windows is None:
                windows = windows_by_size[size] = [
                    " ".join(words[i : i + size]) for i in range(len(words) - size + 1)
                ]
            minimum = FUZZY_MIN_ASCII
        else:
            # Chinese names: character windows that start with the brand part.
            size, head = len(needle.text), needle.text[:2]
            if head not in text:
                continue
            windows = [text[i : i + size] for i in range(len(text) - size + 1)]
            windows = [w for w in windows if w.startswith(head)]
            minimum = FUZZY_MIN_CJK
        if not windows:
            continue
        found = process.extractOne(needle.text, windows, scorer=fuzz.ratio, score_cutoff=minimum)
        if found is not None and (best is None or found[1] > best[0]):
            best = (found[1], needle.sku, found[0])
    return (best[1], best[2]) if best else (None, None)


_COLOUR_WORDS = _words_regex(COLOURS)
_REGION_WORDS = _words_regex(REGIONS)
_TABLE_ORDER = {id(table): {w: i for i, w in enumerate(table)} for table in (COLOURS, REGIONS)}


def _first_listed(pattern: re.Pattern[str], table: dict[str, str], text: str) -> str | None:
    """The value of the cue word found in the text that comes first in its table."""
    found = {m.group(0) for m in pattern.finditer(text)}
    if not found:
        return None
    order = _TABLE_ORDER[id(table)]
    return table[min(found, key=order.__getitem__)]


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
    slots.product, slots.product_mention = _product_in(text)
    size = SHOE_SIZE.search(text) or APPAREL_SIZE.search(text)
    if size:
        slots.size = next(group for group in size.groups() if group).upper()
    if COLOUR_CONTEXT.search(text):
        slots.colour = _first_listed(_COLOUR_WORDS, COLOURS, text)
    # Table order, not text order: the far regions with their own fee come first.
    slots.region = _first_listed(_REGION_WORDS, REGIONS, text)
    amount = AMOUNT.search(rest)
    if amount:
        raw = next(group for group in amount.groups() if group)
        try:
            slots.amount = Decimal(raw)
        except InvalidOperation:
            slots.amount = None
    return slots


def products_in(text: str) -> list[str]:
    """Every product the text names exactly, in the order they appear (one SKU once): a
    comparison names two or more."""
    index = product_index()
    if index.pattern is None:
        return []
    found: list[tuple[int, int, str]] = []
    for match in index.pattern.finditer(text):
        needle = match.group(1)
        found.append((match.start(), -len(needle), index.needles[index.rank[needle]].sku))
    skus: list[str] = []
    covered_until = -1
    for start, negative_length, sku in sorted(found):
        if start < covered_until:
            continue  # a shorter name inside a longer one ("x5" in "x5 lite")
        covered_until = start - negative_length
        if sku not in skus:
            skus.append(sku)
    return skus
