"""The offline planner: question → typed `Plan` from intake's `Understanding`, no model involved.

Why it exists: bbscout must answer the common on-call questions with no LLM configured, and be a
predictable baseline the LLM planner is measured against. It is deliberately conservative: when a
question doesn't map cleanly (a write action, an unknown repository, something Bitbucket has no
data for) it says so in `not_understood`/`clarify` with no steps, instead of a confident wrong plan.

Defaults (each stated in `Plan.understood` when applied):
    pipelines without a time → last 24 hours (a work branch such as feature/x: its whole history, bounded
    by the limit); PRs "recent" / merged / declined → last 7 days, except an explicit state in a named
    repository (every such PR, bounded by the limit) (open PRs: no window, they are open whatever their
    age); commits → last 7 days; branches "recent" → last 7 days, "stale" → no commit for 30 days;
    deployment lists and rollbacks → last 7 days; incidents → deployments [T-48h, T+30m], merged PRs
    [T-72h, T+30m], failed pipelines [T-24h, T+30m].
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, timedelta
from typing import Any, Literal, TypeVar

from bbscout.agent.focus import Constraint, Focus, Incident, IncidentKind, NewestDeployment, RecordFilter
from bbscout.agent.intake import Understanding, incident_kind, parse_instant
from bbscout.agent.plan import Family, Plan, Step, StepOutcome, Window
from bbscout.agent.planners.base import Conversation, Planned, PlanRequest, PriorTurn, Reviewed
from bbscout.agent.planners.constraints import constraints_of
from bbscout.tools.args import DeploymentStatus
from bbscout.tools.evidence import (
    BranchRecord,
    CodeMatchRecord,
    CommitRecord,
    DeploymentRecord,
    Evidence,
    FileChangeRecord,
    FileContentRecord,
    PersonRecord,
    PipelineRecord,
    PullRequestRecord,
    RepositoryRecord,
    StepRecord,
    TestCaseRecord,
)
from bbscout.tools.resolve import GENERIC

__all__ = ["LLM_HINT", "RulesPlanner", "build_plan"]

T = TypeVar("T")

LLM_HINT = "the LLM planner (set OPENAI_API_KEY / OPENAI_BASE_URL / BBSCOUT_MODEL) handles freer questions"
PIPELINE_DEFAULT = timedelta(hours=24)
RECENT_DEFAULT = timedelta(days=7)
STALE_DEFAULT = timedelta(days=30)
INCIDENT_DEPLOYS, INCIDENT_PRS, INCIDENT_PIPELINES, INCIDENT_AFTER = (
    timedelta(hours=48),
    timedelta(hours=72),
    timedelta(hours=24),
    timedelta(minutes=30),
)
CI_PIPELINES, CI_PRS, CI_SLACK, FLAKY_DEFAULT = (
    timedelta(hours=24),
    timedelta(hours=72),
    timedelta(hours=1),
    timedelta(days=7),
)
STALE_LIMIT = 500
_MERGE_VERB = re.compile(r"\bmerg(?:e|ed|es|ing)\b(?!\s+(?:commits?|conflicts?)\b)")
_COMMIT_NOUN = re.compile(
    r"\bcommit(?:s|ted)?\b|\bmerge\s+commits?\b|\bpush(?:ed|es)?\b|\bsha\b|\bhash(?:es)?\b|\blanded\b"
)
_CREATED_VERB = re.compile(r"\b(?:opened|created|raised|submitted|filed|new)\b")
_SHOW_VERB = re.compile(
    r"\b(?:show|open|cat|contents?|read|view|print|display|fetch|pull\s+up|bring\s+up|give\s+me|see|dump)\b"
)
# "it", "those", "did that fail?" point at something; "anything that failed?" does not ("that" relative)
_POINTING = re.compile(
    r"\b(?:it|those|these|them)\b"
    r"|(?:^|\b(?:is|was|did|does|do|has|have|had|about|with|of|on|in|at|to|fix|fixed|see|check|why|what|how)\s+)(?:that|this)\b"
)
_WHATS_IN = re.compile(r"\bwhat(?:'s|s|\s+is)?\s+in(?:side)?\b")
_USAGE_WORDS = re.compile(
    r"\b(?:usages?|uses|used|references?|referenced|callers?|calls|called|imports?|imported|mentions?|occurrences?|grep|where\s+else)\b"
)
_DEFINITION_WORDS = re.compile(
    r"\b(?:defined|define[sd]?|definition|declared|declaration|implemented|implementation)\b"
)
# "rolled back", "rollback", "roll anything back", "rolled the release back", "redeploy"
_ROLLBACK = re.compile(
    r"\broll(?:ed|ing|s)?(?:[\s-]+(?:\S+\s+){0,3}?)?back(?:s)?\b|\brollbacks?\b|\bredeploy|\breverted\s+(?:the\s+)?(?:deploy|release)"
)
# pipeline-result words → deployment outcomes ("any deploys fail?": FAILED)
_DEPLOY_STATUS: dict[str, DeploymentStatus] = {
    "FAILED": "FAILED",
    "ERROR": "FAILED",
    "STOPPED": "STOPPED",
    "SUCCESSFUL": "SUCCESSFUL",
}
_LONG_LIVED = frozenset(
    {"main", "master", "trunk", "develop", "development", "dev", "staging", "next", "production", "prod"}
)
_FAMILY_ORDER: tuple[str, ...] = (
    "code",
    "deployments",
    "pull_requests",
    "pipelines",
    "branches",
    "commits",
    "repositories",
)
_RETARGET = re.compile(r"^\s*(?:and|also|ok(?:ay)?|now|then|same|what|how)\b.*|^\s*\w+(?:\s+\w+)?\s*\?\s*$")
# "anything open against main?", "what's open into develop", "open targeting release/2.4": open pull requests
_OPEN_AGAINST = re.compile(
    r"\b(?:open|opened|pending|outstanding|unmerged)\s+(?:(?:right\s+)?now\s+)?(?:against|into|onto|targeting|to)\s+(?!be\b)"
)
# "which commits went out with the last prod deploy", "PRs included in the latest release": what a
# deployment shipped
_SHIPPED_WITH = re.compile(
    r"\b(?:commits?|changes?|prs?|pull\s+requests?|fixes|files?|features?|tickets?)\b.*?\b(?:went\s+out|go\s+out|shipped|ship|"
    r"went\s+in|go\s+in|were\s+in|was\s+in|are\s+in|is\s+in|included|in|made\s+it\s+into|part\s+of)\s+(?:with|in|into|on|of)?\s*"
    r"(?:the|that|this|our)\s+(?:\w+[\s-]+){0,6}?(?:deploy|deployment|release|rollout)\b(?!s)"
)
_FILTER = re.compile(
    r"\b(?:which|what|any)\s+of\s+(?:those|these|them)\b|\b(?:only|just)\s+(?:the\s+)?(?:ones?|those)\b|\bof\s+(?:those|these|them)\b|\bamong\s+(?:those|these|them)\b|\bfilter\b|\bwhich\s+ones\b"
)


def _first(items: Sequence[T]) -> T | None:
    return items[0] if items else None


class _Ctx:
    """Per-request working state: the request, what intake understood, and the plan being built."""

    def __init__(self, request: PlanRequest, u: Understanding) -> None:
        self.request = request
        self.u = u
        self.now = request.now.astimezone(UTC)
        self.understood: list[str] = []
        self.not_understood: list[str] = []
        self.clarify: list[str] = []
        self.focus = Focus()
        self.steps: list[Step] = []
        self.window: Window | None = u.window

    def step(
        self,
        tool: str,
        args: dict[str, Any],
        why: str,
        *,
        primary: bool = False,
        depends_on: Sequence[str] = (),
    ) -> Step:
        base = tool if not args.get("repo") else f"{tool}:{args['repo']}"
        sid, n = base, 2
        while any(s.id == sid for s in self.steps):
            sid, n = f"{base}#{n}", n + 1
        clean = {k: v for k, v in args.items() if v is not None and v != [] and v is not False}
        s = Step(id=sid, tool=tool, args=clean, why=why, primary=primary, depends_on=list(depends_on))
        self.steps.append(s)
        return s

    def default_window(self, span: timedelta, label: str) -> Window:
        if self.window is None:
            self.window = Window(start=self.now - span, end=self.now, label=label)
            self.understood.append(f"no time given: using the {label}")
        return self.window

    def plan(self, family: Family, intent: str, repos: list[str] | None) -> Plan:
        if self.window is not None and not any(
            x.startswith(("window", "no time given")) for x in self.understood
        ):
            w = self.window
            self.understood.append(f"window: {w.label} ({w.start:%Y-%m-%d %H:%M}–{w.end:%Y-%m-%d %H:%M} UTC)")
        if self.not_understood and family == "unknown":
            self.not_understood.append(f"the rules planner only maps common question shapes; {LLM_HINT}")
        plan = Plan(
            family=family,
            intent=intent,
            steps=[] if self.clarify else self.steps,
            window=self.window,
            repos=repos,
            focus=self.focus,
            understood=self.understood,
            not_understood=self.not_understood,
            clarify=self.clarify,
        )
        plan.constraints = self.constraints(plan)
        return plan

    def constraints(self, plan: Plan) -> list[Constraint]:
        return constraints_of(
            self.u, plan, repositories=self.request.repositories, repo_filter=self.request.repo_filter
        )


# --- repositories --------------------------------------------------------------------------------


def _target_repos(c: _Ctx) -> tuple[list[str] | None, bool]:
    """(repos, ok): explicit --repo flags win; ambiguous → clarify; unknown → not understood."""
    if c.request.repo_filter:
        c.understood.append(f"repositories (from --repo): {', '.join(c.request.repo_filter)}")
        return list(c.request.repo_filter), True
    ok = True
    for m in c.u.repo_mentions:
        if m.status == "ambiguous":
            c.clarify.append(
                f"Which repository do you mean by '{m.phrase}'? Candidates: {', '.join(m.candidates)}"
            )
            ok = False
        elif m.status == "unknown":
            closest = f" (closest: {', '.join(m.candidates)})" if m.candidates else ""
            c.not_understood.append(f"no repository matches '{m.phrase}'{closest}")
            ok = False
    if c.u.repos:
        names = ", ".join(f"'{m.phrase}' → {m.slugs[0]}" for m in c.u.repo_mentions if m.status == "resolved")
        c.understood.append(f"repositories: {names}")
        return list(c.u.repos), ok
    if ok:
        c.understood.append("repositories: all in the workspace (none named)")
    return None, ok


def _repo_records(c: _Ctx, repos: list[str] | None) -> list[RepositoryRecord]:
    known = {r.slug: r for r in c.request.repositories}
    if repos is None:
        return list(c.request.repositories)
    return [
        known.get(s) or RepositoryRecord(ref=f"repo:{s}", repo=s, url="", title=s, slug=s, name=s)
        for s in repos
    ]


def _single_repo(c: _Ctx, repos: list[str] | None, what: str) -> str | None:
    if repos and len(repos) == 1:
        return repos[0]
    if repos is None and len(c.request.repositories) == 1:
        return c.request.repositories[0].slug
    options = ", ".join(repos or [r.slug for r in c.request.repositories][:12])
    c.clarify.append(f"Which repository is {what} in?" + (f" ({options})" if options else ""))
    return None


# --- families ------------------------------------------------------------------------------------


def _family(c: _Ctx) -> Family:
    u, topics = c.u, set(c.u.topics)
    if re.search(r"\brelease[s]?\s+branch", u.text):
        topics.discard("deployments")  # "release branches" are branches
    if c.request.mode == "investigate":
        return "incident"
    if u.breakage and not u.build_numbers:
        return "incident"  # "who broke main?", "why are the builds failing?", "tests keep failing randomly"
    if _asks_merged_prs(u) or (_OPEN_AGAINST.search(u.text) and not topics - {"pull_requests"}):
        return "pull_requests"
    if u.incident == "strong" and not topics & {
        "pipelines",
        "pull_requests",
        "branches",
        "code",
        "repositories",
    }:
        return "incident"
    if u.incident == "weak" and not topics and (u.window or u.repos) and not u.build_numbers:
        return "incident"
    if ("code" in topics and (u.symbols or u.paths)) or (
        u.paths and not topics and (_SHOW_VERB.search(u.text) or _WHATS_IN.search(u.text))
    ):
        return "code"
    if (
        "branches" in topics
        and (u.results or u.in_progress)
        and not topics & {"pull_requests", "deployments", "code"}
        and "stale" not in u.asks
    ):
        topics = (topics - {"branches"}) | {"pipelines"}  # "did the feature/x branch fail?": its pipelines
    if (
        "pipelines" in topics
        and "pull_requests" in topics
        and re.search(r"\b(?:pipelines?|builds?|ci)\b", u.text)
        and u.pr_numbers
    ):
        return "pipelines"
    for family in _FAMILY_ORDER:
        if family in topics and family != "code":
            return family  # type: ignore[return-value]
    if u.symbols and "code" in topics:
        return "code"
    if u.build_numbers or u.results or u.in_progress or u.trigger:
        return "pipelines"
    if u.pr_numbers or u.awaiting_review or u.draft:
        return "pull_requests"
    if (
        u.commits
        or "MERGED" in u.pr_states
        or u.paths
        or ("changes" in u.asks and (u.window or u.repos or u.branch))
    ):
        return "commits"
    if u.environment:
        return "deployments"
    if u.symbols:
        return "code"
    return "unknown"


def _asks_merged_prs(u: Understanding) -> bool:
    """ "what was merged to main yesterday?", "what did Priya merge?": merged pull requests.

    The noun decides: with "commits" (or "pushed", "landed", a hash) it stays a commits question.
    """
    if set(u.topics) - {"commits", "pull_requests"} or u.commits or u.paths:
        return False
    return bool(_MERGE_VERB.search(u.text)) and not _COMMIT_NOUN.search(u.text)


def _pipelines(c: _Ctx, repos: list[str] | None) -> str:
    u = c.u
    if u.build_numbers or (u.hash_numbers and not u.pr_numbers):
        build = (u.build_numbers or u.hash_numbers)[0]
        repo = _single_repo(c, repos, f"build {build}")
        if repo is None:
            return f"pipeline {build}"
        wants_failure = bool({"log", "why"} & set(u.asks)) or bool(set(u.results) & {"FAILED", "ERROR"})
        tool = "pipeline_failure" if wants_failure else "get_pipeline"
        c.step(tool, {"repo": repo, "build_number": build}, f"pipeline #{build} in {repo}", primary=True)
        c.understood.append(
            f"pipeline #{build} in {repo}" + (" (why it failed, with the log)" if wants_failure else "")
        )
        return f"pipeline #{build} in {repo}"
    work_branch = u.branch is not None and not u.default_branch and u.branch.lower() not in _LONG_LIVED
    w: Window | None
    if work_branch and c.window is None and not u.pr_numbers:
        w = None  # a work branch ("did feature/x fail?") is short-lived: its whole history, up to the limit
        c.understood.append(f"no time given: every run of {u.branch} (a work branch), newest first")
    else:
        w = (
            c.default_window(RECENT_DEFAULT, "last 7 days")
            if u.pr_numbers
            else c.default_window(PIPELINE_DEFAULT, "last 24 hours")
        )
    results = list(u.results) or None
    if results:
        c.focus.results = results
        if set(results) == {"FAILED", "ERROR"}:
            c.understood.append("'failed' means results FAILED and ERROR (not STOPPED)")
        else:
            c.understood.append(f"results: {', '.join(results)}")
    if u.in_progress:
        c.focus.in_progress = True
        c.understood.append("running/pending pipelines only")
    singular = re.search(
        r"\b(?:latest|last|most recent|newest|current)\s+(?:pipeline|build|ci run|run)\b(?!s)", u.text
    )
    limit = u.count or (1 if singular else None)
    args: dict[str, Any] = {
        "results": results,
        "in_progress": u.in_progress,
        "trigger": u.trigger,
        "pr_id": _first(u.pr_numbers),
        "since": w.start if w else None,
        "until": w.end if w else None,
        "limit": limit,
    }
    for what, value in (("branch", u.branch), ("trigger", u.trigger), ("pull request", _first(u.pr_numbers))):
        if value:
            c.understood.append(f"{what}: {value}")
    groups = _branch_groups(c, repos) if u.default_branch else {u.branch: repos}
    for branch, group in groups.items():
        c.step(
            "list_pipelines",
            {**args, "repos": group, "branch": branch},
            "pipelines matching the question",
            primary=True,
        )
    state = (
        "failed"
        if results == ["FAILED", "ERROR"]
        else (", ".join(results).lower() if results else "running" if u.in_progress else "recent")
    )
    return f"{state} pipelines" + (f", {w.label}" if w else f" on {u.branch}")


def _branch_groups(c: _Ctx, repos: list[str] | None) -> dict[str | None, list[str] | None]:
    """ "on main" across repos whose main branch differs ("main" vs "master"): one call per branch name."""
    records = _repo_records(c, repos)
    groups: dict[str | None, list[str]] = {}
    for r in records:
        groups.setdefault(r.main_branch, []).append(r.slug)
    if len(groups) <= 1:
        return {(next(iter(groups)) if groups else c.u.branch): repos}
    c.understood.append(
        "default branch per repository: " + ", ".join(f"{b} ({len(s)} repos)" for b, s in groups.items())
    )
    return dict(groups.items())


def _pull_requests(c: _Ctx, repos: list[str] | None) -> str:
    u = c.u
    numbers = u.pr_numbers or u.hash_numbers
    if numbers:
        repo = _single_repo(c, repos, f"PR #{numbers[0]}")
        if repo is None:
            return f"PR #{numbers[0]}"
        for n in numbers:
            c.step(
                "get_pull_request",
                {
                    "repo": repo,
                    "pr_id": n,
                    "include_diff": "diff" in u.asks or "changes" in u.asks,
                    "include_comments": "comments" in u.asks,
                },
                f"PR #{n} in {repo}",
                primary=True,
            )
        c.understood.append(f"pull request(s) {', '.join('#' + str(n) for n in numbers)} in {repo}")
        return f"PR #{numbers[0]} in {repo}"
    states = list(u.pr_states)
    merged_verb = _asks_merged_prs(u)
    if merged_verb and not states:
        states = ["MERGED"]  # "what did Priya merge?"
    if u.awaiting_review:
        states = ["OPEN"]
        c.understood.append("awaiting review: open PRs with no approval yet")
    recentish = "recent" in u.asks or "latest" in u.asks or u.window is not None or bool(u.authors)
    if not states:
        states = ["OPEN", "MERGED", "DECLINED"] if recentish else ["OPEN"]
        c.understood.append("states: " + ("any (recent activity)" if recentish else "OPEN (no state given)"))
    else:
        c.understood.append(f"states: {', '.join(states)}")
    w: Window | None = c.window
    explicit = bool(u.pr_states) or merged_verb
    named_repo = bool(repos) and bool(u.repos or c.request.repo_filter)
    if (
        w is None
        and explicit
        and named_repo
        and not {"recent", "latest"} & set(u.asks)
        and states != ["OPEN"]
    ):
        which = "/".join(s.lower() for s in states)
        c.understood.append(
            f"no time given: every {which} pull request in {', '.join(repos or [])}, newest first"
        )
    elif w is None and (states != ["OPEN"] or "recent" in u.asks):
        w = c.default_window(RECENT_DEFAULT, "last 7 days")
    c.focus.states = states
    src = (
        u.branch
        if u.branch and re.search(rf"\bfrom\s+(?:the\s+)?{re.escape(u.branch.lower())}", u.text)
        else None
    )
    dest = u.branch if u.branch and not src else None
    for what, value in (("author", ", ".join(u.authors)), ("target branch", dest), ("source branch", src)):
        if value:
            c.understood.append(f"{what}: {value}")
    closed_only = set(states) <= {"MERGED", "DECLINED", "SUPERSEDED"}
    time_field = "created_on" if w is not None and not closed_only and _CREATED_VERB.search(u.text) else None
    if time_field:
        c.understood.append("window on when the pull requests were opened (created_on)")
    elif w is not None and closed_only:
        c.understood.append("window on when they were closed (merged/declined PRs: their last update)")
    args: dict[str, Any] = {
        "repos": repos,
        "states": states,
        "author": _first(u.authors),
        "source_branch": src,
        "since": w.start if w else None,
        "until": w.end if w else None,
        "time_field": time_field,
        "awaiting_review": u.awaiting_review,
        "limit": u.count or 200,
    }
    groups = _branch_groups(c, repos) if (dest and u.default_branch) else {dest: repos}
    for branch, group in groups.items():
        c.step(
            "list_pull_requests",
            {**args, "repos": group, "destination_branch": branch},
            "pull requests matching the question",
            primary=True,
        )
    return f"{'/'.join(s.lower() for s in states)} pull requests" + (f", {w.label}" if w else "")


def _commits(c: _Ctx, repos: list[str] | None) -> str:
    u = c.u
    if u.commits:
        repo = _single_repo(c, repos, f"commit {u.commits[0]}")
        if repo is None:
            return f"commit {u.commits[0]}"
        for h in u.commits:
            c.step("get_commit", {"repo": repo, "commit": h}, f"commit {h}", primary=True)
            c.step("pull_requests_for_commit", {"repo": repo, "commit": h}, f"the PR that brought {h}")
        return f"commit {u.commits[0]} in {repo}"
    w = c.window if (c.window or u.count) else c.default_window(RECENT_DEFAULT, "last 7 days")
    if w is None:
        c.understood.append(f"the last {u.count} commits (no time given)")
    # Only the merge words mean merges; "what landed on main" / "what went in" is every commit on the branch.
    merges = bool(re.search(r"\bmerg(?:e|ed|es)\b", u.text))
    if merges:
        c.understood.append("merged changes only (merge commits and merged PRs)")
    records = _repo_records(c, repos)
    if not records:
        c.clarify.append("Which repository? (no repositories are known yet)")
    for r in records:
        branch = u.branch if (u.branch and not u.default_branch) else r.main_branch
        c.step(
            "list_commits",
            {
                "repo": r.slug,
                "branch": branch,
                "since": w.start if w else None,
                "until": w.end if w else None,
                "author": _first(u.authors),
                "path": _first(u.paths),
                "merges_only": merges,
                "limit": u.count,
            },
            f"commits on {r.slug}:{branch}",
            primary=True,
        )
    for what, value in (
        ("branch", u.branch or "each repository's main branch"),
        ("author", ", ".join(u.authors)),
        ("path", ", ".join(u.paths)),
    ):
        if value:
            c.understood.append(f"{what}: {value}")
    return f"{'merged ' if merges else ''}commits on {u.branch or 'the main branch'}" + (
        f", {w.label}" if w else ""
    )


def _branches(c: _Ctx, repos: list[str] | None) -> str:
    u = c.u
    name = u.branch if u.branch and not u.default_branch else None
    m = re.search(r"\b(feature|release|hotfix|bugfix)\s+branch(?:es)?\b", u.text)
    name = name or (m.group(1) + "/" if m else None)
    if "stale" in u.asks:
        cutoff = u.window.start if u.window else c.now - STALE_DEFAULT
        c.understood.append(
            f"stale: no commit since {cutoff:%Y-%m-%d}" + ("" if u.window else " (default 30 days)")
        )
        c.window = Window(
            start=cutoff, end=c.now, label=u.window.label if u.window else "no commit in 30 days"
        )
        c.focus.stale = True
        c.step(
            "list_branches",
            {"repos": repos, "name_contains": name, "stale_before": cutoff, "limit": u.count or STALE_LIMIT},
            "branches with no recent commit",
            primary=True,
        )
        return "stale branches"
    w = c.default_window(RECENT_DEFAULT, "last 7 days") if ("recent" in u.asks or u.window) else None
    c.step(
        "list_branches",
        {"repos": repos, "name_contains": name, "since": w.start if w else None, "limit": u.count},
        "branches by most recent commit",
        primary=True,
    )
    return "recent branches" if w else "branches"


def _deployments(c: _Ctx, repos: list[str] | None) -> str:
    u = c.u
    env = u.environment
    rollbacks = bool(_ROLLBACK.search(u.text))
    wants_changes = (
        ("changes" in u.asks or bool(_SHIPPED_WITH.search(u.text))) and not rollbacks and "who" not in u.asks
    )
    if env:
        c.understood.append(f"environment: {env}")
    if wants_changes:
        env = env or "production"
        if not u.environment:
            c.understood.append("environment: production (none named)")
        c.focus.environment = env
        if repos:
            for repo in repos:
                c.step(
                    "deployment_changes",
                    {"repo": repo, "environment": env},
                    f"what the latest {env} deployment of {repo} shipped",
                    primary=True,
                )
            return f"what changed in the latest {env} deployment of {', '.join(repos)}"
        c.step(
            "list_deployments",
            {"environment": env, "latest_per_environment": True},
            f"find the latest {env} deployment across repositories",
            primary=True,
        )
        c.focus.newest_deployment = NewestDeployment(from_step=c.steps[-1].id, environment=env)
        c.understood.append("'the last deployment': the newest one across repositories, then what it shipped")
        return f"what changed in the latest {env} deployment"
    if rollbacks:
        c.focus.rollbacks = True
        c.understood.append("rollbacks: deployments that redeployed an earlier commit")
    in_progress: list[DeploymentStatus] = ["IN_PROGRESS"] if u.in_progress else []
    statuses = (
        None
        if rollbacks
        else (list(dict.fromkeys(_DEPLOY_STATUS[r] for r in u.results)) + in_progress) or None
    )
    if statuses:
        c.focus.statuses = statuses
        c.understood.append(f"deployment outcome: {', '.join(statuses)}")
    latest = "latest" in u.asks and u.window is None and not rollbacks
    if latest:
        c.step(
            "list_deployments",
            {"repos": repos, "environment": env, "latest_per_environment": True, "statuses": statuses},
            "what is deployed now",
            primary=True,
        )
        return "latest deployment per environment"
    w = c.default_window(RECENT_DEFAULT, "last 7 days")
    c.step(
        "list_deployments",
        {
            "repos": repos,
            "environment": env,
            "since": w.start,
            "until": w.end,
            "limit": u.count,
            "statuses": statuses,
        },
        "deployments in the window",
        primary=True,
    )
    outcome = "/".join(x.lower() for x in statuses) + " " if statuses else ""
    noun = "rollbacks" if rollbacks else "deployments"
    return f"{outcome}{noun}{' to ' + env if env else ''}, {w.label}"


def _code(c: _Ctx, repos: list[str] | None) -> str:
    u = c.u
    show = bool(
        _SHOW_VERB.search(u.text) or _WHATS_IN.search(u.text) or re.search(r"\bsource\s+(?:of|for)\b", u.text)
    )
    searching = bool(
        _USAGE_WORDS.search(u.text)
        or _DEFINITION_WORDS.search(u.text)
        or re.search(r"\b(?:where|find|search|which\s+files)\b", u.text)
    )
    if u.paths and not u.symbols and (show or not searching):
        repo = _single_repo(c, _exact_first(c, repos), u.paths[0])
        if repo is None:
            return f"file {u.paths[0]}"
        ref = u.branch if u.branch and not u.default_branch else None
        for path in u.paths[:3]:
            c.step(
                "browse_source", {"repo": repo, "path": path, "ref": ref}, f"{path} in {repo}", primary=True
            )
        c.understood.append(f"show exactly {', '.join(u.paths[:3])} in {repo}")
        return f"{u.paths[0]} in {repo}"
    queries = u.symbols or [p.rsplit("/", 1)[-1] for p in u.paths]
    definitions = (
        bool(u.symbols) and bool(_DEFINITION_WORDS.search(u.text)) and not _USAGE_WORDS.search(u.text)
    )
    for q in queries[:3]:
        c.step(
            "search_code",
            {"query": q, "repos": repos, "limit": u.count, "definitions_only": definitions},
            f"where '{q}' is defined" if definitions else f"where '{q}' appears",
            primary=True,
        )
    c.focus.query = queries[0] if queries else ""
    if definitions:
        c.understood.append(
            f"where {', '.join(queries[:3])} is defined: only lines that define it "
            "(def/class/function/const …)"
        )
    else:
        c.understood.append(f"search code for: {', '.join(queries[:3])}")
    return f"{'definition of' if definitions else 'code search for'} {', '.join(queries[:3])}"


def _exact_first(c: _Ctx, repos: list[str] | None) -> list[str] | None:
    """When one repository is needed and several were named, the one named by its exact slug wins
    ("the payments client source … from checkout-service": 'payments' describes the file)."""
    if not repos or len(repos) < 2 or c.request.repo_filter:
        return repos
    exact = [m.slugs[0] for m in c.u.repo_mentions if m.status == "resolved" and m.phrase == m.slugs[0]]
    if len(exact) == 1:
        c.understood.append(f"repository: {exact[0]} (named exactly; the other names describe the file)")
        return exact
    return repos


_NAME_FILTER = re.compile(
    r"\b(?:named|called|containing|contains|contain|matching|match|with|having|has|have|whose\s+names?\s+(?:contains?|has|have|includes?)"
    r"|names?\s+(?:contains?|containing|including|includes?|with))\s+(?:the\s+(?:word|string|text|term)\s+|an?\s+)?"
    r"['\"`]?(?P<n>[\w-]+)['\"`]?"
)


# "a terraform repo", "any payments repos", "a repo for billing": the word that names the repository
_REPO_WORD = re.compile(
    r"\b(?:a|an|any|the|some|our)\s+(?P<a>[\w-]+)\s+(?:repos?|repositories|repository|projects?|codebases?)\b"
    r"|\b(?:repos?|repositories|repository|projects?|codebases?)\s+(?:for|about|of|with|named|called)\s+(?:the\s+)?(?P<b>[\w-]+)"
)
_NOT_A_NAME = frozenset(
    {
        "the",
        "a",
        "an",
        "in",
        "name",
        "names",
        "all",
        "any",
        "every",
        "our",
        "other",
        "new",
        "old",
        "git",
        "bitbucket",
        "many",
        "more",
        "which",
        "some",
        "code",
        "source",
        "separate",
        "single",
        "dedicated",
        "own",
        "list",
        "workspace",
        "we",
        "you",
        "they",
        "i",
        "us",
        "it",
        "got",
    }
)


def _repositories(c: _Ctx, repos: list[str] | None) -> str:
    del repos
    m = _NAME_FILTER.search(c.u.text)
    name = m.group("n") if m and m.group("n") not in _NOT_A_NAME else None
    if name is None:
        w = _REPO_WORD.search(c.u.text)
        word = (w.group("a") or w.group("b")) if w else None
        name = word if word and word not in _NOT_A_NAME and word not in GENERIC else None
        if name and len(name) > 4 and name.endswith("s") and not name.endswith("ss"):
            name = name[:-1]  # "a repo for notifications" → notification-service
    if name:
        c.understood.append(f"repositories whose name contains '{name}'")
    c.step("list_repositories", {"name_contains": name}, "the workspace's repositories", primary=True)
    return f"repositories with '{name}' in the name" if name else "repositories in the workspace"


def _incident(c: _Ctx, repos: list[str] | None) -> str:
    req = c.request
    kind = incident_kind(req.question) if req.mode == "investigate" else (c.u.breakage or "runtime")
    if kind != "runtime":
        return _ci_incident(c, repos, kind)
    at = req.incident_at.astimezone(UTC) if req.incident_at else parse_instant(req.question, req.now, req.tz)
    if at is None:
        at = c.now
        c.understood.append("no incident time given: investigating the time before now")
    end = min(at + INCIDENT_AFTER, c.now)
    c.window = Window(
        start=at - INCIDENT_DEPLOYS, end=end, label=f"48h before {at:%Y-%m-%d %H:%M} UTC to 30 min after"
    )
    c.step(
        "list_deployments",
        {"repos": repos, "since": at - INCIDENT_DEPLOYS, "until": end},
        "deployments before the symptom (all environments)",
        primary=True,
    )
    c.step(
        "list_pull_requests",
        {"repos": repos, "states": ["MERGED"], "since": at - INCIDENT_PRS, "until": end},
        "PRs merged before the symptom",
        primary=True,
    )
    c.step(
        "list_pipelines",
        {"repos": repos, "results": ["FAILED", "ERROR"], "since": at - INCIDENT_PIPELINES, "until": end},
        "failed pipelines around the symptom",
    )
    service = repos[0] if repos and len(repos) == 1 else None
    c.focus.incident = Incident(symptom=req.question.strip(), at=at, service=service, kind="runtime")
    c.understood.append(
        f"incident at {at:%Y-%m-%d %H:%M} UTC" + (f" in {service}" if service else " (all repositories)")
    )
    return f"what changed before {at:%H:%M} UTC" + (f" in {service}" if service else "")


def _ci_incident(c: _Ctx, repos: list[str] | None, kind: IncidentKind) -> str:
    """A build that broke ("who broke main?") or a flaky test ("tests keep failing randomly"): failures first.

    Build: failed pipelines from an hour before the window (the run that turned it red started before anyone
    noticed) or the 24 hours before `at`, plus the merged/open PRs of the 72 hours before (the suspects).
    Flaky: the failed runs of the window (default 7 days); the review reads each failure to find the test
    that fails on several branches.
    """
    req, u = c.request, c.u
    at = req.incident_at.astimezone(UTC) if req.incident_at else (u.window.end if u.window else c.now)
    since = u.window.start if u.window else None
    if (
        since is not None
        and kind == "build"
        and re.match(r"(?:since|after|from|starting|as of)\b", u.window.label if u.window else "")
    ):
        since -= CI_SLACK  # "red since 07:16": when it was noticed; the run that broke it started before
    service = repos[0] if repos and len(repos) == 1 else None
    test = next((t for t in u.symbols if re.search(r"(?i)test|spec", t)), None) if kind == "flaky" else None
    c.focus.incident = Incident(
        symptom=req.question.strip(), at=at, service=service, kind=kind, since=since, test=test
    )
    scope = [service] if service else repos
    where = f" in {service}" if service else (f" in {', '.join(repos)}" if repos else " (all repositories)")
    if kind == "flaky":
        if test:
            c.understood.append(f"the flaky test: {test}")
        start = since or at - FLAKY_DEFAULT
        end = u.window.end if u.window else c.now
        c.window = Window(start=start, end=end, label=u.window.label if u.window else "last 7 days")
        c.step(
            "list_pipelines",
            {"repos": scope, "results": ["FAILED", "ERROR"], "since": start, "until": end, "limit": 200},
            "failed runs where the flaky test may show",
            primary=True,
        )
        c.understood.append(
            f"flaky tests{where}: failed runs {c.window.label}, then the test that fails on several branches"
        )
        return f"flaky test failures{where}, {c.window.label}"
    pipelines_since = since or at - CI_PIPELINES
    prs_since = min(since, at - CI_PRS) if since else at - CI_PRS
    # No `until`: the failing runs may come after T (a PR pushed at T fails its build minutes later).
    c.window = Window(
        start=pipelines_since,
        end=c.now,
        label=u.window.label if u.window else f"from 24h before {at:%Y-%m-%d %H:%M} UTC",
    )
    c.step(
        "list_pipelines",
        {"repos": scope, "results": ["FAILED", "ERROR"], "since": pipelines_since, "limit": 200},
        "failed builds around the breakage",
        primary=True,
    )
    c.step(
        "list_pull_requests",
        {"repos": scope, "states": ["MERGED", "OPEN"], "since": prs_since, "limit": 200},
        "pull requests merged or updated before the breakage (suspects)",
        primary=True,
    )
    c.understood.append(
        f"build breakage{where} at {at:%Y-%m-%d %H:%M} UTC: failed builds and the PRs before them"
    )
    return f"what broke the build{where}"


_BUILDERS = {
    "pipelines": _pipelines,
    "pull_requests": _pull_requests,
    "commits": _commits,
    "branches": _branches,
    "deployments": _deployments,
    "code": _code,
    "repositories": _repositories,
    "incident": _incident,
}


# --- chat follow-ups -----------------------------------------------------------------------------


def _follow_up(c: _Ctx, prev: PriorTurn) -> Plan | None:
    """ "which of those were on main?", "the log of the second one", "and in payments?", "and yesterday?"."""
    u = c.u
    index = u.ordinal
    if (
        index is None
        and u.deictic
        and set(u.asks) & {"log", "why", "diff", "detail", "comments", "changes"}
        and not _FILTER.search(u.text)
    ):
        if len(prev.primary) == 1:
            index = 0
        elif prev.primary and re.search(r"\b(?:that|this|it)\b", u.text):
            c.clarify.append(
                f"Which one? The last answer listed {len(prev.primary)} (say 'the first', 'the second', …)."
            )
            return c.plan("follow_up", "pick one of the previous results", prev.plan.repos)
    if index is not None and prev.primary and not u.topics[1:] and not u.build_numbers and not u.pr_numbers:
        if not -len(prev.primary) <= index < len(prev.primary):
            c.clarify.append(f"The last answer listed only {len(prev.primary)} result(s).")
            return c.plan("follow_up", "pick one of the previous results", prev.plan.repos)
        return _about_record(c, prev.primary[index], index)
    if _FILTER.search(u.text) or (u.deictic and not u.topics and _has_filter(u)):
        filt = _filter_from(c)
        if filt.terms():
            c.focus.filter = filt
            c.understood.append("filter the previous answer: " + filt.described("="))
            _refetch_for_filter(c, prev, filt)
            return c.plan("follow_up", "filter the previous results", prev.plan.repos)
    new_topic = bool(set(u.topics) - {prev.plan.family})
    if (
        not new_topic
        and len(u.text.split()) <= 8
        and _RETARGET.match(u.text)
        and (u.repo_mentions or u.window or c.request.repo_filter)
    ):
        return _rerun(c, prev)
    return None


# "the deploy", "the build", "the PR": one definite thing, named by nothing but its kind
_DEFINITE_SINGLE = re.compile(
    r"\bthe\s+(?P<n>deploy|deployment|release|rollout|build|pipeline|ci\s+run|pipeline\s+run|pr|pull\s+request|merge\s+request)\b(?!\s*[-#]?\d)(?!s\b)"
)
_KIND_NOUN = {
    "deploy": "deployment",
    "deployment": "deployment",
    "release": "deployment",
    "rollout": "deployment",
    "pr": "pull request",
    "pull request": "pull request",
    "merge request": "pull request",
}


def _ambiguous_single(c: _Ctx, family: str) -> bool:
    """ "when did the deploy go out?", "why did the build fail?": one definite thing, nothing saying which.

    With several repositories in the workspace (and no --repo, repository, number, branch, commit or
    author naming it) any pick would be a guess: ask which one instead, listing the candidates.
    """
    u, req = c.u, c.request
    if (
        req.mode != "ask"
        or req.repo_filter
        or req.previous is not None
        or family not in ("pipelines", "deployments", "pull_requests")
    ):
        return False
    m = _DEFINITE_SINGLE.search(u.text)
    if (
        m is None
        or u.repo_mentions
        or u.build_numbers
        or u.pr_numbers
        or u.hash_numbers
        or u.commits
        or u.authors
    ):
        return False
    if u.branch or u.all_repos or len(req.repositories) < 2:
        return False
    noun = re.sub(r"\s+", " ", m.group("n"))
    kind = _KIND_NOUN.get(noun, "build")
    options = ", ".join(r.slug for r in req.repositories[:12])
    c.clarify.append(
        f"Which {kind} do you mean — of which service? Name a repository"
        + (
            " (and an environment)"
            if kind == "deployment"
            else " or a build number"
            if kind == "build"
            else " or a PR number"
        )
        + f". Candidates: {options}"
    )
    c.understood.append(f"'the {noun}' names one {kind} but not which repository's")
    return True


def _no_subject(u: Understanding) -> bool:
    """ "is it broken?" with no earlier turn: "it" refers to nothing, so any answer would be a guess."""
    named = (
        u.topics
        or u.repo_mentions
        or u.window
        or u.build_numbers
        or u.pr_numbers
        or u.hash_numbers
        or u.commits
        or u.paths
        or u.symbols
        or u.authors
        or u.branch
        or u.environment
        or u.all_repos
        or u.trigger
        or u.awaiting_review
        or u.pr_states
        or u.in_progress
        or u.draft
    )
    return not named and _POINTING.search(u.text) is not None


_YES_NO = re.compile(
    r"^\s*(?:is|are|was|were|did|does|do|has|have)\s+(?!there\b|any|anything|anyone|anybody|all\b|every|some|something|somebody|someone|we\b)"
)
_QUANTIFIED = re.compile(
    r"\b(?:any|anything|anyone|all|every|each|some|something|which|what|how\s+many|there)\b"
)


def _status_without_subject(u: Understanding) -> bool:
    """ "are the tests passing again?", "is the build green now?": a yes/no status of one unnamed thing.

    With no repository, branch, PR/build number, commit, author or window named there is nothing to
    check; a listing ("did anything fail?", "are there failing builds?") is quantified and is answered.
    """
    if not _YES_NO.match(u.text) or _QUANTIFIED.search(u.text):
        return False
    if not (u.results or u.in_progress or set(u.topics) & {"pipelines", "deployments"}):
        return False
    named = (
        u.repo_mentions
        or u.build_numbers
        or u.pr_numbers
        or u.hash_numbers
        or u.commits
        or u.paths
        or u.symbols
        or u.authors
        or u.branch
        or u.environment
        or u.all_repos
        or u.window
        or u.trigger
    )
    return not named


def _has_filter(u: Understanding) -> bool:
    return bool(
        u.branch
        or u.authors
        or u.results
        or u.pr_states
        or u.environment
        or u.repos
        or u.trigger
        or u.awaiting_review
    )


def _refetch_for_filter(c: _Ctx, prev: PriorTurn, filt: RecordFilter) -> None:
    """A filter the previous records cannot answer (approvals are not in PR listings): re-list the same
    repositories with the filter server-side; the reporter keeps only the previous answer's refs."""
    if not filt.awaiting_review:
        return
    prs = [r for r in prev.primary if isinstance(r, PullRequestRecord)]
    if not prs:
        return
    repos = sorted({r.repo for r in prs})
    c.focus.within = [r.ref for r in prs]
    c.step(
        "list_pull_requests",
        {"repos": repos, "states": ["OPEN"], "awaiting_review": True, "limit": 200},
        "approvals of the previous answer's pull requests",
        primary=True,
    )
    c.understood.append(
        "approvals are not in the previous listing: re-listing those repositories' open PRs awaiting review"
    )


