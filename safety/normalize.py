"""Matching forms of text that resist evasion, with a map back to the original.

`fold` keeps one character per original character (NFKC where it yields exactly one
character: full-width digits and letters become ASCII), so a regex span on the
folded text is the same span on the original: what PII detection needs.

`skeleton` is what banned-word matching runs on: every original character goes
through NFKC, loses its accents (NFD, combining marks dropped), is case-folded and
converted from traditional to simplified Chinese (OpenCC `t2s`); separators
(spaces, punctuation, symbols, emoji, zero-width and other format or control
characters) disappear; runs of one character collapse to one, with the original
index of each letter in the run kept.
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
    """Collapsed matching form: `text[i]` occurred `len(positions[i])` times in a row
    (separators between them ignored), at those indexes of the original text."""

    text: str
    positions: tuple[tuple[int, ...], ...]

    @property
    def counts(self) -> tuple[int, ...]:
        return tuple(len(p) for p in self.positions)

    def span(self, first: int, last: int, needed_first: int, needed_last: int) -> tuple[int, int]:
        """The original span of skeleton runs first..last, where the word needs
        `needed_first` letters of the first run and `needed_last` of the last: the run's
        extra letters count only when they touch the word ("fffuck" is all masked, but
        "yuan ngrn" keeps the n of "yuan" out of "ngrn")."""
        head = self.positions[first]
        i = len(head) - needed_first
        while i > 0 and head[i - 1] == head[i] - 1:
            i -= 1
        tail = self.positions[last]
        j = needed_last - 1
        while j + 1 < len(tail) and tail[j + 1] == tail[j] + 1:
            j += 1
        return head[i], tail[j] + 1


def skeleton(text: str) -> Skeleton:
    """The evasion-resistant form of `text` (see the module docstring)."""
    chars: list[str] = []
    positions: list[list[int]] = []
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
                positions[-1].append(index)
            else:
                chars.append(c)
                positions.append([index])
    return Skeleton("".join(chars), tuple(tuple(p) for p in positions))


def pattern_skeleton(word: str) -> tuple[str, tuple[int, ...]]:
    """A banned word's collapsed form and run lengths ("ass" -> "as", (1, 2))."""
    sk = skeleton(word)
    return sk.text, sk.counts
