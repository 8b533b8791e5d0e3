"""The output check: what counts as a stated number or code, and what is refused."""

import pytest

from conversations.llm.check import codes_in, numbers_in, output_check


def test_numbers_in_digits_chinese_numerals_and_english_words():
    assert numbers_in("¥2,999.00，满99包邮，3/6/12期，2026-12-10") == {
        "2999", "99", "3", "6", "12", "2026", "10",
    }  # fmt: skip
    assert numbers_in("七天无理由，十五天换货，一万二千元，一下，一起") == {"7", "15", "12000"}
    assert numbers_in("within three business days, one of them, twelve periods") == {"3", "12"}


def test_parts_of_source_numbers_are_allowed_only_with_parts():
    assert numbers_in("1.5") == {"1.5"}
    assert numbers_in("1.5", with_parts=True) == {"1.5", "1", "5"}


def test_codes_are_letter_digit_tokens():
    assert codes_in("订单 XH20261120001 由 SF1234567 承运，型号 xh-x5") == {
        "XH20261120001", "SF1234567", "XH-X5",
    }  # fmt: skip


TEMPLATE = "星河 X5 手机 售价 ¥2999，7 天无理由退货。"


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("亲，星河 X5 手机 ¥2999，签收后七天内可无理由退货哦。", None),
        ("亲，星河 X5 手机只要 ¥2899。", "unsupported_number"),
        ("亲，星河 X5 手机十五天内可退。", "unsupported_number"),
        ("亲，X6 手机 ¥2999。", "unsupported_code"),
        ("亲，星河 X5 手机 2999 美元。", "unsupported_currency"),
        ("Sure, the X5 is ¥2999.", "wrong_language"),
        ("   ", "empty"),
        ("好" * 500, "too_long"),
    ],
)
def test_output_check(output, reason):
    refused = output_check(output=output, allowed=[TEMPLATE], language="zh", template=TEMPLATE)
    assert refused == reason


def test_the_filter_hook_runs_last_and_names_its_reason():
    def banned(text: str) -> str | None:
        return "competitor" if "某东" in text else None

    ok = "亲，星河 X5 手机 ¥2999。"
    args = {"allowed": [TEMPLATE], "language": "zh", "template": TEMPLATE, "output_filter": banned}
    assert output_check(output=ok, **args) is None
    assert output_check(output=ok + "比某东便宜", **args) == "filtered:competitor"
