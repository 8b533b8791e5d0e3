"""Output checks: the model may only rephrase. Every number, price, date, code and
order number in its answer must appear in the facts or the template answer, and the
answer must pass the output filter (banned words) and be in the shopper's language."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation

# A reason string when the text must not be sent, None when it may.
OutputFilter = Callable[[str], "str | None"]

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CODE = re.compile(r"\b[A-Za-z]+[-_]?[A-Za-z]*\d[A-Za-z0-9-]*\b")
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_CN_DIGITS.update({"六": 6, "七": 7, "八": 8, "九": 9})
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000}
_CN_RUN = re.compile(r"[零〇一二两三四五六七八九十百千万]+")
# A single Chinese digit counts as a number only before a measure word (一下 is not a fact).
_CN_MEASURE = re.compile(r"^(天|日|个|元|块|年|月|期|件|小时|分钟|周|次|倍|折|%|％|台|部|瓶)")
_EN_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
}  # fmt: skip
_EN_NUMBER = re.compile(
    r"\b(" + "|".join(_EN_WORDS) + r")\b(?=[\s-]+(?:business\s+)?"
    r"(?:days?|hours?|years?|months?|weeks?|periods?|instal?lments?|yuan|items?|times?|percent))",
    re.IGNORECASE,
)
_CURRENCIES = ("$", "€", "£", "₩", "USD", "EUR", "美元", "欧元")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _value(token: str) -> str:
    """A number token as a canonical decimal string ('2,999.00' -> '2999')."""
    plain = token.replace(",", "")
    try:
        return format(Decimal(plain).normalize(), "f")
    except InvalidOperation:
        return plain


def _cn_value(run: str) -> int | None:
    """A Chinese numeral run ('十五', '一万二千', '三') as an integer."""
    total, section, digit = 0, 0, None
    for ch in run:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch] if digit is None else digit * 10 + _CN_DIGITS[ch]
        elif ch == "万":
            section += digit or 0
            total += (section or 1) * 10_000
            section, digit = 0, None
        else:
            section += (digit if digit is not None else 1) * _CN_UNITS[ch]
            digit = None
    return total + section + (digit or 0)


def numbers_in(text: str, *, with_parts: bool = False) -> set[str]:
    """Every number the text states: digits, Chinese numerals, English number words
    before a unit, as canonical decimal strings. `with_parts` adds the parts of grouped
    or dotted numbers (what a source text allows: "1.5" allows "1" and "5")."""
    found = {_value(m.group()) for m in _NUMBER.finditer(text)}
    if with_parts:
        for m in _NUMBER.finditer(text):
            found.update(_value(part) for part in re.split(r"[.,]", m.group()) if part)
    for m in _CN_RUN.finditer(text):
        run = m.group()
        single = len(run) == 1 and run not in _CN_UNITS
        if single and not _CN_MEASURE.match(text[m.end() :]):
            continue
        value = _cn_value(run)
        if value is not None:
            found.add(str(value))
    for m in _EN_NUMBER.finditer(text):
        found.add(str(_EN_WORDS[m.group(1).lower()]))
    return found


def codes_in(text: str) -> set[str]:
    """SKU-, order- and tracking-number-like tokens (letters with digits), upper-cased."""
    return {m.group().upper() for m in _CODE.finditer(text)}


def output_check(
    *,
    output: str,
    allowed: Iterable[str],
    language: str,
    template: str,
    output_filter: OutputFilter | None = None,
) -> str | None:
    """Why `output` must not be sent (a short reason for metrics), or None if it may.
    `allowed` are the texts whose facts the output may state (facts, template answer)."""
    text = output.strip()
    if not text:
        return "empty"
    if len(text) > max(400, 3 * len(template)):
        return "too_long"
    if language == "zh" and not _CJK.search(text):
        return "wrong_language"
    if language == "en" and len(_CJK.findall(text)) > len(text) // 4:
        return "wrong_language"
    allowed_text = "\n".join(allowed)
    if not codes_in(text) <= codes_in(allowed_text):
        return "unsupported_code"
    if not numbers_in(text) <= numbers_in(allowed_text, with_parts=True):
        return "unsupported_number"
    if any(c in text and c not in allowed_text for c in _CURRENCIES):
        return "unsupported_currency"
    if output_filter is not None:
        blocked = output_filter(text)
        if blocked:
            return f"filtered:{blocked}" if isinstance(blocked, str) else "filtered"
    return None
