"""Slots: each tool argument the rules planner fills from the question, keyed by the argument's name.

`SLOTS["reviewer"]` fills every tool's `reviewer` argument; a key `"tool.arg"` overrides it for one tool
(`"list_commits.message_contains"`). The table's rows never name their arguments: `fill` asks the slot
of each argument the row's tool has, so the slots are exactly the tools' arguments, and a tool argument
with a slot is applied wherever that tool is called. A slot returns None when the question says nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bbscout.agent.planners.draft import Draft
from bbscout.tools.args import TOOL_ARGS, DeploymentStatus, PullRequestState

__all__ = ["SLOTS", "Slot", "fill", "pr_states"]

Slot = Callable[[Draft, frozenset[str]], Any]
STALE_LIMIT = 500
PR_LIST_LIMIT = 200
PATH_SCAN_BOUNDED = 200

# pipeline-result words → deployment outcomes ("any deploys fail?": FAILED)
_DEPLOY_STATUS: dict[str, DeploymentStatus] = {
    "FAILED": "FAILED",
    "ERROR": "FAILED",
    "STOPPED": "STOPPED",
    "SUCCESSFUL": "SUCCESSFUL",
}


def _first(items: list[str]) -> str | None:
    return items[0] if items else None


def pr_states(d: Draft, f: frozenset[str]) -> list[PullRequestState]:
    """The states asked for; none said: recent activity or a selective filter → any state, else OPEN."""
    u = d.u
    states: list[PullRequestState] = list(u.pr_states)
    if "merged_prs" in f and not states:
        states = ["MERGED"]  # "what did Priya merge?"
    if u.awaiting_review:
        states = ["OPEN"]
    if not states:
        any_state = {"ask:recent", "ask:latest", "window", "people", "text", "path", "pick"}
        states = ["OPEN", "MERGED", "DECLINED"] if any_state & f else ["OPEN"]
    return states


def _pr_time_field(d: Draft, f: frozenset[str]) -> str | None:
    """ "PRs opened this week": the window is on creation (closed-only lists are timed by their close).
    "The latest PR" is the one opened last, unless the question says "updated" or "active"."""
    closed_only = set(pr_states(d, f)) <= {"MERGED", "DECLINED", "SUPERSEDED"}
    if "pick" in f and not closed_only and "updated" not in f:
        return "created_on"
    return "created_on" if d.window is not None and not closed_only and "created" in f else None


def _source_branch(d: Draft, f: frozenset[str]) -> str | None:
    return d.u.branch if "from_branch" in f else None


def _destination_branch(d: Draft, f: frozenset[str]) -> str | None:
    return d.u.branch if d.u.branch and "from_branch" not in f else None


def _commit_branch(d: Draft, f: frozenset[str]) -> str | None:
    return d.u.branch if d.u.branch and not d.u.default_branch else None


def _entered_branch(d: Draft, f: frozenset[str]) -> str | None:
    """ "landed on / merged to main": when a commit entered the branch (not with a path filter, which has
    no first-parent chain)."""
    return "entered_branch" if "landed" in f and not d.u.paths else None


def _deployment_statuses(d: Draft, f: frozenset[str]) -> list[DeploymentStatus] | None:
    if "rollback" in f:
        return None
    statuses: list[DeploymentStatus] = list(dict.fromkeys(_DEPLOY_STATUS[r] for r in d.u.results))
    if d.u.in_progress:
        statuses.append("IN_PROGRESS")
    return statuses or None


def _branch_like(d: Draft, f: frozenset[str]) -> list[str] | None:
    """ "the renovate nestjs branch" (words its name holds), "the renovate branches" (a prefix)."""
    u = d.u
    return list(u.branch_words) or ([u.branch_prefix] if u.branch_prefix and not u.branch else None)


def _branch_name(d: Draft, f: frozenset[str]) -> str | None:
    u = d.u
    return (u.branch if u.branch and not u.default_branch else None) or u.branch_prefix


def _path_scan(d: Draft) -> int | None:
    """PRs touching a path: a scope bounded by one repository or a window is scanned whole (up to the
    tool's maximum); the whole workspace over all time keeps the tool's default, and says how far it
    looked."""
    if not d.u.paths:
        return None
    bounded = (d.repos is not None and len(d.repos) == 1) or d.window is not None
    return PATH_SCAN_BOUNDED if bounded else None


def _since(d: Draft, f: frozenset[str]) -> Any:
    return d.window.start if d.window else None


def _until(d: Draft, f: frozenset[str]) -> Any:
    return d.window.end if d.window else None


SLOTS: dict[str, Slot] = {
    # where
    "repos": lambda d, f: d.repos,
    "branch": lambda d, f: d.u.branch,
    "branch_like": _branch_like,
    "list_commits.branch": _commit_branch,
    "destination_branch": _destination_branch,
    "source_branch": _source_branch,
    "path": lambda d, f: _first(d.u.paths),
    "find": lambda d, f: list(d.u.file_words) or None,
    "path_scan_limit": lambda d, f: _path_scan(d),
    "environment": lambda d, f: d.u.environment,
    # who
    "author": lambda d, f: _first(d.u.authors),
    "reviewer": lambda d, f: _first(d.u.reviewers),
    "approver": lambda d, f: _first(d.u.approvers),
    "participant": lambda d, f: _first(d.u.participants),
    # what state
    "results": lambda d, f: list(d.u.results) or None,
    "in_progress": lambda d, f: d.u.in_progress,
    "trigger": lambda d, f: d.u.trigger,
    "states": pr_states,
    "awaiting_review": lambda d, f: d.u.awaiting_review,
    "statuses": _deployment_statuses,
    "pr_id": lambda d, f: d.u.pr_numbers[0] if d.u.pr_numbers else None,
    # text
    "text": lambda d, f: _first(d.u.texts),
    "message_contains": lambda d, f: _first(d.u.texts),
    # when
    "since": _since,
    "until": _until,
    "list_pull_requests.time_field": _pr_time_field,
    "list_commits.time_field": _entered_branch,
    "merges_only": lambda d, f: "merge_commits" in f,
    # how many, which one
    "pick": lambda d, f: d.u.pick,
    "limit": lambda d, f: d.u.count,
    "list_pull_requests.limit": lambda d, f: d.u.count or (None if d.u.pick else PR_LIST_LIMIT),
    # names
    "list_branches.name_contains": _branch_name,
    "exclude_main": lambda d, f: "pick" in f and not d.u.branch,  # "the newest branch": a work branch
    "list_repositories.name_contains": lambda d, f: d.u.name_filter,
    # what to include
    "include_diff": lambda d, f: bool({"ask:diff", "ask:changes"} & f),
    "include_comments": lambda d, f: "ask:comments" in f,
    "definitions_only": lambda d, f: "definition" in f and "usage" not in f and bool(d.u.symbols),
}


def fill(tool: str, d: Draft, f: frozenset[str], fixed: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every argument of `tool` that the row fixes or a slot fills (None/False/[] dropped)."""
    args: dict[str, Any] = dict(fixed or {})
    for name in TOOL_ARGS[tool].model_fields:
        if name in args:
            continue
        slot = SLOTS.get(f"{tool}.{name}") or SLOTS.get(name)
        if slot is None:
            continue
        value = slot(d, f)
        if value not in (None, False, []):
            args[name] = value
    return args
