"""Bind a follow-up's pointer to the objects the thread cited: which records "it", "the oldest one" or
"#283" mean, or the candidates to ask about when it could mean several (never a guess).

The pool is the last answer's objects in the order it listed them (`PriorTurn.primary`); named refs are
also looked up in the details it held and in the answers before it. A pointer with a noun ("that PR",
"the build") binds among objects of that kind; without one, among the kinds the question's asks apply to
("who merged it": a pull request), else among the answer's main objects (the kind it listed first).
"The build" of a pull request or commit the thread holds is reached by a hop (its newest pipeline).
The same binding serves the read-only guard ("roll it back", "merge that one": `agent.readonly.target`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bbscout.agent.planners.base import PriorTurn
from bbscout.agent.referents.reading import Reference
from bbscout.agent.referents.vocab import Thing
from bbscout.tools.evidence import (
    BranchRecord,
    CodeMatchRecord,
    CommitRecord,
    DeploymentRecord,
    Evidence,
    FileChangeRecord,
    FileContentRecord,
    PersonRecord,
    PipelineRecord,
    PullRequestRecord,
    RepositoryRecord,
)

__all__ = ["Bound", "bind", "choose", "moment", "objects", "pick", "thing_of"]

MAX_PLURAL = 25  # "those", "them": at most this many objects

_THING_OF: dict[type, Thing] = {
    PullRequestRecord: "pull_request",
    PipelineRecord: "pipeline",
    DeploymentRecord: "deployment",
    CommitRecord: "commit",
    BranchRecord: "branch",
    RepositoryRecord: "repository",
    FileChangeRecord: "file",
    FileContentRecord: "file",
    CodeMatchRecord: "file",
    PersonRecord: "person",
}
# which kinds an ask can be about (absent: every kind)
_ASK_KINDS: dict[str, frozenset[Thing]] = {
    "merged_by": frozenset({"pull_request"}),
    "approvers": frozenset({"pull_request"}),
    "reviewers": frozenset({"pull_request"}),
    "comments": frozenset({"pull_request"}),
    "opened_at": frozenset({"pull_request"}),
    "closed_at": frozenset({"pull_request"}),
    "target_branch": frozenset({"pull_request"}),
    "diff": frozenset({"pull_request", "commit"}),
    "files": frozenset({"pull_request", "commit", "pipeline"}),
    "stopped_by": frozenset({"pipeline"}),
    "failed_step": frozenset({"pipeline"}),
    "log": frozenset({"pipeline"}),
    "error": frozenset({"pipeline", "deployment"}),
    "result": frozenset({"pipeline", "deployment"}),
    "release": frozenset({"deployment"}),
    "shipped": frozenset({"deployment", "pull_request", "commit"}),
    "prs": frozenset({"commit", "deployment"}),
    "commits": frozenset({"pull_request", "deployment", "branch", "pipeline"}),
    "finished_at": frozenset({"deployment", "pipeline"}),
}
_BUILD_OF: tuple[type, ...] = (PullRequestRecord, CommitRecord)  # "the build" of these is a hop


@dataclass
class Bound:
    """What a pointer means: `records` (bound, in order), or `candidates` to ask about with `reason`.

    `hop` is set when the question is about an object related to the bound one ("the build" of a PR);
    `by_size` when the choice needs each candidate's size (one call reads them all).
    """

    records: list[Evidence] = field(default_factory=list)
    candidates: list[Evidence] = field(default_factory=list)
    reason: str = ""
    hop: Literal["build"] | None = None
    by_size: bool = False
    not_held: bool = False  # a named object the thread never cited (to look up in its repository)


def thing_of(record: Evidence) -> Thing | None:
    return _THING_OF.get(type(record))


def objects(records: Sequence[Evidence]) -> list[Evidence]:
    """The objects among `records` (a run's steps and tests are details of it, not referents)."""
    return [r for r in records if thing_of(r) is not None]


def moment(record: Evidence) -> datetime | None:
    """The time "newest" and "oldest" order by: an open PR's creation, a closed one's close, a run's
    start, a deployment's completion, a commit's date, a branch head's date."""
    if isinstance(record, PullRequestRecord):
        return record.created_on if record.state == "OPEN" else record.updated_on
    if isinstance(record, PipelineRecord):
        return record.created_on
    if isinstance(record, DeploymentRecord):
        return record.completed_on or record.started_on
    if isinstance(record, CommitRecord):
        return record.date
    if isinstance(record, BranchRecord):
        return record.head_date
    return None


def pick(
    records: Sequence[Evidence], *, index: int | None = None, order: str | None = None
) -> Evidence | None:
    """One of `records` by position (as listed) or by time; None when out of range or by size."""
    if index is not None:
        return records[index] if -len(records) <= index < len(records) else None
    timed = [r for r in records if moment(r) is not None]
    if order in ("newest", "oldest") and timed:
        ranked = sorted(timed, key=lambda r: moment(r) or datetime.min, reverse=order == "newest")
        return ranked[0]
    return None


def _wanted(asks: Sequence[str]) -> frozenset[Thing] | None:
    kinds = [_ASK_KINDS[a] for a in asks if a in _ASK_KINDS]
    if not kinds:
        return None
    common = frozenset.intersection(*kinds)
    return common or frozenset.union(*kinds)


def _candidates(ref: Reference, pool: list[Evidence], asks: Sequence[str]) -> list[Evidence]:
    if ref.thing is not None:
        return [r for r in pool if thing_of(r) == ref.thing]
    wanted = _wanted(asks)
    if wanted is not None:
        fitting = [r for r in pool if thing_of(r) in wanted]
        if fitting:
            return fitting
    head = thing_of(pool[0]) if pool else None
    return [r for r in pool if thing_of(r) == head]


def _named(ref: Reference, previous: PriorTurn) -> list[Evidence]:
    found: dict[str, Evidence] = {}
    for record in objects(previous.citable()):
        if isinstance(record, PullRequestRecord) and ref.number_kind in (None, "pull_request"):
            hit = record.id in ref.numbers
        elif isinstance(record, PipelineRecord) and ref.number_kind in (None, "pipeline"):
            hit = record.build_number in ref.numbers
        elif isinstance(record, CommitRecord):
            hit = any(record.hash.startswith(h.lower()) for h in ref.hashes)
        else:
            hit = False
        if hit and record.ref not in found:
            found[record.ref] = record
    records = list(found.values())
    if ref.number_kind is None and len({thing_of(r) for r in records}) > 1:  # "#39": a PR and a build
        head = thing_of(previous.primary[0]) if previous.primary else None
        records = [r for r in records if thing_of(r) == head] or records
    return records


def bind(ref: Reference, previous: PriorTurn, asks: Sequence[str] = ()) -> Bound:
    """What `ref` means in the thread (see the module docstring)."""
    if ref.pointer == "named":
        records = _named(ref, previous)
        return Bound(records=records) if records else Bound(not_held=True, reason=f"{ref.said} was not cited")
    pool = _pool(ref, previous)
    said = f"“{ref.said}”"
    if not pool:
        return Bound(reason=f"the last answer cited nothing, so {said} refers to nothing")
    candidates = _candidates(ref, pool, asks)
    if not candidates and ref.thing == "pipeline":
        hop = [r for r in pool if isinstance(r, _BUILD_OF)]
        if len(hop) == 1:  # "did the build pass?" after one PR: its newest pipeline
            return Bound(records=hop, hop="build")
    if not candidates:
        kind = (ref.thing or "object").replace("_", " ")
        return Bound(candidates=pool, reason=f"the last answer cited no {kind} for {said} to mean")
    if ref.described or ref.repos:  # "the checkout one", "the oldest one in auth-service"
        fitting = [r for r in candidates if _fits(r, ref)]
        if not fitting:
            return Bound(candidates=candidates, reason=f"none of them fits {said}")
        candidates = fitting
    return choose(ref, candidates)


def _pool(ref: Reference, previous: PriorTurn) -> list[Evidence]:
    """The objects a pointer picks among: the last answer's; for "the second one" after an answer about
    one referent ("who opened the oldest one?"), the list that referent was picked from."""
    about = previous.plan.focus.about
    if ref.pointer in ("ordinal", "superlative") and about is not None and about.refs and previous.earlier:
        return objects(previous.earlier[-1].cited)
    return objects(previous.primary)


def _fits(record: Evidence, ref: Reference) -> bool:
    """ "the checkout one", "the one by Raj", "the renovate one": its repository, branch, title or author
    holds the words (a repository the words name must be its repository)."""
    if ref.repos and record.repo not in ref.repos:
        return False
    text = " ".join(
        str(getattr(record, name, "") or "")
        for name in (
            "repo",
            "title",
            "branch",
            "source_branch",
            "author",
            "creator",
            "deployer",
            "environment",
        )
    ).lower()
    named = {part for slug in ref.repos for part in (slug, *slug.split("-"))}
    return all(w in text for w in ref.described if w not in named and not any(w in n for n in named))


def choose(ref: Reference, candidates: Sequence[Evidence]) -> Bound:
    """Which of `candidates` (the referents of the kind meant, as listed) `ref` points at: by position,
    time or size, all of them for a plural, the only one for a singular; else ask which."""
    said = f"“{ref.said}”"
    if ref.pointer == "ordinal":
        chosen = pick(candidates, index=ref.index)
        if chosen is None:
            return Bound(
                candidates=list(candidates),
                reason=f"the last answer listed only {len(candidates)}, so there is no "
                + ref.said.removeprefix("the "),
            )
        return Bound(records=[chosen])
    if ref.pointer == "superlative" and ref.order in ("biggest", "smallest"):
        sizable: list[Evidence] = [r for r in candidates if isinstance(r, PullRequestRecord)]
        if len(sizable) == 1:
            return Bound(records=sizable)
        if sizable:
            return Bound(records=sizable, by_size=True)
        return Bound(
            candidates=list(candidates), reason=f"only pull requests have a size to compare {said} by"
        )
    if ref.pointer == "superlative":
        chosen = pick(candidates, order=ref.order)
        if chosen is None:
            return Bound(candidates=list(candidates), reason=f"none of them has a time to order {said} by")
        return Bound(records=[chosen])
    if ref.plural:
        return Bound(records=list(candidates[:MAX_PLURAL]))
    if len(candidates) == 1:
        return Bound(records=list(candidates))
    return Bound(
        candidates=list(candidates),
        reason=f"the last answer listed {len(candidates)}, and {said} could be any of them",
    )
