"""Branch tool: list_branches.

`/refs/branches` sorts server-side on `target.date`. Recent branches come from `-target.date`
with an early stop at `since`; stale branches from ascending `target.date` with an early stop at
`stale_before`, so neither query reads the whole branch list.
"""

from __future__ import annotations

from typing import Any

from bbscout.tools import links
from bbscout.tools.args import ListBranches
from bbscout.tools.bitbucket import bbql
from bbscout.tools.commits import _author
from bbscout.tools.context import (
    EPOCH,
    ToolContext,
    clip,
    dig,
    fan_out,
    main_branch,
    one_line,
    parse_dt,
    repo_slugs,
)
from bbscout.tools.evidence import BranchRecord, ToolResult, branch_ref
from bbscout.tools.pick import pick_one, repositories, wanted
from bbscout.tools.redact import redact
from bbscout.tools.shapes import readable

__all__ = ["branch_record", "list_branches"]

BRANCH_FIELDS = ",".join(
    f"values.{f}"
    for f in (
        "name",
        "target.hash",
        "target.date",
        "target.message",
        "target.author.raw",
        "target.author.user.display_name",
    )
)


def branch_record(ws: str, repo: str, raw: dict[str, Any]) -> BranchRecord:
    name = redact(str(raw.get("name") or ""))
    target = raw.get("target") or {}
    date = parse_dt(target.get("date")) or EPOCH
    author = redact(_author(target))
    message = clip(target.get("message") or "", 300)
    return BranchRecord(
        ref=branch_ref(repo, name),
        repo=repo,
        url=links.branch_url(ws, repo, name),
        title=(
            f"{name} @ {str(target.get('hash') or '')[:12]} {date:%Y-%m-%d} by {author}: "
            f"{one_line(message, 100)}"
        ),
        name=name,
        head=str(target.get("hash") or ""),
        head_date=date,
        head_author=author,
        head_message=message,
    )


async def list_branches(ctx: ToolContext, args: ListBranches) -> ToolResult:
    slugs = await repo_slugs(ctx, args.repos)
    stale = args.stale_before
    want = wanted(args.pick, args.limit)
    # "oldest" reads ascending (like stale): both then stop at the first `want` matches
    ascending = stale is not None or args.pick == "oldest"
    params: list[tuple[str, Any]] = [("sort", "target.date" if ascending else "-target.date")]
    if args.name_contains:
        params.append(("q", str(bbql.cond("name", "~", args.name_contains))))
    scan = 1 if args.pick else want

    def stop(item: dict[str, Any]) -> bool:
        date = parse_dt(dig(item, "target", "date"))
        if date is None:
            return False
        if stale is not None:
            return date >= stale
        return args.since is not None and date < args.since and not ascending

    async def per_repo(slug: str, sink: list[BranchRecord]) -> None:
        main = await main_branch(ctx, slug) if args.exclude_main else None
        async for raw in ctx.client.paginate(
            ctx.client.repo_path(slug, "refs", "branches"),
            params,
            fields=BRANCH_FIELDS,
            stop=stop,
            pagelen=min(100, scan + 1) if args.pick else None,
        ):
            rec = readable(ctx, f"branches from {slug}", lambda r: branch_record(ctx.workspace, slug, r), raw)
            if rec is None:
                continue
            if args.name_contains and args.name_contains.lower() not in rec.name.lower():
                continue
            if main is not None and rec.name == main:
                continue
            if stale is not None and rec.head_date >= stale:
                continue
            if args.since is not None and rec.head_date < args.since:
                continue
            sink.append(rec)
            if len(sink) > scan:
                return

    out = await fan_out(ctx, slugs, per_repo)
    records = [r for rs in out.results.values() for r in rs]
    records.sort(key=lambda r: r.head_date, reverse=not ascending)
    notes = [f"searched {len(slugs)} repositor{'y' if len(slugs) == 1 else 'ies'}"]
    if stale is not None:
        notes.append(f"stale branches (no commit since {stale:%Y-%m-%d %H:%M}Z), oldest first")
    among = ("work branches" if args.exclude_main else "branches") + (
        f" named like {args.name_contains!r}" if args.name_contains else ""
    )
    among += " in " + repositories(slugs)
    chosen, rule = pick_one(
        records,
        args.pick,
        lambda r: r.head_date,
        field="the date of its latest commit (Bitbucket does not record when a branch was created)",
        among=among,
        complete=not out.truncated,
    )
    notes.extend(rule)
    more = args.pick is None and len(records) > args.limit
    if more:
        notes.append(f"more branches matched than the limit of {args.limit}")
    return ToolResult(
        tool="list_branches",
        records=chosen[: args.limit],
        notes=notes,
        gaps=out.gaps,
        truncated=out.truncated or more,
    )
