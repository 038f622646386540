"""The offline planner: many phrasings per family → the expected tools, key args, window and primary steps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from agent.plan import Plan
from agent.planners.base import Planner, PlanRequest, PriorTurn
from agent.planners.rules import RulesPlanner, build_plan
from tests.agent.fixtures import ALL_SLUGS, acme_repos

NOW = datetime(2026, 11, 29, 15, 30, tzinfo=UTC)  # Sunday
REPOS = acme_repos()


def Z(s: str) -> str:
    return s + ":00Z" if len(s) == 16 else s


async def plan(question: str, **kw: Any) -> Plan:
    kw.setdefault("repositories", REPOS)
    return await RulesPlanner().plan(PlanRequest(question=question, now=NOW, **kw))


def primary(p: Plan) -> list[dict[str, Any]]:
    return [dict(s.args, _tool=s.tool) for s in p.steps if s.primary]


# (question, family, primary tool, subset of the first primary step's args, window (start, end) or None)
CASES: list[tuple[str, str, str, dict[str, Any], tuple[str, str] | None]] = [
    # --- pipelines
    ("what pipelines failed in the last 24 hours?", "pipelines", "list_pipelines",
     {"results": ["FAILED", "ERROR"]}, ("2026-11-28T15:30", "2026-11-29T15:30")),
    ("failed builds 24h", "pipelines", "list_pipelines", {"results": ["FAILED", "ERROR"]}, ("2026-11-28T15:30", "2026-11-29T15:30")),
    ("hey, could you tell me which CI runs broke since yesterday morning?", "pipelines", "list_pipelines",
     {"results": ["FAILED", "ERROR"]}, ("2026-11-28T00:00", "2026-11-29T15:30")),
    ("pipleines that faild", "pipelines", "list_pipelines", {"results": ["FAILED", "ERROR"]}, ("2026-11-28T15:30", "2026-11-29T15:30")),
    ("any red builds on main in checkout since 9am PST?", "pipelines", "list_pipelines",
     {"repos": ["checkout-service"], "branch": "main", "results": ["FAILED", "ERROR"]}, ("2026-11-28T17:00", "2026-11-29T15:30")),
    ("pipelines that errored between 2026-11-20 and 2026-11-22", "pipelines", "list_pipelines",
     {"results": ["ERROR"]}, ("2026-11-20T00:00", "2026-11-23T00:00")),
    ("cancelled nightly builds this week", "pipelines", "list_pipelines",
     {"results": ["STOPPED"], "trigger": "SCHEDULED"}, ("2026-11-23T00:00", "2026-11-29T15:30")),
    ("what's running right now in payments", "pipelines", "list_pipelines",
     {"repos": ["payments-service"], "in_progress": True}, ("2026-11-28T15:30", "2026-11-29T15:30")),
    ("manual pipelines on develop yesterday", "pipelines", "list_pipelines",
     {"trigger": "MANUAL", "branch": "develop"}, ("2026-11-28T00:00", "2026-11-29T00:00")),
    ("why did build 412 fail in checkout", "pipelines", "pipeline_failure",
     {"repo": "checkout-service", "build_number": 412}, None),
    ("pipelines for PR 12 in checkout", "pipelines", "list_pipelines", {"pr_id": 12, "repos": ["checkout-service"]},
     ("2026-11-22T15:30", "2026-11-29T15:30")),
    # --- pull requests
    ("show me recent pull requests for the backend service", "pull_requests", "list_pull_requests",
     {"repos": ["api-gateway"], "states": ["OPEN", "MERGED", "DECLINED"]}, ("2026-11-22T15:30", "2026-11-29T15:30")),
    ("any open prs for the web app?", "pull_requests", "list_pull_requests", {"repos": ["web-frontend"]}, None),
    ("PRs by Alice in payments awaiting review", "pull_requests", "list_pull_requests",
     {"repos": ["payments-service"], "author": "Alice", "awaiting_review": True}, None),
    ("merged PRs into master for the mobile app last week", "pull_requests", "list_pull_requests",
     {"repos": ["mobile-app"], "states": ["MERGED"], "destination_branch": "master"}, ("2026-11-16T00:00", "2026-11-23T00:00")),
    ("declined pull requests since Monday", "pull_requests", "list_pull_requests",
     {"states": ["DECLINED"]}, ("2026-11-23T00:00", "2026-11-29T15:30")),
    ("prs waiting for review in checkout", "pull_requests", "list_pull_requests",
     {"repos": ["checkout-service"], "awaiting_review": True}, None),
    ("show me PR 12 in checkout with the diff", "pull_requests", "get_pull_request",
     {"repo": "checkout-service", "pr_id": 12, "include_diff": True}, None),
    ("Priya's pull requests from the past 3 days", "pull_requests", "list_pull_requests",
     {"author": "Priya"}, ("2026-11-26T15:30", "2026-11-29T15:30")),
    # --- commits
    ("what commits were merged to main yesterday?", "commits", "list_commits",
     {"repo": "api-gateway", "branch": "main", "merges_only": True}, ("2026-11-28T00:00", "2026-11-29T00:00")),
    ("commits to main in checkout today", "commits", "list_commits",
     {"repo": "checkout-service", "branch": "main"}, ("2026-11-29T00:00", "2026-11-29T15:30")),
    ("commits touching src/app.py in payments since 2026-11-20", "commits", "list_commits",
     {"repo": "payments-service", "path": "src/app.py"}, ("2026-11-20T00:00", "2026-11-29T15:30")),
    ("last 10 commits on develop for auth", "commits", "list_commits",
     {"repo": "auth-service", "branch": "develop", "limit": 10}, None),
    ("what landed in the api ystrday?", "commits", "list_commits",
     {"repo": "api-gateway", "merges_only": True}, ("2026-11-28T00:00", "2026-11-29T00:00")),
    ("what did priya merge this week", "commits", "list_commits",
     {"author": "priya", "merges_only": True}, ("2026-11-23T00:00", "2026-11-29T15:30")),
    ("get commit 3f2a9c1 in auth", "commits", "get_commit", {"repo": "auth-service", "commit": "3f2a9c1"}, None),
    # --- branches
    ("recent branches in checkout", "branches", "list_branches",
     {"repos": ["checkout-service"], "since": Z("2026-11-22T15:30")}, ("2026-11-22T15:30", "2026-11-29T15:30")),
    ("stale branches", "branches", "list_branches", {"stale_before": Z("2026-10-30T15:30")}, ("2026-10-30T15:30", "2026-11-29T15:30")),
    ("branches with no commits in 60 days in infra", "branches", "list_branches",
     {"repos": ["infra-terraform"], "stale_before": Z("2026-09-30T15:30")}, ("2026-09-30T15:30", "2026-11-29T15:30")),
    ("release branches", "branches", "list_branches", {"name_contains": "release/"}, None),
    ("which branches got commits this week?", "branches", "list_branches",
     {"since": Z("2026-11-23T00:00")}, ("2026-11-23T00:00", "2026-11-29T15:30")),
    ("list branches of the mobile app", "branches", "list_branches", {"repos": ["mobile-app"]}, None),
    # --- deployments
    ("who deployed to prod yesterday", "deployments", "list_deployments",
     {"environment": "production"}, ("2026-11-28T00:00", "2026-11-29T00:00")),
    ("any rollbacks in staging this week?", "deployments", "list_deployments",
     {"environment": "staging"}, ("2026-11-23T00:00", "2026-11-29T15:30")),
    ("what's deployed in production right now?", "deployments", "list_deployments",
     {"environment": "production", "latest_per_environment": True}, None),
    ("what changed in the last checkout deploy", "deployments", "deployment_changes", {"repo": "checkout-service"}, None),
    ("what shipped in the latest staging release of payments", "deployments", "deployment_changes",
     {"repo": "payments-service", "environment": "staging"}, None),
    ("deploymnets on friday", "deployments", "list_deployments", {}, ("2026-11-27T00:00", "2026-11-28T00:00")),
    ("what changed in the last deployment pipeline?", "deployments", "list_deployments",
     {"environment": "production", "latest_per_environment": True}, None),
    # --- code
    ("where is calculate_tax defined", "code", "search_code", {"query": "calculate_tax"}, None),
    ("find usages of PaymentGatewayClient in payments", "code", "search_code",
     {"query": "PaymentGatewayClient", "repos": ["payments-service"]}, None),
    ("who calls refund_payment?", "code", "search_code", {"query": "refund_payment"}, None),
    ('grep for "retry budget exceeded"', "code", "search_code", {"query": "retry budget exceeded"}, None),
    ("show me config/production.yaml in checkout", "code", "browse_source",
     {"repo": "checkout-service", "path": "config/production.yaml"}, None),
    # --- incidents
    ("checkout errors since 14:05 UTC", "incident", "list_deployments",
     {"repos": ["checkout-service"], "since": Z("2026-11-27T14:05"), "until": Z("2026-11-29T14:35")},
     ("2026-11-27T14:05", "2026-11-29T14:35")),
    ("payments is throwing 500s since 10:00 Europe/Berlin", "incident", "list_deployments",
     {"repos": ["payments-service"], "since": Z("2026-11-27T09:00")}, ("2026-11-27T09:00", "2026-11-29T09:30")),
    ("outage on checkout started around 14:05, what changed before?", "incident", "list_deployments",
     {"repos": ["checkout-service"]}, ("2026-11-27T14:05", "2026-11-29T14:35")),
    ("what broke the api at 2pm?", "incident", "list_deployments", {"repos": ["api-gateway"]},
     ("2026-11-27T14:00", "2026-11-29T14:30")),
    ("latency spike in auth since 13:30 UTC", "incident", "list_deployments", {"repos": ["auth-service"]},
     ("2026-11-27T13:30", "2026-11-29T14:00")),
    ("things are on fire, 5xx everywhere since 15:00", "incident", "list_deployments", {"since": Z("2026-11-27T15:00")},
     ("2026-11-27T15:00", "2026-11-29T15:30")),
    # --- repositories
    ("list repos", "repositories", "list_repositories", {}, None),
    ("what repositories do we have", "repositories", "list_repositories", {}, None),
    ("which repos are there", "repositories", "list_repositories", {}, None),
    ("show all repositories", "repositories", "list_repositories", {}, None),
    ("repos named payments", "repositories", "list_repositories", {"name_contains": "payments"}, None),
]


@pytest.mark.parametrize(("question", "family", "tool", "args", "window"), CASES, ids=[c[0] for c in CASES])
async def test_families(question: str, family: str, tool: str, args: dict[str, Any], window: tuple[str, str] | None) -> None:
    p = await plan(question)
    assert p.family == family, p
    assert not p.clarify and not p.not_understood, (p.clarify, p.not_understood)
    prim = primary(p)
    assert prim and prim[0]["_tool"] == tool, prim
    for key, value in args.items():
        assert prim[0].get(key) == value, (key, prim[0])
    if window is not None:
        assert p.window is not None
        assert (p.window.start, p.window.end) == (datetime.fromisoformat(Z(window[0])), datetime.fromisoformat(Z(window[1])))
    assert p.understood


async def test_planner_protocol_and_review_adds_nothing() -> None:
    planner: Planner = RulesPlanner()
    assert planner.name == "rules"
    request = PlanRequest(question="failed builds", now=NOW, repositories=REPOS)
    p = await planner.plan(request)
    assert await planner.review(request, p, [], 1) == []


async def test_merged_to_main_covers_every_repo_with_its_main_branch() -> None:
    p = await plan("what was merged to main yesterday?")
    steps = {s.args["repo"]: s for s in p.steps}
    assert set(steps) == set(ALL_SLUGS)
    assert steps["mobile-app"].args["branch"] == "master" and steps["checkout-service"].args["branch"] == "main"
    assert all(s.primary and not s.depends_on and s.args["merges_only"] for s in p.steps)


async def test_failed_on_main_across_repos_splits_by_main_branch() -> None:
    p = await plan("failed pipelines on main today")
    by_branch = {s.args["branch"]: s.args.get("repos") for s in p.steps}
    assert by_branch["master"] == ["mobile-app"] and "checkout-service" in by_branch["main"]


async def test_failed_means_failed_and_error_and_says_so() -> None:
    p = await plan("failed builds")
    assert p.focus["results"] == ["FAILED", "ERROR"]
    assert any("FAILED and ERROR" in line for line in p.understood)
    assert any("last 24 hours" in line for line in p.understood)  # the default, stated


async def test_incident_steps_and_focus() -> None:
    at = datetime(2026, 11, 29, 11, 0, tzinfo=UTC)
    p = await plan("checkout is slow", mode="investigate", incident_at=at)
    tools = {s.tool: s.args for s in p.steps}
    assert tools["list_deployments"]["since"] == "2026-11-27T11:00:00Z"
    assert tools["list_pull_requests"] == {"repos": ["checkout-service"], "states": ["MERGED"],
                                           "since": "2026-11-26T11:00:00Z", "until": "2026-11-29T11:30:00Z"}
    assert tools["list_pipelines"]["results"] == ["FAILED", "ERROR"] and tools["list_pipelines"]["since"] == "2026-11-28T11:00:00Z"
    assert all(not s.depends_on for s in p.steps)
    assert p.focus == {"symptom": "checkout is slow", "at": at.isoformat(), "service": "checkout-service"}


async def test_repo_filter_overrides_hints() -> None:
    p = await plan("failed builds in checkout", repo_filter=["payments-service"])
    assert p.steps[0].args["repos"] == ["payments-service"] and p.repos == ["payments-service"]


async def test_ambiguous_repository_asks_and_plans_nothing() -> None:
    p = await plan("failed pipelines in the service")
    assert p.steps == [] and p.clarify and "checkout-service" in p.clarify[0]


async def test_unknown_repository_lists_closest() -> None:
    p = await plan("failed pipelines in the foo service")
    assert p.steps == []
    assert p.not_understood[0].startswith("no repository matches 'foo service' (closest: ")


async def test_build_number_without_repository_asks_which() -> None:
    p = await plan("why did build 412 fail?")
    assert p.steps == [] and p.clarify and "build 412" in p.clarify[0]


@pytest.mark.parametrize(
    ("question", "needle"),
    [
        ("what's the weather", "weather"),
        ("how many story points did we ship", "story points"),
        ("delete the branch feature/old-cart", "read-only"),
        ("approve PR 4", "read-only"),
        ("please merge pr 12 in checkout", "read-only"),
        ("can you rerun build 412 in checkout", "read-only"),
        ("tell me a joke", "couldn't map"),
        ("what's our jira velocity this sprint", "Bitbucket has no data"),
    ],
)
async def test_unknown_never_plans(question: str, needle: str) -> None:
    p = await plan(question)
    assert p.family == "unknown" and p.steps == []
    assert any(needle in line for line in p.not_understood), p.not_understood
    assert any("OPENAI_API_KEY" in line for line in p.not_understood)


# --- chat follow-ups


def _pipelines_turn() -> PriorTurn:
    first = build_plan(PlanRequest(question="what pipelines failed in the last 24 hours?", now=NOW, repositories=REPOS))
    primary_records = [
        {"kind": "pipeline", "ref": f"pipeline:{repo}#{n}", "repo": repo, "url": "", "title": "", "uuid": "{u}",
         "build_number": n, "state": "COMPLETED", "result": "FAILED", "created_on": "2026-11-29T10:00:00Z", "branch": br}
        for repo, n, br in [("checkout-service", 101, "main"), ("payments-service", 202, "feature/x"), ("auth-service", 303, "main")]
    ]
    return PriorTurn(question=first.intent, plan=first, primary=primary_records)


@pytest.mark.parametrize(
    ("question", "filt"),
    [
        ("which of those were on main?", {"branch": "main"}),
        ("only the ones by alice", {"author": "alice"}),
        ("which of them were in payments", {"repos": ["payments-service"]}),
        ("just the ones that errored", {"results": ["ERROR"]}),
        ("any of those on develop?", {"branch": "develop"}),
    ],
)
async def test_follow_up_filters_without_refetch(question: str, filt: dict[str, Any]) -> None:
    p = await plan(question, previous=_pipelines_turn())
    assert p.family == "follow_up" and p.steps == []
    assert p.focus["filter"] == filt


@pytest.mark.parametrize(
    ("question", "repo", "build"),
    [
        ("show me the log of the second one", "payments-service", 202),
        ("why did the first one fail?", "checkout-service", 101),
        ("the last one", "auth-service", 303),
        ("logs for the 2nd", "payments-service", 202),
        ("what went wrong in the third one", "auth-service", 303),
    ],
)
async def test_follow_up_ordinal_fetches_that_record(question: str, repo: str, build: int) -> None:
    p = await plan(question, previous=_pipelines_turn())
    assert p.family == "follow_up"
    assert [(s.tool, s.args, s.primary) for s in p.steps] == [("pipeline_failure", {"repo": repo, "build_number": build}, True)]


async def test_follow_up_vague_or_out_of_range_asks() -> None:
    prev = _pipelines_turn()
    assert (await plan("why did that one fail", previous=prev)).clarify
    assert (await plan("the 5th one", previous=prev)).clarify


@pytest.mark.parametrize(
    ("question", "repos", "since"),
    [
        ("and in payments?", ["payments-service"], "2026-11-28T15:30:00Z"),
        ("what about checkout?", ["checkout-service"], "2026-11-28T15:30:00Z"),
        ("what about yesterday?", None, "2026-11-28T00:00:00Z"),
        ("and last week?", None, "2026-11-16T00:00:00Z"),
        ("what about auth last week?", ["auth-service"], "2026-11-16T00:00:00Z"),
    ],
)
async def test_follow_up_reruns_previous_plan(question: str, repos: list[str] | None, since: str) -> None:
    p = await plan(question, previous=_pipelines_turn())
    assert p.family == "pipelines"
    (step,) = p.steps
    assert step.tool == "list_pipelines" and step.primary
    assert step.args.get("repos") == repos and step.args["since"] == since
    assert step.args["results"] == ["FAILED", "ERROR"]


async def test_new_question_after_a_turn_is_planned_fresh() -> None:
    p = await plan("show me open PRs", previous=_pipelines_turn())
    assert p.family == "pull_requests"
