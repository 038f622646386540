"""In-memory response cache with TTLs by kind and single-flight de-duplication.

Keys are `method + full URL with sorted query + variant` (the variant distinguishes e.g. a ranged
log tail from the full log). Credentials are never part of a key or an entry. A cache may be
shared by several clients in the same event loop (chat follow-ups): concurrent identical GETs
make one request, the others await its result.

* `"immutable"` entries never expire (commit by hash, diff between hashes, completed pipelines,
  steps and logs; the caller decides).
* `"listing"` entries expire after `listing_ttl` seconds.
* `"none"` bypasses the cache entirely.
"""

from __future__ import annotations

import asyncio
import collections
import time
import typing
from dataclasses import dataclass

import httpx

__all__ = ["CacheMode", "CachedResponse", "ResponseCache", "cache_key"]

CacheMode = typing.Literal["immutable", "listing", "none"]


@dataclass(frozen=True)
class CachedResponse:
    status: int
    body: bytes
    content_type: str
    url_path: str


@dataclass
class _Entry:
    value: CachedResponse
    expires: float | None


def cache_key(method: str, url: str, params: typing.Sequence[tuple[str, str]], variant: str = "") -> str:
    """Canonical key: query params sorted (repeated keys keep all values) → stable regardless of order."""
    full = httpx.URL(url)
    merged = list(full.params.multi_items()) + [(k, v) for k, v in params]
    canonical = full.copy_with(query=None).copy_merge_params(sorted(merged)) if merged else full
    return f"{method.upper()} {canonical} {variant}".rstrip()


class ResponseCache:
    """LRU cache of successful GET responses (bounded by `max_entries`)."""

    def __init__(
        self,
        max_entries: int = 2048,
        listing_ttl: float = 60.0,
        clock: typing.Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self.max_entries = max_entries
        self.listing_ttl = listing_ttl
        self._clock = clock
        self._entries: collections.OrderedDict[str, _Entry] = collections.OrderedDict()
        self._inflight: dict[str, asyncio.Future[CachedResponse]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"ResponseCache(entries={len(self._entries)}, hits={self.hits}, misses={self.misses})"

    def clear(self) -> None:
        self._entries.clear()

    def get(self, key: str) -> CachedResponse | None:
        """Fresh entry or None. Does not touch the hit/miss counters (the client does)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires is not None and self._clock() >= entry.expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry.value

    def put(self, key: str, value: CachedResponse, mode: CacheMode) -> None:
        if mode == "none":
            return
        expires = None if mode == "immutable" else self._clock() + self.listing_ttl
        self._entries[key] = _Entry(value, expires)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    # single flight -------------------------------------------------------------------------
    def inflight(self, key: str) -> asyncio.Future[CachedResponse] | None:
        fut = self._inflight.get(key)
        if fut is None or fut.done():
            return None
        try:
            if fut.get_loop() is not asyncio.get_running_loop():
                return None
        except RuntimeError:
            return None
        return fut

    def begin(self, key: str) -> asyncio.Future[CachedResponse]:
        fut: asyncio.Future[CachedResponse] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        return fut

    def finish(
        self,
        key: str,
        fut: asyncio.Future[CachedResponse],
        value: CachedResponse | None = None,
        error: BaseException | None = None,
    ) -> None:
        if self._inflight.get(key) is fut:
            del self._inflight[key]
        if fut.done():
            return
        if error is not None:
            if isinstance(error, asyncio.CancelledError):
                fut.cancel()
            else:
                fut.set_exception(error)
                fut.exception()  # mark retrieved: nobody may be waiting
        else:
            assert value is not None
            fut.set_result(value)
