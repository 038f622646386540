"""Pydantic v2 models of the Bitbucket resources the agent reads.

Tolerant by design: unknown keys are ignored (`extra="ignore"`), and almost everything is optional
because Bitbucket omits fields in list responses, under `fields=` selections, and for condensed
embedded objects. Helper properties encode the traps from API-NOTES (pipeline outcome is
`state.result.name` only when COMPLETED; deployment outcome is `state.status.name`).
"""

from __future__ import annotations

import typing
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Account",
    "BBModel",
    "Branch",
    "BranchRef",
    "CodeSearchContentMatch",
    "CodeSearchLine",
    "CodeSearchMatch",
    "CodeSearchSegment",
    "Commit",
    "CommitAuthor",
    "CommitFile",
    "CommitRef",
    "CommitStatus",
    "Deployable",
    "Deployment",
    "DeploymentState",
    "DeploymentStatus",
    "DiffStat",
    "Environment",
    "EnvironmentType",
    "Link",
    "Paginated",
    "Participant",
    "Pipeline",
    "PipelineError",
    "PipelineResult",
    "PipelineSelector",
    "PipelineStage",
    "PipelineState",
    "PipelineStep",
    "PipelineTarget",
    "PipelineTrigger",
    "Project",
    "PullRequest",
    "PullRequestEndpoint",
    "Release",
    "Rendered",
    "Repository",
    "Tag",
    "TestCase",
    "TestReport",
    "Workspace",
    "WorkspaceAccess",
]

T = typing.TypeVar("T")


class BBModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Link(BBModel):
    href: str | None = None
    name: str | None = None


def _href(links: dict[str, typing.Any] | None, name: str) -> str | None:
    if not links:
        return None
    value = links.get(name)
    if isinstance(value, dict):
        href = value.get("href")
        return href if isinstance(href, str) else None
    return None


class Account(BBModel):
    type: str | None = None
    uuid: str | None = None
    account_id: str | None = None
    display_name: str | None = None
    nickname: str | None = None
    links: dict[str, typing.Any] | None = None


class Project(BBModel):
    type: str | None = None
    key: str | None = None
    uuid: str | None = None
    name: str | None = None


class BranchRef(BBModel):
    name: str | None = None
    type: str | None = None


class Repository(BBModel):
    type: str | None = None
    uuid: str | None = None
    full_name: str | None = None
    name: str | None = None
    slug: str | None = None
    is_private: bool | None = None
    description: str | None = None
    language: str | None = None
    size: int | None = None
    created_on: datetime | None = None
    updated_on: datetime | None = None
    project: Project | None = None
    mainbranch: BranchRef | None = None
    owner: Account | None = None
    links: dict[str, typing.Any] | None = None

    @property
    def html_url(self) -> str | None:
        return _href(self.links, "html")

    @property
    def main_branch(self) -> str | None:
        return self.mainbranch.name if self.mainbranch else None


class CommitRef(BBModel):
    """A condensed commit reference (`{hash}`), as embedded in PRs, pipelines, deployments."""

    hash: str | None = None
    type: str | None = None
    links: dict[str, typing.Any] | None = None


class CommitAuthor(BBModel):
    raw: str | None = None
    type: str | None = None
    user: Account | None = None


class Commit(BBModel):
    type: str | None = None
    hash: str
    date: datetime | None = None
    author: CommitAuthor | None = None
    committer: CommitAuthor | None = None
    message: str | None = None
    summary: Rendered | None = None
    parents: list[CommitRef] = Field(default_factory=list)
    repository: Repository | None = None
    links: dict[str, typing.Any] | None = None

    @property
    def short_hash(self) -> str:
        return self.hash[:12]

    @property
    def title(self) -> str:
        return (self.message or "").strip().splitlines()[0] if (self.message or "").strip() else ""

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


class Branch(BBModel):
    type: str | None = None
    name: str
    target: Commit | None = None
    merge_strategies: list[str] | None = None
    default_merge_strategy: str | None = None
    links: dict[str, typing.Any] | None = None


class Tag(Branch):
    message: str | None = None
    date: datetime | None = None
    tagger: CommitAuthor | None = None


class Rendered(BBModel):
    raw: str | None = None
    markup: str | None = None
    html: str | None = None


class Participant(BBModel):
    type: str | None = None
    user: Account | None = None
    role: str | None = None  # PARTICIPANT | REVIEWER
    approved: bool | None = None
    state: str | None = None  # approved | changes_requested | None
    participated_on: datetime | None = None


class PullRequestEndpoint(BBModel):
    branch: BranchRef | None = None
    commit: CommitRef | None = None
    repository: Repository | None = None


