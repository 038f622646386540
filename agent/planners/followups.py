"""Chat follow-ups for the rules planner: a question about the previous answer's records.

"which of those were on main?" filters them (re-listing server-side only what the records cannot say),
"the log of the second one" looks closer at one, "and in payments?" / "and yesterday?" asks the previous
question again with another scope. `follow_up` returns None when the question is a new one. Kept apart
from the table so the follow-up logic can change on its own.
"""

from __future__ import annotations

from collections.abc import Callable

from bbscout.agent.focus import RecordFilter
from bbscout.agent.intake import Understanding
from bbscout.agent.plan import Plan, Step, Window
from bbscout.agent.planners.base import PlanRequest, PriorTurn
from bbscout.agent.planners.draft import Draft
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

__all__ = ["follow_up"]

Replan = Callable[[PlanRequest], Plan]


def follow_up(c: Draft, prev: PriorTurn, replan: Replan) -> Plan | None:
    """ "which of those were on main?", "the log of the second one", "and in payments?", "and yesterday?"."""
    u = c.u
    index = u.ordinal
    if (
        index is None
        and u.deictic
        and set(u.asks) & {"log", "why", "diff", "detail", "comments", "changes"}
        and "filter_previous" not in u.cues
    ):
        if len(prev.primary) == 1:
            index = 0
        elif prev.primary and "that_this_it" in u.cues:
            c.clarify.append(
                f"Which one? The last answer listed {len(prev.primary)} (say 'the first', 'the second', …)."
            )
            return c.plan("follow_up", "pick one of the previous results", prev.plan.repos)
    if index is not None and prev.primary and not u.topics[1:] and not u.build_numbers and not u.pr_numbers:
        if not -len(prev.primary) <= index < len(prev.primary):
            c.clarify.append(f"The last answer listed only {len(prev.primary)} result(s).")
            return c.plan("follow_up", "pick one of the previous results", prev.plan.repos)
        return _about_record(c, prev.primary[index], index)
    if "filter_previous" in u.cues or (u.deictic and not u.topics and _has_filter(u)):
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
        and "retarget" in u.cues
        and (u.repo_mentions or u.window or c.request.repo_filter)
    ):
        return _rerun(c, prev, replan)
    return None


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


def _refetch_for_filter(c: Draft, prev: PriorTurn, filt: RecordFilter) -> None:
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


def _filter_from(c: Draft) -> RecordFilter:
    u = c.u
    return RecordFilter(
        awaiting_review=u.awaiting_review,
        branch=u.branch,
        author=u.authors[0] if u.authors else None,
        results=u.results,
        states=[] if u.awaiting_review else u.pr_states,
        environment=u.environment,
        repos=u.repos,
        trigger=u.trigger,
        since=u.window.start if u.window else None,
        until=u.window.end if u.window else None,
    )


def _about_record(c: Draft, rec: Evidence, index: int) -> Plan:
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


def _rerun(c: Draft, prev: PriorTurn, replan: Replan) -> Plan:
    """The previous question again with other repositories and/or another window.

    Re-planned from the previous question (never its steps: those may name objects of the old
    repositories, e.g. build numbers fetched for failure details).
    """
    repos, ok = c.target_repos() if (c.u.repo_mentions or c.request.repo_filter) else (None, True)
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
    plan = replan(again)
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


def _rerun_steps(c: Draft, prev: PriorTurn, repos: list[str] | None, w: Window | None) -> Plan:
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
