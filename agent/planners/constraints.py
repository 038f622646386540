"""Which of the question's constraints a plan applies: intake's reading of the question against the plan.

Both planners record the result in `Plan.constraints` (DESIGN "Contracts → Constraints"). A constraint
counts as applied when a step whose records are the answer carries it as an argument (for incidents,
any step: the whole evidence is the answer), when `Focus` makes the reporters filter by it, or when a
chat follow-up's filter does; values are compared, so "authored by Priya" is not applied by a step
filtering on someone else. What intake does not recognise (a reviewer, a label) cannot be recorded
here yet; the planner that reads it must add it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from bbscout.agent.focus import Constraint, ConstraintKind
from bbscout.agent.intake import RepoMention, Understanding
from bbscout.agent.plan import Plan
from bbscout.tools.args import TOOL_ARGS
from bbscout.tools.evidence import RepositoryRecord

__all__ = ["constraints_of"]

_BRANCH_ARGS = ("branch", "destination_branch", "source_branch", "ref", "name_contains")
_WINDOW_ARGS = ("since", "until", "stale_before")


class _Check:
    """The steps that make the answer, and how to say which of them applies a value."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        answer = plan.steps if plan.family == "incident" else [s for s in plan.steps if s.primary]
        self.filter = plan.focus.filter
        self.found: list[Constraint] = []

        # each step's arguments with the tool's defaults: a default (PRs: OPEN) filters as much as an argument
        self.args = [
            (s.tool, TOOL_ARGS[s.tool].model_validate(s.args).model_dump(mode="json")) for s in answer
        ]

    def by_arg(self, keys: Iterable[str], match: Callable[[Any], bool]) -> str | None:
        """`tool.arg` of the first answer step whose argument matches, else None."""
        for tool, args in self.args:
            for key in keys:
                value = args.get(key)
                if value not in (None, [], False) and match(value):
                    return f"{tool}.{key}"
        return None

    def add(self, kind: ConstraintKind, value: str, how: str | None, why_not: str) -> None:
        """Record a constraint; with no query at all, that is the reason it is not applied."""
        if how is None and not self.plan.steps and self.filter is None:
            why_not = "the plan runs no query" + (
                " (it asks which one is meant)" if self.plan.clarify else ""
            )
        self.record(kind, value, how, why_not)

    def record(self, kind: ConstraintKind, value: str, how: str | None, why_not: str) -> None:
        self.found.append(Constraint(kind=kind, value=value, applied=how is not None, how=how or why_not))


def _same(wanted: str) -> Callable[[Any], bool]:
    return lambda value: str(value).lower() == wanted.lower()


def _overlaps(wanted: Iterable[str]) -> Callable[[Any], bool]:
    wanted_set = set(wanted)
    return lambda value: bool(set(value if isinstance(value, list) else [value]) & wanted_set)


def constraints_of(
    u: Understanding,
    plan: Plan,
    *,
    repositories: Iterable[RepositoryRecord] = (),
    repo_filter: list[str] | None = None,
) -> list[Constraint]:
    """Every constraint intake found in the question, each marked applied (and how) or not (and why not)."""
    c = _Check(plan)
    focus, filt = plan.focus, c.filter

    for author in u.authors:
        how = c.by_arg(["author"], _same(author))
        if how is None and filt is not None and filt.author and filt.author.lower() == author.lower():
            how = "the follow-up filter"
        c.add("who", author, how, "no step filters by author")

    if u.results:
        how = c.by_arg(["results"], _overlaps(u.results)) or c.by_arg(["statuses"], bool)
        if how is None and (focus.results or focus.statuses or (filt is not None and filt.results)):
            how = "the reporter's filter" if filt is None else "the follow-up filter"
        c.add("state", "/".join(u.results), how, "no step filters by result")
    if u.pr_states:
        how = c.by_arg(["states"], _overlaps(u.pr_states))
        if how is None and filt is not None and filt.states:
            how = "the follow-up filter"
        c.add("state", "/".join(u.pr_states), how, "no step filters by state")
    if u.in_progress:
        how = c.by_arg(["in_progress"], bool) or c.by_arg(["statuses"], _overlaps(["IN_PROGRESS"]))
        c.add("state", "in progress", how, "no step filters running ones")
    if u.awaiting_review:
        how = c.by_arg(["awaiting_review"], bool)
        if how is None and filt is not None and filt.awaiting_review:
            how = "the follow-up filter"
        c.add("state", "awaiting review", how, "no step filters by approvals")
    if u.draft:
        c.add("state", "draft", None, "no tool argument filters drafts")

    named: list[tuple[str, RepoMention | None]]
    if repo_filter:
        named = [(slug, None) for slug in repo_filter]
    else:
        named = [(slug, None) for slug in u.repos] + [
            (m.phrase, m) for m in u.repo_mentions if m.status != "resolved"
        ]
    for slug, mention in named:
        if mention is not None:
            why = (
                f"'{mention.phrase}' may mean {', '.join(mention.candidates)}"
                if mention.status == "ambiguous"
                else f"no repository matches '{mention.phrase}'"
                + (f" (closest: {', '.join(mention.candidates)})" if mention.candidates else "")
            )
            c.record("repository", slug, None, why)
            continue
        how = c.by_arg(["repo"], _same(slug)) or c.by_arg(["repos"], _overlaps([slug]))
        if how is None and filt is not None and slug in filt.repos:
            how = "the follow-up filter"
        c.add("repository", slug, how, "no step is limited to it")

    if u.branch:
        wanted = {u.branch.lower()}
        if u.default_branch:  # "main" means each repository's own default branch
            wanted |= {r.main_branch.lower() for r in repositories}
        how = c.by_arg(_BRANCH_ARGS, lambda value: str(value).lower() in wanted)
        if how is None and filt is not None and filt.branch and filt.branch.lower() in wanted:
            how = "the follow-up filter"
        c.add("branch", u.branch, how, "no step filters by branch")

    for path in u.paths:
        how = c.by_arg(["path"], _same(path)) or c.by_arg(["query"], _same(path.rsplit("/", 1)[-1]))
        c.add("path", path, how, "no step filters by path")

    if u.environment:
        how = c.by_arg(["environment"], _same(u.environment))
        if how is None and (focus.environment or "").lower() == u.environment.lower():
            how = "the reporter's filter"
        if how is None and filt is not None and (filt.environment or "").lower() == u.environment.lower():
            how = "the follow-up filter"
        c.add("environment", u.environment, how, "no step filters by environment")

    if u.window is not None:
        how = c.by_arg(_WINDOW_ARGS, bool)
        if how is None and filt is not None and (filt.since or filt.until):
            how = "the follow-up filter"
        c.add("window", u.window.label, how, "no step is bounded in time")

    for symbol in u.symbols:
        how = c.by_arg(["query"], _same(symbol))
        if how is None and focus.incident is not None and focus.incident.test == symbol:
            how = "the flaky-test analysis"
        c.add("text", symbol, how, "no step searches for it")

    if u.count is not None:
        how = c.by_arg(["limit"], lambda value: value == u.count)
        c.add("count", str(u.count), how, "no step is limited to that many")
    return c.found
