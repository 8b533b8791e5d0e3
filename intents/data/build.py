"""Deterministic train/valid/heldout splits of the project's intent data.

Source: `intents/data/src/<label>.<zh|en>.txt` (one utterance per line; `#` lines and blank
lines ignored) and `intents/data/src/oos.<zh|en>.txt`. Each row's split follows from the
sha256 of its own normalised text alone: below 0.65 of the hash space it trains, below 0.77
it validates, above that it is held out (out-of-scope rows: half and half). So the order of
lines does not matter, and adding or removing lines never moves another row between splits:
a held-out row stays held out however the sources grow (the shares hold per label and
language only on average, ±3 points at ~200 rows). The same text (after normalisation)
appears once, in one split only.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
SRC_DIR = DATA_DIR / "src"
OOS = "oos"
LANGS = ("zh", "en")
# In-scope rows: share of the hash space per split (train / valid / heldout), in order.
SPLITS = (("train", 0.65), ("valid", 0.12), ("heldout", 0.23))
# Out-of-scope rows are never trained on: half choose the threshold, half measure it.
OOS_SPLITS = (("oos_valid", 0.5), ("oos_heldout", 0.5))
OUTPUTS = ("train", "valid", "heldout", "oos_valid", "oos_heldout")

_SRC_NAME = re.compile(r"^(?P<label>[a-z_]+(?:\.[a-z_]+)*)\.(?P<lang>zh|en)\.txt$")


@dataclass(frozen=True)
class BuildReport:
    counts: dict[str, int]  # rows per output file
    per_label: dict[str, dict[str, int]]  # label → split → rows
    duplicates: int  # lines dropped as duplicates of an earlier normalised text
    conflicts: list[str]  # normalised texts seen under two labels (all copies dropped)
    files: list[str]


def normalise_key(text: str) -> str:
    """The dedup/hash key: NFKC, lowercase, no punctuation or spaces (a line of only
    symbols, such as an emoji greeting, keeps its symbols)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if ch.isalnum()) or "".join(text.split())


def bucket(text: str) -> float:
    """A stable number in [0, 1) from the sha256 of the normalised text."""
    digest = hashlib.sha256(normalise_key(text).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _split_group(rows: list[dict], splits: tuple[tuple[str, float], ...]) -> dict[str, list]:
    """Place each row by its own hash: the first split whose cumulative share exceeds it."""
    out: dict[str, list] = {name: [] for name, _ in splits}
    for row in sorted(rows, key=lambda r: (bucket(r["text"]), r["text"])):
        position, edge = bucket(row["text"]), 0.0
        for i, (name, share) in enumerate(splits):
            edge += share
            if position < edge or i == len(splits) - 1:
                out[name].append(row)
                break
    return out


def read_sources(src_dir: Path = SRC_DIR) -> list[dict]:
    """All source lines as {"text", "label", "lang"} rows, in a stable order."""
    rows = []
    for path in sorted(src_dir.glob("*.txt")):
        match = _SRC_NAME.match(path.name)
        if not match:
            raise ValueError(f"{path.name}: expected <label>.<zh|en>.txt")
        label, lang = match["label"], match["lang"]
        for line in path.read_text(encoding="utf-8").splitlines():
            text = " ".join(line.split())
            if text and not text.startswith("#"):
                rows.append({"text": text, "label": label, "lang": lang})
    return rows


def build(src_dir: Path = SRC_DIR, out_dir: Path = DATA_DIR) -> BuildReport:
    """Read the sources, dedupe, split and write the five JSON Lines files."""
    rows = read_sources(src_dir)
    labels_of: dict[str, set[str]] = {}
    for row in rows:
        labels_of.setdefault(normalise_key(row["text"]), set()).add(row["label"])
    conflicts = sorted(k for k, labs in labels_of.items() if len(labs) > 1)
    conflicting = set(conflicts)
    seen: set[str] = set()
    groups: dict[tuple[str, str], list[dict]] = {}
    duplicates = 0
    for row in rows:
        key = normalise_key(row["text"])
        if not key or key in conflicting:
            continue
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        groups.setdefault((row["label"], row["lang"]), []).append(row)
    out: dict[str, list[dict]] = {name: [] for name in OUTPUTS}
    for (label, _lang), group in sorted(groups.items()):
        for name, part in _split_group(group, OOS_SPLITS if label == OOS else SPLITS).items():
            out[name].extend(part)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for name, split_rows in out.items():
        path = out_dir / f"{name}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for row in split_rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        files.append(str(path))
    per_label: dict[str, dict[str, int]] = {}
    for name, split_rows in out.items():
        for label, n in Counter(r["label"] for r in split_rows).items():
            per_label.setdefault(label, {})[name] = n
    return BuildReport(
        counts={name: len(r) for name, r in out.items()},
        per_label=dict(sorted(per_label.items())),
        duplicates=duplicates,
        conflicts=conflicts,
        files=files,
    )
