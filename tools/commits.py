"""Commit tools: list_commits, get_commit, commits_between.

`/commits/{branch}` is newest first with iterator pagination and no server-side date, author or
message filter, so the window is an early stop on commit date and the author and message matches
are client-side, bounded per repository. "Landed on / merged to main in a window" is judged by when
a commit entered the branch's first-parent history (`tools.history`), not by its own date.
"Merged to main" has three shapes in Bitbucket: true merge commits (≥2 parents), commits whose
message says "Merged in X (pull request #N)", and squash/fast-forward merges that look like plain
commits; the last kind is found by matching MERGED pull requests' `merge_commit` hashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bbscout.tools import links
from bbscout.tools.args import CommitsBetween, GetCommit, ListCommits, PullRequestCommits
from bbscout.tools.bitbucket import BitbucketError, NotFound
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
from bbscout.tools.evidence import CommitRecord, FileChangeRecord, ToolResult, commit_ref
from bbscout.tools.history import FirstParentChain, assign_entries
from bbscout.tools.pick import pick_one, plural, repositories, wanted
from bbscout.tools.pullrequests import DIFFSTAT_FIELDS, file_change_record, merged_prs
from bbscout.tools.redact import redact
from bbscout.tools.resolve import Person, PersonFilter, person_from_account, person_from_raw
from bbscout.tools.shapes import read_all, readable

__all__ = [
    "COMMIT_FIELDS",
    "commit_record",
    "commits_between",
    "commits_in_range",
    "diffstat_files",
    "get_commit",
    "list_commits",
    "pr_id_from_message",
    "pull_request_commits",
]

_FIELDS = (
    "hash",
    "date",
    "message",
    "author.raw",
    "author.user.display_name",
    "author.user.nickname",
    "parents.hash",
)
COMMIT_FIELDS = ",".join(f"values.{f}" for f in _FIELDS)
ONE_COMMIT_FIELDS = ",".join(_FIELDS)
MAX_FILES = 200
MAX_MISSING_MERGES = 10
_HASH = re.compile(r"[0-9a-fA-F]{7,40}")  # a commit hash, not a branch that moves
MAX_SCAN = 2000  # commits read from one repository's branch listing
MAX_SCAN_FANOUT = 500  # per repository when several are searched
MAX_ENTERED = 1000  # commits read for the merges of an entered-branch window

_PR_IN_MESSAGE = re.compile(
    r"(?i)(?:merged in .*?\(pull request #(\d+)\)|\bpull request #(\d+)|\(#(\d+)\)\s*$)"
)


def pr_id_from_message(message: str) -> int | None:
    """The PR number a merge message names: "Merged in feat/x (pull request #12)" → 12."""
    first = (message or "").strip().splitlines()[0] if (message or "").strip() else ""
    for text in (first, message or ""):
        m = _PR_IN_MESSAGE.search(text)
        if m:
            return int(next(g for g in m.groups() if g))
    return None


def _author(raw: dict[str, Any]) -> str:
    name = dig(raw, "author", "user", "display_name")
    if name:
        return str(name)
    raw_author = str(dig(raw, "author", "raw", default="?"))
    return re.sub(r"\s*<[^>]*>\s*$", "", raw_author) or raw_author


def commit_record(ws: str, repo: str, raw: dict[str, Any], *, branch: str | None = None) -> CommitRecord:
    """A `commit` JSON object (possibly trimmed) → CommitRecord (message redacted and bounded)."""
    sha = str(raw.get("hash") or "")
    message = str(raw.get("message") or "")
    parents = [str(p.get("hash")) for p in raw.get("parents") or [] if p.get("hash")]
    pr_id = (
        pr_id_from_message(message) if (len(parents) > 1 or re.search(r"(?i)^merged in ", message)) else None
    )
    author = redact(_author(raw))
    return CommitRecord(
        ref=commit_ref(repo, sha),
        repo=repo,
        url=links.commit_url(ws, repo, sha),
        title=f"{sha[:12]} {one_line(message, 140)} ({author})",
        hash=sha,
        author=author,
        date=parse_dt(raw.get("date")) or EPOCH,
        message=clip(message, 2000),
        parents=parents,
        is_merge=len(parents) > 1,
        branch=redact(branch) if branch else None,
        pr_id=pr_id,
    )


def commit_person(raw: dict[str, Any]) -> Person:
    """The commit's author as a Person: the linked account when there is one, with the raw email."""
    from_raw = person_from_raw(str(dig(raw, "author", "raw", default="")))
    user = dig(raw, "author", "user")
    if isinstance(user, dict) and user.get("display_name"):
        return person_from_account(user).model_copy(update={"email": from_raw.email})
    return from_raw


