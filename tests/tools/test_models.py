"""Resource models against real-shaped JSON (shapes from API-NOTES recordings and the spec)."""

from __future__ import annotations

from datetime import UTC, datetime

from bbscout.tools.bitbucket import (
    Account,
    Branch,
    CodeSearchMatch,
    Commit,
    CommitStatus,
    Deployment,
    DiffStat,
    Environment,
    Paginated,
    Pipeline,
    PipelineStep,
    PullRequest,
    Repository,
    TestCase,
    TestReport,
    WorkspaceAccess,
)

USER = {
    "type": "user",
    "uuid": "{d301aafa-d676-4ee0-88be-962be7417567}",
    "account_id": "557058:0a1b",
    "display_name": "Alice Admin",
    "nickname": "alice",
    "links": {"self": {"href": "https://api.bitbucket.org/2.0/users/%7Bd301%7D"}, "avatar": {"href": "x"}},
    "created_on": "2020-01-01T00:00:00+00:00",  # unknown key: ignored
}
HASH = "3f2a9c1b7d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a"


def test_account_and_repository() -> None:
    assert Account.model_validate(USER).display_name == "Alice Admin"
    repo = Repository.model_validate(
        {
            "type": "repository",
            "full_name": "acme/api",
            "name": "api",
            "slug": "api",
            "uuid": "{r1}",
            "is_private": True,
            "project": {"type": "project", "key": "PRJ", "uuid": "{p}", "name": "Platform"},
            "mainbranch": {"type": "branch", "name": "main"},
            "owner": USER,
            "updated_on": "2026-03-10T11:00:00.123456+00:00",
            "links": {
                "html": {"href": "https://bitbucket.org/acme/api"},
                "clone": [{"href": "x", "name": "https"}],
            },
            "fork_policy": "no_public_forks",
            "some_future_field": {"nested": True},
        }
    )
    assert repo.main_branch == "main" and repo.project and repo.project.key == "PRJ"
    assert repo.html_url == "https://bitbucket.org/acme/api"
    assert repo.updated_on == datetime(2026, 3, 10, 11, 0, 0, 123456, tzinfo=UTC)
    assert Repository.model_validate({"slug": "x"}).main_branch is None  # fields= selections omit most keys


def test_commit_and_branch() -> None:
    commit = {
        "type": "commit",
        "hash": HASH,
        "date": "2026-03-09T10:00:00+00:00",
        "author": {"type": "author", "raw": "Alice Admin <alice@example.com>", "user": USER},
        "message": "Fix checkout timeout\n\nLonger body",
        "summary": {
            "raw": "Fix checkout timeout",
            "markup": "markdown",
            "html": "<p>Fix</p>",
            "type": "rendered",
        },
        "parents": [{"type": "commit", "hash": "a" * 40, "links": {}}, {"hash": "b" * 40}],
        "links": {"diff": {"href": "x"}},
    }
    c = Commit.model_validate(commit)
    assert c.title == "Fix checkout timeout" and c.is_merge and c.short_hash == HASH[:12]
    assert c.author and c.author.user and c.author.user.nickname == "alice"
    author_only = Commit.model_validate({"hash": HASH, "author": {"raw": "ci-bot <ci@x>"}})
    assert author_only.author and author_only.author.user is None and author_only.parents == []
    branch = Branch.model_validate(
        {
            "type": "branch",
            "name": "feature/new-checkout",
            "target": commit,
            "merge_strategies": ["merge_commit", "squash"],
        }
    )
    assert branch.target and branch.target.hash == HASH


def test_pull_request_list_item_and_full() -> None:
    base = {
        "type": "pullrequest",
        "id": 3,
        "title": "Add retries",
        "state": "MERGED",
        "author": USER,
        "source": {
            "branch": {"name": "feature/retries"},
            "commit": {"type": "commit", "hash": "abc123def456"},
            "repository": {"full_name": "acme/api"},
        },
        "destination": {"branch": {"name": "main"}, "commit": {"hash": "0123456789ab"}},
        "merge_commit": {"hash": HASH},
        "comment_count": 2,
        "task_count": 0,
        "close_source_branch": True,
        "created_on": "2026-03-08T09:00:00.000000+00:00",
        "updated_on": "2026-03-09T09:00:00.000000+00:00",
        "summary": {"raw": "desc", "markup": "markdown", "html": "<p>desc</p>"},
        "links": {"html": {"href": "https://bitbucket.org/acme/api/pull-requests/3"}},
    }
    listed = PullRequest.model_validate(base)  # list items have no reviewers/participants
    assert listed.reviewers is None and listed.participants is None
    assert listed.source_branch == "feature/retries" and listed.destination_branch == "main"
    full = PullRequest.model_validate(
        {
            **base,
            "description": "desc",
            "draft": False,
            "reviewers": [USER],
            "participants": [
                {
                    "type": "participant",
                    "user": USER,
                    "role": "REVIEWER",
                    "approved": True,
                    "state": "approved",
                    "participated_on": "2026-03-09T08:00:00+00:00",
                },
                {
                    "type": "participant",
                    "user": USER,
                    "role": "PARTICIPANT",
                    "approved": False,
                    "state": None,
                    "participated_on": None,
                },
            ],
        }
    )
    assert [p.role for p in full.approvals] == ["REVIEWER"]
    assert full.merge_commit and full.merge_commit.hash == HASH
    assert PullRequest.model_validate({"id": 1, "merge_commit": None}).merge_commit is None


