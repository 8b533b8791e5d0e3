"""Text normalisation and language detection shared by every dialogue stage."""

import re
import unicodedata

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