@dataclass
class _Scope:
    """What one repository's listing needs besides the arguments: its branch, bounds and filters."""

    args: ListCommits
    branch: str
    want: int  # matches to collect (1 for pick=newest)
    max_scan: int  # commits read at most
    who: PersonFilter | None
    people: dict[str, Person]  # record ref → author, for the author filter's final pass

    def keeps(self, raw: dict[str, Any]) -> bool:
        """Message and (provisionally) author filters over a raw commit."""
        text = self.args.message_contains
        if text and text.strip().lower() not in str(raw.get("message") or "").lower():
            return False
        return self.who is None or self.who.offer([commit_person(raw)])

    def record(self, ctx: ToolContext, repo: str, raw: dict[str, Any]) -> CommitRecord:
        rec = commit_record(ctx.workspace, repo, raw, branch=self.branch)
        self.people[rec.ref] = commit_person(raw)
        return rec


async def _by_date(ctx: ToolContext, repo: str, scope: _Scope) -> tuple[list[CommitRecord], list[str], bool]:
    """Commits on the branch in a window on their own date (newest first, early stop at `since`)."""
    client, args, branch = ctx.client, scope.args, scope.branch
    params: list[tuple[str, Any]] = []
    if args.path:
        params.append(("path", args.path))
    since = args.since

    def older(item: dict[str, Any]) -> bool:
        date = parse_dt(item.get("date"))
        return since is not None and date is not None and date < since

    notes: list[str] = []
    records: list[CommitRecord] = []
    listed: list[dict[str, Any]] = []
    truncated = False
    label = f"commits from {repo}"
    scanned = 0
    # For merges_only we must see every commit in the window (squash merges look like plain
    # commits); otherwise stop as soon as `want` matches are in.
    async for raw in client.paginate(
        client.repo_path(repo, "commits", branch),
        params,
        fields=COMMIT_FIELDS,
        stop=older,
        max_items=scope.max_scan,
    ):
        scanned += 1
        date = parse_dt(raw.get("date"))
        if args.until is not None and date is not None and date > args.until:
            continue
        if not scope.keeps(raw):
            continue
        listed.append(raw)
        if not args.merges_only:
            rec = readable(ctx, label, lambda r: scope.record(ctx, repo, r), raw)
            if rec is not None:
                records.append(rec)
            if len(records) > scope.want:
                truncated = True
                break
        elif since is None and len(listed) >= 1000:
            truncated = True
            notes.append("no `since`: read the newest 1000 commits only")
            break
    if scanned >= scope.max_scan and not truncated:
        truncated = True
        notes.append(f"{repo}: read the newest {scanned} commits on {redact(branch)} only")
    if args.merges_only:
        prs = await merged_prs(ctx, repo, destination=branch, since=since, until=None, max_items=100)
        by_merge = {
            str(dig(p, "merge_commit", "hash", default="")): p for p in prs if dig(p, "merge_commit", "hash")
        }
        methods = {"parents": 0, "message": 0, "merged_pr": 0}
        for raw in listed:
            rec = scope.record(ctx, repo, raw)
            pr = by_merge.get(rec.hash) or next(
                (p for h, p in by_merge.items() if h and rec.hash.startswith(h)), None
            )
            if rec.is_merge:
                methods["parents"] += 1
            elif rec.pr_id is not None:
                methods["message"] += 1
            elif pr is not None:
                methods["merged_pr"] += 1
            else:
                continue
            if pr is not None and rec.pr_id is None:
                rec.pr_id = int(pr["id"])
            records.append(rec)
        # Merged PRs in the window whose merge commit was not listed (e.g. a fast-forward merge
        # keeps the original, older commit date): fetch those commits, bounded.
        found = {r.hash for r in records}
        missing = [
            p
            for p in prs
            if (h := str(dig(p, "merge_commit", "hash", default="")))
            and not any(x.startswith(h) for x in found)
            and (args.until is None or (parse_dt(p.get("updated_on")) or EPOCH) <= args.until)
        ]
        if args.author:
            missing = []  # the PR author need not be the commit author; do not guess
        for p in missing[:MAX_MISSING_MERGES]:
            h = str(dig(p, "merge_commit", "hash"))
            try:
                raw = await client.get_json(
                    client.repo_path(repo, "commit", h), fields=ONE_COMMIT_FIELDS, cache="immutable"
                )
            except BitbucketError as err:
                if err.status == 401:
                    raise
                continue
            if not scope.keeps(raw):
                continue
            rec = scope.record(ctx, repo, raw)
            rec.pr_id = int(p["id"])
            records.append(rec)
            methods["merged_pr"] += 1
        if len(missing) > MAX_MISSING_MERGES:
            truncated = True
        notes.append(
            f"merges found by: ≥2 parents {methods['parents']}, 'Merged in … (pull request #N)' message "
            f"{methods['message']}, merge_commit of a MERGED pull request to {redact(branch)} "
            f"(squash/fast-forward) {methods['merged_pr']}"
        )
        records.sort(key=lambda r: r.date, reverse=True)
        if len(records) > scope.want:
            truncated = True
    return records, notes, truncated


