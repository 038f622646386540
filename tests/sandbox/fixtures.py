"""A small hand-built `World` that touches every endpoint the sandbox serves.

Two repos in workspace "acme": `api` (linear main + a feature branch, PRs in every state, pipelines
in every state with steps/logs/test reports, environments and deployments) and `web` (a few commits,
one pipeline). Hashes are sha1 of a label so they are stable; timestamps are fixed.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from bbscout.sandbox.world.model import API_ROOT, WEB_ROOT, Account, FileChange, RepoData, Token, World

WS = "acme"
ANCHOR = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def h(label: str) -> str:
    return hashlib.sha1(label.encode()).hexdigest()


def uid(label: str) -> str:
    x = hashlib.md5(label.encode()).hexdigest()
    return f"{{{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:32]}}}"


def ts(hours_ago: float) -> str:
    return (ANCHOR - timedelta(hours=hours_ago)).isoformat()


ALICE = Account(uid("alice"), "557058:alice", "Alice Admin", "alice", "alice@example.com")
BOB = Account(uid("bob"), "557058:bob", "Bob Builder", "bob", "bob@example.com")


def user_stub(a: Account) -> dict[str, Any]:
    return a.to_json()


def repo_json(slug: str, uuid: str) -> dict[str, Any]:
    return {
        "type": "repository",
        "full_name": f"{WS}/{slug}",
        "name": slug,
        "slug": slug,
        "uuid": uuid,
        "is_private": True,
        "description": f"The {slug} service",
        "language": "python",
        "size": 12345,
        "created_on": ts(24 * 300),
        "updated_on": ts(1),
        "mainbranch": {"type": "branch", "name": "main"},
        "fork_policy": "no_public_forks",
        "has_issues": False,
        "has_wiki": False,
        "project": {
            "type": "project",
            "key": "CORE",
            "uuid": uid("proj"),
            "name": "Core",
            "links": {"self": {"href": f"{API_ROOT}/workspaces/{WS}/projects/CORE"}},
        },
        "owner": {
            "type": "team",
            "uuid": uid("ws"),
            "display_name": "Acme",
            "username": WS,
            "links": {"self": {"href": f"{API_ROOT}/workspaces/{uid('ws')}"}},
        },
        "links": {
            "self": {"href": f"{API_ROOT}/repositories/{WS}/{slug}"},
            "html": {"href": f"{WEB_ROOT}/{WS}/{slug}"},
            "commits": {"href": f"{API_ROOT}/repositories/{WS}/{slug}/commits"},
            "clone": [{"name": "https", "href": f"https://bitbucket.org/{WS}/{slug}.git"}],
        },
    }


def repo_stub(repo: dict[str, Any]) -> dict[str, Any]:
    return {k: repo[k] for k in ("type", "full_name", "name", "uuid", "links")}


class RepoBuilder:
    def __init__(self, slug: str) -> None:
        self.rd = RepoData(repository=repo_json(slug, uid("repo:" + slug)))
        self.slug = slug

    def commit(
        self,
        label: str,
        parents: list[str],
        hours_ago: float,
        message: str,
        author: Account,
        changes: list[FileChange],
    ) -> str:
        hh = h(f"{self.slug}:{label}")
        api = f"{API_ROOT}/repositories/{WS}/{self.slug}"
        self.rd.commits[hh] = {
            "type": "commit",
            "hash": hh,
            "date": ts(hours_ago),
            "author": {
                "type": "author",
                "raw": f"{author.display_name} <{author.email}>",
                "user": user_stub(author),
            },
            "committer": {"type": "committer", "raw": f"{author.display_name} <{author.email}>"},
            "message": message + "\n",
            "summary": {"raw": message + "\n", "markup": "markdown", "html": f"<p>{message}</p>"},
            "parents": [
                {"type": "commit", "hash": p, "links": {"self": {"href": f"{api}/commit/{p}"}}}
                for p in parents
            ],
            "repository": repo_stub(self.rd.repository),
            "participants": [],
            "links": {
                "self": {"href": f"{api}/commit/{hh}"},
                "html": {"href": f"{WEB_ROOT}/{WS}/{self.slug}/commits/{hh}"},
                "diff": {"href": f"{api}/diff/{hh}"},
                "patch": {"href": f"{api}/patch/{hh}"},
                "statuses": {"href": f"{api}/commit/{hh}/statuses"},
                "comments": {"href": f"{api}/commit/{hh}/comments"},
            },
        }
        self.rd.changes[hh] = changes
        return hh


def added(path: str, text: str) -> FileChange:
    lines = text.rstrip("\n").split("\n")
    patch = f"@@ -0,0 +1,{len(lines)} @@\n" + "".join(f"+{ln}\n" for ln in lines)
    return FileChange(path, "added", len(lines), 0, patch)


def modified(path: str, start: int, old: list[str], new: list[str], ctx_before: list[str]) -> FileChange:
    body = (
        "".join(f" {c}\n" for c in ctx_before)
        + "".join(f"-{x}\n" for x in old)
        + "".join(f"+{x}\n" for x in new)
    )
    s = start - len(ctx_before)
    patch = f"@@ -{s},{len(ctx_before) + len(old)} +{s},{len(ctx_before) + len(new)} @@\n" + body
    return FileChange(path, "modified", len(new), len(old), patch)


def removed(path: str, text: str) -> FileChange:
    lines = text.rstrip("\n").split("\n")
    patch = f"@@ -1,{len(lines)} +0,0 @@\n" + "".join(f"-{ln}\n" for ln in lines)
    return FileChange(path, "removed", 0, len(lines), patch)


APP_V1 = "import os\n\nTIMEOUT = 30\n\ndef handler(request):\n    return {'ok': True}\n"
APP_V2 = "import os\n\nTIMEOUT = 5\n\ndef handler(request):\n    return {'ok': True}\n"
CONFIG = "db:\n  pool_size: 10\n  host: db.internal\n"
README = "# api\n\nThe checkout API. Run `make test`.\n"
OLD_NOTES = "obsolete notes\n"
FEATURE_TXT = "feature flag: new-checkout\n"


def build_api() -> RepoData:
    b = RepoBuilder("api")
    rd = b.rd
    c1 = b.commit(
        "c1",
        [],
        200,
        "Initial commit",
        ALICE,
        [added("README.md", README), added("src/app.py", APP_V1), added("docs/notes.txt", OLD_NOTES)],
    )
    c2 = b.commit("c2", [c1], 150, "Add config", BOB, [added("config/settings.yaml", CONFIG)])
    c3 = b.commit(
        "c3",
        [c2],
        100,
        "Lower timeout to 5s (PR #2)",
        BOB,
        [
            modified(
                "src/app.py",
                3,
                ["TIMEOUT = 30"],
                ["TIMEOUT = 5"],
                [
                    "",
                ],
            ),
            removed("docs/notes.txt", OLD_NOTES),
        ],
    )
    f1 = b.commit(
        "f1", [c2], 90, "Feature: new checkout flag", ALICE, [added("src/feature.txt", FEATURE_TXT)]
    )
    c4 = b.commit(
        "c4",
        [c3],
        10,
        "Bump pool size",
        ALICE,
        [modified("config/settings.yaml", 2, ["  pool_size: 10"], ["  pool_size: 20"], ["db:"])],
    )
    rd.commit_order = [c4, f1, c3, c2, c1]
    rd.branches = {"main": c4, "feature/new-checkout": f1, "release-9": c2, "release-10": c3}
    rd.tags = {
        "v1.0": {
            "hash": c2,
            "message": "v1.0\n",
            "date": ts(149),
            "tagger": {"type": "author", "raw": "Alice Admin <alice@example.com>"},
        },
        "v1.1": {
            "hash": c3,
            "message": "v1.1\n",
            "date": ts(99),
            "tagger": {"type": "author", "raw": "Alice Admin <alice@example.com>"},
        },
    }
    rd.files = {"README.md": README, "src/app.py": APP_V2, "config/settings.yaml": CONFIG.replace("10", "20")}

    def pr(
        pid: int,
        title: str,
        state: str,
        src: str,
        src_hash: str,
        dest_hash: str,
        hours: float,
        reviewers: list[Account],
        merge: str | None = None,
        draft: bool = False,
    ) -> dict[str, Any]:
        api = f"{API_ROOT}/repositories/{WS}/api/pullrequests/{pid}"
        return {
            "type": "pullrequest",
            "id": pid,
            "title": title,
            "description": f"Description of {title}",
            "summary": {"raw": f"Description of {title}", "markup": "markdown", "html": f"<p>{title}</p>"},
            "state": state,
            "draft": draft,
            "queued": False,
            "author": user_stub(BOB if pid % 2 == 0 else ALICE),
            "source": {
                "branch": {"name": src},
                "commit": {"type": "commit", "hash": src_hash[:12]},
                "repository": repo_stub(rd.repository),
            },
            "destination": {
                "branch": {"name": "main"},
                "commit": {"type": "commit", "hash": dest_hash[:12]},
                "repository": repo_stub(rd.repository),
            },
            "merge_commit": {"type": "commit", "hash": merge[:12]} if merge else None,
            "comment_count": 2 if pid == 2 else 0,
            "task_count": 0,
            "close_source_branch": True,
            "closed_by": user_stub(ALICE) if state in ("MERGED", "DECLINED") else None,
            "reason": "",
            "created_on": ts(hours),
            "updated_on": ts(hours - 1),
            "reviewers": [user_stub(r) for r in reviewers],
            "participants": [
                {
                    "type": "participant",
                    "user": user_stub(r),
                    "role": "REVIEWER",
                    "approved": True,
                    "state": "approved",
                    "participated_on": ts(hours - 1),
                }
                for r in reviewers
            ],
            "links": {
                "self": {"href": api},
                "html": {"href": f"{WEB_ROOT}/{WS}/api/pull-requests/{pid}"},
                "diff": {"href": f"{api}/diff"},
                "commits": {"href": f"{api}/commits"},
            },
        }

    rd.pullrequests = {
        1: pr(1, "Add config", "MERGED", "add-config", c2, c1, 160, [ALICE], merge=c2),
        2: pr(2, "Lower timeout", "MERGED", "timeout", c3, c2, 110, [ALICE, BOB], merge=c3),
        3: pr(3, "New checkout flag", "OPEN", "feature/new-checkout", f1, c4, 89, [BOB]),
        4: pr(4, 'Experimental "quoted" thing', "DECLINED", "experiment", f1, c2, 80, []),
        5: pr(5, "Draft: bump pool", "OPEN", "pool", c4, c3, 9, [], draft=True),
    }
    rd.pr_commits = {1: [c2], 2: [c3], 3: [f1], 4: [f1], 5: [c4]}
    api_pr2 = f"{API_ROOT}/repositories/{WS}/api/pullrequests/2"
    rd.pr_comments = {
        2: [
            {
                "type": "pullrequest_comment",
                "id": 201,
                "content": {"raw": "Is 5s enough?", "markup": "markdown", "html": "<p>Is 5s enough?</p>"},
                "user": user_stub(ALICE),
                "created_on": ts(108),
                "updated_on": ts(108),
                "deleted": False,
                "pending": False,
                "inline": {"path": "src/app.py", "to": 3},
                "links": {"self": {"href": f"{api_pr2}/comments/201"}},
            },
            {
                "type": "pullrequest_comment",
                "id": 202,
                "content": {"raw": "Yes, upstream p99 is 1s", "markup": "markdown", "html": "<p>Yes</p>"},
                "user": user_stub(BOB),
                "created_on": ts(107),
                "updated_on": ts(107),
                "deleted": False,
                "pending": False,
                "parent": {"type": "pullrequest_comment", "id": 201},
                "links": {"self": {"href": f"{api_pr2}/comments/202"}},
            },
        ]
    }
    rd.pr_activity = {
        2: [
            {
                "approval": {"date": ts(106), "user": user_stub(ALICE)},
                "pull_request": {"type": "pullrequest", "id": 2, "title": "Lower timeout"},
            },
            {
                "comment": rd.pr_comments[2][1],
                "pull_request": {"type": "pullrequest", "id": 2, "title": "Lower timeout"},
            },
            {
                "update": {
                    "state": "OPEN",
                    "title": "Lower timeout",
                    "date": ts(110),
                    "author": user_stub(BOB),
                    "source": rd.pullrequests[2]["source"],
                    "destination": rd.pullrequests[2]["destination"],
                    "reason": "",
                },
                "pull_request": {"type": "pullrequest", "id": 2, "title": "Lower timeout"},
            },
        ]
    }

    def status(commit: str, key: str, state: str, hours: float) -> dict[str, Any]:
        return {
            "type": "build",
            "key": key,
            "refname": "main",
            "url": f"{WEB_ROOT}/{WS}/api/pipelines/results/1",
            "state": state,
            "name": f"{key} build",
            "description": f"{key} {state.lower()}",
            "created_on": ts(hours),
            "updated_on": ts(hours - 0.1),
            "links": {
                "self": {"href": f"{API_ROOT}/repositories/{WS}/api/commit/{commit}/statuses/build/{key}"},
                "commit": {"href": f"{API_ROOT}/repositories/{WS}/api/commit/{commit}"},
            },
        }

    rd.statuses = {
        c3: [status(c3, "PIPE-3", "SUCCESSFUL", 99)],
        c4: [status(c4, "PIPE-5", "FAILED", 9), status(c4, "LINT", "SUCCESSFUL", 9.5)],
        f1: [status(f1, "PIPE-4", "INPROGRESS", 1)],
    }

    states = [
        (
            {
                "type": "pipeline_state_completed",
                "name": "COMPLETED",
                "result": {"type": "pipeline_state_completed_successful", "name": "SUCCESSFUL"},
            },
            c2,
            "main",
        ),
        (
            {
                "type": "pipeline_state_completed",
                "name": "COMPLETED",
                "result": {"type": "pipeline_state_completed_successful", "name": "SUCCESSFUL"},
            },
            c3,
            "main",
        ),
        (
            {
                "type": "pipeline_state_completed",
                "name": "COMPLETED",
                "result": {
                    "type": "pipeline_state_completed_error",
                    "name": "ERROR",
                    "error": {"key": "agent.build.time-limit-exceeded", "message": "Time limit exceeded"},
                },
            },
            c3,
            "main",
        ),
        (
            {
                "type": "pipeline_state_in_progress",
                "name": "IN_PROGRESS",
                "stage": {"type": "pipeline_state_in_progress_running", "name": "RUNNING"},
            },
            f1,
            "feature/new-checkout",
        ),
        (
            {
                "type": "pipeline_state_completed",
                "name": "COMPLETED",
                "result": {"type": "pipeline_state_completed_failed", "name": "FAILED"},
            },
            c4,
            "main",
        ),
        (
            {
                "type": "pipeline_state_completed",
                "name": "COMPLETED",
                "result": {
                    "type": "pipeline_state_completed_stopped",
                    "name": "STOPPED",
                    "terminator": user_stub(ALICE),
                },
            },
            c4,
            "main",
        ),
        ({"type": "pipeline_state_pending", "name": "PENDING"}, c4, "main"),
        (
            {
                "type": "pipeline_state_in_progress",
                "name": "IN_PROGRESS",
                "stage": {"type": "pipeline_state_in_progress_paused", "name": "PAUSED"},
            },
            c4,
            "release-10",
        ),
    ]
    for n, (state, commit, branch) in enumerate(states, start=1):
        pu = uid(f"api:pipe:{n}")
        created = 100 - n * 10 + 5
        completed = state["name"] == "COMPLETED"
        p = {
            "type": "pipeline",
            "uuid": pu,
            "build_number": n,
            "run_number": 1,
            "creator": user_stub(ALICE if n % 2 else BOB),
            "repository": repo_stub(rd.repository),
            "target": {
                "type": "pipeline_ref_target",
                "ref_type": "branch",
                "ref_name": branch,
                "commit": {
                    "type": "commit",
                    "hash": commit,
                    "links": {"self": {"href": f"{API_ROOT}/repositories/{WS}/api/commit/{commit}"}},
                },
                "selector": {
                    "type": "branches" if branch != "main" else "default",
                    **({"pattern": branch} if branch != "main" else {}),
                },
            },
            "trigger": {"type": "pipeline_trigger_manual", "name": "MANUAL"}
            if n == 6
            else {"type": "pipeline_trigger_push", "name": "PUSH"},
            "state": state,
            "created_on": ts(created),
            **(
                {"completed_on": ts(created - 0.2), "duration_in_seconds": 720, "build_seconds_used": 700}
                if completed
                else {}
            ),
            "first_successful": n == 1,
            "expired": False,
            "has_variables": False,
            "variables": [],
            "configuration_sources": [
                {
                    "source": "bitbucket-pipelines.yml",
                    "uri": f"{API_ROOT}/repositories/{WS}/api/src/{commit}/bitbucket-pipelines.yml",
                }
            ],
            "links": {
                "self": {"href": f"{API_ROOT}/repositories/{WS}/api/pipelines/{pu}"},
                "steps": {"href": f"{API_ROOT}/repositories/{WS}/api/pipelines/{pu}/steps"},
            },
        }
        rd.pipelines.append(p)
        steps = []
        for sn, sname in enumerate(["build", "test"]):
            su = uid(f"api:pipe:{n}:step:{sn}")
            if completed:
                res = state["result"]["name"] if sn == 1 else "SUCCESSFUL"
                sstate: dict[str, Any] = {
                    "type": "pipeline_step_state_completed",
                    "name": "COMPLETED",
                    "result": {"type": f"pipeline_step_state_completed_{res.lower()}", "name": res},
                }
            elif state["name"] == "PENDING":
                sstate = {"type": "pipeline_step_state_pending", "name": "PENDING"}
            else:
                sstate = (
                    {
                        "type": "pipeline_step_state_completed",
                        "name": "COMPLETED",
                        "result": {"type": "pipeline_step_state_completed_successful", "name": "SUCCESSFUL"},
                    }
                    if sn == 0
                    else {"type": "pipeline_step_state_in_progress", "name": "IN_PROGRESS"}
                )
            step = {
                "type": "pipeline_step",
                "uuid": su,
                "name": sname,
                "run_number": 1,
                "pipeline": {"type": "pipeline", "uuid": pu},
                "trigger": {"type": "pipeline_step_trigger_automatic"},
                "image": {"name": "python:3.11"},
                "setup_commands": [{"name": "clone", "command": "git clone ...", "commandType": "SYSTEM"}],
                "script_commands": [{"name": "pytest", "command": "pytest -q", "commandType": "USER"}],
                "teardown_commands": [],
                "state": sstate,
                "maxTime": 120,
            }
            if sstate["name"] != "PENDING":
                step["started_on"] = ts(created - 0.01)
            if sstate["name"] == "COMPLETED":
                step["completed_on"] = ts(created - 0.1)
                step["duration_in_seconds"] = 300
                step["build_seconds_used"] = 300
            steps.append(step)
            if sstate["name"] != "PENDING":
                lines = [f"+ {sname} line {i} for build {n}" for i in range(40)]
                if sn == 1 and completed and state["result"]["name"] == "FAILED":
                    lines.append(
                        "FAILED tests/test_checkout.py::test_timeout - TimeoutError: upstream took 6.2s"
                    )
                rd.logs[su] = "\n".join(lines) + "\n"
            if sn == 1 and completed:
                failed = 1 if state["result"]["name"] == "FAILED" else 0
                rd.test_reports[su] = {
                    "number_of_test_cases": 3,
                    "number_of_successful_test_cases": 3 - failed,
                    "number_of_failed_test_cases": failed,
                    "number_of_error_test_cases": 0,
                    "number_of_skipped_test_cases": 0,
                }
                rd.test_cases[su] = [
                    {
                        "uuid": uid(f"{su}:tc:{i}"),
                        "name": f"test_case_{i}",
                        "fully_qualified_name": f"tests.test_checkout.test_case_{i}",
                        "package_name": "tests.test_checkout",
                        "status": "FAILED" if (failed and i == 0) else "PASSED",
                        "duration": "PT0.5S",
                    }
                    for i in range(3)
                ]
        rd.steps[pu] = steps

    envs = []
    for rank, name in enumerate(["Test", "Staging", "Production"]):
        eu = uid(f"api:env:{name}")
        envs.append(
            {
                "type": "deployment_environment",
                "uuid": eu,
                "name": name,
                "slug": name.lower(),
                "rank": rank,
                "environment_type": {"type": "deployment_environment_type", "name": name, "rank": rank},
                "links": {"self": {"href": f"{API_ROOT}/repositories/{WS}/api/environments/{eu}"}},
            }
        )
    rd.environments = envs
    for i, (env, pipe, status_name) in enumerate(
        [(envs[0], 1, "SUCCESSFUL"), (envs[2], 2, "SUCCESSFUL"), (envs[2], 5, "FAILED")]
    ):
        p = rd.pipelines[pipe - 1]
        du = uid(f"api:dep:{i}")
        commit = p["target"]["commit"]["hash"]
        rd.deployments.append(
            {
                "type": "deployment",
                "uuid": du,
                "environment": {"type": "deployment_environment", "uuid": env["uuid"], "name": env["name"]},
                "release": {
                    "type": "deployment_release",
                    "uuid": uid(f"rel:{i}"),
                    "name": f"#{pipe}",
                    "url": f"{WEB_ROOT}/{WS}/api/pipelines/results/{pipe}",
                    "commit": {"type": "commit", "hash": commit},
                    "created_on": p["created_on"],
                },
                "state": {
                    "type": "deployment_state_completed",
                    "name": "COMPLETED",
                    "url": f"{WEB_ROOT}/{WS}/api/pipelines/results/{pipe}",
                    "deployer": user_stub(ALICE),
                    "start_date": p["created_on"],
                    "completion_date": p.get("completed_on", p["created_on"]),
                    "status": {
                        "type": f"deployment_state_completed_status_{status_name.lower()}",
                        "name": status_name,
                    },
                },
                "deployable": {
                    "type": "deployment_deployable",
                    "uuid": uid(f"dpl:{i}"),
                    "name": f"#{pipe}",
                    "pipeline": {"type": "pipeline", "uuid": p["uuid"]},
                    "commit": {"type": "commit", "hash": commit},
                    "created_on": p["created_on"],
                },
                "links": {"self": {"href": f"{API_ROOT}/repositories/{WS}/api/deployments/{du}"}},
            }
        )
    return rd


def build_web() -> RepoData:
    b = RepoBuilder("web")
    rd = b.rd
    index = "<html>checkout</html>\n"
    w1 = b.commit(
        "w1",
        [],
        300,
        "Initial web",
        BOB,
        [added("index.html", index), added("package.json", '{"name": "web"}\n')],
    )
    w2 = b.commit(
        "w2",
        [w1],
        20,
        "Rename index",
        BOB,
        [FileChange("public/index.html", "renamed", 0, 0, "", old_path="index.html")],
    )
    rd.commit_order = [w2, w1]
    rd.branches = {"main": w2}
    rd.files = {"public/index.html": index, "package.json": '{"name": "web"}\n'}
    pu = uid("web:pipe:1")
    rd.pipelines = [
        {
            "type": "pipeline",
            "uuid": pu,
            "build_number": 1,
            "creator": user_stub(BOB),
            "repository": repo_stub(rd.repository),
            "target": {
                "type": "pipeline_ref_target",
                "ref_type": "branch",
                "ref_name": "main",
                "commit": {"type": "commit", "hash": w2},
                "selector": {"type": "default"},
            },
            "trigger": {"type": "pipeline_trigger_push", "name": "PUSH"},
            "state": {
                "type": "pipeline_state_completed",
                "name": "COMPLETED",
                "result": {"type": "pipeline_state_completed_successful", "name": "SUCCESSFUL"},
            },
            "created_on": ts(19),
            "completed_on": ts(18.9),
            "links": {"self": {"href": f"{API_ROOT}/repositories/{WS}/web/pipelines/{pu}"}},
        }
    ]
    rd.steps = {pu: []}
    return rd


def tiny_world() -> World:
    repos = {"api": build_api(), "web": build_web()}
    workspace = {
        "type": "workspace",
        "uuid": uid("ws"),
        "name": "Acme",
        "slug": WS,
        "is_private": True,
        "forking_mode": "internal_only",
        "created_on": ts(24 * 400),
        "updated_on": ts(24),
        "links": {
            "self": {"href": f"{API_ROOT}/workspaces/{WS}"},
            "html": {"href": f"{WEB_ROOT}/{WS}/"},
            "avatar": {"href": f"{WEB_ROOT}/workspaces/{WS}/avatar/"},
        },
    }
    all_new = [
        "read:user:bitbucket",
        "read:workspace:bitbucket",
        "read:repository:bitbucket",
        "read:pullrequest:bitbucket",
        "read:pipeline:bitbucket",
    ]
    tokens = [
        Token("demo", "api_token", "demo-secret", list(all_new), ALICE.uuid, ALICE.email),
        Token("expired", "api_token", "expired-secret", list(all_new), ALICE.uuid, ALICE.email, expired=True),
        Token("unscoped", "api_token", "unscoped-secret", [], BOB.uuid, BOB.email, scoped=False),
        Token(
            "no-pipeline-scope",
            "api_token",
            "nopipe-secret",
            [s for s in all_new if s != "read:pipeline:bitbucket"],
            BOB.uuid,
            BOB.email,
        ),
        Token("pr-only", "api_token", "pronly-secret", ["read:pullrequest:bitbucket"], BOB.uuid, BOB.email),
        Token(
            "wat",
            "access_token",
            "wat-secret",
            ["repository", "pullrequest", "pipeline", "project", "account"],
        ),
        Token(
            "rat-web",
            "access_token",
            "rat-web-secret",
            ["repository", "pullrequest", "pipeline"],
            repos=["web"],
        ),
        Token("limited", "access_token", "limited-secret", ["repository"], rate_limit_per_hour=5),
    ]
    return World(
        name="tiny",
        seed=1,
        anchor=ANCHOR,
        workspace=workspace,
        accounts=[ALICE, BOB],
        tokens=tokens,
        repos=repos,
        scenarios={},
        code_search_enabled=True,
    )
