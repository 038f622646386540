"""Suspect ranking: from deployments, change sets and failures around T to ranked suspects.

The rule on-call engineers apply first: what was *deployed* to the affected environment shortly
before the symptom began — not merely merged — is the prime suspect; a config or dependency change in
the failing service raises suspicion, as does a failing check on the change. Changes deployed after
T, never deployed, or in another service are ruled out with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from bbscout.agent.causes import failure_cause
from bbscout.agent.plan import StepOutcome, records_of
from bbscout.agent.report import RuledOut, TimelineEvent
from bbscout.tools.evidence import (
    CommitRecord,
    DeploymentRecord,
    FileChangeRecord,
    PipelineRecord,
    PullRequestRecord,
    Record,
    StepRecord,
)

CONFIG_RE = re.compile(r"(^|/)(config|conf|settings)/|\.(ya?ml|toml|ini|properties|env|json)$", re.IGNORECASE)
DEPENDENCY_RE = re.compile(
    r"(^|/)(requirements[^/]*\.txt|package(-lock)?\.json|yarn\.lock|go\.(mod|sum)|poetry\.lock|pyproject\.toml|"
    r"pom\.xml|build\.gradle(\.kts)?|Gemfile(\.lock)?|Cargo\.(toml|lock))$"
)
STOPWORDS = {
    "errors",
    "error",
    "since",
    "utc",
    "the",
    "and",
    "spike",
    "failing",
    "failures",
    "failure",
    "service",
    "latency",
    "5xx",
    "with",
    "from",
    "requests",
    "request",
    "http",
    "broken",
    "down",
    "users",
}
ENVIRONMENT_WORDS = {
    "production": ("prod", "production"),
    "staging": ("staging", "stage"),
    "test": ("test", "qa", "dev"),
}

R = TypeVar("R", bound=Record)
Change = PullRequestRecord | CommitRecord | PipelineRecord  # what a suspect points at
FAILED = ("FAILED", "ERROR")


def minutes(delta: timedelta) -> str:
    total = int(delta.total_seconds() // 60)
    return f"{total} min" if total < 120 else f"{total // 60} h {total % 60} min"


def hh_mm(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def headline(record: Change) -> str:
    """The change's own words: a PR's title, a commit's first message line, else the record title."""
    if isinstance(record, PullRequestRecord) and record.subject:
        return record.subject
    if isinstance(record, CommitRecord) and not record.title and record.message:
        return record.message.splitlines()[0]
    return record.title


BUILD_SYMPTOM_RE = re.compile(
    r"\b(builds?|pipelines?|ci|tests?|red|npm|pip|compil\w*|lint\w*|broken main|main is broken)\b"
    r"|\b(pr|pull request)\b.*\bfail\w*|\bfail\w*.*\b(pr|pull request)\b",
    re.IGNORECASE,
)


@dataclass
class Candidate:
    """A change suspected of causing the symptom, with the evidence against it.

    `deployment` is the deployment that shipped it (runtime incidents); `pipeline` the failed run it
    triggered (build incidents).
    """

    ref: str
    record: Change
    deployment: DeploymentRecord | None = None
    files: list[FileChangeRecord] = field(default_factory=list)
    commit_ref: str | None = None
    pipeline: PipelineRecord | None = None
    more_pipelines: list[str] = field(default_factory=list)  # other failed runs of the same change
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)

    @property
    def related(self) -> list[str]:
        own = (
            self.commit_ref,
            self.deployment.ref if self.deployment else None,
            self.pipeline.ref if self.pipeline else None,
        )
        return [r for r in own if r] + self.more_pipelines


class EvidenceIndex:
    """The run's records (one per ref) indexed the ways the ranking needs."""

    def __init__(self, outcomes: list[StepOutcome]) -> None:
        self.outcomes = outcomes
        self.records = list({r.ref: r for o in outcomes for r in o.records}.values())
        self.commit_by_hash = {r.hash: r for r in self.of(CommitRecord)}

    def of(self, kind: type[R]) -> list[R]:
        return [r for r in self.records if isinstance(r, kind)]

    def commit(self, hash_or_prefix: str | None) -> CommitRecord | None:
        """The commit record for a full or short hash (PRs carry 12-character hashes)."""
        if not hash_or_prefix:
            return None
        return self.commit_by_hash.get(hash_or_prefix) or next(
            (c for h, c in self.commit_by_hash.items() if same_commit(h, hash_or_prefix)), None
        )

    def files_of(self, pr: PullRequestRecord) -> list[FileChangeRecord]:
        """The PR's own files: its diffstat, else its merge commit's (alone, or per PR in a change set)."""
        for outcome in self.outcomes:
            if (
                outcome.tool == "get_pull_request"
                and outcome.args.get("repo") == pr.repo
                and outcome.args.get("pr_id") == pr.id
            ):
                return records_of([outcome], FileChangeRecord)
        own = [
            o
            for o in self.outcomes
            if o.tool == "get_commit"
            or (o.tool == "deployment_changes" and o.args.get("files") == "per_pull_request")
        ]
        merged = {
            f.ref: f
            for f in records_of(own, FileChangeRecord)
            if f.repo == pr.repo and same_commit(f.rev, pr.merge_commit)
        }
        return list(merged.values())


