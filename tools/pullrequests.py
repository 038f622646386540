"""Pull-request tools: list_pull_requests, get_pull_request, pull_requests_for_commit.

Filters go to the server (`state=` repeated, BBQL `q` for branches, the updated_on window and text
in title/description, `sort=-updated_on`, pagelen 50); people filters (author, reviewer, approver,
participant) are client-side because BBQL filters people only by uuid and a name is what we are
given. Reviewers/participants are hidden in list responses, so they are requested (`fields=+...`)
only when a filter needs them. "Touched path X" has no server-side filter at all: the newest
candidates' diffstats are read, bounded, and the result says how many were examined.
"""

from __future__ import annotations

import asyncio
import functools
import re
from datetime import datetime
from typing import Any

from bbscout.tools import links
from bbscout.tools.args import GetPullRequest, ListPullRequests, PullRequestFiles, PullRequestsForCommit
from bbscout.tools.bitbucket import AuthError, BadRequest, BitbucketError, NotFound, bbql
from bbscout.tools.context import EPOCH, ToolContext, clip, dig, fan_out, one_line, parse_dt, repo_slugs
from bbscout.tools.evidence import FileChangeRecord, PullRequestRecord, ToolResult, file_ref, pr_ref
from bbscout.tools.paths import path_matches
from bbscout.tools.pick import pick_one, repositories, wanted
from bbscout.tools.redact import redact
from bbscout.tools.resolve import Person, PersonFilter, person_from_account
from bbscout.tools.shapes import read_all, readable

__all__ = [
    "PR_FIELDS",
    "file_change_record",
    "get_pull_request",
    "list_pull_requests",
    "merged_prs",
    "pr_record",
    "pull_request_files",
    "pull_requests_for_commit",
    "remember",
    "settled_pull_request",
]

