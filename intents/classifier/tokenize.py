"""Text → tokens for the intent classifier: one function used at training and at prediction.

NFKC + lowercase, placeholders for order numbers, prices and long digit runs, jieba for
Chinese runs, English words kept whole (fastText adds character n-grams itself), optional
single-character tokens for Chinese words so a segmentation slip still shares features.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata

ORDER = "__order__"
PRICE = "__price__"
NUMBER = "__number__"
TRACKING = "__tracking__"

# Shop words jieba's default dictionary splits badly (or glues to a neighbour: 开发票).
_DOMAIN_WORDS = (
    "价保",
    "保价",
    "发票",
    "电子发票",
    "七天无理由",
    "无理由退货",
    "退货",
    "换货",
    "退款",
    "人工客服",
    "转人工",
    "顺丰",
    "中通",
    "分期",
    "免息",
    "包邮",
    "运费",
    "快递费",
    "物流",
    "催单",
    "改地址",
    "降噪",
    "保温杯",
    "跑鞋",
    "花呗",
    "云闪付",
)
# Pairs jieba should keep apart (开发票 is "develop tickets" to jieba; here it is 开 + 发票).
_SPLITS = (("开", "发票"), ("能", "开"))

# Lookarounds, not \b: a Chinese character is a word character, so 订单DD2026… has no \b.
_ORDER_RE = re.compile(r"(?<![a-z0-9])dd\s?\d{12}(?!\d)")
_TRACKING_RE = re.compile(r"(?<![a-z0-9])(?:sf|zto|yt|jd)\d{8,}(?!\d)")
_PRICE_RE = re.compile(
    r"[¥$€£]\s?\d+(?:[.,]\d+)?"
    r"|\d+(?:\.\d+)?\s?(?:元|块钱|块|rmb\b|yuan\b|dollars?\b|usd\b|euros?\b|bucks\b)"
)
_LONG_DIGITS_RE = re.compile(r"\d{5,}")
_PLACEHOLDER_RE = re.compile(r"__(?:order|price|number|tracking)__")
# A run of CJK ideographs; jieba segments it.
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN_RE = re.compile(f"[{_CJK}]+")
# Emoji and pictographs say a lot in chat (👋 hello, 🙏 thanks): one token each.
_EMOJI = r"\U0001F000-\U0001FAFF\u2600-\u27BF"
# Everything else: placeholders, other words (with inner apostrophes), numbers, emoji, ? and !
# (a run of the same emoji, ? or ! counts once).
_TOKEN_RE = re.compile(
    rf"__(?:order|price|number|tracking)__|[{_CJK}]+|[^\W_{_CJK}]+(?:'[^\W_{_CJK}]+)*"
    rf"|[{_EMOJI}]|[?!]",
)

_lock = threading.Lock()
_jieba = None


def _segmenter():
    """The jieba tokenizer, built once (loading its dictionary takes ~0.5 s), quietly."""
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tok = jieba.Tokenizer()
                tok.initialize()
                for word in _DOMAIN_WORDS:
                    tok.add_word(word, freq=20000)
                for pair in _SPLITS:
                    tok.suggest_freq(pair, tune=True)
                _jieba = tok
    return _jieba


def normalize(text: str) -> str:
    """NFKC (full-width → ASCII, ？→?), lowercase, placeholders, collapsed whitespace."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    text = _ORDER_RE.sub(f" {ORDER} ", text)
    text = _TRACKING_RE.sub(f" {TRACKING} ", text)
    text = _PRICE_RE.sub(f" {PRICE} ", text)
    text = _LONG_DIGITS_RE.sub(f" {NUMBER} ", text)
    return " ".join(text.split())


def tokenize(text: str, *, cjk_chars: bool = False, cjk_bigrams: bool = False) -> list[str]:
    """Tokens of `text`; with `cjk_chars`, each multi-character Chinese word also adds its
    characters (after the word), which helps when jieba segments an unseen phrasing differently;
    with `cjk_bigrams`, each Chinese run also adds its character bigrams (across word
    boundaries), so 催单 shares features with 催个单 and 单号 however jieba cuts them."""
    tokens: list[str] = []
    for match in _TOKEN_RE.finditer(normalize(text)):
        piece = match.group()
        if _CJK_RUN_RE.fullmatch(piece):
            for word in _segmenter().lcut(piece, HMM=True):
                tokens.append(word)
                if cjk_chars and len(word) > 1:
                    tokens.extend(word)
            if cjk_bigrams and len(piece) > 1:
                tokens.extend(piece[i : i + 2] for i in range(len(piece) - 1))
        elif len(piece) == 1 and not piece.isalnum() and tokens and tokens[-1] == piece:
            continue
        else:
            tokens.append(piece)
    return tokens


def tokenized(text: str, *, cjk_chars: bool = False, cjk_bigrams: bool = False) -> str:
    """The space-joined tokens, the form fastText reads (one line, no newlines)."""
    return " ".join(tokenize(text, cjk_chars=cjk_chars, cjk_bigrams=cjk_bigrams))


def is_placeholder(token: str) -> bool:
    return bool(_PLACEHOLDER_RE.fullmatch(token))
