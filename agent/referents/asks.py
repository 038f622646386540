"""What answering a follow-up about one object costs: nothing when the thread holds the answer, else the
one tool call that reads it.

Who opened, merged or triggered it, when, on which branch, with which result, release or commit: every
listing already holds these (zero requests). Approvals and reviewers (when the listing did not carry
them), comments, files, the diff, a PR's commits, the PR behind a commit, a failed run's step or log, what
a deployment shipped: one call each (`call_for`). "The build" of a pull request is its source branch's
newest pipeline (`hop_call`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bbscout.tools.evidence import (
    BranchRecord,
    CodeMatchRecord,
    CommitRecord,
    DeploymentRecord,
    Evidence,
    FileChangeRecord,
    FileContentRecord,
    PipelineRecord,
    PullRequestRecord,
    RepositoryRecord,
    StepRecord,
)

__all__ = ["Call", "call_for", "files_held", "hop_call", "steps_held"]

Call = tuple[str, dict[str, Any], str]  # tool, arguments, why
FAILED = ("FAILED", "ERROR")


def steps_held(pipeline: PipelineRecord, held: Sequence[Evidence]) -> list[StepRecord]:
    return [
        s
        for s in held
        if isinstance(s, StepRecord) and s.repo == pipeline.repo and s.build_number == pipeline.build_number
    ]


def files_held(record: Evidence, held: Sequence[Evidence]) -> list[FileChangeRecord]:
    """The files the thread holds for a PR (from its diffstat) or a commit."""
    files = [f for f in held if isinstance(f, FileChangeRecord) and f.repo == record.repo]
    if isinstance(record, PullRequestRecord):
        merge = (record.merge_commit or "")[:12]
        return [f for f in files if f.pr_id == record.id or (merge and f.rev.startswith(merge))]
    if isinstance(record, CommitRecord):
        return [f for f in files if f.rev and record.hash.startswith(f.rev[:12])]
    return []


def _pull_request(pr: PullRequestRecord, asks: set[str], held: Sequence[Evidence]) -> Call | None:
    if "commits" in asks:
        return "pull_request_commits", {"repo": pr.repo, "pr_id": pr.id}, f"the commits of {pr.ref}"
    needs_pr = (
        bool({"diff", "comments"} & asks)
        or (bool({"files", "shipped"} & asks) and not files_held(pr, held))
        or ("approvers" in asks and not pr.approved_by)
        or ("reviewers" in asks and not pr.reviewers)
        or not asks
    )
    if not needs_pr:
        return None
    args: dict[str, Any] = {"repo": pr.repo, "pr_id": pr.id}
    if "diff" in asks:
        args["include_diff"] = True
    if "comments" in asks:
        args["include_comments"] = True
    return "get_pull_request", args, f"{pr.ref}: its " + (", ".join(sorted(asks)) or "details")


def _pipeline(p: PipelineRecord, asks: set[str], held: Sequence[Evidence]) -> Call | None:
    steps = steps_held(p, held)
    failed = p.result in FAILED or p.result == "STOPPED"
    if {"files", "commits", "shipped"} & asks and p.commit:
        return "get_commit", {"repo": p.repo, "commit": p.commit}, f"the commit {p.ref} built"
    args: dict[str, Any] = {"repo": p.repo, "build_number": p.build_number}
    if p.uuid:
        args["uuid"] = p.uuid  # the thread holds the run: no lookup
    if "log" in asks:
        logged = any(s.log_tail for s in steps if s.result in FAILED)
        return None if logged else ("pipeline_failure", args, f"the log of {p.ref}")
    if "error" in asks and failed:
        explained = p.error_message or any(s.error_lines for s in steps if s.result in FAILED)
        return None if explained else ("pipeline_failure", args, f"why {p.ref} failed")
    if "failed_step" in asks and failed:
        return (
            None
            if steps
            else ("pipeline_failure", args | {"log": False, "tests": False}, f"the steps of {p.ref}")
        )
    if not asks:
        if failed and not steps:
            return "pipeline_failure", args, f"why {p.ref} failed"
        if not failed:
            return "get_pipeline", {"repo": p.repo, "build_number": p.build_number}, f"{p.ref} and its steps"
    return None


def call_for(record: Evidence, asks: Sequence[str], held: Sequence[Evidence] = ()) -> Call | None:
    """The one call that answers `asks` (none: its details) about `record`; None when `held` suffices."""
    wanted = set(asks)
    match record:
        case PullRequestRecord():
            return _pull_request(record, wanted, held)
        case PipelineRecord():
            return _pipeline(record, wanted, held)
        case DeploymentRecord():
            if wanted and not wanted & {"shipped", "commits", "prs", "files", "diff"}:
                return None
            env = (record.environment or "production").lower()
            args = {"repo": record.repo, "environment": env, "deployment_uuid": record.uuid}
            return "deployment_changes", args, f"what {record.ref} shipped"
        case CommitRecord():
            if "prs" in wanted:
                return (
                    "pull_requests_for_commit",
                    {"repo": record.repo, "commit": record.hash},
                    f"the PR of {record.ref}",
                )
            if wanted and (not wanted & {"files", "diff", "shipped"} or files_held(record, held)):
                return None
            return "get_commit", {"repo": record.repo, "commit": record.hash}, f"{record.ref} and its files"
        case BranchRecord():
            if wanted and "commits" not in wanted:
                return None
            return "list_commits", {"repo": record.repo, "branch": record.name}, f"commits on {record.name}"
        case CodeMatchRecord() | FileChangeRecord() | FileContentRecord():
            return "browse_source", {"repo": record.repo, "path": record.path, "ref": record.rev}, "the file"
        case RepositoryRecord():
            return "browse_source", {"repo": record.slug or record.repo}, "the repository"
    return None


def hop_call(record: Evidence) -> Call | None:
    """ "The build" of a pull request: the newest pipeline of its source branch."""
    if isinstance(record, PullRequestRecord) and record.source_branch:
        args = {"repos": [record.repo], "branch": record.source_branch, "pick": "newest"}
        return "list_pipelines", args, f"the newest build of {record.ref} ({record.source_branch})"
    return None
