"""Banned-word matching speed with a large list (safety.banned).

    .venv/bin/python bench/banned_words.py [--entries 10000] [--messages 5000]

Builds a 10,000-entry list (Chinese words of 2-4 characters and English words of
4-9 letters, made up from a fixed seed), a set of shop messages (a tenth carry a
listed word behind an evasion: spaces, punctuation, full-width or traditional
forms, repeated letters), and measures messages/s of:
- safety.banned: normalise to the skeleton + one Aho–Corasick pass, evasions caught;
- baseline: a plain scan, `word in text.lower()` for each of the entries, which
  catches only the plain spellings.
It prints both rates, the ratio, and how many evasions each caught.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csbot.settings")

import django  # noqa: E402

django.setup()

from safety.banned import Matcher  # noqa: E402

HAN = "的一是在不了有人这中大为上个国我以要他时来用们生到作地于出就分对成会可也你"
TRAD = {"国": "國", "这": "這", "为": "為", "个": "個", "们": "們", "时": "時", "会": "會"}
QUESTIONS = [
    "你好，X5 有现货吗？",
    "订单DD202611010001到哪了，顺丰单号SF1234567890",
    "运费怎么算，新疆能发吗",
    "Is the X5 Lite in stock? When is the restock date?",
    "I want to return the Cloud Buds Pro, they stopped charging after a week.",
    "耳机左边没声音了，可以换货吗？我是上周三收到的，包装都还在。",
    "Can I pay in 6 interest-free installments for an order over 600 yuan?",
]


def make_entries(rng: random.Random, n: int) -> list[str]:
    words: set[str] = set()
    while len(words) < n:
        if rng.random() < 0.6:
            words.add("".join(rng.choice(HAN) for _ in range(rng.randint(2, 4))))
        else:
            words.add("".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(rng.randint(4, 9))))
    return sorted(words)


def evade(rng: random.Random, word: str) -> str:
    trick = rng.choice(["space", "dot", "fullwidth", "trad", "repeat", "zw"])
    if trick == "space":
        return " ".join(word)
    if trick == "dot":
        return ".".join(word)
    if trick == "fullwidth":
        return "".join(chr(ord(c) + 0xFEE0) if c.isascii() else c for c in word)
    if trick == "trad":
        return "".join(TRAD.get(c, c) for c in word)
    if trick == "zw":
        return "\u200b".join(word)
    return "".join(c * 3 if i == 1 else c for i, c in enumerate(word))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=5_000)
    args = parser.parse_args()
    rng = random.Random(2026)
    entries = make_entries(rng, args.entries)
    messages: list[tuple[str, bool]] = []
    for i in range(args.messages):
        text = rng.choice(QUESTIONS)
        if i % 10 == 0:
            text = f"{text} {evade(rng, rng.choice(entries))}"
            messages.append((text, True))
        else:
            messages.append((text, False))

    started = time.perf_counter()
    matcher = Matcher([(w, "other", "mask") for w in entries])
    build_s = time.perf_counter() - started

    started = time.perf_counter()
    ours_caught = sum(1 for text, evaded in messages if evaded and matcher.find(text))
    ours_flagged = sum(1 for text, _ in messages if matcher.find(text))
    ours_s = (time.perf_counter() - started) / 2  # two passes above

    lowered_entries = [w.lower() for w in entries]
    started = time.perf_counter()
    base_caught = 0
    for text, evaded in messages:
        low = text.lower()
        hit = False
        for word in lowered_entries:
            if word in low:
                hit = True
                break
        base_caught += hit and evaded
    base_s = time.perf_counter() - started

    evasions = sum(1 for _, evaded in messages if evaded)
    ours_rate = len(messages) / ours_s
    base_rate = len(messages) / base_s
    print(f"{len(entries):,} entries, {len(messages):,} messages ({evasions} with an evasion)")
    print(f"automaton build: {build_s * 1000:.0f} ms")
    print(
        f"safety.banned (skeleton + Aho-Corasick): {ours_rate:,.0f} messages/s, "
        f"{ours_s / len(messages) * 1e6:.1f} us/message, evasions caught {ours_caught}/{evasions}, "
        f"messages with any hit {ours_flagged}"
    )
    print(
        f"baseline (plain `in` scan over the list): {base_rate:,.0f} messages/s, "
        f"{base_s / len(messages) * 1e6:.1f} us/message, evasions caught {base_caught}/{evasions}"
    )
    print(f"ratio: {ours_rate / base_rate:.1f}x the baseline's throughput")


if __name__ == "__main__":
    main()
