# ruff: noqa: E501 - corpus templates and data read better unwrapped
"""A synthetic, labelled corpus for measuring PII detection (bench/pii_eval.py and
the safety tests). Generated from a fixed seed: positives in many formats inside
Chinese and English sentences, and hard negatives made of the numbers a shop chat
is full of (order numbers, SKUs, prices, timestamps, tracking numbers, specs).

Every value is made up here; valid-looking ID and card numbers get real check
digits so the detector cannot lean on a broken checksum.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from safety.pii import PiiKind, luhn_ok, pii_find

FULL_WIDTH = str.maketrans("0123456789+@", "０１２３４５６７８９＋＠")
CN_NUMERALS = str.maketrans("0123456789", "零一二三四五六七八九")


@dataclass
class Sample:
    text: str
    # (kind, start, end) of each piece of personal data in `text`.
    gold: list[tuple[PiiKind, int, int]] = field(default_factory=list)
    fmt: str = ""


class _Builder:
    """Builds a sentence from literal pieces and labelled values, tracking offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.gold: list[tuple[PiiKind, int, int]] = []
        self.length = 0

    def add(self, text: str, kind: PiiKind | None = None) -> _Builder:
        if kind is not None:
            self.gold.append((kind, self.length, self.length + len(text)))
        self.parts.append(text)
        self.length += len(text)
        return self

    def sample(self, fmt: str) -> Sample:
        return Sample(text="".join(self.parts), gold=self.gold, fmt=fmt)


_PREFIXES = [
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "145", "147", "150",
    "151", "152", "153", "155", "156", "157", "158", "159", "166", "170", "173", "176",
    "177", "178", "180", "181", "182", "183", "185", "186", "187", "188", "189", "191",
    "195", "198", "199",
]  # fmt: skip


def _mobile(rng: random.Random) -> str:
    return rng.choice(_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))


def _phone_format(rng: random.Random, digits: str) -> tuple[str, str]:
    a, b, c = digits[:3], digits[3:7], digits[7:]
    forms = [
        ("plain", digits),
        ("spaced", f"{a} {b} {c}"),
        ("dashed", f"{a}-{b}-{c}"),
        ("+86", f"+86{digits}"),
        ("+86 spaced", f"+86 {a} {b} {c}"),
        ("+86-dashed", f"+86-{a}-{b}-{c}"),
        ("0086", f"0086 {digits}"),
        ("(+86)", f"(+86){digits}"),
        ("full-width", digits.translate(FULL_WIDTH)),
        ("full-width +86", f"+86 {digits}".translate(FULL_WIDTH)),
        ("86 prefix", f"86-{digits}"),
        ("full-width space", f"{a}\u3000{b}\u3000{c}"),
        ("4-3-4", f"{digits[:4]} {digits[4:7]} {digits[7:]}"),
        ("dotted", f"{a}.{b}.{c}"),
        ("chinese numerals", digits.translate(CN_NUMERALS)),
    ]
    return rng.choice(forms)


_AREAS = [
    "110101", "110105", "310104", "310115", "440305", "440106", "330106", "510107",
    "420102", "320102", "500103", "610113", "370202", "350203", "210102", "650102",
]  # fmt: skip
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _resident_id(rng: random.Random) -> str:
    while True:
        year = rng.randint(1950, 2008)
        month = rng.randint(1, 12)
        day = rng.randint(1, 28)
        body = f"{rng.choice(_AREAS)}{year}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
        check = "10X98765432"[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]
        # Keep a fair share of X check digits in the corpus.
        if check == "X" or rng.random() < 0.75:
            return body + check


def _id_format(rng: random.Random, number: str) -> tuple[str, str]:
    forms = [
        ("plain", number),
        ("lower x", number[:-1] + number[-1].lower()),
        ("spaced 6-8-4", f"{number[:6]} {number[6:14]} {number[14:]}"),
        ("full-width", number.translate(FULL_WIDTH)),
    ]
    return rng.choice(forms)


def _luhn_complete(body: str) -> str:
    for d in "0123456789":
        if luhn_ok(body + d):
            return body + d
    raise AssertionError("unreachable")


