"""The one way a process caches what it derives from the database.

A `Derived` value (the catalog's facts, the product index for slots, the FAQ index, the
banned-word matcher, the running experiment...) is built on first use and kept in the
process. It belongs to a named generation: a token in the shared cache (Redis when
configured, so every web process and worker sees it). `generation_bump(name)` moves the
token after the writing transaction commits and drops this process's copies at once;
every other process notices within `CHECK_S` and rebuilds on its next use. Tests call
`local_reset_all()` between cases.

Shop facts (products, policies, FAQ entries, banned words, experiments) share the one
generation `SHOP_FACTS`: an edit to any of them refreshes everything derived from them.

Each process reads a generation at most once per `CHECK_S` and every `Derived` of that
name compares itself with that one reading (`generation_seen`), so the values of one
generation in a process move together: something keyed by `generation_seen` (the hot
answers) is never computed from a copy older than its key says.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")
log = logging.getLogger(__name__)

SHOP_FACTS = "shop_facts"
# How often a process asks the shared cache whether a generation moved: an edit reaches
# every process within this many seconds (plus the time to rebuild).
CHECK_S = 1.0

_registry: weakref.WeakSet[Derived] = weakref.WeakSet()

# name -> (generation, monotonic time it was read): this process's view of each generation.
_seen: dict[str, tuple[int, float]] = {}
_seen_lock = threading.Lock()


def _key(name: str) -> str:
    return f"csbot:generation:{name}"


def _read(name: str) -> int | None:
    """The shared token of `name` (0 before the first bump); None when the cache fails."""
    try:
        return int(cache.get(_key(name), 0))
    except Exception:
        log.warning("generation %s unreadable", name, exc_info=True)
        return None


def generation_current(name: str) -> int:
    """The shared token of `name`, read now (0 before the first bump or on a cache error)."""
    found = _read(name)
    return 0 if found is None else found


def generation_seen(name: str) -> int:
    """This process's reading of `name`'s token, refreshed at most every CHECK_S: what
    every `Derived` of that generation in this process is (or is about to be) built from.
    On a cache error the previous reading stands."""
    now = time.monotonic()
    seen = _seen.get(name)
    if seen is not None and now - seen[1] < CHECK_S:
        return seen[0]
    found = _read(name)
    with _seen_lock:
        latest = _seen.get(name)
        if latest is not None and latest[1] > now:
            return latest[0]  # a later reading landed while this one was in flight
        if found is None:
            if latest is not None:
                _seen[name] = (latest[0], now)
                return latest[0]
            found = 0
        _seen[name] = (found, now)
        return found


def generation_bump(name: str) -> None:
    """Move `name`'s token now: this process's copies are dropped at once, other
    processes follow within CHECK_S. Prefer `generation_bump_on_commit` inside a
    transaction. A fresh random token, not a counter, so a cache that lost its keys
    (a restart, an eviction) cannot land on a number some process still holds."""
    token = secrets.randbits(62) or 1
    try:
        cache.set(_key(name), token, None)
    except Exception:  # the write has committed; say so, and at least refresh here
        log.exception("generation %s could not be bumped in the shared cache", name)
    with _seen_lock:
        _seen[name] = (token, time.monotonic())
    for derived in list(_registry):
        if derived.generation_name == name:
            derived.reset()


def generation_bump_on_commit(name: str) -> None:
    """`generation_bump` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: generation_bump(name))


def local_reset_all() -> None:
    """Forget every process-local copy and reading (tests, between cases)."""
    with _seen_lock:
        _seen.clear()
    for derived in list(_registry):
        derived.reset()


class Derived(Generic[T]):
    """A value derived from the database, rebuilt when its generation moves.

    `max_age_s`, when set, also rebuilds it after that long (for sources that never bump
    the generation, such as a remote store). `get()` is thread-safe; `build` runs at most
    once per change in each process. Treat the value as read-only, or mutate it only
    under your own lock (a dict memo filled on demand is fine: it goes with the value).
    """

    def __init__(
        self,
        name: str,
        build: Callable[[], T],
        *,
        generation: str = SHOP_FACTS,
        max_age_s: float | None = None,
    ) -> None:
        self.name = name
        self.generation_name = generation
        self._build = build
        self._max_age_s = max_age_s
        self._lock = threading.Lock()
        # (value, generation it was built under, monotonic build time), swapped whole.
        self._slot: tuple[T, int, float] | None = None
        _registry.add(self)

    def _fresh(self, slot: tuple[T, int, float] | None, generation: int, now: float) -> bool:
        return (
            slot is not None
            and slot[1] == generation
            and (self._max_age_s is None or now - slot[2] < self._max_age_s)
        )

    def get(self) -> T:
        generation = generation_seen(self.generation_name)
        now = time.monotonic()
        slot = self._slot
        if self._fresh(slot, generation, now):
            return slot[0]  # type: ignore[index]
        with self._lock:
            # Read again: another thread may have built, or seen a newer generation,
            # while this one waited.
            generation = generation_seen(self.generation_name)
            now = time.monotonic()
            slot = self._slot
            if not self._fresh(slot, generation, now):
                # The generation is read before the build: a value built from rows older
                # than the reading cannot be stored under it.
                slot = (self._build(), generation, time.monotonic())
                self._slot = slot
            return slot[0]  # type: ignore[index]

    def reset(self) -> None:
        """Drop this process's copy; the next `get()` rebuilds."""
        with self._lock:
            self._slot = None
