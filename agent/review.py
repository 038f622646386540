"""Follow-ups the evidence calls for, whichever planner made the plan.

A failed pipeline → why it failed (failed step, log tail, failed tests). An incident → what each
candidate service last deployed to the affected environment before T, and the change set between
that deployment and the previous one. Bounded per round; never repeats a call already made.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from bbscout.agent.frugality import Allowance, select_failures
from bbscout.agent.plan import Plan, Step, StepOutcome

FAILED_RESULTS = ("FAILED", "ERROR")


def call_key(tool: str, args: dict[str, Any]) -> str:
    return tool + json.dumps(args, sort_keys=True, default=str)


def primary_records(plan: Plan, outcomes: list[StepOutcome]) -> list[dict[str, Any]]:
    """Records produced by the plan's primary steps, in step order."""
    primary_ids = {step.id for step in plan.steps if step.primary}
    return [record for outcome in outcomes if outcome.step_id in primary_ids for record in outcome.records]


def _records(outcomes: list[StepOutcome], kind: str) -> list[dict[str, Any]]:
    return [r for o in outcomes for r in o.records if r.get("kind") == kind]


def _failure_follow_ups(
    plan: Plan, outcomes: list[StepOutcome], allowance: Allowance
) -> list[tuple[str, dict[str, Any], str]]:
    """Why failed pipelines failed, within the bounded failure-detail policy (agent.frugality)."""
    return select_failures(plan, outcomes, allowance).calls


def follow_up_gaps(plan: Plan, outcomes: list[StepOutcome], allowance: Allowance) -> list[str]:
    """What the failure-detail policy offers instead of reading, or skipped for the hourly budget."""
    return select_failures(plan, outcomes, allowance).gaps


def _incident_follow_ups(plan: Plan, outcomes: list[StepOutcome]) -> list[tuple[str, dict[str, Any], str]]:
    at = datetime.fromisoformat(plan.focus["at"])
    environment = str(plan.focus.get("environment") or "production").lower()
    latest: dict[str, dict[str, Any]] = {}
    for record in _records(outcomes, "deployment"):
        if (
            record.get("status") == "SUCCESSFUL"
            and environment
            in (record.get("environment", "").lower(), record.get("environment_type", "").lower())
            and record.get("started_on")
            and datetime.fromisoformat(record["started_on"]) <= at
            and datetime.fromisoformat(record["started_on"]) >= at - timedelta(hours=48)
        ):
            current = latest.get(record["repo"])
            if current is None or record["started_on"] > current["started_on"]:
                latest[record["repo"]] = record
    service = plan.focus.get("service")
    ordered = sorted(latest.values(), key=lambda r: (r["repo"] != service, r["started_on"]), reverse=False)
    return [
        (
            "deployment_changes",
            {"repo": r["repo"], "environment": r["environment"], "deployment_uuid": r["uuid"]},
            f"what {r['ref']} shipped before {plan.focus['at']}",
        )
        for r in ordered
    ]


def _suspect_follow_ups(outcomes: list[StepOutcome]) -> list[tuple[str, dict[str, Any], str]]:
    """Each PR a pre-T deployment shipped → its own files and reviewers, to attribute the change."""
    prs = [
        r
        for o in outcomes
        if o.tool == "deployment_changes"
        for r in o.records
        if r.get("kind") == "pull_request"
    ]
    return [
        ("get_pull_request", {"repo": r["repo"], "pr_id": r["id"]}, f"files and reviewers of {r['ref']}")
        for r in prs
    ]


def _picked_deployment_changes(plan: Plan, outcomes: list[StepOutcome]) -> list[Step]:
    """'What changed in the last deployment' with no repository named: the newest one found, then its change set."""
    hint = plan.focus.get("follow_up") or {}
    if hint.get("tool") != "deployment_changes":
        return []
    found = [
        r
        for o in outcomes
        if o.step_id == hint.get("from_step")
        for r in o.records
        if r.get("kind") == "deployment" and r.get("status") == "SUCCESSFUL" and r.get("started_on")
    ]
    if not found:
        return []
    newest = max(found, key=lambda r: r["started_on"])
    args = {"repo": newest["repo"], "environment": newest["environment"], "deployment_uuid": newest["uuid"]}
    return [
        Step(
            id="pick.1",
            tool="deployment_changes",
            args=args,
            why=f"what {newest['ref']} shipped",
            primary=True,
        )
    ]


def _build_incident_follow_ups(
    plan: Plan, outcomes: list[StepOutcome]
) -> list[tuple[str, dict[str, Any], str]]:
    """Failed pipelines nearest T → the commit that failed and the PR behind it."""
    at = datetime.fromisoformat(plan.focus["at"])
    service = plan.focus.get("service")
    failed = [
        r
        for r in _records(outcomes, "pipeline")
        if r.get("result") in FAILED_RESULTS and (not service or r["repo"] == service)
    ]
    failed.sort(key=lambda r: abs(datetime.fromisoformat(r["created_on"]) - at))
    calls: list[tuple[str, dict[str, Any], str]] = []
    for record in failed[:3]:
        if record.get("commit"):
            calls.append(
                (
                    "get_commit",
                    {"repo": record["repo"], "commit": record["commit"]},
                    f"the commit {record['ref']} built",
                )
            )
        if record.get("pr_id"):
            calls.append(
                (
                    "get_pull_request",
                    {"repo": record["repo"], "pr_id": record["pr_id"]},
                    f"the PR {record['ref']} built",
                )
            )
    return calls


def _flaky_follow_ups(plan: Plan) -> list[tuple[str, dict[str, Any], str]]:
    """Intermittent failures show over days, not around one moment: every failed run from a day before T on."""
    at = datetime.fromisoformat(plan.focus["at"])
    repos = [plan.focus["service"]] if plan.focus.get("service") else None
    args = {
        "repos": repos,
        "results": ["FAILED", "ERROR"],
        "since": (at - timedelta(days=1)).isoformat(),
        "limit": 100,
    }
    return [("list_pipelines", args, "failed runs from a day before T on, to compare their failing tests")]


def follow_ups(
    plan: Plan, outcomes: list[StepOutcome], round_no: int, limit: int, allowance: Allowance | None = None
) -> list[Step]:
    """New steps for this round, at most `limit`, none already run."""
    seen = {call_key(o.tool, o.args) for o in outcomes}
    candidates = _failure_follow_ups(plan, outcomes, allowance or Allowance())
    if plan.family == "incident" and plan.focus.get("at"):
        from bbscout.agent.incident import incident_kind

        kind = incident_kind(plan.focus)
        if kind == "build":
            candidates = _build_incident_follow_ups(plan, outcomes) + candidates
        elif kind == "runtime":
            candidates = _incident_follow_ups(plan, outcomes) + _suspect_follow_ups(outcomes) + candidates
        elif kind == "rollback":
            candidates = []
        elif kind == "flaky":
            candidates = _flaky_follow_ups(plan) + candidates
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
