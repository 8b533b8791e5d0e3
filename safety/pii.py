"""Personal data in chat text: find it and replace it with typed placeholders.

Detected: mainland mobile numbers (+86 / 0086, spaces, dashes, full-width digits),
18-digit resident ID numbers (GB 11643 check digit, x/X), bank card numbers (13-19
digits; a valid Luhn digit raises the confidence, it does not decide alone), e-mail
addresses and street addresses (Chinese province/city/district/road/number and
building/room patterns; English "88 Jianguo Road" forms).

Detection runs on the width-folded text (one character per original character),
so spans apply to the text as written. Order numbers (DD202611010001), SKUs,
prices, timestamps and tracking numbers (SF1234567890) are not personal data and
are left alone: digits glued to letters are never a phone or card, and a long
digit run next to words such as 运单/快递/tracking reads as a parcel, not a card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from safety.normalize import fold


class PiiKind(StrEnum):
    PHONE = "phone"
    ID_NUMBER = "id_number"
    BANK_CARD = "bank_card"
    EMAIL = "email"
    ADDRESS = "address"


PLACEHOLDERS: dict[PiiKind, tuple[str, str]] = {
    PiiKind.PHONE: ("[手机号]", "[PHONE]"),
    PiiKind.ID_NUMBER: ("[身份证号]", "[ID_NUMBER]"),
    PiiKind.BANK_CARD: ("[银行卡号]", "[BANK_CARD]"),
    PiiKind.EMAIL: ("[邮箱]", "[EMAIL]"),
    PiiKind.ADDRESS: ("[地址]", "[ADDRESS]"),
}
# Earlier kinds win when two detections overlap (an ID number is also 18 digits).
_PRIORITY = [PiiKind.EMAIL, PiiKind.ID_NUMBER, PiiKind.PHONE, PiiKind.BANK_CARD, PiiKind.ADDRESS]


@dataclass(frozen=True)
class PiiSpan:
    kind: PiiKind
    start: int
    end: int
    confidence: float


# Digits or ASCII letters right next to a number make it part of a code (order
# numbers, tracking numbers, SKUs), not a phone or card.
_NB = r"(?<![A-Za-z0-9_])"
_NA = r"(?![A-Za-z0-9_])"
_SEP = r"[ \-\u00a0.]?"

PHONE_RE = re.compile(
    _NB
    + r"(?:(?:\+|00)?86[ \-]?|\(\+?86\)[ ]?|（\+?86）[ ]?)?"
    + r"1[ \-.]?[3-9](?:[ \-.]?\d){9}"
    + _NA
)
# Digits written as Chinese numerals (一三八…, 壹叁捌…), one character each, so spans
# stay put: only the phone pass reads them ("一三八零零一三八零零零" is a mobile).
_CN_DIGITS = str.maketrans("零〇一二三四五六七八九壹贰叁肆伍陆柒捌玖", "00123456789123456789")
ID_RE = re.compile(
    _NB
    + r"[1-9]\d{5}[ ]?(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[ ]?\d{3}[\dXx]"
    + _NA
)
CARD_RE = re.compile(_NB + r"\d(?:[ \-]?\d){12,18}" + _NA)
EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@"
    r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,24}(?![A-Za-z0-9])"
)

_PROVINCES = (
    "北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|"
    "湖北|湖南|广东|海南|四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门"
)
_HAN = r"[\u4e00-\u9fff]"
_NUM = r"(?:\d{1,5}|[一二三四五六七八九十百零〇]{1,5})"
_ROAD = r"(?:路|街|大街|大道|巷|弄|胡同|里|道)"
_ADMIN = (
    rf"(?:(?:{_PROVINCES})(?:省|市|自治区|壮族自治区|回族自治区|维吾尔自治区|特别行政区)?[ ]?)?"
    rf"(?:{_HAN}{{1,6}}?(?:市|州|盟)[ ]?)?"
    rf"(?:{_HAN}{{1,6}}?(?:区|县|旗)[ ]?)?"
    rf"(?:{_HAN}{{1,6}}?(?:镇|乡|街道)[ ]?)?"
)
_BUILDING = (
    rf"(?:[ ]?(?:{_HAN}{{1,10}}(?:小区|花园|公寓|大厦|广场|中心|苑|园|城))?"
    rf"[ ]?(?:{_NUM}(?:号楼|栋|幢|座))?[ ]?(?:{_NUM}(?:单元))?[ ]?(?:{_NUM}(?:层|楼))?"
    rf"[ ]?(?:{_NUM}(?:室|房|户))?)"
)
ADDRESS_ZH_RE = re.compile(
    rf"{_ADMIN}{_HAN}{{1,8}}?{_ROAD}[ ]?[甲乙丙丁]?{_NUM}(?:[\-—]{_NUM})?[ ]?号(?:院)?{_BUILDING}"
    # A residential compound and building without a road: 阳光花园3栋2单元501室.
    rf"|{_ADMIN}{_HAN}{{2,10}}(?:小区|花园|公寓|大厦|苑|园|中心|广场|城)(?:[东西南北中]区)?"
    rf"[ ]?{_NUM}(?:号楼|栋|幢|座)(?:[ ]?{_NUM}单元)?(?:[ ]?{_NUM}(?:室|号|层|楼)?)?"
)
# Words that often stand before an address and are not part of it.
_ZH_LEAD = re.compile(
    r"^(?:我的|我家|我们|我|请|帮我|麻烦)?(?:收货|收件|寄送|配送|送货|新的|新)?(?:地址)?"
    r"(?:是|为|在|改成|改为|换成|到|住在|住|寄到|送到|发到)?"
)
_STREET_EN = (
    r"(?:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Boulevard|Blvd|Drive|Dr|Hutong|Way|Alley|Highway)"
)
ADDRESS_EN_RE = re.compile(
    r"(?:(?:Room|Rm|Flat|Apt|Unit|Suite)\.?\s*\d{1,5}[A-Za-z]?,?\s*)?"
    r"(?:(?:Building|Bldg|Block)\.?\s*\d{1,4}[A-Za-z]?,?\s*)?"
    r"(?:No\.?\s*)?\b\d{1,5}(?:-\d{1,5})?[A-Za-z]?,?\s+"
    r"(?:[A-Z][A-Za-z'\-]+\s+){1,4}" + _STREET_EN + r"\b\.?"
    r"(?:,?\s+(?:[A-Z][A-Za-z'\-]+\s+){1,3}(?:District|County|City|Province)\b)?"
    r"(?:,?\s+(?:Beijing|Shanghai|Tianjin|Chongqing|Shenzhen|Guangzhou|Hangzhou|Chengdu"
    r"|Nanjing|Wuhan|Xi'an|Suzhou|[A-Z][a-z]+ Province)\b)?"
)

_CARD_CONTEXT = re.compile(
    r"(?:银行卡|卡号|卡|信用卡|储蓄卡|借记卡|银联|退款到|打款|账号|帐号|card|visa|mastercard|"
    r"unionpay|account|iban|debit|credit)",
    re.IGNORECASE,
)
_CODE_CONTEXT = re.compile(
    r"(?:快递|运单|单号|物流|订单|顺丰|中通|圆通|韵达|申通|邮政|EMS|SF|ZTO|YTO|tracking|"
    r"waybill|parcel|shipment|order|invoice|发票|编号|流水|serial|IMEI|时间|time)",
    re.IGNORECASE,
)
_CONTEXT_CHARS = 14
CARD_THRESHOLD = 0.6


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check bank cards carry in their last digit."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_ok(number: str) -> bool:
    """GB 11643-1999: the 18th character is the ISO 7064 MOD 11-2 check of the first 17."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def _card_confidence(folded: str, start: int, end: int, digits: str) -> float:
    """How likely a 13-19 digit run is a bank card: Luhn, grouping, issuer prefix and
    the words around it raise it; parcel and order words and date shapes lower it."""
    score = 0.45
    if luhn_ok(digits):
        score += 0.3
    raw = folded[start:end]
    if re.fullmatch(r"\d{4}(?:[ \-]\d{4}){2,3}(?:[ \-]\d{1,3})?", raw):
        score += 0.15
    if re.match(r"(?:62|4|5[1-5]|3[47]|35|60|9)", digits):
        score += 0.1
    before = folded[max(0, start - _CONTEXT_CHARS) : start]
    after = folded[end : end + 6]
    if _CARD_CONTEXT.search(before):
        score += 0.35
    if _CODE_CONTEXT.search(before) or _CODE_CONTEXT.search(after):
        score -= 0.6
    if re.match(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:[0-2]\d|3[01])", digits):
        score -= 0.3  # starts like a date: a timestamp or an order serial
    return max(0.0, min(1.0, score))


