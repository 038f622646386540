"""Client-side rolling-hour request limiter (Bitbucket counts API requests per rolling hour)."""

from __future__ import annotations

import collections
import typing

from bbscout.tools.bitbucket._errors import RateLimited, humanize_wait

__all__ = ["WINDOW_SECONDS", "HourlyLimiter"]

WINDOW_SECONDS = 3600.0


class HourlyLimiter:
    """Counts requests sent in the last hour; `acquire()` raises `RateLimited` instead of exceeding it."""

    def __init__(self, limit: int, clock: typing.Callable[[], float]) -> None:
        if limit < 1:
            raise ValueError("hourly_limit must be >= 1")
        self.limit = limit
        self._clock = clock
        self._sent: collections.deque[float] = collections.deque()

    def _prune(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - WINDOW_SECONDS:
            self._sent.popleft()

    @property
    def used(self) -> int:
        self._prune(self._clock())
        return len(self._sent)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def check(self, endpoint: str | None = None) -> None:
        now = self._clock()
        self._prune(now)
        if len(self._sent) >= self.limit:
            wait = self._sent[0] + WINDOW_SECONDS - now
            raise RateLimited(
                f"local limit of {self.limit} Bitbucket requests per hour reached; {humanize_wait(wait)}",
                retry_after=wait,
                status=None,
                endpoint=endpoint,
            )

    def record(self) -> None:
        self._sent.append(self._clock())
