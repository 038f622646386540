"""Per-token rolling-hour request limits with an injectable monotonic clock."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["WINDOW_S", "RateDecision", "RateLimiter"]

WINDOW_S = 3600.0
NEAR_LIMIT_FRACTION = 0.8  # X-RateLimit-NearLimit turns true once 80% of the allowance is used


@dataclass
class RateDecision:
    allowed: bool
    limit: int
    used: int
    retry_after_s: int = 0

    @property
    def near_limit(self) -> bool:
        return self.used >= self.limit * NEAR_LIMIT_FRACTION


class RateLimiter:
    """Counts accepted requests per key inside a rolling window; rejected ones are not counted."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def check(self, key: str, limit: int) -> RateDecision:
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - WINDOW_S:
            hits.popleft()
        if len(hits) >= limit:
            retry = max(1, math.ceil(hits[0] + WINDOW_S - now))
            return RateDecision(False, limit, len(hits), retry)
        hits.append(now)
        return RateDecision(True, limit, len(hits))

    def reset(self) -> None:
        self._hits.clear()
