"""The sliding-window rate limit, on the cache the run uses (local memory in the
embedded run, Redis in the services run)."""

import types
import uuid

import pytest
from django.core.cache import cache

from csbot import ratelimit
from csbot.ratelimit import RateLimit, rate_limits_hit


@pytest.fixture
def clock(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: now[0]))
    yield now
    cache.clear()


def hit(key: str, limit: int) -> bool:
    return rate_limits_hit(limits=[RateLimit(key=key, limit=limit, window_s=60)])[0]


def test_a_burst_cannot_straddle_the_window_boundary(clock):
    key = f"test-{uuid.uuid4().hex}"
    clock[0] = 60 * 1000 + 59.0  # the last second of a window
    assert [hit(key, 3) for _ in range(3)] == [False, False, False]
    assert hit(key, 3) is True
    clock[0] = 60 * 1001 + 1.0  # two seconds later, in the next window
    # A fixed window would start from zero here and allow three more.
    assert hit(key, 3) is True


def test_the_previous_window_weighs_less_as_it_slides_out(clock):
    key = f"test-{uuid.uuid4().hex}"
    clock[0] = 60 * 2000 + 30.0
    assert [hit(key, 4) for _ in range(4)] == [False] * 4
    # 45 s into the next window a quarter of the previous one is still covered:
    # 4 × 0.25 = 1 earlier event, so three more fit and the fourth does not.
    clock[0] = 60 * 2001 + 45.0
    assert [hit(key, 4) for _ in range(4)] == [False, False, False, True]
    # A whole quiet window later, the count starts afresh.
    clock[0] = 60 * 2003 + 5.0
    assert hit(key, 4) is False


def test_limits_are_counted_per_key_in_one_call(clock):
    a, b = f"test-{uuid.uuid4().hex}", f"test-{uuid.uuid4().hex}"
    clock[0] = 60 * 3000 + 10.0
    limits = [RateLimit(key=a, limit=1, window_s=60), RateLimit(key=b, limit=2, window_s=60)]
    assert rate_limits_hit(limits=limits) == [False, False]
    assert rate_limits_hit(limits=limits) == [True, False]
    assert rate_limits_hit(limits=limits) == [True, True]
