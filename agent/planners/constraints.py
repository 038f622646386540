"""Which of the question's constraints a plan applies: intake's reading of the question against the plan.

Both planners record the result in `Plan.constraints` (DESIGN "Contracts → Constraints"). A constraint
counts as applied when a step whose records are the answer carries it as an argument (for incidents, any
step: the whole evidence is the answer), when `Focus` makes the reporters filter by it, or when a chat
follow-up's filter does; values are compared, so "authored by Priya" is not applied by a step filtering
on someone else. `CHECKS` is the table: each row reads one kind of constraint from the `Understanding`
and names the tool arguments that apply it, so a tool argument a planner forgets, or a filter no tool
has (a label), is recorded as not applied with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bbscout.agent.focus import Constraint, ConstraintKind
from bbscout.agent.intake import RepoMention, Understanding
from bbscout.agent.plan import Plan
from bbscout.tools.args import TOOL_ARGS
from bbscout.tools.evidence import RepositoryRecord
from bbscout.tools.paths import PATH_FORMS

__all__ = ["CHECKS", "constraints_of"]

_BRANCH_ARGS = ("branch", "destination_branch", "source_branch", "ref", "name_contains")
_WINDOW_ARGS = ("since", "until", "stale_before")
# tools that answer with one object by construction ("the latest deployment's changes" is one deployment)
_ONE_OBJECT = frozenset(
    {
        "get_pipeline",
        "pipeline_failure",
        "get_pull_request",
        "get_commit",
        "deployment_changes",
        "browse_source",
    }
)


class _Plan:
    """The steps that make the answer, with each one's arguments including the tool's defaults."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.focus = plan.focus
        self.filter = plan.focus.filter
        answer = plan.steps if plan.family == "incident" else [s for s in plan.steps if s.primary]
        # a default (PRs: OPEN) filters as much as an argument
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

    def tools(self) -> set[str]:
        return {tool for tool, _ in self.args}


def _same(wanted: str) -> Callable[[Any], bool]:
    return lambda value: str(value).lower() == wanted.lower()


def _overlaps(wanted: Iterable[str]) -> Callable[[Any], bool]:
    wanted_set = set(wanted)
    return lambda value: bool(set(value if isinstance(value, list) else [value]) & wanted_set)


Values = Callable[[Understanding], list[str]]
Also = Callable[[_Plan, Understanding, str], str | None]  # applied some other way than an argument


def _none(p: _Plan, u: Understanding, value: str) -> str | None:
    return None


@dataclass(frozen=True)
class Check:
    """One kind of constraint: how intake's reading yields values, and which arguments apply each."""

    kind: ConstraintKind
    filter: str  # how an answer names it
    values: Values
    args: tuple[str, ...]
    why_not: str
    match: Callable[[str], Callable[[Any], bool]] = _same
    also: Also = _none


def _follow_up_author(p: _Plan, u: Understanding, value: str) -> str | None:
    f = p.filter
    if f is not None and (f.author or "").lower() == value.lower():
        return "the follow-up filter"
    # a bot names the branches it opens after itself ("renovate/…"): its branches are found by name
    named = p.by_arg(["name_contains", "branch_like"], lambda v: value.lower() in str(v).lower())
    return f"{named} (a bot's branches carry its name)" if named else None


def _results_also(p: _Plan, u: Understanding, value: str) -> str | None:
    single = p.tools() & {"get_pipeline", "pipeline_failure"}
    if single:  # "why did build 182 fail": the build asked about is read, its result stated
        return f"{sorted(single)[0]} (the build asked about)"
    if p.by_arg(["statuses"], bool):
        return p.by_arg(["statuses"], bool)
    if p.focus.results or p.focus.statuses:
        return "the reporter's filter" if p.filter is None else "the follow-up filter"
    return "the follow-up filter" if p.filter is not None and p.filter.results else None


def _pr_states_also(p: _Plan, u: Understanding, value: str) -> str | None:
    if "get_pull_request" in p.tools():  # "who merged PR 63?": the PR asked about is read, its state stated
        return "get_pull_request (the pull request asked about)"
    return "the follow-up filter" if p.filter is not None and p.filter.states else None


def _running_also(p: _Plan, u: Understanding, value: str) -> str | None:
    return p.by_arg(["statuses"], _overlaps(["IN_PROGRESS"]))


def _awaiting_also(p: _Plan, u: Understanding, value: str) -> str | None:
    return "the follow-up filter" if p.filter is not None and p.filter.awaiting_review else None


def _environment_also(p: _Plan, u: Understanding, value: str) -> str | None:
    if (p.focus.environment or "").lower() == value.lower():
        return "the reporter's filter"
    # "the prod config": the environment names the file ("production.yaml")
    described = p.by_arg(["find"], lambda words: any(value.lower() in PATH_FORMS.get(w, (w,)) for w in words))
    if described:
        return f"{described} (the environment names the file)"
    if p.filter is not None and (p.filter.environment or "").lower() == value.lower():
        return "the follow-up filter"
    return None


