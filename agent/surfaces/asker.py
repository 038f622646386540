"""The surfaces' one way in: a `Question` becomes a `Session.ask` run on the right connection.

MCP, Slack and the webhooks hand `Asker` a question and a progress sink and get the finished run
back; how each renders it is its own business. The asker owns what outlives one question: the
response cache (so repeated questions cost no Bitbucket requests for what cannot change), the
embedded sandbox world when no Bitbucket connection is configured, and the checkpointer that turns a
thread id into a chat turn. Each question gets a fresh client, so the request budget is per question,
as in the CLI.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from bbscout.agent.connections import load_connections, resolve
from bbscout.agent.runtime import (
    EventSink,
    PlannerChoice,
    RunResult,
    Session,
    Source,
    check_question,
    embedded_transport,
    make_client,
    open_session,
)
from bbscout.agent.settings import ConfigError, Settings
from bbscout.tools.bitbucket import ResponseCache, Store

__all__ = ["Asker", "Clock", "Question"]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Question:
    """One question from any surface; `thread` makes it a turn of that conversation."""

    text: str
    mode: Literal["ask", "investigate"] = "ask"
    at: datetime | None = None  # when the symptom began (investigate)
    repos: tuple[str, ...] | None = None
    thread: str | None = None
    connection: str | None = None
    now: datetime | None = None
    tz: str = "UTC"


class Asker:
    """Runs questions through `open_session` and `Session.ask`, the entry point every surface shares.

    Args:
        settings: the Bitbucket connection (or none: the embedded sandbox) and the request budget.
        planner: auto, rules or llm, as on the command line.
        checkpointer: a langgraph checkpointer for threads; without one a thread id is refused.
        clock: "now" for questions that do not carry one (tests inject a fixed time).
        connection: the named connection used when a question names none.
        store: the response cache and hourly request ledger shared with other processes (agent.cache).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        planner: PlannerChoice = "auto",
        checkpointer: Any = None,
        clock: Clock = utc_now,
        connection: str | None = None,
        store: Store | None = None,
    ) -> None:
        self.settings = settings
        self.planner = planner
        self.checkpointer = checkpointer
        self.clock = clock
        self.connection = connection
        self.caches: dict[str, ResponseCache] = {}  # one per connection: a token's view answers only it
        self.store = store
        self._embedded: tuple[httpx.AsyncBaseTransport, Any] | None = None
        self._thread_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _settings_for(self, connection: str | None) -> tuple[str, Settings]:
        """(name, settings): a saved connection (`bbscout connect --save NAME`), else the configured one."""
        return resolve(connection, self.settings, load_connections())

    @asynccontextmanager
    async def session(
        self, connection: str | None = None, now: datetime | None = None
    ) -> AsyncIterator[Session]:
        """A session on `connection` with a fresh client (its own request budget) and the shared cache."""
        name, settings = self._settings_for(connection or self.connection)
        at = now or self.clock()
        embedded = None
        if settings.uses_embedded_sandbox:
            self._embedded = self._embedded or embedded_transport(at)
            embedded = self._embedded
        client = make_client(
            settings,
            at,
            lambda _: None,
            cache=self.caches.setdefault(name, ResponseCache()),
            embedded=embedded,
            store=self.store,
        )
        source: Source = "sandbox" if settings.uses_embedded_sandbox else "bitbucket"
        async with open_session(
            settings, planner=self.planner, now=at, client=client, source=source
        ) as session:
            yield session

    async def ask(self, question: Question, on_event: EventSink | None = None) -> RunResult:
        """Validate and run one question; a thread's turns run one at a time, in arrival order.

        Raises:
            ConfigError: an empty, oversized or binary question, an unknown connection or repository,
                or a thread without a checkpointer.
            tools.bitbucket.BitbucketError: Bitbucket refused the access check.
        """
        text = check_question(question.text)
        if question.thread and self.checkpointer is None:
            raise ConfigError("Threads need a checkpointer; this surface was started without one.")
        now = question.now or self.clock()
        if question.mode == "investigate" and question.at is None:
            raise ConfigError("An investigation needs the time the symptom began.")
        lock = None
        if question.thread:  # held here, so the weak entry lives while this turn runs or waits
            lock = self._thread_locks.get(question.thread) or asyncio.Lock()
            self._thread_locks[question.thread] = lock
        async with self.session(question.connection, now) as session:
            repos = list(question.repos) if question.repos else None
            if repos:
                await session.check_access(repos)
            if lock is None:
                return await self._run(session, text, question, now, repos, on_event)
            async with lock:
                return await self._run(session, text, question, now, repos, on_event)

    async def _run(
        self,
        session: Session,
        text: str,
        question: Question,
        now: datetime,
        repos: list[str] | None,
        on_event: EventSink | None,
    ) -> RunResult:
        return await session.ask(
            text,
            now=now,
            tz=question.tz,
            mode=question.mode,
            incident_at=question.at,
            repo_filter=repos,
            checkpointer=self.checkpointer if question.thread else None,
            thread_id=question.thread,
            on_event=on_event,
        )
