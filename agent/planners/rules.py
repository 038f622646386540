"""The offline planner: question → typed `Plan` from intake's `Understanding`, no model involved.

Why it exists: bbscout must answer the common on-call questions with no LLM configured, and be a
predictable baseline the LLM planner is measured against. It is deliberately conservative: when a
question doesn't map cleanly (an unknown repository, something Bitbucket has no data for) it says so in
`not_understood`/`clarify` with no steps, instead of a confident wrong plan. Requests to change Bitbucket
never reach it: the graph's read-only guard (`agent.readonly`) answers them before any planner.

The decisions are data (`agent.planners.table`): the family and intent rows, the default windows, and
the slots that fill each tool argument from the question (`agent.planners.slots`). This module is the
interpreter: the guards that say "unknown" or ask first, the `SHAPES` that turn a row into steps, and the
incident recipes. Chat follow-ups live in `agent.planners.followups`.

Defaults (each stated in `Plan.understood` when applied):
    pipelines without a time → last 24 hours (a work branch such as feature/x: its whole history, bounded
    by the limit); PRs "recent" / merged / declined → last 7 days, except an explicit state in a named
    repository (every such PR, bounded by the limit) (open PRs: no window, they are open whatever their
    age); commits → last 7 days; a selective filter (text, path, reviewer/approver/participant) or "the
    latest/oldest X" → no window (all history, newest first); branches "recent" → last 7 days, "stale" →
    no commit for 30 days; deployment lists and rollbacks → last 7 days; incidents → deployments
    [T-48h, T+30m], merged PRs [T-72h, T+30m], failed pipelines [T-24h, T+30m].
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bbscout.agent.focus import Incident, IncidentKind, NewestDeployment
from bbscout.agent.intake import incident_kind, parse_instant
from bbscout.agent.plan import Family, Plan, StepOutcome, Window
from bbscout.agent.planners.base import Conversation, Planned, PlanRequest, Reviewed
from bbscout.agent.planners.draft import LLM_HINT, Draft, features
from bbscout.agent.planners.followups import follow_up
from bbscout.agent.planners.slots import STALE_LIMIT, fill, pr_states
from bbscout.agent.planners.table import FAMILIES, INTENTS, Intent, Shape, WindowRule

__all__ = ["LLM_HINT", "RulesPlanner", "build_plan"]

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
_KIND_NOUN = {
    "definite_deployment": "deployment",
    "definite_build": "build",
    "definite_pull_request": "pull request",
}


# --- the table, interpreted ----------------------------------------------------------------------


def family_of(f: frozenset[str]) -> Family:
    """The first `FAMILIES` row whose condition holds; "unknown" when none does."""
    return next((rule.family for rule in FAMILIES if rule.when.holds(f)), "unknown")


def intent_of(family: Family, f: frozenset[str]) -> Intent | None:
    """The first `INTENTS` row of `family` whose condition holds."""
    return next((row for row in INTENTS if row.family == family and row.when.holds(f)), None)


def _late_features(d: Draft, row: Intent, f: frozenset[str]) -> frozenset[str]:
    """Features that depend on the row's slots: the PR states a question ends up with."""
    extra: set[str] = set()
    if row.tool == "list_pull_requests":
        states = fill(row.tool, d, f).get("states", ["OPEN"])
        if states == ["OPEN"]:
            extra.add("open_only")
        if d.u.pr_states or "merged_prs" in f:
            extra.add("explicit_state")
        if d.repos and (d.u.repos or d.request.repo_filter):
            extra.add("named_repo")
    return f | extra


def _apply_window(d: Draft, row: Intent, f: frozenset[str]) -> None:
    """The question's window, or the first matching default of the row (stated in `understood`)."""
    if d.window is not None or not row.windows:
        return
    rule: WindowRule | None = next((w for w in row.windows if w.when.holds(f)), None)
    if rule is None:
        return
    if rule.span is not None:
        d.default_window(rule.span, rule.label)
    elif rule.say:
        d.understood.append("no time given: " + _say(rule.say, d, f))


