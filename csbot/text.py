"""Text helpers every app shares: normalisation, cleaning of incoming text, and the
shopper's language (detected from the text, or chosen by cookie or Accept-Language)."""

import re
import threading
import unicodedata

import opencc
from django.conf import settings

from csbot.errors import ChatError, ErrorCode

_SPACES = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"(?<![A-Za-z0-9-])[A-Za-z]{2,}(?![A-Za-z0-9-])")


def normalize(text: str) -> str:
    """NFKC (full-width to half-width), lower case, single spaces."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


def detect_language(text: str, prior: str = "zh") -> str:
    """'zh' when the text has Chinese characters, 'en' when it is Latin letters only,
    otherwise the prior (the conversation's or the browser's language)."""
    if _CJK.search(text):
        return "zh"
    # Order numbers and SKUs (letters glued to digits) are not English words.
    if _LATIN_WORD.search(text):
        return "en"
    return prior if prior in {"zh", "en"} else "zh"


def language_preferred(cookie: str | None, accept_language: str | None) -> str:
    """The storefront's language choice (Django's language cookie) wins over the
    browser's Accept-Language."""
    if cookie:
        code = cookie.strip().lower()
        if code.startswith("zh"):
            return "zh"
        if code.startswith("en"):
            return "en"
    return language_from_accept(accept_language)


def language_from_accept(header: str | None, default: str = "zh") -> str:
    """The first supported language in an Accept-Language header."""
    if not header:
        return default
    for part in header.split(","):
        tag = part.split(";", 1)[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return default


# NUL and the bidi embedding/override/isolate controls: never stored (they can make the
# agent console show text in another order than it was written).
_STRIPPED = dict.fromkeys([0x00, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def clean_text(text: str) -> str:
    """Drop NUL and bidi controls, trim, reject empty and over-long text; the limit
    counts characters, not bytes."""
    text = text.translate(_STRIPPED).strip()
    if not text:
        raise ChatError(ErrorCode.EMPTY_TEXT)
    if len(text) > settings.CSBOT_MAX_TEXT_CHARS:
        raise ChatError(ErrorCode.TEXT_TOO_LONG)
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise ChatError(ErrorCode.INVALID_FRAME, "text contains lone surrogates")
    return text


# --- Chinese scripts ------------------------------------------------------------------
# The bot understands simplified Chinese; a shopper writing traditional characters is
# read through OpenCC's t2s and answered through s2t (about 3 µs a message each).

_converters: dict[str, opencc.OpenCC] = {}
_converters_lock = threading.Lock()


def _opencc(config: str) -> opencc.OpenCC:
    converter = _converters.get(config)
    if converter is None:
        with _converters_lock:
            converter = _converters.setdefault(config, opencc.OpenCC(config))
    return converter


def to_simplified(text: str) -> str:
    """Traditional Chinese characters to simplified (other text unchanged)."""
    return _opencc("t2s").convert(text) if _CJK.search(text) else text


def to_traditional(text: str) -> str:
    """Simplified Chinese characters to traditional (other text unchanged)."""
    return _opencc("s2t").convert(text) if _CJK.search(text) else text


def is_traditional(text: str) -> bool:
    """Whether the text has characters that only traditional Chinese writes so."""
    return bool(_CJK.search(text)) and to_simplified(text) != text