def _window_also(p: _Plan, u: Understanding, value: str) -> str | None:
    f = p.filter
    return "the follow-up filter" if f is not None and (f.since or f.until) else None


def _symbol_also(p: _Plan, u: Understanding, value: str) -> str | None:
    incident = p.focus.incident
    return "the flaky-test analysis" if incident is not None and incident.test == value else None


def _one_also(p: _Plan, u: Understanding, value: str) -> str | None:
    """A single-object tool, or what is live (one per repository and environment), answers with one."""
    single = p.tools() & _ONE_OBJECT
    if single:
        return f"{sorted(single)[0]} (one object)"
    return p.by_arg(["current", "latest_per_environment"], bool)


def _live_also(p: _Plan, u: Understanding, value: str) -> str | None:
    return "deployment_changes (the latest deployment)" if "deployment_changes" in p.tools() else None


def _about_commits(u: Understanding) -> bool:
    return "commits" in u.topics and "pull_requests" not in u.topics and u.landed


def _people(role: str) -> Values:
    return lambda u: list(getattr(u, role + "s"))


CHECKS: tuple[Check, ...] = (
    Check(
        "who", "author", _people("author"), ("author",), "no step filters by author", also=_follow_up_author
    ),
    Check(
        "who",
        "reviewer",
        _people("reviewer"),
        ("reviewer",),
        "no tool argument of this question's tools filters by reviewer",
    ),
    Check(
        "who",
        "approver",
        _people("approver"),
        ("approver",),
        "no tool argument of this question's tools filters by approver",
    ),
    Check(
        "who",
        "participant",
        _people("participant"),
        ("participant",),
        "no tool argument of this question's tools filters by participant",
    ),
    Check(
        "state",
        "state",
        lambda u: ["/".join(u.results)] if u.results else [],
        ("results",),
        "no step filters by result",
        match=lambda v: _overlaps(v.split("/")),
        also=_results_also,
    ),
    Check(
        "state",
        "state",
        # "commits merged to main" is a commit question: "merged" times them (landed), it is no PR state
        lambda u: ["/".join(u.pr_states)] if u.pr_states and not _about_commits(u) else [],
        ("states",),
        "no step filters by state",
        match=lambda v: _overlaps(v.split("/")),
        also=_pr_states_also,
    ),
    Check(
        "state",
        "state",
        lambda u: ["/".join(u.progress) or "in progress"] if u.in_progress else [],
        ("in_progress",),
        "no step filters unfinished ones",
        match=lambda v: bool,
        also=_running_also,
    ),
    Check(
        "state",
        "state",
        lambda u: ["awaiting review"] if u.awaiting_review else [],
        ("awaiting_review",),
        "no step filters by approvals",
        match=lambda v: bool,
        also=_awaiting_also,
    ),
    Check("state", "state", lambda u: ["draft"] if u.draft else [], (), "no tool argument filters drafts"),
    Check(
        "state",
        "live",
        lambda u: ["live now"] if u.current and ("deployments" in u.topics or u.environment) else [],
        ("current",),
        "no step reads what is live (the latest successful deployment)",
        match=lambda v: bool,
        also=_live_also,
    ),
    Check(
        "environment",
        "environment",
        lambda u: [u.environment] if u.environment else [],
        ("environment",),
        "no step filters by environment",
        also=_environment_also,
    ),
    Check(
        "path",
        "path",
        lambda u: list(u.paths),
        ("path", "query"),
        "no step filters by path",
        match=lambda v: lambda value: str(value) in (v, v.rsplit("/", 1)[-1]),
    ),
    Check(
        "path",
        "file",
        lambda u: [" ".join(u.file_words)] if u.file_words else [],
        ("find",),
        "no step finds a file by its description; name its path (e.g. config/production.yaml)",
        match=lambda v: lambda value: list(value) == v.split(),
    ),
    Check(
        "window",
        "window",
        lambda u: [u.window.label] if u.window is not None else [],
        _WINDOW_ARGS,
        "no step is bounded in time",
        match=lambda v: bool,
        also=_window_also,
    ),
    Check(
        "window",
        "landed",
        lambda u: (
            [f"landed on {u.branch or 'the main branch'}"] if u.landed and "commits" in u.topics else []
        ),
        ("time_field",),
        "no step times commits by when they entered the branch",
        match=lambda v: _same("entered_branch"),
    ),
    Check(
        "branch",
        "branch",
        lambda u: [" ".join(u.branch_words)] if u.branch_words else [],
        ("branch_like",),
        "no step finds branches by the words of their names",
        match=lambda v: lambda value: set(v.split()) <= set(value),
    ),
    Check(
        "branch",
        "branch name",
        lambda u: [u.branch_prefix] if u.branch_prefix and not u.branch else [],
        ("name_contains", "branch_like"),
        "no step filters branch names",
        match=lambda v: lambda value: v in (value if isinstance(value, list) else [value]),
    ),
    Check("text", "text", lambda u: list(u.texts), ("text", "message_contains"), "no step searches for it"),
    Check(
        "text", "text", lambda u: list(u.symbols), ("query",), "no step searches for it", also=_symbol_also
    ),
    Check(
        "count",
        "how many",
        lambda u: [str(u.count)] if u.count is not None else [],
        ("limit",),
        "no step is limited to that many",
        match=lambda v: lambda value: str(value) == v,
    ),
    Check(
        "one",
        "which one",
        lambda u: [u.pick] if u.pick else [],
        ("pick",),
        "no step picks one object",
        also=_one_also,
    ),
)


