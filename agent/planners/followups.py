"""Chat follow-ups for the rules planner: questions that mean what was just said.

Four readings, tried in this order (`follow_up` returns None for a new question):

* **a filter** over the previous answer ("which of those were on main?", "only main" after a complete
  list): no request, or one re-listing when the records cannot say (approvals);
* **about its referents** ("who opened the oldest one?", "why did it fail?", "#283", "that PR", "the
  build"): the pointer is bound to what the thread cited (`agent.referents.binding`); what is asked is
  answered from the records held, or with the one call that reads it (`agent.referents.asks`). A pointer
  that could mean several objects, or none, asks which one, naming the candidates; a named object the
  thread never cited is looked up in the repository of the previous answer;
* **a revision** ("and in payments?", "what about last week?", "merged ones?", "same for staging"): the
  previous question asked again with the slots the follow-up names replaced (the table's slots are
  intake's `Understanding` fields), said first ("Same question for payments-service:"); a revision of a
  question about referents re-asks its listing and picks the referent again;
* otherwise a new question.

Revisions and filters record the question they re-ask (`Focus.revision`), questions about referents the
list they chose from (`About.listing`), so a chain of follow-ups keeps its thread.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bbscout.agent.focus import About, RecordFilter, Revision
from bbscout.agent.intake import Understanding, understand
from bbscout.agent.plan import Plan, Step
from bbscout.agent.planners.base import PlanRequest, PriorTurn
from bbscout.agent.planners.draft import Draft
from bbscout.agent.referents.asks import call_for, hop_call
from bbscout.agent.referents.binding import Bound, bind, objects
from bbscout.agent.referents.reading import (
    Reference,
    asks,
    filters_previous,
    reference,
    revises,
)
from bbscout.agent.referents.vocab import NARROWING_CUES
from bbscout.tools.evidence import Evidence, PersonRecord, PullRequestRecord

__all__ = ["follow_up"]

Replan = Callable[[PlanRequest], Plan]
MAX_CALLS = 5  # one call per referent, for at most this many referents
MAX_REVISION_WORDS = 10
COMPLETE_BELOW = 25  # a previous answer listing fewer objects listed all it found (the reporters' cap)
_PIPELINE_ASKS = frozenset({"result", "failed_step", "error", "log"})
# The slots a revision may change: intake's Understanding fields, by what the answer calls them.
SLOTS: dict[str, tuple[str, ...]] = {
    "repository": ("repos", "repo_mentions", "all_repos"),
    "window": ("window",),
    "state": ("pr_states", "awaiting_review", "draft"),
    "result": ("results", "in_progress", "progress"),
    "branch": ("branch", "default_branch"),
    "environment": ("environment",),
    "author": ("authors",),
    "reviewer": ("reviewers",),
    "approver": ("approvers",),
    "participant": ("participants",),
    "trigger": ("trigger",),
    "text": ("texts",),
    "path": ("paths",),
}
_NARROWABLE = frozenset({"branch", "author", "result", "state", "environment", "trigger", "repository"})


def follow_up(c: Draft, prev: PriorTurn, replan: Replan) -> Plan | None:
    """The plan for a follow-up of `prev` (see the module docstring), or None for a new question."""
    u, text = c.u, c.u.text
    pointer = reference(u)
    wanted = asks(text)
    changed = _changed_slots(c, prev)
    if filters_previous(text) or (pointer is not None and pointer.plural and not wanted and changed):
        filt = _filter_from(c)
        if filt.terms():
            return _filter(c, prev, filt)
    if pointer is not None and not _rescoped(c, prev, pointer):
        return _about(c, prev, pointer, wanted, replan)
    if changed and revises(text) and len(text.split()) <= MAX_REVISION_WORDS and _same_topic(c, prev):
        if _narrows(c, prev, changed):
            filt = _filter_from(c)
            if filt.terms():
                return _filter(c, prev, filt)
        return _again(c, prev, changed, replan, pointer, wanted)
    return None


# --- a filter over the previous answer --------------------------------------------------------------


def _filter_from(c: Draft) -> RecordFilter:
    u = c.u
    return RecordFilter(
        awaiting_review=u.awaiting_review,
        branch=u.branch,
        author=u.authors[0] if u.authors else None,
        results=u.results,
        states=[] if u.awaiting_review else u.pr_states,
        environment=u.environment,
        repos=u.repos,
        trigger=u.trigger,
        since=u.window.start if u.window else None,
        until=u.window.end if u.window else None,
    )


def _filter(c: Draft, prev: PriorTurn, filt: RecordFilter) -> Plan:
    c.focus.filter = filt
    c.understood.append("filter the previous answer: " + filt.described("="))
    _refetch_for_filter(c, prev, filt)
    base, slots = _basis(prev)
    narrowed = {**slots, **_slots_of(c.u, [g for g in SLOTS if _set(c.u, g)])}
    c.focus.revision = Revision(base=base, slots=narrowed, said="filtered")
    if not filters_previous(c.u.text):
        c.focus.reading = (
            f"Filtered the previous answer's {len(objects(prev.primary))} results (not a new search):"
        )
    return c.plan("follow_up", "filter the previous results", prev.plan.repos)


def _refetch_for_filter(c: Draft, prev: PriorTurn, filt: RecordFilter) -> None:
    """A filter the previous records cannot answer (approvals are not in PR listings): re-list the same
    repositories with the filter server-side; the reporter keeps only the previous answer's refs."""
    if not filt.awaiting_review:
        return
    prs = [r for r in prev.primary if isinstance(r, PullRequestRecord)]
    if not prs:
        return
    repos = sorted({r.repo for r in prs})
    c.focus.within = [r.ref for r in prs]
    c.step(
        "list_pull_requests",
        {"repos": repos, "states": ["OPEN"], "awaiting_review": True, "limit": 200},
        "approvals of the previous answer's pull requests",
        primary=True,
    )
    c.understood.append(
        "approvals are not in the previous listing: re-listing those repositories' open PRs awaiting review"
    )


