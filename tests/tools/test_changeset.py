"""Change sets: PRs named by merge messages and ancestry, looked up where the run already has them, each PR's
own files from its merge commit; and failure reads that skip test reports no step could have written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from bbscout.sandbox.world.model import World
from bbscout.tools.changeset import attribute
from bbscout.tools.commits import commit_record
from bbscout.tools.context import ToolContext
from bbscout.tools.evidence import CommitRecord
from bbscout.tools.registry import run_tool

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def commit(sha: str, parents: list[str], message: str, minutes: int) -> CommitRecord:
    raw = {
        "hash": sha * 40,
        "parents": [{"hash": p * 40} for p in parents],
        "message": message,
        "date": (T0 + timedelta(minutes=minutes)).isoformat(),
    }
    return commit_record("acme", "svc", raw)


def test_a_merge_brings_its_branch_commits_into_its_pr_and_leaves_mainline_pushes_alone() -> None:
    """main: p (before the range) → d (pushed to main) → m (merges f1, f2 branched from d) → n (merges g,
    branched from p)."""
    d = commit("d", ["p"], "hotfix pushed straight to main", 1)
    f1 = commit("1", ["d"], "feature work", 2)
    f2 = commit("2", ["1"], "review fixes", 3)
    m = commit("m", ["d", "2"], "Merged in feature/a (pull request #5)", 4)
    g = commit("g", ["p"], "older branch", 5)
    n = commit("n", ["m", "g"], "Merged in feature/b (pull request #6)", 6)
    commits = [n, g, m, f2, f1, d]
    attribute(commits)
    assert {c.hash[0]: c.pr_id for c in commits} == {"n": 6, "g": 6, "m": 5, "2": 5, "1": 5, "d": None}


def sent(app: Any, since: int) -> list[str]:
    return [unquote(path) for _, path, _ in app.state.request_log[since:]]


async def test_per_pull_request_files_say_which_change_touched_what(
    ctx: ToolContext, app: Any, world: World
) -> None:
    """The config-change incident's deployment: each PR's files from its merge commit; the PRs themselves from
    the run's own PR listing, so the change set costs its commits and one diffstat per PR, nothing more."""
    scenario = world.scenarios["config_change_incident"]
    repo = "checkout-service"
    deployment = next(r.split(":", 2)[2] for r in scenario.answer_refs if r.startswith("deployment:"))
    since = (scenario.at - timedelta(days=3)).isoformat()
    await run_tool(ctx, "list_pull_requests", {"repos": [repo], "states": ["MERGED"], "since": since})
    before = len(app.state.request_log)
    res = await run_tool(
        ctx,
        "deployment_changes",
        {"repo": repo, "deployment_uuid": deployment, "files": "per_pull_request"},
    )
    rd = world.repos[repo]
    prs = [r for r in res.records if r.kind == "pull_request"]
    assert scenario.culprit_ref in {p.ref for p in prs} and len(prs) >= 2
    for pr in prs:
        own = {f.path for h in rd.pr_commits[pr.id] for f in rd.changes.get(h, [])}
        files = {f.path for f in res.records if f.kind == "file" and f.rev.startswith(pr.merge_commit or "-")}
        assert files == own, pr.ref
    culprit = next(p for p in prs if p.ref == scenario.culprit_ref)
    assert "config/production.yaml" in {
        f.path for f in res.records if f.kind == "file" and f.rev.startswith(culprit.merge_commit or "-")
    }
    paths = sent(app, before)
    assert not [p for p in paths if "/pullrequests" in p], "the PRs came from the run's listing"
    diffstats = [p for p in paths if "/diffstat/" in p]
    assert len(diffstats) == len(prs) and not [p for p in diffstats if ".." in p.split("?")[0]]
    assert res.requests == len(paths) <= 4 + len(prs)  # environments, deployments (2 pages), commits


async def test_files_none_reads_commits_and_prs_only(ctx: ToolContext, app: Any) -> None:
    before = len(app.state.request_log)
    res = await run_tool(
        ctx, "deployment_changes", {"repo": "payments-service", "environment": "production", "files": "none"}
    )
    assert [r for r in res.records if r.kind == "commit"]
    assert not [r for r in res.records if r.kind == "file"]
    assert not [p for p in sent(app, before) if "/diffstat/" in p]


def failed_step(world: World, repo: str, name: str) -> tuple[int, str]:
    """A failed pipeline of `repo` whose failing step is called `name`: (build number, uuid)."""
    rd = world.repos[repo]
    for p in rd.pipelines:
        for step in rd.steps.get(p["uuid"], []):
            result = ((step.get("state") or {}).get("result") or {}).get("name")
            if result == "FAILED" and step["name"] == name:
                return p["build_number"], p["uuid"]
    raise AssertionError(f"no {name} failure in {repo}")


async def test_a_step_whose_commands_run_no_tests_costs_no_test_report_request(
    ctx: ToolContext, app: Any, world: World
) -> None:
    build, uuid = failed_step(world, "checkout-service", "Build")
    before = len(app.state.request_log)
    res = await run_tool(
        ctx,
        "pipeline_failure",
        {"repo": "checkout-service", "build_number": build, "uuid": uuid, "log": False},
    )
    step = next(r for r in res.records if r.kind == "step" and r.name == "Build")
    assert step.runs_tests is False and any("runs no tests" in n for n in res.notes)
    assert not [p for p in sent(app, before) if "test_reports" in p]

    build, uuid = failed_step(world, "checkout-service", "Unit tests")
    before = len(app.state.request_log)
    await run_tool(
        ctx,
        "pipeline_failure",
        {"repo": "checkout-service", "build_number": build, "uuid": uuid, "log": False},
    )
    assert [p for p in sent(app, before) if "test_reports" in p], "a test step's report is read"

    before = len(app.state.request_log)
    narrowed = {"repo": "checkout-service", "build_number": build, "uuid": uuid, "log": False}
    res = await run_tool(ctx, "pipeline_failure", {**narrowed, "test_steps": ["integration"]})
    assert not [p for p in sent(app, before) if "test_reports" in p], "only integration steps were asked for"
    assert [r for r in res.records if r.kind == "step" and r.name == "Unit tests"]

    assert not [r for r in res.records if r.kind == "test_case"]
    # no step of this pipeline is an "e2e" step: the kind cannot choose, so its test step's report is read
    res = await run_tool(ctx, "pipeline_failure", {**narrowed, "test_steps": ["e2e"]})
    assert [r for r in res.records if r.kind == "test_case"]
