"""Sentiment and anger of a shopper message, Chinese and English: a lexicon with
intensity cues, no model to load, microseconds per message.

Each cue word has a weight (anger words strongly positive, complaint words less,
polite or happy words negative). A degree adverb just before a cue ("太", "非常",
"so", "extremely") multiplies it; a negation just before it ("不", "没", "not",
"never") turns an anger cue into a weak one and a happy cue into a mild complaint.
Exclamation runs, repeated question marks, words in capitals and repeated
characters add intensity. The raw sum becomes `anger` in 0..1 (1 - e^-x) and a
polarity in -1..1; `angry` compares anger with CSBOT_ANGER_THRESHOLD.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import ahocorasick
from django.conf import settings

# Chinese cues: word -> weight. Anger > 1, complaint/negative 0.3-1, positive < 0.
ZH_CUES: dict[str, float] = {
    # insults and rage
    "垃圾": 1.6, "骗子": 1.8, "骗人": 1.5, "欺骗": 1.4, "坑人": 1.5, "坑爹": 1.4, "黑店": 1.8,
    "无良": 1.5, "奸商": 1.8, "气死": 1.8, "气炸": 1.8, "火大": 1.5, "愤怒": 1.6, "生气": 1.2,
    "恼火": 1.3, "恶心": 1.4, "滚": 1.5, "去死": 2.0, "他妈": 1.8, "妈的": 1.8, "tmd": 1.6,
    "卧槽": 1.2, "我靠": 1.0, "靠谱吗": 0.0, "忍无可忍": 2.0, "受够了": 1.8, "欺人太甚": 2.0,
    "什么破": 1.4, "破东西": 1.5, "烂货": 1.6, "太烂": 1.3, "差劲": 1.2, "糟糕": 1.0,
    "离谱": 1.2, "过分": 1.2, "无语": 0.9, "搞什么": 1.3, "搞什么鬼": 1.6, "耍我": 1.6,
    "当我傻": 1.6, "敷衍": 1.2, "推卸": 1.1, "踢皮球": 1.3, "不负责任": 1.4, "态度恶劣": 1.6,
    "态度差": 1.2, "骂": 1.0, "举报": 1.3, "投诉": 0.6, "12315": 1.6, "消协": 1.4,
    "工商局": 1.4, "曝光": 1.4, "律师": 1.2, "起诉": 1.5, "媒体": 0.8, "差评": 1.1,
    "退钱": 1.2, "还钱": 1.2, "赔偿": 0.8, "赔钱": 1.2, "退款": 0.3, "再也不": 1.2,
    "最后一次": 1.0, "立刻": 0.6, "马上": 0.3, "赶紧": 0.6, "到底": 0.7, "凭什么": 1.3,
    "什么意思": 0.8, "有病": 1.5, "脑子": 1.0, "废物": 1.6, "白痴": 1.8, "智障": 1.8,
    "傻": 1.0, "混蛋": 1.8, "王八": 1.8, "失望": 0.9, "太失望": 1.3, "崩溃": 1.0,
    "坑": 0.9, "骗": 1.0, "假货": 1.3, "欺诈": 1.5, "不要脸": 1.8, "垃圾客服": 2.0,
    "几天了": 0.7, "多少天了": 0.9, "一直没": 0.7, "还没": 0.4, "怎么还": 0.7, "说好的": 0.8,
    "催了": 0.8, "催了好几次": 1.2, "第几次": 1.0, "没人管": 1.2, "没人理": 1.2,
    "坏了": 0.5, "破了": 0.5, "质量差": 0.9, "慢死": 1.2, "太慢": 0.8, "不满": 0.6,
    # positive and polite
    "谢谢": -0.8, "感谢": -0.8, "多谢": -0.8, "好评": -1.0, "满意": -0.8, "不错": -0.7,
    "很好": -0.8, "喜欢": -0.7, "棒": -0.8, "给力": -0.8, "辛苦": -0.6, "麻烦你": -0.3,
    "请问": -0.3, "您好": -0.3, "你好": -0.2, "开心": -0.8, "好用": -0.7, "惊喜": -0.8,
    "方便": -0.3, "专业": -0.5, "耐心": -0.6, "哈哈": -0.6,
}  # fmt: skip
EN_CUES: dict[str, float] = {
    "scam": 1.8, "scammer": 1.8, "scammers": 1.8, "fraud": 1.6, "rip-off": 1.5, "ripoff": 1.5,
    "rip off": 1.5, "cheated": 1.5, "cheat": 1.3, "liars": 1.6, "liar": 1.6, "lied": 1.3,
    "garbage": 1.5, "trash": 1.4, "crap": 1.4, "rubbish": 1.3, "junk": 1.0, "useless": 1.3,
    "worthless": 1.5, "pathetic": 1.6, "disgusting": 1.6, "disgrace": 1.6, "outrageous": 1.6,
    "ridiculous": 1.3, "unacceptable": 1.5, "absurd": 1.2, "insane": 1.0, "furious": 1.9,
    "angry": 1.4, "mad": 1.0, "pissed": 1.7, "livid": 1.9, "fuming": 1.8, "annoyed": 1.0,
    "frustrated": 1.0, "frustrating": 1.0, "fed up": 1.6, "sick of": 1.5, "had enough": 1.6,
    "last time": 0.8, "never again": 1.4, "never buy": 1.3, "worst": 1.5, "terrible": 1.2,
    "horrible": 1.3, "awful": 1.2, "incompetent": 1.6, "idiots": 1.8, "idiot": 1.8,
    "stupid": 1.4, "damn": 1.2, "wtf": 1.6, "hell": 0.9, "shit": 1.6, "fuck": 2.0,
    "fucking": 2.0, "bullshit": 1.9, "hate": 1.3, "sue": 1.4, "lawyer": 1.2, "report you": 1.4,
    "consumer association": 1.4, "chargeback": 1.2, "refund now": 1.4, "give me my money": 1.5,
    "my money back": 1.1, "complaint": 0.6, "complain": 0.6, "disappointed": 0.9,
    "disappointing": 0.9, "still not": 0.7, "still no": 0.7, "still hasn't": 0.8,
    "weeks": 0.4, "days ago": 0.4, "again": 0.3, "how many times": 1.2, "nobody": 0.8,
    "no one": 0.7, "ignored": 1.1, "ignoring": 1.1, "excuse": 0.7, "excuses": 1.0,
    "demand": 1.0, "immediately": 0.7, "right now": 0.7, "broken": 0.5, "damaged": 0.5,
    "late": 0.4, "slow": 0.5, "wrong": 0.4, "fake": 1.2, "bad": 0.6, "poor": 0.6,
    "thanks": -0.8, "thank you": -0.9, "thank": -0.6, "great": -0.8, "love": -0.8,
    "awesome": -0.9, "perfect": -0.9, "excellent": -0.9, "good": -0.5, "nice": -0.6,
    "happy": -0.8, "helpful": -0.7, "appreciate": -0.8, "please": -0.2, "hello": -0.2,
    "hi": -0.2, "cheers": -0.6, "glad": -0.7, "satisfied": -0.8,
}  # fmt: skip
ZH_DEGREE = {"太": 1.5, "非常": 1.5, "特别": 1.5, "极其": 1.8, "真": 1.3, "真是": 1.4,
             "简直": 1.6, "超级": 1.5, "实在": 1.4, "十分": 1.4, "好": 1.2, "最": 1.5,
             "完全": 1.4, "根本": 1.5, "这么": 1.3, "那么": 1.2}  # fmt: skip
EN_DEGREE = {"so": 1.4, "very": 1.4, "extremely": 1.8, "totally": 1.5, "absolutely": 1.6,
             "really": 1.3, "completely": 1.5, "utterly": 1.7, "too": 1.3, "such": 1.3,
             "most": 1.5, "fucking": 1.6, "damn": 1.4}  # fmt: skip
ZH_NEGATION = ("不", "没", "无", "非", "未", "不是", "没有", "并不", "不太", "不怎么")
EN_NEGATION = {"not", "no", "never", "dont", "don't", "didn't", "didnt", "isn't", "isnt",
               "wasn't", "wasnt", "aren't", "arent", "without", "hardly", "nor"}  # fmt: skip

_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*|\d+")
_EXCLAIM = re.compile(r"[!！]{2,}")
_QUESTION = re.compile(r"[?？]{2,}|[?？][!！]|[!！][?？]")
_REPEAT = re.compile(r"(.)\1{3,}")
_CAPS = re.compile(r"\b[A-Z]{3,}\b")


@dataclass(frozen=True)
class Sentiment:
    """`anger` 0..1 (how angry), `polarity` -1..1 (negative..positive), `angry` (anger
    over the threshold), `label` for people and queues, and the cues that fired."""

    anger: float
    polarity: float
    angry: bool
    label: str
    cues: tuple[str, ...] = field(default_factory=tuple)


def _automaton(words: dict[str, float]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for word, weight in words.items():
        automaton.add_word(word.lower(), (word.lower(), weight))
    automaton.make_automaton()
    return automaton


_ZH = _automaton(ZH_CUES)
_EN = _automaton(EN_CUES)


def _zh_modifier(text: str, start: int) -> tuple[float, bool]:
    """Degree multiplier and negation from the few characters before a cue."""
    before = text[max(0, start - 4) : start]
    degree = 1.0
    for word, factor in ZH_DEGREE.items():
        if before.endswith(word):
            degree = max(degree, factor)
    window = before[-2:]
    negated = any(window.endswith(n) or window[:-1].endswith(n) for n in ZH_NEGATION)
    # "不要", "要不" and the question "是不是…" do not negate the cue.
    if before.endswith(("不要", "要不")) or "是不是" in before:
        negated = False
    return degree, negated


def _en_modifier(tokens: list[str], index: int) -> tuple[float, bool]:
    degree = 1.0
    negated = False
    for back in range(1, 4):
        if index - back < 0:
            break
        token = tokens[index - back]
        if back == 1 and token in EN_DEGREE:
            degree = EN_DEGREE[token]
        if token in EN_NEGATION:
            negated = True
    return degree, negated


def _apply(weight: float, degree: float, negated: bool) -> float:
    if negated:
        # "不满意", "not happy": a positive cue negated is a mild complaint; an anger cue
        # negated ("not angry", "不生气") counts for little.
        return 0.6 if weight < 0 else weight * 0.15
    return weight * degree if weight > 0 else weight * min(degree, 1.3)


def _lexicon_score(text: str, lang: str) -> tuple[float, float, list[str]]:
    """(anger sum, positive sum, cues) from the lexicon for one language."""
    anger = 0.0
    positive = 0.0
    cues: list[str] = []
    lowered = text.lower()
    if lang == "zh" or re.search(r"[\u4e00-\u9fff]", text):
        taken: list[tuple[int, int]] = []
        matches = sorted(
            (
                (end - len(word) + 1, end + 1, word, weight)
                for end, (word, weight) in _ZH.iter(lowered)
            ),
            key=lambda m: (m[0], -(m[1] - m[0])),
        )
        for start, end, word, weight in matches:
            if any(start < e and end > s for s, e in taken):
                continue  # a longer cue at this place already counted ("垃圾客服" over "垃圾")
            taken.append((start, end))
            degree, negated = _zh_modifier(lowered, start)
            value = _apply(weight, degree, negated)
            cues.append(("不" if negated else "") + word)
            if value > 0:
                anger += value
            else:
                positive -= value
    tokens = [t.lower() for t in _WORD.findall(text)]
    if tokens:
        joined = " " + " ".join(tokens) + " "
        offsets = []
        pos = 1
        for token in tokens:
            offsets.append(pos)
            pos += len(token) + 1
        for end, (word, weight) in _EN.iter(joined):
            start = end - len(word) + 1
            if joined[start - 1] != " " or joined[end + 1] != " ":
                continue  # whole words only
            index = offsets.index(start) if start in offsets else 0
            degree, negated = _en_modifier(tokens, index)
            value = _apply(weight, degree, negated)
            cues.append(("not " if negated else "") + word)
            if value > 0:
                anger += value
            else:
                positive -= value
    return anger, positive, cues


def sentiment_of(text: str, language: str = "zh") -> Sentiment:
    """Score one message (see the module docstring)."""
    anger, positive, cues = _lexicon_score(text, language)
    boost = 0.0
    if _EXCLAIM.search(text):
        boost += 0.4
        cues.append("!!")
    if _QUESTION.search(text):
        boost += 0.3
        cues.append("??")
    caps = _CAPS.findall(text)
    if caps and any(c not in {"SKU", "SF", "ZTO", "OLED", "USB", "ID", "OK"} for c in caps):
        boost += 0.3 * min(3, len(caps))
        cues.append("CAPS")
    if _REPEAT.search(text):
        boost += 0.2
        cues.append("repeat")
    # Intensity only sharpens a message that already carries a complaint cue.
    raw = anger + (boost if anger > 0 else boost * 0.25) - 0.5 * positive
    raw = max(0.0, raw)
    score = 1.0 - math.exp(-raw)
    polarity = math.tanh(positive - anger - (boost if anger > 0 else 0.0))
    threshold = getattr(settings, "CSBOT_ANGER_THRESHOLD", 0.5)
    angry = score >= threshold
    if angry:
        label = "angry"
    elif polarity <= -0.3:
        label = "negative"
    elif polarity >= 0.3:
        label = "positive"
    else:
        label = "neutral"
    return Sentiment(
        anger=round(score, 4),
        polarity=round(polarity, 4),
        angry=angry,
        label=label,
        cues=tuple(cues),
    )
