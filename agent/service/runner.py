"""Every surface's way in: a connection and a `Question` become one `Session.ask` run.

The HTTP API, the chat page, MCP, Slack and the incident webhooks all call `Runner.resolve` (which
connection) and `Runner.ask` (the run); they differ only in how they render the result. The runner owns
what outlives a question: the saved connections and their last tests (the store's, shared by replicas,
win over the config file's), the shared response cache and hourly ledger (Redis for replicas; its keys
carry each credential's identity), a small in-process cache per connection, and the embedded sandbox
world when no Bitbucket connection is configured. Each question gets a fresh client, so the request
budget is per question, as in the CLI.

A question may be a turn of a `Thread`: the service's threads (chat page, Slack, incidents) take a
lease on the thread row and commit the turn only when it finished (`Store.turn`); a process without
the service's store (`bbscout mcp`) uses `LocalThreads`, one turn at a time per thread in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from bbscout.agent.connect import run_checks
from bbscout.agent.connections import (
    ENV_CONNECTION,
    SANDBOX_CONNECTION,
    Connection,
    LastTest,
    refuse_if_failed,
    resolve,
)
from bbscout.agent.exit_codes import EXIT_RATE_LIMITED, EXIT_REFUSED
from bbscout.agent.questions import check_question, symptom_onset
from bbscout.agent.runtime import (
    EventSink,
    PlannerChoice,
    RunResult,
    Session,
    embedded_transport,
    make_client,
    open_session,
)
from bbscout.agent.service.store import TURN_LEASE_SECONDS, Store, StoreUnavailable, outage_of
from bbscout.agent.settings import ConfigError, Settings
from bbscout.tools.bitbucket import COALESCE_SECONDS, AuthError, ResponseCache
from bbscout.tools.bitbucket import Store as SharedStore

__all__ = ["LocalThreads", "Question", "Resolved", "RunRefused", "Runner", "Thread", "check_names"]

Clock = Callable[[], datetime]
Check = Callable[[], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Resolved:
    """The connection a question runs on: its name and the settings that carry its credentials."""

    name: str
    settings: Settings


@dataclass(frozen=True)
class Question:
    """One question from any surface, already in its medium's words."""

    text: str
    mode: Literal["ask", "investigate"] = "ask"
    at: datetime | None = None  # when the symptom began (investigate)
    repos: tuple[str, ...] | None = None
    now: datetime | None = None  # None: the runner's clock
    tz: str = "UTC"
    planner: PlannerChoice | None = None  # None: the runner's default


@dataclass(frozen=True)
class Thread:
    """A conversation the question is a turn of: its id, and how to take one turn of it.

    `turn()` yields the checkpointer the turn writes through; leaving it commits the turn.
    """

    id: str
    turn: Callable[[], AbstractAsyncContextManager[Any]]


class RunRefused(Exception):
    """Bitbucket refused the run's requests (exit code 3) or rate-limited all of them (4): no answer.

    Raised inside a thread's turn, so nothing is written; `detail` is the first refusal's explanation.
    """

    def __init__(self, result: RunResult) -> None:
        first = next((o for o in result.outcomes if o.error), None)
        self.detail = (
            first.error if first and first.error else "Bitbucket refused every request of this question."
        )
        self.rate_limited = result.exit_code == EXIT_RATE_LIMITED
        self.result = result
        super().__init__(self.detail)


class LocalThreads:
    """Threads in a checkpointer of this process alone (`bbscout mcp`: the CLI's chat file)."""

    def __init__(self, saver: Any) -> None:
        self.saver = saver
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def thread(self, thread_id: str) -> Thread:
        lock = self._locks.get(thread_id) or asyncio.Lock()
        self._locks[thread_id] = lock  # the Thread holds it, so the weak entry lives while it is used

        @asynccontextmanager
        async def turn() -> AsyncIterator[Any]:
            async with lock:  # a thread's turns run one at a time, in arrival order
                yield self.saver

        return Thread(thread_id, turn)


def check_names(base: Settings, saved: dict[str, Connection], names: dict[str, str | None]) -> None:
    """Refuse, at start-up, a connection named in the configuration (where → name) that does not exist.

    Only existence is checked here; a connection whose last test failed is refused when it is used.
    """
    untested = {k: c.model_copy(update={"last_test": None}) for k, c in saved.items()}
    for where, name in names.items():
        if name is None:
            continue
        try:
            resolve(name, base, untested)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None