def _record(found: list[Constraint], check: Check, value: str, how: str | None, why_not: str) -> None:
    found.append(
        Constraint(
            kind=check.kind, value=value, applied=how is not None, how=how or why_not, filter=check.filter
        )
    )


def constraints_of(
    u: Understanding,
    plan: Plan,
    *,
    repositories: Iterable[RepositoryRecord] = (),
    repo_filter: list[str] | None = None,
) -> list[Constraint]:
    """Every constraint intake found in the question, each marked applied (and how) or not (and why not)."""
    p = _Plan(plan)
    found: list[Constraint] = []
    no_query = not plan.steps and p.filter is None
    nothing = "the plan runs no query" + (" (it asks which one is meant)" if plan.clarify else "")

    def why(reason: str) -> str:
        return nothing if no_query else reason

    for check in CHECKS:
        for value in check.values(u):
            how = p.by_arg(check.args, check.match(value)) or check.also(p, u, value)
            _record(found, check, value, how, why(check.why_not))
    _branch(found, p, u, repositories, why)
    _repositories(found, p, u, repo_filter, why)
    for item in u.unsupported:
        found.append(
            Constraint(
                kind="other",
                filter=item.kind,
                value=item.value,
                applied=False,
                how=f"no tool argument filters by {item.kind}",
            )
        )
    order = {k: i for i, k in enumerate(("who", "state", "repository", "branch", "path", "environment"))}
    return sorted(found, key=lambda c: order.get(c.kind, len(order)))


def _branch(
    found: list[Constraint],
    p: _Plan,
    u: Understanding,
    repositories: Iterable[RepositoryRecord],
    why: Callable[[str], str],
) -> None:
    if not u.branch:
        return
    wanted = {u.branch.lower()}
    if u.default_branch:  # "main" means each repository's own default branch
        wanted |= {r.main_branch.lower() for r in repositories}
    how = p.by_arg(_BRANCH_ARGS, lambda value: str(value).lower() in wanted)
    if how is None and p.filter is not None and p.filter.branch and p.filter.branch.lower() in wanted:
        how = "the follow-up filter"
    incident = p.focus.incident
    if how is None and incident is not None and incident.kind == "build" and u.default_branch:
        how = "the build-breakage analysis (main-branch failures first)"
    found.append(
        Constraint(
            kind="branch",
            filter="branch",
            value=u.branch,
            applied=how is not None,
            how=how or why("no step filters by branch"),
        )
    )


def _repositories(
    found: list[Constraint],
    p: _Plan,
    u: Understanding,
    repo_filter: list[str] | None,
    why: Callable[[str], str],
) -> None:
    named: list[tuple[str, RepoMention | None]]
    if repo_filter:
        named = [(slug, None) for slug in repo_filter]
    else:
        named = [(slug, None) for slug in u.repos] + [
            (m.phrase, m) for m in u.repo_mentions if m.status != "resolved"
        ]
    for slug, mention in named:
        if mention is not None:
            reason = (
                f"'{mention.phrase}' may mean {', '.join(mention.candidates)}"
                if mention.status == "ambiguous"
                else f"no repository matches '{mention.phrase}'"
                + (f" (closest: {', '.join(mention.candidates)})" if mention.candidates else "")
            )
            found.append(
                Constraint(kind="repository", filter="repository", value=slug, applied=False, how=reason)
            )
            continue
        how = p.by_arg(["repo"], _same(slug)) or p.by_arg(["repos"], _overlaps([slug]))
        if how is None and p.filter is not None and slug in p.filter.repos:
            how = "the follow-up filter"
        read = next((m.phrase for m in u.repo_mentions if m.interpreted and slug in m.slugs), None)
        found.append(
            Constraint(
                kind="repository",
                filter="repository",
                value=slug,
                applied=how is not None,
                how=how or why("no step is limited to it"),
                reading=f"“{read}” read as {slug}" if read else "",
            )
        )