RUNTIME_PROXIMITY = ((timedelta(hours=1), 0.3), (timedelta(hours=3), 0.2), (timedelta(hours=12), 0.1))
BUILD_PROXIMITY = ((timedelta(minutes=30), 0.3), (timedelta(hours=2), 0.2), (timedelta(hours=6), 0.1))


def proximity_bonus(distance: timedelta, steps: tuple[tuple[timedelta, float], ...]) -> float:
    """Closer to T is more suspicious: the bonus of the first step `distance` fits in."""
    return next((bonus for limit, bonus in steps if distance <= limit), 0.0)


def same_service(candidate: Candidate, service: str | None) -> bool:
    """Add the affected-service bonus and reason when the candidate is in it."""
    if service and candidate.record.repo == service:
        candidate.score += 0.2
        candidate.reasons.append(f"in the affected service `{service}`")
        return True
    return False


def in_environment(deployment: DeploymentRecord, environment: str) -> bool:
    return environment in (deployment.environment.lower(), deployment.environment_type.lower())


def collect_candidates(evidence: EvidenceIndex, at: datetime, environment: str) -> list[Candidate]:
    """Every PR (or PR-less commit) in a change set deployed to `environment` before `at`."""
    candidates: dict[str, Candidate] = {}
    for outcome in evidence.outcomes:
        if outcome.tool != "deployment_changes" or not outcome.records:
            continue
        deployments = records_of([outcome], DeploymentRecord)
        target = next((d for d in deployments if d.uuid == outcome.args.get("deployment_uuid")), None)
        if target is None or not in_environment(target, environment):
            continue
        if target.started_on is None or target.started_on > at:
            continue
        files = records_of([outcome], FileChangeRecord)
        prs = records_of([outcome], PullRequestRecord)
        for pr in prs:
            own_files = evidence.files_of(pr) or (files if len(prs) == 1 else [])
            merge = evidence.commit(pr.merge_commit)
            candidates[pr.ref] = Candidate(pr.ref, pr, target, own_files, merge.ref if merge else None)
        if prs:
            continue
        for commit in records_of([outcome], CommitRecord):
            if not commit.pr_id and not commit.is_merge:
                candidates[commit.ref] = Candidate(commit.ref, commit, target, files)
    return list(candidates.values())


def concerns_environment(path: str, environment: str) -> bool:
    """A config file for another environment (config/staging.yaml in a production incident) is no suspect."""
    name = path.lower().rsplit("/", 1)[-1]
    named = [
        env for env, words in ENVIRONMENT_WORDS.items() if any(re.search(rf"\b{w}\b", name) for w in words)
    ]
    return not named or environment in named


def stem(word: str) -> str:
    return word[:-1] if word.endswith("s") and len(word) > 4 else word


def symptom_terms(symptom: str, service: str | None) -> set[str]:
    """Distinctive words of the symptom, singularised, without the service's own name."""
    service_words = set(re.split(r"[-_]", service or ""))
    return {
        stem(w)
        for w in re.findall(r"[a-z][a-z_-]{3,}", symptom.lower())
        if w not in STOPWORDS and stem(w) not in service_words and w not in service_words
    }


GENERIC_REPO_WORDS = {"service", "svc", "app", "api", "frontend", "backend", "lib", "libs", "shared", "data"}


HTTP_PHRASES_RE = re.compile(
    r"\b(gateway time-?outs?|bad gateway|service unavailable|internal server errors?|too many requests)\b"
)