class Runner:
    """Connections, caches and the embedded world of one long-running process.

    Args:
        base: the process's settings (the environment's connection, budget, LLM, cache location).
        saved: the named connections (`bbscout connect --save NAME`).
        shared: the response cache and hourly ledger every bbscout process shares (agent.cache).
        store: the service's store (connection tests shared by replicas); None outside the service.
        planner: auto, rules or llm, for questions that do not choose.
        clock: "now" for questions that do not carry one (tests inject a fixed time).
        ready: raises `StoreUnavailable` while a store the run needs is gone (the service's Redis),
            checked before a run and again before its thread turn is committed.
    """

    def __init__(
        self,
        base: Settings,
        saved: dict[str, Connection],
        shared: SharedStore,
        *,
        store: Store | None = None,
        planner: PlannerChoice = "auto",
        clock: Clock = utc_now,
        ready: Check | None = None,
    ) -> None:
        self.base = base
        self.saved = saved
        self.shared = shared
        self.store = store
        self.planner = planner
        self.clock = clock
        self.ready = ready
        self.caches: dict[str, ResponseCache] = {}
        self._embedded: tuple[httpx.AsyncBaseTransport, Any] | None = None

    # connections -------------------------------------------------------------------------------
    async def connections(self) -> dict[str, Connection]:
        """Saved connections with the freshest last test (the store's, shared by replicas, or the file's)."""
        tests = await self.store.connection_tests() if self.store is not None else {}
        merged = {}
        for name, connection in self.saved.items():
            test = tests.get(name)
            if test and (connection.last_test is None or test.at >= connection.last_test.at.timestamp()):
                last = LastTest(ok=test.ok, at=datetime.fromtimestamp(test.at, UTC), detail=test.detail)
                connection = connection.model_copy(update={"last_test": last})
            merged[name] = connection
        return merged

    async def listing(self) -> list[dict[str, Any]]:
        """What `GET /v1/connections` shows: names, workspaces, last tests; never a secret."""
        saved = await self.connections()
        shown = [c.public() for c in saved.values()]
        if not self.base.uses_embedded_sandbox:
            env = Connection(
                name=ENV_CONNECTION,
                workspace=self.base.workspace or "",
                base_url=self.base.base_url,
                email=self.base.email if self.base.api_token else None,
                api_token=self.base.api_token,
                access_token=self.base.access_token,
            )
            shown.insert(0, env.public() | {"default": True})
        elif not saved:
            shown.append(
                {"name": SANDBOX_CONNECTION, "workspace": "acme", "auth": "embedded", "default": True}
                | {"base_url": None, "email": None, "last_test": None}
            )
        elif len(saved) == 1:
            shown[0]["default"] = True
        return shown

    async def resolve(self, name: str | None) -> Resolved:
        """The connection to use; refuses unknown ones and ones whose last test failed (ConfigError)."""
        saved = await self.connections()
        resolved_name, settings = resolve(name, self.base, saved)
        if resolved_name in saved:
            refuse_if_failed(saved[resolved_name])
        return Resolved(resolved_name, settings)

    async def shared_thread(
        self, thread_id: str, title: str, connection: str | None, wait: float = TURN_LEASE_SECONDS
    ) -> tuple[Thread, Resolved]:
        """A shared thread of the service (a Slack thread, an incident's), made on first use on `connection`.

        Later turns keep the connection the thread began on, and wait up to `wait` seconds for a turn
        still running (on any replica) instead of being refused.
        """
        assert self.store is not None, "shared threads live in the service's store"
        store = self.store
        row = await store.shared_thread(thread_id)
        if row is None:
            row = await store.ensure_shared_thread(thread_id, title, (await self.resolve(connection)).name)
        resolved = await self.resolve(row.connection)
        return Thread(row.id, lambda: store.turn(row, wait=wait)), resolved

    async def test(self, name: str) -> dict[str, Any]:
        """Test Connection for a saved (or the environment's) connection; the result is shared by replicas."""
        assert self.store is not None, "connection tests are recorded in the service's store"
        saved = await self.connections()
        if name in saved:
            settings = saved[name].settings(self.base)
        else:
            name, settings = resolve(name, self.base, saved)
        checks = await run_checks(
            settings, lambda _: None, client=self._client_for(Resolved(name, settings), self.clock())
        )
        failed = next((c for c in checks if not c.ok), None)
        detail = f"{failed.name}: {failed.detail}" if failed else f"{len(checks)} checks passed"
        test = await self.store.record_test(name, failed is None, detail)
        return {
            "name": name,
            "ok": test.ok,
            "at": datetime.fromtimestamp(test.at, UTC).isoformat(),
            "detail": detail,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks],
        }

    async def _refused(self, resolved: Resolved, explanation: str) -> None:
        """Bitbucket rejected the credentials: the connection fails its test until it passes again."""
        if self.store is not None and resolved.name in self.saved:
            await self.store.record_test(resolved.name, False, f"a question was refused: {explanation}")

    # runs --------------------------------------------------------------------------------------
    def _client_for(self, resolved: Resolved, now: datetime) -> Any:
        # In-process: identical concurrent requests fly once; listings coalesce only as long as the
        # shared store keeps them, so a later question never gets an old listing.
        cache = self.caches.setdefault(resolved.name, ResponseCache(listing_ttl=COALESCE_SECONDS))
        if resolved.name == SANDBOX_CONNECTION:
            self._embedded = self._embedded or embedded_transport(now)
        embedded = self._embedded if resolved.name == SANDBOX_CONNECTION else None
        return make_client(
            resolved.settings, now, lambda _: None, cache=cache, embedded=embedded, store=self.shared
        )

    @asynccontextmanager
    async def session(
        self, resolved: Resolved, planner: PlannerChoice | None = None, now: datetime | None = None
    ) -> AsyncIterator[Session]:
        """A session on `resolved` with a fresh client (its own request budget) and the shared caches."""
        at = now or self.clock()
        async with open_session(
            resolved.settings,
            planner=planner or self.planner,
            now=at,
            client=self._client_for(resolved, at),
            source="sandbox" if resolved.name == SANDBOX_CONNECTION else "bitbucket",
        ) as session:
            yield session

    async def ask(
        self,
        question: Question,
        resolved: Resolved,
        *,
        on_event: EventSink | None = None,
        thread: Thread | None = None,
    ) -> RunResult:
        """Validate and run one question on `resolved`; with `thread`, as that conversation's next turn.

        Raises:
            ConfigError: an empty, oversized or binary question, an unknown repository, or an
                investigation without the time its symptom began.
            StoreUnavailable: the database or the shared cache went away (nothing was written).
            ThreadBusy: the thread's turn lease is held (see `Store.turn`).
            RunRefused: Bitbucket refused or rate-limited every request of the run.
            tools.bitbucket.BitbucketError: Bitbucket refused the access check.
        """
        text = check_question(question.text)
        if question.mode == "investigate":
            now = question.now or self.clock()
            question = replace(question, at=symptom_onset(text, question.at, now, question.tz), now=now)
        try:
            return await self._run(text, question, resolved, on_event, thread)
        except Exception as exc:
            store = outage_of(exc)
            if store is None or isinstance(exc, StoreUnavailable):
                raise
            raise StoreUnavailable(store, exc) from exc

    async def _run(
        self,
        text: str,
        question: Question,
        resolved: Resolved,
        on_event: EventSink | None,
        thread: Thread | None,
    ) -> RunResult:
        now = question.now or self.clock()
        repos = list(question.repos) if question.repos else None
        await self._ready()
        async with self.session(resolved, question.planner, now) as session:
            try:
                await session.check_access(repos)
            except AuthError as exc:
                await self._refused(resolved, exc.explain())
                raise
            turn = thread.turn() if thread is not None else contextlib.nullcontext(None)
            async with turn as checkpointer:  # a thread's turn is committed only if it finishes
                result = await session.ask(
                    text,
                    now=now,
                    tz=question.tz,
                    mode=question.mode,
                    incident_at=question.at,
                    repo_filter=repos,
                    checkpointer=checkpointer,
                    thread_id=thread.id if thread is not None else None,
                    on_event=on_event,
                )
                rejected = next((o for o in result.outcomes if o.error_kind == "AuthError"), None)
                if rejected is not None:
                    await self._refused(resolved, rejected.error or "Bitbucket rejected the credentials.")
                bitbucket_said_no = result.exit_code in (EXIT_REFUSED, EXIT_RATE_LIMITED)
                if bitbucket_said_no and not result.document.get("refused"):  # not bbscout's read-only help
                    raise RunRefused(result)
                await self._ready()  # it went away mid-answer: refuse, write nothing
        return result

    async def _ready(self) -> None:
        if self.ready is not None:
            await self.ready()
