"""A change set: the commits between two deployed hashes, the pull requests that merged them, their files.

Everything here is keyed by hashes, so it never changes and the shared store keeps it: the commits
between two hashes, a merge commit's diffstat. Pull requests are named by their merge messages
("Merged in feat/x (pull request #12)") and by ancestry (a merge's second-parent side is its PR's
commits), then looked up in what this run's listings already read; only what is still unknown costs a
request: one listing of merged PRs when commits are in no named PR (squash or fast-forward merges) or
several PRs are missing, a GET (kept once merged) for a single missing one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Literal

from bbscout.tools.bitbucket import BitbucketError, NotFound
from bbscout.tools.commits import MAX_FILES, commits_in_range, diffstat_files
from bbscout.tools.context import ToolContext, dig
from bbscout.tools.evidence import CommitRecord, FileChangeRecord, PullRequestRecord
from bbscout.tools.pullrequests import ONE_PR_FIELDS, merged_prs, pr_record, settled_pull_request

__all__ = ["ChangeSet", "FilesMode", "read_change_set"]

FilesMode = Literal["change_set", "per_pull_request", "none"]
MAX_COMMITS = 100
MAX_PR_DETAILS = 10  # pull requests looked up one by one, or read for their own files, per change set


@dataclass
class ChangeSet:
    """What `include` has that `exclude` has not (a rollback: the reverse, `rolled_back`)."""

    commits: list[CommitRecord]
    pull_requests: list[PullRequestRecord]
    files: list[FileChangeRecord]
    rolled_back: bool = False
    truncated: bool = False
    notes: list[str] = field(default_factory=list)


def _reachable(start: list[str], within: dict[str, CommitRecord]) -> set[str]:
    """Hashes reachable from `start` without leaving the change set."""
    seen: set[str] = set()
    stack = [h for h in start if h in within]
    while stack:
        sha = stack.pop()
        if sha not in seen:
            seen.add(sha)
            stack.extend(p for p in within[sha].parents if p in within)
    return seen


def attribute(commits: list[CommitRecord]) -> None:
    """Give each commit a PR merge brought in (its second parents' side, not its first parent's) that PR."""
    within = {c.hash: c for c in commits}
    for merge in sorted(commits, key=lambda c: c.date):
        if not (merge.is_merge and merge.pr_id):
            continue
        brought = _reachable(merge.parents[1:], within) - _reachable(merge.parents[:1], within)
        for sha in brought:
            if within[sha].pr_id is None:
                within[sha].pr_id = merge.pr_id


def _full_hash(short: object, commits: list[CommitRecord]) -> str | None:
    """A PR's merge commit (often 12 characters) as the full hash of a commit in the change set."""
    if not isinstance(short, str) or not short:
        return None
    return next((c.hash for c in commits if c.hash.startswith(short) or short.startswith(c.hash)), None)


async def _pull_requests(
    ctx: ToolContext, repo: str, commits: list[CommitRecord], notes: list[str]
) -> list[PullRequestRecord]:
    """The PRs that merged `commits`, cheapest source first (see the module docstring)."""
    attribute(commits)
    ids = list(dict.fromkeys(c.pr_id for c in commits if c.pr_id))
    raws = {pid: ctx.pull_requests[(repo, pid)] for pid in ids if (repo, pid) in ctx.pull_requests}
    loose = [c for c in commits if c.pr_id is None and not c.is_merge]
    if loose or len(set(ids) - raws.keys()) > 1:
        try:
            since = min(c.date for c in commits)
            merged = await merged_prs(ctx, repo, destination=None, since=since, max_items=100)
        except BitbucketError as err:
            if err.status == 401:
                raise
            merged = []
            notes.append(f"merged pull requests unavailable: {err.message}")
        for raw in merged:
            merge = _full_hash(dig(raw, "merge_commit", "hash"), commits)
            if merge is None or not isinstance(raw.get("id"), int):
                continue
            raws[raw["id"]] = raw
            for commit in commits:
                if commit.hash == merge and commit.pr_id is None:
                    commit.pr_id = raw["id"]
        attribute(commits)
        ids = list(dict.fromkeys(c.pr_id for c in commits if c.pr_id))
    missing = [pid for pid in ids if pid not in raws]
    if len(missing) > MAX_PR_DETAILS:
        notes.append(f"{len(missing) - MAX_PR_DETAILS} more pull request(s) not fetched")
    for pid in missing[:MAX_PR_DETAILS]:
        try:
            raws[pid] = await ctx.client.get_json(
                ctx.client.repo_path(repo, "pullrequests", pid),
                fields=ONE_PR_FIELDS,
                settled=settled_pull_request,
            )
        except NotFound:
            notes.append(f"PR #{pid} named in a merge message was not found")
    return [pr_record(ctx.workspace, repo, raws[pid], description=True) for pid in ids if pid in raws]


async def _own_files(
    ctx: ToolContext, repo: str, prs: list[PullRequestRecord], commits: list[CommitRecord], notes: list[str]
) -> tuple[list[FileChangeRecord], bool]:
    """Each PR's own files: its merge commit against its first parent (one diffstat each, kept for good)."""
    merges = [(pr, _full_hash(pr.merge_commit, commits)) for pr in prs]
    wanted = [(pr, sha) for pr, sha in merges if sha][:MAX_PR_DETAILS]
    if len(wanted) < len(prs):
        notes.append(f"the own files of {len(prs) - len(wanted)} pull request(s) were not read")
    found = await asyncio.gather(
        *(diffstat_files(ctx, repo, sha, sha) for _, sha in wanted), return_exceptions=True
    )
    files: list[FileChangeRecord] = []
    cut = False
    for (pr, _), result in zip(wanted, found, strict=True):
        if isinstance(result, BitbucketError) and result.status != 401:
            notes.append(f"files of PR #{pr.id} unavailable: {result.message}")
        elif isinstance(result, BaseException):
            raise result
        else:
            files += result[0]
            cut = cut or result[1]
    return files, cut


async def read_change_set(
    ctx: ToolContext, repo: str, include: str, exclude: str, files: FilesMode
) -> ChangeSet:
    """The change set from `exclude` to `include` (the reverse when `include` is the older: a rollback)."""
    commits, more = await commits_in_range(ctx, repo, include, exclude, MAX_COMMITS)
    rolled_back = False
    if not commits:
        commits, more = await commits_in_range(ctx, repo, exclude, include, MAX_COMMITS)
        if commits:
            rolled_back, include, exclude = True, exclude, include
    notes = [f"more than {MAX_COMMITS} commits; list cut"] if more else []
    prs = await _pull_requests(ctx, repo, commits, notes) if commits else []
    changed: list[FileChangeRecord] = []
    cut = False
    if files == "per_pull_request" and prs:
        changed, cut = await _own_files(ctx, repo, prs, commits, notes)
        loose = sum(1 for c in commits if c.pr_id is None and not c.is_merge)
        if loose:
            notes.append(f"{loose} commit(s) in no pull request: their files are not listed")
    elif files != "none" and commits:
        # Bitbucket's A..B puts the side with the changes first (the reverse of git).
        changed, cut = await diffstat_files(ctx, repo, f"{include}..{exclude}", include)
    if cut:
        notes.append(f"more than {MAX_FILES} files changed; list cut")
    return ChangeSet(commits, prs, changed, rolled_back, more or cut, notes)
