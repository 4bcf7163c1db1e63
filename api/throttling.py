"""Fixed-window counters in Django's cache: the per-token rate limit and the throttle on
failed authentication.

Each window is one cache key created with ``add`` (a no-op when it exists) and counted with
``incr``, which is atomic on Redis and on the local-memory cache, so workers on several
hosts sharing one Redis count together. The key expires shortly after its window ends.
"""

from __future__ import annotations

import math
import time

from django.core.cache import cache


def window_hit(key: str, *, window_seconds: int) -> tuple[int, int]:
    """Count one hit in the current window of `key`: (hits so far, seconds until it ends)."""
    now = time.time()
    start = int(now // window_seconds) * window_seconds
    window_key = f"{key}:{start}"
    cache.add(window_key, 0, timeout=window_seconds + 5)
    try:
        hits = cache.incr(window_key)
    except ValueError:  # the key expired between add and incr
        cache.add(window_key, 1, timeout=window_seconds + 5)
        hits = 1
    return hits, max(1, math.ceil(start + window_seconds - now))


def window_count(key: str, *, window_seconds: int) -> tuple[int, int]:
    """Hits counted so far in the current window of `key`, without counting one."""
    now = time.time()
    start = int(now // window_seconds) * window_seconds
    return cache.get(f"{key}:{start}", 0), max(1, math.ceil(start + window_seconds - now))
