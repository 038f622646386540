"""The interface both reporters implement."""

from __future__ import annotations

from typing import Protocol

from bbscout.agent.plan import Plan, StepOutcome
from bbscout.agent.planners.base import PlanRequest
from bbscout.agent.report import Report


class Reporter(Protocol):
    async def report(
        self, request: PlanRequest, plan: Plan, outcomes: list[StepOutcome], gaps: list[str]
    ) -> Report: ...
