"""Incident shapes that are not "a change broke it": flaky tests and rollbacks.

A flaky test is one test failing in several runs across branches while the code around it differs;
a rollback is a redeploy of a release the environment already had, after a newer one.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from bbscout.agent.incident.suspects import Evidence, _at, _in_environment
from bbscout.agent.report import Finding, Report, TimelineEvent


def flaky_report(evidence: Evidence, service: str | None, symptom: str) -> Report:
    """The test that failed in the most runs (on more than one branch), and the runs where it failed."""
    pipelines = {(p["repo"], p["build_number"]): p for p in evidence.of("pipeline")}
    runs: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for test in evidence.of("test_case"):
        pipeline = pipelines.get((test["repo"], test["build_number"]))
        if (
            test.get("status") in ("FAILED", "ERROR")
            and pipeline
            and (not service or test["repo"] == service)
        ):
            runs[(test["repo"], test["name"])].append(pipeline)
    scored = sorted(
        ((len({p.get("branch") for p in ps}), len(ps), key) for key, ps in runs.items() if len(ps) >= 2),
        reverse=True,
    )
    if not scored:
        return Report(
            answer=f"**No test failed in more than one run** {('in `' + service + '` ') if service else ''}in the pipelines "
            f"examined, so nothing looks flaky for “{symptom}”.",
            confidence="low",
        )
    branches, count, (repo, name) = scored[0]
    failing = sorted({p["ref"]: p for p in runs[(repo, name)]}.values(), key=lambda p: p["created_on"])
    listing = "\n".join(
        f"- [{p['ref']}]({p['url']}) {p.get('result')} on `{p.get('branch')}` at {p['created_on'][:16].replace('T', ' ')} UTC"
        for p in failing
    )
    others = [f"`{n}` ({len(ps)} runs)" for (_, n), ps in runs.items() if n != name and len(ps) >= 2][:3]
    answer = (
        f"**Likely flaky test: `{name}` in `{repo}`** — it failed in {count} runs on {branches} different "
        f"branch{'es' if branches != 1 else ''}:\n\n{listing}"
        + (f"\n\nOther tests failing in several runs: {', '.join(others)}." if others else "")
    )
    return Report(
        answer=answer,
        entities=[p["ref"] for p in failing],
        findings=[
            Finding(
                title=f"{name} fails intermittently",
                detail=f"{count} failing runs on {branches} branches",
                refs=[p["ref"] for p in failing],
            )
        ],
        next_step=f"Quarantine or fix `{name}`; rerun the affected pipelines to confirm they pass.",
        confidence="high" if branches >= 2 and count >= 3 else "medium",
    )


def rollback_report(evidence: Evidence, at: datetime, environment: str, service: str | None) -> Report:
    """The redeploy of an earlier release nearest T, and the deployment it replaced."""
    deployments = sorted(
        (
            d
            for d in evidence.of("deployment")
            if _in_environment(d, environment)
            and d.get("status") == "SUCCESSFUL"
            and d.get("started_on")
            and (not service or d["repo"] == service)
        ),
        key=lambda d: d["started_on"],
    )
    rollbacks: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for index, deployment in enumerate(deployments):
        earlier = [d for d in deployments[:index] if d["repo"] == deployment["repo"]]
        if not earlier:
            continue
        replaced = earlier[-1]
        same_release = any(
            (d.get("commit") and d.get("commit") == deployment.get("commit"))
            or (d.get("release") and d.get("release") == deployment.get("release"))
            for d in earlier[:-1]
        )
        if (deployment.get("is_redeploy") or same_release) and replaced.get("commit") != deployment.get(
            "commit"
        ):
            rollbacks.append((deployment, replaced))
    near = [
        pair for pair in rollbacks if abs((_at(pair[0]["started_on"]) or at) - at) <= timedelta(hours=24)
    ] or rollbacks
    if not near:
        return Report(
            answer=f"**No rollback to {environment} found** {('in `' + service + '` ') if service else ''}near "
            f"{at.strftime('%Y-%m-%d %H:%M UTC')}.",
            confidence="low",
        )
    rollback, replaced = min(near, key=lambda pair: abs((_at(pair[0]["started_on"]) or at) - at))
    answer = (
        f"**[{rollback['ref']}]({rollback['url']}) rolled {rollback['environment']} of `{rollback['repo']}` back** to "
        f"release “{rollback.get('release', '')}” at {rollback['started_on'][:16].replace('T', ' ')} UTC"
        + (f" (by {rollback['deployer']})" if rollback.get("deployer") else "")
        + f", replacing [{replaced['ref']}]({replaced['url']}) (release “{replaced.get('release', '')}”, "
        f"commit `{str(replaced.get('commit'))[:12]}`, deployed {replaced['started_on'][:16].replace('T', ' ')} UTC)."
    )
    return Report(
        answer=answer,
        entities=[rollback["ref"], replaced["ref"]],
        timeline=[
            TimelineEvent(
                at=d["started_on"],
                what=f"{d['repo']}: deployed “{d.get('release', '')}” to {d['environment']}",
                ref=d["ref"],
            )
            for d in (replaced, rollback)
        ],
        next_step="Compare the rolled-back release's change set (`what changed in the last production deployment`) to find the faulty change.",
        confidence="high",
    )
