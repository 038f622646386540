"""The thread's referents in graph state: what each answer cited, carried into the next turn.

`next_turn` is what the report node keeps of a finished turn (`PriorTurn`): the objects the answer cited
in the order it listed them, the details fetched about them (a cited run's steps and tests, a cited PR's
or commit's files: "which step failed?" then costs nothing), and the objects the earlier answers cited,
bounded. Records stay JSON-plain pydantic dumps; bulky text (log tails, descriptions, comments) is kept
only where the next question may need it. `prompt_block` shows them to a model, compact and inside the
untrusted-data delimiters.
"""

from __future__ import annotations

from collections.abc import Sequence

from bbscout.agent.plan import Plan, StepOutcome, by_ref
from bbscout.agent.planners.base import CitedTurn, PriorTurn
from bbscout.agent.prompts import data_block
from bbscout.agent.referents.binding import objects
from bbscout.agent.report import Report
from bbscout.tools.evidence import (
    CommitRecord,
    Evidence,
    FileChangeRecord,
    PipelineRecord,
    PullRequestRecord,
    StepRecord,
    TestCaseRecord,
)
from bbscout.tools.render import render_head

__all__ = ["EARLIER_TURNS", "next_turn", "prompt_block", "said_first", "thread_records"]

EARLIER_TURNS = 4  # answers kept before the last one
EARLIER_CITED = 25  # objects kept per earlier answer
MAX_HELD = 120  # details kept about the last answer's objects
SHOWN = 40  # objects shown to a model per answer


def thread_records(previous: PriorTurn | None) -> list[Evidence]:
    """Every record the thread holds, oldest first, so a dict built from it keeps the newest version."""
    return list(reversed(previous.citable())) if previous is not None else []


def _details(outcomes: Sequence[StepOutcome], cited: Sequence[Evidence]) -> list[Evidence]:
    """The steps, tests and files this turn fetched about the objects its answer cited."""
    runs = {(r.repo, r.build_number) for r in cited if isinstance(r, PipelineRecord)}
    prs = {(r.repo, r.id): r for r in cited if isinstance(r, PullRequestRecord)}
    commits = [r for r in cited if isinstance(r, CommitRecord)]
    held: dict[str, Evidence] = {}
    for outcome in outcomes:
        owner = next((r for r in outcome.records if isinstance(r, PullRequestRecord)), None)
        for r in outcome.records:
            keep = False
            if isinstance(r, StepRecord | TestCaseRecord):
                keep = (r.repo, r.build_number) in runs
            elif isinstance(r, FileChangeRecord):
                of_pr = owner is not None and (owner.repo, owner.id) in prs
                keep = (
                    of_pr or (r.repo, r.pr_id) in prs or any(c.hash.startswith(r.rev[:12]) for c in commits)
                )
                if of_pr and owner is not None and r.pr_id is None:
                    r = r.model_copy(update={"pr_id": owner.id, "diff_excerpt": None})
            if keep:
                held[r.ref] = r
    return list(held.values())[:MAX_HELD]


def next_turn(
    question: str,
    plan: Plan,
    outcomes: Sequence[StepOutcome],
    entities: Sequence[str],
    previous: PriorTurn | None,
) -> PriorTurn:
    """What the thread keeps of this turn (see the module docstring)."""
    citable = by_ref(outcomes, thread_records(previous))
    primary = [citable[ref] for ref in entities if ref in citable]
    earlier = list(previous.earlier) if previous is not None else []
    if previous is not None and objects(previous.primary):
        earlier.append(CitedTurn(question=previous.question, cited=objects(previous.primary)[:EARLIER_CITED]))
    return PriorTurn(
        question=question,
        plan=plan,
        primary=primary,
        held=_details(outcomes, primary),
        earlier=earlier[-EARLIER_TURNS:],
    )


def said_first(report: Report, plan: Plan) -> Report:
    """A follow-up read as a revision or a filter says so first ("Same question for payments-service:"),
    whichever reporter wrote the rest."""
    reading = plan.focus.reading
    if not reading or report.answer.startswith(reading):
        return report
    return report.model_copy(update={"answer": f"{reading}\n\n{report.answer}"})


def _lines(records: Sequence[Evidence]) -> list[str]:
    return [f"{i}. {render_head(r)}" for i, r in enumerate(records[:SHOWN], 1)]


def prompt_block(previous: PriorTurn) -> str:
    """The thread's cited objects for a model: the last answer's in order (numbered: "the second one" is
    2.), the failing steps held about them, then what earlier answers cited; one data block."""
    parts = [f"Last question: {previous.question.strip()}", "Its answer cited, in order:"]
    parts += _lines(previous.primary) or ["(nothing)"]
    steps = [s for s in previous.held if isinstance(s, StepRecord) and s.result in ("FAILED", "ERROR")]
    if steps:
        parts.append("Held about them (failing steps):")
        parts += [f"- {render_head(s)}: {' | '.join(s.error_lines[-3:])}" for s in steps[:SHOWN]]
    for turn in reversed(previous.earlier):
        parts.append(f"Earlier question: {turn.question.strip()} — its answer cited:")
        parts += _lines(turn.cited)
    return data_block("\n".join(parts), tool="thread", step="referents")
