"""The interface both planners implement, what they are given, and what they hand back.

Planners are stateless: whatever must outlive one call (the LLM planner's chat with its model) is a
JSON-plain `Conversation` the graph keeps in state and passes back in, so any process can continue any
thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from bbscout.agent.intake import Understanding, understand
from bbscout.agent.plan import Plan, Step, StepOutcome
from bbscout.tools.evidence import Evidence, RepositoryRecord


class CitedTurn(BaseModel):
    """An earlier answer of the thread: its question and the objects it cited, in order."""

    model_config = ConfigDict(extra="forbid")

    question: str
    cited: list[Evidence] = Field(default_factory=list)


class PriorTurn(BaseModel):
    """The previous chat turn, so a follow-up can reuse its evidence instead of refetching.

    `primary` holds the records the previous answer reported, in the order it listed them ("the second
    one" is `primary[1]`); `held` the details fetched about them (a cited pipeline's steps, a cited PR's
    files), so "which step failed?" costs nothing; `earlier` what the answers before it cited, oldest
    first (bounded), so "#186" or "that PR" still binds two turns later. Together these are the thread's
    referents (`agent.referents`).
    """

    model_config = ConfigDict(extra="forbid")

    question: str
    plan: Plan
    primary: list[Evidence] = Field(default_factory=list)
    held: list[Evidence] = Field(default_factory=list)
    earlier: list[CitedTurn] = Field(default_factory=list)

    def citable(self) -> list[Evidence]:
        """Every record the thread holds: the last answer's first, then its details, then earlier ones."""
        return [*self.primary, *self.held, *(r for turn in reversed(self.earlier) for r in turn.cited)]


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


class Conversation(BaseModel):
    """A planner's chat with its model, kept in graph state between calls (empty for the rules planner).

    `messages` are Chat Completions messages: the system prompt, then every kept turn's question, the
    model's tool calls and their answers (`turn_starts`: where each turn's question is). `turn` names
    the request the latest turn answers. `pending` are the last assistant message's calls not yet
    answered; `answered` and `alias` tie this turn's step ids to the calls the model saw; `call_ids`
    are every tool_call id used, so none is reused.
    """

    model_config = ConfigDict(extra="forbid")

    messages: list[dict[str, Any]] = Field(default_factory=list)
    turn: str = ""
    turn_starts: list[int] = Field(default_factory=list)
    pending: list[dict[str, Any]] = Field(default_factory=list)
    answered: list[str] = Field(default_factory=list)
    alias: dict[str, str] = Field(default_factory=dict)
    call_ids: list[str] = Field(default_factory=list)


@dataclass
class Planned:
    """A plan, the conversation to keep, and any gap planning itself caused (e.g. a fallback)."""

    plan: Plan
    conversation: Conversation
    gaps: list[str] = field(default_factory=list)


@dataclass
class Reviewed:
    """Follow-up steps (none = done), the conversation to keep, and any gap reviewing caused."""

    steps: list[Step]
    conversation: Conversation
    gaps: list[str] = field(default_factory=list)


class Planner(Protocol):
    """Plans, then proposes follow-ups after each act round; continues the conversation it is given."""

    @property
    def name(self) -> Literal["rules", "llm"]: ...

    async def plan(self, request: PlanRequest, conversation: Conversation) -> Planned: ...

    async def review(
        self,
        request: PlanRequest,
        plan: Plan,
        outcomes: list[StepOutcome],
        round_no: int,
        conversation: Conversation,
    ) -> Reviewed: ...