def _say(template: str, d: Draft, f: frozenset[str]) -> str:
    u = d.u
    selective = [
        name
        for name, on in (
            ("the text", u.texts),
            ("the path", u.paths),
            ("the reviewer", u.reviewers),
            ("the approver", u.approvers),
            ("the participant", u.participants),
            ("the author", u.authors),
            ("one object", u.pick),
        )
        if on
    ]
    return template.format(
        branch=u.branch
        or (f"the branches named like “{' '.join(u.branch_words)}”" if u.branch_words else ""),
        pick=u.pick,
        count=u.count,
        selective=", ".join(selective) or "the filter",
        states="/".join(s.lower() for s in pr_states(d, f)),
        repos=", ".join(d.repos or []),
    )


def plan_intent(d: Draft, family: Family, f: frozenset[str]) -> str:
    """Run the family's intent row: window, slots, shape; returns the plan's intent text."""
    row = intent_of(family, f)
    if row is None:
        d.not_understood.append(f"no {family} question shape matches this")
        return "not understood"
    f = _late_features(d, row, f)
    _apply_window(d, row, f)
    args = fill(row.tool, d, f, dict(row.fixed))
    said = SHAPES[row.shape](d, row, args, f)
    _note_filters(d, row.tool, args)
    _focus(d, row, args, f)
    return said


def _note_filters(d: Draft, tool: str, args: dict[str, Any]) -> None:
    """State the filters the step applies, once each (`understood`)."""
    for name in (
        "author",
        "reviewer",
        "approver",
        "participant",
        "text",
        "message_contains",
        "path",
        "trigger",
        "pick",
        "time_field",
    ):
        value = args.get(name)
        if value and not any(line.startswith(f"{name}:") for line in d.understood):
            d.understood.append(f"{name}: {value}")


def _focus(d: Draft, row: Intent, args: dict[str, Any], f: frozenset[str]) -> None:
    """What the reporters filter the answer set by, from the primary step's arguments."""
    focus = d.focus
    if row.tool == "list_pipelines":
        focus.results = list(args.get("results") or [])
        focus.why_failed = bool({"ask:why", "ask:log"} & f) and "failed" in f
        focus.in_progress = bool(args.get("in_progress"))
        results = focus.results
        if set(results) == {"FAILED", "ERROR"}:
            d.understood.append("'failed' means results FAILED and ERROR (not STOPPED)")
        elif results:
            d.understood.append(f"results: {', '.join(results)}")
        if focus.in_progress:
            focus.progress = list(d.u.progress) if len(d.u.progress) < 3 else []
            said = "/".join(focus.progress) if focus.progress else "running, pending or paused"
            d.understood.append(f"unfinished pipelines only: {said}")
    elif row.tool == "list_pull_requests":
        focus.states = list(args.get("states") or ["OPEN"])
    elif row.tool == "list_deployments" and row.shape != "newest_then_changes":
        focus.statuses = list(args.get("statuses") or [])
        if focus.statuses:
            d.understood.append(f"deployment outcome: {', '.join(focus.statuses)}")
        if "rollback" in f:
            focus.rollbacks = True
            d.understood.append("rollbacks: deployments that redeployed an earlier commit")


# --- shapes: a row's steps -----------------------------------------------------------------------


def _one(d: Draft, row: Intent, args: dict[str, Any], f: frozenset[str]) -> str:
    d.step(row.tool, args, row.why or row.name, primary=True)
    return _describe(d, row, args)


def _per_default_branch(d: Draft, row: Intent, args: dict[str, Any], f: frozenset[str]) -> str:
    """ "on main" across repositories whose main branch differs ("main" vs "master"): one call per name."""
    key = "destination_branch" if row.tool == "list_pull_requests" else "branch"
    groups: dict[str | None, list[str] | None] = {args.get(key): d.repos}
    if d.u.default_branch and args.get(key):
        by_branch: dict[str | None, list[str]] = {}
        for r in d.repo_records(d.repos):
            by_branch.setdefault(r.main_branch, []).append(r.slug)
        if len(by_branch) > 1:
            d.understood.append(
                "default branch per repository: "
                + ", ".join(f"{b} ({len(s)} repos)" for b, s in by_branch.items())
            )
            groups = dict(by_branch.items())
        elif by_branch:
            groups = {next(iter(by_branch)): d.repos}
    for branch, group in groups.items():
        d.step(row.tool, {**args, "repos": group, key: branch}, row.why or row.name, primary=True)
    return _describe(d, row, args)