def infer_service(symptom: str, repos: set[str]) -> str | None:
    """The repository the symptom names first ("checkout errors with payment timeouts" → checkout-service).

    HTTP status phrases ("gateway timeouts", "service unavailable") describe the error, not a repository.
    """
    text = HTTP_PHRASES_RE.sub(" ", symptom.lower())
    positions = []
    for repo in repos:
        words = {repo, repo.replace("-", " ")} | {w for w in repo.split("-") if w not in GENERIC_REPO_WORDS}
        for word in words:
            match = re.search(rf"\b{re.escape(word)}\b", text)
            if match:
                positions.append((match.start(), -len(word), repo))
    return min(positions)[2] if positions else None


def score(
    candidate: Candidate,
    at: datetime,
    service: str | None,
    symptom_words: set[str],
    failed_commits: set[str],
    environment: str = "production",
) -> None:
    """Fill `score` and `reasons`; weights favour deployment proximity, then service, then change type."""
    deployment = candidate.deployment
    assert deployment is not None and deployment.started_on is not None
    before = at - deployment.started_on
    candidate.score = 0.4
    candidate.reasons.append(
        f"deployed to {deployment.environment} {minutes(before)} before the symptom began ({deployment.ref})"
    )
    candidate.score += proximity_bonus(before, RUNTIME_PROXIMITY)
    if not same_service(candidate, service) and service:
        candidate.score -= 0.3
    paths = [f.path for f in candidate.files]
    config = [p for p in paths if CONFIG_RE.search(p) and concerns_environment(p, environment)]
    deps = [p for p in paths if DEPENDENCY_RE.search(p)]
    if config:
        candidate.score += 0.15
        candidate.reasons.append("config change: " + ", ".join(f"`{p}`" for p in config[:3]))
    if deps:
        candidate.score += 0.1
        candidate.reasons.append("dependency change: " + ", ".join(f"`{p}`" for p in deps[:3]))
    record = candidate.record
    said = record.subject if isinstance(record, PullRequestRecord) and record.subject else record.title
    message = record.message if isinstance(record, CommitRecord) else ""
    text = " ".join([said, message, *paths]).lower()
    hits = sorted(w for w in symptom_words if w in text)
    if hits:
        candidate.score += min(0.1, 0.05 * len(hits))
        candidate.reasons.append("mentions " + ", ".join(f"“{w}”" for w in hits))
    merge = (
        record.merge_commit
        if isinstance(record, PullRequestRecord)
        else record.hash
        if isinstance(record, CommitRecord)
        else None
    )
    if merge and merge in failed_commits:
        candidate.score += 0.1
        candidate.reasons.append("a pipeline on this change failed")
    candidate.score = round(max(candidate.score, 0.0), 2)


def same_commit(a: str | None, b: str | None) -> bool:
    return bool(a and b and (a.startswith(b) or b.startswith(a)))


def built_by(pipeline: PipelineRecord, prs: list[PullRequestRecord]) -> PullRequestRecord | None:
    """The PR behind a failed run: the one it ran for, whose merge it built, or an open one's branch."""
    return next(
        (
            r
            for r in prs
            if r.repo == pipeline.repo
            and (
                r.id == pipeline.pr_id
                or same_commit(r.merge_commit, pipeline.commit)
                or (r.state == "OPEN" and r.source_branch == pipeline.branch)
            )
        ),
        None,
    )


def build_candidates(
    evidence: EvidenceIndex,
    at: datetime,
    service: str | None,
    since: datetime | None = None,
    main_only: bool = False,
) -> list[Candidate]:
    """The change behind each failed pipeline near T: its PR (by PR target, merge commit or branch) or commit.

    With `since` (a question like "who broke main this morning" has a window, not a moment), T becomes
    the first failure in the window: the run that turned the build red.
    """
    prs = evidence.of(PullRequestRecord)
    candidates: dict[str, Candidate] = {}
    failed = [
        p
        for p in evidence.of(PipelineRecord)
        if p.result in FAILED
        and (not service or p.repo == service)
        and (not main_only or p.branch in ("main", "master"))
    ]
    if since is not None:
        in_window = [p for p in failed if since <= p.created_on <= at]
        if in_window:
            at = min(p.created_on for p in in_window)
        failed = in_window

    def distance(pipeline: PipelineRecord) -> timedelta:
        return abs(pipeline.created_on - at)

    def within(hours: int) -> list[PipelineRecord]:
        return [p for p in failed if distance(p) <= timedelta(hours=hours)]

    failed = within(6) or within(
        24
    )  # "why is X failing?" asked later in the day still finds this morning's run
    for pipeline in sorted(failed, key=distance):
        pr = built_by(pipeline, prs)
        commit = evidence.commit(pipeline.commit)
        record: Change = pr or commit or pipeline
        if record.ref in candidates:
            candidates[record.ref].more_pipelines.append(pipeline.ref)
            continue
        candidate = Candidate(
            record.ref,
            record,
            commit_ref=commit.ref if commit else None,
            pipeline=pipeline,
            files=evidence.files_of(pr) if pr else [],
        )
        candidate.score = 0.5
        cause = failure_cause(pipeline, evidence.of(StepRecord))  # the cause leads: "why is it red?"
        candidate.reasons.append(
            f"pipeline #{pipeline.build_number} {pipeline.result} on `{pipeline.branch or '?'}` "
            f"at {hh_mm(pipeline.created_on)} UTC, {minutes(distance(pipeline))} from T ({pipeline.ref})"
            + (f" — {cause}" if cause else "")
        )
        candidate.score += proximity_bonus(distance(pipeline), BUILD_PROXIMITY)
        same_service(candidate, service)
        if pr and same_commit(pr.merge_commit, pipeline.commit):
            candidate.score += 0.1
            candidate.reasons.append(f"its merge to `{pr.destination_branch}` is the commit that failed")
        deps = [f.path for f in candidate.files if DEPENDENCY_RE.search(f.path)]
        if deps:
            candidate.score += 0.1
            candidate.reasons.append("dependency change: " + ", ".join(f"`{p}`" for p in deps[:3]))
        candidate.score = round(candidate.score, 2)
        candidates[record.ref] = candidate
    return list(candidates.values())


