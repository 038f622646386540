"""The citation guard: nothing reaches the user that the evidence does not hold.

Runs after either reporter. Every ref, commit hash, PR number and build number in the report must
belong to a record fetched in this run (or the previous chat turn's answer); anything else is
removed and logged. This is what keeps an LLM reporter — or a prompt injection inside repository
text — from inventing a PR, a commit or a pipeline.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from bbscout.agent.plan import StepOutcome
from bbscout.agent.planners.base import PriorTurn
from bbscout.agent.report import Report
from bbscout.tools.evidence import (
    BranchRecord,
    CommitRecord,
    DeploymentRecord,
    Evidence,
    PipelineRecord,
    PullRequestRecord,
    RepositoryRecord,
    StepRecord,
    TestCaseRecord,
    held_commits,
)

log = logging.getLogger("bbscout.verify")
log.addHandler(logging.NullHandler())

REF_RE = re.compile(r"\b(?:repo|pipeline|step|pr|commit|branch|deployment|file|test):[\w.\-/{}@:#+~]+[\w}/]")
HASH_RE = re.compile(r"(?<![\w/{:-])[0-9a-f]{7,40}(?![\w}-])")
PR_RE = re.compile(r"\b(?:PR|pull request)\s*#?(\d+)", re.IGNORECASE)
BUILD_RE = re.compile(r"\b(?:build|pipeline|run)\s*#(\d+)", re.IGNORECASE)
REMOVED = "[unverified reference removed]"


def _identifiers(record: Evidence) -> tuple[list[str | None], list[int | None], list[int | None], list[str]]:
    """(commit hashes, PR numbers, build numbers, free text) a record holds, in any of its fields."""
    match record:
        case CommitRecord():
            hashes = [record.hash, *record.parents, record.entered_via]
            return hashes, [record.pr_id], [], [record.message]
        case PullRequestRecord():
            return [record.merge_commit], [record.id], [], [record.subject, record.description]
        case PipelineRecord():
            return [record.commit], [record.pr_id], [record.build_number], []
        case DeploymentRecord():
            return [record.commit, record.replaces_commit], [], [record.build_number], []
        case BranchRecord():
            return [record.head], [], [], []
        case StepRecord() | TestCaseRecord():
            return [], [], [record.build_number], []
        case RepositoryRecord():
            return [], [], [], [record.description]
    return [], [], [], []


def _held_refs(record: Evidence) -> list[str]:
    """Refs a record names in its fields: the deployment a rollback replaced, the one it was rolled back by,
    the release a deployment replaced, the commit a deployment runs (and the one it replaced), a PR's
    merge commit. The evidence holds them as surely as the record's own ref."""
    commits = list(held_commits(record))
    if isinstance(record, DeploymentRecord):
        return [r for r in (record.rolls_back, record.rolled_back_by, record.replaces) if r] + commits
    return commits


class Known:
    """The identifiers the evidence holds."""

    def __init__(self, records: Iterable[Evidence]) -> None:
        self.refs: set[str] = set()
        self.hashes: set[str] = set()
        self.pr_ids: set[int] = set()
        self.builds: set[int] = set()
        for record in records:
            self.refs.add(record.ref)
            self.refs.update(_held_refs(record))
            hashes, pr_ids, builds, texts = _identifiers(record)
            self.hashes.update(h for h in hashes if h)
            self.pr_ids.update(n for n in pr_ids if n)
            self.builds.update(n for n in builds if n)
            for text in [*texts, record.title]:  # numbers the evidence itself mentions are not inventions
                self.pr_ids.update(int(n) for n in PR_RE.findall(text))

    def has_ref(self, ref: str) -> bool:
        return ref in self.refs

    def has_hash(self, text: str) -> bool:
        return any(h.startswith(text) or (len(h) >= 7 and text.startswith(h)) for h in self.hashes)


def _clean_text(text: str, known: Known, removed: list[str]) -> str:
    def ref(match: re.Match[str]) -> str:
        if known.has_ref(match.group(0)):
            return match.group(0)
        removed.append(match.group(0))
        return REMOVED

    def sha(match: re.Match[str]) -> str:
        value = match.group(0)
        if not any(c.isalpha() for c in value) or known.has_hash(value):
            return value
        removed.append(value)
        return REMOVED

    def number(ids: set[int]) -> Any:
        def check(match: re.Match[str]) -> str:
            if int(match.group(1)) in ids:
                return match.group(0)
            removed.append(match.group(0))
            return REMOVED

        return check

    # Refs first, then bare identifiers outside refs (refs are protected by masking them).
    text = REF_RE.sub(ref, text)
    protected: list[str] = []

    def mask(match: re.Match[str]) -> str:
        protected.append(match.group(0))
        return f"\x00{len(protected) - 1}\x00"

    masked = re.sub(r"\]\([^)]*\)", mask, REF_RE.sub(mask, text))
    masked = HASH_RE.sub(sha, masked)
    masked = PR_RE.sub(number(known.pr_ids), masked)
    masked = BUILD_RE.sub(number(known.builds), masked)
    return re.sub(r"\x00(\d+)\x00", lambda m: protected[int(m.group(1))], masked)


def verify_report(
    report: Report, outcomes: list[StepOutcome], previous: PriorTurn | None = None, question: str = ""
) -> Report:
    """A copy of `report` with every unverifiable reference removed (and logged).

    Numbers the user typed ("is PR #999 merged?") are theirs to mention, so the answer may repeat
    them — typically to say that no such object exists.
    """
    records = [r for o in outcomes for r in o.records] + (previous.citable() if previous else [])
    known = Known(records)
    known.pr_ids.update(int(n) for n in re.findall(r"#?(\d+)", question))
    known.builds.update(int(n) for n in re.findall(r"#?(\d+)", question))
    removed: list[str] = []

    def keep(ref: str) -> bool:
        if known.has_ref(ref):
            return True
        removed.append(ref)
        return False

    cleaned = report.model_copy(deep=True)
    cleaned.answer = _clean_text(report.answer, known, removed)
    cleaned.entities = list(dict.fromkeys(ref for ref in report.entities if keep(ref)))
    for finding in cleaned.findings:
        finding.refs = [ref for ref in finding.refs if keep(ref)]
        finding.detail = _clean_text(finding.detail, known, removed)
        finding.title = _clean_text(finding.title, known, removed)
    cleaned.timeline = [event for event in cleaned.timeline if keep(event.ref)]
    cleaned.suspects = [suspect for suspect in cleaned.suspects if keep(suspect.ref)]
    for suspect in cleaned.suspects:
        suspect.related_refs = [ref for ref in suspect.related_refs if keep(ref)]
    cleaned.ruled_out = [item for item in cleaned.ruled_out if keep(item.ref)]
    if cleaned.next_step:
        cleaned.next_step = _clean_text(cleaned.next_step, known, removed)
    for item in removed:
        log.warning("verify: removed unverifiable reference %r", item)
    return cleaned
