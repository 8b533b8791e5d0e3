"""Banned words: every evasion, the three actions, flags for review, output
screening, and the list reloading in every process after an admin change."""

import pytest

import csbot.cache
from csbot.cache import SHOP_FACTS, generation_current
from safety import banned, services
from safety.models import BannedWord, SafetyFlag

pytestmark = pytest.mark.django_db


@pytest.fixture
def words(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.banned_word_save(word="傻逼", category="abuse", action="mask")
        services.banned_word_save(word="fuck", category="abuse", action="mask")
        services.banned_word_save(word="ass", category="abuse", action="mask")
        services.banned_word_save(word="法轮功", category="illegal", action="block")
        services.banned_word_save(word="加微信", category="spam", action="block")
        services.banned_word_save(word="骗子", category="abuse", action="flag")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你个傻逼", "你个**"),
        ("你个傻 逼", "你个* *"),  # a space inserted
        ("你个傻.逼", "你个***"),  # punctuation inserted
        ("你个傻\u200b逼", "你个***"),  # zero-width space
        ("你个傻\u2060逼", "你个***"),  # word joiner (format character)
        ("你个傻😀逼", "你个***"),  # emoji inserted
        ("你个傻傻傻逼逼", "你个*****"),  # repeated characters
        ("你個傻逼", "你個**"),  # traditional characters around it
        ("ＦＵＣＫ you", "**** you"),  # full-width
        ("FuCk you", "**** you"),  # case
        ("f u c k you", "* * * * you"),
        ("f.u.c.k you", "******* you"),
        ("F*U*C*K you", "******* you"),
        ("fuuuuck you", "******* you"),
        ("fück you", "**** you"),  # accents
        ("f\u200du\u00adck", "******"),  # zero-width joiner, soft hyphen
        ("ｆ　ｕ　ｃ　ｋ", "*\u3000*\u3000*\u3000*"),  # full-width letters and spaces
        ("you ass!", "you ***!"),
    ],
)
def test_evasions_are_caught_and_masked_in_the_original_text(words, text, expected):
    screen = services.input_screen(text=text, language="zh")
    assert screen.action == "mask"
    assert screen.text == expected
    assert screen.categories == ("abuse",)


@pytest.mark.parametrize(
    "text",
    ["assessment of the X5", "as soon as possible", "class pass", "傻瓜相机", "fun duck"],
)
def test_innocent_words_are_not_matched(words, text):
    screen = services.input_screen(text=text, language="en")
    assert screen.action == "allow"
    assert screen.text == text
    assert SafetyFlag.objects.count() == 0


def test_traditional_form_of_a_block_word_blocks_with_a_polite_refusal(words):
    screen = services.input_screen(text="你們賣不賣法輪功的書", language="zh")
    assert screen.blocked
    assert screen.refusal.startswith("抱歉")
    en = services.input_screen(text="add me: 加 微 信 abc", language="en")
    assert en.blocked
    assert en.refusal.startswith("Sorry")
    assert en.categories == ("spam",)


def test_a_flag_word_passes_unchanged_and_is_flagged_with_the_masked_text_only(words):
    text = "你们这些骗子，电话13800138000给我回电"
    screen = services.input_screen(text=text, language="zh")
    assert screen.action == "flag"
    assert screen.text == text
    assert screen.masked == "你们这些骗子，电话[手机号]给我回电"
    flag = SafetyFlag.objects.get(pk=screen.flag_id)
    assert flag.masked_text == "你们这些骗子，电话[手机号]给我回电"
    assert flag.words == ["骗子"]
    assert flag.source == "shopper"
    assert "13800138000" not in str(list(SafetyFlag.objects.values()))


def test_the_strongest_action_wins(words):
    screen = services.input_screen(text="傻逼骗子加微信", language="zh")
    assert screen.action == "block"
    assert screen.words == ("傻逼", "加微信", "骗子")
    assert screen.text == "**骗子***"


