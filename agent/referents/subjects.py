"""Which objects a turn about referents answers for, once its calls ran: shared by review (the one call
still to make) and the writer (`agent.reporters.about`).

Bound referents are read freshest first (this turn's records over the thread's: a PR fetched now carries
its approvals). "The biggest one" is chosen by the lines each candidate's diffstat changes; "the build"
of a PR is the pipeline this turn found; a referent picked from this turn's listing ("and in
auth-service?" after "who opened the oldest one?") is picked by position or time, as it was the first
time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from bbscout.agent.focus import About
from bbscout.agent.plan import Plan, StepOutcome, by_ref
from bbscout.agent.planners.base import PriorTurn
from bbscout.agent.referents.asks import Call, call_for
from bbscout.agent.referents.binding import objects, pick
from bbscout.agent.referents.thread import thread_records
from bbscout.tools.evidence import Evidence, FileChangeRecord, PipelineRecord

__all__ = ["pending_calls", "sizes", "subjects"]


def _listed(plan: Plan, outcomes: Sequence[StepOutcome]) -> list[Evidence]:
    primary = {s.id for s in plan.steps if s.primary}
    return objects([r for o in outcomes if o.step_id in primary for r in o.records])


def sizes(outcomes: Sequence[StepOutcome], held: Sequence[Evidence] = ()) -> dict[tuple[str, int], int]:
    """Lines changed per (repo, PR id), from the diffstats read (files marked with their PR)."""
    total: dict[tuple[str, int], int] = defaultdict(int)
    files = {
        f.ref: f
        for f in [*held, *(r for o in outcomes for r in o.records)]
        if isinstance(f, FileChangeRecord)
    }
    for f in files.values():
        if f.pr_id is not None:
            total[(f.repo, f.pr_id)] += f.lines_added + f.lines_removed
    return dict(total)


def subjects(
    about: About, plan: Plan, outcomes: Sequence[StepOutcome], previous: PriorTurn | None
) -> list[Evidence]:
    """The objects the answer is about (see the module docstring)."""
    if about.hop == "build":
        found: list[Evidence] = [r for r in _listed(plan, outcomes) if isinstance(r, PipelineRecord)]
        return found[:1]
    if about.refs:
        fresh = by_ref(outcomes, thread_records(previous))
        records = [fresh[ref] for ref in about.refs if ref in fresh]
        if about.order in ("biggest", "smallest"):
            measured = sizes(outcomes, previous.held if previous else [])
            sized = [r for r in records if (r.repo, getattr(r, "id", -1)) in measured]
            if sized:
                biggest = about.order == "biggest"
                best = max(
                    sized, key=lambda r: measured[(r.repo, getattr(r, "id", -1))] * (1 if biggest else -1)
                )
                return [best]
        return records
    listed = _listed(plan, outcomes)
    if about.index is not None or about.order is not None:
        chosen = pick(listed, index=about.index, order=about.order)
        return [chosen] if chosen is not None else []
    return listed


def pending_calls(
    about: About, plan: Plan, outcomes: Sequence[StepOutcome], previous: PriorTurn | None
) -> list[Call]:
    """The call the asks still need about subjects that became known only after this turn's first calls
    (a referent picked from a listing, the build of a PR)."""
    if about.refs and about.hop is None:
        return []  # planned with the first steps
    done = [r for o in outcomes for r in o.records]
    return [
        call for s in subjects(about, plan, outcomes, previous) if (call := call_for(s, about.asks, done))
    ]