def _per_repo_branch(d: Draft, row: Intent, args: dict[str, Any], f: frozenset[str]) -> str:
    """One call per repository: the named branch, or that repository's own main branch."""
    records = d.repo_records(d.repos)
    if not records:
        d.clarify.append("Which repository? (no repositories are known yet)")
    args.pop("repos", None)
    for r in records:
        branch = args.get("branch") or r.main_branch
        d.step(
            row.tool,
            {**args, "repo": r.slug, "branch": branch},
            f"commits on {r.slug}:{branch}",
            primary=True,
        )
    u = d.u
    d.understood.append(f"branch: {u.branch or 'each repository' + chr(39) + 's main branch'}")
    if args.get("merges_only"):
        d.understood.append("merged changes only (merge commits and merged PRs)")
    if args.get("time_field") == "entered_branch":
        d.understood.append("timed by when each commit entered the branch's first-parent history (landed)")
    return _describe(d, row, args)


def _per_repo(d: Draft, row: Intent, args: dict[str, Any], f: frozenset[str]) -> str:
    env = args.get("environment") or "production"
    if not d.u.environment:
        d.understood.append("environment: production (none named)")
    d.focus.environment = env
    for repo in d.repos or []:
        d.step(
            row.tool,
            {**args, "repo": repo, "environment": env},
            f"what the latest {env} deployment of {repo} shipped",
            primary=True,
        )
    return f"what changed in the latest {env} deployment of {', '.join(d.repos or [])}"


def _newest_then_changes(d: Draft, row: Intent, args: dict[str, Any], f: frozenset[str]) -> str:
    env = args.get("environment") or "production"
    if not d.u.environment:
        d.understood.append("environment: production (none named)")
    d.focus.environment = env
    where = f"of {', '.join(d.repos)}" if d.repos else "across repositories"
    if d.window is not None:  # "the last deployment yesterday": the newest in the window
        listing = {"repos": d.repos, "environment": env, "since": d.window.start, "until": d.window.end}
        listing |= {"statuses": ["SUCCESSFUL"], "pick": "newest"}
    else:
        listing = {"repos": d.repos, "environment": env, "latest_per_environment": True}
    step = d.step(row.tool, listing, f"find the latest {env} deployment {where}", primary=True)
    d.focus.newest_deployment = NewestDeployment(from_step=step.id, environment=env)
    d.understood.append(f"'the last deployment': the newest one {where}, then what it shipped")
    return f"what changed in the latest {env} deployment" + (f", {d.window.label}" if d.window else "")


def _single_repo(d: Draft, row: Intent, args: dict[str, Any], f: frozenset[str]) -> str:
    u = d.u
    build = (u.build_numbers or u.hash_numbers)[0]
    repo = d.single_repo(d.repos, f"build {build}")
    if repo is None:
        return f"pipeline {build}"
    d.step(row.tool, {"repo": repo, "build_number": build}, f"pipeline #{build} in {repo}", primary=True)
    failure = row.tool == "pipeline_failure"
    d.understood.append(
        f"pipeline #{build} in {repo}" + (" (why it failed, with the log)" if failure else "")
    )
    return f"pipeline #{build} in {repo}"


def _each_number(d: Draft, row: Intent, args: dict[str, Any], f: frozenset[str]) -> str:
    numbers = d.u.pr_numbers or d.u.hash_numbers
    repo = d.single_repo(d.repos, f"PR #{numbers[0]}")
    if repo is None:
        return f"PR #{numbers[0]}"
    for n in numbers:
        d.step(row.tool, {**args, "repo": repo, "pr_id": n}, f"PR #{n} in {repo}", primary=True)
    d.understood.append(f"pull request(s) {', '.join('#' + str(n) for n in numbers)} in {repo}")
    return f"PR #{numbers[0]} in {repo}"