def test_diffstat_added_and_removed_files() -> None:
    added = DiffStat.model_validate(
        {
            "type": "diffstat",
            "status": "added",
            "lines_added": 10,
            "lines_removed": 0,
            "old": None,
            "new": {"path": "src/new.py", "type": "commit_file", "escaped_path": "src/new.py", "links": {}},
        }
    )
    removed = DiffStat.model_validate(
        {"status": "removed", "old": {"path": "gone.py", "attributes": ["binary"]}, "new": None}
    )
    assert added.path == "src/new.py" and removed.path == "gone.py"


PIPELINE_COMPLETED = {
    "type": "pipeline",
    "uuid": "{9a7c0b1e-1111-2222-3333-444455556666}",
    "build_number": 42,
    "run_number": 1,
    "creator": USER,
    "repository": {"full_name": "acme/api", "type": "repository"},
    "target": {
        "type": "pipeline_ref_target",
        "ref_type": "branch",
        "ref_name": "main",
        "commit": {"type": "commit", "hash": HASH},
        "selector": {"type": "branches", "pattern": "main"},
    },
    "trigger": {"type": "pipeline_trigger_push", "name": "PUSH"},
    "state": {
        "type": "pipeline_state_completed",
        "name": "COMPLETED",
        "result": {
            "type": "pipeline_state_completed_error",
            "name": "ERROR",
            "error": {"key": "agent.build.time-limit-exceeded", "message": "Build exceeded 120 min"},
        },
    },
    "created_on": "2026-03-10T10:00:00.000Z",
    "completed_on": "2026-03-10T12:00:00.000Z",
    "build_seconds_used": 7200,
    "duration_in_seconds": 7200,
    "first_successful": False,
    "expired": False,
    "has_variables": False,
    "links": {"self": {"href": "x"}, "steps": {"href": "y"}},
}


def test_pipeline_result_only_when_completed() -> None:
    p = Pipeline.model_validate(PIPELINE_COMPLETED)
    assert p.result_name == "ERROR" and p.state_name == "COMPLETED"
    assert p.error and p.error.key == "agent.build.time-limit-exceeded"
    assert p.branch == "main" and p.commit_hash == HASH and p.pullrequest_id is None
    assert p.trigger and p.trigger.name == "PUSH"
    running = Pipeline.model_validate(
        {
            **PIPELINE_COMPLETED,
            "state": {
                "type": "pipeline_state_in_progress",
                "name": "IN_PROGRESS",
                "stage": {"type": "pipeline_state_in_progress_running", "name": "RUNNING"},
                # a stale result must not be reported while not COMPLETED
                "result": {"name": "FAILED"},
            },
        }
    )
    assert running.result_name is None and running.state and running.state.stage.name == "RUNNING"  # type: ignore[union-attr]
    pending = Pipeline.model_validate(
        {"uuid": "{p}", "state": {"type": "pipeline_state_pending", "name": "PENDING"}}
    )
    assert pending.result_name is None and pending.error is None


def test_pipeline_pull_request_target() -> None:
    p = Pipeline.model_validate(
        {
            "uuid": "{p}",
            "build_number": 7,
            "target": {
                "type": "pipeline_pullrequest_target",
                "source": "feature/x",
                "destination": "main",
                "destination_commit": {"hash": "d" * 12},
                "commit": {"hash": "c" * 12},
                "pullrequest": {"type": "pullrequest", "id": 3, "title": "X"},
                "selector": {"type": "pull-requests", "pattern": "**"},
            },
            "trigger": {"type": "pipeline_trigger_manual", "name": "MANUAL"},
        }
    )
    assert p.pullrequest_id == 3 and p.branch == "feature/x"