async def _by_entry(ctx: ToolContext, repo: str, scope: _Scope) -> tuple[list[CommitRecord], list[str], bool]:
    """Commits that entered the branch's first-parent history in the window (see `tools.history`).

    Reads the branch newest first only until the first chain commit older than `since` (the state
    of the branch before the window), then, when the window holds merges, the commits between the
    two states in one include/exclude listing: a merged commit authored long before the window is
    deep in a date-sorted listing but is exactly what "merged yesterday" must include.
    """
    client, args, branch = ctx.client, scope.args, scope.branch
    since, until = args.since, args.until
    chain = FirstParentChain()
    read: dict[str, dict[str, Any]] = {}
    top: int | None = None
    bottom: dict[str, Any] | None = None

    def stop(item: dict[str, Any]) -> bool:
        nonlocal top, bottom
        if not chain.see(item):
            return False
        index, date = len(chain.chain) - 1, parse_dt(item.get("date")) or EPOCH
        if top is None and (until is None or date <= until):
            top = index
        if top is not None and (date < since if since is not None else index - top >= scope.want):
            bottom = item
            return True
        return False

    async for raw in client.paginate(
        client.repo_path(repo, "commits", branch), fields=COMMIT_FIELDS, stop=stop, max_items=scope.max_scan
    ):
        read[str(raw.get("hash"))] = raw
    notes: list[str] = []
    capped = bottom is None and len(read) >= scope.max_scan
    if capped:
        notes.append(f"{repo}: read the newest {len(read)} commits on {redact(branch)} only")
    if top is None:
        return [], notes, capped
    window = chain.chain[top : -1 if bottom is not None else None]
    merges = sum(len(c.get("parents") or []) > 1 for c in window)
    entered = read
    cut = False
    if merges and bottom is not None and window:
        params = [("include", str(window[0]["hash"])), ("exclude", str(bottom["hash"]))]
        entered = {}
        async for raw in client.paginate(
            client.repo_path(repo, "commits"), params, fields=COMMIT_FIELDS, max_items=MAX_ENTERED + 1
        ):
            entered[str(raw.get("hash"))] = raw
        cut = len(entered) > MAX_ENTERED
    entries = assign_entries(window, entered)
    merged_by: dict[str, int] = {}
    if args.merges_only:
        prs = await merged_prs(ctx, repo, destination=branch, since=since, until=None, max_items=100)
        merged_by = {
            str(dig(p, "merge_commit", "hash")): int(p["id"]) for p in prs if dig(p, "merge_commit", "hash")
        }
    records: list[CommitRecord] = []
    for sha, entry in entries.items():
        raw = entered.get(sha) or read.get(sha)
        if raw is None or not scope.keeps(raw):
            continue
        rec = scope.record(ctx, repo, raw)
        if args.merges_only:
            pr = next((pid for h, pid in merged_by.items() if h and sha.startswith(h)), None)
            if sha != entry.via or not (rec.is_merge or rec.pr_id is not None or pr is not None):
                continue
            rec.pr_id = rec.pr_id or pr
        rec.entered_on, rec.entered_via = entry.on, entry.via
        records.append(rec)
    records.sort(key=lambda r: (r.entered_on or EPOCH, r.date), reverse=True)
    notes.append(
        f"{repo}: {len(window)} first-parent commit(s) of {redact(branch)} in the window ({merges} merge(s)) "
        f"brought in {len(entries)} commit(s); times are when each entered {redact(branch)} "
        "(a merge's time for the commits it brought in)"
    )
    if cut:
        notes.append(f"{repo}: more than {MAX_ENTERED} commits entered in the window; list cut")
    return records, notes, capped or cut or len(records) > scope.want