def _narrows(c: Draft, prev: PriorTurn, changed: dict[str, dict[str, Any]]) -> bool:
    """ "only main" after a complete list: narrowing it is the likelier reading than asking again.

    Only a slot the previous question left open (or a subset of what it asked), with an "only"/"just"
    or no re-asking cue, over an answer that listed everything it found.
    """
    if not any(re.search(p, c.u.text) for p in NARROWING_CUES):
        return False
    if len(objects(prev.primary)) >= COMPLETE_BELOW or set(changed) - _NARROWABLE:
        return False
    base = _base_reading(c, prev)
    focus = prev.plan.focus
    for group in changed:
        if group == "state" and not set(c.u.pr_states) <= set(focus.states or base.pr_states or []):
            return False
        if group == "result" and focus.results and not set(c.u.results) <= set(focus.results):
            return False
        if group not in ("state", "result") and _set(base, group):
            return False
    return True


# --- about the thread's referents ------------------------------------------------------------------


def _rescoped(c: Draft, prev: PriorTurn, pointer: Reference) -> bool:
    """ "the oldest one in auth-service", "the newest one last week": a pick over another listing."""
    if pointer.pointer == "named":
        return bool(c.u.repos) and not set(c.u.repos) <= _thread_repos(prev)
    if pointer.pointer not in ("ordinal", "superlative"):
        return False
    return bool(c.u.window) or (bool(c.u.repos) and not set(c.u.repos) <= _thread_repos(prev))


def _thread_repos(prev: PriorTurn) -> set[str]:
    return set(prev.plan.repos or []) | {r.repo for r in objects(prev.citable())}


def _about(c: Draft, prev: PriorTurn, pointer: Reference, wanted: list[str], replan: Replan) -> Plan | None:
    earlier = prev.plan.focus.about
    if not wanted and earlier is not None and earlier.asks and revises(c.u.text):
        wanted = list(earlier.asks)  # "who opened the oldest one?" … "and the newest one?": the same ask
    bound = bind(pointer, prev, wanted)
    if bound.not_held:
        return _look_up_named(c, prev, pointer, replan)
    if not bound.records:
        return _ask_which(c, prev, pointer, wanted, bound)
    records = bound.records
    people = [r for r in records if isinstance(r, PersonRecord)]
    if people:
        c.not_understood.append(f"don't know how to look closer at a person ({people[0].name})")
        return c.plan("unknown", "follow-up on a person", None)
    hop = bound.hop
    if (
        hop is None
        and wanted
        and set(wanted) <= _PIPELINE_ASKS
        and all(isinstance(r, PullRequestRecord) for r in records)
    ):
        hop = "build"  # "did it pass?" about a pull request: its build
    c.focus.about = About(
        said=pointer.said,
        pointer=pointer.pointer,
        refs=[r.ref for r in records],
        asks=wanted,
        hop=hop,
        index=pointer.index,
        order=pointer.order,
        listing=Revision(base=_basis(prev)[0], slots=_basis(prev)[1]),
    )
    c.understood.append(f"“{pointer.said}” = " + ", ".join(r.ref for r in records[:8]) + _more(records))
    if wanted:
        c.understood.append("asked: " + ", ".join(wanted))
    _steps_about(c, prev, records, wanted, hop, bound.by_size)
    plan = c.plan("follow_up", f"about {pointer.said}: {', '.join(wanted) or 'details'}", _repos_of(records))
    plan.constraints = []  # the referents are the scope; the question's words describe what is asked
    return plan


