"""Incident reasoning: what kind of incident this is, then the analysis that fits it.

runtime  — errors or latency in an environment: what was *deployed* there shortly before T.
build    — a red build: the change behind the first failing run.
flaky    — a test failing on and off across branches.
rollback — a redeploy of an earlier release, and what it replaced.
"""

from __future__ import annotations

import re
from typing import Literal

from bbscout.agent.focus import Incident
from bbscout.agent.incident.patterns import flaky_report, rollback_report
from bbscout.agent.incident.render import render_suspects
from bbscout.agent.incident.suspects import (
    BUILD_SYMPTOM_RE,
    EvidenceIndex,
    build_candidates,
    collect_candidates,
    infer_service,
    ruled_out,
    score,
    symptom_terms,
)
from bbscout.agent.plan import Plan, StepOutcome, records_of
from bbscout.agent.report import Report, RuledOut
from bbscout.tools.evidence import DeploymentRecord, PipelineRecord

AnalysisKind = Literal["runtime", "build", "flaky", "rollback"]
ROLLBACK_RE = re.compile(r"\broll(?:ed|ing)?[\s-]?backs?\b|\brollbacks?\b|\bredeploy", re.IGNORECASE)
FLAKY_RE = re.compile(
    r"\bflak\w*|\bintermittent\w*|\brandom(?:ly)?\b|\bsporadic\w*|\bon and off\b", re.IGNORECASE
)


def analysis_kind(incident: Incident) -> AnalysisKind:
    """Rollbacks and flakiness are known by their words; then the planner's kind; else build or runtime."""
    if ROLLBACK_RE.search(incident.symptom):
        return "rollback"
    if FLAKY_RE.search(incident.symptom):
        return "flaky"
    if incident.kind is not None:
        return incident.kind
    return "build" if BUILD_SYMPTOM_RE.search(incident.symptom) else "runtime"


def affected_service(incident: Incident, outcomes: list[StepOutcome]) -> str | None:
    """The service the symptom is in: the plan's, else the repository it names first among those whose
    pipelines or deployments the run read."""
    if incident.service:
        return incident.service
    repos = {r.repo for r in records_of(outcomes, PipelineRecord)} | {
        r.repo for r in records_of(outcomes, DeploymentRecord)
    }
    return infer_service(incident.symptom, repos)


def investigate(plan: Plan, incident: Incident, outcomes: list[StepOutcome]) -> Report:
    """Analyse `incident` from the run's evidence (the environment is the plan's, production by default)."""
    at, since, symptom = incident.at, incident.since, incident.symptom
    environment = (plan.focus.environment or "production").lower()
    evidence = EvidenceIndex(outcomes)
    service = affected_service(incident, outcomes)
    kind = analysis_kind(incident)
    if kind == "flaky":
        return flaky_report(evidence, service, symptom)
    if kind == "rollback":
        return rollback_report(evidence, at, environment, service)
    excluded: list[RuledOut] = []
    if kind == "build":
        main_only = bool(re.search(r"\b(main|master|trunk)\b", symptom, re.IGNORECASE))
        candidates = build_candidates(evidence, at, service, since, main_only) or build_candidates(
            evidence, at, service, since
        )
    else:
        failed_commits = {
            p.commit for p in evidence.of(PipelineRecord) if p.result in ("FAILED", "ERROR") and p.commit
        }
        candidates = collect_candidates(evidence, at, environment)
        words = symptom_terms(symptom, service)
        for candidate in candidates:
            score(candidate, at, service, words, failed_commits, environment)
        excluded = ruled_out(evidence, candidates, at, environment, service)
    return render_suspects(evidence, candidates, excluded, at, symptom, service, environment, kind)