_PROVINCE_RE = re.compile(_PROVINCES)


def _address_trim(folded: str, start: int, end: int) -> tuple[int, int]:
    """Drop lead-in words the greedy admin-area parts swallowed ("改成", "我住在")."""
    province = _PROVINCE_RE.search(folded, start, min(end, start + 6))
    if province and not re.search(r"[省市区县州镇乡路街]", folded[start : province.start()]):
        start = province.start()
    else:
        lead = _ZH_LEAD.match(folded, start, end)
        if lead and lead.end() < end:
            start = lead.end()
    while end > start and folded[end - 1] == " ":
        end -= 1
    return start, end


def pii_find(text: str) -> list[PiiSpan]:
    """Every piece of personal data in `text`, as non-overlapping spans in order."""
    folded = fold(text)
    found: list[PiiSpan] = []
    for m in EMAIL_RE.finditer(folded):
        found.append(PiiSpan(PiiKind.EMAIL, m.start(), m.end(), 0.99))
    for m in ID_RE.finditer(folded):
        number = m.group().replace(" ", "")
        if id_check_ok(number):
            found.append(PiiSpan(PiiKind.ID_NUMBER, m.start(), m.end(), 0.99))
    for m in PHONE_RE.finditer(folded.translate(_CN_DIGITS)):
        found.append(PiiSpan(PiiKind.PHONE, m.start(), m.end(), 0.95))
    for m in CARD_RE.finditer(folded):
        digits = re.sub(r"\D", "", m.group())
        confidence = _card_confidence(folded, m.start(), m.end(), digits)
        if confidence >= CARD_THRESHOLD:
            found.append(PiiSpan(PiiKind.BANK_CARD, m.start(), m.end(), confidence))
    for m in ADDRESS_ZH_RE.finditer(folded):
        start, end = _address_trim(folded, m.start(), m.end())
        found.append(PiiSpan(PiiKind.ADDRESS, start, end, 0.9))
    for m in ADDRESS_EN_RE.finditer(folded):
        found.append(PiiSpan(PiiKind.ADDRESS, m.start(), m.end(), 0.85))
    return _resolve(found)