def _more(records: list[Evidence]) -> str:
    return f" and {len(records) - 8} more" if len(records) > 8 else ""


def _repos_of(records: list[Evidence]) -> list[str] | None:
    return sorted({r.repo for r in records if r.repo}) or None


def _steps_about(
    c: Draft, prev: PriorTurn, records: list[Evidence], wanted: list[str], hop: str | None, by_size: bool
) -> None:
    """The one call each referent needs (none when the thread holds the answer), bounded."""
    if hop is not None:
        call = hop_call(records[0])
        if call is not None:
            c.step(call[0], call[1], call[2], primary=True)
        return
    if by_size:  # "the biggest one": every candidate's diffstat in one call per repository
        by_repo: dict[str, list[int]] = {}
        for r in records:
            if isinstance(r, PullRequestRecord):
                by_repo.setdefault(r.repo, []).append(r.id)
        for repo, ids in by_repo.items():
            c.step("pull_request_files", {"repo": repo, "pr_ids": ids}, "their sizes and files", primary=True)
        return
    calls = [call for r in records if (call := call_for(r, wanted, prev.held)) is not None]
    for tool, args, why in calls[:MAX_CALLS]:
        step = c.step(tool, args, why, primary=True)
        step.args = Step(id=step.id, tool=tool, args=args).args  # a False flag ("log": False) is meant
    if len(calls) > MAX_CALLS:
        c.understood.append(f"looked into the first {MAX_CALLS} of {len(calls)} (one call each)")


def _ask_which(c: Draft, prev: PriorTurn, pointer: Reference, wanted: list[str], bound: Bound) -> Plan:
    c.focus.about = About(
        said=pointer.said,
        pointer=pointer.pointer,
        asks=wanted,
        candidates=[r.ref for r in bound.candidates],
        index=pointer.index,
    )
    c.clarify.append(f"Which one do you mean? {bound.reason[:1].upper()}{bound.reason[1:]}.")
    plan = c.plan("follow_up", f"which one is “{pointer.said}”?", _repos_of(bound.candidates))
    plan.constraints = []
    return plan


def _look_up_named(c: Draft, prev: PriorTurn, pointer: Reference, replan: Replan) -> Plan | None:
    """ "#283", "PR 64", a hash the thread never cited: looked up in the previous answer's repository."""
    repos = sorted(_thread_repos(prev))
    if c.u.repos or c.request.repo_filter or len(repos) != 1:
        return None  # named with its repository, or no single one to assume: a question of its own
    again = c.request.model_copy(update={"repo_filter": repos, "previous": None})
    plan = replan(again)
    plan.understood.insert(0, f"{pointer.said}: in {repos[0]}, the repository of the previous answer")
    plan.focus.reading = f"{pointer.said} in {repos[0]} (the repository of the previous answer):"
    return plan


# --- a revision: the previous question again, some slots changed ---------------------------------


def _set(u: Understanding, group: str) -> bool:
    return any(
        getattr(u, name) not in (None, False, [], "") for name in SLOTS[group] if name != "repo_mentions"
    )


def _slots_of(u: Understanding, groups: list[str]) -> dict[str, Any]:
    dumped = u.model_dump(mode="json")
    return {name: dumped[name] for g in groups for name in SLOTS[g]}


def _basis(prev: PriorTurn) -> tuple[str, dict[str, Any]]:
    """The question the previous turn answered, and the slots it had changed (a revision, or the list a
    question about referents chose from)."""
    focus = prev.plan.focus
    if focus.revision is not None:
        return focus.revision.base, dict(focus.revision.slots)
    if focus.about is not None and focus.about.listing is not None:
        return focus.about.listing.base, dict(focus.about.listing.slots)
    return prev.question, {}


