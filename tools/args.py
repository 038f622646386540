"""Argument models of every read-only tool: the contract between planners and tools.

Both planners build these (the rules planner directly, the LLM planner from tool-call JSON validated
against `model_json_schema()`), and `tools.registry` maps each tool name to the coroutine that runs
it. Time bounds are absolute UTC datetimes computed once at intake; tools never read the clock.
Every model is strict-schema friendly (no free-form dicts) so OpenAI strict function calling accepts
it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PipelineResult = Literal["SUCCESSFUL", "FAILED", "ERROR", "STOPPED"]
PipelineProgress = Literal["PENDING", "IN_PROGRESS", "PAUSED"]
PullRequestState = Literal["OPEN", "MERGED", "DECLINED", "SUPERSEDED"]
Trigger = Literal["PUSH", "MANUAL", "SCHEDULED", "PARENT_STEP"]
DeploymentStatus = Literal["SUCCESSFUL", "FAILED", "STOPPED", "IN_PROGRESS"]
Pick = Literal["newest", "oldest"]

PICK_HELP = (
    '"the latest/last/newest/most recent X" = "newest", "the first/oldest X" = "oldest": exactly one '
    "record (newest across every repository searched), with a note stating the rule used; null = a list"
)
PERSON_HELP = (
    'a person: full name, first or last name, nickname, or a bot ("renovate", "dependabot", '
    '"the dependency bot"); ambiguous names are reported with the candidates, never guessed'
)


class ToolArgs(BaseModel):
    """Base: forbid unknown keys so a model's typo is an error it sees, not a silent default."""

    model_config = ConfigDict(extra="forbid")


class ListRepositories(ToolArgs):
    """List the workspace's repositories, optionally only those whose name contains `name_contains`."""

    name_contains: str | None = None
    limit: int = Field(default=100, ge=1, le=500)


class ResolveRepository(ToolArgs):
    """Map a phrase ("the backend service", "payments") to repository slugs, best first, with scores."""

    phrase: str


class ResolvePerson(ToolArgs):
    """Who a person phrase means ("Emma", "dokafor", "the renovate bot"): the matching workspace members,
    best reading first; several on the best reading means the name is ambiguous (say so and list them).
    The list tools' person filters (author, reviewer, approver, participant) resolve names themselves."""

    phrase: str
    repos: list[str] | None = Field(
        default=None,
        description="Where to look for authors when the workspace's member list is not readable",
    )


class ListPipelines(ToolArgs):
    """Pipelines (builds) in a window (by created_on), newest first, across `repos` (None = every repository).

    `results` filters completed pipelines by outcome; `in_progress` selects running/pending ones instead.
    "Failed" in user language means FAILED and ERROR, never STOPPED unless asked. "The latest successful
    build on main": results=[SUCCESSFUL], branch=main, pick=newest.
    """

    repos: list[str] | None = None
    results: list[PipelineResult] | None = None
    in_progress: bool = False
    branch: str | None = None
    branch_like: list[str] | None = Field(
        default=None,
        description=(
            'A branch named loosely, by words its name holds ("the renovate nestjs branch": '
            '[renovate, nestjs]) or a name prefix ("renovate/"): the runs of every branch whose name '
            "holds them all (the matching branch names are listed first). Use `branch` for an exact name."
        ),
    )
    trigger: Trigger | None = None
    pr_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    pick: Pick | None = Field(default=None, description=PICK_HELP)
    limit: int = Field(default=50, ge=1, le=500)


class GetPipeline(ToolArgs):
    """One pipeline by build number, with its steps."""

    repo: str
    build_number: int


class PipelineFailure(ToolArgs):
    """Why a pipeline failed: its failed steps, each with the log tail and extracted error lines, and the
    failed test cases.

    `uuid` (from a listing) saves looking the pipeline up; `log=False` / `tests=False` skip the log tail /
    the test report when they are not needed (each costs a request per failed step); `log="if_needed"` reads
    the log only of a step whose failed tests do not say why. `test_steps` reads the test report only of
    failed steps whose name has one of these words (["integration"]), in a pipeline with such steps.
    """

    repo: str
    build_number: int
    log_tail_lines: int = Field(default=40, ge=5, le=400)
    uuid: str | None = None
    log: bool | Literal["if_needed"] = True
    tests: bool = True
    test_steps: list[str] | None = None


