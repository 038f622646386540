"""The in-memory shape of a sandbox world: Bitbucket-shaped JSON plus the facts behind it.

The generator (`sandbox.world.generator`) fills these objects; the API server (`sandbox.app`) only
reads them. Every `dict` stored here is already in Bitbucket Cloud's JSON shape (as in the official
OpenAPI spec plus the undeclared fields real responses carry), fully expanded, with `links` pointing
at `https://api.bitbucket.org/2.0/...` and `https://bitbucket.org/...`. The server filters, sorts,
paginates and trims (`fields=`) them; it never invents content.

Ordering conventions (so the server need not re-sort for defaults):
  * `RepoData.commit_order`: every commit hash, newest first by date (ties: generation order).
  * `RepoData.pipelines`: oldest first; `build_number` is 1..N in that order.
  * `RepoData.deployments`: oldest first.
  * `RepoData.pullrequests`: keyed by id; ids are 1..N in creation order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

API_ROOT = "https://api.bitbucket.org/2.0"
WEB_ROOT = "https://bitbucket.org"

Json = dict[str, Any]


@dataclass
class Account:
    """A person (or bot) in the workspace. `to_json()` is the Bitbucket `account`/`user` object."""

    uuid: str  # "{...}" with braces
    account_id: str
    display_name: str
    nickname: str
    email: str  # Atlassian account email: the Basic-auth username for API tokens

    def to_json(self) -> Json:
        return {
            "type": "user",
            "uuid": self.uuid,
            "account_id": self.account_id,
            "display_name": self.display_name,
            "nickname": self.nickname,
            "links": {
                "self": {"href": f"{API_ROOT}/users/{self.uuid}"},
                "html": {"href": f"{WEB_ROOT}/{self.uuid}/"},
                "avatar": {"href": f"https://avatar-management.example/{self.account_id}/128"},
            },
        }


@dataclass
class Token:
    """A credential the sandbox accepts.

    kind="api_token": HTTP Basic with `email` as username and `secret` as password; scopes are the
    new-style names (`read:repository:bitbucket`, ...). `scoped=False` models a token created without
    scopes (always 401).
    kind="access_token": HTTP Bearer `secret`; scopes are classic names (`repository`, `pullrequest`,
    `pipeline`, `project`, `account`). `repos` limits a repository access token to those slugs
    (None = the whole workspace).
    """

    label: str  # e.g. "demo", "expired", "no-pipeline-scope"
    kind: Literal["api_token", "access_token"]
    secret: str
    scopes: list[str]
    account_uuid: str | None = None  # whose token (api_token); None for access tokens
    email: str | None = None
    expired: bool = False
    scoped: bool = True
    repos: list[str] | None = None
    rate_limit_per_hour: int | None = None  # None: the server default


@dataclass
class FileChange:
    """One file touched by a commit, relative to its first parent."""

    path: str  # new path (old path when removed)
    status: Literal["added", "removed", "modified", "renamed"]
    lines_added: int
    lines_removed: int
    patch: str  # unified-diff hunks for this file ("@@ -a,b +c,d @@" ... lines), no "diff --git" header
    old_path: str | None = None  # set for renamed


@dataclass
class RepoData:
    """Everything served under /repositories/{ws}/{slug}."""

    repository: Json
    commits: dict[str, Json] = field(default_factory=dict)  # full hash -> `commit` object
    commit_order: list[str] = field(default_factory=list)  # newest first
    changes: dict[str, list[FileChange]] = field(default_factory=dict)  # hash -> files vs first parent
    branches: dict[str, str] = field(default_factory=dict)  # open branch name -> head hash
    tags: dict[str, Json] = field(default_factory=dict)  # name -> {"hash", "message", "date", "tagger"}
    files: dict[str, str] = field(default_factory=dict)  # path -> text content at the main branch head
    pullrequests: dict[int, Json] = field(
        default_factory=dict
    )  # id -> full `pullrequest` (with reviewers, participants, description)
    pr_commits: dict[int, list[str]] = field(default_factory=dict)  # id -> hashes, newest first
    pr_comments: dict[int, list[Json]] = field(default_factory=dict)
    pr_activity: dict[int, list[Json]] = field(default_factory=dict)  # newest first
    statuses: dict[str, list[Json]] = field(default_factory=dict)  # commit hash -> `commitstatus` objects
    pipelines: list[Json] = field(default_factory=list)  # `pipeline` objects, oldest first
    steps: dict[str, list[Json]] = field(
        default_factory=dict
    )  # pipeline uuid -> `pipeline_step` objects in order
    logs: dict[str, str] = field(default_factory=dict)  # step uuid -> full log text
    test_reports: dict[str, Json] = field(default_factory=dict)  # step uuid -> summary
    test_cases: dict[str, list[Json]] = field(default_factory=dict)  # step uuid -> test case objects
    environments: list[Json] = field(default_factory=list)  # `deployment_environment` objects
    deployments: list[Json] = field(
        default_factory=list
    )  # `deployment` objects (with `deployable`), oldest first

    @property
    def slug(self) -> str:
        return str(self.repository["slug"])

    @property
    def main_branch(self) -> str:
        return str(self.repository["mainbranch"]["name"])


@dataclass
class Scenario:
    """A planted incident and its machine-readable ground truth.

    `answer_refs` are the objects that are the answer, in bbscout's ref format:
    `pipeline:REPO#BUILD`, `pr:REPO#ID`, `commit:REPO@HASH12` (first 12 hex), `branch:REPO:NAME`,
    `deployment:REPO:{UUID}`, `file:REPO:PATH@REV`, `repo:SLUG`. `culprit_ref` is the single object an
    incident investigation must rank first (None for non-incident scenarios).
    """

    name: str  # "broken_main_build", "flaky_test", "config_change_incident", "dependency_bump",
    # "rollback", "error_and_stopped", "adversarial_content"
    description: str
    repo: str
    at: datetime | None  # when the symptom starts (incident time), UTC
    symptom: str  # how an on-call engineer would describe it, e.g. "checkout 500s since 14:05 UTC"
    answer_refs: list[str]
    culprit_ref: str | None = None
    ruled_out_refs: list[str] = field(default_factory=list)
    facts: Json = field(default_factory=dict)  # scenario-specific numbers/strings (e.g. {"secrets": [...]})


@dataclass
class World:
    """A whole seeded workspace."""

    name: str
    seed: int
    anchor: datetime  # the world's "now" (UTC, aware)
    workspace: Json  # `workspace` object
    accounts: list[Account]
    tokens: list[Token]
    repos: dict[str, RepoData]  # slug -> data, in a stable order
    scenarios: dict[str, Scenario]
    code_search_enabled: bool = True

    def token(self, label: str) -> Token:
        """The token with this label (tests and `sandbox serve` use "demo")."""
        return next(t for t in self.tokens if t.label == label)

    def account(self, uuid: str) -> Account:
        return next(a for a in self.accounts if a.uuid == uuid)
