"""PII detection precision and recall (safety.pii) on the synthetic corpus and the
hand-written held-out lines.

    .venv/bin/python bench/pii_eval.py [--seed 20261124] [--errors 10]

Span-level: a detection counts only with the right kind and covering the whole value
(a partial mask leaks the rest); anything else detected is a false positive. The
baseline is a naive detector in the same run (any 11-digit run starting with 1 is a
phone, any 13-19 digit run a card, any 18-character ID shape an ID number, plus the
same e-mail regex; no addresses), to show what the context rules buy.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csbot.settings")

import django  # noqa: E402

django.setup()

from safety import pii  # noqa: E402
from safety.pii import PiiKind, PiiSpan  # noqa: E402
from safety.pii_corpus import corpus, evaluate, handwritten  # noqa: E402

NAIVE = [
    (PiiKind.EMAIL, pii.EMAIL_RE),
    (PiiKind.ID_NUMBER, re.compile(r"\d{17}[\dXx]")),
    (PiiKind.PHONE, re.compile(r"1\d{10}")),
    (PiiKind.BANK_CARD, re.compile(r"\d{13,19}")),
]


def naive_find(text: str) -> list[PiiSpan]:
    found: list[PiiSpan] = []
    for kind, regex in NAIVE:
        for m in regex.finditer(text):
            if all(m.end() <= s.start or m.start() >= s.end for s in found):
                found.append(PiiSpan(kind, m.start(), m.end(), 1.0))
    return sorted(found, key=lambda s: s.start)


def report(name: str, samples, errors_shown: int) -> None:
    started = time.perf_counter()
    scores, errors = evaluate(samples)
    elapsed = time.perf_counter() - started
    positives = sum(1 for s in samples if s.gold)
    print(
        f"\n{name}: {len(samples)} texts ({positives} with personal data, "
        f"{len(samples) - positives} hard negatives), {len(samples) / elapsed:,.0f} texts/s"
    )
    print(f"{'kind':<10} {'tp':>5} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}")
    for key, score in scores.items():
        print(
            f"{key:<10} {score.tp:>5} {score.fp:>4} {score.fn:>4} "
            f"{score.precision:>9.3f} {score.recall:>7.3f}"
        )
    for sample, found in errors[:errors_shown]:
        got = [(s.kind.value, sample.text[s.start : s.end]) for s in found]
        print(f"  miss/extra [{sample.fmt}] {sample.text!r} -> {got}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--errors", type=int, default=10, help="wrong samples to print")
    args = parser.parse_args()
    samples = corpus(seed=args.seed)
    report(f"synthetic corpus (seed {args.seed})", samples, args.errors)
    report("hand-written held-out lines", handwritten(), args.errors)

    detector = pii.pii_find
    pii.pii_find = naive_find  # the baseline, through the same scorer
    try:
        scores, _ = evaluate(samples)
    finally:
        pii.pii_find = detector
    ours, _ = evaluate(samples)
    print(
        f"\nbaseline (naive regexes) on the synthetic corpus: precision "
        f"{scores['all'].precision:.3f}, recall {scores['all'].recall:.3f}; "
        f"safety.pii: precision {ours['all'].precision:.3f}, recall {ours['all'].recall:.3f}"
    )


if __name__ == "__main__":
    main()
