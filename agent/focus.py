"""What a plan is about beyond its tool calls: the typed hand-off from a planner to review and the reporters.

`Focus` holds what the answer must honour that the steps alone do not say: the states the answer set
is filtered to (the reporters apply them to the primary records), an incident's subject, a chat
follow-up's filter over the previous answer, the follow-up step the review adds once a listing is in,
and the LLM's own answer when it called no tool. Every field is optional; a plan fills the ones its
family uses.

`Constraint` is the other half of the contract (DESIGN "Contracts → Constraints"): every restriction
the question states (who, state, repository, branch, path, environment, window, text, how many),
recorded as applied by the plan or not, and how, so an answer never reads as filtered when it was not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bbscout.tools.args import DeploymentStatus, PipelineProgress, PipelineResult, PullRequestState, Trigger

__all__ = [
    "About",
    "Constraint",
    "ConstraintKind",
    "Focus",
    "Incident",
    "IncidentKind",
    "NewestDeployment",
    "RecordFilter",
    "Revision",
]

IncidentKind = Literal["runtime", "build", "flaky"]
ConstraintKind = Literal[
    "who", "state", "repository", "branch", "path", "environment", "window", "text", "count", "one", "other"
]


class Incident(BaseModel):
    """An investigation's subject: the symptom, when it began, and where.

    `kind` picks the analysis (`agent.incident`); None lets the symptom's words decide (the LLM planner
    does not classify). `since` is set for a build breakage asked over a window ("who broke main this
    morning?"): the run that turned it red is the first failure after it. `test` is the flaky test the
    question names.
    """

    model_config = ConfigDict(extra="forbid")

    symptom: str
    at: datetime
    service: str | None = None
    kind: IncidentKind | None = None
    since: datetime | None = None
    test: str | None = None


class RecordFilter(BaseModel):
    """A chat follow-up's filter over the previous answer's records ("which of those were on main?").

    Set fields must all match (`agent.reporters.rules.matches_filter`); the field order is the order the
    answer states them in.
    """

    model_config = ConfigDict(extra="forbid")

    awaiting_review: bool = False
    branch: str | None = None
    author: str | None = None
    results: list[PipelineResult] = Field(default_factory=list)
    states: list[PullRequestState] = Field(default_factory=list)
    environment: str | None = None
    repos: list[str] = Field(default_factory=list)
    trigger: Trigger | None = None
    since: datetime | None = None
    until: datetime | None = None

    def terms(self) -> dict[str, object]:
        """The set fields, in order."""
        return {name: value for name, value in self if value not in (None, False, [])}

    def described(self, sep: str) -> str:
        """The set fields as the answer states them: `branch=main, since=2026-11-29T00:00:00+00:00`."""
        return ", ".join(
            f"{name}{sep}{value.isoformat() if isinstance(value, datetime) else value}"
            for name, value in self.terms().items()
        )


class Revision(BaseModel):
    """A chat follow-up that asks an earlier question again with some of its slots changed ("and in
    payments?", "merged ones last week?", "same for staging").

    `slots` are `Understanding` fields (JSON) that replace the base question's reading, so a later
    follow-up can revise the revision; `said` is how the answer's first line says what changed.
    """

    model_config = ConfigDict(extra="forbid")

    base: str
    slots: dict[str, Any] = Field(default_factory=dict)
    said: str = ""


class About(BaseModel):
    """A chat follow-up about particular objects (its referents): which ones, and what is asked of them.

    The referents are either bound to what earlier answers cited (`refs`, in order), or picked from this
    turn's listing by position (`index`, 0-based, -1 the last) or by `order` (the newest / oldest /
    biggest) when the follow-up was asked again elsewhere ("and in auth-service?" after "who opened the
    oldest one?"). `asks` are the attributes and relations asked (`agent.referents.vocab.ASKS`; none:
    the details); `hop` reaches a related object first ("did the build pass?" after a PR: its newest
    pipeline). `listing` is the question the referents were chosen from, so it can be asked again.
    """

    model_config = ConfigDict(extra="forbid")

    said: str
    pointer: Literal["pronoun", "ordinal", "superlative", "demonstrative", "named"] = "pronoun"
    refs: list[str] = Field(default_factory=list)
    index: int | None = None
    order: Literal["newest", "oldest", "biggest", "smallest"] | None = None
    asks: list[str] = Field(default_factory=list)
    hop: Literal["build"] | None = None
    listing: Revision | None = None
    candidates: list[str] = Field(default_factory=list)  # could not be bound: the refs it may mean


class NewestDeployment(BaseModel):
    """A follow-up the review adds once `from_step` has run: what its newest successful deployment shipped.

    For "what changed in the last production deployment?" with no repository named, the newest
    deployment across repositories is known only after the listing.
    """

    model_config = ConfigDict(extra="forbid")

    from_step: str
    environment: str


class Focus(BaseModel):
    """Family-specific hints a planner hands to review and the reporters (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    # the answer set, filtered by the reporters
    results: list[PipelineResult] = Field(default_factory=list)  # pipeline results asked for
    why_failed: bool = False  # "why did … fail?": why they failed is the answer, not an optional detail
    in_progress: bool = False  # unfinished pipelines only
    progress: list[PipelineProgress] = Field(default_factory=list)  # which unfinished states (none: all)
    states: list[PullRequestState] = Field(default_factory=list)  # pull request states asked for
    statuses: list[DeploymentStatus] = Field(default_factory=list)  # deployment outcomes asked for
    environment: str | None = None  # deployments (and an incident's environment; None = production)
    rollbacks: bool = False  # deployments in rollbacks only
    stale: bool = False  # branches: stale first, oldest first
    query: str | None = None  # code: what was searched for
    # chat follow-ups
    filter: RecordFilter | None = None  # over the previous answer's records
    within: list[str] | None = None  # re-listed server-side: keep only these refs (the previous answer's)
    about: About | None = None  # about particular objects of the thread (its referents)
    revision: Revision | None = None  # an earlier question asked again with slots changed
    reading: str | None = (
        None  # how the follow-up was read, said first ("Same question for payments-service")
    )
    # what review adds, and what the reporters analyse
    newest_deployment: NewestDeployment | None = None
    incident: Incident | None = None
    # the LLM planner called no tool and answered itself (a refusal, a clarification)
    direct_answer: str | None = None


class Constraint(BaseModel):
    """One restriction the question states, and whether the plan applies it.

    `value` is what intake understood ("Priya", "FAILED/ERROR", "checkout-service", "last 24 hours",
    "5"); `filter` is how an answer names the restriction ("author", "reviewer", "label", "state");
    `how` says by what it is applied ("list_pipelines.results", "the follow-up filter") or, when not
    applied, why not ("no repository matches 'chekout'", "no tool argument filters by it").
    """

    model_config = ConfigDict(extra="forbid")

    kind: ConstraintKind
    value: str
    applied: bool
    how: str = ""
    filter: str = ""
    # how a value was read when the question did not name it ("“backend service” read as api-gateway"):
    # an interpretation the first line states
    reading: str = ""

    @property
    def named(self) -> str:
        """The restriction in words: "reviewer Emma", "label 'bug'", "window yesterday"."""
        name = self.filter or self.kind
        value = f"'{self.value}'" if self.kind in ("text", "other") else self.value
        return (
            f"{name} {value}"
            if name not in ("repository", "one")
            else (f"repository {value}" if name == "repository" else f"the {value} one")
        )
