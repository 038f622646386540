"""bbscout is read-only: a request to change Bitbucket is recognised before any planner sees it.

The graph's `guard` node calls `guard_question`: `grammar.recognise` reads the question for a request
to act (merge, approve, re-run, roll back, …) in any phrasing, and a refused turn is then planned,
reviewed and reported by `help.ReadOnlyHelp` (`help_for`) instead of the planner and reporter, so
neither planner, and no model, ever decides whether to act. The run's `--json` document carries
`"refused": REFUSED` and the exit code is 3.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bbscout.agent.planners.base import PlanRequest
from bbscout.agent.readonly.grammar import ActRequest, recognise
from bbscout.agent.readonly.help import ReadOnlyHelp

__all__ = ["REFUSED", "ActRequest", "ReadOnlyHelp", "guard_question", "help_for", "recognise"]

REFUSED = "read-only"
"""The `--json` document's `refused` value when bbscout declined to act."""


def guard_question(request: PlanRequest) -> dict[str, Any] | None:
    """The request to act in an `ask` question, as graph state holds it; None for a question.

    An investigation's symptom describes what is broken, not an order, so it is never refused.
    """
    act = recognise(request.question) if request.mode == "ask" else None
    return act.model_dump(mode="json") if act else None


def help_for(state: Mapping[str, Any]) -> ReadOnlyHelp | None:
    """The planner and reporter of a refused turn, or None when the turn is a question."""
    refusal = state.get("refusal")
    return ReadOnlyHelp(ActRequest.model_validate(refusal)) if refusal else None