class ListPullRequests(ToolArgs):
    """Pull requests by state, newest activity (updated_on) first, optionally within a window on updated_on
    (or on created_on with `time_field="created_on"`: "PRs opened this week").

    Filters: `author`, `reviewer` (named as a reviewer), `approver` (approved it), `participant` (reviewer
    or anyone who took part), `text` (in title or description), `path` (changed a file or directory:
    a bounded scan of the newest candidates' diffstats that says how many it examined), branches.
    `awaiting_review` keeps OPEN PRs that no reviewer has approved yet. Merged PRs need
    states=[MERGED] (the default is OPEN only).
    """

    repos: list[str] | None = None
    states: list[PullRequestState] = Field(default_factory=lambda: list[PullRequestState](["OPEN"]))
    author: str | None = Field(default=None, description="The PR's author: " + PERSON_HELP)
    reviewer: str | None = Field(default=None, description="Named as a reviewer: " + PERSON_HELP)
    approver: str | None = Field(default=None, description="Approved the PR: " + PERSON_HELP)
    participant: str | None = Field(
        default=None, description="Reviewer or participant (commented, approved): " + PERSON_HELP
    )
    text: str | None = Field(
        default=None, description="Case-insensitive text the title or description contains"
    )
    path: str | None = Field(
        default=None,
        description="A file path, directory or glob (config/production.yaml, config/, *.tf) the PR changed",
    )
    path_scan_limit: int = Field(
        default=40, ge=1, le=200, description="With `path`: how many of the newest candidate PRs to examine"
    )
    destination_branch: str | None = None
    source_branch: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    time_field: Literal["updated_on", "created_on"] = (
        "updated_on"  # which timestamp since/until bound ("opened in the last 5 days": created_on)
    )
    awaiting_review: bool = False
    pick: Pick | None = Field(default=None, description=PICK_HELP + " (by `time_field`)")
    limit: int = Field(default=30, ge=1, le=200)


class GetPullRequest(ToolArgs):
    """One pull request with reviewers, approvals, build statuses and its diffstat.

    `files_only`: the pull request and its diffstat alone (no build statuses; no request for the pull
    request itself when a listing of this run already read it).
    """

    repo: str
    pr_id: int
    files_only: bool = False
    include_diff: bool = False  # a bounded diff excerpt as well
    include_comments: bool = False


class PullRequestCommits(ToolArgs):
    """The commits a pull request merges (its own commits, newest first): "list its commits"."""

    repo: str
    pr_id: int
    limit: int = Field(default=100, ge=1, le=500)


class PullRequestFiles(ToolArgs):
    """The files each of one repository's pull requests changes (diffstat: lines added and removed), in one
    call: what several PRs touched, or which of them is the biggest."""

    repo: str
    pr_ids: list[int] = Field(min_length=1, max_length=25)


class PullRequestsForCommit(ToolArgs):
    """The pull requests that contain a commit (falls back to scanning merged PRs if the endpoint is
    unavailable)."""

    repo: str
    commit: str


class ListCommits(ToolArgs):
    """Commits on a branch (default: the main branch), newest first, in a window, in `repo` or across `repos`.

    The window is on the commit's own date, or with `time_field="entered_branch"` on when it entered the
    branch's first-parent history: "landed on / merged to main yesterday" (a commit merged yesterday counts
    even if written earlier; one written yesterday but merged today does not). `merges_only` keeps merge
    commits and PR merges. `message_contains` matches text in the message; `author` a person.
    """

    repo: str | None = Field(default=None, description="One repository slug (or use `repos`)")
    repos: list[str] | None = Field(
        default=None, description="Several repository slugs; `repo` and `repos` both null = every repository"
    )
    branch: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    time_field: Literal["date", "entered_branch"] = Field(
        default="date",
        description='Which time since/until bound: the commit date, or "entered_branch" for landed/merged',
    )
    author: str | None = Field(default=None, description="The commit's author: " + PERSON_HELP)
    message_contains: str | None = Field(
        default=None, description="Case-insensitive text the commit message contains"
    )
    path: str | None = None
    merges_only: bool = False
    pick: Pick | None = Field(default=None, description=PICK_HELP)
    limit: int = Field(default=50, ge=1, le=500)

    @model_validator(mode="after")
    def _one_scope(self) -> ListCommits:
        if self.repo is not None and self.repos is not None:
            raise ValueError("give `repo` (one repository) or `repos` (several), not both")
        if self.path and self.time_field == "entered_branch":
            raise ValueError(
                "`path` cannot be combined with time_field=entered_branch (a path-filtered history has no "
                "first-parent chain); list by date with `path`, or drop `path`"
            )
        return self


