"""Typed evidence: what every tool returns and every finding cites.

Each record carries a stable `ref` (the citation key the verifier checks), the Bitbucket web link, a
one-line `title` and the typed facts the planners and reporters reason over. Records are pydantic
models for validation at the tool boundary and are dumped to plain JSON (`model_dump(mode="json")`)
before they enter graph state, so they survive checkpoint round-trips.

Ref formats (shared with the sandbox ground truth):
    repo:SLUG  pipeline:REPO#BUILD  step:REPO#BUILD/STEP_NAME  pr:REPO#ID  commit:REPO@HASH12
    branch:REPO:NAME  deployment:REPO:{UUID}  file:REPO:PATH@REV  test:REPO#BUILD/TEST_NAME
    person:{ACCOUNT_UUID} (or person:NAME for an author with no linked account; `repo` is "")
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def repo_ref(repo: str) -> str:
    return f"repo:{repo}"


def pipeline_ref(repo: str, build_number: int) -> str:
    return f"pipeline:{repo}#{build_number}"


def step_ref(repo: str, build_number: int, step_name: str) -> str:
    return f"step:{repo}#{build_number}/{step_name}"


def pr_ref(repo: str, pr_id: int) -> str:
    return f"pr:{repo}#{pr_id}"


def commit_ref(repo: str, commit_hash: str) -> str:
    return f"commit:{repo}@{commit_hash[:12]}"


def branch_ref(repo: str, name: str) -> str:
    return f"branch:{repo}:{name}"


def deployment_ref(repo: str, uuid: str) -> str:
    return f"deployment:{repo}:{uuid}"


def file_ref(repo: str, path: str, rev: str) -> str:
    return f"file:{repo}:{path}@{rev[:12] if len(rev) == 40 else rev}"


def test_ref(repo: str, build_number: int, test_name: str) -> str:
    return f"test:{repo}#{build_number}/{test_name}"


def person_ref(uuid: str, name: str) -> str:
    return f"person:{uuid or name}"


class Record(BaseModel):
    """Fields every evidence record has."""

    model_config = ConfigDict(extra="forbid")

    ref: str
    repo: str
    url: str  # web link (bitbucket.org), never an API link
    title: str  # one line, redacted, safe to show


class RepositoryRecord(Record):
    kind: Literal["repository"] = "repository"
    slug: str
    name: str
    description: str = ""
    project: str = ""
    main_branch: str = "main"
    language: str = ""
    updated_on: datetime | None = None


class PipelineRecord(Record):
    kind: Literal["pipeline"] = "pipeline"
    uuid: str
    build_number: int
    state: Literal["PENDING", "IN_PROGRESS", "COMPLETED", "PAUSED", "HALTED", "UNKNOWN"]
    result: Literal["SUCCESSFUL", "FAILED", "ERROR", "STOPPED", "EXPIRED"] | None = None
    error_message: str | None = None  # result.error.message for ERROR
    branch: str | None = None  # target.ref_name or PR source branch
    pr_id: int | None = None  # when triggered for a pull request
    commit: str | None = None  # full hash
    trigger: str | None = None  # PUSH, MANUAL, SCHEDULED, PARENT_STEP
    custom: str | None = None  # the custom pipeline run (target.selector.pattern), e.g. deploy-to-production
    creator: str | None = None  # display name
    stopped_by: str | None = None  # who stopped a STOPPED run (state.result.terminator)
    created_on: datetime
    completed_on: datetime | None = None
    duration_seconds: int | None = None


class StepRecord(Record):
    kind: Literal["step"] = "step"
    uuid: str
    pipeline_uuid: str
    build_number: int
    name: str
    state: str
    result: str | None = None
    started_on: datetime | None = None
    completed_on: datetime | None = None
    duration_seconds: int | None = None
    log_tail: str | None = None  # redacted, bounded
    error_lines: list[str] = Field(default_factory=list)  # redacted lines that explain the failure
    tests_total: int | None = None
    tests_failed: int | None = None
    runs_tests: bool | None = None  # its commands run tests or write a test report (None: not known)


class TestCaseRecord(Record):
    kind: Literal["test_case"] = "test_case"
    build_number: int
    step_name: str
    name: str  # fully qualified test name
    status: str  # PASSED, FAILED, ERROR, SKIPPED
    message: str = ""  # redacted failure reason, bounded


class PullRequestRecord(Record):
    kind: Literal["pull_request"] = "pull_request"
    id: int
    subject: str = ""  # the PR's own title (redacted); `title` is the one-line summary
    state: Literal["OPEN", "MERGED", "DECLINED", "SUPERSEDED"]
    author: str
    source_branch: str
    destination_branch: str
    created_on: datetime
    updated_on: datetime
    merge_commit: str | None = None  # full hash
    closed_by: str | None = None
    description: str = ""  # redacted, bounded; untrusted text
    reviewers: list[str] = Field(default_factory=list)
    approved_by: list[str] = Field(default_factory=list)
    changes_requested_by: list[str] = Field(default_factory=list)
    comment_count: int = 0
    draft: bool = False
    statuses: list[str] = Field(
        default_factory=list
    )  # build statuses, "STATE name", e.g. "FAILED Pipeline #412"
    comments: list[str] = Field(default_factory=list)  # "Author (path): text", redacted, bounded; untrusted
    participants: list[str] = Field(default_factory=list)  # everyone in `participants` (reviewers included)
    matched_paths: list[str] = Field(default_factory=list)  # changed files that matched a `path` filter


class CommitRecord(Record):
    kind: Literal["commit"] = "commit"
    hash: str
    author: str  # display name, or the raw author when not linked to an account
    date: datetime
    message: str  # redacted, bounded; untrusted text
    parents: list[str] = Field(default_factory=list)
    is_merge: bool = False
    branch: str | None = None  # the branch it was listed on, when known
    pr_id: int | None = None  # the PR that merged it, when known
    statuses: list[str] = Field(default_factory=list)  # build statuses, "STATE name"
    entered_on: datetime | None = (
        None  # when it entered `branch`'s first-parent history (time_field=entered_branch)
    )
    entered_via: str | None = None  # full hash of the first-parent commit (the merge) that brought it in


class BranchRecord(Record):
    kind: Literal["branch"] = "branch"
    name: str
    head: str  # full hash
    head_date: datetime
    head_author: str
    head_message: str = ""


class DeploymentRecord(Record):
    kind: Literal["deployment"] = "deployment"
    uuid: str
    environment: str  # environment name (e.g. "Production")
    environment_type: str = ""  # Test, Staging, Production
    state: str  # UNDEPLOYED, IN_PROGRESS, COMPLETED
    status: str | None = None  # SUCCESSFUL, FAILED, STOPPED (state.status.name)
    release: str = ""  # release name
    commit: str | None = None  # full hash (deployable.commit.hash)
    build_number: int | None = None  # the pipeline that deployed it
    deployer: str | None = None
    started_on: datetime | None = None
    completed_on: datetime | None = None
    is_redeploy: bool = False  # the commit was already deployed to this environment before
    rolls_back: str | None = (
        None  # a rollback: ref of the deployment it replaced (an earlier commit came back)
    )
    rolled_back_by: str | None = None  # this deployment was rolled back: ref of the rollback that replaced it
    replaces: str | None = None  # a successful deployment: ref of the one live in this environment before it
    replaces_release: str | None = None  # that deployment's release name
    replaces_commit: str | None = None  # that deployment's commit (full hash)


class PersonRecord(Record):
    kind: Literal["person"] = "person"
    name: str  # display name (redacted)
    nickname: str = ""
    uuid: str = ""  # account uuid with braces; "" for an author with no linked account
    is_bot: bool = False
    source: Literal["workspace member", "author seen"] = "workspace member"


class FileChangeRecord(Record):
    kind: Literal["file"] = "file"
    path: str
    rev: str  # the commit or revspec the change belongs to
    status: str  # added, removed, modified, renamed
    lines_added: int = 0
    lines_removed: int = 0
    old_path: str | None = None
    pr_id: int | None = None  # the pull request whose diffstat listed it (pull_request_files)
    diff_excerpt: str | None = None  # bounded, redacted hunks of this file (when a diff was asked for)


class CodeMatchRecord(Record):
    kind: Literal["code_match"] = "code_match"
    path: str
    rev: str
    lines: list[str] = Field(default_factory=list)  # "LINE: text", redacted, bounded
    method: Literal["code_search", "path_scan", "content_scan"] = "code_search"


class FileContentRecord(Record):
    kind: Literal["file_content"] = "file_content"
    path: str
    rev: str
    is_directory: bool = False
    entries: list[str] = Field(default_factory=list)  # directory listing
    content: str = ""  # redacted, bounded
    truncated: bool = False


Evidence = Annotated[
    RepositoryRecord
    | PipelineRecord
    | StepRecord
    | TestCaseRecord
    | PullRequestRecord
    | CommitRecord
    | BranchRecord
    | DeploymentRecord
    | FileChangeRecord
    | CodeMatchRecord
    | FileContentRecord
    | PersonRecord,
    Field(discriminator="kind"),
]


def held_commits(record: Record) -> dict[str, str]:
    """Commits a record names in its fields, by ref → web link: a PR's merge commit, the commit a deployment
    runs and the one it replaced. The evidence holds them as surely as a fetched commit, so an answer may
    cite them ("which commit is live?", "what is PR 70's merge commit?")."""
    hashes: list[str | None] = []
    if isinstance(record, PullRequestRecord):
        hashes = [record.merge_commit]
    elif isinstance(record, DeploymentRecord):
        hashes = [record.commit, record.replaces_commit]
    root = record.url.split(f"/{record.repo}/", 1)[0]
    return {commit_ref(record.repo, h): f"{root}/{record.repo}/commits/{h}" for h in hashes if h}


class ToolResult(BaseModel):
    """What a tool returns: evidence plus what the agent must know about how it was gathered."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    records: list[Evidence] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # e.g. "code search unavailable; scanned paths"
    gaps: list[str] = Field(default_factory=list)  # what could not be seen, and why
    truncated: bool = False  # more matched than were returned
    requests: int = 0  # HTTP requests this call made (cache hits excluded)
