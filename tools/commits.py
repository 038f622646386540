"""Commit tools: list_commits, get_commit, commits_between.

`/commits/{branch}` is newest first with iterator pagination and no server-side date or author
filter, so the window is an early stop on commit date and the author match is client-side.
"Merged to main" has three shapes in Bitbucket: true merge commits (≥2 parents), commits whose
message says "Merged in X (pull request #N)", and squash/fast-forward merges that look like plain
commits; the last kind is found by matching MERGED pull requests' `merge_commit` hashes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bbscout.tools import links
from bbscout.tools.args import CommitsBetween, GetCommit, ListCommits
from bbscout.tools.bitbucket import BitbucketError
from bbscout.tools.context import ToolContext, clip, dig, main_branch, one_line, parse_dt
from bbscout.tools.evidence import CommitRecord, FileChangeRecord, ToolResult, commit_ref
from bbscout.tools.pullrequests import DIFFSTAT_FIELDS, file_change_record, merged_prs
from bbscout.tools.redact import redact

__all__ = [
    "COMMIT_FIELDS",
    "commit_record",
    "commits_between",
    "get_commit",
    "list_commits",
    "pr_id_from_message",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIELDS = ("hash", "date", "message", "author.raw", "author.user.display_name", "parents.hash")
COMMIT_FIELDS = ",".join(f"values.{f}" for f in _FIELDS)
ONE_COMMIT_FIELDS = ",".join(_FIELDS)
MAX_FILES = 200
MAX_MISSING_MERGES = 10
_HASH = re.compile(r"[0-9a-fA-F]{7,40}")  # a commit hash, not a branch that moves

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


def _author_matches(raw: dict[str, Any], fragment: str | None) -> bool:
    if not fragment:
        return True
    needle = fragment.strip().lower()
    return any(
        needle in str(v).lower()
        for v in (
            dig(raw, "author", "raw", default=""),
            dig(raw, "author", "user", "display_name", default=""),
        )
    )


async def list_commits(ctx: ToolContext, args: ListCommits) -> ToolResult:
    client = ctx.client
    branch = args.branch or await main_branch(ctx, args.repo)
    params: list[tuple[str, Any]] = []
    if args.path:
        params.append(("path", args.path))
    since = args.since

    def older(item: dict[str, Any]) -> bool:
        date = parse_dt(item.get("date"))
        return since is not None and date is not None and date < since

    notes: list[str] = []
    records: list[CommitRecord] = []
    seen_hashes: set[str] = set()
    listed: list[dict[str, Any]] = []
    truncated = False
    # For merges_only we must see every commit in the window (squash merges look like plain
    # commits); otherwise stop as soon as `limit` matches are in.
    async for raw in client.paginate(
        client.repo_path(args.repo, "commits", branch),
        params,
        fields=COMMIT_FIELDS,
        stop=older,
        max_items=None if since else 2000,
    ):
        date = parse_dt(raw.get("date"))
        if args.until is not None and date is not None and date > args.until:
            continue
        if not _author_matches(raw, args.author):
            continue
        listed.append(raw)
        seen_hashes.add(str(raw.get("hash")))
        if not args.merges_only:
            records.append(commit_record(ctx.workspace, args.repo, raw, branch=branch))
            if len(records) > args.limit:
                truncated = True
                break
        elif since is None and len(listed) >= 1000:
            truncated = True
            notes.append("no `since`: read the newest 1000 commits only")
            break
    if args.merges_only:
        prs = await merged_prs(ctx, args.repo, destination=branch, since=since, until=None, max_items=100)
        by_merge = {
            str(dig(p, "merge_commit", "hash", default="")): p for p in prs if dig(p, "merge_commit", "hash")
        }
        methods = {"parents": 0, "message": 0, "merged_pr": 0}
        for raw in listed:
            rec = commit_record(ctx.workspace, args.repo, raw, branch=branch)
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
                    client.repo_path(args.repo, "commit", h), fields=ONE_COMMIT_FIELDS, cache="immutable"
                )
            except BitbucketError as err:
                if err.status == 401:
                    raise
                continue
            rec = commit_record(ctx.workspace, args.repo, raw, branch=branch)
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
        if len(records) > args.limit:
            truncated = True
    if truncated:
        notes.append(f"more commits matched than the limit of {args.limit}; narrow the window")
    return ToolResult(tool="list_commits", records=records[: args.limit], notes=notes, truncated=truncated)


async def _statuses(ctx: ToolContext, repo: str, sha: str) -> list[str]:
    return [
        f"{s.get('state')} {redact(str(s.get('name') or s.get('key') or ''))}".strip()
        async for s in ctx.client.paginate(
            ctx.client.repo_path(repo, "commit", sha, "statuses"),
            fields="values.key,values.name,values.state",
            max_items=20,
        )
    ]


async def _diffstat(ctx: ToolContext, repo: str, spec: str, rev: str) -> tuple[list[FileChangeRecord], bool]:
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
    rec.statuses = await _statuses(ctx, args.repo, rec.hash)
    files, cut = await _diffstat(ctx, args.repo, rec.hash, rec.hash)
    notes = [f"more than {MAX_FILES} files changed; list cut"] if cut else []
    return ToolResult(tool="get_commit", records=[rec, *files], notes=notes, truncated=cut)


async def commits_between(ctx: ToolContext, args: CommitsBetween) -> ToolResult:
    client = ctx.client
    params = [("include", args.include), ("exclude", args.exclude)]
    by_hash = all(_HASH.fullmatch(ref) for ref in (args.include, args.exclude))  # not branch names
    raws = [
        raw
        async for raw in client.paginate(
            client.repo_path(args.repo, "commits"),
            params,
            fields=COMMIT_FIELDS,
            max_items=args.limit + 1,
            cache="immutable" if by_hash else "listing",
        )
    ]
    commits = [commit_record(ctx.workspace, args.repo, raw) for raw in raws[: args.limit]]
    # Bitbucket's A..B puts the side with the changes first (the reverse of git).
    spec = f"{args.include}..{args.exclude}"
    files, cut = await _diffstat(ctx, args.repo, spec, args.include)  # file refs at the newer side
    notes = [f"{len(commits)} commit(s) in {redact(args.include)} not in {redact(args.exclude)}"]
    truncated = len(raws) > args.limit or cut
    if len(raws) > args.limit:
        notes.append(f"more than {args.limit} commits; list cut")
    if cut:
        notes.append(f"more than {MAX_FILES} files changed; list cut")
    return ToolResult(tool="commits_between", records=[*commits, *files], notes=notes, truncated=truncated)