def _filter_from(c: _Ctx) -> RecordFilter:
    u = c.u
    return RecordFilter(
        awaiting_review=u.awaiting_review,
        branch=u.branch,
        author=_first(u.authors),
        results=u.results,
        states=[] if u.awaiting_review else u.pr_states,
        environment=u.environment,
        repos=u.repos,
        trigger=u.trigger,
        since=u.window.start if u.window else None,
        until=u.window.end if u.window else None,
    )


def _about_record(c: _Ctx, rec: Evidence, index: int) -> Plan:
    u, repo = c.u, rec.repo
    ordinal = "the last one" if index == -1 else f"result #{index + 1}"
    match rec:
        case PipelineRecord() | StepRecord() | TestCaseRecord():
            failed = (
                not isinstance(rec, PipelineRecord)
                or rec.result in ("FAILED", "ERROR")
                or {"log", "why"} & set(u.asks)
            )
            c.step(
                "pipeline_failure" if failed else "get_pipeline",
                {"repo": repo, "build_number": rec.build_number},
                f"{ordinal}: pipeline #{rec.build_number}",
                primary=True,
            )
            what = f"pipeline #{rec.build_number} in {repo}"
        case PullRequestRecord():
            c.step(
                "get_pull_request",
                {
                    "repo": repo,
                    "pr_id": rec.id,
                    "include_diff": bool({"diff", "changes"} & set(u.asks)),
                    "include_comments": "comments" in u.asks,
                },
                f"{ordinal}: PR #{rec.id}",
                primary=True,
            )
            what = f"PR #{rec.id} in {repo}"
        case CommitRecord():
            c.step("get_commit", {"repo": repo, "commit": rec.hash}, f"{ordinal}: commit", primary=True)
            what = f"commit {rec.hash[:12]} in {repo}"
        case DeploymentRecord():
            env = (rec.environment or "production").lower()
            c.step(
                "deployment_changes",
                {"repo": repo, "environment": env, "deployment_uuid": rec.uuid},
                f"{ordinal}: what that deployment shipped",
                primary=True,
            )
            what = f"deployment {rec.release or rec.uuid} of {repo}"
        case BranchRecord():
            c.step(
                "list_commits",
                {"repo": repo, "branch": rec.name},
                f"{ordinal}: commits on {rec.name}",
                primary=True,
            )
            what = f"branch {rec.name} in {repo}"
        case CodeMatchRecord() | FileChangeRecord() | FileContentRecord():
            c.step(
                "browse_source",
                {"repo": repo, "path": rec.path, "ref": rec.rev},
                f"{ordinal}: the file",
                primary=True,
            )
            what = f"{rec.path} in {repo}"
        case RepositoryRecord():
            c.step("browse_source", {"repo": rec.slug or repo}, f"{ordinal}: the repository", primary=True)
            what = f"repository {rec.slug or repo}"
        case PersonRecord():
            c.not_understood.append(f"don't know how to look closer at a person ({rec.name})")
            return c.plan("unknown", "follow-up on a previous result", None)
    c.understood.append(f"follow-up on {ordinal} of the previous answer: {what}")
    return c.plan("follow_up", f"details of {what}", [repo] if repo else None)