def _each_commit(d: Draft, row: Intent, args: dict[str, Any], f: frozenset[str]) -> str:
    commits = d.u.commits
    repo = d.single_repo(d.repos, f"commit {commits[0]}")
    if repo is None:
        return f"commit {commits[0]}"
    prs = row.tool == "pull_requests_for_commit"  # "which PR brought …": the PR is the answer
    for h in commits:
        d.step("get_commit", {"repo": repo, "commit": h}, f"commit {h}", primary=not prs)
        d.step(
            "pull_requests_for_commit", {"repo": repo, "commit": h}, f"the PR that brought {h}", primary=prs
        )
    return f"{'the pull request of ' if prs else ''}commit {commits[0]} in {repo}"


def _each_path(d: Draft, row: Intent, args: dict[str, Any], f: frozenset[str]) -> str:
    u = d.u
    repo = d.single_repo(_exact_first(d, d.repos), u.paths[0])
    if repo is None:
        return f"file {u.paths[0]}"
    ref = u.branch if u.branch and not u.default_branch else None
    for path in u.paths[:3]:
        d.step("browse_source", {"repo": repo, "path": path, "ref": ref}, f"{path} in {repo}", primary=True)
    d.understood.append(f"show exactly {', '.join(u.paths[:3])} in {repo}")
    return f"{u.paths[0]} in {repo}"


def _single_repo_file(d: Draft, row: Intent, args: dict[str, Any], f: frozenset[str]) -> str:
    """ "the variables file of the eks module in the tf repo": the file whose path the words describe."""
    u = d.u
    said = " ".join(u.file_words)
    repo = d.single_repo(_exact_first(d, d.repos), f"the {said}")
    if repo is None:
        return f"the {said}"
    ref = u.branch if u.branch and not u.default_branch else None
    d.step(row.tool, {"repo": repo, "find": list(u.file_words), "ref": ref}, row.why, primary=True)
    d.understood.append(f"the file in {repo} whose path matches “{said}”")
    return f"the {said} in {repo}"


def _exact_first(d: Draft, repos: list[str] | None) -> list[str] | None:
    """When one repository is needed and several were named, the one named by its exact slug wins
    ("the payments client source … from checkout-service": 'payments' describes the file)."""
    if not repos or len(repos) < 2 or d.request.repo_filter:
        return repos
    exact = [m.slugs[0] for m in d.u.repo_mentions if m.status == "resolved" and m.phrase == m.slugs[0]]
    if len(exact) == 1:
        d.understood.append(f"repository: {exact[0]} (named exactly; the other names describe the file)")
        return exact
    return repos


def _each_query(d: Draft, row: Intent, args: dict[str, Any], f: frozenset[str]) -> str:
    u = d.u
    queries = u.symbols or [p.rsplit("/", 1)[-1] for p in u.paths]
    definitions = bool(args.get("definitions_only"))
    for q in queries[:3]:
        d.step(
            row.tool,
            {**args, "query": q},
            f"where '{q}' is defined" if definitions else f"where '{q}' appears",
            primary=True,
        )
    d.focus.query = queries[0] if queries else ""
    if definitions:
        d.understood.append(
            f"where {', '.join(queries[:3])} is defined: only lines that define it "
            "(def/class/function/const …)"
        )
    else:
        d.understood.append(f"search code for: {', '.join(queries[:3])}")
    return f"{'definition of' if definitions else 'code search for'} {', '.join(queries[:3])}"


def _stale_branches(d: Draft, row: Intent, args: dict[str, Any], f: frozenset[str]) -> str:
    u = d.u
    cutoff = u.window.start if u.window else d.now - STALE_DEFAULT
    d.understood.append(
        f"stale: no commit since {cutoff:%Y-%m-%d}" + ("" if u.window else " (default 30 days)")
    )
    d.window = Window(start=cutoff, end=d.now, label=u.window.label if u.window else "no commit in 30 days")
    d.focus.stale = True
    args.pop("since", None)
    d.step(
        row.tool,
        {**args, "stale_before": cutoff, "limit": u.count or STALE_LIMIT},
        row.why,
        primary=True,
    )
    return "stale branches"


