"""The store every bbscout process shares: cached responses and the hourly request ledger.

One interface, three back ends: `MemoryStore` (one process: tests, evals, `--no-cache` runs),
`SqliteStore` (the default: a file under the user cache directory, shared by the processes of one
machine) and `RedisStore` (`BBSCOUT_REDIS_URL`: shared by replicas, with single flight across
processes). Keys arrive already namespaced (workspace + credential identity, see `_shared`); values
are bytes. A store never raises for its own troubles (a locked or corrupt file, a lost connection):
it answers as if empty, and the run goes on making real requests.
"""

from __future__ import annotations

import collections
import time
import typing
from dataclasses import dataclass

__all__ = ["WINDOW_SECONDS", "Kept", "MemoryStore", "Store", "Usage", "open_store"]

WINDOW_SECONDS = 3600.0  # Bitbucket counts requests per rolling hour

Kept = tuple[bytes, float | None]  # a value to store, and its time to live (None: until evicted)


@dataclass(frozen=True)
class Usage:
    """Requests counted in the rolling hour, and when the oldest of them leaves it."""

    used: int
    oldest: float | None
    granted: bool = True


class Store(typing.Protocol):
    """What the response cache and the request ledger need from a back end."""

    name: str

    async def get(self, key: str) -> bytes | None:
        """The value, or None when absent, expired or unreadable."""

    async def put(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store `value`; `ttl=None` keeps it until evicted (least recently used first)."""

    async def take(self, ledger: str, now: float, limit: int) -> Usage:
        """Count one request at `now` in `ledger` unless `limit` are already counted in the last hour."""

    async def usage(self, ledger: str, now: float) -> Usage:
        """The requests counted in `ledger` in the hour before `now`."""

    async def clear(self) -> int:
        """Remove every cached entry (not the ledger: Bitbucket still counts those requests)."""

    async def single_flight(
        self, key: str, fetch: typing.Callable[[], typing.Awaitable[Kept | None]]
    ) -> bytes | None:
        """`fetch()` → (value, ttl) or None; store the value under `key`, and return it.

        Where the back end supports it (Redis), processes asking for `key` at the same moment wait for
        one leader's result instead of fetching it again (then `fetch` is not called).
        """

    async def aclose(self) -> None: ...


class MemoryStore:
    """A bounded in-process store: the same behaviour as the shared ones, for one process."""

    name = "memory"

    def __init__(self, max_entries: int = 4096, clock: typing.Callable[[], float] = time.time) -> None:
        self._entries: collections.OrderedDict[str, tuple[bytes, float | None]] = collections.OrderedDict()
        self._ledgers: dict[str, collections.deque[float]] = {}
        self._max_entries = max_entries
        self._clock = clock

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and self._clock() >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def put(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        self._entries[key] = (value, None if ttl is None else self._clock() + ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def _window(self, ledger: str, now: float) -> collections.deque[float]:
        sent = self._ledgers.setdefault(ledger, collections.deque())
        while sent and sent[0] <= now - WINDOW_SECONDS:
            sent.popleft()
        return sent

    async def take(self, ledger: str, now: float, limit: int) -> Usage:
        sent = self._window(ledger, now)
        if len(sent) >= limit:
            return Usage(len(sent), sent[0], granted=False)
        sent.append(now)
        return Usage(len(sent), sent[0])

    async def usage(self, ledger: str, now: float) -> Usage:
        sent = self._window(ledger, now)
        return Usage(len(sent), sent[0] if sent else None)

    async def clear(self) -> int:
        removed = len(self._entries)
        self._entries.clear()
        return removed

    async def single_flight(
        self, key: str, fetch: typing.Callable[[], typing.Awaitable[Kept | None]]
    ) -> bytes | None:
        kept = await fetch()  # one process: the response cache's own single flight covers it
        if kept is None:
            return None
        await self.put(key, kept[0], ttl=kept[1])
        return kept[0]

    async def aclose(self) -> None:
        return None


def open_store(*, redis_url: str | None = None, path: str | None = None) -> Store:
    """Redis when a URL is given, else SQLite at `path`, else memory (imports only what is used)."""
    if redis_url:
        from bbscout.tools.bitbucket._redis_store import RedisStore

        return RedisStore(redis_url)
    if path:
        from bbscout.tools.bitbucket._sqlite_store import SqliteStore

        return SqliteStore(path)
    return MemoryStore()