def _base_reading(c: Draft, prev: PriorTurn) -> Understanding:
    base, slots = _basis(prev)
    req = c.request
    read = understand(base, req.now, req.tz, req.repositories)
    return Understanding.model_validate({**read.model_dump(mode="json"), **slots}) if slots else read


def _changed_slots(c: Draft, prev: PriorTurn) -> dict[str, dict[str, Any]]:
    """The slot groups the follow-up sets to something other than the previous question had."""
    base = _base_reading(c, prev)
    out: dict[str, dict[str, Any]] = {}
    for group in SLOTS:
        if not _set(c.u, group):
            continue
        new = _slots_of(c.u, [group])
        old = _slots_of(base, [group])
        if group == "repository":
            same = set(new["repos"]) == set(old["repos"]) and bool(new["repos"])
        else:
            same = new == old
        if not same:
            out[group] = new
    return out


def _same_topic(c: Draft, prev: PriorTurn) -> bool:
    """ "show me open PRs" after a pipelines answer is a new question; "merged ones?" has no topic."""
    topics = set(c.u.topics)
    return not topics or topics <= set(_base_reading(c, prev).topics)


def _said(u: Understanding, changed: dict[str, dict[str, Any]]) -> str:
    parts: list[str] = []
    for group in changed:
        if group == "repository":
            parts.append("for " + ", ".join(u.repos))
        elif group == "window" and u.window is not None:
            parts.append(u.window.label)
        elif group == "state":
            parts.append(
                "awaiting review"
                if u.awaiting_review
                else "for " + "/".join(s.lower() for s in u.pr_states) + " ones"
            )
        elif group == "result":
            parts.append(
                "for " + "/".join(r.lower() for r in u.results) + " ones" if u.results else "running"
            )
        elif group == "branch":
            parts.append(f"on {u.branch}")
        elif group == "environment":
            parts.append(f"for {u.environment}")
        elif group in ("author", "reviewer", "approver", "participant"):
            names = getattr(u, group + "s")
            parts.append(f"{group} {', '.join(names)}")
        elif group == "trigger" and u.trigger:
            parts.append(f"triggered {u.trigger.lower()}")
        else:
            values = getattr(u, SLOTS[group][0])
            parts.append(f"{group} {', '.join(map(str, values))}")
    return ", ".join(parts)


def _again(
    c: Draft,
    prev: PriorTurn,
    changed: dict[str, dict[str, Any]],
    replan: Replan,
    pointer: Reference | None,
    wanted: list[str],
) -> Plan | None:
    """The previous question asked again with `changed` slots (a question about referents: its listing,
    and the referent picked from it again)."""
    base, slots = _basis(prev)
    merged = {**slots, **{k: v for group in changed.values() for k, v in group.items()}}
    req = c.request
    read = understand(base, req.now, req.tz, req.repositories)
    revised = Understanding.model_validate({**read.model_dump(mode="json"), **merged})
    repo_filter = None if "repository" in changed else req.repo_filter
    again = req.model_copy(
        update={"question": base, "intake": revised, "previous": None, "repo_filter": repo_filter}
    )
    plan = replan(again)
    if plan.family == "unknown":
        return None
    said = _said(c.u, changed)
    prior = prev.plan.focus.about
    picked = pointer if pointer is not None and pointer.pointer in ("ordinal", "superlative") else None
    if picked is not None and plan.steps:  # "and the oldest one in auth-service?": picked from the list
        plan.focus.about = About(
            said=picked.said,
            pointer=picked.pointer,
            asks=wanted or (list(prior.asks) if prior else []),
            index=picked.index,
            order=picked.order,
            listing=Revision(base=base, slots=merged, said=said),
        )
    elif prior is not None and plan.steps:  # "and in auth-service?" after "who opened the oldest one?"
        plan.focus.about = prior.model_copy(
            update={"refs": [], "candidates": [], "listing": Revision(base=base, slots=merged, said=said)}
        )
    if plan.focus.about is not None:
        plan.family = "follow_up"
    plan.focus.revision = Revision(base=base, slots=merged, said=said)
    plan.focus.reading = f"Same question {said}:"
    plan.intent = f"{plan.intent} — again {said}"
    plan.understood.insert(0, f"same question as before (“{base.strip()}”) {said}")
    return plan
