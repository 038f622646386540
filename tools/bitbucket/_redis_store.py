"""`RedisStore`: the shared store for replicas (`BBSCOUT_REDIS_URL`), with single flight across processes.

Entries are plain keys under `bbscout:e:`, indexed by last use in the sorted set `bbscout:lru`, so the
store stays within `max_entries` whatever the server's eviction policy. The hourly ledger is a sorted
set of request times per credential, checked and appended atomically by a Lua script. Single flight:
the first process to `SET NX` a flight key fetches; the others subscribe to its channel and read the
result it stores. A lost server costs only cache hits: every operation then answers as if empty and
requests are counted in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import typing
import uuid

from bbscout.tools.bitbucket._store import WINDOW_SECONDS, Kept, MemoryStore, Usage

if typing.TYPE_CHECKING:
    import redis.asyncio as aioredis

__all__ = ["PREFIX", "RedisStore"]

logger = logging.getLogger("bbscout.tools.bitbucket")

PREFIX = "bbscout:"
_LRU = PREFIX + "lru"
_IDLE_TTL = 30 * 24 * 3600  # an entry nobody used for a month goes even while under the bound
_EVICT_EVERY = 64
_FLIGHT_SECONDS = 30.0  # a leader that has not answered by then is presumed gone

# KEYS[1] ledger; ARGV now, window, limit, member → {used, oldest (string), granted}
_TAKE = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local oldest = first[2] or ''
if used >= tonumber(ARGV[3]) then
  return {used, oldest, 0}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(window) + 60)
if oldest == '' then oldest = ARGV[1] end
return {used + 1, oldest, 1}
"""
# KEYS[1] flight key; ARGV[1] our token: delete only a flight we still lead
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError, asyncio.TimeoutError)


class RedisStore:
    """A store on a Redis server, shared by every process and replica that uses the same URL."""

    name = "redis"

    def __init__(self, url: str, *, max_entries: int = 50_000, client: aioredis.Redis | None = None) -> None:
        import redis.asyncio as aioredis

        self.url = url
        self.max_entries = max_entries
        self._redis: aioredis.Redis = client or aioredis.from_url(
            url, socket_timeout=5, socket_connect_timeout=5
        )
        self._errors = _errors()
        self._memory = MemoryStore()
        self._writes = 0

    async def aclose(self) -> None:
        with contextlib.suppress(*self._errors):
            await self._redis.aclose()

    async def ping(self) -> None:
        """Raise when the server cannot be reached (used once, to say so clearly at start)."""
        await self._redis.ping()

    # entries -------------------------------------------------------------------------------------
    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._redis.get(PREFIX + "e:" + key)
            if value is not None:
                await self._redis.zadd(_LRU, {key: time.time()})
        except self._errors as exc:
            logger.info("redis cache get skipped: %s", exc)
            return None
        return value if isinstance(value, bytes) else None

    async def put(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        expiry_ms = int((ttl if ttl is not None else _IDLE_TTL) * 1000)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(PREFIX + "e:" + key, value, px=max(1, expiry_ms))
                pipe.zadd(_LRU, {key: time.time()})
                await pipe.execute()
            self._writes += 1
            if self._writes % _EVICT_EVERY == 0:
                await self._evict()
        except self._errors as exc:
            logger.info("redis cache put skipped: %s", exc)

    async def _evict(self) -> None:
        excess = int(await self._redis.zcard(_LRU)) - self.max_entries
        if excess > 0:
            popped: list[tuple[bytes, float]] = await self._redis.zpopmin(_LRU, excess)  # type: ignore[assignment]
            keys = [PREFIX + "e:" + member.decode() for member, _ in popped]
            if keys:
                await self._redis.delete(*keys)

    async def clear(self) -> int:
        """Remove the cached entries (the ledger stays: Bitbucket still counts those requests)."""
        removed = 0
        try:
            batch: list[bytes] = []
            async for key in self._redis.scan_iter(match=PREFIX + "e:*", count=500):
                batch.append(key)
                if len(batch) >= 500:
                    removed += int(await self._redis.delete(*batch))
                    batch.clear()
            if batch:
                removed += int(await self._redis.delete(*batch))
            await self._redis.delete(_LRU)
        except self._errors as exc:
            logger.warning("redis cache clear failed: %s", exc)
        return removed + await self._memory.clear()

    # ledger --------------------------------------------------------------------------------------
    async def take(self, ledger: str, now: float, limit: int) -> Usage:
        member = f"{now:.6f}:{uuid.uuid4().hex}"
        try:
            used, oldest, granted = await self._redis.eval(
                _TAKE, 1, PREFIX + "l:" + ledger, repr(now), repr(WINDOW_SECONDS), str(limit), member
            )
        except self._errors as exc:
            logger.info("redis ledger unavailable, counting in memory: %s", exc)
            return await self._memory.take(ledger, now, limit)
        return Usage(int(used), float(oldest) if oldest else None, granted=bool(int(granted)))

    async def usage(self, ledger: str, now: float) -> Usage:
        key = PREFIX + "l:" + ledger
        try:
            used = await self._redis.zcount(key, f"({now - WINDOW_SECONDS!r}", "+inf")
            first = await self._redis.zrangebyscore(
                key, f"({now - WINDOW_SECONDS!r}", "+inf", start=0, num=1, withscores=True
            )
        except self._errors as exc:
            logger.info("redis ledger unavailable: %s", exc)
            return await self._memory.usage(ledger, now)
        return Usage(int(used), float(first[0][1]) if first else None)

    # single flight -------------------------------------------------------------------------------
    async def single_flight(
        self, key: str, fetch: typing.Callable[[], typing.Awaitable[Kept | None]]
    ) -> bytes | None:
        flight, channel = PREFIX + "f:" + key, PREFIX + "done:" + key
        token = uuid.uuid4().hex
        try:
            leading = bool(await self._redis.set(flight, token, nx=True, px=int(_FLIGHT_SECONDS * 1000)))
        except self._errors:
            leading = True  # no server: everyone is on their own
        if not leading:
            value = await self._follow(key, flight, channel)
            if value is not None:
                return value
        value = None
        try:
            # The caller missed the cache before claiming: a leader may have finished in between.
            if leading and (value := await self.get(key)) is not None:
                return value
            kept = await fetch()
            if kept is not None:
                value = kept[0]
                await self.put(key, value, ttl=kept[1])
        finally:
            if leading:
                with contextlib.suppress(*self._errors):
                    await self._redis.eval(_RELEASE, 1, flight, token)
                    await self._redis.publish(channel, b"done")
        return value

    async def _follow(self, key: str, flight: str, channel: str) -> bytes | None:
        """Wait for the leader's announcement (subscribed first, so it cannot be missed), then read."""
        try:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(channel)
                value = await self.get(key)
                if value is None and await self._redis.exists(flight):
                    async with asyncio.timeout(_FLIGHT_SECONDS):
                        while (
                            await pubsub.get_message(ignore_subscribe_messages=True, timeout=_FLIGHT_SECONDS)
                            is None
                        ):
                            if not await self._redis.exists(flight):
                                break
                    value = await self.get(key)
                return value
            finally:
                await pubsub.unsubscribe(channel)
                await pubsub.aclose()  # type: ignore[no-untyped-call]
        except self._errors as exc:
            logger.info("redis single flight unavailable: %s", exc)
            return None
