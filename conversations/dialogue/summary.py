"""Summaries of long messages: the sentences that carry the request.

A long message (a story, then the question) is classified on its summary, and
the summary is kept for the agent who may take the chat. Extractive on purpose:
it only ever quotes the shopper, so it cannot invent anything.
"""

import re

from conversations.dialogue.slots import ORDER_NO
from csbot.text import normalize

_SENTENCE = re.compile(r"[^。！？!?.\n；;]+[。！？!?.；;]*")
_ASKING = re.compile(
    r"[?？吗呢么]|怎么|能不能|可以|多少|什么|哪|how|what|when|where|can|could|why|\bis\b"
)
MAX_CHARS = 160


def summarize(text: str, *, cues: list[str] | None = None) -> str:
    """Up to two sentences, scored by question form, cue words, order numbers and
    position (requests tend to come last), kept in their original order."""
    sentences = [s.strip() for s in _SENTENCE.findall(text) if s.strip()]
    if len(sentences) <= 1:
        return text.strip()[:MAX_CHARS]
    scored = []
    for index, sentence in enumerate(sentences):
        norm = normalize(sentence)
        score = 2.0 if _ASKING.search(norm) else 0.0
        score += 1.5 if ORDER_NO.search(norm) else 0.0
        score += sum(1.0 for cue in cues or [] if cue in norm)
        score += 0.5 * index / len(sentences)
        scored.append((score, index, sentence))
    best = sorted(sorted(scored, reverse=True)[:2], key=lambda item: item[1])
    return " ".join(sentence for _, _, sentence in best)[:MAX_CHARS]