def _card(rng: random.Random, *, valid: bool = True) -> str:
    issuer, length = rng.choice(
        [("62", 16), ("62", 19), ("622", 16), ("4", 16), ("51", 16), ("55", 16), ("37", 15),
         ("35", 16), ("60", 16), ("9", 19), ("62", 17), ("62", 18), ("4", 13)]
    )  # fmt: skip
    body = issuer + "".join(rng.choice("0123456789") for _ in range(length - len(issuer) - 1))
    number = _luhn_complete(body)
    if not valid:
        last = (int(number[-1]) + rng.randint(1, 9)) % 10
        number = number[:-1] + str(last)
    return number


def _card_format(rng: random.Random, number: str) -> tuple[str, str]:
    groups = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    forms = [
        ("plain", number),
        ("grouped", groups),
        ("dashed", groups.replace(" ", "-")),
        ("full-width", number.translate(FULL_WIDTH)),
    ]
    return rng.choice(forms)


_USERS = ["alice", "bob.li", "zhang.wei", "wang_fang", "li-na", "chen88", "xiaoming2026",
          "Liu.Yang", "kevin+shop", "hr.dept", "test.user01", "mei"]  # fmt: skip
_DOMAINS = ["example.com", "qq.com", "163.com", "126.com", "gmail.com", "outlook.com",
            "sina.com.cn", "mail.example.cn", "pku.edu.cn", "foxmail.com", "company.io"]  # fmt: skip


def _email(rng: random.Random) -> tuple[str, str]:
    user = rng.choice(_USERS)
    if rng.random() < 0.3:
        user += str(rng.randint(1, 999))
    address = f"{user}@{rng.choice(_DOMAINS)}"
    form = rng.random()
    if form < 0.15:
        return "upper", address.upper()
    if form < 0.3:
        return "full-width @", address.replace("@", "＠")
    return "plain", address


_ZH_PLACES = [
    ("北京市", "", "朝阳区", ["建国路", "东三环中路", "光华路"]),
    ("北京市", "", "海淀区", ["中关村大街", "学院路", "知春路"]),
    ("上海市", "", "浦东新区", ["世纪大道", "张杨路", "陆家嘴环路"]),
    ("上海市", "", "静安区", ["南京西路", "延安中路"]),
    ("广东省", "深圳市", "南山区", ["科技园南路", "深南大道", "海德三道"]),
    ("广东省", "广州市", "天河区", ["天河路", "体育西路", "珠江新城华夏路"]),
    ("浙江省", "杭州市", "西湖区", ["文三路", "教工路", "天目山路"]),
    ("江苏省", "南京市", "鼓楼区", ["中山北路", "湖南路"]),
    ("四川省", "成都市", "武侯区", ["人民南路", "科华北路"]),
    ("湖北省", "武汉市", "洪山区", ["珞喻路", "雄楚大道"]),
    ("陕西省", "西安市", "雁塔区", ["长安南路", "小寨东路"]),
    ("新疆维吾尔自治区", "乌鲁木齐市", "天山区", ["解放北路", "中山路"]),
    ("广西壮族自治区", "南宁市", "青秀区", ["民族大道", "金湖路"]),
    ("重庆市", "", "渝中区", ["解放碑步行街", "中山三路"]),
]
_COMPOUNDS = ["阳光花园", "翠湖小区", "金色家园", "万科城", "碧桂园", "华润中心", "望京公寓"]
_ZH_NUMS = ["三", "十八", "一百零八"]


def _address_zh(rng: random.Random) -> tuple[str, str]:
    province, city, district, roads = rng.choice(_ZH_PLACES)
    road = rng.choice(roads)
    number = str(rng.randint(1, 999)) if rng.random() < 0.85 else rng.choice(_ZH_NUMS)
    building = ""
    if rng.random() < 0.5:
        building = f"{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{rng.randint(1, 33)}0{rng.randint(1, 4)}室"
    elif rng.random() < 0.5:
        building = f"{rng.choice(_COMPOUNDS)}{rng.randint(1, 20)}号楼{rng.randint(101, 2808)}室"
    form = rng.random()
    if form < 0.3:
        return (
            "province-city-district-road",
            f"{province}{city}{district}{road}{number}号{building}",
        )
    if form < 0.55:
        return "city-district-road", f"{city or province}{district}{road}{number}号{building}"
    if form < 0.75:
        return "district-road", f"{district}{road}{number}号{building}"
    if form < 0.85:
        return "spaced", f"{province} {city}{district} {road}{number}号 {building}".strip()
    compound = rng.choice(_COMPOUNDS)
    unit = f"{rng.randint(1, 6)}单元" if rng.random() < 0.6 else ""
    return "compound-building-room", (
        f"{district}{compound}{rng.randint(1, 30)}栋{unit}{rng.randint(1, 30)}0{rng.randint(1, 4)}室"
    )


