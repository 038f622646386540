"""`bbscout mcp` and `bbscout slack`: the commands that start the surfaces.

The integration packages (mcp, slack_bolt) are imported inside the commands, so `bbscout --help`
and the other commands never need them (nor the run machinery).
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

if TYPE_CHECKING:
    from bbscout.agent.runtime import PlannerChoice
    from bbscout.agent.service.runner import Runner

__all__ = ["mcp_command", "slack_command"]


def _fail(message: str) -> typer.Exit:
    sys.stderr.write(f"Error: {message}\n")
    return typer.Exit(2)


def _now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(
            f"--now {value!r} is not an ISO-8601 timestamp. Use e.g. --now 2026-11-29T14:05:00Z"
        ) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _planner(value: str) -> PlannerChoice:
    if value not in ("auto", "rules", "llm"):
        raise _fail(f"--planner {value!r} is not one of auto, rules, llm.")
    return value  # type: ignore[return-value]


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@asynccontextmanager
async def open_runner(
    planner: PlannerChoice, now: datetime | None, *, service_store: bool = False
) -> AsyncIterator[Runner]:
    """The runner every surface shares: the saved connections, the shared cache and hourly ledger.

    With `service_store`, connection tests and threads are the service's (`bbscout serve`'s SQLite
    file, or PostgreSQL with BBSCOUT_DATABASE_URL), so a Slack thread is the same thread whichever
    process answers it.
    """
    from bbscout.agent.cache import open_shared_store
    from bbscout.agent.connections import load_connections
    from bbscout.agent.service.runner import Runner
    from bbscout.agent.settings import data_dir, load_settings

    settings = load_settings()
    saved = load_connections()
    clock = (lambda: now) if now else (lambda: datetime.now(UTC))
    shared = open_shared_store(settings)  # the response cache and hourly ledger every replica shares
    try:
        if not service_store:
            yield Runner(settings, saved, shared, planner=planner, clock=clock)
            return
        from bbscout.agent.service.config import load_service_settings
        from bbscout.agent.service.store import open_store

        database = load_service_settings().secret("database_url")
        async with open_store(database, data_dir()) as store:
            yield Runner(settings, saved, shared, store=store, planner=planner, clock=clock)
    finally:
        await shared.aclose()


PlannerOpt = Annotated[str, typer.Option("--planner", help="auto (LLM when configured), rules or llm.")]
NowOpt = Annotated[str | None, typer.Option("--now", help="Pretend it is this ISO-8601 time (tests, evals).")]


def mcp_command(
    transport: Annotated[
        str,
        typer.Option("--transport", help="stdio (an assistant starts bbscout) or http (streamable HTTP)."),
    ] = "stdio",
    host: Annotated[str, typer.Option(help="Interface for --transport http (loopback only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port for --transport http.")] = 8765,
    planner: PlannerOpt = "auto",
    now: NowOpt = None,
    connection: Annotated[
        str | None,
        typer.Option("--connection", help="The saved connection to answer from (default: the only one)."),
    ] = None,
) -> None:
    """Serve bbscout's tools over MCP, for Claude Desktop, Cursor, VS Code and other assistants."""
    mode: Literal["stdio", "http"]
    if transport not in ("stdio", "http"):
        raise _fail(f"--transport {transport!r} is not one of stdio, http.")
    mode = transport  # type: ignore[assignment]
    if mode == "http" and not _loopback(host):
        raise _fail(
            f"--host {host} is not a loopback address. The MCP endpoint has no keys of its own: serve it "
            "on 127.0.0.1, or behind a proxy that authenticates callers."
        )
    import asyncio

    from bbscout.agent.settings import ConfigError  # settings load when a surface starts, not for --help

    try:
        asyncio.run(_mcp(mode, host, port, _planner(planner), _now(now), connection))
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


async def _mcp(
    mode: Literal["stdio", "http"],
    host: str,
    port: int,
    planner: PlannerChoice,
    now: datetime | None,
    connection: str | None = None,
) -> None:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from bbscout.agent.service.runner import LocalThreads
    from bbscout.agent.settings import data_dir
    from bbscout.agent.surfaces.mcp_server import BbscoutTools, http_app, serve_stdio

    path = data_dir()
    path.mkdir(parents=True, exist_ok=True)
    async with (
        open_runner(planner, now) as runner,
        AsyncSqliteSaver.from_conn_string(str(path / "chat.sqlite")) as saver,  # shared with `bbscout chat`
    ):
        await runner.resolve(connection)  # an unknown or failed connection: refused before serving
        handlers = BbscoutTools(runner, LocalThreads(saver), connection)
        if mode == "stdio":
            await serve_stdio(handlers)
            return
        await serve_http(
            http_app(handlers, host=host), host, port, "bbscout MCP (streamable HTTP) on {url}/mcp"
        )


async def serve_http(app: Any, host: str, port: int, banner: str) -> None:
    """Serve `app` with uvicorn; once listening, say where on stderr (the real port when --port 0)."""
    import socket

    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                bound = self.servers[0].sockets[0].getsockname()[1] if self.servers else port
                sys.stderr.write(banner.format(url=f"http://{host}:{bound}") + "\n")
                sys.stderr.flush()

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)
    await Server(config).serve()


def slack_command(
    planner: PlannerOpt = "auto",
    now: NowOpt = None,
) -> None:
    """Run the Slack app over Socket Mode (SLACK_APP_TOKEN): no public URL needed."""
    import asyncio

    from bbscout.agent.settings import ConfigError

    try:
        asyncio.run(_slack(_planner(planner), _now(now)))
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


async def _slack(planner: PlannerChoice, now: datetime | None) -> None:
    from bbscout.agent.service.runner import check_names
    from bbscout.agent.surfaces.config import load_slack_settings
    from bbscout.agent.surfaces.slack_app import SlackBot, run_socket_mode, web_client

    slack = load_slack_settings()
    slack.check_socket_mode()
    async with open_runner(planner, now, service_store=True) as runner:
        check_names(runner.base, runner.saved, slack.connection_names())
        bot = SlackBot(slack, runner, web_client(slack), min_interval=slack.progress_seconds)
        sys.stderr.write("bbscout Slack app connecting over Socket Mode…\n")
        await run_socket_mode(bot)


def register(app: Any) -> None:
    """Add the commands to the `bbscout` typer app."""
    app.command("mcp")(mcp_command)
    app.command("slack")(slack_command)
