"""`bbscout`: ask, investigate, chat, connect, cache; `eval` and `sandbox` are registered by those packages.

Every failure a user can cause ends in one actionable paragraph on stderr and a documented exit code
(0 answered, 1 answered with gaps, 2 usage/configuration, 3 Bitbucket refused, 4 rate limited,
5 Bitbucket unreachable or answered garbage), never a traceback. `--json` prints exactly one JSON
document on stdout; progress goes to stderr. Text from Bitbucket goes through `agent.neutralize`
for the terminal before it is printed.

The product does not import its test harness: `bbscout.evals` and `bbscout.sandbox` declare their
commands in the `bbscout.commands` entry-point group (pyproject.toml), loaded only when one of them
runs or `--help` lists them.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from bbscout.agent.exit_codes import EXIT_RATE_LIMITED, EXIT_REFUSED, EXIT_UNREACHABLE, EXIT_USAGE
from bbscout.agent.neutralize import json_text, terminal, terminal_markdown

# Start-up: `--help`, `--version` and usage errors import only what this module imports above; the
# runtime (langgraph, openai, the sandbox) and settings are imported where a command needs them.
if TYPE_CHECKING:
    from typer import _click  # the click that typer vendors: the types of TyperGroup's methods

    from bbscout.agent.runtime import PlannerChoice, RunResult, Session
    from bbscout.agent.settings import Settings

COMMANDS_GROUP = "bbscout.commands"


@functools.cache
def registered_commands() -> dict[str, EntryPoint]:
    """Commands other packages of the distribution register (`eval`, `sandbox`), by name."""
    return {entry.name: entry for entry in entry_points(group=COMMANDS_GROUP)}


def summary(entry: EntryPoint) -> str:
    """The first line of a registered command's module docstring, read without importing the module
    (or its package), so `--help` stays as light as the rest of start-up."""
    import ast
    from importlib.util import find_spec
    from pathlib import Path

    package, _, module = entry.module.rpartition(".")
    spec = find_spec(package)  # imports only the parents of `package`
    for folder in (spec.submodule_search_locations or []) if spec else []:
        source = Path(folder) / f"{module}.py"
        if source.is_file():
            return (ast.get_docstring(ast.parse(source.read_text(encoding="utf-8"))) or "").split("\n")[0]
    return ""


class Commands(TyperGroup):
    """bbscout's own commands, then the registered ones, each imported only when it runs."""

    listing = False  # inside --help: registered commands are described, not imported

    def list_commands(self, ctx: _click.Context) -> list[str]:
        own = super().list_commands(ctx)
        return own + sorted(name for name in registered_commands() if name not in own)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        command = super().get_command(ctx, cmd_name)
        entry = registered_commands().get(cmd_name)
        if command is not None or entry is None:
            return command
        if self.listing:
            return TyperCommand(cmd_name, help=summary(entry))
        command = typer.main.get_command(entry.load())
        command.name = cmd_name
        self.add_command(command)
        return command

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False


