"""The hourly request ledger: Bitbucket counts API requests per credential per rolling hour.

Every request to the API host is counted in a `Store` before it is sent, so all processes sharing
the store (SQLite on one machine, Redis across replicas) share one count, and none exceeds the
limit: `acquire()` raises `RateLimited` instead. What is left this hour comes from Bitbucket's own
headers where it sends them (`X-RateLimit-Limit`, the hour's allowance, and `X-RateLimit-NearLimit`;
access tokens only, and there is no "remaining" header), else from the ledger's count alone.
"""

from __future__ import annotations

import json
import math
import typing

from bbscout.tools.bitbucket._errors import RateLimited, humanize_wait
from bbscout.tools.bitbucket._store import WINDOW_SECONDS, MemoryStore, Store, Usage

__all__ = ["NEAR_LIMIT_SHARE", "WINDOW_SECONDS", "HourlyLimiter"]

# What `X-RateLimit-NearLimit: true` is taken to mean: at most this share of the hour's allowance is
# left (Atlassian does not document the threshold; the sandbox turns it on at 80% used).
NEAR_LIMIT_SHARE = 0.2


class HourlyLimiter:
    """One credential's rolling-hour count, kept in a (possibly shared) store."""

    def __init__(
        self,
        limit: int,
        clock: typing.Callable[[], float],
        *,
        store: Store | None = None,
        ledger: str = "default",
    ) -> None:
        if limit < 1:
            raise ValueError("hourly_limit must be >= 1")
        self.limit = limit
        self._clock = clock
        self._store: Store = store if store is not None else MemoryStore(clock=clock)
        self._ledger = ledger
        self._usage = Usage(0, None)
        self.near_limit = False
        self.from_headers = False  # the limit was announced by Bitbucket, not assumed

    @property
    def used(self) -> int:
        """Requests counted this hour, as of the last look at the ledger."""
        return self._usage.used

    @property
    def remaining(self) -> int:
        """Requests left this hour (lowered to the near-limit share when Bitbucket says it is near)."""
        left = max(0, self.limit - self.used)
        if self.near_limit:
            left = min(left, math.floor(self.limit * NEAR_LIMIT_SHARE))
        return left

    @property
    def source(self) -> str:
        """Where `remaining` comes from, for people reading the stats."""
        return "bitbucket rate-limit headers + ledger" if self.from_headers else "ledger"

    async def refresh(self) -> int:
        """Read the shared count (and a limit another process learnt); returns `remaining`."""
        self._usage = await self._store.usage(self._ledger, self._clock())
        announced = await self._store.get(self._meta_key)
        if announced:
            self._apply(json.loads(announced))
        return self.remaining

    async def acquire(self, endpoint: str | None = None) -> None:
        """Count one request now, or raise `RateLimited` (nothing sent) when the hour's limit is reached."""
        now = self._clock()
        usage = await self._store.take(self._ledger, now, self.limit)
        self._usage = usage
        if not usage.granted:
            wait = (usage.oldest + WINDOW_SECONDS - now) if usage.oldest is not None else WINDOW_SECONDS
            raise RateLimited(
                f"local limit of {self.limit} Bitbucket requests per hour reached; {humanize_wait(wait)}",
                retry_after=wait,
                status=None,
                endpoint=endpoint,
            )

    async def observe(self, headers: typing.Mapping[str, str]) -> None:
        """Learn the allowance and the near-limit flag from a response, and share them."""
        limit = headers.get("x-ratelimit-limit")
        near = headers.get("x-ratelimit-nearlimit")
        if limit is None and near is None:
            return
        seen: dict[str, typing.Any] = {}
        if limit is not None and limit.strip().isdigit() and int(limit) > 0:
            seen["limit"] = int(limit)
        if near is not None:
            seen["near"] = near.strip().lower() == "true"
        if seen and self._apply(seen):
            await self._store.put(self._meta_key, json.dumps(seen).encode(), ttl=WINDOW_SECONDS)

    def _apply(self, seen: dict[str, typing.Any]) -> bool:
        before = (self.limit, self.near_limit, self.from_headers)
        if isinstance(seen.get("limit"), int):
            self.limit = seen["limit"]
            self.from_headers = True
        if isinstance(seen.get("near"), bool):
            self.near_limit = seen["near"]
            self.from_headers = True
        return (self.limit, self.near_limit, self.from_headers) != before

    @property
    def _meta_key(self) -> str:
        return f"ratelimit:{self._ledger}"
