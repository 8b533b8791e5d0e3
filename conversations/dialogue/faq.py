"""FAQ retrieval: BM25 (bm25s) over jieba tokens of every question phrasing.

BM25 ranks the phrasings; a match is accepted only when the words overlap
enough both ways, so a long unrelated question that shares one rare word with
a phrasing does not get that FAQ's answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import bm25s
import numpy as np

from catalog.models import FaqEntry
from csbot.cache import Derived
from intents.classifier.tokenize import is_placeholder, tokenize

_STOP_WORDS = (
    "的 了 吗 呢 吧 啊 呀 么 是 我 你 们 这 那 有 在 请问 一下 可以 能 怎么 什么 "
    "a an the is are do does can i you to of for my it in on and or what how please"
)
STOP_TOKENS = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True)
class FaqMatch:
    entry: FaqEntry
    phrasing: str
    coverage: float  # share of the question's words found in the phrasing, and back


def _content(tokens: list[str]) -> list[str]:
    return [t for t in tokens if t.strip() and t not in STOP_TOKENS and not is_placeholder(t)]


class FaqIndex:
    def __init__(self, entries: list[FaqEntry]) -> None:
        self.rows: list[tuple[FaqEntry, str, list[str]]] = []
        for entry in entries:
            for phrasing in entry.phrasings():
                tokens = _content(tokenize(phrasing))
                if tokens:
                    self.rows.append((entry, phrasing, tokens))
        # token -> (row, distinct tokens of that row): what a question shares with a row.
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for row, (_, _, tokens) in enumerate(self.rows):
            distinct = set(tokens)
            for token in distinct:
                self.postings.setdefault(token, []).append((row, len(distinct)))
        self.bm25: bm25s.BM25 | None = None
        if self.rows:
            self.bm25 = bm25s.BM25()
            self.bm25.index([tokens for _, _, tokens in self.rows], show_progress=False)

    def search(self, text: str, *, min_coverage: float = 0.0) -> FaqMatch | None:
        """The best of the top three BM25 rows by coverage; None when no row could
        reach `min_coverage` (then the scoring is skipped altogether)."""
        query = _content(tokenize(text))
        if not query or self.bm25 is None:
            return None
        query_set = set(query)
        shared: dict[int, list[int]] = {}
        for token in query_set:
            for row, size in self.postings.get(token, ()):
                shared.setdefault(row, [0, size])[0] += 1
        if not any(
            min(n / len(query_set), n / size) >= min_coverage and n for n, size in shared.values()
        ):
            return None
        known = [t for t in query if t in self.bm25.vocab_dict]
        # One query over a small corpus: score every row directly (bm25s.retrieve's
        # batching machinery costs more than the scoring here) and keep the top three.
        scores = self.bm25.get_scores(known)
        best: FaqMatch | None = None
        for doc in np.argsort(scores)[::-1][:3]:
            if scores[doc] <= 0:
                continue
            entry, phrasing, tokens = self.rows[int(doc)]
            doc_set = set(tokens)
            overlap = len(query_set & doc_set)
            coverage = min(overlap / len(query_set), overlap / len(doc_set))
            if best is None or coverage > best.coverage:
                best = FaqMatch(entry=entry, phrasing=phrasing, coverage=round(coverage, 3))
        return best


def _faq_index_build() -> FaqIndex:
    return FaqIndex(list(FaqEntry.objects.filter(is_active=True)))


_faq_index: Derived[FaqIndex] = Derived("faq.index", _faq_index_build)


def faq_index() -> FaqIndex:
    """The process's FAQ index. It follows the shop facts (`csbot.cache.SHOP_FACTS`):
    an entry added or edited in the admin is used by every process within a second or
    two."""
    return _faq_index.get()
