"""The fallback policy, in one place: when the model fails, the rules answer instead, and say so.

`FallbackPlanner` and `FallbackReporter` implement the planner and reporter protocols around a primary
(the LLM one) and a fallback (the rules one). An `LLMError` (endpoint down, refused, over budget) never
ends a run: planning falls back to the rules plan, a failed review proposes nothing more, a failed
report is written by the templates; each adds a gap naming what failed. The graph does not know which
planner or reporter it runs.
"""

from __future__ import annotations

from typing import Literal

from bbscout.agent.llm import LLMError
from bbscout.agent.plan import Plan, StepOutcome
from bbscout.agent.planners.base import Conversation, Planned, Planner, PlanRequest, Reviewed
from bbscout.agent.report import Report
from bbscout.agent.reporters.base import Reporter

__all__ = ["FallbackPlanner", "FallbackReporter"]


class FallbackPlanner:
    """Plans with `primary`; when its model fails, with `fallback` (see the module docstring)."""

    def __init__(self, primary: Planner, fallback: Planner) -> None:
        self.primary = primary
        self.fallback = fallback

    @property
    def name(self) -> Literal["rules", "llm"]:
        return self.primary.name

    async def plan(self, request: PlanRequest, conversation: Conversation) -> Planned:
        try:
            return await self.primary.plan(request, conversation)
        except LLMError as exc:
            planned = await self.fallback.plan(request, conversation)
            gap = f"The LLM planner failed ({exc}); answered with the rules planner instead."
            return Planned(planned.plan, planned.conversation, [*planned.gaps, gap])

    async def review(
        self,
        request: PlanRequest,
        plan: Plan,
        outcomes: list[StepOutcome],
        round_no: int,
        conversation: Conversation,
    ) -> Reviewed:
        try:
            return await self.primary.review(request, plan, outcomes, round_no, conversation)
        except LLMError as exc:
            reviewed = await self.fallback.review(request, plan, outcomes, round_no, conversation)
            gap = f"The LLM planner could not review the evidence ({exc})."
            return Reviewed(reviewed.steps, reviewed.conversation, [*reviewed.gaps, gap])


class FallbackReporter:
    """Reports with `primary`; when its model fails, with `fallback` (see the module docstring)."""

    def __init__(self, primary: Reporter, fallback: Reporter) -> None:
        self.primary = primary
        self.fallback = fallback

    async def report(
        self, request: PlanRequest, plan: Plan, outcomes: list[StepOutcome], gaps: list[str]
    ) -> Report:
        try:
            return await self.primary.report(request, plan, outcomes, gaps)
        except LLMError as exc:
            gap = f"The LLM reporter failed ({exc}); this answer uses the rules templates."
            return await self.fallback.report(request, plan, outcomes, [*gaps, gap])
