"""The shared store's back ends behave alike: entries, expiry, eviction, the hourly ledger, clearing;
SQLite survives a corrupt or stuck-locked file; Redis makes concurrent identical fetches one."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bbscout.tools.bitbucket import MemoryStore, Store
from bbscout.tools.bitbucket._redis_store import RedisStore
from bbscout.tools.bitbucket._sqlite_store import SqliteStore


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    made: Store
    if request.param == "memory":
        made = MemoryStore()
    elif request.param == "sqlite":
        made = SqliteStore(tmp_path / "cache.sqlite")
    else:
        made = RedisStore(request.getfixturevalue("redis_url"))
    yield made
    await made.aclose()


async def test_put_get_and_clear(store: Store) -> None:
    assert await store.get("ns|a") is None
    await store.put("ns|a", b"\x00binary\xffbody")
    await store.put("ns|b", b"two", ttl=3600)
    assert await store.get("ns|a") == b"\x00binary\xffbody"
    assert await store.get("ns|b") == b"two"
    assert await store.clear() >= 2
    assert await store.get("ns|a") is None


async def test_ledger_counts_and_refuses_past_the_limit(store: Store) -> None:
    now = 1_800_000_000.0
    for i in range(3):
        usage = await store.take("me", now + i, limit=3)
        assert usage.granted and usage.used == i + 1
    refused = await store.take("me", now + 10, limit=3)
    assert not refused.granted and refused.used == 3 and refused.oldest == pytest.approx(now)
    assert (await store.usage("me", now + 10)).used == 3
    assert (await store.usage("someone-else", now + 10)).used == 0
    # an hour after the first request, it has left the window
    assert (await store.take("me", now + 3600.5, limit=3)).granted


async def test_single_flight_stores_the_leaders_result(store: Store) -> None:
    calls = 0

    async def fetch() -> tuple[bytes, float | None]:
        nonlocal calls
        calls += 1
        return b"body", None

    assert await store.single_flight("ns|k", fetch) == b"body"
    assert calls == 1 and await store.get("ns|k") == b"body"

    async def refuse() -> None:
        return None

    assert await store.single_flight("ns|not-kept", refuse) is None
    assert await store.get("ns|not-kept") is None


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_ttl_entries_expire(kind: str, tmp_path: Path) -> None:
    clock = Clock()
    made: Store = (
        MemoryStore(clock=clock) if kind == "memory" else SqliteStore(tmp_path / "c.sqlite", clock=clock)
    )
    await made.put("k", b"v", ttl=5)
    clock.now += 4.9
    assert await made.get("k") == b"v"
    clock.now += 0.2
    assert await made.get("k") is None
    await made.aclose()


async def test_sqlite_evicts_least_recently_used_past_its_bound(tmp_path: Path) -> None:
    clock = Clock()
    made = SqliteStore(tmp_path / "c.sqlite", max_bytes=20_000, clock=clock)
    for i in range(200):  # 200 x ~1 KB into a 20 KB bound
        clock.now += 1
        await made.put(f"k{i}", bytes(1000))
    await made.aclose()
    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        total, kept = db.execute("SELECT SUM(size), COUNT(*) FROM entries").fetchone()
        newest = {k for (k,) in db.execute("SELECT key FROM entries")}
    assert total <= 20_000 + 64 * 1010  # evicted at least every 64 writes
    assert "k199" in newest and "k0" not in newest and kept < 200


async def test_sqlite_rebuilds_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    made = SqliteStore(path)
    assert await made.get("k") is None  # no crash
    await made.put("k", b"v")
    assert await made.get("k") == b"v"
    assert made.rebuilt and "unreadable" in made.rebuilt
    await made.aclose()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_sqlite_corrupted_while_in_use_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    made = SqliteStore(path)
    await made.put("k", b"v")
    await made.aclose()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"\x00" * 4096)  # overwritten under our feet
    assert await made.get("k") is None
    await made.put("k2", b"v2")
    assert await made.get("k2") == b"v2"
    await made.aclose()


LOCK_HOLDER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA locking_mode=EXCLUSIVE")
db.execute("CREATE TABLE IF NOT EXISTS t (x)")
db.execute("BEGIN EXCLUSIVE")
db.execute("INSERT INTO t VALUES (1)")
print("locked", flush=True)
sys.stdin.read()
"""