def _rerun(c: _Ctx, prev: PriorTurn) -> Plan:
    """The previous question again with other repositories and/or another window.

    Re-planned from the previous question (never its steps: those may name objects of the old
    repositories, e.g. build numbers fetched for failure details).
    """
    repos, ok = _target_repos(c) if (c.u.repo_mentions or c.request.repo_filter) else (None, True)
    if not ok:
        if not c.clarify:
            return c.plan("unknown", "repository not resolved", None)
        return c.plan(prev.plan.family, prev.plan.intent, prev.plan.repos)
    w = c.u.window
    req = c.request
    again = PlanRequest.read(
        prev.question,
        req.now,
        tz=req.tz,
        mode=req.mode,
        incident_at=req.incident_at,
        repo_filter=repos or prev.plan.repos,
        repositories=req.repositories,
    )
    plan = build_plan(again)
    if plan.family in ("unknown", "follow_up") or not plan.steps:
        return _rerun_steps(c, prev, repos, w)
    steps = []
    for step in plan.steps:
        args = dict(step.args)
        if w is not None and "since" in args:
            args["since"], args["until"] = w.start, w.end
        steps.append(
            Step(
                id=step.id,
                tool=step.tool,
                args=args,
                why=step.why,
                primary=step.primary,
                depends_on=step.depends_on,
            )
        )
    changed = [f"repositories → {', '.join(repos)}" if repos else "", f"window → {w.label}" if w else ""]
    said = " and ".join(x for x in changed if x)
    understood = [*c.understood, f"same question as before (“{prev.question.strip()}”) with {said}"]
    understood += [x for x in plan.understood if not x.startswith(("repositories (from --repo)", "window"))]
    window = w if w is not None else plan.window
    if window is not None:
        understood.append(
            f"window: {window.label} ({window.start:%Y-%m-%d %H:%M}–{window.end:%Y-%m-%d %H:%M} UTC)"
        )
    again_plan = plan.model_copy(
        update={
            "steps": steps,
            "window": window,
            "intent": f"{plan.intent} — again with {said}",
            "understood": understood,
        }
    )
    # the earlier question's constraints still hold, except those this one restates
    current = c.constraints(again_plan)
    restated = {x.kind for x in current}
    again_plan.constraints = current + [x for x in plan.constraints if x.kind not in restated]
    return again_plan


