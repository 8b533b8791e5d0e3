"""Anger and sentiment, zh and en: cues, intensity, negation, the setting, and the
labelled set's figures."""

import pytest

from safety import services
from safety.sentiment import sentiment_of
from safety.sentiment_eval import anger_scores, labelled_rows


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("你们就是一群骗子，气死我了！", "zh"),
        ("垃圾客服，我要投诉", "zh"),
        ("再不退款我就打12315", "zh"),
        ("This is a total scam, I want my money back!!", "en"),
        ("Worst service ever. Unacceptable.", "en"),
        ("I'm furious", "en"),
    ],
)
def test_angry_messages(text, language):
    result = services.sentiment_score(text=text, language=language)
    assert result.angry
    assert result.label == "angry"
    assert result.polarity < 0


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("请问运费怎么算", "zh"),
        ("谢谢，很满意", "zh"),
        ("Is the X5 in stock?", "en"),
        ("Thanks, great service!", "en"),
    ],
)
def test_calm_messages(text, language):
    result = services.sentiment_score(text=text, language=language)
    assert not result.angry
    assert result.anger < 0.5


def test_negation_turns_anger_down():
    assert sentiment_of("我很生气", "zh").angry
    assert not sentiment_of("我不生气", "zh").angry
    assert sentiment_of("I am angry", "en").anger > sentiment_of("I am not angry", "en").anger
    # A negated happy word is a mild complaint, not rage.
    unhappy = sentiment_of("不满意", "zh")
    assert 0 < unhappy.anger < 0.5


def test_intensity_cues_raise_the_score():
    base = sentiment_of("垃圾", "zh").anger
    assert sentiment_of("太垃圾", "zh").anger > base
    assert sentiment_of("垃圾！！！", "zh").anger > base
    assert sentiment_of("this is bad", "en").anger < sentiment_of("this is so bad", "en").anger
    assert sentiment_of("this is bad", "en").anger < sentiment_of("this is BAD BAD", "en").anger
    assert (
        sentiment_of("where is it??? useless", "en").anger
        > sentiment_of("where is it? useless", "en").anger
    )


def test_intensity_alone_is_not_anger():
    assert not sentiment_of("到货了！！！太好了！！！", "zh").angry
    assert not sentiment_of("WOW THANKS!!!", "en").angry


@pytest.mark.parametrize(
    ("setting", "expected"), [("priority", "priority"), ("handoff", "handoff"), ("off", None)]
)
def test_anger_action_follows_the_setting(settings, setting, expected):
    settings.CSBOT_ANGER_ACTION = setting
    angry = services.sentiment_score(text="骗子！退钱！！", language="zh")
    calm = services.sentiment_score(text="谢谢", language="zh")
    assert services.anger_action(sentiment=angry) == expected
    assert services.anger_action(sentiment=calm) is None


def test_the_labelled_set():
    rows = labelled_rows()
    assert len(rows) >= 200
    assert {r.language for r in rows} == {"zh", "en"}
    scores = anger_scores(rows, threshold=0.5)
    # Measured 0.94 accuracy / 0.93 F1 (bench/sentiment_eval.py); a drop shows here.
    assert scores.accuracy >= 0.88
    assert scores.f1 >= 0.88
