"""The hand-labelled anger set (safety/data/sentiment_labelled.tsv) and its scoring,
shared by bench/sentiment_eval.py and the tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from safety.sentiment import sentiment_of

LABELLED = Path(__file__).parent / "data" / "sentiment_labelled.tsv"


@dataclass(frozen=True)
class Row:
    angry: bool
    language: str
    text: str


def labelled_rows() -> list[Row]:
    rows = []
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, language, text = line.split("\t", 2)
        rows.append(Row(angry=label == "angry", language=language, text=text.strip()))
    return rows


@dataclass(frozen=True)
class AngerScores:
    n: int
    accuracy: float
    precision: float
    recall: float
    f1: float


def anger_scores(rows: list[Row], threshold: float) -> AngerScores:
    """Accuracy, and precision/recall/F1 of the "angry" class, at `threshold`."""
    tp = fp = fn = tn = 0
    for row in rows:
        predicted = sentiment_of(row.text, row.language).anger >= threshold
        if predicted and row.angry:
            tp += 1
        elif predicted:
            fp += 1
        elif row.angry:
            fn += 1
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return AngerScores(
        n=len(rows),
        accuracy=(tp + tn) / len(rows) if rows else 0.0,
        precision=precision,
        recall=recall,
        f1=f1,
    )