def ruled_out(
    evidence: EvidenceIndex, candidates: list[Candidate], at: datetime, environment: str, service: str | None
) -> list[RuledOut]:
    """Changes people will ask about, and why they are not the cause."""
    out: list[RuledOut] = []
    for candidate in candidates:
        if service and candidate.record.repo != service:
            out.append(
                RuledOut(
                    ref=candidate.ref,
                    reason=f"other service (`{candidate.record.repo}`), the symptom is in `{service}`",
                )
            )
    shipped = {c.ref for c in candidates}
    last_deploy: dict[str, datetime] = {}
    for c in candidates:
        started = c.deployment.started_on if c.deployment else None
        if started and (c.record.repo not in last_deploy or started > last_deploy[c.record.repo]):
            last_deploy[c.record.repo] = started
    for pr in evidence.of(PullRequestRecord):
        if pr.state != "MERGED" or pr.ref in shipped or (service and pr.repo != service):
            continue
        merged = pr.updated_on
        if merged > at:
            out.append(
                RuledOut(
                    ref=pr.ref, reason=f"merged after the symptom began ({minutes(merged - at)} after T)"
                )
            )
            continue
        previous = last_deploy.get(pr.repo)
        if previous is None or merged > previous:
            out.append(
                RuledOut(
                    ref=pr.ref,
                    reason=f"merged {merged:%Y-%m-%dT%H:%M}Z but not deployed to {environment} "
                    "before the symptom began",
                )
            )
    for deployment in evidence.of(DeploymentRecord):
        started = deployment.started_on
        if (
            started
            and started > at
            and in_environment(deployment, environment)
            and (not service or deployment.repo == service)
        ):
            out.append(
                RuledOut(
                    ref=deployment.ref,
                    reason=f"deployed after the symptom began ({minutes(started - at)} after T)",
                )
            )
    return list({r.ref: r for r in out}.values())


def timeline(evidence: EvidenceIndex, at: datetime) -> list[TimelineEvent]:
    start, end = at - timedelta(hours=12), at + timedelta(hours=1)

    def inside(when: datetime | None) -> bool:
        return when is not None and start <= when <= end

    events = [
        TimelineEvent(
            at=d.started_on,
            what=f"{d.repo}: deployed “{d.release}” to {d.environment} ({d.status or d.state})",
            ref=d.ref,
        )
        for d in evidence.of(DeploymentRecord)
        if d.started_on is not None and inside(d.started_on)
    ]
    events += [
        TimelineEvent(
            at=pr.updated_on,
            what=f"{pr.repo}: merged PR #{pr.id} “{(pr.subject or pr.title)[:70]}”",
            ref=pr.ref,
        )
        for pr in evidence.of(PullRequestRecord)
        if pr.state == "MERGED" and inside(pr.updated_on)
    ]
    events += [
        TimelineEvent(at=p.created_on, what=f"{p.repo}: pipeline #{p.build_number} {p.result}", ref=p.ref)
        for p in evidence.of(PipelineRecord)
        if p.result in FAILED and inside(p.created_on)
    ]
    return sorted(events, key=lambda e: e.at)