SHAPES: dict[Shape, Callable[[Draft, Intent, dict[str, Any], frozenset[str]], str]] = {
    "one": _one,
    "per_default_branch": _per_default_branch,
    "per_repo_branch": _per_repo_branch,
    "per_repo": _per_repo,
    "single_repo": _single_repo,
    "each_number": _each_number,
    "each_commit": _each_commit,
    "each_path": _each_path,
    "single_repo_file": _single_repo_file,
    "each_query": _each_query,
    "newest_then_changes": _newest_then_changes,
    "stale_branches": _stale_branches,
}


def _describe(d: Draft, row: Intent, args: dict[str, Any]) -> str:
    """The plan's intent: the row's name with its state, scope and window ("failed pipelines, last 24
    hours")."""
    what = row.name
    if row.tool == "list_pipelines":
        results = args.get("results") or []
        state = (
            "failed"
            if set(results) == {"FAILED", "ERROR"}
            else ", ".join(results).lower()
            if results
            else "running"
            if args.get("in_progress")
            else "recent"
        )
        what = f"{state} pipelines"
    elif row.tool == "list_pull_requests":
        what = f"{'/'.join(s.lower() for s in args.get('states', ['OPEN']))} pull requests"
    elif row.tool == "list_commits" and args.get("merges_only"):
        what = "merged commits"
    if args.get("pick") and row.name != "the newest deployment":
        what = f"the {args['pick']} of the {what}"
    if d.window is not None:
        return f"{what}, {d.window.label}"
    if row.tool == "list_pipelines" and d.u.branch:
        return f"{what} on {d.u.branch}"
    return what


# --- incidents -----------------------------------------------------------------------------------


def _incident(c: Draft, repos: list[str] | None) -> str:
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


def _onset(window: Window | None, now: datetime) -> bool:
    """A stated onset ("since ~06:15", "at 6am", "after lunch"): a window open up to now, not a closed
    period ("yesterday", "between 9 and 10")."""
    if window is None:
        return False
    open_ended = window.end >= now - timedelta(minutes=1)
    return open_ended or bool(re.match(r"(?:since|after|from|starting|as of)\b", window.label))


def _ci_incident(c: Draft, repos: list[str] | None, kind: IncidentKind) -> str:
    """A build that broke ("who broke main?") or a flaky test ("tests keep failing randomly"): failures first.

    Build: failed pipelines from an hour before the window (the run that turned it red started before anyone
    noticed) or the 24 hours before `at`, plus the merged/open PRs of the 72 hours before (the suspects).
    Flaky: the failed runs of the window (default 7 days); the review reads each failure to find the test
    that fails on several branches.
    """
    req, u = c.request, c.u
    at = req.incident_at.astimezone(UTC) if req.incident_at else (u.window.end if u.window else c.now)
    since = u.window.start if u.window else None
    if since is not None and kind == "build" and _onset(u.window, c.now):
        # "red since 07:16", "went red ~06:15", "broke around 6am": when it was noticed, and often only
        # roughly; the run that broke it started before
        since -= CI_SLACK
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


# --- guards: what is unknown or asked before any table row ------------------------------------


def _no_subject(d: Draft, f: frozenset[str]) -> bool:
    """ "is it broken?" with no earlier turn: "it" refers to nothing, so any answer would be a guess."""
    u = d.u
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
        or u.reviewers
        or u.approvers
        or u.participants
        or u.texts
        or u.branch
        or u.environment
        or u.all_repos
        or u.trigger
        or u.awaiting_review
        or u.pr_states
        or u.in_progress
        or u.draft
    )
    return not named and "pointing" in f


def _status_without_subject(d: Draft, f: frozenset[str]) -> bool:
    """ "are the tests passing again?", "is the build green now?": a yes/no status of one unnamed thing.

    With no repository, branch, PR/build number, commit, author or window named there is nothing to
    check; a listing ("did anything fail?", "are there failing builds?") is quantified and is answered.
    """
    u = d.u
    if "yes_no" not in f or "quantified" in f:
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


