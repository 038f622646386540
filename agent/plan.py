"""The typed plan both planners produce and the executor runs.

A plan is a list of steps over the read-only tools in `tools.args.TOOL_ARGS`. Steps whose
`depends_on` are all done run concurrently. `primary` marks the steps whose records *are* the
answer (the reporter lists exactly those as entities); other steps gather supporting evidence.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bbscout.agent.focus import Constraint, Focus
from bbscout.tools.args import TOOL_ARGS
from bbscout.tools.evidence import Evidence, Record

Family = Literal[
    "pipelines",
    "pull_requests",
    "commits",
    "branches",
    "deployments",
    "code",
    "incident",
    "repositories",
    "follow_up",
    "unknown",
]


class Window(BaseModel):
    """An absolute UTC interval computed once at intake; `label` is how the user said it."""

    model_config = ConfigDict(extra="forbid")

    start: datetime
    end: datetime
    label: str


class Step(BaseModel):
    """One tool call. `args` must validate against the tool's argument model."""

    model_config = ConfigDict(extra="forbid")

    id: str
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    why: str = ""
    primary: bool = False
    depends_on: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_tool_and_valid_args(self) -> Step:
        if self.tool not in TOOL_ARGS:
            raise ValueError(f"unknown tool {self.tool!r}; known: {', '.join(sorted(TOOL_ARGS))}")
        self.args = (
            TOOL_ARGS[self.tool].model_validate(self.args).model_dump(mode="json", exclude_defaults=True)
        )
        return self


class Plan(BaseModel):
    """What the planner understood and the calls that answer it.

    `focus` carries what review and the reporters must honour beyond the steps (`agent.focus.Focus`);
    `constraints` records each restriction the question states as applied or not. `clarify` is set
    (and `steps` empty) when the question is ambiguous; `not_understood` lists the parts the planner
    could not map to a tool, so the answer can say so instead of guessing.
    """

    model_config = ConfigDict(extra="forbid")

    family: Family
    intent: str
    steps: list[Step] = Field(default_factory=list)
    window: Window | None = None
    repos: list[str] | None = None
    focus: Focus = Field(default_factory=Focus)
    constraints: list[Constraint] = Field(default_factory=list)
    understood: list[str] = Field(default_factory=list)
    not_understood: list[str] = Field(default_factory=list)
    clarify: list[str] = Field(default_factory=list)


class StepOutcome(BaseModel):
    """What running one step produced: typed evidence, a compact rendering for a model, and any error.

    `rendered` is already redacted and bounded (see `tools.render`); `error` is the actionable message of
    a `BitbucketError` (never a token). Outcomes are stored in graph state in step order.
    """

    model_config = ConfigDict(extra="forbid")

    step_id: str
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    records: list[Evidence] = Field(default_factory=list)
    rendered: str = ""
    notes: list[str] = Field(default_factory=list)
    gaps: list[str] = Field(default_factory=list)
    error: str | None = None
    error_kind: str | None = None  # the BitbucketError class name (AuthError, ScopeError, ...)
    requests: int = 0
    served: int = 0  # responses a cache or another process answered instead of a request of its own
    seconds: float = 0.0


R = TypeVar("R", bound=Record)


def records_of(outcomes: Iterable[StepOutcome], kind: type[R]) -> list[R]:
    """Every record of one evidence type in `outcomes`, in order."""
    return [record for outcome in outcomes for record in outcome.records if isinstance(record, kind)]


def by_ref(outcomes: Iterable[StepOutcome], earlier: Iterable[Evidence] = ()) -> dict[str, Evidence]:
    """The records an answer may cite, by ref: this run's over `earlier` ones (the previous answer's)."""
    return {r.ref: r for r in earlier} | {r.ref: r for o in outcomes for r in o.records}
