"""Run-scoped state shared by the tools: the client, the workspace, and per-run caches.

A `ToolContext` lives for one investigation. It caches what every tool would otherwise re-fetch
(the repository listing, environments, pipeline uuid → build number), and `fan_out` runs a
per-repository coroutine concurrently with the gap/truncation policy of `tools.registry`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bbscout.tools.bitbucket import (
    AuthError,
    BitbucketError,
    BudgetExhausted,
    DeadlineExceeded,
    Gone,
    InvalidResponse,
    NotFound,
    RateLimited,
    ScopeError,
    ServerError,
    TransportFailure,
)
from bbscout.tools.evidence import RepositoryRecord
from bbscout.tools.redact import redact
from bbscout.tools.shapes import DATA_ERRORS, need_str, read_all, shape_error

__all__ = [
    "EPOCH",
    "FanOut",
    "ToolContext",
    "clip",
    "dig",
    "fan_out",
    "gap_for",
    "list_repository_records",
    "main_branch",
    "parse_dt",
    "repo_slugs",
]

# Errors that cost one repository's results in a fan-out, not the whole call.
PER_REPO_ERRORS: tuple[type[BitbucketError], ...] = (
    ScopeError,
    NotFound,
    Gone,
    ServerError,
    TransportFailure,
    InvalidResponse,
    RateLimited,
    BudgetExhausted,
)

REPO_FIELDS = (
    "values.slug,values.name,values.description,values.project.key,values.project.name,"
    "values.mainbranch.name,values.language,values.updated_on,values.links.html.href"
)


@dataclass
class ToolContext:
    """Everything a tool needs for one run.

    Attributes:
        client: an open `BitbucketClient` (its budget and cache are the run's).
        workspace: the workspace slug (bitbucket.org/WORKSPACE/...).
        concurrency: max repositories queried at once in a fan-out.
        repositories: the repository listing, fetched once per run and reused.
        pull_requests: every pull request a listing of this run read (raw JSON), so a change set names
            its pull requests without asking for them again.
        unreadable: records left out because Bitbucket sent them in a shape the tools cannot read,
            counted by label ("pipelines from api-gateway"); `run_tool` reports new counts as gaps.
    """

    client: Any  # tools.bitbucket.BitbucketClient (Any: tests may pass a stand-in)
    workspace: str
    concurrency: int = 32  # a listing of 40 repositories takes two round trips, not seven
    repositories: list[RepositoryRecord] | None = None
    environments: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # repo -> uuid -> env
    pipeline_builds: dict[tuple[str, str], int] = field(default_factory=dict)  # (repo, uuid) -> build
    pull_requests: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)  # (repo, id) -> raw
    main_branches: dict[str, str] = field(default_factory=dict)
    unreadable: Counter[str] = field(default_factory=Counter)
    unreadable_reported: dict[str, int] = field(default_factory=dict)
    people: list[Any] | None = None  # workspace members as tools.resolve.Person, fetched once per run
    _repo_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)


@dataclass
class FanOut:
    """Result of a per-repository fan-out: values per repository (partial ones kept), gaps, truncation."""

    results: dict[str, list[Any]]
    gaps: list[str]
    truncated: bool


def dig(obj: Any, *keys: str | int, default: Any = None) -> Any:
    """`obj[k1][k2]...` or `default` when any step is missing/None."""
    cur = obj
    for key in keys:
        if cur is None:
            return default
        try:
            cur = cur[key]
        except (KeyError, IndexError, TypeError):
            return default
    return default if cur is None else cur


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the time a record without one sorts as: oldest


def parse_dt(value: Any) -> datetime | None:
    """Bitbucket ISO-8601 timestamp → aware UTC datetime (None when absent/unparseable)."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def clip(text: str | None, limit: int) -> str:
    """Redacted text bounded to `limit` characters (an ellipsis marks a cut)."""
    if not text:
        return ""
    text = redact(text)
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def one_line(text: str | None, limit: int = 160) -> str:
    """First line of `text`, redacted and bounded: safe for a record title."""
    if not text:
        return ""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return clip(first, limit)


def gap_for(repo: str, err: BitbucketError) -> str:
    """One actionable line saying what could not be seen in `repo` and why."""
    status = f" ({err.status})" if err.status else ""
    if isinstance(err, ScopeError):
        missing = err.missing or err.required
        why = f"token lacks {', '.join(missing)}" if missing else (err.server_message or "no permission")
        return f"{repo}: no access{status}: {why}"
    if isinstance(err, NotFound):
        return f"{repo}: not found{status} (wrong slug, or invisible to this token)"
    if isinstance(err, BudgetExhausted):
        return f"{repo}: not read: the run's request budget is spent"
    if isinstance(err, RateLimited):
        return f"{repo}: not read: Bitbucket rate limit reached{status}"
    if isinstance(err, Gone):
        return f"{repo}: endpoint retired{status}"
    if isinstance(err, ServerError):
        return f"{repo}: Bitbucket server error{status}; retry later"
    if isinstance(err, DeadlineExceeded):
        return (
            f"{repo}: not read: the run's time limit ran out (BBSCOUT_TIMEOUT) before {err.endpoint} answered"
        )
    if isinstance(err, TransportFailure):
        return f"{repo}: could not reach Bitbucket ({err.message})"
    if isinstance(err, InvalidResponse):
        return f"{repo}: Bitbucket's answer could not be read ({err.message}) [{err.endpoint}]"
    return f"{repo}: {err.message}"


def _repo_record(ctx: ToolContext, raw: dict[str, Any]) -> RepositoryRecord:
    from bbscout.tools import links
    from bbscout.tools.evidence import repo_ref

    slug = need_str(raw.get("slug"), "repository slug")
    name = str(raw.get("name") or slug)
    desc = clip(raw.get("description") or "", 300)
    project = dig(raw, "project", "key", default="") or ""
    title = name + (f" — {one_line(desc, 100)}" if desc else "")
    return RepositoryRecord(
        ref=repo_ref(slug),
        repo=slug,
        url=links.html_href(raw) or links.repo_url(ctx.workspace, slug),
        title=redact(title),
        slug=slug,
        name=redact(name),
        description=desc,
        project=str(project),
        main_branch=str(dig(raw, "mainbranch", "name", default="main")),
        language=str(raw.get("language") or ""),
        updated_on=parse_dt(raw.get("updated_on")),
    )


async def list_repository_records(ctx: ToolContext) -> list[RepositoryRecord]:
    """The workspace's repositories: one paginated, fields-trimmed listing per run."""
    async with ctx._repo_lock:
        if ctx.repositories is None:
            path = f"/repositories/{ctx.client.segment(ctx.workspace)}"
            listing = [raw async for raw in ctx.client.paginate(path, [("sort", "slug")], fields=REPO_FIELDS)]
            records = read_all(
                ctx, "repositories of the workspace listing", lambda r: _repo_record(ctx, r), listing
            )
            ctx.repositories = records
            for rec in records:
                ctx.main_branches.setdefault(rec.slug, rec.main_branch)
        return ctx.repositories


async def repo_slugs(ctx: ToolContext, repos: list[str] | None) -> list[str]:
    """`repos` as given (de-duplicated; matched case-insensitively to known slugs), or every repository."""
    if repos is None:
        return [r.slug for r in await list_repository_records(ctx)]
    known = {r.slug.lower(): r.slug for r in ctx.repositories or []}
    out: list[str] = []
    for repo in repos:
        slug = known.get(repo.strip().lower(), repo.strip())
        if slug and slug not in out:
            out.append(slug)
    return out


async def main_branch(ctx: ToolContext, repo: str) -> str:
    """The repository's main branch: from the run's listing when present, else one trimmed GET."""
    if repo in ctx.main_branches:
        return ctx.main_branches[repo]
    data = await ctx.client.get_json(ctx.client.repo_path(repo), fields="mainbranch.name")
    name = str(dig(data, "mainbranch", "name", default="main"))
    ctx.main_branches[repo] = name
    return name


async def fan_out(
    ctx: ToolContext,
    slugs: list[str],
    fn: Callable[[str, list[Any]], Awaitable[None]],
) -> FanOut:
    """Run `fn(slug, sink)` for every repository, at most `ctx.concurrency` at a time.

    `fn` appends its values to `sink` as it goes, so what a repository yielded before an error is
    kept. Per-repository errors (`PER_REPO_ERRORS`) become gaps; `AuthError` and anything else
    propagate, and so does the first error when every repository failed (an empty answer would
    be a lie). A spent budget or rate limit marks the result truncated.
    """
    sem = asyncio.Semaphore(max(1, ctx.concurrency))
    results: dict[str, list[Any]] = {slug: [] for slug in slugs}
    errors: dict[str, BitbucketError] = {}

    async def one(slug: str) -> None:
        async with sem:
            if slug not in errors and ctx.client.remaining_budget == 0:
                errors[slug] = BudgetExhausted("request budget spent", budget=ctx.client.budget)
                return
            try:
                await fn(slug, results[slug])
            except AuthError:
                raise
            except PER_REPO_ERRORS as err:
                errors[slug] = err
            except DATA_ERRORS as exc:  # this repository's answer did not fit: its gap, not a crash
                errors[slug] = shape_error(slug, exc)

    outcomes = await asyncio.gather(*(one(s) for s in slugs), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    if slugs and len(errors) == len(slugs):
        raise errors[slugs[0]]  # nothing was seen at all: that is a failed call, not an empty answer
    gaps = [gap_for(slug, errors[slug]) for slug in slugs if slug in errors]
    truncated = any(isinstance(e, (BudgetExhausted, RateLimited, DeadlineExceeded)) for e in errors.values())
    return FanOut(results=results, gaps=gaps, truncated=truncated)
