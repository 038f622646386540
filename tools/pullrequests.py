"""Pull-request tools: list_pull_requests, get_pull_request, pull_requests_for_commit.

Filters go to the server (`state=` repeated, BBQL `q` for branches and the updated_on window,
`sort=-updated_on`, pagelen 50); the author filter is client-side because usernames were removed
from BBQL (GDPR). Reviewers/participants are hidden in list responses, so they are requested only
when `awaiting_review` needs them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bbscout.tools import links
from bbscout.tools.args import GetPullRequest, ListPullRequests, PullRequestsForCommit
from bbscout.tools.bitbucket import BitbucketError, NotFound, bbql
from bbscout.tools.context import ToolContext, clip, dig, fan_out, one_line, parse_dt, repo_slugs
from bbscout.tools.evidence import FileChangeRecord, PullRequestRecord, ToolResult, file_ref, pr_ref
from bbscout.tools.redact import redact

__all__ = [
    "PR_FIELDS",
    "file_change_record",
    "get_pull_request",
    "list_pull_requests",
    "merged_prs",
    "pr_record",
    "pull_requests_for_commit",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BASE = (
    "id",
    "title",
    "state",
    "draft",
    "author.display_name",
    "author.nickname",
    "source.branch.name",
    "source.commit.hash",
    "destination.branch.name",
    "created_on",
    "updated_on",
    "merge_commit.hash",
    "closed_by.display_name",
    "comment_count",
)
_PEOPLE = (
    "reviewers.display_name",
    "participants.user.display_name",
    "participants.role",
    "participants.approved",
    "participants.state",
)
PR_FIELDS = ",".join(f"values.{f}" for f in _BASE)
PR_FIELDS_PEOPLE = PR_FIELDS + "," + ",".join(f"+values.{f}" for f in _PEOPLE)
ONE_PR_FIELDS = ",".join((*_BASE, "description", *_PEOPLE))
DIFFSTAT_FIELDS = "values.status,values.lines_added,values.lines_removed,values.old.path,values.new.path"
STATUS_FIELDS = "values.key,values.name,values.state,values.refname"
COMMENT_FIELDS = (
    "values.content.raw,values.user.display_name,values.inline.path,values.deleted,values.created_on"
)
MAX_DIFF_CHARS = 6000
MAX_FILES = 200
MAX_COMMENTS = 30
FALLBACK_PR_SCAN = 100  # merged/open PRs read by the /commit/{c}/pullrequests fallback
FALLBACK_COMMIT_CHECKS = 8  # PR /commits lists read by the fallback

_MERGED_IN = re.compile(r"(?i)\bpull request #(\d+)")


def pr_record(ws: str, repo: str, raw: dict[str, Any], *, description: bool = False) -> PullRequestRecord:
    """A `pullrequest` JSON object (possibly trimmed) → PullRequestRecord (text redacted)."""
    pr_id = int(raw.get("id") or 0)
    participants = raw.get("participants") or []
    approved = [
        redact(str(dig(p, "user", "display_name", default="?"))) for p in participants if p.get("approved")
    ]
    changes = [
        redact(str(dig(p, "user", "display_name", default="?")))
        for p in participants
        if str(p.get("state") or "").lower() == "changes_requested"
    ]
    reviewers = [redact(str(r.get("display_name") or "?")) for r in raw.get("reviewers") or []]
    state = str(raw.get("state") or "OPEN").upper()
    if state not in ("OPEN", "MERGED", "DECLINED", "SUPERSEDED"):
        state = "OPEN"
    author = redact(
        str(dig(raw, "author", "display_name", default="") or dig(raw, "author", "nickname", default="?"))
    )
    src = redact(str(dig(raw, "source", "branch", "name", default="")))
    dst = redact(str(dig(raw, "destination", "branch", "name", default="")))
    title = one_line(raw.get("title") or "", 160)
    return PullRequestRecord(
        ref=pr_ref(repo, pr_id),
        repo=repo,
        url=links.pr_url(ws, repo, pr_id),
        title=f"PR #{pr_id} {state}: {title} ({src} → {dst}, by {author})",
        id=pr_id,
        subject=title,
        state=state,
        author=author,
        source_branch=src,
        destination_branch=dst,
        created_on=parse_dt(raw.get("created_on")) or EPOCH,
        updated_on=parse_dt(raw.get("updated_on")) or EPOCH,
        merge_commit=dig(raw, "merge_commit", "hash"),
        closed_by=redact(str(dig(raw, "closed_by", "display_name")))
        if dig(raw, "closed_by", "display_name")
        else None,
        description=clip(raw.get("description") or "", 1500) if description else "",
        reviewers=reviewers,
        approved_by=approved,
        changes_requested_by=changes,
        comment_count=int(raw.get("comment_count") or 0),
        draft=bool(raw.get("draft") or False),
    )


def file_change_record(ws: str, repo: str, rev: str, raw: dict[str, Any]) -> FileChangeRecord:
    """A `diffstat` entry → FileChangeRecord."""
    new_path = dig(raw, "new", "path")
    old_path = dig(raw, "old", "path")
    path = redact(str(new_path or old_path or "?"))
    status = str(raw.get("status") or "modified")
    added, removed = int(raw.get("lines_added") or 0), int(raw.get("lines_removed") or 0)
    renamed = (
        redact(str(old_path))
        if (status == "renamed" or (old_path and new_path and old_path != new_path))
        else None
    )
    return FileChangeRecord(
        ref=file_ref(repo, path, rev),
        repo=repo,
        url=links.file_url(ws, repo, rev.split("..")[0], path),
        title=f"{status} {path} (+{added} -{removed})" + (f" from {renamed}" if renamed else ""),
        path=path,
        rev=rev,
        status=status,
        lines_added=added,
        lines_removed=removed,
        old_path=renamed,
    )


def _list_query(args: ListPullRequests) -> str | None:
    conds = []
    if args.since is not None:
        conds.append(bbql.cond(args.time_field, ">=", args.since))
    if args.until is not None:
        conds.append(bbql.cond(args.time_field, "<=", args.until))
    if args.destination_branch:
        conds.append(bbql.cond("destination.branch.name", "=", args.destination_branch))
    if args.source_branch:
        conds.append(bbql.cond("source.branch.name", "=", args.source_branch))
    return str(bbql.all_of(*conds)) if conds else None


def _author_matches(raw: dict[str, Any], fragment: str | None) -> bool:
    if not fragment:
        return True
    needle = fragment.strip().lower()
    names = (dig(raw, "author", "display_name", default=""), dig(raw, "author", "nickname", default=""))
    return any(needle in str(n).lower() for n in names)


def _awaiting_review(raw: dict[str, Any]) -> bool:
    if str(raw.get("state")) != "OPEN" or raw.get("draft"):
        return False
    return not any(p.get("approved") for p in raw.get("participants") or [])


async def list_pull_requests(ctx: ToolContext, args: ListPullRequests) -> ToolResult:
    slugs = await repo_slugs(ctx, args.repos)
    states = list(dict.fromkeys(args.states or ["OPEN"]))
    if args.awaiting_review and "OPEN" not in states:
        states = ["OPEN"]
    params: list[tuple[str, Any]] = [("state", s) for s in states] + [("sort", "-updated_on")]
    q = _list_query(args)
    if q:
        params.append(("q", q))
    fields = PR_FIELDS_PEOPLE if args.awaiting_review else PR_FIELDS
    since = args.since

    def older(item: dict[str, Any]) -> bool:
        # Sorted by -updated_on, and created_on <= updated_on: once activity is older than `since`,
        # so is every later item's creation.
        updated = parse_dt(item.get("updated_on"))
        return since is not None and updated is not None and updated < since

    async def per_repo(slug: str, sink: list[PullRequestRecord]) -> None:
        async for raw in ctx.client.paginate(
            ctx.client.repo_path(slug, "pullrequests"), params, fields=fields, pagelen=50, stop=older
        ):
            if str(raw.get("state")) not in states or not _author_matches(raw, args.author):
                continue
            stamp = parse_dt(raw.get(args.time_field))
            if args.until is not None and stamp is not None and stamp > args.until:
                continue
            if since is not None and stamp is not None and stamp < since:
                continue
            if args.awaiting_review and not _awaiting_review(raw):
                continue
            sink.append(pr_record(ctx.workspace, slug, raw))
            if len(sink) > args.limit:
                return

    out = await fan_out(ctx, slugs, per_repo)
    records = sorted((r for rs in out.results.values() for r in rs), key=lambda r: r.updated_on, reverse=True)
    notes = [
        f"searched {len(slugs)} repositor{'y' if len(slugs) == 1 else 'ies'}; states {', '.join(states)}"
    ]
    if len(records) > args.limit:
        notes.append(f"more pull requests matched than the limit of {args.limit}")
    return ToolResult(
        tool="list_pull_requests",
        records=records[: args.limit],
        notes=notes,
        gaps=out.gaps,
        truncated=out.truncated or len(records) > args.limit,
    )


def _split_diff(diff: str) -> dict[str, str]:
    """Unified diff → {path: that file's hunks}."""
    parts: dict[str, str] = {}
    current: str | None = None
    buf: list[str] = []
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            if current is not None:
                parts[current] = "\n".join(buf)
            m = re.match(r"diff --git a/(.*?) b/(.*)$", line)
            current = m.group(2) if m else line[11:]
            buf = []
        elif current is not None:
            buf.append(line)
    if current is not None:
        parts[current] = "\n".join(buf)
    return parts


async def get_pull_request(ctx: ToolContext, args: GetPullRequest) -> ToolResult:
    client = ctx.client
    raw = await client.get_json(client.repo_path(args.repo, "pullrequests", args.pr_id), fields=ONE_PR_FIELDS)
    rec = pr_record(ctx.workspace, args.repo, raw, description=True)
    notes: list[str] = []
    gaps: list[str] = []
    mode = "immutable" if rec.state in ("MERGED", "DECLINED", "SUPERSEDED") else "listing"
    statuses = [
        f"{s.get('state')} {redact(str(s.get('name') or s.get('key') or ''))}".strip()
        async for s in client.paginate(
            client.repo_path(args.repo, "pullrequests", args.pr_id, "statuses"),
            fields=STATUS_FIELDS,
            max_items=20,
        )
    ]
    rec.statuses = statuses
    rev = rec.merge_commit or dig(raw, "source", "commit", "hash", default="") or f"pr{args.pr_id}"
    files: list[FileChangeRecord] = []
    try:
        async for d in client.paginate(
            client.repo_path(args.repo, "pullrequests", args.pr_id, "diffstat"),
            fields=DIFFSTAT_FIELDS,
            cache=mode,
            max_items=MAX_FILES + 1,
        ):
            files.append(file_change_record(ctx.workspace, args.repo, rev, d))
    except BitbucketError as err:
        if err.status in (401,):
            raise
        gaps.append(f"diffstat unavailable: {err.message}")
    if len(files) > MAX_FILES:
        files = files[:MAX_FILES]
        notes.append(f"more than {MAX_FILES} files changed; list cut")
    if args.include_diff:
        try:
            diff = await client.get_text(
                client.repo_path(args.repo, "pullrequests", args.pr_id, "diff"), cache=mode
            )
            per_file = _split_diff(diff)
            budget = MAX_DIFF_CHARS
            for f in files:
                hunk = per_file.get(f.path) or (per_file.get(f.old_path) if f.old_path else None)
                if hunk and budget > 0:
                    excerpt = clip(hunk, min(budget, 1500))
                    f.diff_excerpt = excerpt
                    budget -= len(excerpt)
            if budget <= 0:
                notes.append(f"diff excerpts bounded to {MAX_DIFF_CHARS} characters in total")
        except BitbucketError as err:
            if err.status == 401:
                raise
            gaps.append(f"diff unavailable: {err.message}")
    if args.include_comments:
        comments: list[str] = []
        async for c in client.paginate(
            client.repo_path(args.repo, "pullrequests", args.pr_id, "comments"),
            fields=COMMENT_FIELDS,
            max_items=MAX_COMMENTS,
        ):
            if c.get("deleted"):
                continue
            who = redact(str(dig(c, "user", "display_name", default="?")))
            where = dig(c, "inline", "path")
            comments.append(
                f"{who}{f' ({redact(str(where))})' if where else ''}: "
                f"{clip(dig(c, 'content', 'raw', default=''), 400)}"
            )
        rec.comments = comments
    return ToolResult(tool="get_pull_request", records=[rec, *files], notes=notes, gaps=gaps)


async def merged_prs(
    ctx: ToolContext,
    repo: str,
    *,
    destination: str | None,
    since: datetime | None,
    until: datetime | None = None,
    max_items: int = 100,
    states: tuple[str, ...] = ("MERGED",),
) -> list[dict[str, Any]]:
    """PRs to `destination` updated in the window, newest first (raw JSON, trimmed fields)."""
    conds = []
    if destination:
        conds.append(bbql.cond("destination.branch.name", "=", destination))
    if since is not None:
        conds.append(bbql.cond("updated_on", ">=", since))
    if until is not None:
        conds.append(bbql.cond("updated_on", "<=", until))
    params: list[tuple[str, Any]] = [("state", s) for s in states] + [("sort", "-updated_on")]
    if conds:
        params.append(("q", str(bbql.all_of(*conds))))
    return [
        raw
        async for raw in ctx.client.paginate(
            ctx.client.repo_path(repo, "pullrequests"),
            params,
            fields=PR_FIELDS,
            pagelen=50,
            max_items=max_items,
        )
    ]


async def pull_requests_for_commit(ctx: ToolContext, args: PullRequestsForCommit) -> ToolResult:
    client = ctx.client
    commit = args.commit.strip().lower()
    notes: list[str] = []
    try:
        data = await client.get_json(
            client.repo_path(args.repo, "commit", commit, "pullrequests"),
            [("pagelen", 50)],
            fields=PR_FIELDS + ",next",
        )
        if data.get("values"):
            recs = [pr_record(ctx.workspace, args.repo, raw) for raw in data["values"]]
            notes.append("method: /commit/{hash}/pullrequests")
            return ToolResult(tool="pull_requests_for_commit", records=recs, notes=notes)
        # An empty answer is ambiguous: 202 (still indexing) also comes with an empty page.
        reason = "returned no pull requests (empty, or 202 while indexing)"
    except NotFound:
        reason = "not available (404: the Pull Request Commit Links app is not installed)"
    # Fallback: PRs updated since the commit was made whose merge/source head is the commit, then the
    # most recent candidates' commit lists (bounded).
    since = None
    try:
        meta = await client.get_json(
            client.repo_path(args.repo, "commit", commit), fields="hash,date", cache="immutable"
        )
        commit = str(meta.get("hash") or commit)
        since = parse_dt(meta.get("date"))
    except NotFound:
        notes.append(f"commit {commit[:12]} not found in {args.repo}")
        return ToolResult(tool="pull_requests_for_commit", notes=notes)
    candidates = await merged_prs(
        ctx, args.repo, destination=None, since=since, max_items=FALLBACK_PR_SCAN, states=("MERGED", "OPEN")
    )
    found: dict[int, dict[str, Any]] = {}
    for raw in candidates:
        heads = (
            dig(raw, "merge_commit", "hash", default=""),
            dig(raw, "source", "commit", "hash", default=""),
        )
        if any(h and (h.startswith(commit) or commit.startswith(h)) for h in heads):
            found[int(raw["id"])] = raw
    checked = 0
    for raw in candidates:
        if int(raw["id"]) in found or checked >= FALLBACK_COMMIT_CHECKS:
            continue
        checked += 1
        try:
            async for c in client.paginate(
                client.repo_path(args.repo, "pullrequests", raw["id"], "commits"),
                fields="values.hash",
                max_items=500,
            ):
                if str(c.get("hash", "")).startswith(commit):
                    found[int(raw["id"])] = raw
                    break
        except NotFound:
            continue
    notes.append(
        f"/commit/{{hash}}/pullrequests {reason}; fallback: matched merge/source commits of "
        f"{len(candidates)} MERGED/OPEN pull requests updated since the commit and read the commit lists "
        f"of {checked}"
    )
    truncated = len(candidates) >= FALLBACK_PR_SCAN or checked >= FALLBACK_COMMIT_CHECKS
    recs = [pr_record(ctx.workspace, args.repo, raw) for raw in found.values()]
    return ToolResult(
        tool="pull_requests_for_commit", records=recs, notes=notes, truncated=truncated and not recs
    )
