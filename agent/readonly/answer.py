"""The refusal as people read it: first line "read-only, did nothing", then what they need to do it.

Written from the evidence the help fetched (`agent.readonly.help`), never by a model: the first line
says plainly that bbscout is read-only and changed nothing, the bullets name the objects (each a link
to Bitbucket, cited as the answer's entities), and a last line says where in Bitbucket to act. Times
are shown in the asker's zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bbscout.agent.plan import StepOutcome, records_of
from bbscout.agent.planners.base import PlanRequest
from bbscout.agent.readonly.grammar import ActRequest
from bbscout.agent.readonly.target import (
    FAILED,
    MAX_TARGETS,
    Target,
    chosen_runs,
    culprit_run,
    matches,
    resolve,
)
from bbscout.agent.readonly.vocab import Action
from bbscout.agent.report import Report
from bbscout.tools.evidence import (
    BranchRecord,
    CommitRecord,
    DeploymentRecord,
    Evidence,
    PipelineRecord,
    PullRequestRecord,
    StepRecord,
)

__all__ = ["first_line", "write"]

_VERB: dict[Action, str] = {
    "merge": "merge",
    "approve": "approve",
    "decline": "decline",
    "comment": "comment on",
    "re-run": "re-run",
    "stop": "stop",
    "deploy": "deploy",
    "redeploy": "redeploy",
    "promote": "promote",
    "roll back": "roll back",
    "revert": "revert",
    "create branch": "create",
    "delete branch": "delete",
    "create tag": "create",
    "delete tag": "delete",
    "change settings": "change",
    "change permissions": "change",
    "open pull request": "open",
    "change": "change",
}
_BUTTON: dict[Action, str] = {"merge": "Merge", "approve": "Approve", "decline": "Decline"}


class _Writer:
    """Lines and cited records of one answer."""

    def __init__(self, target: Target, request: PlanRequest) -> None:
        self.target = target
        self.tz = ZoneInfo(request.tz)
        self.lines: list[str] = []
        self.cited: list[Evidence] = []

    def when(self, moment: datetime | None) -> str:
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M %Z") if moment else "?"

    def cite(self, record: Evidence) -> str:
        if record.ref not in {r.ref for r in self.cited}:
            self.cited.append(record)
        return f"[{record.ref}]({record.url})"

    def page(self, repo: str, path: str = "") -> str:
        url = self.target.url(repo)
        return f"{url}{path}" if url else ""

    def add(self, line: str) -> None:
        self.lines.append(line)


def _env(name: str | None) -> str:
    return (name or "production").capitalize()


def _repos(target: Target) -> str:
    return ", ".join(target.repos[:MAX_TARGETS]) if target.repos else ""


def _object(target: Target, act: ActRequest, held: set[str]) -> str:
    """What the refused request would have changed, in a few words (numbers only of objects that exist)."""
    repos, env = _repos(target), target.environment
    where = f" in {repos}" if repos else ""
    action = target.action
    if action in ("roll back", "redeploy"):
        return f"{repos or 'anything'}{f' in {_env(env)}' if repos else ''}"
    if action == "deploy":
        return f"{repos or 'anything'}{f' to {_env(env)}' if repos and env else ''}"
    if action == "promote":
        return f"{repos or 'anything'} to {_env(env)}"
    bound_prs = [r.id for r in target.records if isinstance(r, PullRequestRecord)]
    bound_builds = [r.build_number for r in target.records if isinstance(r, PipelineRecord)]
    named_prs = [
        n for n in target.pr_ids if any(ref.startswith("pr:") and ref.endswith(f"#{n}") for ref in held)
    ]
    prs = named_prs or bound_prs
    builds = [n for n in target.builds if any(ref.endswith(f"#{n}") for ref in held)] or bound_builds
    if prs:
        return ", ".join(f"PR #{n}" for n in prs) + where
    if builds:
        return ", ".join(f"build #{n}" for n in builds) + where
    if target.pr_ids or target.builds:
        return f"the {'pull request' if target.pr_ids else 'build'} you named{where}"
    if action in ("create branch", "delete branch") and target.branch:
        return f"the branch `{target.branch}`{where}"
    if action in ("create tag", "delete tag") and target.releases:
        return f"the tag `{target.releases[0]}`{where}"
    if action == "revert" and act.culprit:
        return f"the change that broke {f'`{target.branch}`' if target.branch else 'the build'}{where}"
    if action == "change permissions":
        return f"any permissions{where}"
    if action == "change settings":
        return f"any settings{where}"
    names = {
        "re-run": "the build", "stop": "the pipeline", "revert": "anything",
        "open pull request": "a pull request", "create branch": "a branch", "delete branch": "the branches",
        "create tag": "a tag", "delete tag": "the tag",
    }  # fmt: skip
    return (
        names.get(action, "the pull request" if action in _BUTTON or action == "comment" else "anything")
        + where
    )


def first_line(act: ActRequest, target: Target, held: set[str]) -> str:
    """ "bbscout is read-only, so I did not roll back web-frontend in Production — nothing was changed …" """
    verbs = [_VERB[target.action], *(_VERB[a] for a in act.also if a != target.action)]
    doing = " or ".join(dict.fromkeys(verbs))
    what = _object(target, act, held)
    return f"**bbscout is read-only, so I did not {doing} {what} — nothing was changed in Bitbucket.**"


# --- per action --------------------------------------------------------------------------------------


def _deployment(w: _Writer, d: DeploymentRecord, label: str) -> None:
    commit = f", commit `{d.commit[:12]}`" if d.commit else ""
    who = f" by {d.deployer}" if d.deployer else ""
    at = w.when(d.completed_on or d.started_on)
    w.add(f"- {label}: {w.cite(d)} release “{d.release}”{commit}, deployed {at}{who}")


def _redeploy_from(w: _Writer, d: DeploymentRecord, verb: str) -> None:
    pipeline = w.page(d.repo, f"/pipelines/results/{d.build_number}") if d.build_number else ""
    deployments = w.page(d.repo, "/deployments")
    where = (
        f"open [build #{d.build_number}]({pipeline}) and use **Redeploy** on its deployment step"
        if pipeline
        else ""
    )
    also = f"the [{d.repo} deployments]({deployments}) page" if deployments else ""
    joined = (
        f"{where}, or start from {also}"
        if where and also
        else where or (f"start from {also}" if also else "")
    )
    if joined:
        w.add(
            f"- Where: to {verb}, {joined} (Bitbucket redeploys by re-running a successful deployment step)."
        )


def _rollback(w: _Writer, outcomes: list[StepOutcome]) -> None:
    listed = [o for o in outcomes if o.tool == "list_deployments"]
    for outcome in listed:
        deployments = [d for d in records_of([outcome], DeploymentRecord) if d.status == "SUCCESSFUL"]
        env = _env(str(outcome.args.get("environment")))
        repo = (outcome.args.get("repos") or ["?"])[0]
        if not deployments:
            w.add(f"- Nothing was deployed successfully to {env} in {repo} in the deployments read.")
            continue
        live = deployments[0]
        previous = next((d for d in deployments[1:] if d.commit != live.commit), None)
        _deployment(w, live, f"Live in {live.environment} now ({repo})")
        if live.rolls_back and previous is not None and live.rolls_back == previous.ref:
            w.add(
                f"  - it is itself a rollback of “{previous.release}”: "
                "rolling back again restores that release"
            )
        elif live.rolls_back:
            w.add(f"  - it is itself a rollback: it replaced {live.rolls_back}")
        if previous is None:
            w.add(
                f"- No earlier successful release of {repo} with another commit "
                f"among the {len(deployments)} read."
            )
            continue
        _deployment(w, previous, "Previous successful release (what a rollback restores)")
        _redeploy_from(w, previous, f"roll back to “{previous.release}”")


def _redeploy(w: _Writer, target: Target, outcomes: list[StepOutcome]) -> None:
    bound = [r for r in target.records if isinstance(r, DeploymentRecord)]
    listed = [d for d in records_of(outcomes, DeploymentRecord) if d.status == "SUCCESSFUL"]
    chosen: list[DeploymentRecord] = bound[:MAX_TARGETS]
    if not chosen and listed:
        wanted = [d for d in listed if any(d.release in (r, r.lstrip("#")) for r in target.releases)]
        chosen = wanted[:1] or listed[:1]
        if target.releases and not wanted:
            w.add(
                f"- No successful deployment of release {', '.join(target.releases)} "
                f"among the {len(listed)} read."
            )
    for d in chosen:
        _deployment(
            w, d, "The deployment to redeploy" if bound or target.releases else f"Live in {d.environment} now"
        )
        _redeploy_from(w, d, f"redeploy “{d.release}”")


def _deploy(w: _Writer, target: Target, outcomes: list[StepOutcome]) -> None:
    live = [d for d in records_of(outcomes, DeploymentRecord) if d.status == "SUCCESSFUL"]
    goal = (target.environment or "production").lower()
    source = (target.source_environment or ("staging" if target.action == "promote" else "")).lower()
    shown = False
    for d in live:
        names = (d.environment.lower(), d.environment_type.lower())
        if goal in names or (source and source in names):
            _deployment(w, d, f"Live in {d.environment} now")
            shown = True
    for run in records_of([o for o in outcomes if o.tool == "list_pipelines"], PipelineRecord):
        w.add(f"- Newest successful build: {w.cite(run)} on `{run.branch}` at {w.when(run.created_on)}")
    for repo in target.repos[:MAX_TARGETS]:
        if not shown and not live:
            w.add(f"- Nothing is deployed successfully to any environment of {repo} in the deployments read.")
        page = w.page(repo, "/deployments")
        if page:
            verb = (
                "**Promote** from the source environment's card"
                if target.action == "promote"
                else (
                    "run the pipeline's manual deployment step (**Deploy**), "
                    "or **Promote** from the environment before it"
                )
            )
            w.add(f"- Where: the [{repo} deployments]({page}) page → {verb}.")


def _failing(w: _Writer, run: PipelineRecord, outcomes: list[StepOutcome]) -> str:
    prefix = f"step:{run.repo}#{run.build_number}/"
    steps = [s for s in records_of(outcomes, StepRecord) if s.ref.startswith(prefix) and s.result in FAILED]
    if not steps and run.result == "STOPPED":
        steps = [
            s for s in records_of(outcomes, StepRecord) if s.ref.startswith(prefix) and s.result == "STOPPED"
        ]
    parts = []
    for step in steps:
        error = _error_line(step.error_lines)
        parts.append(f"failing step “{step.name}”" + (f": `{error[:160]}`" if error else ""))
    if run.error_message and not parts:
        parts.append(f"error: {run.error_message[:160]}")
    return "; ".join(parts)


def _error_line(lines: Sequence[str]) -> str:
    """The line that says why: a pytest `E …` line, else one naming an error, else the first."""
    kept = [line.strip() for line in lines if line.strip()]
    pytest = [line[1:].strip() for line in kept if line.startswith("E ")]
    named = [line for line in kept if re.search(r"(?i)error|exception|fail", line)]
    return (pytest or named or kept or [""])[0]


def _run_line(w: _Writer, run: PipelineRecord) -> str:
    result = run.result or run.state
    branch = f" on `{run.branch}`" if run.branch else ""
    who = f" ({(run.trigger or '').lower()} by {run.creator})" if run.creator else ""
    commit = f", commit `{run.commit[:12]}`" if run.commit else ""
    return f"{w.cite(run)} **{result}**{branch} at {w.when(run.created_on)}{who}{commit}"


def _rerun(w: _Writer, act: ActRequest, target: Target, outcomes: list[StepOutcome]) -> None:
    explained = [o for o in outcomes if o.tool == "pipeline_failure"]
    runs = [next(iter(records_of([o], PipelineRecord)), None) for o in explained]
    found = [r for r in runs if r is not None]
    if not found:
        listed = records_of([o for o in outcomes if o.tool == "list_pipelines"], PipelineRecord)
        found = chosen_runs(target, listed, act.plural)
    if not found and any(o.tool == "list_pipelines" for o in outcomes):
        w.add(f"- No run matched in {_repos(target) or 'the repositories searched'}: nothing to re-run.")
    for run in found:
        failing = _failing(w, run, outcomes)
        w.add(f"- {_run_line(w, run)}" + (f" — {failing}" if failing else ""))
        if run.result not in FAILED and run.state == "COMPLETED":
            w.add(f"  - it did not fail ({run.result}): a re-run repeats a passing build")
        w.add(
            f"- Where: [the run's page]({run.url}) → **Rerun** (the failed steps, or the whole pipeline). "
            "A re-run builds the same commit: a failing test fails again; an agent or infrastructure "
            "error may pass."
        )


def _stop(w: _Writer, target: Target, outcomes: list[StepOutcome]) -> None:
    runs = [r for r in target.records if isinstance(r, PipelineRecord)] or records_of(
        outcomes, PipelineRecord
    )
    running = [r for r in runs if r.state != "COMPLETED"]
    if not runs and outcomes:
        w.add(f"- Nothing is running in {_repos(target) or 'the repositories searched'}.")
    for run in runs[: MAX_TARGETS * 2]:
        w.add(f"- {_run_line(w, run)}" + ("" if run in running else " — already finished"))
    if running:
        pages = ", ".join(f"[#{r.build_number}]({r.url})" for r in running)
        w.add(f"- Where: the run's page ({pages}) → **Stop pipeline**.")


def _pull_request(w: _Writer, pr: PullRequestRecord) -> None:
    approvals = f"approved by {', '.join(pr.approved_by)}" if pr.approved_by else "no approvals yet"
    builds = f"; builds: {', '.join(pr.statuses[:3])}" if pr.statuses else ""
    w.add(
        f"- {w.cite(pr)} **{pr.state}** “{pr.subject or pr.title}” by {pr.author} — "
        f"`{pr.source_branch}` → `{pr.destination_branch}`; {approvals}{builds}"
    )


def _pr_action(w: _Writer, target: Target, outcomes: list[StepOutcome]) -> None:
    prs = [r for r in target.records if isinstance(r, PullRequestRecord)] or records_of(
        outcomes, PullRequestRecord
    )
    if not target.records and not target.pr_ids and target.names and prs:
        best = max(matches(f"{p.title} {p.source_branch} {p.author}", target.names) for p in prs)
        prs = [p for p in prs if matches(f"{p.title} {p.source_branch} {p.author}", target.names) == best]
    if not prs and outcomes:
        w.add(f"- No open pull request found in {_repos(target) or 'the repositories searched'}.")
    for pr in prs[: MAX_TARGETS * 2]:
        _pull_request(w, pr)
    if len(prs) > 1 and not target.records:
        w.add("- Several fit: say which one (its number), or act on it from its page.")
    button = _BUTTON.get(target.action)
    for pr in prs[:MAX_TARGETS]:
        what = f"**{button}**" if button else "the comment box at the bottom (or on a line of the diff)"
        if pr.state != "OPEN" and button:
            w.add(f"- {pr.ref} is {pr.state}: it can no longer be {target.action}d.")
            continue
        w.add(f"- Where: [the pull request]({pr.url}) → {what}.")


def _revert(w: _Writer, target: Target, outcomes: list[StepOutcome]) -> None:
    prs = [r for r in target.records if isinstance(r, PullRequestRecord)] or records_of(
        outcomes, PullRequestRecord
    )
    commits = {
        c.hash: c
        for c in [*records_of(outcomes, CommitRecord), *target.records]
        if isinstance(c, CommitRecord)
    }
    culprit = culprit_run(records_of([o for o in outcomes if o.tool == "list_pipelines"], PipelineRecord))
    if culprit is not None:
        w.add(f"- The run that broke it: {_run_line(w, culprit)}")
    elif any(o.tool == "list_pipelines" for o in outcomes):
        w.add("- No failed run on that branch in the runs read: nothing to point at.")
    merged = [p for p in prs if p.state == "MERGED"]
    for pr in (merged or prs)[:MAX_TARGETS]:
        merge = next(
            (c for h, c in commits.items() if pr.merge_commit and h.startswith(pr.merge_commit)), None
        )
        w.add(
            f"- {w.cite(pr)} **{pr.state}** “{pr.subject or pr.title}” by {pr.author}, "
            f"`{pr.source_branch}` → `{pr.destination_branch}`"
            + (f", merged by {pr.closed_by}" if pr.closed_by and pr.state == "MERGED" else "")
        )
        if pr.state != "MERGED":
            w.add(f"  - it is {pr.state}, not merged: there is nothing to revert")
            continue
        if merge is not None:
            subject = merge.message.splitlines()[0][:90] if merge.message else ""
            w.add(
                f"- Merge commit: {w.cite(merge)} `{merge.hash[:12]}` at {w.when(merge.date)} — “{subject}”"
            )
        hash12 = (pr.merge_commit or "")[:12]
        w.add(
            f"- Where: [the pull request]({pr.url}) → **Revert** (Bitbucket opens a pull request that "
            f"undoes it), or on a new branch `git revert -m 1 {hash12}` and open a pull request."
        )
    if not prs:
        for commit in list(commits.values())[:MAX_TARGETS]:
            subject = commit.message.splitlines()[0][:90] if commit.message else ""
            w.add(f"- {w.cite(commit)} `{commit.hash[:12]}` by {commit.author} — “{subject}”")
            flag = "-m 1 " if commit.is_merge else ""
            w.add(
                f"- Where: on a new branch `git revert {flag}{commit.hash[:12]}`, then open a pull request."
            )
    if not prs and not commits and not culprit and any(outcomes):
        w.add("- Nothing found to revert: name the PR (its number) or the commit.")


def _branches(w: _Writer, target: Target, outcomes: list[StepOutcome]) -> None:
    branches = [r for r in target.records if isinstance(r, BranchRecord)] or records_of(
        outcomes, BranchRecord
    )
    repo = target.repos[0] if target.repos else ""
    page = w.page(repo, "/branches/")
    if target.action == "create branch":
        source = target.source_branch or target.main_branch(repo)
        base = next((b for b in branches if b.name == source), None)
        if base is not None:
            w.add(
                f"- Source: {w.cite(base)} at `{base.head[:12]}` "
                f"({w.when(base.head_date)}, {base.head_author})"
            )
        name = target.branch or "NAME"
        if page:
            w.add(
                f"- Where: the [{repo} branches]({page}) page → **Create branch** from `{source}` "
                f"named `{name}`, or `git switch -c {name} origin/{source} && git push -u origin {name}`."
            )
        return
    if not branches and outcomes:
        w.add(f"- No such branch found in {_repos(target) or 'the repositories searched'}.")
    for b in branches[:10]:
        w.add(f"- {w.cite(b)} last commit {w.when(b.head_date)} by {b.head_author}")
    if len(branches) > 10:
        w.add(f"- … and {len(branches) - 10} more")
    if page:
        w.add(
            f"- Where: the [{repo} branches]({page}) page → a branch's **⋯** menu → **Delete branch**, "
            "or `git push origin --delete NAME` (branch restrictions may forbid it)."
        )


def _tags(w: _Writer, target: Target, outcomes: list[StepOutcome]) -> None:
    repo = target.repos[0] if target.repos else ""
    tag = target.releases[0] if target.releases else "TAG"
    if target.action == "delete tag":
        w.add(
            f"- Where: from a clone of {repo or 'the repository'}, "
            f"`git push origin --delete refs/tags/{tag}` (and `git tag -d {tag}` locally); "
            "it needs write access."
        )
        return
    branches = [r for r in target.records if isinstance(r, BranchRecord)] or records_of(
        outcomes, BranchRecord
    )
    source = target.source_branch or target.main_branch(repo)
    head = next((b for b in branches if b.name == source), branches[0] if branches else None)
    if head is None:
        w.add(
            f"- Where: on the commit's page in {repo or 'the repository'} → **Create tag** `{tag}`, "
            f"or `git tag {tag} <commit> && git push origin {tag}`."
        )
        return
    w.add(
        f"- {w.cite(head)} is at `{head.head[:12]}` ({w.when(head.head_date)}, {head.head_author}) "
        "— the commit to tag"
    )
    commit = w.page(head.repo, f"/commits/{head.head}")
    w.add(
        f"- Where: [that commit]({commit}) → **Create tag** `{tag}`, "
        f"or `git tag {tag} {head.head[:12]} && git push origin {tag}`."
    )


def _settings(w: _Writer, target: Target) -> None:
    repos = target.repos[:MAX_TARGETS]
    section = {
        "change permissions": "**Repository permissions** (users and groups; workspace groups are under "
        "Workspace settings → User groups)",
        "change settings": "**Branch restrictions** (branch permissions, and merge checks such as "
        "required approvals)",
    }.get(target.action, "the setting you mean")
    for repo in repos:
        page = w.page(repo, "/admin")
        if page:
            w.add(f"- Where: [{repo} repository settings]({page}) → {section}; it needs repository admin.")
    if not repos:
        w.add(f"- Where: the repository's **Repository settings** → {section}; it needs repository admin.")


def _other(w: _Writer, target: Target) -> None:
    for record in target.records[:MAX_TARGETS]:
        w.add(f"- {w.cite(record)}: act on it from its page.")
    for repo in target.repos[:MAX_TARGETS]:
        page = w.page(repo, "/pull-requests/new" if target.action == "open pull request" else "")
        if page and not target.records:
            w.add(f"- Where: [{repo} in Bitbucket]({page}).")


def _other_writer(w: _Writer, act: ActRequest, target: Target, outcomes: list[StepOutcome]) -> None:
    _other(w, target)


def _candidates(w: _Writer, target: Target) -> None:
    w.add(
        f"“It” could be any of the {len(target.candidates)} results of the previous answer; say which one "
        "(“the second one”, or its number) and I will show what you need:"
    )
    for record in target.candidates[:10]:
        w.add(f"- {w.cite(record)} {record.title}")


_WRITERS: dict[str, Callable[[_Writer, ActRequest, Target, list[StepOutcome]], None]] = {
    "roll back": lambda w, a, t, o: _rollback(w, o),
    "redeploy": lambda w, a, t, o: _redeploy(w, t, o),
    "deploy": lambda w, a, t, o: _deploy(w, t, o),
    "promote": lambda w, a, t, o: _deploy(w, t, o),
    "re-run": _rerun,
    "stop": lambda w, a, t, o: _stop(w, t, o),
    **dict.fromkeys(("merge", "approve", "decline", "comment"), lambda w, a, t, o: _pr_action(w, t, o)),
    "revert": lambda w, a, t, o: _revert(w, t, o),
    "create branch": lambda w, a, t, o: _branches(w, t, o),
    "delete branch": lambda w, a, t, o: _branches(w, t, o),
    "create tag": lambda w, a, t, o: _tags(w, t, o),
    "delete tag": lambda w, a, t, o: _tags(w, t, o),
    "change settings": lambda w, a, t, o: _settings(w, t),
    "change permissions": lambda w, a, t, o: _settings(w, t),
}


def _which_repository(w: _Writer, request: PlanRequest) -> None:
    known = ", ".join(r.slug for r in request.repositories[:8])
    example = f" (for example {known})" if known else ""
    w.add(f"Name the repository{example} and I will show what you need to do it in Bitbucket.")


def write(
    act: ActRequest, target: Target, request: PlanRequest, outcomes: list[StepOutcome], gaps: Sequence[str]
) -> Report:
    """The refusal and its read-only help (see the module docstring)."""
    resolved = resolve(target, outcomes)
    w = _Writer(resolved, request)
    if target.candidates and not resolved.candidates:
        matching = ", ".join(f"{k} {v}" for k, v in target.narrow.items())
        n = len(target.candidates)
        w.add(f"“It”: of the {n} results of the previous answer, the one matching {matching}.\n")
    target = resolved
    if target.candidates:
        _candidates(w, target)
    elif (
        not target.repos
        and not target.records
        and target.action not in ("change settings", "change permissions")
    ):
        _which_repository(w, request)
    else:
        _WRITERS.get(target.action, _other_writer)(w, act, target, outcomes)
        if outcomes and all(o.error for o in outcomes):
            w.add("Bitbucket did not return what you named: see what I could not see, below.")
    body = "\n".join(w.lines)
    intro = "What you need to do it yourself:\n\n" if w.lines and w.lines[0].startswith("-") else ""
    held = {r.ref for o in outcomes for r in o.records} | {r.ref for r in target.records}
    return Report(
        answer=f"{first_line(act, target, held)}\n\n{intro}{body}".rstrip(),
        entities=[r.ref for r in w.cited],
        gaps=list(gaps),
    )
