"""The local Bitbucket Cloud sandbox: `serve` its API on loopback, with credentials for bbscout.

Registered with the product CLI through the `bbscout.commands` entry-point group (pyproject.toml), so
the product never imports the sandbox to build its command line.
"""

from __future__ import annotations

import socket
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
import uvicorn

__all__ = ["app"]

app = typer.Typer(help="The local Bitbucket Cloud sandbox.", no_args_is_help=True, add_completion=False)


@app.callback()
def sandbox() -> None:
    """The local Bitbucket Cloud sandbox."""


def _anchor(value: str | None) -> datetime:
    from bbscout.sandbox.world import hour_anchor

    if value is None:
        return hour_anchor(datetime.now(UTC))
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO-8601 timestamp, e.g. 2026-11-29T16:00:00Z"
        ) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0: any free port).")] = 7990,
    world: Annotated[str, typer.Option(help="default, nosearch or quiet.")] = "default",
    seed: Annotated[int, typer.Option(help="World seed.")] = 7,
    anchor: Annotated[
        str | None, typer.Option(help="The world's 'now' (ISO-8601); default: this hour.")
    ] = None,
    repos: Annotated[int, typer.Option(help="Number of repositories.")] = 10,
    days: Annotated[int, typer.Option(help="Days of history.")] = 30,
    latency_ms: Annotated[float, typer.Option("--latency-ms", help="Added latency per request.")] = 0.0,
    jitter_ms: Annotated[float, typer.Option("--jitter-ms", help="Random extra latency.")] = 0.0,
    error_rate: Annotated[
        float, typer.Option("--error-rate", min=0.0, max=1.0, help="Fraction of requests answered 5xx.")
    ] = 0.0,
    rate_limit: Annotated[int, typer.Option("--rate-limit", help="Requests per hour per token.")] = 1000,
) -> None:
    """Serve the sandbox Bitbucket API on loopback and print credentials to point bbscout at it.

    The export lines are printed once the port is listening, so a script may connect as soon as it
    has read them.
    """
    from bbscout.sandbox.app import SandboxSettings, create_app
    from bbscout.sandbox.faults import FaultProfile
    from bbscout.sandbox.world import WORLD_NAMES, build_world

    if world not in WORLD_NAMES:
        raise typer.BadParameter(f"{world!r} is not one of {', '.join(WORLD_NAMES)}", param_hint="--world")
    built = build_world(world, seed=seed, anchor=_anchor(anchor), repos=repos, days=days)
    token = built.token("demo")
    settings = SandboxSettings(
        rate_limit_per_hour=rate_limit,
        faults=FaultProfile(latency_ms=latency_ms, jitter_ms=jitter_ms, error_rate=error_rate),
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        typer.echo(f"Error: cannot listen on {host}:{port}: {exc.strerror}. Pick another --port.", err=True)
        raise typer.Exit(2) from None
    base = f"http://{host}:{sock.getsockname()[1]}/2.0"
    sys.stdout.write(
        f"# bbscout sandbox: world '{world}' (seed {seed}, anchor {built.anchor.isoformat()}) at {base}\n"
        f"export BITBUCKET_BASE_URL={base}\n"
        f"export BITBUCKET_WORKSPACE={built.workspace['slug']}\n"
        f"export BITBUCKET_EMAIL={token.email}\n"
        f"export BITBUCKET_API_TOKEN={token.secret}\n"
        "# These are the sandbox's own test credentials, not real ones.\n"
    )
    sys.stdout.flush()
    config = uvicorn.Config(create_app(built, settings), log_level="warning", lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