_EN_ROADS = [
    ("Jianguo Road", "Chaoyang District", "Beijing"),
    ("Nanjing West Road", "Jing'an District", "Shanghai"),
    ("Shennan Avenue", "Futian District", "Shenzhen"),
    ("Tianhe Road", "Tianhe District", "Guangzhou"),
    ("Wensan Road", "Xihu District", "Hangzhou"),
    ("Zhongshan North Road", "Gulou District", "Nanjing"),
    ("Renmin South Road", "Wuhou District", "Chengdu"),
    ("Nanluoguxiang Hutong", "Dongcheng District", "Beijing"),
    ("Century Avenue", "Pudong New District", "Shanghai"),
]


def _address_en(rng: random.Random) -> tuple[str, str]:
    road, district, city = rng.choice(_EN_ROADS)
    number = rng.randint(1, 999)
    form = rng.random()
    if rng.random() < 0.3:
        road = road.replace("Road", "Rd").replace("Avenue", "Ave")
    if form < 0.35:
        return "number-road-district-city", f"{number} {road}, {district}, {city}"
    if form < 0.6:
        return "room-number-road", f"Room {rng.randint(101, 3208)}, {number} {road}, {city}"
    if form < 0.8:
        return "no-number-road", f"No. {number} {road}, {district}"
    return "number-road", f"{number} {road}"


_ZH_TEMPLATES = {
    PiiKind.PHONE: ["我的手机号是{x}", "电话{x}，麻烦尽快联系我", "联系方式：{x}", "{x}是我老婆的号码",
                    "快递员打不通我电话 {x} 吗？", "手机号 {x} 收验证码"],
    PiiKind.ID_NUMBER: ["我的身份证号{x}", "身份证：{x}，请帮我开发票", "实名信息 {x}",
                        "证件号码是{x}吗"],
    PiiKind.BANK_CARD: ["退款到我的卡号{x}", "银行卡 {x} 收到退款了吗", "我的信用卡是{x}",
                        "打款账号：{x}", "用这张卡{x}付的钱"],
    PiiKind.EMAIL: ["发票发到我邮箱{x}", "邮箱：{x}", "请把电子发票寄到 {x} 谢谢", "联系我 {x}"],
    PiiKind.ADDRESS: ["我的地址是{x}", "收货地址改成{x}", "寄到{x}", "地址：{x}，能送吗",
                      "新地址{x}，电话稍后给你"],
}  # fmt: skip
_EN_TEMPLATES = {
    PiiKind.PHONE: ["My phone number is {x}", "Call me on {x} please", "Contact: {x}",
                    "The courier can reach me at {x}."],
    PiiKind.ID_NUMBER: ["My ID number is {x}", "Resident ID {x} for the invoice",
                        "Here is my ID: {x}"],
    PiiKind.BANK_CARD: ["Refund to my card {x}", "I paid with card number {x}",
                        "My UnionPay card is {x}, did the refund arrive?", "Card: {x}"],
    PiiKind.EMAIL: ["Send the invoice to {x}", "My email is {x}.", "email me at {x} thanks",
                    "Contact {x}"],
    PiiKind.ADDRESS: ["Please ship to {x}", "My new address is {x}.", "Deliver to {x} please",
                      "Change the address to {x}"],
}  # fmt: skip


def _value(rng: random.Random, kind: PiiKind, lang: str) -> tuple[str, str]:
    if kind is PiiKind.PHONE:
        return _phone_format(rng, _mobile(rng))
    if kind is PiiKind.ID_NUMBER:
        return _id_format(rng, _resident_id(rng))
    if kind is PiiKind.BANK_CARD:
        # One in six cards has a wrong check digit: Luhn must not be the only gate.
        valid = rng.random() > 1 / 6
        fmt, value = _card_format(rng, _card(rng, valid=valid))
        return (fmt if valid else fmt + " bad-luhn"), value
    if kind is PiiKind.EMAIL:
        return _email(rng)
    return _address_zh(rng) if lang == "zh" else _address_en(rng)


