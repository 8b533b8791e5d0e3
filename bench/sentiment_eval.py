"""Anger detection (safety.sentiment) on the hand-labelled zh/en set.

    .venv/bin/python bench/sentiment_eval.py [--threshold 0.5]

Prints accuracy and precision/recall/F1 of the "angry" class, overall and per
language, for a few thresholds, against two baselines in the same run: "always
calm" (the majority-class floor) and a bare keyword list (the lexicon's anger words
with no weights, negation or intensity cues: angry when any is present).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csbot.settings")

import django  # noqa: E402

django.setup()

from safety.sentiment import EN_CUES, ZH_CUES, sentiment_of  # noqa: E402
from safety.sentiment_eval import Row, anger_scores, labelled_rows  # noqa: E402

ANGER_WORDS = [w for w, weight in {**ZH_CUES, **EN_CUES}.items() if weight >= 1.0]


def keyword_scores(rows: list[Row]) -> tuple[float, float]:
    tp = fp = fn = tn = 0
    for row in rows:
        predicted = any(w in row.text.lower() for w in ANGER_WORDS)
        tp += predicted and row.angry
        fp += predicted and not row.angry
        fn += (not predicted) and row.angry
        tn += (not predicted) and not row.angry
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return (tp + tn) / len(rows), (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()
    rows = labelled_rows()
    angry = sum(r.angry for r in rows)
    print(f"{len(rows)} labelled messages ({angry} angry, {len(rows) - angry} calm)")
    print(f"{'subset':<8} {'threshold':>9} {'n':>4} {'acc':>6} {'P':>6} {'R':>6} {'F1':>6}")
    for threshold in sorted({0.4, args.threshold, 0.6, 0.7}):
        for lang in ("all", "zh", "en"):
            subset = rows if lang == "all" else [r for r in rows if r.language == lang]
            s = anger_scores(subset, threshold)
            print(
                f"{lang:<8} {threshold:>9.2f} {s.n:>4} {s.accuracy:>6.3f} {s.precision:>6.3f} "
                f"{s.recall:>6.3f} {s.f1:>6.3f}"
            )
    ours = anger_scores(rows, args.threshold)
    kw_acc, kw_f1 = keyword_scores(rows)
    floor = (len(rows) - angry) / len(rows)
    print(
        f"\nbaselines: always calm accuracy {floor:.3f} (F1 0.000); bare keyword list accuracy "
        f"{kw_acc:.3f}, F1 {kw_f1:.3f}; lexicon with cues at {args.threshold}: accuracy "
        f"{ours.accuracy:.3f}, F1 {ours.f1:.3f} (F1 ratio {ours.f1 / kw_f1:.2f}x keywords)"
    )
    started = time.perf_counter()
    n = 0
    while time.perf_counter() - started < 1.0:
        for row in rows:
            sentiment_of(row.text, row.language)
        n += len(rows)
    print(f"speed: {n / (time.perf_counter() - started):,.0f} messages/s")


if __name__ == "__main__":
    main()