app = typer.Typer(
    name="bbscout",
    cls=Commands,
    help="Ask questions of a Bitbucket Cloud workspace and investigate incidents (read-only).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
cache_app = typer.Typer(
    help="The shared response cache (SQLite, or Redis with BBSCOUT_REDIS_URL).", no_args_is_help=True
)
app.add_typer(cache_app, name="cache")
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        sys.stdout.write(f"bbscout {version('bbscout')}\n")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Ask questions of a Bitbucket Cloud workspace and investigate incidents (read-only)."""


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """One paragraph on stderr, then exit with `code`."""
    err.print(f"[bold red]Error:[/] {terminal(message)}", markup=True)
    raise typer.Exit(code)


def notice(message: str) -> None:
    err.print(f"[dim]{terminal(message)}[/]", markup=True)


def check_question(question: str) -> str:
    """The question, stripped; an empty, oversized or binary one fails with what to do instead."""
    from bbscout.agent.questions import check_question as checked
    from bbscout.agent.settings import ConfigError

    try:
        return checked(question)
    except ConfigError as exc:
        fail(str(exc))


def parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--now {value!r} is not an ISO-8601 timestamp. Use e.g. --now 2026-11-29T14:05:00Z")
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def check_tz(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        fail(
            f"--tz {value!r} is not a known time zone. Use an IANA name such as UTC, Europe/Berlin "
            "or America/New_York."
        )
    return value


def settings_or_fail(connection: str | None = None) -> Settings:
    """The settings to run with: the environment's, or a saved connection's (`--connection NAME`)."""
    from bbscout.agent.connections import load_connections, resolve
    from bbscout.agent.settings import ConfigError, load_settings

    try:
        return resolve(connection, load_settings(), load_connections())[1]
    except ConfigError as exc:
        fail(str(exc))


class Progress:
    """Prints each Bitbucket tool call as it starts and finishes (stderr)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.left: Callable[[], int] | None = None  # requests left this hour (the shared ledger)

    def _left(self) -> str:
        return f" · {self.left()} left this hour" if self.left is not None else ""

    def __call__(self, event: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if event.get("event") == "planned":
            err.print(
                f"[dim]plan:[/] {terminal(event['intent'])} ({event['steps']} "
                f"call{'s' if event['steps'] != 1 else ''})"
            )
        elif event.get("event") == "step_started":
            err.print(f"[dim]  → {terminal(event['tool'])} {terminal(event['args'])}[/]")
        elif event.get("event") == "step_finished":
            colour = "green" if event["status"] == "ok" else "yellow"
            err.print(
                f"  [{colour}]✓[/] {terminal(event['tool'])} {terminal(event['args'])} "
                f"[dim]{event['seconds']:.2f}s · {event['requests']} req · {event['records']} records · "
                f"{event['status']}{self._left()}[/]"
            )


def render(result: RunResult, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json_text(result.document) + "\n")
        return

    from bbscout.agent.output import markdown

    out.print(terminal_markdown(markdown(result.report)))
    stats = result.document["stats"]
    err.print(
        f"[dim]{stats['http_requests']} Bitbucket requests ({stats.get('cache_hits', 0)} more from cache, "
        f"{stats.get('requests_left_this_hour', '?')} left this hour) · {stats['http_bytes']:,} bytes · "
        f"{stats['tool_calls']} tool calls · {stats['seconds']:.2f}s · "
        f"planner {result.document['planner']}[/]"
    )


def run_async(coro: Coroutine[Any, Any, int]) -> NoReturn:
    """Run a command coroutine, mapping every known failure to its exit code."""
    import asyncio  # with the work, not at start-up

    from bbscout.agent.settings import ConfigError
    from bbscout.tools.bitbucket import (
        BitbucketError,
        BudgetExhausted,
        InvalidResponse,
        RateLimited,
        ServerError,
        TransportFailure,
    )

    try:
        code = asyncio.run(coro)
    except KeyboardInterrupt:
        err.print("Interrupted; nothing was changed (bbscout is read-only) and chat history so far is kept.")
        raise typer.Exit(130) from None
    except ConfigError as exc:
        fail(str(exc))
    except RateLimited as exc:
        fail(exc.explain(), EXIT_RATE_LIMITED)
    except BudgetExhausted as exc:
        fail(f"{exc.explain()} Raise BBSCOUT_REQUEST_BUDGET or narrow the question.", EXIT_RATE_LIMITED)
    except (TransportFailure, ServerError, InvalidResponse) as exc:
        fail(exc.explain(), EXIT_UNREACHABLE)
    except BitbucketError as exc:
        fail(exc.explain(), EXIT_REFUSED)
    raise typer.Exit(code)


async def _ask(
    question: str,
    *,
    as_json: bool,
    planner: PlannerChoice,
    now: datetime,
    tz: str,
    repos: list[str] | None,
    mode: str = "ask",
    incident_at: datetime | None = None,
    connection: str | None = None,
) -> int:
    from bbscout.agent.runtime import open_session

    settings = settings_or_fail(connection)
    progress = Progress(enabled=True)
    async with open_session(settings, planner=planner, now=now, notice=notice) as session:
        progress.left = lambda: session.client.hourly_remaining
        count = await session.check_access(repos)
        err.print(
            f"[dim]workspace {terminal(session.client.workspace)}: "
            f"{count} repositor{'y' if count == 1 else 'ies'}"
            f" · {session.client.hourly_remaining} requests left this hour · planning…[/]"
        )
        result = await session.ask(
            question,
            now=now,
            tz=tz,
            mode="investigate" if mode == "investigate" else "ask",
            incident_at=incident_at,
            repo_filter=repos,
            on_event=progress,
        )
    render(result, as_json)
    if result.exit_code in (EXIT_REFUSED, EXIT_RATE_LIMITED, EXIT_UNREACHABLE):
        first = next((o.error for o in result.outcomes if o.error), None)
        if first:
            err.print(f"[bold red]Error:[/] {terminal(first)}")
    return result.exit_code


JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout (progress on stderr).")
]
PlannerOpt = Annotated[str, typer.Option("--planner", help="auto (LLM when configured), rules or llm.")]
NowOpt = Annotated[str | None, typer.Option("--now", help="Pretend it is this ISO-8601 time (tests, evals).")]
TzOpt = Annotated[str, typer.Option("--tz", help="Your time zone, for 'yesterday' and 'this morning'.")]
RepoOpt = Annotated[
    list[str] | None, typer.Option("--repo", help="Limit to this repository slug (repeatable).")
]
ConnectionOpt = Annotated[
    str | None,
    typer.Option("--connection", help="Use this saved connection (see `bbscout connect --save NAME`)."),
]


def check_planner(value: str) -> PlannerChoice:
    if value not in ("auto", "rules", "llm"):
        fail(f"--planner {value!r} is not one of auto, rules, llm.")
    return value  # type: ignore[return-value]


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in plain words.")],
    as_json: JsonOpt = False,
    planner: PlannerOpt = "auto",
    now: NowOpt = None,
    tz: TzOpt = "UTC",
    repo: RepoOpt = None,
    connection: ConnectionOpt = None,
) -> None:
    """Answer a question about the workspace's pipelines, PRs, commits, branches, deployments or code."""
    text = check_question(question)
    run_async(
        _ask(
            text,
            as_json=as_json,
            planner=check_planner(planner),
            now=parse_now(now),
            tz=check_tz(tz),
            repos=repo,
            connection=connection,
        )
    )