def _fill(template: str, pieces: list[tuple[str, PiiKind | None]]) -> _Builder:
    builder = _Builder()
    rest = template
    for value, kind in pieces:
        head, _, rest = rest.partition("{x}")
        builder.add(head)
        builder.add(value, kind)
    builder.add(rest)
    return builder


def positives(rng: random.Random, per_kind: int = 80) -> list[Sample]:
    out: list[Sample] = []
    for kind in PiiKind:
        for i in range(per_kind):
            lang = "zh" if i % 2 == 0 else "en"
            templates = (_ZH_TEMPLATES if lang == "zh" else _EN_TEMPLATES)[kind]
            fmt, value = _value(rng, kind, lang)
            out.append(_fill(rng.choice(templates), [(value, kind)]).sample(f"{kind}:{lang}:{fmt}"))
    # Messages with two kinds at once, next to shop numbers that must survive.
    for i in range(40):
        lang = "zh" if i % 2 == 0 else "en"
        _, phone = _phone_format(rng, _mobile(rng))
        _, address = _address_zh(rng) if lang == "zh" else _address_en(rng)
        order = _order_no(rng)
        b = _Builder()
        if lang == "zh":
            b.add(f"订单{order}的收货地址改成").add(address, PiiKind.ADDRESS)
            b.add("，收件人电话").add(phone, PiiKind.PHONE).add("，谢谢")
        else:
            b.add(f"For order {order} ship to ").add(address, PiiKind.ADDRESS)
            b.add(" and call ").add(phone, PiiKind.PHONE).add(" on arrival")
        out.append(b.sample(f"mixed:{lang}"))
    return out


def _order_no(rng: random.Random) -> str:
    return f"DD2026{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(1, 9999):04d}"


def _negative_texts(rng: random.Random) -> list[tuple[str, str]]:
    order = _order_no(rng)
    serial = order[2:]
    sf = "SF" + "".join(rng.choice("0123456789") for _ in range(rng.choice([10, 12, 13])))
    zto = "".join(rng.choice("0123456789") for _ in range(rng.choice([12, 14, 15])))
    yto = "YT" + "".join(rng.choice("0123456789") for _ in range(13))
    price = rng.choice(["2999", "1899", "499", "129", "399", "79", "89", "899", "158", "97"])
    sku = rng.choice(["XH-X5", "XH-X5L", "CB-PRO", "MC-15", "FL-RUN", "CT-TEE", "TM-500", "SW-S3"])
    stamp = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"  # noqa: E501
    compact = stamp.replace("-", "").replace(":", "").replace(" ", "")
    last4 = f"{rng.randint(0, 9999):04d}"
    imei = "86" + "".join(rng.choice("0123456789") for _ in range(13))
    return [
        ("order", f"订单{order}到哪了"),
        ("order", f"my order {order} has not arrived"),
        ("order serial", f"订单号 {serial} 怎么还没发货"),
        ("order serial", f"order number {serial}, please check"),
        ("order+last4", f"{order} 手机尾号{last4}"),
        ("tracking sf", f"顺丰单号{sf}查不到"),
        ("tracking sf", f"tracking number {sf} shows no update"),
        ("tracking zto", f"中通快递 {zto} 三天没动了"),
        ("tracking zto", f"ZTO waybill {zto}"),
        ("tracking yto", f"圆通 {yto}"),
        ("sku", f"{sku}多少钱？"),
        ("sku", f"Is {sku} in stock?"),
        ("price", f"¥{price}能便宜点吗"),
        ("price", f"{price}元的那个还有货吗"),
        ("price", f"It says ${price}.00 on the page"),
        ("price", f"两件一共¥{int(price) * 2}，满99包邮吗"),
        ("timestamp", f"我{stamp}下的单"),
        ("timestamp", f"paid at {stamp}"),
        ("timestamp compact", f"下单时间{compact}"),
        ("timestamp compact", f"time {compact}"),
        ("date", f"2026/{rng.randint(1, 12)}/{rng.randint(1, 28)} 签收的"),
        ("spec", "5000mAh电池，67W快充，256GB"),
        ("spec", "6.7-inch OLED, 15W wireless, Bluetooth 5.3, IPX4"),
        ("spec", f"尺码{rng.randint(36, 45)}码，重量210g"),
        ("hours", "人工客服9:00-22:00在线吗"),
        ("policy", "新疆西藏运费20元，1-3天送达"),
        ("policy", "3期和6期免息，满600元"),
        ("hotline", "你们的客服电话是400-820-8820吗"),
        ("hotline", "我要打12315投诉"),
        ("imei", f"手机IMEI {imei}"),
        ("imei", f"IMEI number {imei}"),
        ("place", "北京发货吗？上海到北京要几天"),
        ("place", "朝阳区能送吗，南京路步行街那边"),
        ("place", "Do you ship to Xinjiang or Tibet?"),
        ("place", "I live near Nanjing Road in Shanghai"),
        ("quantity", f"买{rng.randint(2, 9)}件{sku}有优惠吗"),
        ("quantity", f"I bought {rng.randint(2, 9)} Cotton T-shirts"),
        ("count", f"库存还有{rng.randint(10, 500)}件"),
        ("postcode", f"邮编{rng.randint(100000, 859999)}"),
        ("invoice", f"发票号码{rng.randint(10**11, 10**12 - 1)}"),
        ("mixed", f"订单{order}，{sku}，¥{price}，{stamp}付款，顺丰{sf}"),
        ("version", "app version 3.12.1, build 20261101"),
        ("email-like", "请问@客服 在吗"),
        ("email-like", "price@2999 is that right?"),
        ("address-like", "地址写错了怎么办"),
        ("address-like", "What is the return address?"),
        ("long number", f"优惠码 {rng.randint(10**7, 10**8 - 1)}"),
        ("chinese numerals", "一二三四五六七八九十，第一百零八号"),
        (
            "decimals",
            f"价格{rng.randint(1, 19)}.{rng.randint(10, 99)}元，共{rng.randint(10, 99)}.99元",
        ),
    ]


