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
    from bbscout.agent.surfaces.asker import Asker

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
async def open_asker(
    planner: PlannerChoice, now: datetime | None, connection: str | None = None
) -> AsyncIterator[Asker]:
    """An Asker on the configured connection, with chat threads in the CLI's SQLite file."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from bbscout.agent.cache import open_shared_store
    from bbscout.agent.settings import data_dir, load_settings
    from bbscout.agent.surfaces.asker import Asker

    settings = load_settings()
    path = data_dir()
    path.mkdir(parents=True, exist_ok=True)
    store = open_shared_store(settings)  # the response cache and hourly ledger every replica shares
    try:
        async with AsyncSqliteSaver.from_conn_string(str(path / "chat.sqlite")) as saver:
            clock = (lambda: now) if now else (lambda: datetime.now(UTC))
            asker = Asker(
                settings, planner=planner, checkpointer=saver, clock=clock, connection=connection, store=store
            )
            yield asker
    finally:
        await store.aclose()


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
        asyncio.run(_mcp(mode, host, port, _planner(planner), _now(now)))
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


async def _mcp(
    mode: Literal["stdio", "http"], host: str, port: int, planner: PlannerChoice, now: datetime | None
) -> None:
    from bbscout.agent.surfaces.mcp_server import http_app, serve_stdio

    async with open_asker(planner, now) as asker:
        if mode == "stdio":
            await serve_stdio(asker)
            return
        await serve_http(http_app(asker, host=host), host, port, "bbscout MCP (streamable HTTP) on {url}/mcp")


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
    from bbscout.agent.surfaces.config import load_slack_settings
    from bbscout.agent.surfaces.slack_app import run_socket_mode

    slack = load_slack_settings()
    async with open_asker(planner, now, slack.connection) as asker:
        sys.stderr.write("bbscout Slack app connecting over Socket Mode…\n")
        await run_socket_mode(slack, asker)


def register(app: Any) -> None:
    """Add the commands to the `bbscout` typer app."""
    app.command("mcp")(mcp_command)
    app.command("slack")(slack_command)