@app.command()
def investigate(
    symptom: Annotated[str, typer.Argument(help='What is wrong, e.g. "checkout errors since 14:05 UTC".')],
    at: Annotated[str | None, typer.Option("--at", help="When the symptom began (ISO-8601).")] = None,
    as_json: JsonOpt = False,
    planner: PlannerOpt = "auto",
    now: NowOpt = None,
    tz: TzOpt = "UTC",
    repo: RepoOpt = None,
    connection: ConnectionOpt = None,
) -> None:
    """Incident mode: what changed before the symptom began, ranked suspects, ruled-out changes."""
    from bbscout.agent.questions import symptom_onset
    from bbscout.agent.settings import ConfigError

    text = check_question(symptom)
    zone = check_tz(tz)
    given = parse_now(at) if at is not None else None
    wall = datetime.now(UTC)
    current = parse_now(now) if now else (max(given, wall) if given else wall)
    try:
        incident_at = symptom_onset(text, given, current, zone)
    except ConfigError as exc:
        fail(str(exc))
    run_async(
        _ask(
            text,
            as_json=as_json,
            planner=check_planner(planner),
            now=current,
            tz=zone,
            repos=repo,
            mode="investigate",
            incident_at=incident_at,
            connection=connection,
        )
    )


async def _chat(
    thread: str, planner: PlannerChoice, tz: str, now_override: datetime | None, connection: str | None
) -> int:
    import asyncio

    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from bbscout.agent.runtime import open_session
    from bbscout.agent.settings import data_dir
    from bbscout.agent.terminal import PromptReader, ctrl_c_cancels

    settings = settings_or_fail(connection)
    path = data_dir()
    path.mkdir(parents=True, exist_ok=True)
    start = now_override or datetime.now(UTC)
    prompt = PromptReader()
    main = asyncio.current_task()
    assert main is not None
    try:
        with ctrl_c_cancels(main):
            async with (
                AsyncSqliteSaver.from_conn_string(str(path / "chat.sqlite")) as saver,
                open_session(settings, planner=planner, now=start, notice=notice) as session,
            ):
                await session.check_access(None)
                err.print(
                    f"[dim]bbscout chat — thread '{thread}'. Ask a question; 'exit' or Ctrl-D to leave.[/]"
                )
                while True:
                    try:
                        line = await prompt.readline("you> ")
                    except EOFError:
                        return 0
                    if line.strip().lower() in ("exit", "quit", ":q"):
                        return 0
                    if not line.strip():
                        continue
                    try:
                        text = check_question(line)
                    except typer.Exit:
                        continue
                    await _chat_turn(session, saver, thread, text, tz, now_override)
    except asyncio.CancelledError:  # Ctrl-C (ctrl_c_cancels): leave like any interrupted command
        raise KeyboardInterrupt from None


async def _chat_turn(
    session: Session, saver: Any, thread: str, text: str, tz: str, now: datetime | None
) -> None:
    from bbscout.tools.bitbucket import BitbucketError

    try:
        result = await session.ask(
            text,
            now=now or datetime.now(UTC),
            tz=tz,
            checkpointer=saver,
            thread_id=thread,
            on_event=Progress(True),
        )
    except BitbucketError as exc:
        err.print(f"[bold red]Error:[/] {terminal(exc.explain())}")
        return
    render(result, as_json=False)