def _rerun_steps(c: _Ctx, prev: PriorTurn, repos: list[str] | None, w: Window | None) -> Plan:
    """When the previous question cannot be re-planned: its listing steps with new repositories/window."""
    for old in prev.plan.steps:
        args = dict(old.args)
        if any(k in args for k in ("build_number", "pr_id", "commit", "deployment_uuid")) and repos:
            continue  # an object of the old repository: it does not exist under that number elsewhere
        if w is not None and "since" in args:
            args["since"], args["until"] = w.start, w.end
        if repos and "repo" in args:
            for slug in repos:
                c.step(old.tool, {**args, "repo": slug}, old.why, primary=old.primary)
            continue
        if repos and old.tool in (
            "list_pipelines",
            "list_pull_requests",
            "list_branches",
            "list_deployments",
            "search_code",
        ):
            args["repos"] = repos
        c.step(old.tool, args, old.why, primary=old.primary)
    c.focus = prev.plan.focus.model_copy(deep=True)
    if w is None:
        c.window = prev.plan.window
    changed = [f"repositories → {', '.join(repos)}" if repos else "", f"window → {w.label}" if w else ""]
    c.understood.append("same question as before with " + " and ".join(x for x in changed if x))
    return c.plan(
        prev.plan.family,
        f"{prev.plan.intent} — again with " + " and ".join(x for x in changed if x),
        repos or prev.plan.repos,
    )


