"""Fixed-window rate limits in the cache (Redis when configured, so they hold
across every web instance)."""

import time

from django.core.cache import cache


def rate_limit_hit(*, key: str, limit: int, window_s: int) -> bool:
    """Count one event; True when the caller is over `limit` in this window."""
    window = int(time.time() // window_s)
    cache_key = f"rl:{key}:{window}"
    if cache.add(cache_key, 1, window_s + 1):
        return limit < 1
    try:
        count = cache.incr(cache_key)
    except ValueError:  # the window's key expired between add and incr
        cache.set(cache_key, 1, window_s + 1)
        count = 1
    return count > limit
