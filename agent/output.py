"""The `--json` contract and the markdown a person reads, built from one finished run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bbscout.agent.focus import Constraint
from bbscout.agent.report import Report
from bbscout.tools.evidence import (
    BranchRecord,
    CodeMatchRecord,
    CommitRecord,
    DeploymentRecord,
    Evidence,
    FileChangeRecord,
    FileContentRecord,
    PipelineRecord,
    PullRequestRecord,
    RepositoryRecord,
    StepRecord,
    held_commits,
)


def _type_and_id(record: Evidence) -> tuple[str, str] | None:
    match record:
        case PipelineRecord() | StepRecord():
            return "pipeline", str(record.build_number)
        case PullRequestRecord():
            return "pull_request", str(record.id)
        case CommitRecord():
            return "commit", record.hash
        case BranchRecord():
            return "branch", record.name
        case DeploymentRecord():
            return "deployment", record.uuid
        case RepositoryRecord():
            return "repository", record.slug
        case FileChangeRecord() | FileContentRecord() | CodeMatchRecord():
            return "file", record.path
    return None  # test cases: the contract has no entity type for them


def entity(record: Evidence) -> dict[str, Any] | None:
    """A record as a contract entity: {type, repo, id, ref, url}; None for kinds the contract lacks."""
    typed = _type_and_id(record)
    if typed is None:
        return None
    entity_type, entity_id = typed
    return {"type": entity_type, "repo": record.repo, "id": entity_id, "ref": record.ref, "url": record.url}


def _held_entity(ref: str, holder: tuple[Evidence, str] | None) -> dict[str, Any] | None:
    """A commit cited through the record that names it (a PR's merge commit, a deployment's commit)."""
    if holder is None:
        return None
    record, url = holder
    return {"type": "commit", "repo": record.repo, "id": url.rsplit("/", 1)[-1], "ref": ref, "url": url}


def json_document(
    *,
    question: str,
    planner: str,
    source: str,
    now: str,
    window: dict[str, Any] | None,
    report: Report,
    records: dict[str, Evidence],
    stats: dict[str, Any],
    refused: str | None = None,
    constraints: Sequence[Constraint] = (),
) -> dict[str, Any]:
    """The one JSON document `--json` prints (schema in the product issue; evals read it).

    `refused` is "read-only" when the question asked bbscout to change something (it did nothing), else
    None. `constraints` are the question's restrictions as the plan recorded them, applied or not (DESIGN
    "Contracts → Constraints"), so a script or the service can show what the answer was narrowed by.
    """
    held = {ref: (record, url) for record in records.values() for ref, url in held_commits(record).items()}
    entities = [
        e
        for ref in report.entities
        if (e := entity(records[ref]) if ref in records else _held_entity(ref, held.get(ref)))
    ]
    findings = [f.model_dump(mode="json") for f in report.findings]
    findings += [
        {
            "title": f"Suspect #{i}: {s.ref} (score {s.score:.2f})",
            "detail": "; ".join(s.reasons),
            "refs": [s.ref, *s.related_refs],
        }
        for i, s in enumerate(report.suspects, 1)
    ]
    findings += [
        {"title": f"Ruled out: {r.ref}", "detail": r.reason, "refs": [r.ref]} for r in report.ruled_out
    ]
    return {
        "question": question,
        "planner": planner,
        "source": source,
        "now": now,
        "window": {"start": window["start"], "end": window["end"]} if window else None,
        "answer": report.answer,
        "refused": refused,
        "entities": entities,
        "findings": findings,
        "gaps": report.gaps,
        "constraints": [
            {
                "kind": c.kind,
                "filter": c.filter or c.kind,
                "value": c.value,
                "applied": c.applied,
                "how": c.how,
                "reading": c.reading or None,
            }
            for c in constraints
        ],
        "stats": stats,
        "confidence": report.confidence,
        "next_step": report.next_step,
        "timeline": [e.model_dump(mode="json") for e in report.timeline],
    }


def markdown(report: Report) -> str:
    """The whole answer as markdown: answer, findings, gaps."""
    parts = [report.answer]
    if report.findings and not report.suspects:
        parts.append("### Findings\n" + "\n".join(f"- **{f.title}** — {f.detail}" for f in report.findings))
    if report.gaps:
        parts.append("### What I could not see\n" + "\n".join(f"- {g}" for g in report.gaps))
    return "\n\n".join(parts)
