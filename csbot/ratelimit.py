"""Rate limits in the cache (Redis when configured, so they hold across every web
instance), as a sliding window: the count is this window's events plus the previous
window's, weighted by how much of the previous window the sliding one still covers.
A plain fixed window lets a burst straddle its boundary (the limit just before it and
again just after); the weighted count does not, and needs only two counters a key."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` events per `window_s` seconds for `key`."""

    key: str
    limit: int
    window_s: int


def rate_limit_hit(*, key: str, limit: int, window_s: int) -> bool:
    """Count one event; True when the caller is over `limit` in this window."""
    return rate_limits_hit(limits=[RateLimit(key=key, limit=limit, window_s=window_s)])[0]


def rate_limits_hit(*, limits: Sequence[RateLimit]) -> list[bool]:
    """Count one event against each limit; True where that limit is exceeded. On Redis
    every counter is bumped in one pipelined round trip (a batch of messages)."""
    now = time.time()
    windows = [int(now // rl.window_s) for rl in limits]
    current = [f"rl:{rl.key}:{w}" for rl, w in zip(limits, windows, strict=True)]
    previous = [f"rl:{rl.key}:{w - 1}" for rl, w in zip(limits, windows, strict=True)]
    client = _redis_client()
    if client is not None:
        pipe = client.pipeline(transaction=False)
        for rl, key, previous_key in zip(limits, current, previous, strict=True):
            full = cache.make_and_validate_key(key)
            # Kept for two windows: the next window still weighs this one.
            pipe.set(full, 0, ex=2 * rl.window_s + 1, nx=True)
            pipe.incr(full)
            pipe.get(cache.make_and_validate_key(previous_key))
        replies = pipe.execute()
        counts = replies[1::3]
        earlier = [int(v) if v is not None else 0 for v in replies[2::3]]
    else:
        counts = [_count(key, rl.window_s) for rl, key in zip(limits, current, strict=True)]
        earlier = [int(cache.get(key) or 0) for key in previous]
    hits = []
    for rl, window, count, before in zip(limits, windows, counts, earlier, strict=True):
        # The share of the previous window still inside the sliding one.
        overlap = 1.0 - (now / rl.window_s - window)
        hits.append(count + before * overlap > rl.limit)
    return hits


def _count(key: str, window_s: int) -> int:
    if cache.add(key, 1, 2 * window_s + 1):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # the window's key expired between add and incr
        cache.set(key, 1, 2 * window_s + 1)
        return 1


def _redis_client():  # noqa: ANN202 - a redis.Redis, or None for other cache backends
    """The raw Redis client behind django-redis, for pipelining; None otherwise."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    get_client = getattr(getattr(backend, "client", None), "get_client", None)
    if get_client is None or not type(backend).__module__.startswith("django_redis"):
        return None
    return get_client(write=True)