class PullRequest(BBModel):
    type: str | None = None
    id: int
    title: str | None = None
    description: str | None = None
    summary: Rendered | None = None
    state: str | None = None  # OPEN | MERGED | DECLINED | SUPERSEDED
    draft: bool | None = None
    author: Account | None = None
    source: PullRequestEndpoint | None = None
    destination: PullRequestEndpoint | None = None
    merge_commit: CommitRef | None = None
    comment_count: int | None = None
    task_count: int | None = None
    close_source_branch: bool | None = None
    closed_by: Account | None = None
    reason: str | None = None
    created_on: datetime | None = None
    updated_on: datetime | None = None
    reviewers: list[Account] | None = None  # absent from list responses unless requested via fields
    participants: list[Participant] | None = None
    links: dict[str, typing.Any] | None = None

    @property
    def source_branch(self) -> str | None:
        return self.source.branch.name if self.source and self.source.branch else None

    @property
    def destination_branch(self) -> str | None:
        return self.destination.branch.name if self.destination and self.destination.branch else None

    @property
    def approvals(self) -> list[Participant]:
        return [p for p in self.participants or [] if p.approved]

    @property
    def html_url(self) -> str | None:
        return _href(self.links, "html")


class CommitFile(BBModel):
    type: str | None = None
    path: str | None = None
    escaped_path: str | None = None
    size: int | None = None
    mimetype: str | None = None
    attributes: list[str] | str | None = None
    commit: CommitRef | None = None
    links: dict[str, typing.Any] | None = None


class DiffStat(BBModel):
    type: str | None = None
    status: str | None = None  # added | removed | modified | renamed
    lines_added: int | None = None
    lines_removed: int | None = None
    old: CommitFile | None = None
    new: CommitFile | None = None

    @property
    def path(self) -> str | None:
        f = self.new or self.old
        return f.path if f else None


class PipelineError(BBModel):
    key: str | None = None
    message: str | None = None
    type: str | None = None


class PipelineResult(BBModel):
    type: str | None = None
    name: str | None = None  # SUCCESSFUL | FAILED | ERROR | STOPPED | EXPIRED | NOT_RUN (steps)
    error: PipelineError | None = None
    terminator: Account | None = None


class PipelineStage(BBModel):
    type: str | None = None
    name: str | None = None  # RUNNING | PAUSED


class PipelineState(BBModel):
    type: str | None = None
    name: str | None = None  # PENDING | IN_PROGRESS | COMPLETED (steps also READY)
    result: PipelineResult | None = None
    stage: PipelineStage | None = None


class PipelineSelector(BBModel):
    type: str | None = None
    pattern: str | None = None


class _PullRequestStub(BBModel):
    id: int | None = None
    title: str | None = None


class PipelineTarget(BBModel):
    type: str | None = None
    ref_type: str | None = None
    ref_name: str | None = None
    commit: CommitRef | None = None
    selector: PipelineSelector | None = None
    source: str | None = None
    destination: str | None = None
    destination_commit: CommitRef | None = None
    pullrequest: _PullRequestStub | None = None


class PipelineTrigger(BBModel):
    type: str | None = None
    name: str | None = None  # PUSH | MANUAL | SCHEDULED | PARENT_STEP


def _result_name(state: PipelineState | None) -> str | None:
    if state is None or state.name != "COMPLETED" or state.result is None:
        return None
    return state.result.name


class Pipeline(BBModel):
    type: str | None = None
    uuid: str
    build_number: int | None = None
    run_number: int | None = None
    creator: Account | None = None
    repository: Repository | None = None
    target: PipelineTarget | None = None
    trigger: PipelineTrigger | None = None
    state: PipelineState | None = None
    created_on: datetime | None = None
    completed_on: datetime | None = None
    build_seconds_used: int | None = None
    duration_in_seconds: int | None = None
    links: dict[str, typing.Any] | None = None

    @property
    def state_name(self) -> str | None:
        return self.state.name if self.state else None

    @property
    def result_name(self) -> str | None:
        """`state.result.name` only when the pipeline is COMPLETED (else None)."""
        return _result_name(self.state)

    @property
    def error(self) -> PipelineError | None:
        return self.state.result.error if self.result_name and self.state and self.state.result else None

    @property
    def branch(self) -> str | None:
        if self.target is None:
            return None
        return self.target.ref_name or self.target.source

    @property
    def commit_hash(self) -> str | None:
        return self.target.commit.hash if self.target and self.target.commit else None

    @property
    def pullrequest_id(self) -> int | None:
        return self.target.pullrequest.id if self.target and self.target.pullrequest else None


class _Image(BBModel):
    name: str | None = None


class _Command(BBModel):
    name: str | None = None
    command: str | None = None
    commandType: str | None = None
    action: str | None = None


class _PipelineStub(BBModel):
    uuid: str | None = None
    type: str | None = None


