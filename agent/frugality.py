"""How much a question may spend beyond its answer: the bounded failure-detail policy.

A listing of failed pipelines ("what failed in the last 24 hours?") is worth its listing requests; why each
run failed is optional. Failure summaries may cost at most a fifth of what the listing cost: the failing
step and its error line (the step list, and the log tail: a request and its redirect to log storage) where
the allowance has room for three requests, else the failing step alone (one). They go to the most relevant
failures first: the main branch and production deploy pipelines, then the newest. The others are offered by
name in `gaps`, never left out silently. A question that asks why ("why did the main build fail last
night?") and investigations read more (the failures nearest the incident, in the affected service first,
one run per failed commit), within a fixed bound: the failed tests' messages, and the log only when they
do not say why; a flaky test compares test reports alone, of the steps the symptom names. When few
requests are left this hour for the credential (shared by every process), these optional follow-ups are
dropped, and the gap says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bbscout.agent.focus import Incident
from bbscout.agent.plan import Plan, StepOutcome, records_of
from bbscout.tools.evidence import PipelineRecord

__all__ = ["Allowance", "FailureSelection", "allowance_for", "select_failures"]

FAILED_RESULTS = ("FAILED", "ERROR")
LISTING_SHARE = 0.2  # failure summaries may add this share of the listing's requests
SUMMARY_REQUESTS = 3  # the step list, and the log tail (a request answered by a redirect to log storage)
STEP_REQUESTS = 1  # the step list alone: which step failed (and, for an ERROR, its message)
INCIDENT_DETAILS = 3  # failed commits read (steps, failed tests, else the log) for a "why" or an incident
FLAKY_DETAILS = 20  # failures whose test reports are compared for a flaky test
LOW_HOURLY_SHARE = 0.05  # "few requests left": under this share of the hour's allowance...
LOW_HOURLY_MIN = 50  # ...or under this many, whichever is more
OFFERED_BY_NAME = 5
_PRODUCTION_DEPLOY = re.compile(r"(?i)\bprod|deploy.*\b(live|release)\b")
Call = tuple[str, dict[str, Any], str]


@dataclass(frozen=True)
class Allowance:
    """What the run may spend on optional follow-ups: the hour's remaining requests, and main branches."""

    hourly_remaining: int | None = None
    hourly_limit: int = 1000
    main_branches: Mapping[str, str] = field(default_factory=dict)

    @property
    def low(self) -> bool:
        """Few requests left this hour: keep them for what the question itself needs."""
        if self.hourly_remaining is None:
            return False
        return self.hourly_remaining < max(LOW_HOURLY_MIN, int(self.hourly_limit * LOW_HOURLY_SHARE))


def allowance_for(tools: Any) -> Allowance:
    """The allowance of a run, from its `ToolContext` (client ledger, repositories' main branches)."""
    client = tools.client
    remaining = getattr(client, "hourly_remaining", None)
    return Allowance(
        hourly_remaining=remaining if isinstance(remaining, int) else None,
        hourly_limit=int(getattr(client, "hourly_limit", 1000) or 1000),
        main_branches=dict(getattr(tools, "main_branches", {}) or {}),
    )


@dataclass
class FailureSelection:
    """The failed pipelines to look into now, and what is offered instead of read (for `gaps`)."""

    calls: list[Call]
    gaps: list[str]


def _label(record: PipelineRecord) -> str:
    return f"{record.repo} #{record.build_number}"


def _key(record: PipelineRecord) -> tuple[str, int]:
    return record.repo, record.build_number


def _main_or_production(record: PipelineRecord, main_branches: Mapping[str, str]) -> bool:
    main = main_branches.get(record.repo)
    on_main = record.branch in ({main} if main else {"main", "master"})
    return on_main or bool(_PRODUCTION_DEPLOY.search(record.custom or ""))


def _failed(plan: Plan, outcomes: list[StepOutcome]) -> list[PipelineRecord]:
    """The failed pipelines of the answer (an incident's: every one found)."""
    primary = {step.id for step in plan.steps if step.primary}
    wanted = set(plan.focus.results or FAILED_RESULTS)
    incident = plan.family == "incident"
    found = [o for o in outcomes if incident or o.step_id in primary]
    records = {
        r.ref: r
        for r in records_of(found, PipelineRecord)
        if r.result in FAILED_RESULTS and (incident or r.result in wanted)
    }
    return list(records.values())


def _detailed(outcomes: list[StepOutcome]) -> set[tuple[str, int]]:
    return {
        (str(o.args.get("repo")), int(o.args.get("build_number") or 0))
        for o in outcomes
        if o.tool == "pipeline_failure"
    }


def _listing_requests(plan: Plan, outcomes: list[StepOutcome]) -> int:
    """What the listing needed, sent or served (by a cache, or another process's identical request): the
    same question gets the same follow-ups whoever paid for its listing."""
    primary = {step.id for step in plan.steps if step.primary}
    return sum(o.requests + o.served for o in outcomes if o.step_id in primary)