@app.command()
def chat(
    thread: Annotated[
        str, typer.Option("--thread", help="Conversation name; history is kept across runs.")
    ] = "default",
    planner: PlannerOpt = "auto",
    tz: TzOpt = "UTC",
    now: NowOpt = None,
    connection: ConnectionOpt = None,
) -> None:
    """Interactive questions with follow-ups ("which of those were on main?")."""
    run_async(
        _chat(thread, check_planner(planner), check_tz(tz), parse_now(now) if now else None, connection)
    )


@app.command()
def connect(
    connection: ConnectionOpt = None,
    save: Annotated[
        str | None,
        typer.Option("--save", help="Test the configured credentials, then save them under this name."),
    ] = None,
) -> None:
    """Test the connection: credentials, identity, workspace access and each read scope."""
    from bbscout.agent import connections
    from bbscout.agent.connect import run_checks
    from bbscout.agent.settings import ConfigError, load_settings

    try:
        base = load_settings()
        saved = connections.load_connections()
        if save is not None:
            named: connections.Connection | None = connections.from_settings(save, base)
        elif connection is not None and connection in saved:
            named = saved[connection]  # re-testing is how a failed connection comes back
        else:
            named = None
        settings = named.settings(base) if named else connections.resolve(connection, base, saved)[1]
    except ConfigError as exc:
        fail(str(exc))

    async def main() -> int:
        checks = await run_checks(settings, notice)
        from rich.table import Table

        table = Table(title=f"Bitbucket connection{f' {named.name!r}' if named else ''}")
        for column in ("check", "result", "detail / fix"):
            table.add_column(column)
        for check in checks:
            verdict = "[green]pass[/]" if check.ok else "[red]FAIL[/]"
            table.add_row(check.name, verdict, terminal(check.detail))
        out.print(table)
        ok = all(c.ok for c in checks)
        if named is not None:
            failed = next((c for c in checks if not c.ok), None)
            detail = f"{failed.name}: {failed.detail}" if failed else f"{len(checks)} checks passed"
            if ok or save is None:
                stored = connections.save_connection(connections.with_last_test(named, ok, detail))
                where = "the OS keyring" if stored.secret_store == "keyring" else "the config file (0600)"
                verb = "Saved" if save is not None else "Recorded the test of"
                notice(
                    f"{verb} connection '{named.name}' ({where}); use it with --connection '{named.name}'."
                )
            else:
                notice(
                    f"Not saved: connection '{named.name}' failed its test. Fix the failure above and retry."
                )
        return 0 if ok else EXIT_REFUSED

    run_async(main())


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    planner: PlannerOpt = "auto",
    now: NowOpt = None,
) -> None:
    """The team service: API, chat page, Slack events, incident webhooks (replicas: BBSCOUT_DATABASE_URL)."""
    from bbscout.agent.settings import ConfigError

    try:
        from bbscout.agent.service.serve import serve_app
    except ImportError as exc:
        fail(f"bbscout serve needs the server extra ({exc.name} is missing): pip install 'bbscout[server]'")
    try:
        fixed = parse_now(now) if now else None
        serve_app(host, port, check_planner(planner), notice, now=fixed)
    except ConfigError as exc:
        fail(str(exc))


@app.command()
def apikey(
    name: Annotated[str, typer.Argument(help="Who or what the key is for, e.g. oncall-bot.")],
    quota: Annotated[int, typer.Option("--quota", min=1, help="Requests per hour for this key.")] = 600,
) -> None:
    """Make an API key for `bbscout serve`: printed once; the config file keeps only its SHA-256."""
    import json

    from bbscout.agent.service.keys import ApiKey, digest, new_key, save_key
    from bbscout.agent.settings import ConfigError

    key = new_key()
    record = ApiKey(hash=digest(key), quota_per_hour=quota)
    try:
        path = save_key(name, record)
    except ConfigError as exc:
        fail(str(exc))
    sys.stdout.write(key + "\n")
    notice(
        f"API key '{name}' ({quota:,} requests/hour) saved to {path} as its SHA-256; the key itself is shown "
        f"only now. For replicas configured from the environment: "
        f"BBSCOUT_API_KEYS='{json.dumps({name: record.model_dump()})}'"
    )


@cache_app.command("clear")
def cache_clear() -> None:
    """Empty the response cache (the hourly request count stays: Bitbucket still counts those requests)."""
    from bbscout.agent.cache import clear_cache, describe

    settings = settings_or_fail()

    async def main() -> int:
        removed = await clear_cache(settings)
        out.print(f"Removed {removed:,} cached responses from {terminal(describe(settings))}.")
        return 0

    run_async(main())


def _register_surfaces() -> None:
    from bbscout.agent.surfaces.commands import register

    register(app)


_register_surfaces()


def main() -> None:  # pragma: no cover - console entry
    app()
