"""The service's durable state: chat checkpoints, the thread registry, API-key quotas, connection tests.

One SQL database holds all of it: SQLite under the data dir by default, PostgreSQL when
`BBSCOUT_DATABASE_URL` is set (then every replica shares it, and the checkpointer is langgraph's
`AsyncPostgresSaver`). The statements are written once with `?` placeholders; timestamps are epoch
seconds from the service clock, so both dialects run the same SQL.

A chat turn is all or nothing: `TurnCheckpointer` holds the graph's checkpoint writes in memory
and the service commits them only when the turn has finished (`durability="exit"` makes that one
checkpoint), so a database or cache outage mid-turn leaves the thread as it was. Two turns of one
thread never run at once: a lease on the thread row (compare-and-set, no held connection) refuses
the second with `ThreadBusy` (or, for a surface that can wait, waits for the lease).

Threads belong to the API key that made them, except the shared ones (owner `*`): a Slack thread or an
incident's thread, which every key may read and continue, so a follow-up from the chat page, the API
or Slack sees the same evidence. `claim_once` is an at-most-once gate (Slack's event redeliveries)
that holds across replicas; `execute` lets the incident investigations keep their table here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS bbscout_threads (
        id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, connection TEXT,
        created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, turns INTEGER NOT NULL,
        busy_until DOUBLE PRECISION, busy_token TEXT)""",
    """CREATE TABLE IF NOT EXISTS bbscout_quota (
        key_name TEXT NOT NULL, window_start BIGINT NOT NULL, used INTEGER NOT NULL,
        PRIMARY KEY (key_name, window_start))""",
    """CREATE TABLE IF NOT EXISTS bbscout_connection_tests (
        name TEXT PRIMARY KEY, ok BOOLEAN NOT NULL, at DOUBLE PRECISION NOT NULL, detail TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS bbscout_claims (key TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL)""",
)
THREAD_COLUMNS = "id, owner, title, connection, created_at, updated_at, turns"
SHARED_OWNER = "*"  # not a valid API key name: every key may read and continue the thread
TURN_LEASE_SECONDS = 300.0
TURN_POLL_SECONDS = 0.5
QUOTA_WINDOW_SECONDS = 3600


class StoreUnavailable(Exception):
    """The database or cache could not be reached; `store` names which (for the 503 problem)."""

    def __init__(self, store: str, cause: BaseException) -> None:
        super().__init__(f"{store} is unavailable ({type(cause).__name__}: {cause})".strip())
        self.store = store


class ThreadBusy(Exception):
    """Another turn of this thread is still running (on this or another replica)."""


@dataclass(frozen=True)
class ThreadRow:
    id: str
    owner: str
    title: str
    connection: str | None
    created_at: float
    updated_at: float
    turns: int

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "connection": self.connection,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "turns": self.turns,
            "shared": self.owner == SHARED_OWNER,
        }


@dataclass(frozen=True)
class ConnectionTest:
    name: str
    ok: bool
    at: float
    detail: str


class Sql(Protocol):
    """The two calls the store needs from a driver: run one statement, fetch its rows."""

    backend: str

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    async def close(self) -> None: ...