def _args(record: PipelineRecord, **flags: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"repo": record.repo, "build_number": record.build_number, **flags}
    if record.uuid:
        args["uuid"] = record.uuid  # the listing already holds the pipeline: no lookup
    return args


def _incident_order(incident: Incident | None, failed: list[PipelineRecord]) -> list[PipelineRecord]:
    """The affected service's failures first, then by distance from the moment the symptom began."""
    service = incident.service if incident else None

    def key(record: PipelineRecord) -> tuple[bool, float]:
        created = record.created_on
        distance = abs((created - incident.at).total_seconds()) if incident else -created.timestamp()
        return (bool(service) and record.repo != service, distance)

    return sorted(failed, key=key)


def _one_per_commit(records: list[PipelineRecord]) -> list[PipelineRecord]:
    """The first failed run of each commit (runs without a known commit all kept), in order."""
    seen: set[str] = set()
    kept = []
    for record in records:
        if record.commit and record.commit in seen:
            continue
        if record.commit:
            seen.add(record.commit)
        kept.append(record)
    return kept


def select_failures(plan: Plan, outcomes: list[StepOutcome], allowance: Allowance) -> FailureSelection:
    """Which failed pipelines to read now (tool calls, most relevant first) and the gap for the rest."""
    failed = _failed(plan, outcomes)
    done = _detailed(outcomes)
    todo = [r for r in failed if _key(r) not in done]
    if not todo:
        return FailureSelection([], [])
    if allowance.low:
        names = ", ".join(_label(r) for r in todo[:OFFERED_BY_NAME])
        return FailureSelection(
            [],
            [
                f"Only {allowance.hourly_remaining} Bitbucket requests are left this hour for this "
                f"credential (shared by everyone using it): skipped why {len(todo)} failed pipeline(s) "
                f"failed ({names}{', …' if len(todo) > OFFERED_BY_NAME else ''}). "
                "Ask again when the hour rolls over."
            ],
        )
    if plan.family == "incident":
        from bbscout.agent.incident import analysis_kind
        from bbscout.agent.incident.patterns import test_kinds

        incident = plan.focus.incident
        flaky = incident is not None and analysis_kind(incident) == "flaky"
        ordered = _incident_order(incident, failed)
        if not flaky:  # one run says why a change broke; its other failed runs are cited with it
            ordered = _one_per_commit(ordered)
        bound = FLAKY_DETAILS if flaky else INCIDENT_DETAILS
        chosen = [r for r in ordered[:bound] if _key(r) not in done]
        flags: dict[str, Any] = {"log": "if_needed"}  # the failed tests say why, else the log does
        if flaky:  # the test reports compare runs, of the kind of test the symptom names
            flags = {"log": False, "test_steps": (test_kinds(incident.symptom) if incident else None) or None}
        reads = [("pipeline_failure", _args(r, **flags), f"why {r.ref} failed") for r in chosen]
        return FailureSelection(reads, _offer(ordered[bound:], "nearest the incident"))
    newest = sorted(failed, key=lambda r: r.created_on, reverse=True)
    ordered = sorted(newest, key=lambda r: not _main_or_production(r, allowance.main_branches))
    if plan.focus.why_failed:  # "why did … fail?": the cause is the answer, read like an incident's
        chosen = [r for r in ordered[:INCIDENT_DETAILS] if _key(r) not in done]
        reads = [("pipeline_failure", _args(r, log="if_needed"), f"why {r.ref} failed") for r in chosen]
        return FailureSelection(
            reads, _offer(ordered[INCIDENT_DETAILS:], "main branch first, then the newest")
        )
    left = int(_listing_requests(plan, outcomes) * LISTING_SHARE)
    calls: list[Call] = []
    covered = 0
    for record in ordered:
        cost = SUMMARY_REQUESTS if left >= SUMMARY_REQUESTS else STEP_REQUESTS
        if left < cost:
            break
        left -= cost
        covered += 1
        if _key(record) not in done:
            flags = {"tests": False} if cost == SUMMARY_REQUESTS else {"tests": False, "log": False}
            calls.append(("pipeline_failure", _args(record, **flags), f"the failing step of {record.ref}"))
    return FailureSelection(
        calls, _offer(ordered[covered:], "main branch and production deploys first, then the newest")
    )


def _offer(rest: list[PipelineRecord], order: str) -> list[str]:
    """One gap naming the failures not looked into, and how to ask about one."""
    if not rest:
        return []
    names = ", ".join(_label(r) for r in rest[:OFFERED_BY_NAME])
    more = f" and {len(rest) - OFFERED_BY_NAME} more" if len(rest) > OFFERED_BY_NAME else ""
    return [
        f"Why {len(rest)} more failed pipeline(s) failed was not looked into, to save requests ({order}): "
        f"{names}{more}. Ask e.g. “why did {_label(rest[0])} fail?”"
    ]
