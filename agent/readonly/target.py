"""What a refused request is about: its repositories, identifiers, and the previous answer's records.

The guard read the words (`ActRequest`); here they meet the workspace and the chat. Identifiers the
question names (PR 67, build #186, a hash, release #281) come from intake's reading; a pronoun, an
ordinal or a question that names nothing ("roll it back", "merge that one", "retry the second one",
"kick off the build again") binds to the records the previous answer cited (`PriorTurn.primary`),
of the kind the action works on. A singular reference that matches several records is not guessed:
they become `candidates` and the answer asks which one — unless the previous answer was broader than
its question (a constraint its plan could not apply, such as "which PR changed config/production.yaml"
answered with every PR of the day): then `narrow` holds that constraint, the help applies it to the
candidates (`resolve`), and "it" is the one that matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bbscout.agent.plan import StepOutcome, Window
from bbscout.agent.planners.base import PlanRequest, PriorTurn
from bbscout.agent.readonly.grammar import ActRequest, action_for
from bbscout.agent.readonly.vocab import DEFAULT_BRANCH_WORDS, Action, Thing
from bbscout.agent.referents.binding import choose
from bbscout.agent.referents.reading import Reference
from bbscout.tools.evidence import (
    BranchRecord,
    CommitRecord,
    DeploymentRecord,
    Evidence,
    PipelineRecord,
    PullRequestRecord,
    RepositoryRecord,
)

__all__ = [
    "FAILED",
    "MAX_TARGETS",
    "Target",
    "bind",
    "chosen_runs",
    "culprit_run",
    "matches",
    "resolve",
    "thing_of",
]

FAILED = ("FAILED", "ERROR")
MAX_TARGETS = 3  # repositories or objects the help fetches for at most (a plural "them" included)

_PR_ACTIONS: frozenset[Action] = frozenset({"merge", "approve", "decline", "comment", "open pull request"})
_PIPELINE_ACTIONS: frozenset[Action] = frozenset({"re-run", "stop"})
_DEPLOY_ACTIONS: frozenset[Action] = frozenset({"roll back", "redeploy", "deploy", "promote"})
_WANTS: dict[Action, tuple[type, ...]] = {
    **dict.fromkeys(_PR_ACTIONS, (PullRequestRecord,)),
    **dict.fromkeys(_PIPELINE_ACTIONS, (PipelineRecord,)),
    **dict.fromkeys(_DEPLOY_ACTIONS, (DeploymentRecord,)),
    "revert": (PullRequestRecord, CommitRecord),
    "delete branch": (BranchRecord,),
    "create branch": (BranchRecord,),
    "create tag": (BranchRecord, CommitRecord),
}
_THING_OF: dict[type, Thing] = {
    PullRequestRecord: "pull_request",
    PipelineRecord: "pipeline",
    DeploymentRecord: "deployment",
    BranchRecord: "branch",
    CommitRecord: "commit",
}


def thing_of(record: Evidence) -> Thing | None:
    return _THING_OF.get(type(record))


@dataclass
class Target:
    """A refused request bound to this workspace (see the module docstring)."""

    action: Action
    repos: list[str]
    repositories: dict[str, RepositoryRecord]  # slug → record (web link, main branch) for the whole workspace
    records: list[Evidence] = field(default_factory=list)  # the previous answer's records it refers to
    candidates: list[Evidence] = field(default_factory=list)  # "it" matched several: ask which
    environment: str | None = None
    source_environment: str | None = None
    pr_ids: list[int] = field(default_factory=list)
    builds: list[int] = field(default_factory=list)
    commits: list[str] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)  # "#281", "v4.15.0"
    branch: str | None = None  # the branch the request names (a new branch's name for "create branch")
    source_branch: str | None = None  # "off main", "tag master as …"
    names: list[str] = field(default_factory=list)  # words describing the object ("renovate", "s3 retries")
    pr_of_previous: int | None = None  # "re-run it" after a PR answer: that PR's pipelines
    narrow: dict[str, str] = field(
        default_factory=dict
    )  # list_pull_requests filters the previous plan missed
    narrow_window: Window | None = None  # the previous plan's window, for that listing

    def url(self, repo: str) -> str | None:
        record = self.repositories.get(repo)
        return record.url if record else None

    def main_branch(self, repo: str) -> str:
        record = self.repositories.get(repo)
        return record.main_branch if record else "main"


def _names(act: ActRequest, request: PlanRequest) -> list[str]:
    """Descriptive words, without the ones that name a repository."""
    named = {part for r in request.repositories for part in (r.slug, *r.slug.split("-"), r.name.lower())}
    named |= {m.phrase.lower() for m in request.intake.repo_mentions}
    return [n for n in act.names if n not in named]


def _identifiers(act: ActRequest, request: PlanRequest, action: Action) -> dict[str, list[int] | list[str]]:
    u = request.intake
    loose = list(dict.fromkeys([*u.hash_numbers, *act.numbers]))  # "#186", "revert 68": by the action
    pr_ids = list(u.pr_numbers) or (loose if action in _PR_ACTIONS | {"revert"} else [])
    builds = list(u.build_numbers) or (loose if action in _PIPELINE_ACTIONS else [])
    releases = [*(f"#{n}" for n in loose if action in _DEPLOY_ACTIONS), *act.versions]
    return {"pr_ids": pr_ids, "builds": builds, "releases": releases, "commits": list(u.commits)}


def _select(
    act: ActRequest, pool: Sequence[Evidence], action: Action
) -> tuple[list[Evidence], list[Evidence]]:
    """(records, candidates): what "it"/"those"/"the second one" picks among the previous answer's
    records of the kind the action works on (the chat's own binding, `agent.referents.binding.choose`)."""
    wanted = _WANTS.get(action, ())
    kind = [r for r in pool if isinstance(r, wanted)]
    if not kind:
        return [], []
    ordinal = act.referent == "ordinal" and act.ordinal is not None
    pointer = Reference(
        "ordinal" if ordinal else "pronoun",
        act.clause,
        plural=act.plural,
        index=act.ordinal if ordinal else None,
    )
    bound = choose(pointer, kind)
    if bound.candidates and not ordinal and action in _DEPLOY_ACTIONS:
        places = {(r.repo, r.environment) for r in kind if isinstance(r, DeploymentRecord)}
        if len(places) == 1:  # several deployments of one service and environment: the newest one
            return kind[:1], []
    return bound.records[:MAX_TARGETS], bound.candidates


def _full_branch_name(name: str, repositories: dict[str, RepositoryRecord]) -> bool:
    """ "feature/x", "release-2.4", a main branch: a name to filter on, not a word of one ("nestjs")."""
    return (
        "/" in name or "-" in name or "." in name or any(r.main_branch == name for r in repositories.values())
    )


_NARROWING = {"path": "path", "text": "text", "who": "author"}  # constraint kind → list_pull_requests filter


def _narrowing(previous: PriorTurn | None, candidates: Sequence[Evidence]) -> dict[str, str]:
    """The previous question's PR constraints its plan left unapplied, when "it" is one of its PRs."""
    if previous is None or not candidates or not all(isinstance(c, PullRequestRecord) for c in candidates):
        return {}
    return {
        _NARROWING[c.kind]: c.value
        for c in previous.plan.constraints
        if not c.applied and c.kind in _NARROWING
    }


def resolve(target: Target, outcomes: Sequence[StepOutcome]) -> Target:
    """`target` with its candidates narrowed by the listing that applied `narrow` (see the module)."""
    if not target.candidates or not target.narrow:
        return target
    listed = {r.ref for o in outcomes if o.tool == "list_pull_requests" for r in o.records}
    kept = [c for c in target.candidates if c.ref in listed]
    if len(kept) == 1:
        return replace(target, records=kept, candidates=[])
    return replace(target, candidates=kept or target.candidates)


def bind(act: ActRequest, request: PlanRequest) -> Target:
    """The request bound to the workspace and the previous answer (see the module docstring)."""
    u = request.intake
    repositories = {r.slug: r for r in request.repositories}
    repos = [r for r in u.repos if r in repositories] or list(request.repo_filter or [])
    action = act.action
    ids = _identifiers(act, request, action)
    named_object = any(ids[k] for k in ("pr_ids", "builds", "commits")) or bool(ids["releases"] and not repos)
    previous = request.previous
    pool: list[Evidence] = []
    if previous is not None and not named_object and (act.referent is not None or not repos):
        pool = [r for r in previous.primary if not repos or r.repo in repos]
    if pool and act.thing is None:  # "close it", "roll it back", "delete them": by what "it" is
        thing = thing_of(pool[0])
        action = (action_for(act.family, thing, True, act.again) if thing else None) or action
    records, candidates = _select(act, pool, action) if pool else ([], [])
    pr_of_previous = next((r.id for r in pool if isinstance(r, PullRequestRecord)), None)
    if not repos:
        repos = list(dict.fromkeys(r.repo for r in records or candidates or pool if r.repo))
        repos = repos or list((previous.plan.repos if previous else None) or [])
    environment = act.environment or next(
        (r.environment for r in records if isinstance(r, DeploymentRecord)), None
    )
    if environment is None and act.source_environment is None and action != "promote":
        environment = u.environment
    defaults = [r for r in act.refs if r in DEFAULT_BRANCH_WORDS]
    own = [r for r in act.refs if r not in DEFAULT_BRANCH_WORDS]
    branch = u.branch if u.branch and not u.default_branch else (own[0] if own else None)
    names = _names(act, request)
    if branch and not _full_branch_name(branch, repositories) and action != "create branch":
        names, branch = [*names, branch.lower()], None  # "the renovate nestjs branch": words of its name
    source_branch = u.branch if u.branch and u.default_branch else None
    if source_branch is None and defaults:
        source_branch = repositories[repos[0]].main_branch if len(repos) == 1 else defaults[-1]
    if action in _PIPELINE_ACTIONS | {"revert", "deploy"} and branch is None:
        branch = source_branch
    return Target(
        action=action,
        repos=repos,
        repositories=repositories,
        records=records,
        candidates=candidates,
        environment=environment,
        source_environment=act.source_environment,
        pr_ids=[int(x) for x in ids["pr_ids"]],
        builds=[int(x) for x in ids["builds"]],
        commits=[str(x) for x in ids["commits"]],
        releases=[str(x) for x in ids["releases"]],
        branch=branch,
        source_branch=source_branch,
        names=names,
        pr_of_previous=pr_of_previous if not records else None,
        narrow=_narrowing(previous, candidates),
        narrow_window=previous.plan.window if previous else None,
    )


# --- which of the listed records is meant -------------------------------------------------------------


def matches(text: str, names: Sequence[str]) -> int:
    """How many of the descriptive words `text` holds ("renovate", "s3 retries" in a title or branch)."""
    low = text.lower()
    return sum(1 for n in names if n in low)


def chosen_runs(target: Target, runs: Sequence[PipelineRecord], plural: bool) -> list[PipelineRecord]:
    """Of the runs listed for a re-run, the one meant: the newest that fits the description."""
    if not runs:
        return []
    scored = [(matches(f"{r.branch or ''} {r.title}", target.names), r) for r in runs]
    best = max(score for score, _ in scored)
    fitting = [r for score, r in scored if score == best]
    return fitting[:MAX_TARGETS] if plural else fitting[:1]


def culprit_run(runs: Sequence[PipelineRecord]) -> PipelineRecord | None:
    """The run that broke a branch: the oldest failure of the newest run of failures (newest first in)."""
    ordered = sorted(runs, key=lambda r: r.created_on, reverse=True)
    streak: list[PipelineRecord] = []
    for run in ordered:
        if run.result in FAILED:
            streak.append(run)
        elif streak:
            break
    return streak[-1] if streak else None
