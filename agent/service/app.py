"""`bbscout serve`: the HTTP API and the chat page over the one session entry point.

    POST /v1/ask, /v1/investigate            the `--json` document (or SSE progress, then it)
    POST /v1/threads, GET /v1/threads        chat threads of the caller's API key
    GET  /v1/threads/{id}                    a thread and its turns (read back from the checkpoints)
    POST /v1/threads/{id}/messages           one chat turn (JSON or SSE)
    GET  /v1/connections                     names, workspaces, last tests; never a secret
    POST /v1/connections/{name}/test         Test Connection, shared with the other replicas
    GET  /v1/investigations/{id}             an incident's investigation (`?wait=SECONDS` long-polls)
    POST /v1/webhooks/{provider}             PagerDuty, Opsgenie, Alertmanager (their own proofs)
    POST /slack/events                       Slack's Events API (its signing secret)
    GET  /healthz, /readyz                   liveness; the stores and each connection's last test
    GET  /                                   the chat page (static files, no build step)

Every other `/v1` call needs `Authorization: Bearer <API key>` and counts against that key's hourly
quota. Errors are problem details (see `problems`). Every question, whichever route it came by, runs
through the one `Runner`. The service holds nothing a replica needs to share: threads and
investigations live in the store, the cache and ledger in Redis when configured.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from bbscout.agent.cache import open_shared_store
from bbscout.agent.connections import load_connections
from bbscout.agent.graph import build_graph
from bbscout.agent.questions import check_question
from bbscout.agent.runtime import PlannerChoice, RunResult, document_from_state
from bbscout.agent.service.config import ServiceSettings
from bbscout.agent.service.keys import ApiKey, find_key
from bbscout.agent.service.problems import Problem, from_exception, retry_after
from bbscout.agent.service.render import answer_html
from bbscout.agent.service.runner import Question, Resolved, Runner, RunRefused, Thread
from bbscout.agent.service.store import Store, StoreUnavailable, ThreadBusy, ThreadRow, open_store
from bbscout.agent.settings import ConfigError, Settings, data_dir
from bbscout.agent.surfaces import mount
from bbscout.agent.surfaces.config import IncidentSettings, SlackSettings
from bbscout.tools.bitbucket import BitbucketError

MISSING_KEY = (
    "Send `Authorization: Bearer <API key>`. An administrator makes keys with `bbscout apikey NAME` "
    "(the key is shown once; the service keeps only its SHA-256)."
)
UNKNOWN_KEY = "This API key is not known to the service (revoked, mistyped or from another deployment)."
INTERNAL = Problem(
    500, "internal-error", "Internal error", "The service failed unexpectedly; the error is logged."
)
logger = logging.getLogger("bbscout.service")
STATIC = resources.files("bbscout.agent.service") / "static"
Clock = Callable[[], datetime]


class AskRequest(BaseModel):
    """What `bbscout ask` takes on the command line, as a JSON body."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(max_length=4000, description="The question, in plain words.")
    connection: str | None = Field(
        default=None, description="A saved connection's name (GET /v1/connections)."
    )
    planner: Literal["auto", "rules", "llm"] | None = Field(
        default=None, description="auto, rules or llm; the service's own choice when omitted."
    )
    now: datetime | None = Field(default=None, description="Pretend it is this time (tests, evals).")
    tz: str = Field(default="UTC", description="The asker's IANA time zone, for 'yesterday'.")
    repos: list[str] | None = Field(default=None, max_length=50, description="Limit to these repositories.")

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        try:
            return check_question(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("tz")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a known time zone. Use an IANA name such as UTC or Europe/Berlin."
            ) from None
        return value

    @field_validator("now", "at", check_fields=False)  # `at`: investigations and thread messages
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return (
            None if value is None else (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        )


class InvestigateRequest(AskRequest):
    """`bbscout investigate`: the symptom and when it began."""

    at: datetime | None = Field(
        default=None,
        description="When the symptom began (ISO-8601); omit when the symptom says it ('since 14:05 UTC').",
    )


class NewThread(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=200)
    connection: str | None = None


class MessageRequest(AskRequest):
    """One chat turn; the thread fixes the connection, so a message may only repeat it."""

    mode: Literal["ask", "investigate"] = "ask"
    at: datetime | None = None


@dataclass(frozen=True)
class Caller:
    """The API key a request authenticated with."""

    name: str
    key: ApiKey


class BodyLimit:
    """413 for bodies over the limit, whether announced by Content-Length or streamed.

    `larger` gives paths (by prefix) their own limit: webhook deliveries are bigger than questions.
    """

    def __init__(self, app: ASGIApp, limit: int, larger: dict[str, int] | None = None) -> None:
        self.app, self.limit, self.larger = app, limit, larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = next((n for prefix, n in self.larger.items() if path.startswith(prefix)), self.limit)
        too_big = Problem(
            413,
            "body-too-large",
            "The request body is too large",
            f"Request bodies are limited to {limit:,} bytes. Ask one short question at a time "
            "(paste logs into Bitbucket, not into the question).",
        )
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await too_big.response()(scope, receive, send)
            return
        body, more = b"", True
        while more:  # read it all (at most the limit) before the app sees any of it
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                await too_big.response()(scope, receive, send)
                return
        replayed = False

        async def replay() -> AsgiMessage:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def caller(request: Request) -> Caller:
    """The API key of the request (401 without a known one), counted against its hourly quota (429)."""
    service: ServiceSettings = request.app.state.service
    header = request.headers.get("authorization", "")
    scheme, _, raw = header.partition(" ")
    name = find_key(raw.strip(), service.api_keys) if scheme.lower() == "bearer" and raw.strip() else None
    if name is None:
        raise Problem(
            401,
            "unauthorized",
            "A valid API key is required",
            MISSING_KEY if not header else UNKNOWN_KEY,
            headers={"WWW-Authenticate": 'Bearer realm="bbscout"'},
        )
    key = service.api_keys[name]
    wait = await request.app.state.store.take_quota(name, key.quota_per_hour)
    if wait is not None:
        raise Problem(
            429,
            "quota-exhausted",
            "This API key's hourly quota is used up",
            f"The key '{name}' may make {key.quota_per_hour:,} requests per hour; the window resets in "
            f"{int(wait) // 60} min {int(wait) % 60} s. Ask an administrator for a larger quota "
            "(`bbscout apikey NAME --quota N`).",
            headers=retry_after(wait),
        )
    return Caller(name, key)


Authed = Annotated[Caller, Depends(caller)]


def create_app(
    service: ServiceSettings,
    base: Settings,
    *,
    planner: PlannerChoice = "auto",
    clock: Clock = lambda: datetime.now(UTC),
    slack: SlackSettings | None = None,
    incidents: IncidentSettings | None = None,
) -> FastAPI:
    """The ASGI app; the store opens (and the schema is created) in the lifespan.

    `slack` and `incidents` turn on Slack's Events endpoint and the incident webhooks (`bbscout serve`
    reads them from the configuration; without them those routes answer 404 saying what to set).
    """
    slack, incidents = slack or SlackSettings(), incidents or IncidentSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        saved = load_connections()
        mount.check(base, saved, slack, incidents)
        async with open_store(service.secret("database_url"), data_dir()) as store:
            app.state.store = store
            app.state.service = service
            app.state.redis = redis = await _redis(base)
            shared = open_shared_store(base)  # the response cache and hourly ledger, Redis or SQLite
            runner = Runner(
                base,
                saved,
                shared,
                store=store,
                planner=planner,
                clock=clock,
                ready=lambda: require_redis(redis),
            )
            app.state.runner = runner
            try:
                async with mount.running(app, runner, slack, incidents):
                    yield
            finally:
                await shared.aclose()
                if redis is not None:
                    await redis.aclose()

    app = FastAPI(
        title="bbscout",
        summary="Questions about a Bitbucket Cloud workspace, answered with cited evidence (read-only).",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served below from packaged assets: no CDN
    )
    app.add_middleware(BodyLimit, limit=service.max_body_bytes, larger=mount.LARGE_BODIES)
    _handlers(app)
    mount.add_routes(app)

    def store_of(request: Request) -> Store:
        return request.app.state.store  # type: ignore[no-any-return]

    def runner_of(request: Request) -> Runner:
        return request.app.state.runner  # type: ignore[no-any-return]

    # pages and probes ----------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), media_type="text/html")

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="bbscout API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )

    @app.get("/healthz", tags=["probes"])
    async def healthz() -> dict[str, str]:
        """The process is up (no dependency is checked)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["probes"])
    async def readyz(request: Request) -> JSONResponse:
        """503 unless the checkpointer store and the cache store answer; each connection's last test and,
        with incident webhooks, this process's investigation workers."""
        store = store_of(request)
        checks: dict[str, Any] = {}
        checks["checkpointer"] = await _probe(store.backend, store.ping)
        redis = request.app.state.redis
        checks["cache"] = (
            await _probe("redis", redis.ping)
            if redis is not None
            else {"ok": True, "backend": runner_of(request).shared.name}
        )
        ready = all(c["ok"] for c in checks.values())
        investigations = request.app.state.investigations
        if investigations is not None:  # this process's workers: how many, busy now, most at once
            checks["investigations"] = {
                "workers": investigations.settings.concurrency,
                "running": investigations.active,
                "peak": investigations.peak,
            }
        try:
            checks["connections"] = {c["name"]: c["last_test"] for c in await runner_of(request).listing()}
        except Exception as exc:
            if from_exception(exc) is None:
                raise
            checks["connections"] = None
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    # connections ---------------------------------------------------------------------------------
    @app.get("/v1/connections", tags=["connections"])
    async def connections(request: Request, who: Authed) -> dict[str, Any]:
        """Names, workspaces, auth kinds and last test results. Secrets never leave the service."""
        return {"connections": await runner_of(request).listing()}

    @app.post("/v1/connections/{name}/test", tags=["connections"])
    async def test_connection(name: str, request: Request, who: Authed) -> dict[str, Any]:
        """Test Connection: identity, workspace, each read scope; the result gates the connection's use."""
        return await runner_of(request).test(name)

    # questions -----------------------------------------------------------------------------------
    async def answer(
        request: Request,
        body: AskRequest,
        mode: Literal["ask", "investigate"],
        incident_at: datetime | None,
        thread: ThreadRow | None = None,
    ) -> Response:
        runner = runner_of(request)
        resolved = await runner.resolve(body.connection if thread is None else thread.connection)
        now = body.now or clock()
        if mode == "investigate" and body.now is None and incident_at is not None:
            now = max(now, incident_at)
        question = Question(
            body.question,
            mode=mode,
            at=incident_at,
            repos=tuple(body.repos) if body.repos else None,
            now=now,
            tz=body.tz,
            planner=body.planner,
        )
        store = store_of(request)
        turns = Thread(thread.id, lambda: store.turn(thread)) if thread is not None else None

        async def run(on_event: Callable[[dict[str, Any]], None] | None) -> dict[str, Any]:
            result = await runner.ask(question, resolved, on_event=on_event, thread=turns)
            return _turn(thread, resolved, result) if thread else result.document

        if "text/event-stream" in request.headers.get("accept", ""):
            return EventSourceResponse(_stream(run), ping=15)
        return JSONResponse(await run(None))

    @app.post("/v1/ask", tags=["questions"])
    async def ask(body: AskRequest, request: Request, who: Authed) -> Response:
        """Answer a question: the `bbscout ask --json` document, or with `Accept: text/event-stream`
        the progress events (`planned`, `step_started`, `step_finished`, `reported`) and then `document`."""
        return await answer(request, body, "ask", None)

    @app.post("/v1/investigate", tags=["questions"])
    async def investigate(body: InvestigateRequest, request: Request, who: Authed) -> Response:
        """Incident mode (`bbscout investigate --json`): timeline, ranked suspects, ruled-out changes."""
        return await answer(request, body, "investigate", body.at)

    # threads -------------------------------------------------------------------------------------
    @app.post("/v1/threads", tags=["threads"], status_code=201)
    async def new_thread(body: NewThread, request: Request, who: Authed) -> dict[str, Any]:
        """Start a chat thread on a connection (the default one when none is named)."""
        resolved = await runner_of(request).resolve(body.connection)
        row = await store_of(request).create_thread(who.name, body.title or "New thread", resolved.name)
        return row.public()

    @app.get("/v1/threads", tags=["threads"])
    async def threads(request: Request, who: Authed) -> dict[str, Any]:
        """This key's threads, most recently used first."""
        return {"threads": [t.public() for t in await store_of(request).threads(who.name)]}

    async def owned(request: Request, thread_id: str, who: Caller) -> ThreadRow:
        row = await store_of(request).thread(thread_id, who.name)
        if row is None:
            raise Problem(
                404, "unknown-thread", "No such thread", f"No thread '{thread_id}' for this API key."
            )
        return row

    @app.get("/v1/threads/{thread_id}", tags=["threads"])
    async def thread(thread_id: str, request: Request, who: Authed) -> dict[str, Any]:
        """The thread and its turns, oldest first, each with its answer document."""
        row = await owned(request, thread_id, who)
        return row.public() | {"messages": await _history(store_of(request), row)}

    @app.post("/v1/threads/{thread_id}/messages", tags=["threads"])
    async def message(thread_id: str, body: MessageRequest, request: Request, who: Authed) -> Response:
        """One chat turn: the follow-up sees the thread's earlier evidence, on any replica."""
        row = await owned(request, thread_id, who)
        if body.connection is not None and body.connection != row.connection:
            raise Problem(
                409,
                "connection-mismatch",
                "A thread keeps its connection",
                f"Thread '{row.id}' runs on connection '{row.connection}'; start a new thread for "
                f"'{body.connection}'.",
            )
        return await answer(request, body, body.mode, body.at, thread=row)

    # incidents -----------------------------------------------------------------------------------
    @app.get("/v1/investigations/{investigation_id}", tags=["incidents"])
    async def investigation(
        investigation_id: str,
        request: Request,
        who: Authed,
        wait: Annotated[
            float, Query(ge=0, le=60, description="Wait up to this many seconds for the end.")
        ] = 0,
    ) -> dict[str, Any]:
        """An incident's investigation: queued, running, done (with the `--json` document) or failed.

        `thread_id` is a shared thread: follow up with `POST /v1/threads/{thread_id}/messages`."""
        investigations = request.app.state.investigations
        found = await investigations.wait(investigation_id, wait) if investigations is not None else None
        if found is None:
            raise Problem(
                404,
                "unknown-investigation",
                "No such investigation",
                f"No investigation '{investigation_id}' (the webhook's 202 answer gives each one's URL).",
            )
        return found.public()  # type: ignore[no-any-return]

    return app


def _turn(thread: ThreadRow, resolved: Resolved, result: RunResult) -> dict[str, Any]:
    """A chat turn's answer: the document, and its HTML for the chat page (escaped in `render`)."""
    return {
        "thread_id": thread.id,
        "connection": resolved.name,
        "document": result.document,
        "html": answer_html(result.document),
    }


async def _history(store: Store, row: ThreadRow) -> list[dict[str, Any]]:
    """One entry per committed turn (each turn commits exactly one checkpoint)."""
    graph = build_graph().compile(checkpointer=store.saver)
    turns = []
    async for snapshot in graph.aget_state_history({"configurable": {"thread_id": row.id}}):
        values = snapshot.values
        if snapshot.next or not values.get("report"):
            continue
        metadata = snapshot.metadata or {}
        document = document_from_state(
            values,
            planner=str(metadata.get("planner", "rules")),
            source=str(metadata.get("source", "bitbucket")),
            workspace=str(metadata.get("workspace", "")),
        )[2]
        turns.append(
            {
                "question": values["question"],
                "asked_at": snapshot.created_at,
                "document": document,
                "html": answer_html(document),
            }
        )
    return turns[::-1]


async def _stream(
    run: Callable[[Callable[[dict[str, Any]], None]], Awaitable[Any]],
) -> AsyncIterator[ServerSentEvent]:
    """Progress events as they happen, then `document` (or `problem`); a dropped client cancels the run."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.ensure_future(run(queue.put_nowait))
    task.add_done_callback(lambda _: queue.put_nowait({"event": "__done__"}))
    try:
        while True:
            event = await queue.get()
            if event.get("event") == "__done__":
                break
            yield ServerSentEvent(data=json.dumps(event), event=str(event.get("event", "progress")))
        exc = task.exception()
        if exc is None:
            yield ServerSentEvent(data=json.dumps(task.result()), event="document")
            return
        problem = from_exception(exc)
        if problem is None:
            logger.error("a streamed answer failed", exc_info=exc)
            problem = INTERNAL
        yield ServerSentEvent(data=json.dumps(problem.body()), event="problem")
    finally:
        if not task.done():
            task.cancel()


async def require_redis(redis: Any) -> None:
    """With Redis configured, the shared cache and hourly ledger must answer, else 503 (StoreUnavailable).

    Replicas keep within Bitbucket's hourly limit only through that ledger, so a question is not
    answered (nor a thread turn saved) while it is unreachable, at the start or at the end.
    """
    if redis is None:
        return
    try:
        await asyncio.wait_for(redis.ping(), timeout=3.0)
    except Exception as exc:
        raise StoreUnavailable("Redis", exc) from exc


async def _probe(backend: str, ping: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    try:
        await asyncio.wait_for(ping(), timeout=3.0)
    except Exception as exc:
        return {"ok": False, "backend": backend, "detail": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "backend": backend}


async def _redis(base: Settings) -> Any:
    """A client for readiness and the per-question check, when the shared store is Redis."""
    if base.redis_url is None:
        return None
    url = base.redis_url.get_secret_value()
    import redis.asyncio

    return redis.asyncio.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=3)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def problem(request: Request, exc: Problem) -> Response:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"][1:]) or "body",
                "message": str(e["msg"]).removeprefix("Value error, "),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return Problem(422, "invalid-request", "The request is invalid", detail, errors=errors).response()

    @app.exception_handler(ConfigError)
    @app.exception_handler(RunRefused)
    @app.exception_handler(BitbucketError)
    @app.exception_handler(StoreUnavailable)
    @app.exception_handler(ThreadBusy)
    async def known(request: Request, exc: Exception) -> Response:
        problem = from_exception(exc)
        assert problem is not None, f"{type(exc).__name__} has no problem mapping"
        return problem.response()

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        return INTERNAL.response()  # Starlette logs the traceback; the caller gets no internals