def _ambiguous_single(d: Draft, family: str, f: frozenset[str]) -> bool:
    """ "when did the deploy go out?", "why did the build fail?": one definite thing, nothing saying which.

    With several repositories in the workspace (and no --repo, repository, number, branch, commit or
    person naming it) any pick would be a guess: ask which one instead, listing the candidates.
    """
    u, req = d.u, d.request
    if (
        req.mode != "ask"
        or req.repo_filter
        or req.previous is not None
        or family not in ("pipelines", "deployments", "pull_requests")
    ):
        return False
    cue = next((c for c in _KIND_NOUN if c in f), None)
    if cue is None or u.repo_mentions or u.build_numbers or u.pr_numbers or u.hash_numbers or u.commits:
        return False
    if "people" in f or u.branch or u.all_repos or len(req.repositories) < 2:
        return False
    kind = _KIND_NOUN[cue]
    options = ", ".join(r.slug for r in req.repositories[:12])
    d.clarify.append(
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
    d.understood.append(f"'the {kind}' names one {kind} but not which repository's")
    return True


# --- the planner ---------------------------------------------------------------------------------


def build_plan(request: PlanRequest) -> Plan:
    """Plan a question offline from intake's reading of it; pure apart from `request` (no clock, no I/O)."""
    u = request.intake
    d = Draft(request, u)
    f = features(d)
    if u.out_of_scope:
        d.not_understood.append(f"Bitbucket has no data about {', '.join(u.out_of_scope)}")
        return d.plan("unknown", "out of scope", None)
    if u.metric_ask and request.mode == "ask":
        where = f" in {u.repos[0]}" if len(u.repos) == 1 else ""
        d.not_understood.append(
            f"'{u.metric_ask}' is a metric: bbscout has no metrics or monitoring data (only Bitbucket: "
            "builds, PRs, commits, deployments, code), so it cannot tell its value. If it moved, ask "
            f"instead 'what changed{where or ' in <service>'} before <time>?'"
        )
        return d.plan("unknown", "metrics: no data", None)
    if request.previous is not None:
        plan = follow_up(d, request.previous, build_plan)
        if plan is not None:
            return plan
    elif _no_subject(d, f) and request.mode == "ask" and not request.repo_filter:
        d.not_understood.append(
            f"'{request.question.strip()}' does not say what it is about. Which one do you mean? Please name "
            "a repository, a build or PR number, a branch or a deployment (e.g. 'is the main build of "
            "checkout-service broken?')"
        )
        return d.plan("unknown", "no subject: ask which one", None)
    elif _status_without_subject(d, f) and request.mode == "ask" and not request.repo_filter:
        d.clarify.append(
            f"'{request.question.strip()}' asks about a status but not of what. Which repository or branch "
            "do you mean (e.g. 'are the tests passing on main in checkout-service?')?"
        )
        d.understood.append("a yes/no status question naming no repository, branch, PR or build")
        return d.plan("unknown", "no subject: ask which repository", None)
    family = family_of(f)
    if family == "unknown":
        d.not_understood.append(
            f"couldn't map '{request.question.strip()}' to pipelines, pull requests, commits, "
            "branches, deployments, code, repositories or an incident"
        )
        return d.plan("unknown", "not understood", None)
    d.understood.insert(0, f"family: {family}")
    if family == "repositories":  # a name in the question filters, it is no target
        if d.u.name_filter:
            d.understood.append(f"repositories whose name contains '{d.u.name_filter}'")
        return d.plan(family, plan_intent(d, family, f), None)
    if _ambiguous_single(d, family, f):
        return d.plan(family, "ambiguous: which one?", None)
    repos, ok = d.target_repos()
    if not ok and family != "incident":
        if not d.clarify:  # an unknown name: say so, never answer for a look-alike repository
            return d.plan("unknown", "repository not resolved", None)
        return d.plan(family, "repository not resolved", repos)
    if family == "incident" and not ok:
        d.clarify.clear()
        repos = repos or None
    d.repos = repos
    intent = _incident(d, repos) if family == "incident" else plan_intent(d, family, f)
    return d.plan(family, intent, repos)


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