class GetCommit(ToolArgs):
    """One commit with its diffstat (files changed) and build statuses; `files=False` / `statuses=False` skip
    them when they are not needed (a request each)."""

    repo: str
    commit: str
    files: bool = True
    statuses: bool = True


class CommitsBetween(ToolArgs):
    """Commits reachable from `include` but not from `exclude` (like `git log exclude..include`), with
    files changed."""

    repo: str
    include: str
    exclude: str
    limit: int = Field(default=100, ge=1, le=500)


class ListBranches(ToolArgs):
    """Branches by most recent commit first; `stale_before` keeps only branches with no commit since then.

    "The newest branch" = pick=newest with exclude_main (by its latest commit: Bitbucket records no branch
    creation time; the main branch is not a new branch).
    """

    repos: list[str] | None = None
    name_contains: str | None = None
    exclude_main: bool = Field(
        default=False, description='Leave out each repository\'s main branch ("the newest work branch")'
    )
    since: datetime | None = None
    stale_before: datetime | None = None
    pick: Pick | None = Field(default=None, description=PICK_HELP + " (by the latest commit's date)")
    limit: int = Field(default=50, ge=1, le=500)


class ListDeployments(ToolArgs):
    """Deployments newest first, per repository, optionally one environment ("production", "staging", "test"),
    a window and outcomes (`statuses`: SUCCESSFUL, FAILED, STOPPED, IN_PROGRESS).

    "What is live in prod for X right now" / "which commit is in production": `current` (one record per
    repository and environment: the latest SUCCESSFUL deployment, whose `replaces*` fields name the release
    it replaced, also for a redeploy or rollback). "The latest deployment (to production)": pick=newest.
    `latest_per_environment` is the newest deployment per environment whatever its outcome.
    """

    repos: list[str] | None = None
    environment: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    current: bool = Field(
        default=False,
        description="What is live now: per repository and environment, the latest SUCCESSFUL deployment",
    )
    latest_per_environment: bool = False
    statuses: list[DeploymentStatus] | None = None  # outcome filter ("failed deploys": FAILED); None = any
    pick: Pick | None = Field(default=None, description=PICK_HELP + " (by started_on)")
    limit: int = Field(default=50, ge=1, le=500)


class DeploymentChanges(ToolArgs):
    """What a deployment shipped: the commits, pull requests and files between it and the previous
    successful deployment to the same environment.

    `deployment_uuid` None = the latest deployment to `environment`. `files`: "change_set" = the files
    changed between the two deployments; "per_pull_request" = each pull request's own files (which change
    touched what, for an incident); "none" = commits and pull requests only.
    """

    repo: str
    environment: str = "production"
    deployment_uuid: str | None = None
    files: Literal["change_set", "per_pull_request", "none"] = "change_set"


class SearchCode(ToolArgs):
    """Search code across the workspace (or `repos`) for a symbol or text; falls back to a bounded
    path/content scan when code search is unavailable."""

    query: str
    repos: list[str] | None = None
    definitions_only: bool = (
        False  # "where is X defined": keep files whose lines define X (def/class/function/const …)
    )
    limit: int = Field(default=20, ge=1, le=100)


class BrowseSource(ToolArgs):
    """A file's content (bounded) or a directory listing at a ref (default: the main branch).

    With `find` instead of a path, the file a description names ("the prod config": [prod, config]; "the
    variables file of the eks module": [variables, eks, module]): the tool lists the repository's tree,
    reads the path whose parts every word names, and says which other paths came close.
    """

    repo: str
    path: str = ""
    ref: str | None = None
    find: list[str] | None = Field(
        default=None, description="Words describing a file whose path is not known (see above)"
    )


TOOL_ARGS: dict[str, type[ToolArgs]] = {
    "list_repositories": ListRepositories,
    "resolve_repository": ResolveRepository,
    "list_pipelines": ListPipelines,
    "get_pipeline": GetPipeline,
    "pipeline_failure": PipelineFailure,
    "list_pull_requests": ListPullRequests,
    "get_pull_request": GetPullRequest,
    "pull_requests_for_commit": PullRequestsForCommit,
    "pull_request_commits": PullRequestCommits,
    "pull_request_files": PullRequestFiles,
    "list_commits": ListCommits,
    "get_commit": GetCommit,
    "commits_between": CommitsBetween,
    "list_branches": ListBranches,
    "list_deployments": ListDeployments,
    "deployment_changes": DeploymentChanges,
    "search_code": SearchCode,
    "browse_source": BrowseSource,
    "resolve_person": ResolvePerson,
}