_BASE = (
    "id",
    "title",
    "state",
    "draft",
    "author.display_name",
    "author.nickname",
    "source.branch.name",
    "source.commit.hash",
    "source.repository.full_name",
    "destination.branch.name",
    "destination.commit.hash",  # with the source commit: the PR's diffstat, without asking for the PR
    "destination.repository.full_name",
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
_WHO = (
    "author.uuid",
    "reviewers.nickname",
    "reviewers.uuid",
    "participants.user.nickname",
    "participants.user.uuid",
)
PR_FIELDS = ",".join(f"values.{f}" for f in _BASE)
PR_FIELDS_PEOPLE = PR_FIELDS + "," + ",".join(f"+values.{f}" for f in _PEOPLE)
PR_FIELDS_WHO = PR_FIELDS_PEOPLE + "," + ",".join(f"+values.{f}" for f in _WHO)
ONE_PR_FIELDS = ",".join(
    (
        *_BASE,
        "description",
        *_PEOPLE,
    )
)
CLOSED = ("MERGED", "DECLINED", "SUPERSEDED")
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
PATH_DIFFSTAT_FIELDS = "values.new.path,values.old.path"
MAX_PATH_FILES = 1000  # changed files read per PR when matching a path

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
    everyone = [redact(str(dig(p, "user", "display_name", default="?"))) for p in participants]
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
        participants=everyone,
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


def remember(ctx: ToolContext, repo: str, raw: dict[str, Any]) -> None:
    """Keep a pull request this run read in a listing (a change set looks its PRs up there first)."""
    if isinstance(raw.get("id"), int):
        ctx.pull_requests[(repo, raw["id"])] = raw


def _text_query(text: str) -> bbql.Query:
    return bbql.any_of(bbql.cond("title", "~", text), bbql.cond("description", "~", text))


def _list_query(args: ListPullRequests, *, text: bool = True) -> str | None:
    conds: list[bbql.Query] = []
    if args.since is not None:
        conds.append(bbql.cond(args.time_field, ">=", args.since))
    if args.until is not None:
        conds.append(bbql.cond(args.time_field, "<=", args.until))
    if args.destination_branch:
        conds.append(bbql.cond("destination.branch.name", "=", args.destination_branch))
    if args.source_branch:
        conds.append(bbql.cond("source.branch.name", "=", args.source_branch))
    if text and args.text:
        conds.append(_text_query(args.text))
    return str(bbql.all_of(*conds)) if conds else None


def _text_matches(raw: dict[str, Any], text: str | None) -> bool:
    if not text:
        return True
    needle = text.strip().lower()
    return any(needle in str(raw.get(k) or "").lower() for k in ("title", "description"))


def _awaiting_review(raw: dict[str, Any]) -> bool:
    if str(raw.get("state")) != "OPEN" or raw.get("draft"):
        return False
    return not any(p.get("approved") for p in raw.get("participants") or [])


def _people(raw: dict[str, Any], role: str) -> list[Person]:
    """The people of a PR in one role: author, reviewer, approver or participant."""
    if role == "author":
        return [person_from_account(raw.get("author") or {})]
    reviewers = [person_from_account(r) for r in raw.get("reviewers") or []]
    parts = raw.get("participants") or []
    if role == "reviewer":
        return reviewers
    if role == "approver":
        return [person_from_account(p.get("user") or {}) for p in parts if p.get("approved")]
    return reviewers + [person_from_account(p.get("user") or {}) for p in parts]


def _people_filters(args: ListPullRequests) -> dict[str, PersonFilter]:
    given = {
        "author": args.author,
        "reviewer": args.reviewer,
        "approver": args.approver,
        "participant": args.participant,
    }
    return {role: PersonFilter(phrase, role) for role, phrase in given.items() if phrase and phrase.strip()}


def _among(args: ListPullRequests, states: list[str], slugs: list[str]) -> str:
    """The candidate set in words, for the pick rule and the path-scan note."""
    parts = [f"{'/'.join(states)} pull requests"]
    for role, phrase in (
        ("by", args.author),
        ("with reviewer", args.reviewer),
        ("approved by", args.approver),
        ("with participant", args.participant),
    ):
        if phrase:
            parts.append(f"{role} {phrase!r}")
    if args.text:
        parts.append(f"mentioning {args.text!r}")
    if args.path:
        parts.append(f"touching {args.path!r}")
    if args.destination_branch:
        parts.append(f"into {args.destination_branch}")
    if args.source_branch:
        parts.append(f"from {args.source_branch}")
    parts.append("in " + repositories(slugs))
    return " ".join(parts)


async def _changed_paths(ctx: ToolContext, repo: str, raw: dict[str, Any]) -> list[str]:
    """Files a PR changed, in one request: the merge commit's diffstat (vs its first parent) for a
    merged PR, else source..destination (Bitbucket's PR diffstat, without the 302 hop)."""
    merge = dig(raw, "merge_commit", "hash")
    src, dst = dig(raw, "source", "commit", "hash"), dig(raw, "destination", "commit", "hash")
    if merge and raw.get("state") == "MERGED":
        spec, cache = str(merge), "immutable"
    elif src and dst:
        spec, cache = f"{src}..{dst}", "immutable" if raw.get("state") != "OPEN" else "listing"
    else:
        raise NotFound(f"PR #{raw.get('id')} has no commits to diff", status=404)
    paths: list[str] = []
    async for d in ctx.client.paginate(
        ctx.client.repo_path(repo, "diffstat", spec),
        fields=PATH_DIFFSTAT_FIELDS,
        cache=cache,
        max_items=MAX_PATH_FILES,
    ):
        for side in ("new", "old"):
            p = dig(d, side, "path")
            if p and p not in paths:
                paths.append(str(p))
    return paths


async def _scan_paths(
    ctx: ToolContext, args: ListPullRequests, candidates: list[tuple[str, dict[str, Any]]], want: int
) -> tuple[list[tuple[str, dict[str, Any], list[str]]], int, list[str]]:
    """Examine candidates newest first, a batch at a time, until `want` touch the path.

    Returns the matches with their matching files, how many PRs were examined, and the PRs whose
    diffstat could not be read.
    """
    assert args.path is not None
    matches: list[tuple[str, dict[str, Any], list[str]]] = []
    unreadable: list[str] = []
    examined = 0
    batch = max(1, ctx.concurrency)
    for start in range(0, len(candidates), batch):
        if len(matches) >= want:
            break
        chunk = candidates[start : start + batch]
        outcomes = await asyncio.gather(
            *(_changed_paths(ctx, repo, raw) for repo, raw in chunk), return_exceptions=True
        )
        for (repo, raw), outcome in zip(chunk, outcomes, strict=True):
            examined += 1
            if isinstance(outcome, AuthError):
                raise outcome
            if isinstance(outcome, BitbucketError):
                unreadable.append(f"{repo}#{raw.get('id')}")
                continue
            if isinstance(outcome, BaseException):
                raise outcome
            hits = [p for p in outcome if path_matches(p, args.path)]
            if hits:
                matches.append((repo, raw, hits))
    return matches, examined, unreadable


async def list_pull_requests(ctx: ToolContext, args: ListPullRequests) -> ToolResult:
    slugs = await repo_slugs(ctx, args.repos)
    states = list(dict.fromkeys(args.states or ["OPEN"]))
    if args.awaiting_review and "OPEN" not in states:
        states = ["OPEN"]
    people = _people_filters(args)
    base: list[tuple[str, Any]] = [("state", s) for s in states] + [("sort", "-updated_on")]
    fields = (
        PR_FIELDS_WHO
        if people.keys() - {"author"}
        else (PR_FIELDS_PEOPLE if args.awaiting_review else PR_FIELDS)
    )
    if args.text:
        fields += ",values.description"
    if args.path:
        fields += ",values.destination.commit.hash"
    want = wanted(args.pick, args.limit)
    cap = args.path_scan_limit if args.path else want  # candidates collected per repository
    since = args.since
    notes: list[str] = []

    def older(item: dict[str, Any]) -> bool:
        # Sorted by -updated_on, and created_on <= updated_on: once activity is older than `since`,
        # so is every later item's creation.
        updated = parse_dt(item.get("updated_on"))
        return since is not None and updated is not None and updated < since

    async def read(slug: str, sink: list[tuple[str, dict[str, Any]]], q: str | None) -> None:
        params = [*base, ("q", q)] if q else base
        async for raw in ctx.client.paginate(
            ctx.client.repo_path(slug, "pullrequests"), params, fields=fields, pagelen=50, stop=older
        ):
            remember(ctx, slug, raw)
            if str(raw.get("state")) not in states or not _text_matches(raw, args.text):
                continue
            stamp = parse_dt(raw.get(args.time_field))
            if args.until is not None and stamp is not None and stamp > args.until:
                continue
            if since is not None and stamp is not None and stamp < since:
                continue
            if args.awaiting_review and not _awaiting_review(raw):
                continue
            if not all(f.offer(_people(raw, role)) for role, f in people.items()):
                continue
            sink.append((slug, raw))
            if len(sink) > cap:
                return

    async def per_repo(slug: str, sink: list[tuple[str, dict[str, Any]]]) -> None:
        try:
            await read(slug, sink, _list_query(args))
        except BadRequest:
            if not args.text:
                raise
            # A server that refuses `description ~` still answers without the text clause; the
            # text is then matched client-side over what is read.
            sink.clear()
            notes.append(f"{slug}: text filter applied client-side (the server refused it in q)")
            await read(slug, sink, _list_query(args, text=False))

    out = await fan_out(ctx, slugs, per_repo)
    for f in people.values():
        f.settle()
    items = [
        (slug, raw)
        for rows in out.results.values()
        for slug, raw in rows
        if all(f.keeps(_people(raw, role)) for role, f in people.items())
    ]
    more_candidates = any(len(rows) > cap for rows in out.results.values())
    gaps = list(out.gaps)
    for f in people.values():
        note, gap = f.describe()
        notes.append(note)
        if gap:
            gaps.append(gap)
    key = args.time_field
    items.sort(key=lambda it: parse_dt(it[1].get(key)) or EPOCH, reverse=True)
    matched_files: dict[tuple[str, int], list[str]] = {}
    truncated = out.truncated
    if args.path:
        candidates = items[: args.path_scan_limit]
        found, examined, unreadable = await _scan_paths(ctx, args, candidates, want + (args.pick is None))
        stopped_early = examined < len(candidates)
        unexamined = len(items) - examined + (1 if more_candidates else 0)
        notes.append(
            f"path {args.path!r}: examined the changed files of the {examined} most recently "
            f"{'updated' if key == 'updated_on' else 'created'} of {len(items)}"
            f"{'+' if more_candidates else ''} candidate {'/'.join(states)} pull requests"
            + (f", stopped early after {len(found)} match(es)" if stopped_early else "")
        )
        if unexamined > 0 and len(found) <= want and not stopped_early:
            truncated = True
            gaps.append(
                f"path {args.path!r}: only the {examined} newest candidate pull requests were checked "
                f"(path_scan_limit {args.path_scan_limit}); older ones were not"
            )
        if unreadable:
            gaps.append(f"path {args.path!r}: changed files unreadable for {', '.join(unreadable)}")
        items = [(slug, raw) for slug, raw, _ in found]
        matched_files = {(slug, int(raw.get("id") or 0)): hits for slug, raw, hits in found}
    records = []
    for slug, raw in items:
        build = functools.partial(pr_record, ctx.workspace, slug, description=bool(args.text))
        built = readable(ctx, f"pull requests from {slug}", build, raw)
        if built is None:
            continue
        rec = built
        rec.matched_paths = [redact(p) for p in matched_files.get((slug, rec.id), [])]
        records.append(rec)
    if args.pick is None:
        records.sort(key=lambda r: r.updated_on, reverse=True)
    notes.insert(
        0, f"searched {len(slugs)} repositor{'y' if len(slugs) == 1 else 'ies'}; states {', '.join(states)}"
    )
    chosen, rule = pick_one(
        records,
        args.pick,
        lambda r: r.created_on if key == "created_on" else r.updated_on,
        field=key,
        among=_among(args, states, slugs),
        complete=not (truncated or more_candidates),
    )
    notes.extend(rule)
    more = args.pick is None and len(records) > args.limit
    if more:
        notes.append(f"more pull requests matched than the limit of {args.limit}")
    return ToolResult(
        tool="list_pull_requests",
        records=chosen[: args.limit],
        notes=notes,
        gaps=gaps,
        truncated=truncated or more,
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


def settled_pull_request(raw: dict[str, Any]) -> bool:
    """A merged, declined or superseded pull request is settled: kept like an immutable response."""
    return str(raw.get("state") or "") in CLOSED


def _diffstat_path(
    client: Any, repo: str, pr_id: int, raw: dict[str, Any]
) -> tuple[str, list[tuple[str, str]]]:
    """The PR's diffstat without its 302 hop: the repository diffstat of source..destination (as the
    redirect does), when both commits are known and the source is not a fork; else the PR endpoint."""
    source, destination = dig(raw, "source", "commit", "hash"), dig(raw, "destination", "commit", "hash")
    fork = dig(raw, "source", "repository", "full_name") != dig(raw, "destination", "repository", "full_name")
    if source and destination and not fork:
        return client.repo_path(repo, "diffstat", f"{source}..{destination}"), [("topic", "true")]
    return client.repo_path(repo, "pullrequests", pr_id, "diffstat"), []


async def get_pull_request(ctx: ToolContext, args: GetPullRequest) -> ToolResult:
    client = ctx.client
    raw = ctx.pull_requests.get((args.repo, args.pr_id)) if args.files_only else None
    if raw is None or not dig(raw, "destination", "commit", "hash"):
        raw = await client.get_json(
            client.repo_path(args.repo, "pullrequests", args.pr_id),
            fields=ONE_PR_FIELDS,
            settled=settled_pull_request,
        )
    rec = pr_record(ctx.workspace, args.repo, raw, description=not args.files_only)
    notes: list[str] = []
    gaps: list[str] = []
    closed = rec.state in CLOSED
    mode = "immutable" if closed else "listing"

    def final(page: dict[str, Any]) -> bool:  # a closed PR's statuses, none still running
        return (
            closed
            and not page.get("next")
            and all(v.get("state") != "INPROGRESS" for v in page.get("values") or [])
        )

    if not args.files_only:
        rec.statuses = [
            f"{s.get('state')} {redact(str(s.get('name') or s.get('key') or ''))}".strip()
            async for s in client.paginate(
                client.repo_path(args.repo, "pullrequests", args.pr_id, "statuses"),
                fields=STATUS_FIELDS,
                max_items=20,
                settled=final,
            )
        ]
    rev = rec.merge_commit or dig(raw, "source", "commit", "hash", default="") or f"pr{args.pr_id}"
    files: list[FileChangeRecord] = []
    diffstat, params = _diffstat_path(client, args.repo, args.pr_id, raw)
    try:
        async for d in client.paginate(
            diffstat,
            params,
            fields=DIFFSTAT_FIELDS,
            cache="immutable" if params or closed else "listing",  # a commit pair never changes
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
            cache=mode,
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


async def pull_request_files(ctx: ToolContext, args: PullRequestFiles) -> ToolResult:
    """Each PR's diffstat (the PR endpoint, which redirects to the repository diffstat of its revspec);
    a PR Bitbucket does not know becomes a gap, the others are kept."""
    client = ctx.client
    records: list[FileChangeRecord] = []
    notes: list[str] = []
    gaps: list[str] = []
    for pr_id in dict.fromkeys(args.pr_ids):
        files: list[FileChangeRecord] = []
        try:
            async for d in client.paginate(
                client.repo_path(args.repo, "pullrequests", pr_id, "diffstat"),
                fields=DIFFSTAT_FIELDS,
                max_items=MAX_FILES + 1,
            ):
                record = readable(
                    ctx,
                    f"the diffstat of PR #{pr_id} in {args.repo}",
                    functools.partial(file_change_record, ctx.workspace, args.repo, f"pr{pr_id}"),
                    d,
                )
                if record is not None:
                    files.append(record.model_copy(update={"pr_id": pr_id}))
        except NotFound:
            gaps.append(f"PR #{pr_id} not found in {args.repo}")
            continue
        if len(files) > MAX_FILES:
            files = files[:MAX_FILES]
            notes.append(f"PR #{pr_id}: more than {MAX_FILES} files changed; list cut")
        added = sum(f.lines_added for f in files)
        removed = sum(f.lines_removed for f in files)
        notes.append(f"PR #{pr_id}: {len(files)} file(s), +{added} -{removed} lines")
        records += files
    return ToolResult(tool="pull_request_files", records=records, notes=notes, gaps=gaps)


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
    found = [
        raw
        async for raw in ctx.client.paginate(
            ctx.client.repo_path(repo, "pullrequests"),
            params,
            fields=PR_FIELDS,
            pagelen=50,
            max_items=max_items,
        )
    ]
    for raw in found:
        remember(ctx, repo, raw)
    return found


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
            recs = read_all(
                ctx,
                f"pull requests from {args.repo}",
                lambda r: pr_record(ctx.workspace, args.repo, r),
                data["values"],
            )
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
    recs = read_all(
        ctx,
        f"pull requests from {args.repo}",
        lambda r: pr_record(ctx.workspace, args.repo, r),
        found.values(),
    )
    return ToolResult(
        tool="pull_requests_for_commit", records=recs, notes=notes, truncated=truncated and not recs
    )