async def list_commits(ctx: ToolContext, args: ListCommits) -> ToolResult:
    single = args.repo is not None
    slugs = [args.repo] if args.repo is not None else await repo_slugs(ctx, args.repos)
    want = wanted(args.pick, args.limit)
    who = PersonFilter(args.author, "author") if args.author and args.author.strip() else None
    people: dict[str, Person] = {}
    notes: list[str] = []
    cut: list[str] = []
    by_entry = args.time_field == "entered_branch"

    async def per_repo(slug: str, sink: list[CommitRecord]) -> None:
        branch = args.branch or await main_branch(ctx, slug)
        scope = _Scope(args, branch, want, MAX_SCAN if len(slugs) == 1 else MAX_SCAN_FANOUT, who, people)
        try:
            recs, repo_notes, truncated = await (_by_entry if by_entry else _by_date)(ctx, slug, scope)
        except NotFound:
            if single or not args.branch:
                raise
            notes.append(f"{slug}: no branch {redact(args.branch)!r}")
            return
        sink.extend(recs)
        notes.extend(repo_notes)
        if truncated:
            cut.append(slug)

    out = await fan_out(ctx, slugs, per_repo)
    records = [r for rs in out.results.values() for r in rs]
    if who is not None:
        who.settle()
        records = [r for r in records if who.keeps([people[r.ref]])]
        note, gap = who.describe()
        notes.append(note)
        if gap:
            out.gaps.append(gap)
    if by_entry:
        records.sort(key=lambda r: (r.entered_on or EPOCH, r.date), reverse=True)
    elif not single or args.merges_only:
        records.sort(key=lambda r: r.date, reverse=True)
    if not single:
        notes.insert(0, f"searched {plural(len(slugs), 'repository', 'repositories')}")
    field = "entered_on (when it entered the branch)" if by_entry else "commit date"
    chosen, rule = pick_one(
        records,
        args.pick,
        lambda r: (r.entered_on or EPOCH) if by_entry else r.date,
        field=field,
        among=_among(args, slugs),
        complete=not cut,
    )
    notes.extend(rule)
    more = args.pick is None and (bool(cut) or len(records) > args.limit)
    if more:
        notes.append(f"more commits matched than the limit of {args.limit}; narrow the window")
    truncated = out.truncated or more
    return ToolResult(
        tool="list_commits", records=chosen[: args.limit], notes=notes, gaps=out.gaps, truncated=truncated
    )


def _among(args: ListCommits, slugs: list[str]) -> str:
    parts = [
        "merges" if args.merges_only else "commits",
        f"on {redact(args.branch) if args.branch else 'the main branch'}",
    ]
    if args.author:
        parts.append(f"by {args.author!r}")
    if args.message_contains:
        parts.append(f"mentioning {args.message_contains!r}")
    if args.path:
        parts.append(f"touching {args.path!r}")
    parts.append("in " + repositories(slugs))
    return " ".join(parts)


async def _statuses(ctx: ToolContext, repo: str, sha: str) -> list[str]:
    return [
        f"{s.get('state')} {redact(str(s.get('name') or s.get('key') or ''))}".strip()
        async for s in ctx.client.paginate(
            ctx.client.repo_path(repo, "commit", sha, "statuses"),
            fields="values.key,values.name,values.state",
            max_items=20,
        )
    ]