def test_clean_text_is_allowed_and_not_flagged(words):
    screen = services.input_screen(text="X5 有货吗？我的电话13800138000", language="zh")
    assert screen.action == "allow"
    assert screen.refusal is None
    assert screen.masked == "X5 有货吗？我的电话[手机号]"
    assert screen.pii_kinds == ("phone",)
    assert SafetyFlag.objects.count() == 0


def test_output_screen_masks_every_action_and_flags_it(words):
    out = services.output_screen(text="别理那个骗子，fuck", source="agent")
    assert out == "别理那个**，****"
    flag = SafetyFlag.objects.get()
    assert (flag.source, flag.action) == ("agent", "mask")
    assert services.output_screen(text="订单已发货") == "订单已发货"


def test_output_filter_and_llm_masker(words):
    assert services.output_filter("X5 售价 ¥2999") is None
    assert services.output_filter("那个傻 逼") == "banned:abuse"
    assert services.llm_mask("傻逼，我电话13800138000") == "**，我电话[手机号]"


def test_inactive_words_do_not_match(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.banned_word_save(word="垃圾", category="abuse", action="mask", is_active=False)
    assert services.input_screen(text="垃圾", language="zh").action == "allow"


def test_bad_entries_are_refused_and_nothing_is_stored():
    with pytest.raises(ValueError):
        services.banned_word_save(word="  ", category="abuse", action="mask")
    with pytest.raises(ValueError):
        services.banned_word_save(word="x", category="abuse", action="explode")
    assert BannedWord.objects.count() == 0


def test_a_change_reaches_a_process_that_already_built_its_matcher(
    django_capture_on_commit_callbacks, monkeypatch
):
    """Another process's matcher is simulated by this one's, with the generation
    check on every call: it keeps its automaton until the shared generation moves."""
    monkeypatch.setattr(csbot.cache, "CHECK_S", 0.0)
    assert banned.matcher().find("垃圾") == []
    # A write that did not announce itself: the cached automaton is kept.
    BannedWord.objects.create(word="垃圾", category="abuse", action="mask")
    assert banned.matcher().find("垃圾") == []
    before = generation_current(SHOP_FACTS)
    with django_capture_on_commit_callbacks(execute=True):
        services.banned_words_changed()
    assert generation_current(SHOP_FACTS) != before
    assert [h.word for h in banned.matcher().find("垃 圾")] == ["垃圾"]


def test_the_admin_bumps_the_generation(admin_client, django_capture_on_commit_callbacks):
    before = generation_current(SHOP_FACTS)
    assert not services.input_screen(text="你滾蛋", language="zh").blocked  # matcher built
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/safety/bannedword/add/",
            {"word": "滚蛋", "category": "abuse", "action": "block", "is_active": "on", "note": ""},
        )
    assert response.status_code == 302
    assert generation_current(SHOP_FACTS) != before
    assert services.input_screen(text="你滾蛋", language="zh").blocked


def test_import_command_loads_a_big_list_and_refuses_bad_lines(
    tmp_path, capsys, django_capture_on_commit_callbacks
):
    from django.core.management import CommandError, call_command

    words = tmp_path / "words.csv"
    lines = ["# comment", "滚蛋,abuse,block", "spamword,spam", "plainword"]
    lines += [f"w{i:05d}x" for i in range(2000)]
    words.write_text("\n".join(lines), encoding="utf-8")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("banned_words_import", str(words), "--action", "flag")
    assert '"imported": 2003' in capsys.readouterr().out
    assert BannedWord.objects.get(word="滚蛋").action == "block"
    assert (
        BannedWord.objects.get(word="spamword").category,
        BannedWord.objects.get(word="spamword").action,
    ) == ("spam", "flag")
    assert services.input_screen(text="滾 蛋", language="zh").blocked
    assert services.input_screen(text="hi W01999X", language="en").action == "flag"

    bad = tmp_path / "bad.csv"
    bad.write_text("ok\nword,nocategory,mask\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("banned_words_import", str(bad))
    assert not BannedWord.objects.filter(word="ok").exists()
    with pytest.raises(CommandError):
        call_command("banned_words_import", str(tmp_path / "missing.txt"))
