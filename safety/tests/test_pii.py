"""PII detection and masking: every format, hard negatives, placeholders, and the bar
on the synthetic and hand-written corpora."""

import pytest

from safety.pii import PiiKind, id_check_ok, luhn_ok, pii_find, pii_mask
from safety.pii_corpus import corpus, evaluate, handwritten


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # mainland mobiles
        ("我的手机13800138000", "我的手机[手机号]"),
        ("电话 138 0013 8000 谢谢", "电话 [手机号] 谢谢"),
        ("电话138-0013-8000", "电话[手机号]"),
        ("+8613800138000", "[PHONE]"),
        ("call +86 138 0013 8000 now", "call [PHONE] now"),
        ("call +86-139-0013-9000", "call [PHONE]"),
        ("0086 13700137000", "[PHONE]"),
        ("(+86)13700137000", "[PHONE]"),
        ("手机号：１３８００１３８０００", "手机号：[手机号]"),
        ("手机＋８６ １３８００１３８０００", "手机[手机号]"),
        ("号码 138\u30000013\u30008000", "号码 [手机号]"),
        ("手机一三八零零一三八零零零", "手机[手机号]"),
        ("手机 壹叁捌零零壹叁捌零零零", "手机 [手机号]"),
        ("call 138.0013.8000", "call [PHONE]"),
        ("电话1380 013 8000", "电话[手机号]"),
        # resident ID numbers (GB 11643 check digit, x/X)
        ("身份证440305198512304611", "身份证[身份证号]"),
        ("ID 32010220000229003X please", "ID [ID_NUMBER] please"),
        ("ID 32010220000229003x please", "ID [ID_NUMBER] please"),
        ("证件 440305 19851230 4611", "证件 [身份证号]"),
        # bank cards
        ("卡号6222021001123456789", "卡号[银行卡号]"),
        ("my card is 4111 1111 1111 1111", "my card is [BANK_CARD]"),
        ("card 4532-0151-1283-0366", "card [BANK_CARD]"),
        ("退款到卡 6222021001123456780", "退款到卡 [银行卡号]"),  # wrong Luhn digit, card words
        # e-mail
        ("邮箱 alice.w@example.com", "邮箱 [邮箱]"),
        ("mail ZHANG.WEI+shop@mail.example.cn ok", "mail [EMAIL] ok"),
        ("邮箱 bob＠qq.com", "邮箱 [邮箱]"),
        # addresses
        ("地址是北京市朝阳区建国路88号", "地址是[地址]"),
        ("改成广东省深圳市南山区科技园南路15号3栋1201室", "改成[地址]"),
        ("寄到上海市 静安区 延安中路753号 23栋1单元101室", "寄到[地址]"),
        ("寄到阳光花园3栋2单元501室", "寄到[地址]"),
        ("我住在海淀区知春路甲48号", "我住在[地址]"),
        ("Ship to 88 Jianguo Road, Chaoyang District, Beijing", "Ship to [ADDRESS]"),
        ("Room 1203, 18 Nanjing West Road, Jing'an District, Shanghai", "[ADDRESS]"),
        ("No. 5 Zhongshan Rd, Gulou District please", "[ADDRESS] please"),
        # several at once
        (
            "订单DD202611010001改地址：北京市海淀区学院路30号，电话13311112222",
            "订单DD202611010001改地址：[地址]，电话[手机号]",
        ),
    ],
)
def test_every_format_is_masked(text, expected):
    assert pii_mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "订单DD202611010001到哪了",
        "order 202611010001 please",
        "顺丰单号SF1234567890查不到",
        "SF1234567890",
        "中通快递 73100012345678 三天没动了",
        "tracking ZTO 75300011122233",
        "XH-X5多少钱",
        "CB-PRO, MC-15 and SW-S3",
        "¥2999 太贵了",
        "It says $1,899.00",
        "2026-11-01 12:30:45 下的单",
        "下单时间20261101123045",
        "paid on 2026/11/02 at 15:59",
        "手机IMEI 860000000000000",
        "订单尾号0001，手机尾号8000",
        "客服热线 400-888-9999",
        "我要打12315投诉",
        "5000mAh电池，67W快充，256GB",
        "北京市的订单多久到？",
        "Do you deliver to Chaoyang District?",
        "I bought 2 Cotton T-shirts",
        "请问@客服 在吗",
        "邮编518057",
        "一二三四五六七八九十",
        "价格1.39元，共13.99元",
    ],
)
def test_hard_negatives_are_left_alone(text):
    assert pii_find(text) == []
    assert pii_mask(text) == text


def test_placeholders_follow_the_language():
    assert pii_mask("13800138000") == "[PHONE]"
    assert pii_mask("13800138000", "zh") == "[手机号]"
    assert pii_mask("电话 13800138000", "en") == "电话 [PHONE]"
    assert pii_mask("电话 13800138000") == "电话 [手机号]"


def test_kinds_and_spans_point_into_the_original_text():
    text = "电话１３８００１３８０００，邮箱a@b.cn"
    spans = pii_find(text)
    assert [(s.kind, text[s.start : s.end]) for s in spans] == [
        (PiiKind.PHONE, "１３８００１３８０００"),
        (PiiKind.EMAIL, "a@b.cn"),
    ]


def test_check_digits():
    assert id_check_ok("440305198512304611")
    assert not id_check_ok("440305198512304612")
    assert id_check_ok("32010220000229003x")
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")


def test_an_id_with_a_wrong_check_digit_is_not_an_id_number():
    spans = pii_find("号码440305198512304612")
    assert all(s.kind != PiiKind.ID_NUMBER for s in spans)


def test_luhn_raises_confidence_but_does_not_gate():
    good = pii_find("卡号6222021001123456789")[0]
    bad = pii_find("卡号6222021001123456780")[0]
    assert good.kind == bad.kind == PiiKind.BANK_CARD
    assert good.confidence > bad.confidence


def test_corpus_sizes():
    samples = corpus()
    assert sum(1 for s in samples if s.gold) >= 300
    assert sum(1 for s in samples if not s.gold) >= 300


@pytest.mark.parametrize("seed", [20261124, 7])
def test_precision_and_recall_on_the_synthetic_corpus(seed):
    scores, errors = evaluate(corpus(seed=seed))
    assert scores["all"].precision >= 0.98, errors[:5]
    assert scores["all"].recall >= 0.98, errors[:5]


def test_precision_and_recall_on_the_handwritten_lines():
    scores, errors = evaluate(handwritten())
    assert scores["all"].precision >= 0.98, errors
    assert scores["all"].recall >= 0.98, errors
