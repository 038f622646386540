"""Follow-ups the evidence calls for, whichever planner made the plan.

A failed pipeline → why it failed (failed step, failed tests, the log tail when they do not say).
An incident → what each candidate service last deployed to the affected environment before T, and the
change set between that deployment and the previous one (each PR's own files in the affected service);
a broken build → the change behind each failed commit. A chat follow-up about referents → only the call
its question still needs (`agent.referents.subjects`), nothing optional. Bounded per round; never repeats
a call already made.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bbscout.agent.focus import Incident
from bbscout.agent.frugality import Allowance, select_failures
from bbscout.agent.incident import affected_service, analysis_kind
from bbscout.agent.incident.suspects import built_by, same_commit
from bbscout.agent.plan import Plan, Step, StepOutcome, records_of
from bbscout.agent.referents.subjects import pending_calls
from bbscout.tools.evidence import DeploymentRecord, Evidence, PipelineRecord, PullRequestRecord

FAILED_RESULTS = ("FAILED", "ERROR")
Call = tuple[str, dict[str, Any], str]  # tool, arguments, why


def call_key(tool: str, args: dict[str, Any]) -> str:
    return tool + json.dumps(args, sort_keys=True, default=str)


def primary_records(plan: Plan, outcomes: list[StepOutcome]) -> list[Evidence]:
    """Records produced by the plan's primary steps, in step order."""
    primary_ids = {step.id for step in plan.steps if step.primary}
    return [record for outcome in outcomes if outcome.step_id in primary_ids for record in outcome.records]


def _failure_follow_ups(plan: Plan, outcomes: list[StepOutcome], allowance: Allowance) -> list[Call]:
    """Why failed pipelines failed, within the bounded failure-detail policy (agent.frugality)."""
    return select_failures(plan, outcomes, allowance).calls


def follow_up_gaps(plan: Plan, outcomes: list[StepOutcome], allowance: Allowance) -> list[str]:
    """What the failure-detail policy offers instead of reading, or skipped for the hourly budget."""
    if plan.focus.about is not None:
        return []
    return select_failures(plan, outcomes, allowance).gaps


def _incident_follow_ups(plan: Plan, incident: Incident, outcomes: list[StepOutcome]) -> list[Call]:
    """What each service last deployed before T, and the change set it shipped.

    In the affected service each pull request's own files are read (which change touched the config or
    a dependency); elsewhere the pull requests alone (they are ruled out as another service's anyway).
    """
    at = incident.at
    environment = (plan.focus.environment or "production").lower()
    latest: dict[str, DeploymentRecord] = {}
    for record in records_of(outcomes, DeploymentRecord):
        started = record.started_on
        if (
            record.status == "SUCCESSFUL"
            and environment in (record.environment.lower(), record.environment_type.lower())
            and started is not None
            and at - timedelta(hours=48) <= started <= at
        ):
            current = latest.get(record.repo)
            if current is None or started > (current.started_on or started):
                latest[record.repo] = record
    service = affected_service(incident, outcomes)
    ordered = sorted(latest.values(), key=lambda r: (r.repo != service, r.started_on or at))
    return [
        (
            "deployment_changes",
            {
                "repo": r.repo,
                "environment": r.environment,
                "deployment_uuid": r.uuid,
                "files": "per_pull_request" if service in (None, r.repo) else "none",
            },
            f"what {r.ref} shipped before {incident.at.isoformat()}",
        )
        for r in ordered
    ]


def _picked_deployment_changes(plan: Plan, outcomes: list[StepOutcome]) -> list[Step]:
    """'What changed in the last deployment' with no repository named: the newest one, then its change set."""
    hint = plan.focus.newest_deployment
    if hint is None:
        return []
    listed = [o for o in outcomes if o.step_id == hint.from_step]
    found = [
        (r.started_on, r)
        for r in records_of(listed, DeploymentRecord)
        if r.status == "SUCCESSFUL" and r.started_on is not None
    ]
    if not found:
        return []
    newest = max(found, key=lambda pair: pair[0])[1]
    args = {"repo": newest.repo, "environment": newest.environment, "deployment_uuid": newest.uuid}
    return [
        Step(
            id="pick.1", tool="deployment_changes", args=args, why=f"what {newest.ref} shipped", primary=True
        )
    ]


def _build_incident_follow_ups(incident: Incident, outcomes: list[StepOutcome]) -> list[Call]:
    """Failed pipelines nearest T → the change behind each failed commit, with its files.

    A PR's branch run: the PR's diffstat (the PR is the suspect). A PR merge that failed, or a direct
    push: the commit with its diffstat (a merge commit's is its PR's files). Never build statuses: the
    failed runs are already in the evidence.
    """
    at = incident.at
    service = affected_service(incident, outcomes)
    prs = records_of(outcomes, PullRequestRecord)
    failed = [
        r
        for r in records_of(outcomes, PipelineRecord)
        if r.result in FAILED_RESULTS and (not service or r.repo == service) and r.commit
    ]
    failed.sort(key=lambda r: abs(r.created_on - at))
    calls: list[Call] = []
    for record in failed[:3]:
        pr = built_by(record, prs)
        if pr is not None and not (pr.state == "MERGED" and same_commit(pr.merge_commit, record.commit)):
            args: dict[str, Any] = {"repo": record.repo, "pr_id": pr.id, "files_only": True}
            calls.append(("get_pull_request", args, f"the files of {pr.ref}, which {record.ref} built"))
        else:
            args = {"repo": record.repo, "commit": record.commit, "statuses": False}
            calls.append(("get_commit", args, f"the commit {record.ref} built"))
    return calls


def _flaky_follow_ups(incident: Incident) -> list[Call]:
    """Intermittent failures show over days, not around one moment: every failed run from a day before T."""
    args = {
        "repos": [incident.service] if incident.service else None,
        "results": ["FAILED", "ERROR"],
        "since": (incident.at - timedelta(days=1)).isoformat(),
        "limit": 100,
    }
    return [("list_pipelines", args, "failed runs from a day before T on, to compare their failing tests")]


def follow_ups(
    plan: Plan, outcomes: list[StepOutcome], round_no: int, limit: int, allowance: Allowance | None = None
) -> list[Step]:
    """New steps for this round, at most `limit`, none already run."""
    seen = {call_key(o.tool, o.args) for o in outcomes}
    about = plan.focus.about
    if about is not None:  # a question about referents: the call it needs, nothing optional
        candidates = pending_calls(about, plan, outcomes, None)
    else:
        candidates = _failure_follow_ups(plan, outcomes, allowance or Allowance())
    incident = plan.focus.incident
    if plan.family == "incident" and incident is not None:
        kind = analysis_kind(incident)
        if kind == "build":
            candidates = _build_incident_follow_ups(incident, outcomes) + candidates
        elif kind == "runtime":
            candidates = _incident_follow_ups(plan, incident, outcomes) + candidates
        elif kind == "rollback":
            candidates = []
        elif kind == "flaky":
            candidates = _flaky_follow_ups(incident) + candidates
    steps: list[Step] = [
        s for s in _picked_deployment_changes(plan, outcomes) if call_key(s.tool, s.args) not in seen
    ]
    for tool, args, why in candidates:
        step = Step(id=f"r{round_no}.{len(steps) + 1}", tool=tool, args=args, why=why)
        key = call_key(step.tool, step.args)
        if key in seen or len(steps) >= limit:
            continue
        seen.add(key)
        steps.append(step)
    return steps
