"""Banned-word matching: one Aho–Corasick automaton (pyahocorasick) over the
evasion-resistant skeleton of the text (`safety.normalize`).

Each process keeps its automaton as a `csbot.cache.Derived` of the shop facts: a
change to the list bumps that generation once it commits, so every web and worker
process rebuilds within a second or two, without a restart.

A match on the skeleton is accepted when each of its runs is at least as long as
the word's own run ("fuuuck" matches "fuck", but "as" does not match "ass"), and,
for words written in Latin letters or digits, when it starts and ends on a word
boundary of the original text ("assessment" does not hold "ass").
"""

from __future__ import annotations

from dataclasses import dataclass

import ahocorasick

from csbot.cache import Derived
from safety.models import BannedWord
from safety.normalize import pattern_skeleton, skeleton

ACTION_RANK = {"flag": 1, "mask": 2, "block": 3}


@dataclass(frozen=True)
class Entry:
    word: str
    category: str
    action: str
    counts: tuple[int, ...]
    latin: bool


@dataclass(frozen=True)
class Hit:
    """A banned word found in the text, with its span in the original text."""

    word: str
    category: str
    action: str
    start: int
    end: int


class Matcher:
    """An automaton built from (word, category, action) entries."""

    def __init__(self, entries: list[tuple[str, str, str]]) -> None:
        self.automaton = ahocorasick.Automaton()
        self.size = 0
        by_key: dict[str, list[Entry]] = {}
        for word, category, action in entries:
            key, counts = pattern_skeleton(word)
            if not key:
                continue
            latin = key.isascii()
            by_key.setdefault(key, []).append(Entry(word, category, action, counts, latin))
        for key, items in by_key.items():
            self.automaton.add_word(key, (len(key), tuple(items)))
            self.size += len(items)
        if self.size:
            self.automaton.make_automaton()

    def find(self, text: str) -> list[Hit]:
        """Every banned word in `text` (overlaps allowed), in order of position."""
        if not self.size or not text:
            return []
        sk = skeleton(text)
        counts = sk.counts
        hits: list[Hit] = []
        for end, (length, entries) in self.automaton.iter(sk.text):
            first = end - length + 1
            for entry in entries:
                if not _runs_cover(counts, first, entry.counts):
                    continue
                start, stop = sk.span(first, end, entry.counts[0], entry.counts[-1])
                if entry.latin and not _on_word_boundary(text, start, stop):
                    continue
                hits.append(Hit(entry.word, entry.category, entry.action, start, stop))
        hits.sort(key=lambda h: (h.start, -h.end))
        return hits


def _runs_cover(counts: tuple[int, ...], first: int, needed: tuple[int, ...]) -> bool:
    return all(counts[first + i] >= n for i, n in enumerate(needed))


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _on_word_boundary(text: str, start: int, stop: int) -> bool:
    before = text[start - 1] if start > 0 else ""
    after = text[stop] if stop < len(text) else ""
    return not (before and _is_word_char(before)) and not (after and _is_word_char(after))


def mask_spans(text: str, hits: list[Hit]) -> str:
    """`text` with each hit's characters (separators inside it included) as '*'."""
    if not hits:
        return text
    chars = list(text)
    for hit in hits:
        for i in range(hit.start, hit.end):
            if not chars[i].isspace():
                chars[i] = "*"
    return "".join(chars)


# --- the process's matcher, rebuilt when the shop facts move ------------------


def _load() -> Matcher:
    rows = BannedWord.objects.filter(is_active=True).values_list("word", "category", "action")
    return Matcher(list(rows))


_matcher: Derived[Matcher] = Derived("safety.banned_matcher", _load)


def matcher() -> Matcher:
    """This process's matcher for the active list (rebuilt after a change to it)."""
    return _matcher.get()


def matcher_reset() -> None:
    """Forget this process's matcher now (a test that writes rows without announcing
    them; everything else bumps the shop facts, and tests reset through
    `csbot.cache.local_reset_all`)."""
    _matcher.reset()
