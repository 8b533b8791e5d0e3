"""Stable arm assignment: sha256 of experiment name and shopper key, never Python's
`hash()` (salted per process, it would move shoppers between arms on every restart)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

BUCKETS = 10_000  # shares are in hundredths of a percent


def bucket_of(*, experiment: str, shopper_key: str) -> int:
    """The shopper's bucket in 0..9999 for this experiment; the same in every process."""
    digest = hashlib.sha256(f"{experiment}\x00{shopper_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def arm_pick(*, experiment: str, arms: Sequence[tuple[str, float]], shopper_key: str) -> str | None:
    """The arm (name, percent) whose share holds the shopper's bucket, in the order given;
    None when the percentages leave the bucket uncovered (they add up to under 100)."""
    bucket = bucket_of(experiment=experiment, shopper_key=shopper_key)
    edge = 0.0
    for name, percent in arms:
        edge += percent * BUCKETS / 100
        if bucket < edge:
            return name
    return None
