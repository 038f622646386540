"""Constraint coverage, enforced on every answer: the first line says what was filtered and what was not.

Both reporters go through the graph's report node, which calls `honour_constraints` before the citation
check (DESIGN "Contracts → Constraints"). Whatever the reporter wrote:

* every constraint the plan could not apply is named in the answer's first line ("I could not filter by
  label 'bug' …") and in `gaps`, so an answer never reads as filtered when it was not;
* every constraint the plan applied is echoed in the first line; a value the reporter left out is added
  to it ("— filtered by reviewer Emma");
* a person's name that matched several people (a tool's gap) is said first too: the answer then holds
  all of them;
* a repository the question did not name but described ("the backend service") is said as that reading.

A plan that ran no query (a refusal, a clarification, an unknown repository) already says so in its own
words, and is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bbscout.agent.focus import Constraint
from bbscout.agent.plan import Plan, StepOutcome
from bbscout.agent.report import Report
from bbscout.tools.resolve import ambiguous_person

__all__ = ["echoes", "honour_constraints", "not_applied_line"]

# words an answer may use for a state value ("FAILED/ERROR" reads as "failed")
_STATE_WORDS: dict[str, tuple[str, ...]] = {
    "FAILED": ("fail", "red", "broken"),
    "ERROR": ("error", "fail"),
    "STOPPED": ("stopped", "cancel"),
    "SUCCESSFUL": ("success", "green", "pass"),
    "OPEN": ("open",),
    "MERGED": ("merged",),
    "DECLINED": ("declined", "rejected"),
    "SUPERSEDED": ("superseded",),
    "in progress": ("running", "pending", "in progress", "in-progress", "queued"),
    "IN_PROGRESS": ("running", "in progress", "in-progress"),
    "PENDING": ("pending", "queued"),
    "PAUSED": ("paused",),
    "awaiting review": ("review", "approv"),
    "live now": ("live", "current", "deployed now", "running now", "in production now"),
}
_ENV_WORDS: dict[str, tuple[str, ...]] = {
    "production": ("production", "prod"),
    "staging": ("staging", "stage"),
    "test": ("test", "qa", "uat"),
}
_PICK_WORDS: dict[str, tuple[str, ...]] = {
    "newest": ("newest", "latest", "most recent", "last"),
    "oldest": ("oldest", "earliest", "first"),
}


def echoes(c: Constraint) -> tuple[str, ...]:
    """The words (any one of them, case-insensitive) that show a first line applied `c`."""
    if c.kind == "state":
        return tuple(w for part in c.value.split("/") for w in _STATE_WORDS.get(part, (part.lower(),)))
    if c.kind == "environment":
        return _ENV_WORDS.get(c.value.lower(), (c.value.lower(),))
    if c.kind == "one":
        return _PICK_WORDS.get(c.value, (c.value,))
    if c.kind == "path" and c.filter == "file":  # a described file: the path the answer names says it
        return tuple(c.value.split())
    if c.kind == "path":
        return (c.value, c.value.rsplit("/", 1)[-1])
    if c.kind == "window" and c.filter == "landed":
        return ("landed", "entered", "merged into", "merged to")
    if c.kind == "window":
        return (c.value.lower(), *(w for w in c.value.lower().split() if len(w) > 3))
    if c.kind == "who":
        return (c.value, *c.value.split())
    if c.kind == "count":
        return (c.value, "at most")
    return (c.value,)


def not_applied_line(missing: list[Constraint]) -> str:
    """ "I could not filter by label 'bug' (no tool argument filters by label); the answer is not narrowed
    by it." """
    parts = [f"{c.named} ({c.how})" for c in missing]
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
    them = "it" if len(missing) == 1 else "them"
    return f"**I could not filter by {joined}**; what follows is not narrowed by {them}."


def _first_line_index(lines: list[str]) -> int | None:
    return next((i for i, line in enumerate(lines) if line.strip()), None)


def honour_constraints(report: Report, plan: Plan, outcomes: Sequence[StepOutcome] = ()) -> Report:
    """`report` with its first line naming each unapplied constraint, each name that matched several
    people, and echoing each applied constraint."""
    if not plan.constraints or (not plan.steps and plan.focus.filter is None):
        return report
    out = report.model_copy(deep=True)
    missing = [c for c in plan.constraints if not c.applied]
    lines = out.answer.splitlines() or [""]
    at = _first_line_index(lines)
    if at is not None:
        first = lines[at]
        unsaid = [c for c in plan.constraints if c.applied and not _said(first, c)]
        if unsaid and plan.family == "incident":  # the cause leads; what was searched closes the line
            lines[at] = first.rstrip() + " _(looked at: " + ", ".join(c.named for c in unsaid) + ")_"
        elif unsaid:
            lines[at] = _with_echo(first, unsaid)
        readings = [c.reading for c in plan.constraints if c.applied and c.reading]
        if readings:
            lines[at] = _at_sentence_end(lines[at], " (" + "; ".join(readings) + ")")
    ambiguous = list(dict.fromkeys(g for o in outcomes for g in o.gaps if ambiguous_person(g)))
    if ambiguous:
        said = "; ".join(g[0].upper() + g[1:] for g in ambiguous)
        lines.insert(0, f"**{said}.**\n")
        out.gaps = list(dict.fromkeys([*ambiguous, *out.gaps]))
    if missing:
        lines.insert(0, not_applied_line(missing) + "\n")
        out.gaps = list(
            dict.fromkeys([*(f"could not filter by {c.named}: {c.how}" for c in missing), *out.gaps])
        )
        if out.confidence == "high":
            out.confidence = "medium"
    out.answer = "\n".join(lines)
    return out


def _said(line: str, c: Constraint) -> bool:
    low = line.lower()
    return any(w and w.lower() in low for w in echoes(c))


def _with_echo(line: str, unsaid: list[Constraint]) -> str:
    """The first line with the applied constraints it left out, added at the end of its first sentence."""
    return _at_sentence_end(line, " — filtered by " + ", ".join(c.named for c in unsaid))


def _at_sentence_end(line: str, text: str) -> str:
    m = _SENTENCE_END.search(line)
    at = m.start() if m else len(line.rstrip())
    return line[:at] + text + line[at:]


# the end of the first sentence: a full stop before a capital (or the line's end), so "config/x.yaml" and
# "v0.31.0" do not end it
_SENTENCE_END = re.compile(r"[.!?:](?=\s+[A-Z\"“(_*\[]|\s*$)")
