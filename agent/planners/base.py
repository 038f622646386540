"""The interface both planners implement, and what they are given."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from bbscout.agent.intake import Understanding, understand
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


class PlanRequest(BaseModel):
    """Everything a planner may use, read once per turn by the graph's intake node (`PlanRequest.read`).

    `now` is injected (never read from the clock downstream); `intake` is the parsed question (window,
    repository/branch/author/state hints resolved against `repositories`) that both planners start from.
    """

    model_config = ConfigDict(extra="forbid")

    question: str
    now: datetime  # aware, UTC
    tz: str = "UTC"  # the user's IANA zone, for "yesterday", "this morning"
    mode: Literal["ask", "investigate"] = "ask"
    incident_at: datetime | None = None  # investigate --at
    repo_filter: list[str] | None = None  # --repo flags (already validated slugs)
    repositories: list[RepositoryRecord] = Field(default_factory=list)  # the workspace's repositories
    intake: Understanding
    previous: PriorTurn | None = None

    @classmethod
    def read(
        cls,
        question: str,
        now: datetime,
        *,
        tz: str = "UTC",
        mode: Literal["ask", "investigate"] = "ask",
        incident_at: datetime | None = None,
        repo_filter: list[str] | None = None,
        repositories: Sequence[RepositoryRecord] = (),
        previous: PriorTurn | None = None,
    ) -> PlanRequest:
        """Intake: the request for `question`, its window and hints parsed against `repositories`."""
        return cls(
            question=question,
            now=now,
            tz=tz,
            mode=mode,
            incident_at=incident_at,
            repo_filter=repo_filter,
            repositories=list(repositories),
            intake=understand(question, now, tz, repositories),
            previous=previous,
        )


class Planner(Protocol):
    """Plans, then proposes follow-ups after each act round (empty list = done)."""

    name: Literal["rules", "llm"]

    async def plan(self, request: PlanRequest) -> Plan: ...

    async def review(
        self, request: PlanRequest, plan: Plan, outcomes: list[StepOutcome], round_no: int
    ) -> list[Step]: ...
