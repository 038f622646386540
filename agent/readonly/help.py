"""The read-only help for a refused request: the few read-only calls that show what is needed to act.

`ReadOnlyHelp` stands in for the planner and the reporter on a turn the guard refused, with the same
protocols, so the graph runs it like any plan (act, review, report) and no model is asked anything.
What it fetches, by action, at the least cost that answers it:

* roll back / redeploy: the environment's recent successful deployments (one listing): the release
  live now and the previous successful one, with the pipeline whose deployment step redeploys it;
* re-run: the failed run (named, bound from the previous answer, or the newest that matches) and its
  failing step with the error line;
* revert: the PR and its merge commit (for "the PR that broke main": the run that turned main red,
  the PR behind its commit, its merge commit);
* merge / approve / decline / comment: the PR (one call, or the open PRs that fit its description);
* stop: the running pipelines; deploy / promote: what is live in each environment; branches and tags:
  the branch or commit named; settings and permissions: nothing to fetch, only where to do it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from bbscout.agent.plan import Family, Plan, Step, StepOutcome, records_of
from bbscout.agent.planners.base import Conversation, Planned, PlanRequest, Reviewed
from bbscout.agent.readonly.answer import write
from bbscout.agent.readonly.grammar import ActRequest
from bbscout.agent.readonly.target import (
    FAILED,
    MAX_TARGETS,
    Target,
    bind,
    chosen_runs,
    culprit_run,
    resolve,
)
from bbscout.agent.report import Report
from bbscout.agent.review import call_key
from bbscout.tools.evidence import (
    CommitRecord,
    DeploymentRecord,
    PipelineRecord,
    PullRequestRecord,
)

__all__ = ["ReadOnlyHelp", "family_of"]

STALE_AFTER = timedelta(days=30)
PR_ACTIONS = ("merge", "approve", "decline", "comment")
_FAMILY: dict[str, Family] = {
    "roll back": "deployments",
    "redeploy": "deployments",
    "deploy": "deployments",
    "promote": "deployments",
    "re-run": "pipelines",
    "stop": "pipelines",
    "revert": "pull_requests",
    "create branch": "branches",
    "delete branch": "branches",
    "create tag": "branches",
    "delete tag": "branches",
    **dict.fromkeys(PR_ACTIONS, "pull_requests"),
}


def family_of(target: Target) -> Family:
    return _FAMILY.get(target.action, "repositories")


class _Steps:
    """Numbered steps for one round."""

    def __init__(self, round_no: int) -> None:
        self.round_no = round_no
        self.steps: list[Step] = []

    def add(self, tool: str, args: dict[str, Any], why: str, *, primary: bool = True) -> None:
        clean = {k: v for k, v in args.items() if v is not None and v != []}
        self.steps.append(
            Step(
                id=f"ro{self.round_no}.{len(self.steps) + 1}", tool=tool, args=clean, why=why, primary=primary
            )
        )


def _first_steps(act: ActRequest, target: Target, request: PlanRequest) -> list[Step]:
    s = _Steps(0)
    if target.candidates and target.narrow:
        window = target.narrow_window
        prs = [c for c in target.candidates if isinstance(c, PullRequestRecord)]
        s.add(
            "list_pull_requests",
            {
                "repos": sorted({c.repo for c in prs}),
                "states": sorted({c.state for c in prs}),
                **target.narrow,
                "since": window.start.isoformat() if window else None,
                "until": window.end.isoformat() if window else None,
                "limit": 50,
            },
            "which of the previous answer's PRs is the one its question asked for",
            primary=False,
        )
    if target.candidates:
        return s.steps
    action, repos, one = target.action, target.repos[:MAX_TARGETS], target.repos[0] if target.repos else None
    if action in ("roll back", "redeploy"):
        places = list(
            dict.fromkeys((r.repo, r.environment) for r in target.records if isinstance(r, DeploymentRecord))
        )
        if action == "redeploy" and places:
            return []
        places = places or [(repo, target.environment or "production") for repo in repos]
        for repo, env in places[:MAX_TARGETS]:
            limit = 5 if action == "roll back" else 25  # live, the one before, and a few redeploys
            s.add(
                "list_deployments",
                {"repos": [repo], "environment": env, "statuses": ["SUCCESSFUL"], "limit": limit},
                f"the successful deployments to {env} in {repo}",
            )
    elif action in ("deploy", "promote"):
        for repo in repos:
            s.add(
                "list_deployments",
                {"repos": [repo], "current": True},
                f"what is live in each environment of {repo}",
            )
            if action == "deploy" and act.thing == "pipeline":
                s.add(
                    "list_pipelines",
                    {"repos": [repo], "branch": target.branch, "results": ["SUCCESSFUL"], "pick": "newest"},
                    f"the newest successful build of {repo}",
                )
    elif action == "re-run":
        _rerun_steps(s, act, target, request, one)
    elif action == "stop":
        if target.builds and one:
            for build in target.builds[:MAX_TARGETS]:
                s.add("get_pipeline", {"repo": one, "build_number": build}, f"pipeline #{build} in {one}")
        elif not target.records and repos:
            s.add(
                "list_pipelines", {"repos": repos, "in_progress": True, "limit": 10}, "the running pipelines"
            )
    elif action in PR_ACTIONS:
        if target.pr_ids and one:
            for pr_id in target.pr_ids[:MAX_TARGETS]:
                s.add("get_pull_request", {"repo": one, "pr_id": pr_id}, f"PR #{pr_id} in {one}")
        elif not target.records and repos:
            s.add("list_pull_requests", {"repos": repos, "states": ["OPEN"], "limit": 20}, "the open PRs")
    elif action == "revert":
        _revert_steps(s, act, target, one)
    elif action in ("create branch", "create tag") and one and not target.records:
        source = target.source_branch or target.main_branch(one)
        s.add("list_branches", {"repos": [one], "name_contains": source, "limit": 5}, f"the branch {source}")
    elif action == "delete branch" and not target.records and repos:
        if target.branch:
            s.add(
                "list_branches", {"repos": repos, "name_contains": target.branch, "limit": 5}, target.branch
            )
        else:
            cutoff = (request.now - STALE_AFTER).isoformat()
            s.add(
                "list_branches",
                {"repos": repos, "stale_before": cutoff, "limit": 20},
                "branches with no commit for 30 days",
            )
    return s.steps


def _rerun_steps(s: _Steps, act: ActRequest, target: Target, request: PlanRequest, one: str | None) -> None:
    if target.builds and one:
        for build in target.builds[:MAX_TARGETS]:
            s.add(
                "pipeline_failure",
                {"repo": one, "build_number": build},
                f"pipeline #{build} and its failed step",
            )
        return
    runs = [r for r in target.records if isinstance(r, PipelineRecord)]
    if runs:
        for run in runs[:MAX_TARGETS]:
            s.add(
                "pipeline_failure",
                {"repo": run.repo, "build_number": run.build_number},
                f"{run.ref} and its failed step",
            )
        return
    pr_id = target.pr_ids[0] if target.pr_ids else target.pr_of_previous
    window = request.intake.window
    if one and pr_id is not None:
        s.add(
            "list_pipelines",
            {"repos": [one], "pr_id": pr_id, "pick": "newest"},
            f"the newest run of PR #{pr_id}",
        )
    elif target.repos:
        results: list[str] = list(request.intake.results) or list(FAILED)
        s.add(
            "list_pipelines",
            {
                "repos": target.repos[:MAX_TARGETS],
                "results": results,
                "branch": target.branch,
                "since": window.start.isoformat() if window else None,
                "until": window.end.isoformat() if window else None,
                "pick": None if target.names or act.plural else "newest",
                "limit": 20,
            },
            "the runs a re-run would repeat",
            primary=False,
        )


def _revert_steps(s: _Steps, act: ActRequest, target: Target, one: str | None) -> None:
    if target.pr_ids and one:
        for pr_id in target.pr_ids[:MAX_TARGETS]:
            s.add(
                "get_pull_request",
                {"repo": one, "pr_id": pr_id},
                f"PR #{pr_id} in {one} and its merge commit",
            )
    elif target.commits and one:
        for commit in target.commits[:MAX_TARGETS]:
            s.add("get_commit", {"repo": one, "commit": commit}, f"commit {commit[:12]}")
            s.add("pull_requests_for_commit", {"repo": one, "commit": commit}, "the PR that merged it")
    elif target.records:
        for record in target.records[:MAX_TARGETS]:
            if isinstance(record, PullRequestRecord) and record.merge_commit:
                s.add(
                    "get_commit",
                    {"repo": record.repo, "commit": record.merge_commit},
                    f"the merge commit of {record.ref}",
                )
            elif isinstance(record, CommitRecord):
                s.add(
                    "pull_requests_for_commit",
                    {"repo": record.repo, "commit": record.hash},
                    f"the PR that merged {record.ref}",
                )
    elif act.culprit and one:
        branch = target.branch or target.main_branch(one)
        s.add(
            "list_pipelines",
            {"repos": [one], "branch": branch, "limit": 30},
            f"the runs on {branch}: where it turned red",
            primary=False,
        )
    elif one:
        s.add("list_pull_requests", {"repos": [one], "states": ["MERGED"], "limit": 10}, "the merged PRs")


def _follow_ups(act: ActRequest, target: Target, outcomes: list[StepOutcome], round_no: int) -> list[Step]:
    s = _Steps(round_no)
    done = {call_key(o.tool, o.args) for o in outcomes}
    target = resolve(target, outcomes)
    if target.candidates:
        return []
    if target.action == "re-run" and not any(o.tool == "pipeline_failure" for o in outcomes):
        listed = [o for o in outcomes if o.tool == "list_pipelines"]
        for run in chosen_runs(target, records_of(listed, PipelineRecord), act.plural):
            s.add(
                "pipeline_failure",
                {"repo": run.repo, "build_number": run.build_number},
                f"why {run.ref} failed",
            )
    elif target.action == "revert":
        culprit = culprit_run(records_of([o for o in outcomes if o.tool == "list_pipelines"], PipelineRecord))
        if culprit is not None and culprit.commit:
            s.add(
                "pull_requests_for_commit",
                {"repo": culprit.repo, "commit": culprit.commit},
                f"the PR behind {culprit.ref}, the run that broke it",
            )
        held = [c.hash for c in records_of(outcomes, CommitRecord)]
        named_commit = any(o.tool == "get_commit" for o in outcomes)
        bound = [r for r in target.records if isinstance(r, PullRequestRecord)]
        for pr in bound or records_of(outcomes, PullRequestRecord):
            merge = pr.merge_commit
            if (
                pr.state == "MERGED"
                and merge
                and not any(h.startswith(merge) for h in held)
                and not named_commit
            ):
                s.add(
                    "get_commit",
                    {"repo": pr.repo, "commit": pr.merge_commit},
                    f"the merge commit of {pr.ref}",
                )
                break
    return [step for step in s.steps if call_key(step.tool, step.args) not in done]


class ReadOnlyHelp:
    """Plans, reviews and reports the read-only help for one refused request (see the module docstring)."""

    def __init__(self, act: ActRequest) -> None:
        self.act = act

    @property
    def name(self) -> Literal["rules", "llm"]:
        return "rules"

    async def plan(self, request: PlanRequest, conversation: Conversation) -> Planned:
        target = bind(self.act, request)
        steps = _first_steps(self.act, target, request)
        plan = Plan(
            family=family_of(target),
            intent=f"refused (read-only): {target.action} — what you need to do it in Bitbucket",
            steps=steps,
            window=request.intake.window if target.action == "re-run" else None,
            repos=target.repos or None,
            understood=[f"a request to {target.action} ({self.act.form}: “{self.act.clause}”)"],
            not_understood=[f"bbscout is read-only: it does not {target.action}"],
        )
        return Planned(plan, conversation)

    async def review(
        self,
        request: PlanRequest,
        plan: Plan,
        outcomes: list[StepOutcome],
        round_no: int,
        conversation: Conversation,
    ) -> Reviewed:
        return Reviewed(_follow_ups(self.act, bind(self.act, request), outcomes, round_no), conversation)

    async def report(
        self, request: PlanRequest, plan: Plan, outcomes: list[StepOutcome], gaps: list[str]
    ) -> Report:
        return write(self.act, bind(self.act, request), request, outcomes, gaps)
