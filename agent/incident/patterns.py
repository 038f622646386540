"""Incident shapes that are not "a change broke it": flaky tests and rollbacks.

A flaky test is one test failing in several runs across branches while the code around it differs;
a rollback is a redeploy of a release the environment already had, after a newer one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta

from bbscout.agent.incident.suspects import EvidenceIndex, in_environment
from bbscout.agent.report import Finding, Report, TimelineEvent
from bbscout.tools.evidence import DeploymentRecord, PipelineRecord, TestCaseRecord

# Kinds of test a symptom may name ("integration tests keep failing"): the steps to compare reports of.
TEST_KINDS = (
    "unit",
    "integration",
    "e2e",
    "end-to-end",
    "acceptance",
    "functional",
    "contract",
    "component",
    "smoke",
    "regression",
    "ui",
    "api",
)


def test_kinds(symptom: str) -> list[str]:
    """The kinds of test the symptom names, which the failing steps' names should carry."""
    return [kind for kind in TEST_KINDS if re.search(rf"(?i)\b{re.escape(kind)}\b", symptom)]


def _minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def flaky_report(evidence: EvidenceIndex, service: str | None, symptom: str) -> Report:
    """The test that failed in the most runs (on more than one branch), and the runs where it failed."""
    pipelines = {(p.repo, p.build_number): p for p in evidence.of(PipelineRecord)}
    runs: dict[tuple[str, str], list[PipelineRecord]] = defaultdict(list)
    for test in evidence.of(TestCaseRecord):
        pipeline = pipelines.get((test.repo, test.build_number))
        if test.status in ("FAILED", "ERROR") and pipeline and (not service or test.repo == service):
            runs[(test.repo, test.name)].append(pipeline)
    scored = sorted(
        ((len({p.branch for p in ps}), len(ps), key) for key, ps in runs.items() if len(ps) >= 2),
        reverse=True,
    )
    if not scored:
        where = f"in `{service}` " if service else ""
        return Report(
            answer=f"**No test failed in more than one run** {where}in the pipelines "
            f"examined, so nothing looks flaky for “{symptom}”.",
            confidence="low",
        )
    branches, count, (repo, name) = scored[0]
    failing = sorted({p.ref: p for p in runs[(repo, name)]}.values(), key=lambda p: p.created_on)
    listing = "\n".join(
        f"- [{p.ref}]({p.url}) {p.result} on `{p.branch}` at {_minute(p.created_on)} UTC" for p in failing
    )
    others = [f"`{n}` ({len(ps)} runs)" for (_, n), ps in runs.items() if n != name and len(ps) >= 2][:3]
    kinds = test_kinds(symptom)
    answer = (
        f"**Likely flaky test: `{name}` in `{repo}`** — it failed in {count} runs on {branches} different "
        f"branch{'es' if branches != 1 else ''}:\n\n{listing}"
        + (f"\n\nOther tests failing in several runs: {', '.join(others)}." if others else "")
        + (
            f"\n\nCompared: the {' and '.join(kinds)} test steps, the kind the symptom names."
            if kinds
            else ""
        )
    )
    return Report(
        answer=answer,
        entities=[p.ref for p in failing],
        findings=[
            Finding(
                title=f"{name} fails intermittently",
                detail=f"{count} failing runs on {branches} branches",
                refs=[p.ref for p in failing],
            )
        ],
        next_step=f"Quarantine or fix `{name}`; rerun the affected pipelines to confirm they pass.",
        confidence="high" if branches >= 2 and count >= 3 else "medium",
    )


def _rollbacks(deployments: list[DeploymentRecord]) -> list[tuple[DeploymentRecord, DeploymentRecord]]:
    """(rollback, the deployment it replaced): a redeploy of an earlier release over a different commit."""
    pairs = []
    for index, deployment in enumerate(deployments):
        earlier = [d for d in deployments[:index] if d.repo == deployment.repo]
        if not earlier:
            continue
        replaced = earlier[-1]
        same_release = any(
            (d.commit and d.commit == deployment.commit) or (d.release and d.release == deployment.release)
            for d in earlier[:-1]
        )
        if (deployment.is_redeploy or same_release) and replaced.commit != deployment.commit:
            pairs.append((deployment, replaced))
    return pairs


def rollback_report(evidence: EvidenceIndex, at: datetime, environment: str, service: str | None) -> Report:
    """The redeploy of an earlier release nearest T, and the deployment it replaced."""
    started = {
        d.ref: d.started_on
        for d in evidence.of(DeploymentRecord)
        if in_environment(d, environment)
        and d.status == "SUCCESSFUL"
        and d.started_on is not None
        and (not service or d.repo == service)
    }
    deployments = sorted(
        (d for d in evidence.of(DeploymentRecord) if d.ref in started), key=lambda d: started[d.ref] or at
    )
    rollbacks = _rollbacks(deployments)

    def distance(pair: tuple[DeploymentRecord, DeploymentRecord]) -> timedelta:
        return abs((started[pair[0].ref] or at) - at)

    near = [pair for pair in rollbacks if distance(pair) <= timedelta(hours=24)] or rollbacks
    if not near:
        where = f"in `{service}` " if service else ""
        return Report(
            answer=f"**No rollback to {environment} found** {where}near {at.strftime('%Y-%m-%d %H:%M UTC')}.",
            confidence="low",
        )
    rollback, replaced = min(near, key=distance)
    rolled_at, replaced_at = started[rollback.ref] or at, started[replaced.ref] or at
    answer = (
        f"**[{rollback.ref}]({rollback.url}) rolled {rollback.environment} of `{rollback.repo}` back** to "
        f"release “{rollback.release}” at {_minute(rolled_at)} UTC"
        + (f" (by {rollback.deployer})" if rollback.deployer else "")
        + f", replacing [{replaced.ref}]({replaced.url}) (release “{replaced.release}”, "
        f"commit `{str(replaced.commit)[:12]}`, deployed {_minute(replaced_at)} UTC)."
    )
    return Report(
        answer=answer,
        entities=[rollback.ref, replaced.ref],
        timeline=[
            TimelineEvent(at=when, what=f"{d.repo}: deployed “{d.release}” to {d.environment}", ref=d.ref)
            for d, when in ((replaced, replaced_at), (rollback, rolled_at))
        ],
        next_step="Compare the rolled-back release's change set (`what changed in the last production "
        "deployment`) to find the faulty change.",
        confidence="high",
    )