async def test_sqlite_rebuilds_a_file_locked_by_a_stuck_process(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        made = SqliteStore(path, busy_timeout=0.2)
        await made.put("k", b"v")  # no crash: the stuck file is moved aside
        assert await made.get("k") == b"v"
        assert made.rebuilt and "locked" in made.rebuilt
        usage = await made.take("me", 1_800_000_000.0, limit=10)
        assert usage.granted and usage.used == 1
        await made.aclose()
    finally:
        holder.communicate("")
    assert list(tmp_path.glob("cache.sqlite.stale-*")), "the locked file was kept aside, not deleted"


async def test_sqlite_lock_during_a_run_costs_only_that_operation(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    made = SqliteStore(path, busy_timeout=0.1)
    await made.put("k", b"v")
    blocker = sqlite3.connect(path, isolation_level=None, timeout=0.1)
    blocker.execute("BEGIN IMMEDIATE")  # another process is writing (and stays there)
    try:
        await made.put("k2", b"v2")  # skipped, no crash
        assert await made.get("k") == b"v"  # WAL readers are not blocked
        usage = await made.take("me", 1_800_000_000.0, limit=5)
        assert usage.granted  # counted in memory meanwhile
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    await made.aclose()


async def test_redis_single_flight_across_connections(redis_url: str) -> None:
    """Two stores (two connections, as two processes would have) ask for the same key at once: one fetch."""
    import redis.asyncio as aioredis

    leader, follower = RedisStore(redis_url), RedisStore(redis_url)
    release = asyncio.Event()
    fetches: list[str] = []

    def fetch_as(name: str) -> Callable[[], Any]:
        async def fetch() -> tuple[bytes, float | None]:
            fetches.append(name)
            await release.wait()
            return f"from {name}".encode(), 5.0

        return fetch

    first = asyncio.create_task(leader.single_flight("ns|same", fetch_as("leader")))
    while not fetches:  # the leader's request is in flight
        await asyncio.sleep(0)
    second = asyncio.create_task(follower.single_flight("ns|same", fetch_as("follower")))
    probe = aioredis.from_url(redis_url)
    try:
        async with asyncio.timeout(10):  # wait until the follower is subscribed to the leader's channel
            while not (await probe.pubsub_numsub("bbscout:done:ns|same"))[0][1]:
                await asyncio.sleep(0.005)
    finally:
        await probe.aclose()
    release.set()
    assert await first == b"from leader"
    assert await second == b"from leader"
    assert fetches == ["leader"]
    await leader.aclose()
    await follower.aclose()


async def test_redis_single_flight_after_a_finished_leader_reads_its_result(redis_url: str) -> None:
    """A caller that missed the cache just before another process stored the response and released its
    flight claims an empty flight: it must read what was stored, not fetch again."""
    finished, late = RedisStore(redis_url), RedisStore(redis_url)
    fetches: list[str] = []

    async def fetch() -> tuple[bytes, float | None]:
        fetches.append("late")
        return b"again", 5.0

    await finished.put("ns|raced", b"first", ttl=5.0)  # its flight is over: stored, claim released
    assert await late.single_flight("ns|raced", fetch) == b"first"
    assert fetches == []
    await finished.aclose()
    await late.aclose()


async def test_redis_unreachable_is_a_miss_not_a_crash() -> None:
    gone = RedisStore("redis://127.0.0.1:1/0")  # nothing listens on port 1
    assert await gone.get("k") is None
    await gone.put("k", b"v")
    assert (await gone.take("me", 1_800_000_000.0, limit=2)).granted

    async def fetch() -> tuple[bytes, float | None]:
        return b"fetched", None

    assert await gone.single_flight("k", fetch) == b"fetched"
    await gone.aclose()
