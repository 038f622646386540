"""The interface both planners implement, and what they are given."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from bbscout.agent.plan import Plan, Step, StepOutcome
from bbscout.tools.evidence import Evidence, RepositoryRecord


class PriorTurn(BaseModel):
    """The previous chat turn, so a follow-up can reuse its evidence instead of refetching.

    `primary` holds the records the previous answer reported, in the order it listed them ("the second
    one" is `primary[1]`).
    """

    model_config = ConfigDict(extra="forbid")

    question: str
    plan: Plan
    primary: list[Evidence] = Field(default_factory=list)


@dataclass
class PlanRequest:
    """Everything a planner may use. `now` is injected (never read from the clock downstream)."""

    question: str
    now: datetime  # aware, UTC
    tz: str = "UTC"  # the user's IANA zone, for "yesterday", "this morning"
    mode: Literal["ask", "investigate"] = "ask"
    incident_at: datetime | None = None  # investigate --at
    repo_filter: list[str] | None = None  # --repo flags (already validated slugs)
    repositories: list[RepositoryRecord] = field(default_factory=list)  # the workspace's repositories
    previous: PriorTurn | None = None


class Planner(Protocol):
    """Plans, then proposes follow-ups after each act round (empty list = done)."""

    name: Literal["rules", "llm"]

    async def plan(self, request: PlanRequest) -> Plan: ...

    async def review(
        self, request: PlanRequest, plan: Plan, outcomes: list[StepOutcome], round_no: int
    ) -> list[Step]: ...
