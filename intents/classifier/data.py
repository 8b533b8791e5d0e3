"""{"text", "label"} rows: reading JSON Lines files, checking rows handed to training and
evaluation, and hashing them, with errors that say which file, line or row is wrong."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .params import OOS


class DataError(ValueError):
    """A data file that cannot be used, with a message fit for the person who wrote it."""


class TrainingDataError(ValueError):
    """The rows cannot train a classifier (too few labels, empty texts, …)."""


def read_jsonl(path: str | os.PathLike, *, require_labels: int = 0) -> list[dict]:
    """Rows of a JSON Lines file of {"text", "label", ...} objects (blank lines skipped).

    With `require_labels`, also insist on that many distinct labels other than `oos`.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file")
    rows: list[dict] = []
    with p.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{p}, line {number}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{p}, line {number}: expected a JSON object")
            if not isinstance(row.get("text"), str):  # "" is allowed: shoppers send it too
                raise DataError(f"{p}, line {number}: missing 'text' (a string)")
            if not isinstance(row.get("label"), str) or not row["label"].strip():
                raise DataError(f"{p}, line {number}: missing or empty 'label'")
            label = row["label"].strip()
            if any(ch.isspace() for ch in label):
                raise DataError(f"{p}, line {number}: label {label!r} contains whitespace")
            rows.append({**row, "label": label})
    if not rows:
        raise DataError(f"{p}: no rows (the file is empty)")
    if require_labels:
        labels = {r["label"] for r in rows if r["label"] != "oos"}
        if len(labels) < require_labels:
            raise DataError(
                f"{p}: training needs at least {require_labels} labels besides 'oos', "
                f"found {len(labels)}"
            )
    return rows


def check_training_rows(rows: Sequence[dict], *, oos_class: bool) -> list[dict]:
    """The rows to train on, as {"text", "label"} strings (`oos` rows dropped unless they are
    a class of their own); TrainingDataError for malformed rows or fewer than 2 labels."""
    usable = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "text" not in row or "label" not in row:
            raise TrainingDataError(f"row {i + 1} needs 'text' and 'label'")
        label = str(row["label"]).strip()
        if not label or any(ch.isspace() for ch in label):
            raise TrainingDataError(f"row {i + 1}: label {row['label']!r} is empty or has spaces")
        if label == OOS and not oos_class:
            continue
        usable.append({"text": str(row["text"]), "label": label})
    labels = {r["label"] for r in usable}
    if len(labels) < 2:
        raise TrainingDataError(f"training needs at least 2 labels, got {len(labels)}")
    return usable


def check_eval_rows(rows: Sequence[dict]) -> list[dict]:
    """The rows to score, as {"text", "label"} strings; TrainingDataError when there are none
    or one lacks a field."""
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "text" not in row or "label" not in row:
            raise TrainingDataError(f"row {i + 1} needs 'text' and 'label'")
        out.append({"text": str(row["text"]), "label": str(row["label"]).strip()})
    if not out:
        raise TrainingDataError("no rows to evaluate")
    return out


def data_hash(rows: Iterable[dict]) -> str:
    """sha256 over the sorted (label, text) pairs: the same data in any order, same hash."""
    digest = hashlib.sha256()
    for label, text in sorted((str(r["label"]), str(r["text"])) for r in rows):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()
