"""csbot.cache: a Derived value is rebuilt after its generation moves (here at once,
elsewhere within CHECK_S through the shared cache), not before; max_age_s; resets.

Time is a fake clock, so "within CHECK_S" is checked without sleeping. Another
process's bump is simulated by writing the generation straight into the shared cache,
which is all a bump in another process does."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache

import csbot.cache
from csbot.cache import (
    CHECK_S,
    SHOP_FACTS,
    Derived,
    generation_bump,
    generation_bump_on_commit,
    generation_current,
    generation_seen,
    local_reset_all,
)

NAME = "test_generation"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(csbot.cache, "time", fake)
    local_reset_all()
    yield fake
    local_reset_all()  # no reading or copy stamped with the fake time outlives the test


def counting(name: str = "counted", *, generation: str = NAME, max_age_s: float | None = None):
    """A Derived whose value is the number of times it was built."""
    builds = {"n": 0}

    def build() -> int:
        builds["n"] += 1
        return builds["n"]

    return Derived(name, build, generation=generation, max_age_s=max_age_s)


def other_process_bumps(name: str, token: int = 424242) -> None:
    cache.set(csbot.cache._key(name), token, None)


def test_built_once_and_kept_until_the_generation_moves(clock):
    derived = counting()
    assert derived.get() == 1
    clock.advance(CHECK_S * 10)  # checks the generation again: unchanged
    assert derived.get() == 1
    generation_bump(NAME)
    assert derived.get() == 2  # this process's bump: at once, no waiting for a check
    assert derived.get() == 2


def test_another_process_bump_is_seen_within_check_s_not_before(clock):
    derived = counting()
    assert derived.get() == 1
    other_process_bumps(NAME)
    clock.advance(CHECK_S * 0.5)
    assert derived.get() == 1  # not read again yet
    clock.advance(CHECK_S * 0.5)
    assert derived.get() == 2  # read again: moved
    clock.advance(CHECK_S)
    assert derived.get() == 2  # read again: same token, nothing to rebuild


def test_a_bump_of_another_generation_leaves_the_value(clock):
    derived = counting()
    assert derived.get() == 1
    generation_bump("unrelated")
    other_process_bumps("unrelated")
    clock.advance(CHECK_S)
    assert derived.get() == 1


def test_values_of_one_generation_move_together(clock):
    """Every Derived of a generation compares itself with the process's one reading, so
    something keyed by `generation_seen` never pairs a new key with an old copy."""
    first, second = counting("first"), counting("second")
    assert (first.get(), second.get()) == (1, 1)
    seen = generation_seen(NAME)
    other_process_bumps(NAME)
    clock.advance(CHECK_S)
    assert first.get() == 2
    assert generation_seen(NAME) != seen
    assert second.get() == 2  # rebuilt on the same reading, not on its own later check


def test_max_age_rebuilds_without_a_bump(clock):
    derived = counting(max_age_s=30.0)
    assert derived.get() == 1
    clock.advance(29.0)
    assert derived.get() == 1
    clock.advance(1.0)
    assert derived.get() == 2
    generation_bump(NAME)
    assert derived.get() == 3  # a bump still counts too


def test_a_cache_that_lost_its_keys_still_moves_the_generation(clock):
    """Tokens, not counters: a flushed cache reads 0, which no bump ever wrote."""
    derived = counting()
    generation_bump(NAME)
    assert derived.get() == 1
    cache.clear()
    clock.advance(CHECK_S)
    assert derived.get() == 2
    generation_bump(NAME)
    assert generation_current(NAME) != 0
    assert derived.get() == 3


def test_a_cache_error_keeps_the_last_reading(clock, monkeypatch):
    derived = counting()
    assert derived.get() == 1
    seen = generation_seen(NAME)

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(csbot.cache.cache, "get", broken)
    clock.advance(CHECK_S)
    assert generation_seen(NAME) == seen
    assert derived.get() == 1
    assert generation_current(NAME) == 0


def test_local_reset_all_drops_every_copy(clock):
    derived = counting()
    assert derived.get() == 1
    local_reset_all()
    assert derived.get() == 2


def test_a_value_of_none_is_kept_like_any_other(clock):
    builds = []
    derived: Derived[None] = Derived("none", lambda: builds.append(1), generation=NAME)
    assert derived.get() is None
    assert derived.get() is None
    assert len(builds) == 1


def test_threads_build_once():
    started = threading.Event()
    builds = []

    def build() -> int:
        builds.append(1)
        started.wait(1.0)
        return len(builds)

    derived = Derived("threads", build, generation=NAME)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(derived.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    started.set()
    for thread in threads:
        thread.join()
    assert results == [1] * 8 and len(builds) == 1


@pytest.mark.django_db
def test_bump_on_commit_waits_for_the_commit(clock, django_capture_on_commit_callbacks):
    derived = counting(generation=SHOP_FACTS)
    assert derived.get() == 1
    before = generation_current(SHOP_FACTS)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        generation_bump_on_commit(SHOP_FACTS)
    assert generation_current(SHOP_FACTS) == before
    assert derived.get() == 1  # the write has not committed: readers keep the old copy
    for callback in callbacks:
        callback()
    assert generation_current(SHOP_FACTS) != before
    assert derived.get() == 2


@pytest.mark.django_db
def test_shop_facts_changed_moves_the_one_shop_facts_generation(
    clock, django_capture_on_commit_callbacks
):
    from catalog.services import shop_facts_changed

    before = generation_current(SHOP_FACTS)
    with django_capture_on_commit_callbacks(execute=True):
        shop_facts_changed()
    assert generation_current(SHOP_FACTS) != before
