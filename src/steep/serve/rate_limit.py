"""Per-key token buckets: `burst` requests at once, refilled at `requests_per_minute`; over it, a 429 with
Retry-After (seconds until the next token, rounded up).

    limiter = RateLimiter(RateLimitConfig(requests_per_minute=60, burst=5))
    limiter.acquire("support-bot")   # None when allowed, else the seconds to wait

The clock is injectable so tests drive time by hand instead of sleeping.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from steep.serve.config import RateLimitConfig


class TokenBucket:
    def __init__(self, config: RateLimitConfig, now: float) -> None:
        self.capacity = float(config.burst)
        self.per_second = config.requests_per_minute / 60.0
        self.tokens = self.capacity
        self.updated = now

    def take(self, now: float) -> float | None:
        """Take one token: None when there was one, else the seconds until there will be."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / self.per_second


class RateLimiter:
    """One bucket per key name; a key's own limit wins over the default. Thread-safe."""

    def __init__(self, default: RateLimitConfig | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.default = default
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, limit: RateLimitConfig | None = None) -> int | None:
        """None when the request may go ahead, else Retry-After in whole seconds (>= 1)."""
        config = limit or self.default
        if config is None:
            return None
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(config, now)
            wait = bucket.take(now)
        return None if wait is None else max(1, math.ceil(wait))
