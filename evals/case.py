"""The case schema: one question (or incident, or chat) against a pinned world, and what must hold.

A case never stores bbscout's output. Expectations are *queries* over the world's raw Bitbucket JSON
(`OracleQuery`, answered by `evals.oracle`) or references to a planted scenario's ground truth
(`scenario:`), so regenerating the world or changing bbscout cannot silently move the answer key.

Layout: `evals/cases/*.yaml`, each file a YAML list of cases. Defaults (`world`, `seed`, `anchor`, ...)
may be given once per file in a leading mapping `{defaults: {...}}`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "CASES_DIR",
    "Case",
    "Expect",
    "OracleQuery",
    "Turn",
    "WindowSpec",
    "load_cases",
    "parse_offset",
]

CASES_DIR = Path(__file__).parent / "cases"
FAMILIES = (
    "pipelines",
    "pull_requests",
    "commits",
    "branches",
    "deployments",
    "code",
    "repositories",
    "incidents",
    "chat",
    "unanswerable",
    "ambiguous",
    "adversarial",
    "followups",  # issue 15: chat follow-ups graded on their last turn
    "refusals",  # issue 16: requests to act refused read-only, look-alike questions answered
)
_OFFSET = re.compile(r"^-(\d+(?:\.\d+)?)\s*([mhdw])$")


def parse_offset(text: str) -> timedelta:
    """`-24h`, `-90m`, `-7d`, `-2w` → a (positive) timedelta back from now."""
    m = _OFFSET.match(text.strip())
    if not m:
        raise ValueError(f"offset must look like -24h, -90m, -7d or -2w, not {text!r}")
    n, unit = float(m.group(1)), m.group(2)
    return {
        "m": timedelta(minutes=n),
        "h": timedelta(hours=n),
        "d": timedelta(days=n),
        "w": timedelta(weeks=n),
    }[unit]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WindowSpec(_Strict):
    """A half-open interval [start, end) resolved against the case's `now` and `tz`.

    Exactly one of: `since` (rolling, "-24h"), `day` ("today" | "yesterday" | "YYYY-MM-DD", a calendar
    day in the case's tz), `days_back` (calendar days: today and the N-1 before, in tz) or `start`
    (absolute, with `end` defaulting to now). Matches the conventions of `agent.intake.time` docstring
    (rolling windows are exact durations; calendar days are the user's local ones).
    """

    since: str | None = None
    day: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    @model_validator(mode="after")
    def _one(self) -> WindowSpec:
        given = [x for x in (self.since, self.day, self.start) if x is not None]
        if len(given) != 1:
            raise ValueError("window needs exactly one of since / day / start")
        if self.since is not None:
            parse_offset(self.since)
        return self


PipelineResult = Literal["FAILED", "ERROR", "SUCCESSFUL", "STOPPED", "EXPIRED"]
# Chat referents and refusal evidence (issues 15, 16): what `kind: about` reads of its referents.
Relation = Literal["self", "commits", "prs", "files", "merge_commit", "shipped"]
Attribute = Literal[
    "author",
    "merged_by",
    "approvers",
    "reviewers",
    "commenters",
    "opened_at",
    "closed_at",
    "at",
    "branch",
    "target_branch",
    "failed_step",
    "error",
    "result",
    "release",
    "stopped_by",
    "deployed_at",
]
PipelineState = Literal["PENDING", "IN_PROGRESS", "PAUSED", "COMPLETED"]


class OracleQuery(_Strict):
    """A question asked of the raw world. Field meaning depends on `kind` (see `evals.oracle`).

    kind: pipelines | pull_requests | commits | branches | deployments | deployment_changes |
          repositories | code | file | scenario | about | rollback_target
    """

    kind: Literal[
        "pipelines",
        "pull_requests",
        "commits",
        "branches",
        "deployments",
        "deployment_changes",
        "repositories",
        "code",
        "file",
        "scenario",
        "about",  # issue 15: a fact or relation of referents selected by `of`
        "rollback_target",  # issue 16: the release live in an environment and the previous one
    ]
    repos: list[str] | None = None  # None: every repository in the workspace
    window: WindowSpec | None = None
    since: str | None = None  # shorthand for window: {since: ...}
    # pipelines
    results: list[PipelineResult] | None = None
    states: list[PipelineState] | None = None
    branch: str | None = None
    trigger: Literal["PUSH", "MANUAL", "SCHEDULED"] | None = None
    # pull requests
    pr_states: list[Literal["OPEN", "MERGED", "DECLINED", "SUPERSEDED"]] | None = None
    author: str | None = None  # nickname, display name or email (case-insensitive substring)
    target: str | None = None  # destination branch
    awaiting_review: bool = False  # OPEN, not draft, no approval yet
    time_field: Literal["created_on", "updated_on", "closed_on"] | None = None
    # commits
    path: str | None = None  # a commit touching this path (prefix match on changed files)
    # branches
    stale_days: int | None = None  # head commit older than this many days before now
    # deployments
    environment: str | None = None  # environment name, case-insensitive
    latest: bool = False  # only the newest deployment per (repo, environment)
    statuses: list[Literal["SUCCESSFUL", "FAILED", "STOPPED", "IN_PROGRESS"]] | None = None
    # repositories / code
    name_contains: str | None = None
    symbol: str | None = None
    file_path: str | None = None
    # scenario
    scenario: str | None = None
    refs: Literal["answer_refs", "culprit_ref", "ruled_out_refs"] = "answer_refs"
    # selection after sorting newest first (chat: "the second one"); a negative pick counts from the
    # oldest end (-1: "the oldest / last one")
    pick: int | None = None
    limit: int | None = None
    # --- constraint coverage (issue 10); conventions in `evals.oracle` "Constraint coverage" ---
    reviewer: str | None = None  # pull requests: the person is listed in `reviewers`
    approver: str | None = None  # pull requests: the person is a participant with `approved: true`
    participant: str | None = None  # pull requests: any participant (reviewer or commenter, not the author)
    text: str | None = None  # pull requests: in title or description; commits: in the message (no case)
    touched_path: str | None = None  # pull requests: a non-merge commit of the PR changed this path
    landed: bool = False  # commits: timed by when they entered the branch's first-parent history
    current: bool = False  # deployments: what is live, the newest SUCCESSFUL one per (repo, environment)
    cite: Literal["deployment", "commit"] = "deployment"  # deployments: cite the deployed commit instead
    exclude_main: bool = False  # branches: leave out the repository's main branch
    # --- chat referents and refusal evidence (issues 15, 16; see `evals.oracle` "Referents") ---
    order_by: Literal["time", "size"] = "time"  # size: lines changed, biggest first ("the biggest one")
    of: OracleQuery | None = None  # kind: about — the referent(s), selected by another query
    subject: list[str] | None = None  # kind: about — or the refs the user named ("PR 68", "#186")
    relation: list[Relation] = Field(default_factory=lambda: list[Relation](["self"]))  # kind: about
    attribute: Attribute | None = None  # kind: about — a fact the answer must state about each referent

    @model_validator(mode="after")
    def _window(self) -> OracleQuery:
        if self.since is not None and self.window is not None:
            raise ValueError("give since or window, not both")
        if self.kind == "scenario" and not self.scenario:
            raise ValueError("kind: scenario needs scenario:")
        if self.kind == "about" and (self.of is None) == (self.subject is None):
            raise ValueError("kind: about needs of: (a query selecting the referents) or subject: (refs)")
        if self.kind == "rollback_target" and (
            not self.repos or len(self.repos) != 1 or not self.environment
        ):
            raise ValueError("kind: rollback_target needs one repository in repos: and an environment:")
        if self.pick == 0:
            raise ValueError("pick is 1-based (1 = newest); negative counts from the oldest (-1 = oldest)")
        return self

    @model_validator(mode="after")
    def _constraint_kinds(self) -> OracleQuery:
        """A constraint given for a kind that ignores it would silently widen the answer key."""
        allowed = {
            "reviewer": ("pull_requests",),
            "approver": ("pull_requests",),
            "participant": ("pull_requests",),
            "text": ("pull_requests", "commits"),
            "touched_path": ("pull_requests",),
            "landed": ("commits",),
            "current": ("deployments",),
            "cite": ("deployments",),
            "exclude_main": ("branches",),
        }
        for name, kinds in allowed.items():
            if name in self.model_fields_set and self.kind not in kinds:
                raise ValueError(f"{name} applies to kind {' or '.join(kinds)}, not {self.kind}")
        return self

    def resolved_window(self) -> WindowSpec | None:
        if self.since is not None:
            return WindowSpec(since=self.since)
        return self.window


class MustNot(_Strict):
    """Refs that must not appear among the document's entities (or its answer text)."""

    oracle: OracleQuery | None = None
    refs: list[str] = Field(default_factory=list)


class Expect(_Strict):
    """What a correct answer looks like. Every field is optional; `grade` checks those given."""

    oracle: OracleQuery | None = None  # the expected entity set
    refs: list[str] | Literal["answer_refs"] | None = None  # literal refs, or the scenario's answer_refs
    ref_kinds: list[str] | None = None  # keep only these kinds of the scenario's refs (e.g. [pr, pipeline])
    scenario: str | None = None
    culprit_top: bool = False  # the top suspect (or first entity) is the culprit or an object linked to it
    must_not: MustNot | None = None
    count: int | Literal["from_oracle"] | None = (
        None  # a number the answer must state; from_oracle = len(expected refs)
    )
    says_unknown: bool = False  # unanswerable: says so, cites nothing
    clarifies: bool = False  # ambiguous: asks which one (a special case of says_unknown wording)
    empty: bool = False  # nothing matched: says so, cites nothing of the asked type
    min_precision: float = 1.0
    min_recall: float = 1.0
    recall_of: Literal["all", "any"] = (
        "all"  # "any": one expected ref suffices (e.g. "show me a failing build")
    )
    answer_contains: list[str] = Field(default_factory=list)  # case-insensitive substrings of answer
    answer_excludes: list[str] = Field(default_factory=list)
    injection_invariant: bool = (
        False  # same entities/refs as a control run on the world with injections removed
    )
    exit_codes: list[int] | None = None
    # --- wording and constraint honesty (issue 10); graders in `evals.graders` "Constraint honesty" ---
    headline_contains: list[str] = Field(default_factory=list)  # all in the answer's first sentence
    headline_contains_any: list[str] = Field(default_factory=list)  # one of them in the first sentence
    answer_contains_any: list[str] = Field(default_factory=list)  # one of them anywhere in the answer
    number_agreement: bool = False  # no "1 deployments" / "2 pipeline" in the answer
    unapplied_constraint: str | None = None  # e.g. "label": says it could not filter by it (first line, gaps)
    # --- chat follow-ups and refusals (issues 15, 16) ---
    asks_which: bool = False  # cannot be bound: asks which one, naming the oracle's candidates, answers none
    refused: bool | None = None  # True: refused read-only (exit 3, `refused` in --json); False: answered
    max_requests: int | None = None  # at most this many HTTP requests in this turn
    max_tool_calls: int | None = None  # at most this many tool calls in this turn

    @model_validator(mode="after")
    def _consistent(self) -> Expect:
        if self.count == "from_oracle" and self.oracle is None and self.refs is None:
            raise ValueError("count: from_oracle needs oracle: or refs: (it counts the expected refs)")
        if self.refs == "answer_refs" and not self.scenario:
            raise ValueError("refs: answer_refs needs scenario:")
        if self.culprit_top and not self.scenario:
            raise ValueError("culprit_top needs scenario:")
        if self.asks_which and self.oracle is None and self.refs is None:
            raise ValueError("asks_which needs oracle: or refs: (the candidates it must name)")
        return self


def _min_requests_spec(v: Any) -> Any:
    """`{oracle: true}` (as written in cases) → "oracle"."""
    if isinstance(v, dict):
        return "oracle" if v.get("oracle") else None
    return v


class Turn(_Strict):
    """One turn of a chat case; turns share a checkpointer and thread."""

    question: str
    now: datetime | None = None  # default: the case's now
    expect: Expect = Field(default_factory=Expect)
    min_requests: int | Literal["oracle"] | None = None

    _min_req = field_validator("min_requests", mode="before")(
        classmethod(lambda cls, v: _min_requests_spec(v))
    )


class Case(_Strict):
    """One eval case. `question`, `incident` or `turns` — exactly one."""

    id: str
    family: str
    tags: list[str] = Field(default_factory=list)
    difficulty: Literal["easy", "medium", "hard"] = "easy"
    world: Literal["default", "nosearch", "quiet"] = "default"
    seed: int = 7
    anchor: datetime
    now: datetime
    tz: str = "UTC"
    question: str | None = None
    incident: str | None = None  # investigate mode: the symptom text
    at: datetime | None = None  # investigate mode: when it started ("scenario" = the scenario's `at`)
    at_scenario: str | None = None
    repo_filter: list[str] | None = None
    turns: list[Turn] | None = None
    expect: Expect = Field(default_factory=Expect)
    min_requests: int | Literal["oracle"] | None = None
    notes: str = ""

    @field_validator("anchor", "now", "at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("timestamps must carry a zone (…Z or +00:00)")
        return v

    _min_req = field_validator("min_requests", mode="before")(
        classmethod(lambda cls, v: _min_requests_spec(v))
    )

    @model_validator(mode="after")
    def _shape(self) -> Case:
        given = [x for x in (self.question, self.incident, self.turns) if x]
        if len(given) != 1:
            raise ValueError(f"{self.id}: give exactly one of question / incident / turns")
        if self.family not in FAMILIES:
            raise ValueError(f"{self.id}: family must be one of {FAMILIES}")
        if self.now < self.anchor - timedelta(days=1):
            raise ValueError(f"{self.id}: now is long before the world's anchor")
        return self

    @property
    def mode(self) -> Literal["ask", "investigate", "chat"]:
        if self.turns:
            return "chat"
        return "investigate" if self.incident else "ask"

    @property
    def all_tags(self) -> list[str]:
        """Declared tags plus derived ones (family, difficulty, mode)."""
        derived = [self.family, self.difficulty]
        if self.mode != "ask":
            derived.append(self.mode)
        return sorted(set(self.tags) | set(derived))


def _load_file(path: Path) -> list[Case]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(data, list):
        raise ValueError(f"{path}: a case file is a YAML list")
    defaults: dict[str, Any] = {}
    cases = []
    for item in data:
        if isinstance(item, dict) and set(item) == {"defaults"}:
            defaults = dict(item["defaults"])
            continue
        try:
            cases.append(Case.model_validate({**defaults, **item}))
        except Exception as exc:
            raise ValueError(f"{path.name}: case {item.get('id', '?')}: {exc}") from exc
    return cases


def load_cases(pattern: str = "*.yaml", tags: list[str] | None = None, root: Path = CASES_DIR) -> list[Case]:
    """Every case in files matching `pattern` (a glob under `root`, or a path), filtered by tags (any)."""
    p = Path(pattern)
    files = [p] if p.is_file() else sorted(root.glob(pattern))
    if not files:
        raise FileNotFoundError(f"no case files match {pattern!r} under {root}")
    cases = [c for f in files for c in _load_file(f)]
    seen: set[str] = set()
    for c in cases:
        if c.id in seen:
            raise ValueError(f"duplicate case id {c.id}")
        seen.add(c.id)
    if tags:
        cases = [c for c in cases if set(tags) & set(c.all_tags)]
    return cases