class PipelineStep(BBModel):
    type: str | None = None
    uuid: str
    name: str | None = None
    started_on: datetime | None = None
    completed_on: datetime | None = None
    state: PipelineState | None = None
    image: _Image | None = None
    setup_commands: list[_Command] | None = None
    script_commands: list[_Command] | None = None
    teardown_commands: list[_Command] | None = None
    run_number: int | None = None
    duration_in_seconds: int | None = None
    build_seconds_used: int | None = None
    max_time: int | None = Field(default=None, alias="maxTime")
    trigger: PipelineTrigger | None = None
    pipeline: _PipelineStub | None = None

    @property
    def result_name(self) -> str | None:
        return _result_name(self.state)


class TestReport(BBModel):
    __test__ = False  # not a pytest class

    number_of_test_cases: int | None = None
    number_of_successful_test_cases: int | None = None
    number_of_failed_test_cases: int | None = None
    number_of_error_test_cases: int | None = None
    number_of_skipped_test_cases: int | None = None


class TestCase(BBModel):
    __test__ = False

    uuid: str | None = None
    name: str | None = None
    fully_qualified_name: str | None = None
    package_name: str | None = None
    status: str | None = None  # PASSED | FAILED | ERROR | SKIPPED
    duration: str | float | None = None
    test_summary: str | None = None


class EnvironmentType(BBModel):
    type: str | None = None
    name: str | None = None  # Test | Staging | Production
    rank: int | None = None


class Environment(BBModel):
    type: str | None = None
    uuid: str | None = None
    name: str | None = None
    slug: str | None = None
    environment_type: EnvironmentType | None = None
    rank: int | None = None


class DeploymentStatus(BBModel):
    type: str | None = None
    name: str | None = None  # SUCCESSFUL | FAILED | STOPPED


class DeploymentState(BBModel):
    type: str | None = None
    name: str | None = None  # UNDEPLOYED | IN_PROGRESS | COMPLETED
    url: str | None = None
    deployer: Account | None = None
    start_date: datetime | None = None
    completion_date: datetime | None = None
    status: DeploymentStatus | None = None


class Release(BBModel):
    type: str | None = None
    uuid: str | None = None
    name: str | None = None
    url: str | None = None
    commit: CommitRef | None = None
    created_on: datetime | None = None


class Deployable(BBModel):
    type: str | None = None
    uuid: str | None = None
    name: str | None = None
    url: str | None = None
    commit: CommitRef | None = None
    pipeline: _PipelineStub | None = None
    created_on: datetime | None = None


class Deployment(BBModel):
    type: str | None = None
    uuid: str
    environment: Environment | None = None
    release: Release | None = None
    state: DeploymentState | None = None
    deployable: Deployable | None = None
    number: int | None = None
    last_update_time: datetime | None = None

    @property
    def status_name(self) -> str | None:
        """Outcome: `state.status.name` (SUCCESSFUL/FAILED/STOPPED) when COMPLETED, else None."""
        if self.state is None or self.state.status is None:
            return None
        return self.state.status.name

    @property
    def commit_hash(self) -> str | None:
        for holder in (self.deployable, self.release):
            if holder is not None and holder.commit is not None and holder.commit.hash:
                return holder.commit.hash
        return None

    @property
    def pipeline_uuid(self) -> str | None:
        if self.deployable and self.deployable.pipeline:
            return self.deployable.pipeline.uuid
        return None


class CodeSearchSegment(BBModel):
    text: str = ""
    match: bool = False


class CodeSearchLine(BBModel):
    line: int | None = None
    segments: list[CodeSearchSegment] = Field(default_factory=list)


class CodeSearchContentMatch(BBModel):
    lines: list[CodeSearchLine] = Field(default_factory=list)


class CodeSearchMatch(BBModel):
    type: str | None = None
    content_match_count: int | None = None
    content_matches: list[CodeSearchContentMatch] = Field(default_factory=list)
    path_matches: list[CodeSearchSegment] = Field(default_factory=list)
    file: CommitFile | None = None


class CommitStatus(BBModel):
    type: str | None = None
    key: str | None = None
    refname: str | None = None
    url: str | None = None
    state: str | None = None  # FAILED | INPROGRESS | STOPPED | SUCCESSFUL
    name: str | None = None
    description: str | None = None
    created_on: datetime | None = None
    updated_on: datetime | None = None


class Workspace(BBModel):
    type: str | None = None
    uuid: str | None = None
    name: str | None = None
    slug: str | None = None
    is_private: bool | None = None
    created_on: datetime | None = None
    updated_on: datetime | None = None
    links: dict[str, typing.Any] | None = None


class WorkspaceAccess(BBModel):
    """An item of `/user/workspaces`."""

    administrator: bool | None = None
    workspace: Workspace | None = None


class Paginated(BBModel, typing.Generic[T]):
    size: int | None = None
    page: int | None = None
    pagelen: int | None = None
    next: str | None = None
    previous: str | None = None
    values: list[T] = Field(default_factory=list)


Commit.model_rebuild()
