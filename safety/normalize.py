"""Matching forms of text that resist evasion, with a map back to the original.

`fold` keeps one character per original character (NFKC where it yields exactly one
character: full-width digits and letters become ASCII), so a regex span on the
folded text is the same span on the original: what PII detection needs.

`skeleton` is what banned-word matching runs on: every original character goes
through NFKC, loses its accents (NFD, combining marks dropped), is case-folded and
converted from traditional to simplified Chinese (OpenCC `t2s`); separators
(spaces, punctuation, symbols, emoji, zero-width and other format or control
characters) disappear; runs of one character collapse to one, their lengths kept.
Each skeleton character remembers the original span it came from, so a match can
be masked in the text the shopper wrote.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass

import opencc

_t2s_lock = threading.Lock()
_t2s: opencc.OpenCC | None = None
# Per original character: the characters it contributes to the skeleton ("" to drop).
_char_cache: dict[str, str] = {}
_CACHE_LIMIT = 200_000
# Letters and digits are kept; everything else (P*, S*, Z*, C*, M*) separates.
_KEEP = ("L", "N")


def _converter() -> opencc.OpenCC:
    global _t2s
    if _t2s is None:
        with _t2s_lock:
            if _t2s is None:
                _t2s = opencc.OpenCC("t2s")
    return _t2s


def fold(text: str) -> str:
    """Full-width and compatibility forms to their plain form, one char per char."""
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
            continue
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded if len(folded) == 1 else ch)
    return "".join(out)


def _char_skeleton(ch: str) -> str:
    found = _char_cache.get(ch)
    if found is not None:
        return found
    parts = []
    for c in unicodedata.normalize("NFKC", ch):
        for base in unicodedata.normalize("NFD", c):
            if unicodedata.category(base)[0] in _KEEP:
                parts.append(base.casefold())
    result = "".join(parts)
    if result and not result.isascii():
        result = _converter().convert(result)
    if len(_char_cache) < _CACHE_LIMIT:
        _char_cache[ch] = result
    return result


@dataclass(frozen=True)
class Skeleton:
    """Collapsed matching form: `text[i]` occurred `counts[i]` times in a row, and came
    from `original[starts[i]:ends[i]]`."""

    text: str
    counts: tuple[int, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]


def skeleton(text: str) -> Skeleton:
    """The evasion-resistant form of `text` (see the module docstring)."""
    chars: list[str] = []
    counts: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    for index, ch in enumerate(text):
        if ch.isascii():
            if ch.isalnum():
                out = ch.lower()
            else:
                continue
        else:
            out = _char_skeleton(ch)
            if not out:
                continue
        for c in out:
            if chars and chars[-1] == c:
                counts[-1] += 1
                ends[-1] = index + 1
            else:
                chars.append(c)
                counts.append(1)
                starts.append(index)
                ends.append(index + 1)
    return Skeleton("".join(chars), tuple(counts), tuple(starts), tuple(ends))


def pattern_skeleton(word: str) -> tuple[str, tuple[int, ...]]:
    """A banned word's collapsed form and run lengths ("ass" -> "as", (1, 2))."""
    sk = skeleton(word)
    return sk.text, sk.counts
