"""Fixed-window rate limits in the cache (Redis when configured, so they hold
across every web instance)."""

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
    keys = [f"rl:{rl.key}:{int(now // rl.window_s)}" for rl in limits]
    client = _redis_client()
    if client is not None:
        pipe = client.pipeline(transaction=False)
        for rl, key in zip(limits, keys, strict=True):
            full = cache.make_and_validate_key(key)
            pipe.set(full, 0, ex=rl.window_s + 1, nx=True)
            pipe.incr(full)
        counts = pipe.execute()[1::2]
    else:
        counts = [_count(key, rl.window_s) for rl, key in zip(limits, keys, strict=True)]
    return [count > rl.limit for rl, count in zip(limits, counts, strict=True)]


def _count(key: str, window_s: int) -> int:
    if cache.add(key, 1, window_s + 1):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # the window's key expired between add and incr
        cache.set(key, 1, window_s + 1)
        return 1


def _redis_client():  # noqa: ANN202 - a redis.Redis, or None for other cache backends
    """The raw Redis client behind django-redis, for pipelining; None otherwise."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    get_client = getattr(getattr(backend, "client", None), "get_client", None)
    if get_client is None or not type(backend).__module__.startswith("django_redis"):
        return None
    return get_client(write=True)
