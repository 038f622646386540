"""`SqliteStore`: the default shared store, one SQLite file for every bbscout process on the machine.

WAL mode lets readers and one writer work at once; `busy_timeout` waits out ordinary contention. A
file that is corrupt, or still locked after the wait when it is opened (a stuck process), is moved
aside and rebuilt; a lock met later costs only that operation (a cache miss, a request counted in
memory). Entries are evicted least recently used first once the file holds more than `max_bytes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
import typing
from pathlib import Path

import aiosqlite

from bbscout.tools.bitbucket._store import WINDOW_SECONDS, Kept, MemoryStore, Usage

__all__ = ["SqliteStore"]

logger = logging.getLogger("bbscout.tools.bitbucket")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB NOT NULL, size INTEGER NOT NULL,"
    " expires REAL, used REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS entries_used ON entries(used)",
    "CREATE TABLE IF NOT EXISTS ledger (name TEXT NOT NULL, at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ledger_name_at ON ledger(name, at)",
)
_SIDE_FILES = ("", "-wal", "-shm", "-journal")
_EVICT_EVERY = 64  # writes between two size checks
_TOUCH_AFTER = 60.0  # seconds before a hit refreshes an entry's last use (saves a write per hit)


def _locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and any(
        word in str(exc).lower() for word in ("locked", "busy")
    )


class SqliteStore:
    """A store in one SQLite file; safe for concurrent processes, rebuilt when unusable."""

    name = "sqlite"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = 256 * 1024 * 1024,
        busy_timeout: float = 3.0,
        clock: typing.Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.busy_timeout = busy_timeout
        self.rebuilt: str | None = None  # why the file was rebuilt, for a notice
        self._clock = clock
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._writes = 0
        self._memory = MemoryStore(clock=clock)  # where counts go while the file is unusable

    # lifecycle -----------------------------------------------------------------------------------
    async def _open(self) -> aiosqlite.Connection:
        if self._db is not None:
            return self._db
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = await self._connect()
        except sqlite3.DatabaseError as exc:  # corrupt, or locked past the timeout by a stuck process
            reason = "locked by another process" if _locked(exc) else f"unreadable ({exc})"
            logger.warning("cache file %s is %s; rebuilding it", self.path, reason)
            self.rebuilt = f"the cache file {self.path} was {reason}; it was rebuilt"
            self._move_aside(keep=_locked(exc))
            self._db = await self._connect()
        return self._db

    async def _connect(self) -> aiosqlite.Connection:
        db = await aiosqlite.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        try:
            await db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                await db.execute(statement)
            await self._evict(db)
        except BaseException:
            await db.close()
            raise
        return db

    def _move_aside(self, *, keep: bool) -> None:
        """Delete a corrupt file; rename a stuck-locked one (its holder keeps its own copy)."""
        stamp = f".stale-{os.getpid()}-{int(self._clock())}"
        for suffix in _SIDE_FILES:
            path = Path(f"{self.path}{suffix}")
            with contextlib.suppress(FileNotFoundError):
                if keep:
                    path.rename(f"{self.path}{stamp}{suffix}")
                else:
                    path.unlink()

    async def aclose(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            with contextlib.suppress(sqlite3.Error, ValueError):
                await db.close()

    async def _run(
        self, op: typing.Callable[[aiosqlite.Connection], typing.Awaitable[typing.Any]]
    ) -> typing.Any:
        """Run `op` on the connection; a lock skips it (None), a corrupt file is rebuilt and `op` retried."""
        async with self._lock:
            for attempt in (1, 2):
                try:
                    return await op(await self._open())
                except sqlite3.DatabaseError as exc:
                    if _locked(exc) or attempt == 2:
                        logger.info("cache operation skipped: %s", exc)
                        return None
                    logger.warning("cache file %s is corrupt (%s); rebuilding it", self.path, exc)
                    self.rebuilt = f"the cache file {self.path} was unreadable ({exc}); it was rebuilt"
                    await self.aclose()
                    self._move_aside(keep=False)
            return None

    # entries -------------------------------------------------------------------------------------
    async def get(self, key: str) -> bytes | None:
        now = self._clock()

        async def op(db: aiosqlite.Connection) -> bytes | None:
            async with db.execute("SELECT value, expires, used FROM entries WHERE key = ?", (key,)) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            value, expires, used = row
            if expires is not None and now >= expires:
                await db.execute("DELETE FROM entries WHERE key = ?", (key,))
                return None
            if now - used > _TOUCH_AFTER:
                await db.execute("UPDATE entries SET used = ? WHERE key = ?", (now, key))
            return bytes(value)

        result: bytes | None = await self._run(op)
        return result

    async def put(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        now = self._clock()

        async def op(db: aiosqlite.Connection) -> None:
            await db.execute(
                "INSERT OR REPLACE INTO entries (key, value, size, expires, used) VALUES (?, ?, ?, ?, ?)",
                (key, value, len(value) + len(key), None if ttl is None else now + ttl, now),
            )
            self._writes += 1
            if self._writes % _EVICT_EVERY == 0:
                await self._evict(db)

        await self._run(op)

    async def _evict(self, db: aiosqlite.Connection) -> None:
        """Drop expired entries, then the least recently used until the file holds under 90% of the bound."""
        await db.execute("DELETE FROM entries WHERE expires IS NOT NULL AND expires <= ?", (self._clock(),))
        async with db.execute("SELECT COALESCE(SUM(size), 0) FROM entries") as cur:
            row = await cur.fetchone()
        total = int(row[0]) if row else 0
        if total <= self.max_bytes:
            return
        async with db.execute(
            "SELECT used FROM (SELECT used, SUM(size) OVER (ORDER BY used DESC, key) AS kept FROM entries)"
            " WHERE kept > ? ORDER BY used DESC LIMIT 1",
            (int(self.max_bytes * 0.9),),
        ) as cur:
            cut = await cur.fetchone()
        if cut is not None:
            await db.execute("DELETE FROM entries WHERE used <= ?", (cut[0],))

    async def clear(self) -> int:
        async def op(db: aiosqlite.Connection) -> int:
            async with db.execute("SELECT COUNT(*) FROM entries") as cur:
                row = await cur.fetchone()
            await db.execute("DELETE FROM entries")  # the ledger stays: Bitbucket still counts those
            await db.execute("VACUUM")
            return int(row[0]) if row else 0

        removed: int | None = await self._run(op)
        return (removed or 0) + await self._memory.clear()

    # ledger --------------------------------------------------------------------------------------
    async def take(self, ledger: str, now: float, limit: int) -> Usage:
        async def op(db: aiosqlite.Connection) -> Usage:
            await db.execute("BEGIN IMMEDIATE")
            try:
                await db.execute(
                    "DELETE FROM ledger WHERE name = ? AND at <= ?", (ledger, now - WINDOW_SECONDS)
                )
                async with db.execute(
                    "SELECT COUNT(*), MIN(at) FROM ledger WHERE name = ?", (ledger,)
                ) as cur:
                    row = await cur.fetchone()
                used, oldest = (int(row[0]), row[1]) if row else (0, None)
                if used >= limit:
                    return Usage(used, oldest, granted=False)
                await db.execute("INSERT INTO ledger (name, at) VALUES (?, ?)", (ledger, now))
                return Usage(used + 1, oldest if oldest is not None else now)
            finally:
                await db.execute("COMMIT")

        usage: Usage | None = await self._run(op)
        return usage if usage is not None else await self._memory.take(ledger, now, limit)

    async def usage(self, ledger: str, now: float) -> Usage:
        async def op(db: aiosqlite.Connection) -> Usage:
            async with db.execute(
                "SELECT COUNT(*), MIN(at) FROM ledger WHERE name = ? AND at > ?",
                (ledger, now - WINDOW_SECONDS),
            ) as cur:
                row = await cur.fetchone()
            return Usage(int(row[0]), row[1]) if row else Usage(0, None)

        usage: Usage | None = await self._run(op)
        return usage if usage is not None else await self._memory.usage(ledger, now)

    async def single_flight(
        self, key: str, fetch: typing.Callable[[], typing.Awaitable[Kept | None]]
    ) -> bytes | None:
        kept = await fetch()  # no cross-process coordination in SQLite; Redis has it
        if kept is None:
            return None
        await self.put(key, kept[0], ttl=kept[1])
        return kept[0]