# --- the planner ---------------------------------------------------------------------------------


def build_plan(request: PlanRequest) -> Plan:
    """Plan a question offline from intake's reading of it; pure apart from `request` (no clock, no I/O)."""
    u = request.intake
    c = _Ctx(request, u)
    if u.write_verbs:
        verb = u.write_verbs[0]
        c.not_understood.append(
            f"'{verb}' is a change to Bitbucket; bbscout is read-only and can't {verb} anything"
        )
        return c.plan("unknown", "refused: write action", None)
    if u.out_of_scope:
        c.not_understood.append(f"Bitbucket has no data about {', '.join(u.out_of_scope)}")
        return c.plan("unknown", "out of scope", None)
    if u.metric_ask and request.mode == "ask":
        where = f" in {u.repos[0]}" if len(u.repos) == 1 else ""
        c.not_understood.append(
            f"'{u.metric_ask}' is a metric: bbscout has no metrics or monitoring data (only Bitbucket: "
            f"builds, PRs, commits, deployments, code), so it cannot tell its value. If it moved, ask "
            "instead "
            f"'what changed{where or ' in <service>'} before <time>?'"
        )
        return c.plan("unknown", "metrics: no data", None)
    if request.previous is not None:
        plan = _follow_up(c, request.previous)
        if plan is not None:
            return plan
    elif _no_subject(u) and request.mode == "ask" and not request.repo_filter:
        c.not_understood.append(
            f"'{request.question.strip()}' does not say what it is about. Which one do you mean? Please name "
            "a repository, a build or PR number, a branch or a deployment (e.g. 'is the main build of "
            "checkout-service broken?')"
        )
        return c.plan("unknown", "no subject: ask which one", None)
    elif _status_without_subject(u) and request.mode == "ask" and not request.repo_filter:
        c.clarify.append(
            f"'{request.question.strip()}' asks about a status but not of what. Which repository or branch "
            "do you mean (e.g. 'are the tests passing on main in checkout-service?')?"
        )
        c.understood.append("a yes/no status question naming no repository, branch, PR or build")
        return c.plan("unknown", "no subject: ask which repository", None)
    family = _family(c)
    if family == "unknown":
        c.not_understood.append(
            f"couldn't map '{request.question.strip()}' to pipelines, pull requests, commits, "
            "branches, deployments, code, repositories or an incident"
        )
        return c.plan("unknown", "not understood", None)
    c.understood.insert(0, f"family: {family}")
    if family == "repositories":
        return c.plan(family, _repositories(c, None), None)  # a name in the question filters, it is no target
    if _ambiguous_single(c, family):
        return c.plan(family, "ambiguous: which one?", None)
    repos, ok = _target_repos(c)
    if not ok and family != "incident":
        if not c.clarify:  # an unknown name: say so, never answer for a look-alike repository
            return c.plan("unknown", "repository not resolved", None)
        return c.plan(family, "repository not resolved", repos)
    if family == "incident" and not ok:
        c.clarify.clear()
        repos = repos or None
    intent = _BUILDERS[family](c, repos)
    return c.plan(family, intent, repos)


class RulesPlanner:
    """Offline planner over intake's vocabulary (no LLM). `review` adds nothing: the generic follow-up
    logic (failed pipeline → pipeline_failure, deployment → deployment_changes) lives with the lead."""

    name: Literal["rules"] = "rules"

    async def plan(self, request: PlanRequest, conversation: Conversation) -> Planned:
        return Planned(build_plan(request), conversation)

    async def review(
        self,
        request: PlanRequest,
        plan: Plan,
        outcomes: list[StepOutcome],
        round_no: int,
        conversation: Conversation,
    ) -> Reviewed:
        del request, plan, outcomes, round_no
        return Reviewed([], conversation)
