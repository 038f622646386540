"""How ranked suspects read: the answer first, then suspects, ruled-out changes, timeline, next step."""

from __future__ import annotations

from datetime import datetime

from bbscout.agent.incident.suspects import Candidate, EvidenceIndex, headline, in_environment, timeline
from bbscout.agent.report import Finding, Report, RuledOut, Suspect
from bbscout.tools.evidence import CommitRecord, DeploymentRecord, PullRequestRecord


def render_suspects(
    evidence: EvidenceIndex,
    candidates: list[Candidate],
    excluded: list[RuledOut],
    at: datetime,
    symptom: str,
    service: str | None,
    environment: str,
    kind: str,
) -> Report:
    """The incident report for ranked candidates (runtime or build incidents)."""
    build = kind == "build"
    excluded_refs = {r.ref for r in excluded}
    ranked = sorted((c for c in candidates if c.ref not in excluded_refs), key=lambda c: (-c.score, c.ref))
    events = timeline(evidence, at)
    at_text = at.strftime("%Y-%m-%d %H:%M UTC")
    where = f"in `{service}` " if service else ""
    if not ranked and build:
        return Report(
            answer=f"**No failed pipeline {where}within 6 hours of {at_text}**, "
            f"so no change lines up with “{symptom}”.",
            timeline=events,
            confidence="low",
            next_step="Check the pipeline list for the branch named in the symptom, or widen the time.",
        )
    if not ranked:
        answer = (
            f"**No change was deployed to {environment} {where}in the 48 hours "
            f"before {at_text}**, so nothing deployed explains “{symptom}”."
        )
        if excluded:
            answer += "\n\nRuled out:\n" + "\n".join(f"- {r.ref}: {r.reason}" for r in excluded)
        return Report(
            answer=answer,
            timeline=events,
            ruled_out=excluded,
            confidence="low",
            next_step="Check infrastructure and third-party dependencies; no code change lines up with T.",
        )
    top = ranked[0]
    related = top.related
    suspects = [
        Suspect(ref=c.ref, score=c.score, reasons=c.reasons, related_refs=c.related) for c in ranked[:5]
    ]
    title = headline(top.record)
    margin = top.score - (ranked[1].score if len(ranked) > 1 else 0.0)
    confidence = "high" if margin >= 0.15 and top.score >= 0.8 else "medium" if top.score >= 0.6 else "low"
    record = top.record
    noun = (
        f"PR #{record.id}"
        if isinstance(record, PullRequestRecord)
        else f"commit {record.hash[:12]}"
        if isinstance(record, CommitRecord)
        else f"the change behind pipeline #{record.build_number}"
    )
    rollback = _rollback_target(evidence, top, environment)
    next_step = f"Revert {noun} (“{title[:80]}”) in `{record.repo}`"
    if rollback:
        next_step += (
            f", or roll {environment} back to release “{rollback.release}” ({rollback.ref}) while you confirm"
        )
    lines = [
        f"**Most likely cause: [{top.ref}]({record.url}) “{title[:100]}”** — " + "; ".join(top.reasons) + ".",
        f"Symptom: “{symptom}” from {at_text}. Confidence: {confidence}.",
        "### Suspects\n"
        + "\n".join(
            f"{i}. [{c.ref}]({c.record.url}) (score {c.score:.2f}) — " + "; ".join(c.reasons)
            for i, c in enumerate(ranked[:5], 1)
        ),
    ]
    if excluded:
        lines.append("### Ruled out\n" + "\n".join(f"- {r.ref}: {r.reason}" for r in excluded[:10]))
    if events:
        lines.append(
            "### Timeline\n"
            + "\n".join(f"- {e.at.strftime('%H:%M')} UTC {e.what} ({e.ref})" for e in events[-15:])
        )
    lines.append(f"### Next step\n{next_step}.")
    return Report(
        answer="\n\n".join(lines),
        entities=[top.ref, *related],
        findings=[
            Finding(title=f"Suspect: {c.ref}", detail="; ".join(c.reasons), refs=[c.ref, *c.related])
            for c in ranked[:3]
        ],
        timeline=events,
        suspects=suspects,
        ruled_out=excluded,
        next_step=next_step,
        confidence=confidence,
    )


def _rollback_target(evidence: EvidenceIndex, top: Candidate, environment: str) -> DeploymentRecord | None:
    """The last successful deployment of the suspect's service before the one that shipped it."""
    shipped = top.deployment.started_on if top.deployment else None
    if shipped is None:
        return None
    earlier = [
        (d.started_on, d)
        for d in evidence.of(DeploymentRecord)
        if d.repo == top.record.repo
        and in_environment(d, environment)
        and d.status == "SUCCESSFUL"
        and d.started_on is not None
        and d.started_on < shipped
    ]
    return max(earlier, key=lambda pair: pair[0])[1] if earlier else None