def negatives(rng: random.Random, count: int = 400) -> list[Sample]:
    out: list[Sample] = []
    while len(out) < count:
        for fmt, text in _negative_texts(rng):
            out.append(Sample(text=text, fmt=f"negative:{fmt}"))
    return out[:count]


def corpus(seed: int = 20261124) -> list[Sample]:
    """The whole corpus: 440 positives (80 per kind, 40 mixed) and 400 hard negatives."""
    rng = random.Random(seed)
    return positives(rng) + negatives(rng)


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def evaluate(samples: list[Sample]) -> tuple[dict[str, Score], list[tuple[Sample, list]]]:
    """Span-level scores, overall ("all") and per kind. A detection is a true positive
    only when it has the right kind and covers the whole value (a partial mask leaks);
    any other detection is a false positive. Also returns the samples that went wrong."""
    scores: dict[str, Score] = {"all": Score(), **{kind.value: Score() for kind in PiiKind}}
    errors: list[tuple[Sample, list]] = []
    for sample in samples:
        found = pii_find(sample.text)
        matched: set[int] = set()
        wrong = False
        for kind, start, end in sample.gold:
            hit = next(
                (
                    i
                    for i, span in enumerate(found)
                    if i not in matched
                    and span.kind == kind
                    and span.start <= start
                    and span.end >= end
                ),
                None,
            )
            for key in ("all", kind.value):
                if hit is None:
                    scores[key].fn += 1
                else:
                    scores[key].tp += 1
            if hit is None:
                wrong = True
            else:
                matched.add(hit)
        for i, span in enumerate(found):
            if i not in matched:
                scores["all"].fp += 1
                scores[span.kind.value].fp += 1
                wrong = True
        if wrong:
            errors.append((sample, found))
    return scores, errors


HANDWRITTEN = Path(__file__).parent / "data" / "pii_handwritten.txt"


def handwritten() -> list[Sample]:
    """The hand-written held-out lines (safety/data/pii_handwritten.txt)."""
    out: list[Sample] = []
    for line in HANDWRITTEN.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, _, labels = line.partition("\t")
        gold: list[tuple[PiiKind, int, int]] = []
        for pair in filter(None, (p.strip() for p in labels.split(" | "))):
            kind, _, value = pair.partition("=")
            start = text.index(value)
            gold.append((PiiKind(kind), start, start + len(value)))
        out.append(Sample(text=text, gold=gold, fmt="handwritten"))
    return out