class TurnCheckpointer(BaseCheckpointSaver[Any]):
    """Reads from the real saver; holds writes until `commit()`, so a failed turn writes nothing."""

    def __init__(self, inner: BaseCheckpointSaver[Any]) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner
        self._held: list[Callable[[], Any]] = []

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self.inner.aget_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        async for item in self.inner.alist(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        self._held.append(lambda: self.inner.aput(config, checkpoint, metadata, new_versions))
        configurable = config["configurable"]
        return {
            "configurable": {
                "thread_id": configurable["thread_id"],
                "checkpoint_ns": configurable.get("checkpoint_ns", ""),
                "checkpoint_id": checkpoint["id"],
            }
        }

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        self._held.append(lambda: self.inner.aput_writes(config, writes, task_id, task_path))

    def get_next_version(self, current: Any, channel: None) -> Any:
        return self.inner.get_next_version(current, channel)

    async def commit(self) -> None:
        """Write what the finished turn produced, in order (with `durability="exit"`: one checkpoint)."""
        held, self._held = self._held, []
        for write in held:
            await write()


class Store:
    """Threads, quotas and connection tests over one `Sql` driver, plus the matching checkpointer."""

    def __init__(
        self, sql: Sql, saver: BaseCheckpointSaver[Any], clock: Callable[[], float] = time.time
    ) -> None:
        self.sql = sql
        self.saver = saver
        self.clock = clock

    @property
    def backend(self) -> str:
        return self.sql.backend

    async def setup(self) -> None:
        for statement in SCHEMA:
            await self.execute(statement)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One statement with `?` placeholders; a database that is not there is `StoreUnavailable`."""
        try:
            return await self.sql.execute(sql, params)
        except (ThreadBusy, StoreUnavailable):
            raise
        except Exception as exc:
            if is_outage(exc):
                raise StoreUnavailable(self.backend_label, exc) from exc
            raise

    @property
    def backend_label(self) -> str:
        return "PostgreSQL" if self.backend == "postgres" else "SQLite"

    async def ping(self) -> None:
        await self.execute("SELECT 1")

    # threads ---------------------------------------------------------------------------------
    async def create_thread(self, owner: str, title: str, connection: str | None) -> ThreadRow:
        now = self.clock()
        row = ThreadRow(f"t_{secrets.token_hex(8)}", owner, title, connection, now, now, 0)
        await self.execute(
            "INSERT INTO bbscout_threads (id, owner, title, connection, created_at, updated_at, turns) "
            "VALUES (?, ?, ?, ?, ?, ?, 0)",
            (row.id, owner, title, connection, now, now),
        )
        return row

    async def thread(self, thread_id: str, owner: str) -> ThreadRow | None:
        """The thread if `owner` may use it: its own, or a shared one."""
        rows = await self.execute(
            f"SELECT {THREAD_COLUMNS} FROM bbscout_threads WHERE id = ? AND owner IN (?, ?)",
            (thread_id, owner, SHARED_OWNER),
        )
        return ThreadRow(*rows[0]) if rows else None

    async def threads(self, owner: str, limit: int = 100) -> list[ThreadRow]:
        """The key's own threads and the shared ones, most recently used first."""
        rows = await self.execute(
            f"SELECT {THREAD_COLUMNS} FROM bbscout_threads WHERE owner IN (?, ?) "
            "ORDER BY updated_at DESC LIMIT ?",
            (owner, SHARED_OWNER, limit),
        )
        return [ThreadRow(*row) for row in rows]

    async def shared_thread(self, thread_id: str) -> ThreadRow | None:
        return await self.thread(thread_id, SHARED_OWNER)

    async def ensure_shared_thread(self, thread_id: str, title: str, connection: str) -> ThreadRow:
        """The shared thread `thread_id`, made on first use (by whichever replica gets there first)."""
        now = self.clock()
        await self.execute(
            "INSERT INTO bbscout_threads (id, owner, title, connection, created_at, updated_at, turns) "
            "VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT (id) DO NOTHING",
            (thread_id, SHARED_OWNER, title[:200], connection, now, now),
        )
        row = await self.shared_thread(thread_id)
        assert row is not None, f"{thread_id} is a key's own thread"  # own ids are t_…, shared ones not
        return row

    @asynccontextmanager
    async def turn(self, thread: ThreadRow, wait: float = 0.0) -> AsyncIterator[TurnCheckpointer]:
        """Lease the thread, yield a holding checkpointer, commit it and count the turn on success.

        A thread whose lease is held raises `ThreadBusy` at once, or after `wait` seconds of waiting
        for it (a Slack follow-up sent while the answer before it is still being written).
        """
        token, deadline = secrets.token_hex(8), time.monotonic() + wait
        while True:
            now = self.clock()
            taken = await self.execute(
                "UPDATE bbscout_threads SET busy_until = ?, busy_token = ? "
                "WHERE id = ? AND (busy_until IS NULL OR busy_until < ?) RETURNING id",
                (now + TURN_LEASE_SECONDS, token, thread.id, now),
            )
            if taken:
                break
            if time.monotonic() >= deadline:
                raise ThreadBusy(thread.id)
            await asyncio.sleep(TURN_POLL_SECONDS)  # the lease may be another replica's: poll it
        checkpointer = TurnCheckpointer(self.saver)
        try:
            yield checkpointer
            try:
                await checkpointer.commit()
            except Exception as exc:
                if is_outage(exc):
                    raise StoreUnavailable(self.backend_label, exc) from exc
                raise
            await self.execute(
                "UPDATE bbscout_threads SET turns = turns + 1, updated_at = ? WHERE id = ?",
                (self.clock(), thread.id),
            )
        finally:
            with contextlib.suppress(StoreUnavailable):  # else the lease expires by itself
                await self.execute(
                    "UPDATE bbscout_threads SET busy_until = NULL, busy_token = NULL "
                    "WHERE id = ? AND busy_token = ?",
                    (thread.id, token),
                )

    # at-most-once -----------------------------------------------------------------------------
    async def claim_once(self, key: str, keep_seconds: float = 86_400.0) -> bool:
        """True for the first caller with `key` on any replica, False for every later one."""
        now = self.clock()
        await self.execute("DELETE FROM bbscout_claims WHERE at < ?", (now - keep_seconds,))
        rows = await self.execute(
            "INSERT INTO bbscout_claims (key, at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING RETURNING key",
            (key, now),
        )
        return bool(rows)

    # quotas ----------------------------------------------------------------------------------
    async def take_quota(self, key_name: str, limit: int) -> float | None:
        """Count one request against the key's hourly quota; None if allowed, else seconds to wait."""
        now = self.clock()
        window = int(now // QUOTA_WINDOW_SECONDS * QUOTA_WINDOW_SECONDS)
        rows = await self.execute(
            "INSERT INTO bbscout_quota (key_name, window_start, used) VALUES (?, ?, 1) "
            "ON CONFLICT (key_name, window_start) DO UPDATE SET used = bbscout_quota.used + 1 RETURNING used",
            (key_name, window),
        )
        used = int(rows[0][0])
        return None if used <= limit else window + QUOTA_WINDOW_SECONDS - now

    # connection tests ------------------------------------------------------------------------
    async def record_test(self, name: str, ok: bool, detail: str) -> ConnectionTest:
        test = ConnectionTest(name, ok, self.clock(), detail)
        await self.execute(
            "INSERT INTO bbscout_connection_tests (name, ok, at, detail) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET ok = excluded.ok, at = excluded.at, detail = excluded.detail",
            (name, ok, test.at, detail),
        )
        return test

    async def connection_tests(self) -> dict[str, ConnectionTest]:
        rows = await self.execute("SELECT name, ok, at, detail FROM bbscout_connection_tests")
        return {row[0]: ConnectionTest(row[0], bool(row[1]), float(row[2]), row[3]) for row in rows}

    async def close(self) -> None:
        await self.sql.close()


OUTAGES = {
    "psycopg.OperationalError": "PostgreSQL",
    "psycopg.InterfaceError": "PostgreSQL",
    "psycopg_pool.PoolTimeout": "PostgreSQL",
    "psycopg_pool.PoolClosed": "PostgreSQL",
    "redis.ConnectionError": "Redis",
    "redis.TimeoutError": "Redis",
}


def outage_of(exc: BaseException) -> str | None:
    """Which store a "server is not there" error of psycopg, its pool or redis is about (None for others)."""
    for cls in type(exc).__mro__:
        store = OUTAGES.get(f"{cls.__module__.split('.')[0]}.{cls.__name__}")
        if store:
            return store
    cause = exc.__cause__ or exc.__context__
    return outage_of(cause) if cause is not None and cause is not exc else None


def is_outage(exc: BaseException) -> bool:
    return outage_of(exc) is not None


class _Sqlite:
    backend = "sqlite"

    def __init__(self, conn: Any, saver_conn: Any) -> None:
        self.conn = conn
        self.saver_conn = saver_conn  # the checkpointer's own connection, closed with the store
        self._one_at_a_time = asyncio.Lock()  # one connection: a commit must not meet another's cursor

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self._one_at_a_time:
            cursor = await self.conn.execute(sql.replace("DOUBLE PRECISION", "REAL"), tuple(params))
            rows = [tuple(row) for row in await cursor.fetchall()]
            await self.conn.commit()
            return rows

    async def close(self) -> None:
        await self.conn.close()
        await self.saver_conn.close()


class _Postgres:
    backend = "postgres"

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.pool.connection() as conn, conn.cursor() as cursor:
            await cursor.execute(sql.replace("?", "%s"), tuple(params))
            if cursor.description is None:
                return []
            return [
                tuple(row.values()) if isinstance(row, dict) else tuple(row)
                for row in await cursor.fetchall()
            ]

    async def close(self) -> None:
        await self.pool.close()


@asynccontextmanager
async def open_store(database_url: str | None, data_dir: Path) -> AsyncIterator[Store]:
    """SQLite under `data_dir` by default; PostgreSQL for `postgresql://` URLs (tables created if missing)."""
    if database_url:
        store = await _postgres_store(database_url)
    else:
        store = await _sqlite_store(data_dir)
    try:
        await store.setup()
        yield store
    finally:
        await store.close()


async def _sqlite_store(data_dir: Path) -> Store:
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    data_dir.mkdir(parents=True, exist_ok=True)
    path = str(data_dir / "service.sqlite")
    conn, saver_conn = await aiosqlite.connect(path), await aiosqlite.connect(path)
    for each in (conn, saver_conn):
        await each.execute("PRAGMA journal_mode=WAL")
        await each.execute("PRAGMA busy_timeout=5000")
    saver = AsyncSqliteSaver(saver_conn)
    await saver.setup()
    return Store(_Sqlite(conn, saver_conn), saver)


async def _postgres_store(url: str) -> Store:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncNullConnectionPool

    # A null pool connects per use: after an outage the next request reaches the restarted server at
    # once (a keep-alive pool would wait out its reconnect backoff); loopback connects cost ~2 ms.
    pool: AsyncNullConnectionPool[Any] = AsyncNullConnectionPool(
        url,
        max_size=20,
        timeout=5.0,
        open=False,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row, "connect_timeout": 3},
    )
    try:
        await pool.open(wait=True, timeout=10.0)
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")
    except Exception as exc:
        await pool.close()
        raise StoreUnavailable("PostgreSQL", exc) from exc
    saver = AsyncPostgresSaver(pool)
    await saver.setup()
    return Store(_Postgres(pool), saver)