def test_pipeline_step_and_test_reports() -> None:
    step = PipelineStep.model_validate(
        {
            "type": "pipeline_step",
            "uuid": "{s1}",
            "name": "Unit tests",
            "started_on": "2026-03-10T10:01:00Z",
            "completed_on": "2026-03-10T10:05:00Z",
            "state": {
                "type": "pipeline_step_state_completed",
                "name": "COMPLETED",
                "result": {"type": "pipeline_step_state_completed_failed", "name": "FAILED"},
            },
            "image": {"name": "python:3.11"},
            "script_commands": [{"name": "pytest", "command": "pytest -q", "commandType": "user"}],
            "run_number": 1,
            "duration_in_seconds": 240,
            "maxTime": 120,
            "trigger": {"type": "pipeline_step_trigger_automatic"},
            "pipeline": {"type": "pipeline", "uuid": "{p}"},
        }
    )
    assert (
        step.result_name == "FAILED"
        and step.max_time == 120
        and step.pipeline
        and step.pipeline.uuid == "{p}"
    )
    report = TestReport.model_validate(
        {
            "number_of_test_cases": 10,
            "number_of_failed_test_cases": 2,
            "number_of_successful_test_cases": 8,
            "number_of_skipped_test_cases": 0,
        }
    )
    assert report.number_of_failed_test_cases == 2
    case = TestCase.model_validate(
        {
            "uuid": "{t}",
            "name": "test_checkout",
            "fully_qualified_name": "tests.test_checkout",
            "status": "FAILED",
            "duration": "PT1.5S",
        }
    )
    assert case.status == "FAILED"


def test_deployment_outcome_is_state_status() -> None:
    d = Deployment.model_validate(
        {
            "type": "deployment",
            "uuid": "{d1}",
            "environment": {"type": "deployment_environment", "uuid": "{e1}", "name": "Production"},
            "release": {
                "type": "deployment_release",
                "uuid": "{r}",
                "name": "#42",
                "url": "x",
                "commit": {"type": "commit", "hash": HASH},
                "created_on": "2026-03-10T12:00:00Z",
            },
            "state": {
                "type": "deployment_state_completed",
                "name": "COMPLETED",
                "url": "https://bitbucket.org/...",
                "deployer": USER,
                "start_date": "2026-03-10T12:00:00Z",
                "completion_date": "2026-03-10T12:03:00Z",
                "status": {"type": "deployment_state_completed_status_failed", "name": "FAILED"},
            },
            "deployable": {
                "type": "deployment_deployable_pipeline",
                "uuid": "{dd}",
                "name": "#42",
                "pipeline": {"uuid": "{p42}", "type": "pipeline"},
                "commit": {"hash": HASH},
            },
        }
    )
    assert d.status_name == "FAILED" and d.commit_hash == HASH and d.pipeline_uuid == "{p42}"
    undeployed = Deployment.model_validate(
        {
            "uuid": "{d2}",
            "state": {"type": "deployment_state_undeployed", "name": "UNDEPLOYED", "trigger_url": "x"},
        }
    )
    assert undeployed.status_name is None and undeployed.commit_hash is None
    env = Environment.model_validate(
        {
            "uuid": "{e}",
            "name": "Staging",
            "environment_type": {"type": "deployment_environment_type", "name": "Staging", "rank": 1},
        }
    )
    assert env.environment_type and env.environment_type.rank == 1


def test_code_search_status_workspace_and_paginated() -> None:
    match = CodeSearchMatch.model_validate(
        {
            "type": "code_search_result",
            "content_match_count": 1,
            "content_matches": [
                {
                    "lines": [
                        {"line": 3, "segments": [{"text": "timeout = "}, {"text": "30", "match": True}]},
                        {"line": 4, "segments": []},
                    ]
                }
            ],
            "path_matches": [{"text": "src/"}, {"text": "config", "match": True}, {"text": ".py"}],
            "file": {"path": "src/config.py", "type": "commit_file", "links": {"self": {"href": "x"}}},
        }
    )
    assert match.file and match.file.path == "src/config.py"
    assert match.content_matches[0].lines[0].segments[1].match is True
    status = CommitStatus.model_validate(
        {
            "type": "build",
            "key": "ci",
            "state": "FAILED",
            "name": "CI",
            "url": "https://ci",
            "refname": "main",
            "created_on": "2026-03-10T10:00:00Z",
        }
    )
    assert status.state == "FAILED"
    access = WorkspaceAccess.model_validate(
        {"administrator": False, "workspace": {"slug": "acme", "uuid": "{w}", "name": "Acme"}}
    )
    assert access.workspace and access.workspace.slug == "acme"
    page = Paginated[Pipeline].model_validate(
        {"pagelen": 1, "page": 1, "size": 3, "values": [PIPELINE_COMPLETED]}
    )
    assert page.values[0].build_number == 42 and page.next is None
