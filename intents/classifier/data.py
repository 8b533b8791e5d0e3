"""Reading {"text", "label"} JSON Lines files, with errors that name the file and line."""

from __future__ import annotations

import json
import os
from pathlib import Path


class DataError(ValueError):
    """A data file that cannot be used, with a message fit for the person who wrote it."""


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