async def diffstat_files(
    ctx: ToolContext, repo: str, spec: str, rev: str
) -> tuple[list[FileChangeRecord], bool]:
    """The files changed by `spec` (a commit against its first parent, or `A..B`), at most MAX_FILES, and
    whether the list was cut. Between hashes a diffstat never changes: it is kept for good."""
    files = [
        file_change_record(ctx.workspace, repo, rev, d)
        async for d in ctx.client.paginate(
            ctx.client.repo_path(repo, "diffstat", spec),
            fields=DIFFSTAT_FIELDS,
            cache="immutable",
            max_items=MAX_FILES + 1,
        )
    ]
    return files[:MAX_FILES], len(files) > MAX_FILES


async def get_commit(ctx: ToolContext, args: GetCommit) -> ToolResult:
    client = ctx.client
    raw = await client.get_json(
        client.repo_path(args.repo, "commit", args.commit), fields=ONE_COMMIT_FIELDS, cache="immutable"
    )
    rec = commit_record(ctx.workspace, args.repo, raw)
    if args.statuses:
        rec.statuses = await _statuses(ctx, args.repo, rec.hash)
    files, cut = await diffstat_files(ctx, args.repo, rec.hash, rec.hash) if args.files else ([], False)
    notes = [f"more than {MAX_FILES} files changed; list cut"] if cut else []
    return ToolResult(tool="get_commit", records=[rec, *files], notes=notes, truncated=cut)


async def commits_in_range(
    ctx: ToolContext, repo: str, include: str, exclude: str, limit: int
) -> tuple[list[CommitRecord], bool]:
    """Commits reachable from `include` but not `exclude`, newest first, at most `limit`, and whether the
    list was cut. Between two hashes the answer never changes: it is kept for good."""
    client = ctx.client
    by_hash = all(_HASH.fullmatch(ref) for ref in (include, exclude))  # not branch names
    raws = [
        raw
        async for raw in client.paginate(
            client.repo_path(repo, "commits"),
            [("include", include), ("exclude", exclude)],
            fields=COMMIT_FIELDS,
            max_items=limit + 1,
            cache="immutable" if by_hash else "listing",
        )
    ]
    commits = read_all(
        ctx, f"commits from {repo}", lambda r: commit_record(ctx.workspace, repo, r), raws[:limit]
    )
    return commits, len(raws) > limit


async def commits_between(ctx: ToolContext, args: CommitsBetween) -> ToolResult:
    commits, more = await commits_in_range(ctx, args.repo, args.include, args.exclude, args.limit)
    # Bitbucket's A..B puts the side with the changes first (the reverse of git).
    spec = f"{args.include}..{args.exclude}"
    files, cut = await diffstat_files(ctx, args.repo, spec, args.include)  # file refs at the newer side
    notes = [f"{len(commits)} commit(s) in {redact(args.include)} not in {redact(args.exclude)}"]
    truncated = more or cut
    if more:
        notes.append(f"more than {args.limit} commits; list cut")
    if cut:
        notes.append(f"more than {MAX_FILES} files changed; list cut")
    return ToolResult(tool="commits_between", records=[*commits, *files], notes=notes, truncated=truncated)


async def pull_request_commits(ctx: ToolContext, args: PullRequestCommits) -> ToolResult:
    """The PR's own commits (`/pullrequests/{id}/commits`), each marked with the PR. Bitbucket lists none
    when the source branch was deleted: then the note says so instead of an empty answer standing alone."""
    client = ctx.client
    raws = [
        raw
        async for raw in client.paginate(
            client.repo_path(args.repo, "pullrequests", args.pr_id, "commits"),
            fields=COMMIT_FIELDS,
            max_items=args.limit + 1,
        )
    ]
    commits = read_all(
        ctx,
        f"commits of PR #{args.pr_id} in {args.repo}",
        lambda r: commit_record(ctx.workspace, args.repo, r).model_copy(update={"pr_id": args.pr_id}),
        raws[: args.limit],
    )
    notes = [f"{len(commits)} commit(s) in PR #{args.pr_id}"]
    if not raws:
        notes.append("Bitbucket lists no commits for this PR (its source branch may have been deleted)")
    if len(raws) > args.limit:
        notes.append(f"more than {args.limit} commits; list cut")
    return ToolResult(
        tool="pull_request_commits", records=commits, notes=notes, truncated=len(raws) > args.limit
    )
