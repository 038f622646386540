"""Wiring: settings → Bitbucket client (real or embedded sandbox) → tools, planner, reporter → a run.

The CLI, the chat loop and the evals all go through `open_session` and `Session.ask`, so the embedded
default, the request budget and the exit-code rules live in one place.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import SecretStr

from bbscout.agent.cache import open_shared_store
from bbscout.agent.context import Context
from bbscout.agent.exit_codes import (
    EXIT_GAPS,
    EXIT_OK,
    EXIT_RATE_LIMITED,
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    UNREACHABLE_ERRORS,
)
from bbscout.agent.focus import Constraint
from bbscout.agent.output import json_document
from bbscout.agent.plan import StepOutcome
from bbscout.agent.planners.rules import RulesPlanner
from bbscout.agent.readonly import REFUSED
from bbscout.agent.report import Report
from bbscout.agent.reporters.rules import RulesReporter
from bbscout.agent.settings import ConfigError, Settings
from bbscout.agent.state import InputState, State, cited_records
from bbscout.tools.bitbucket import BasicAuth, BearerAuth, BitbucketClient, ResponseCache, Store, is_loopback
from bbscout.tools.context import ToolContext, list_repository_records
from bbscout.tools.resolve import closest_names

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

PlannerChoice = Literal["auto", "rules", "llm"]
Source = Literal["sandbox", "bitbucket"]  # where the answer's data came from (`--json` "source")
SANDBOX_BASE_URL = "http://sandbox.local/2.0"
Notice = Callable[[str], None]
EventSink = Callable[[dict[str, Any]], None]


@dataclass
class RunResult:
    """A finished run: the report, the `--json` document and the exit code it deserves."""

    report: Report
    document: dict[str, Any]
    exit_code: int
    outcomes: list[StepOutcome] = field(default_factory=list)


def embedded_transport(
    now: datetime, world_name: str = "default", seed: int = 7
) -> tuple[httpx.AsyncBaseTransport, Any]:
    """An in-process sandbox: the ASGI app over httpx, and the world it serves (the only place the
    product imports the sandbox)."""
    from bbscout.sandbox.app import create_app
    from bbscout.sandbox.world import build_world, hour_anchor

    world = build_world(world_name, seed=seed, anchor=hour_anchor(now))
    return httpx.ASGITransport(app=create_app(world)), world


def make_client(
    settings: Settings,
    now: datetime,
    notice: Notice,
    cache: ResponseCache | None = None,
    embedded: tuple[httpx.AsyncBaseTransport, Any] | None = None,
    store: Store | None = None,
) -> BitbucketClient:
    """A client for the configured Bitbucket, or for the embedded sandbox world when nothing is set.

    `embedded` reuses an already built (transport, world) pair, as a long-running service does.
    `store` is the shared cache and hourly ledger (agent.cache); the embedded world is rebuilt every
    hour, so its cache entries are scoped to the world they came from.
    """
    settings.check_bitbucket()
    if not settings.uses_embedded_sandbox:
        auth: BasicAuth | BearerAuth
        if settings.api_token is not None:
            auth = BasicAuth(settings.email or "", settings.api_token)
        else:
            assert settings.access_token is not None
            auth = BearerAuth(settings.access_token)
        url = httpx.URL(settings.base_url)
        if url.scheme == "http" and not is_loopback(url.host):
            notice(
                f"Warning: BBSCOUT_ALLOW_HTTP is set: the token goes to {url.host} over plain HTTP, "
                "unencrypted. Use https:// unless this is a trusted proxy."
            )
        client = BitbucketClient(
            workspace=settings.workspace or "",
            auth=auth,
            base_url=settings.base_url,
            budget=settings.request_budget,
            cache=cache,
            allow_http=settings.allow_http,
            on_wait=lambda seconds, why: notice(f"Waiting {seconds:.0f} s before retrying: {why}."),
            store=store,
        )
        client.start_run(settings.timeout)
        return client
    transport, world = embedded or embedded_transport(now)
    token = world.token("demo")
    notice(
        "No Bitbucket settings (BITBUCKET_* or the config file): using the embedded sandbox workspace "
        f"'{world.workspace['slug']}', invented demo data. Set BITBUCKET_WORKSPACE, BITBUCKET_EMAIL and "
        "BITBUCKET_API_TOKEN to ask your own workspace."
    )
    client = BitbucketClient(
        workspace=str(world.workspace["slug"]),
        auth=BasicAuth(token.email or "", SecretStr(token.secret)),
        base_url=SANDBOX_BASE_URL,
        transport=transport,
        budget=settings.request_budget,
        cache=cache,
        store=store,
        cache_scope=f"sandbox {world.name} {world.anchor.isoformat()}",
    )
    client.start_run(settings.timeout)
    return client


def make_planner(settings: Settings, choice: PlannerChoice, notice: Notice) -> tuple[Any, Any, str]:
    """(planner, reporter, name): the LLM pair when configured (or demanded), else rules."""
    if choice == "llm" and not settings.has_llm:
        raise ConfigError(
            "--planner llm needs an OpenAI-compatible endpoint: set OPENAI_API_KEY (and OPENAI_BASE_URL "
            "for a non-OpenAI server, BBSCOUT_MODEL for the model name), or use --planner rules."
        )
    if choice == "rules" or not settings.has_llm:
        if choice == "auto":
            notice("No LLM configured (OPENAI_API_KEY): using the offline rules planner and reporter.")
        return RulesPlanner(), RulesReporter(), "rules"
    from bbscout.agent.fallback import FallbackPlanner, FallbackReporter
    from bbscout.agent.llm import LLMClient
    from bbscout.agent.planners.llm import LLMPlanner
    from bbscout.agent.reporters.llm import LLMReporter

    assert settings.openai_api_key is not None
    llm = LLMClient(api_key=settings.openai_api_key, base_url=settings.openai_base_url, model=settings.model)
    planner = FallbackPlanner(LLMPlanner(llm), RulesPlanner())
    return planner, FallbackReporter(LLMReporter(llm), RulesReporter()), "llm"


def document_from_state(
    values: dict[str, Any],
    *,
    planner: str,
    source: str,
    workspace: str,
    stats: dict[str, Any] | None = None,
) -> tuple[Report, list[StepOutcome], dict[str, Any]]:
    """(report, outcomes, `--json` document) from a finished turn's graph state.

    Without `stats` (a turn read back from a checkpoint) they are rebuilt from the outcomes. An answer
    from the embedded sandbox says so in its text, not only in the document's `source`.
    """
    report = Report.model_validate(values["report"])
    if source == "sandbox":
        note = f"Source: the embedded sandbox workspace '{workspace}' (invented demo data)."
        report = report.model_copy(update={"answer": f"{report.answer}\n\n{note}"})
    outcomes = [StepOutcome.model_validate(o) for o in values.get("outcomes", [])]
    if stats is None:
        stats = {
            "http_requests": sum(o.requests for o in outcomes),
            "tool_calls": len(outcomes),
            "seconds": round(sum(o.seconds for o in outcomes), 3),
        }
    document = json_document(
        question=values["question"],
        planner=planner,
        source=source,
        now=values["now"],
        window=(values.get("plan") or {}).get("window"),
        report=report,
        records=cited_records(values),
        stats=stats,
        refused=REFUSED if values.get("refusal") else None,
        constraints=[
            Constraint.model_validate(c) for c in (values.get("plan") or {}).get("constraints") or []
        ],
    )
    return report, outcomes, document


def exit_code_for(report: Report, outcomes: list[StepOutcome], refused: str | None = None) -> int:
    """0 answered, 1 with gaps, 3 refused (by Bitbucket everywhere, or by bbscout: a request to act),
    4 rate limited or 5 unreachable with nothing to show."""
    if refused:
        return EXIT_REFUSED
    kinds = {o.error_kind for o in outcomes if o.error_kind}
    has_records = any(o.records for o in outcomes)
    if "AuthError" in kinds or (not has_records and kinds & {"ScopeError", "NotFound"}):
        return EXIT_REFUSED
    if not has_records and "RateLimited" in kinds:
        return EXIT_RATE_LIMITED
    if not has_records and kinds & UNREACHABLE_ERRORS:
        return EXIT_UNREACHABLE
    return EXIT_GAPS if report.gaps else EXIT_OK


class Session:
    """One configured bbscout: client, tools, planner and reporter, reused across chat turns."""

    def __init__(
        self,
        settings: Settings,
        client: BitbucketClient,
        planner: Any,
        reporter: Any,
        planner_name: str,
        source: Source = "bitbucket",
    ):
        self.settings = settings
        self.client = client
        self.source = source
        self.tools = ToolContext(client=client, workspace=client.workspace)
        self.planner = planner
        self.reporter = reporter
        self.planner_name = planner_name

    def context(self) -> Context:
        return Context(tools=self.tools, planner=self.planner, reporter=self.reporter)

    async def check_access(self, repo_filter: list[str] | None) -> int:
        """List repositories once (auth check + --repo validation); raises BitbucketError or ConfigError.

        Returns how many repositories the workspace has (the first progress a user sees).
        """
        repositories = await list_repository_records(self.tools)
        slugs = {r.slug for r in repositories}
        for slug in repo_filter or []:
            if slug not in slugs:
                close = closest_names(slug, repositories)
                raise ConfigError(
                    f"No repository '{slug}' in workspace '{self.client.workspace}'. "
                    f"Closest: {', '.join(close) or 'none'}. Pass an existing slug to --repo (see "
                    '`bbscout ask "list repositories"`).'
                )
        return len(repositories)

    async def ask(
        self,
        question: str,
        *,
        now: datetime,
        tz: str = "UTC",
        mode: Literal["ask", "investigate"] = "ask",
        incident_at: datetime | None = None,
        repo_filter: list[str] | None = None,
        checkpointer: Any = None,
        thread_id: str | None = None,
        on_event: EventSink | None = None,
    ) -> RunResult:
        """Run the graph once; a checkpointer + thread makes it a chat turn. `settings.timeout` bounds it."""
        from bbscout.agent.graph import RECURSION_LIMIT, build_graph  # langgraph: only once there is work

        self.client.start_run(self.settings.timeout)
        started = time.perf_counter()
        before_requests, before_bytes = self.client.stats.requests, self.client.stats.bytes
        before_hits = self.client.stats.cache_hits
        await self.client.refresh_hourly()  # other processes' requests count too
        llm_before = self._llm_tokens()
        graph = build_graph().compile(checkpointer=checkpointer, name="bbscout")
        config: RunnableConfig = {"recursion_limit": RECURSION_LIMIT}
        if thread_id:
            config["configurable"] = {"thread_id": thread_id}
            # kept with the turn's checkpoint, so a thread's history renders as it was answered
            config["metadata"] = {
                "planner": self.planner_name,
                "source": self.source,
                "workspace": self.client.workspace,
            }
        inputs: InputState = {
            "question": question,
            "now": now.isoformat(),
            "tz": tz,
            "mode": mode,
            "incident_at": incident_at.isoformat() if incident_at else None,
            "repo_filter": repo_filter,
        }
        # A chat turn writes one checkpoint, when it ends: a turn that fails leaves the thread as it was.
        durability: Literal["exit"] | None = "exit" if checkpointer is not None else None
        final: State = {}
        async for part in graph.astream(
            inputs,
            config=config,
            context=self.context(),
            stream_mode=["custom", "values"],
            durability=durability,
            version="v2",
        ):
            if part["type"] == "custom" and on_event:
                on_event(part["data"])
            elif part["type"] == "values":
                final = part["data"]
        stats = {
            "http_requests": self.client.stats.requests - before_requests,
            "http_bytes": self.client.stats.bytes - before_bytes,
            "tool_calls": len(final.get("outcomes", [])),
            "llm_tokens": self._llm_tokens() - llm_before,
            "seconds": round(time.perf_counter() - started, 3),
            "cache_hits": self.client.stats.cache_hits - before_hits,
            "requests_left_this_hour": self.client.hourly_remaining,
            "hourly_limit": self.client.hourly_limit,
            "requests_left_from": self.client.hourly_source,
        }
        values: dict[str, Any] = {**final, "question": question, "now": now.isoformat()}
        report, outcomes, document = document_from_state(
            values,
            planner=self.planner_name,
            source=self.source,
            workspace=self.client.workspace,
            stats=stats,
        )
        exit_code = exit_code_for(report, outcomes, document["refused"])
        return RunResult(report=report, document=document, exit_code=exit_code, outcomes=outcomes)

    def _llm_tokens(self) -> int:
        llm = getattr(getattr(self.planner, "primary", None), "client", None)
        usage = getattr(llm, "usage", None)
        return int(getattr(usage, "total_tokens", 0) or 0)


@asynccontextmanager
async def open_session(
    settings: Settings,
    *,
    planner: PlannerChoice = "auto",
    now: datetime,
    notice: Notice = lambda _: None,
    client: BitbucketClient | None = None,
    source: Source = "bitbucket",
) -> AsyncIterator[Session]:
    """A ready Session; closes the HTTP client (and the shared store it opened) on exit.

    Without `client`, the settings decide: the configured Bitbucket, or the embedded sandbox when no
    Bitbucket setting exists; that client shares the configured cache and hourly ledger (agent.cache)
    with every other bbscout process. A given `client` is used as it is (evals: no shared store, every
    run cold), and the caller says where it points with `source`.
    """
    planner_obj, reporter, name = make_planner(settings, planner, notice)
    store = None if client is not None else open_shared_store(settings)
    if client is None:
        source = "sandbox" if settings.uses_embedded_sandbox else "bitbucket"
    try:
        client = client or make_client(settings, now, notice, store=store)
        async with client:
            await client.refresh_hourly()
            rebuilt = getattr(store, "rebuilt", None)
            if rebuilt:
                notice(f"Cache: {rebuilt}.")
            yield Session(settings, client, planner_obj, reporter, name, source)
    finally:
        if store is not None:
            await store.aclose()