def _resolve(spans: list[PiiSpan]) -> list[PiiSpan]:
    """Keep the best of overlapping spans (kind priority, then the longer one)."""
    rank = {kind: i for i, kind in enumerate(_PRIORITY)}
    chosen: list[PiiSpan] = []
    for span in sorted(spans, key=lambda s: (rank[s.kind], -(s.end - s.start), s.start)):
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def placeholder_language(text: str) -> str:
    """Placeholders follow the text's language: Chinese as soon as it has Chinese."""
    return "zh" if _CJK.search(text) else "en"


def pii_mask(text: str, language: str | None = None) -> str:
    """`text` with each piece of personal data replaced by a typed placeholder
    (`[手机号]` / `[PHONE]` ...), in `language` or else the text's own language."""
    return pii_replace(text, pii_find(text), language)


def pii_replace(text: str, spans: list[PiiSpan], language: str | None = None) -> str:
    """`text` with these spans (from `pii_find(text)`) replaced by their placeholders."""
    if not spans:
        return text
    lang = language if language in ("zh", "en") else placeholder_language(text)
    out = []
    last = 0
    for span in spans:
        out.append(text[last : span.start])
        zh, en = PLACEHOLDERS[span.kind]
        out.append(zh if lang == "zh" else en)
        last = span.end
    out.append(text[last:])
    return "".join(out)
