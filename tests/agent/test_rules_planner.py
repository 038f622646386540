"""The offline planner: many phrasings per family → the expected tools, key args, window and primary steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bbscout.agent.focus import Focus, Incident, RecordFilter
from bbscout.agent.plan import Plan, Step
from bbscout.agent.planners.base import Conversation, Planner, PlanRequest, PriorTurn
from bbscout.agent.planners.rules import RulesPlanner, build_plan
from bbscout.tools.evidence import PersonRecord
from tests.agent.fixtures import ALL_SLUGS, acme_repos

NOW = datetime(2026, 11, 29, 15, 30, tzinfo=UTC)  # Sunday
REPOS = acme_repos()


def Z(s: str) -> str:
    return s + ":00Z" if len(s) == 16 else s


async def plan(question: str, **kw: Any) -> Plan:
    kw.setdefault("repositories", REPOS)
    return (await RulesPlanner().plan(PlanRequest.read(question, NOW, **kw), Conversation())).plan


def incident_of(p: Plan) -> Incident:
    assert p.focus.incident is not None, p
    return p.focus.incident


def primary(p: Plan) -> list[dict[str, Any]]:
    return [dict(s.args, _tool=s.tool) for s in p.steps if s.primary]


# (question, family, primary tool, subset of the first primary step's args, window (start, end) or None)
CASES: list[tuple[str, str, str, dict[str, Any], tuple[str, str] | None]] = [
    # --- pipelines
    (
        "what pipelines failed in the last 24 hours?",
        "pipelines",
        "list_pipelines",
        {"results": ["FAILED", "ERROR"]},
        ("2026-11-28T15:30", "2026-11-29T15:30"),
    ),
    (
        "failed builds 24h",
        "pipelines",
        "list_pipelines",
        {"results": ["FAILED", "ERROR"]},
        ("2026-11-28T15:30", "2026-11-29T15:30"),
    ),
    (
        "hey, could you tell me which CI runs broke since yesterday morning?",
        "pipelines",
        "list_pipelines",
        {"results": ["FAILED", "ERROR"]},
        ("2026-11-28T00:00", "2026-11-29T15:30"),
    ),
    (
        "pipleines that faild",
        "pipelines",
        "list_pipelines",
        {"results": ["FAILED", "ERROR"]},
        ("2026-11-28T15:30", "2026-11-29T15:30"),
    ),
    (
        "any red builds on main in checkout since 9am PST?",
        "pipelines",
        "list_pipelines",
        {"repos": ["checkout-service"], "branch": "main", "results": ["FAILED", "ERROR"]},
        ("2026-11-28T17:00", "2026-11-29T15:30"),
    ),
    (
        "pipelines that errored between 2026-11-20 and 2026-11-22",
        "pipelines",
        "list_pipelines",
        {"results": ["ERROR"]},
        ("2026-11-20T00:00", "2026-11-23T00:00"),
    ),
    (
        "cancelled nightly builds this week",
        "pipelines",
        "list_pipelines",
        {"results": ["STOPPED"], "trigger": "SCHEDULED"},
        ("2026-11-23T00:00", "2026-11-29T15:30"),
    ),
    (
        "what's running right now in payments",
        "pipelines",
        "list_pipelines",  # unfinished now, whenever it started: no window
        {"repos": ["payments-service"], "in_progress": True, "since": None},
        None,
    ),
    (
        "manual pipelines on develop yesterday",
        "pipelines",
        "list_pipelines",
        {"trigger": "MANUAL", "branch": "develop"},
        ("2026-11-28T00:00", "2026-11-29T00:00"),
    ),
    (
        "why did build 412 fail in checkout",
        "pipelines",
        "pipeline_failure",
        {"repo": "checkout-service", "build_number": 412},
        None,
    ),
    (
        "pipelines for PR 12 in checkout",
        "pipelines",
        "list_pipelines",
        {"pr_id": 12, "repos": ["checkout-service"]},
        ("2026-11-22T15:30", "2026-11-29T15:30"),
    ),
    # --- pull requests
    (
        "show me recent pull requests for the backend service",
        "pull_requests",
        "list_pull_requests",
        {"repos": ["api-gateway"], "states": ["OPEN", "MERGED", "DECLINED"]},
        ("2026-11-22T15:30", "2026-11-29T15:30"),
    ),
    (
        "any open prs for the web app?",
        "pull_requests",
        "list_pull_requests",
        {"repos": ["web-frontend"]},
        None,
    ),
    (
        "PRs by Alice in payments awaiting review",
        "pull_requests",
        "list_pull_requests",
        {"repos": ["payments-service"], "author": "Alice", "awaiting_review": True},
        None,
    ),
    (
        "merged PRs into master for the mobile app last week",
        "pull_requests",
        "list_pull_requests",
        {"repos": ["mobile-app"], "states": ["MERGED"], "destination_branch": "master"},
        ("2026-11-16T00:00", "2026-11-23T00:00"),
    ),
    (
        "declined pull requests since Monday",
        "pull_requests",
        "list_pull_requests",
        {"states": ["DECLINED"]},
        ("2026-11-23T00:00", "2026-11-29T15:30"),
    ),
    (
        "prs waiting for review in checkout",
        "pull_requests",
        "list_pull_requests",
        {"repos": ["checkout-service"], "awaiting_review": True},
        None,
    ),
    (
        "show me PR 12 in checkout with the diff",
        "pull_requests",
        "get_pull_request",
        {"repo": "checkout-service", "pr_id": 12, "include_diff": True},
        None,
    ),
    (
        "Priya's pull requests from the past 3 days",
        "pull_requests",
        "list_pull_requests",
        {"author": "Priya"},
        ("2026-11-26T15:30", "2026-11-29T15:30"),
    ),
    # --- commits
    (
        "what commits were merged to main yesterday?",
        "commits",
        "list_commits",  # merged to main = every commit that entered main then (issue 10), not merges only
        {"repo": "api-gateway", "branch": "main", "time_field": "entered_branch", "merges_only": None},
        ("2026-11-28T00:00", "2026-11-29T00:00"),
    ),
    (
        "commits to main in checkout today",
        "commits",
        "list_commits",
        {"repo": "checkout-service", "branch": "main"},
        ("2026-11-29T00:00", "2026-11-29T15:30"),
    ),
    (
        "commits touching src/app.py in payments since 2026-11-20",
        "commits",
        "list_commits",
        {"repo": "payments-service", "path": "src/app.py"},
        ("2026-11-20T00:00", "2026-11-29T15:30"),
    ),
    (
        "last 10 commits on develop for auth",
        "commits",
        "list_commits",
        {"repo": "auth-service", "branch": "develop", "limit": 10},
        None,
    ),
    (
        "what landed in the api ystrday?",
        "commits",
        "list_commits",  # "landed" = every commit on the branch
        {"repo": "api-gateway", "merges_only": None},
        ("2026-11-28T00:00", "2026-11-29T00:00"),
    ),
    (
        "what did priya merge this week",
        "pull_requests",
        "list_pull_requests",
        {"author": "priya", "states": ["MERGED"]},
        ("2026-11-23T00:00", "2026-11-29T15:30"),
    ),
    (
        "which commits were merged to main in checkout yesterday?",
        "commits",
        "list_commits",
        {"repo": "checkout-service", "branch": "main", "time_field": "entered_branch", "merges_only": None},
        ("2026-11-28T00:00", "2026-11-29T00:00"),
    ),
    (
        "which commits did Daniel Okafor push to api-gateway in the last 3 days?",
        "commits",
        "list_commits",
        {"repo": "api-gateway", "author": "Daniel Okafor"},
        ("2026-11-26T15:30", "2026-11-29T15:30"),
    ),
    (
        "get commit 3f2a9c1 in auth",
        "commits",
        "get_commit",
        {"repo": "auth-service", "commit": "3f2a9c1"},
        None,
    ),
    # --- branches
    (
        "recent branches in checkout",
        "branches",
        "list_branches",
        {"repos": ["checkout-service"], "since": Z("2026-11-22T15:30")},
        ("2026-11-22T15:30", "2026-11-29T15:30"),
    ),
    (
        "stale branches",
        "branches",
        "list_branches",
        {"stale_before": Z("2026-10-30T15:30")},
        ("2026-10-30T15:30", "2026-11-29T15:30"),
    ),
    (
        "branches with no commits in 60 days in infra",
        "branches",
        "list_branches",
        {"repos": ["infra-terraform"], "stale_before": Z("2026-09-30T15:30")},
        ("2026-09-30T15:30", "2026-11-29T15:30"),
    ),
    ("release branches", "branches", "list_branches", {"name_contains": "release/"}, None),
    (
        "which branches got commits this week?",
        "branches",
        "list_branches",
        {"since": Z("2026-11-23T00:00")},
        ("2026-11-23T00:00", "2026-11-29T15:30"),
    ),
    ("list branches of the mobile app", "branches", "list_branches", {"repos": ["mobile-app"]}, None),
    # --- deployments
    (
        "who deployed to prod yesterday",
        "deployments",
        "list_deployments",
        {"environment": "production"},
        ("2026-11-28T00:00", "2026-11-29T00:00"),
    ),
    (
        "any rollbacks in staging this week?",
        "deployments",
        "list_deployments",
        {"environment": "staging"},
        ("2026-11-23T00:00", "2026-11-29T15:30"),
    ),
    (
        "what's deployed in production right now?",
        "deployments",
        "list_deployments",
        {"environment": "production", "current": True},
        None,
    ),
    (
        "what changed in the last checkout deploy",
        "deployments",
        "deployment_changes",
        {"repo": "checkout-service"},
        None,
    ),
    (
        "what shipped in the latest staging release of payments",
        "deployments",
        "deployment_changes",
        {"repo": "payments-service", "environment": "staging"},
        None,
    ),
    (
        "deploymnets on friday",
        "deployments",
        "list_deployments",
        {},
        ("2026-11-27T00:00", "2026-11-28T00:00"),
    ),
    (
        "what changed in the last deployment pipeline?",
        "deployments",
        "list_deployments",
        {"environment": "production", "latest_per_environment": True},
        None,
    ),
    # --- code
    ("where is calculate_tax defined", "code", "search_code", {"query": "calculate_tax"}, None),
    (
        "find usages of PaymentGatewayClient in payments",
        "code",
        "search_code",
        {"query": "PaymentGatewayClient", "repos": ["payments-service"]},
        None,
    ),
    ("who calls refund_payment?", "code", "search_code", {"query": "refund_payment"}, None),
    ('grep for "retry budget exceeded"', "code", "search_code", {"query": "retry budget exceeded"}, None),
    (
        "show me config/production.yaml in checkout",
        "code",
        "browse_source",
        {"repo": "checkout-service", "path": "config/production.yaml"},
        None,
    ),
    # --- incidents
    (
        "checkout errors since 14:05 UTC",
        "incident",
        "list_deployments",
        {"repos": ["checkout-service"], "since": Z("2026-11-27T14:05"), "until": Z("2026-11-29T14:35")},
        ("2026-11-27T14:05", "2026-11-29T14:35"),
    ),
    (
        "payments is throwing 500s since 10:00 Europe/Berlin",
        "incident",
        "list_deployments",
        {"repos": ["payments-service"], "since": Z("2026-11-27T09:00")},
        ("2026-11-27T09:00", "2026-11-29T09:30"),
    ),
    (
        "outage on checkout started around 14:05, what changed before?",
        "incident",
        "list_deployments",
        {"repos": ["checkout-service"]},
        ("2026-11-27T14:05", "2026-11-29T14:35"),
    ),
    (
        "what broke the api at 2pm?",
        "incident",
        "list_deployments",
        {"repos": ["api-gateway"]},
        ("2026-11-27T14:00", "2026-11-29T14:30"),
    ),
    (
        "latency spike in auth since 13:30 UTC",
        "incident",
        "list_deployments",
        {"repos": ["auth-service"]},
        ("2026-11-27T13:30", "2026-11-29T14:00"),
    ),
    (
        "things are on fire, 5xx everywhere since 15:00",
        "incident",
        "list_deployments",
        {"since": Z("2026-11-27T15:00")},
        ("2026-11-27T15:00", "2026-11-29T15:30"),
    ),
    # --- repositories
    ("list repos", "repositories", "list_repositories", {}, None),
    ("what repositories do we have", "repositories", "list_repositories", {}, None),
    ("which repos are there", "repositories", "list_repositories", {}, None),
    ("show all repositories", "repositories", "list_repositories", {}, None),
    ("repos named payments", "repositories", "list_repositories", {"name_contains": "payments"}, None),
]


@pytest.mark.parametrize(("question", "family", "tool", "args", "window"), CASES, ids=[c[0] for c in CASES])
async def test_families(
    question: str, family: str, tool: str, args: dict[str, Any], window: tuple[str, str] | None
) -> None:
    p = await plan(question)
    assert p.family == family, p
    assert not p.clarify and not p.not_understood, (p.clarify, p.not_understood)
    prim = primary(p)
    assert prim and prim[0]["_tool"] == tool, prim
    for key, value in args.items():
        assert prim[0].get(key) == value, (key, prim[0])
    if window is not None:
        assert p.window is not None
        assert (p.window.start, p.window.end) == (
            datetime.fromisoformat(Z(window[0])),
            datetime.fromisoformat(Z(window[1])),
        )
    assert p.understood


async def test_planner_protocol_and_review_adds_nothing() -> None:
    planner: Planner = RulesPlanner()
    assert planner.name == "rules"
    request = PlanRequest.read("failed builds", NOW, repositories=REPOS)
    conversation = Conversation(messages=[{"role": "user", "content": "an earlier turn"}])
    planned = await planner.plan(request, conversation)
    reviewed = await planner.review(request, planned.plan, [], 1, planned.conversation)
    assert reviewed.steps == [] and reviewed.conversation == conversation  # kept, untouched


async def test_merged_commits_to_main_cover_every_repo_with_its_main_branch() -> None:
    p = await plan("what commits were merged to main yesterday?")
    steps = {s.args["repo"]: s for s in p.steps}
    assert set(steps) == set(ALL_SLUGS)
    assert (
        steps["mobile-app"].args["branch"] == "master" and steps["checkout-service"].args["branch"] == "main"
    )
    assert all(s.primary and not s.depends_on for s in p.steps)
    assert all(s.args["time_field"] == "entered_branch" and "merges_only" not in s.args for s in p.steps)


@pytest.mark.parametrize(
    ("question", "repos", "window"),
    [
        ("what was merged to main yesterday?", None, ("2026-11-28T00:00", "2026-11-29T00:00")),
        ("which PRs got merged yesterday?", None, ("2026-11-28T00:00", "2026-11-29T00:00")),
        (
            "what got merged into checkout-service today?",
            ["checkout-service"],
            ("2026-11-29T00:00", "2026-11-29T15:30"),
        ),
        (
            "anything merged in payments since monday?",
            ["payments-service"],
            ("2026-11-23T00:00", "2026-11-29T15:30"),
        ),
        (
            "has anything been merged to the web app in the past 2 days",
            ["web-frontend"],
            ("2026-11-27T15:30", "2026-11-29T15:30"),
        ),
    ],
)
async def test_what_was_merged_lists_merged_pull_requests(
    question: str, repos: list[str] | None, window: tuple[str, str]
) -> None:
    """No "commits" noun: "what was merged" means the merged pull requests, timed by their merge (last
    update)."""
    p = await plan(question)
    assert p.family == "pull_requests", p
    prim = primary(p)
    assert prim and all(s["_tool"] == "list_pull_requests" and s["states"] == ["MERGED"] for s in prim)
    assert all(s.get("time_field") is None for s in prim)  # merged PRs: by their close (updated_on)
    assert (p.window.start, p.window.end) == (
        datetime.fromisoformat(Z(window[0])),
        datetime.fromisoformat(Z(window[1])),
    )
    if repos:
        assert [s.get("repos") for s in prim] == [repos]


async def test_merged_to_main_splits_by_default_branch() -> None:
    p = await plan("what was merged to main yesterday?")
    by_branch = {s.args["destination_branch"]: s.args.get("repos") for s in p.steps}
    assert by_branch["master"] == ["mobile-app"] and "checkout-service" in by_branch["main"]


@pytest.mark.parametrize(
    ("question", "field"),
    [
        ("show me the pull requests opened in web-frontend in the last 5 days", "created_on"),
        ("PRs created this week", "created_on"),
        ("new pull requests since yesterday", "created_on"),
        ("recent pull requests in checkout", None),
        ("declined pull requests since Monday", None),
    ],
)
async def test_pr_window_on_creation_when_asked_what_was_opened(question: str, field: str | None) -> None:
    p = await plan(question)
    (step,) = primary(p)
    assert step.get("time_field") == field


async def test_failed_on_main_across_repos_splits_by_main_branch() -> None:
    p = await plan("failed pipelines on main today")
    by_branch = {s.args["branch"]: s.args.get("repos") for s in p.steps}
    assert by_branch["master"] == ["mobile-app"] and "checkout-service" in by_branch["main"]


async def test_failed_means_failed_and_error_and_says_so() -> None:
    p = await plan("failed builds")
    assert p.focus.results == ["FAILED", "ERROR"]
    assert any("FAILED and ERROR" in line for line in p.understood)
    assert any("last 24 hours" in line for line in p.understood)  # the default, stated


async def test_incident_steps_and_focus() -> None:
    at = datetime(2026, 11, 29, 11, 0, tzinfo=UTC)
    p = await plan("checkout is slow", mode="investigate", incident_at=at)
    tools = {s.tool: s.args for s in p.steps}
    assert tools["list_deployments"]["since"] == "2026-11-27T11:00:00Z"
    assert tools["list_pull_requests"] == {
        "repos": ["checkout-service"],
        "states": ["MERGED"],
        "since": "2026-11-26T11:00:00Z",
        "until": "2026-11-29T11:30:00Z",
    }
    assert (
        tools["list_pipelines"]["results"] == ["FAILED", "ERROR"]
        and tools["list_pipelines"]["since"] == "2026-11-28T11:00:00Z"
    )
    assert all(not s.depends_on for s in p.steps)
    assert p.focus == Focus(
        incident=Incident(symptom="checkout is slow", at=at, service="checkout-service", kind="runtime")
    )


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
    first = build_plan(
        PlanRequest.read("what pipelines failed in the last 24 hours?", NOW, repositories=REPOS)
    )
    primary_records = [
        {
            "kind": "pipeline",
            "ref": f"pipeline:{repo}#{n}",
            "repo": repo,
            "url": "",
            "title": "",
            "uuid": "{u}",
            "build_number": n,
            "state": "COMPLETED",
            "result": "FAILED",
            "created_on": "2026-11-29T10:00:00Z",
            "branch": br,
        }
        for repo, n, br in [
            ("checkout-service", 101, "main"),
            ("payments-service", 202, "feature/x"),
            ("auth-service", 303, "main"),
        ]
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
    assert p.focus.filter is not None and p.focus.filter.terms() == filt


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
    assert [(s.tool, s.args, s.primary) for s in p.steps] == [  # the held uuid saves looking it up
        ("pipeline_failure", {"repo": repo, "build_number": build, "uuid": "{u}"}, True)
    ]


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


# --- root causes of eval failures: each with paraphrases


@pytest.mark.parametrize(
    ("question", "results"),
    [
        ("which pipelines errored (not failed tests, an ERROR result) in the last 7 days?", ["ERROR"]),
        ("builds that errored rather than failed this week", ["ERROR"]),
        ("pipelines with an error result, excluding failed ones, since monday", ["ERROR"]),
        ("failed builds but not stopped ones", ["FAILED", "ERROR"]),
    ],
)
async def test_negated_results_are_dropped(question: str, results: list[str]) -> None:
    p = await plan(question)
    assert p.family == "pipelines" and primary(p)[0]["results"] == results


@pytest.mark.parametrize(
    ("question", "start"),
    [
        ("what broke since 1pm PST yesterday?", "2026-11-28T21:00"),
        ("what broke in checkout today?", "2026-11-29T00:00"),
        ("what broke overnight?", "2026-11-28T18:00"),
    ],
)
async def test_what_broke_without_an_object_lists_failed_pipelines(question: str, start: str) -> None:
    p = await plan(question)
    assert p.family == "pipelines", p
    step = primary(p)[0]
    assert step["_tool"] == "list_pipelines" and step["results"] == ["FAILED", "ERROR"]
    assert step["since"] == Z(start)


@pytest.mark.parametrize(
    "question",
    [
        "checkout errors since 14:05 UTC",
        "outage on checkout started around 14:05, what changed before?",
        "payments is throwing 500s since 10:00 Europe/Berlin",
        "what broke the api at 2pm?",
        "intermittent 500s on checkout",
    ],
)
async def test_runtime_incidents_stay_runtime(question: str) -> None:
    p = await plan(question)
    assert p.family == "incident" and incident_of(p).kind == "runtime"
    assert {s.tool for s in p.steps} == {"list_deployments", "list_pull_requests", "list_pipelines"}


@pytest.mark.parametrize(
    ("question", "service"),
    [
        ("who broke the api-gateway main build this morning?", "api-gateway"),
        ("what broke main in checkout?", "checkout-service"),
        ("why is the data-pipeline PR for S3 export retries failing?", "data-pipeline"),
        ("why does the notification-service build fail?", "notification-service"),
        ("why are the payments builds still red?", "payments-service"),
        ("who broke the build?", None),
    ],
)
async def test_build_breakage_is_a_build_incident(question: str, service: str | None) -> None:
    p = await plan(question)
    assert p.family == "incident", p
    incident = p.focus.incident
    assert incident is not None
    assert incident.kind == "build" and incident.service == service and incident.symptom == question
    tools = {s.tool: s.args for s in p.steps}
    assert set(tools) == {"list_pipelines", "list_pull_requests"}
    assert all(s.primary and not s.depends_on for s in p.steps)
    assert tools["list_pipelines"]["results"] == ["FAILED", "ERROR"]
    assert tools["list_pull_requests"]["states"] == ["MERGED", "OPEN"]
    assert tools["list_pipelines"].get("repos") == ([service] if service else None)
    if incident.since is None:
        at = incident.at
        assert datetime.fromisoformat(tools["list_pipelines"]["since"]) == at - timedelta(hours=24)
        assert datetime.fromisoformat(tools["list_pull_requests"]["since"]) == at - timedelta(hours=72)


async def test_build_incident_window_and_time() -> None:
    p = await plan("who broke the api-gateway main build this morning?")
    assert p.focus.incident is not None
    assert p.focus.incident.at == datetime(2026, 11, 29, 12, tzinfo=UTC)
    assert p.focus.incident.since == datetime(2026, 11, 29, tzinfo=UTC)
    tools = {s.tool: s.args for s in p.steps}
    assert tools["list_pipelines"]["since"] == Z("2026-11-29T00:00")
    assert tools["list_pull_requests"]["since"] == Z(
        "2026-11-26T12:00"
    )  # the 72 hours before T reach further back
    # "red since 07:16": noticed then; the breaking run started before, so the window opens an hour earlier
    p = await plan("why is the api-gateway main build red since 07:16 UTC?")
    assert p.focus.incident is not None and p.focus.incident.kind == "build"
    assert p.focus.incident.since == datetime(2026, 11, 29, 6, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    ("question", "onset"),
    [
        ("checkout main went red at ~09:40 UTC, what broke it?", "2026-11-29T09:40"),
        ("the auth-service main build has been failing since about 14:05", "2026-11-29T14:05"),
        ("who broke payments-service main? it's been red since approx 11:20 utc", "2026-11-29T11:20"),
        ("api-gateway main build broke around 6am", "2026-11-29T06:00"),
    ],
)
async def test_an_approximate_build_onset_looks_back_before_it(question: str, onset: str) -> None:
    # an onset is when someone noticed, often roughly: the run that broke the build started before it
    p = await plan(question, mode="investigate")
    assert p.focus.incident is not None and p.focus.incident.kind == "build", p
    expected = datetime.fromisoformat(Z(onset)) - timedelta(hours=1)
    assert p.focus.incident.since == expected
    tools = {s.tool: s.args for s in p.steps}
    assert datetime.fromisoformat(tools["list_pipelines"]["since"]) == expected


@pytest.mark.parametrize(
    ("question", "service", "since"),
    [
        (
            "checkout-service integration tests keep failing randomly on feature branches this week - "
            "which runs?",
            "checkout-service",
            "2026-11-23T00:00",
        ),
        ("flaky tests in payments", "payments-service", "2026-11-22T15:30"),
        ("tests keep failing randomly", None, "2026-11-22T15:30"),
        (
            "we see intermittent failures in the auth pipeline since monday",
            "auth-service",
            "2026-11-23T00:00",
        ),
    ],
)
async def test_flaky_tests_are_a_flaky_incident(question: str, service: str | None, since: str) -> None:
    p = await plan(question)
    assert p.family == "incident" and incident_of(p).kind == "flaky" and incident_of(p).service == service
    (step,) = p.steps
    assert step.tool == "list_pipelines" and step.primary and step.args["results"] == ["FAILED", "ERROR"]
    assert step.args["since"] == Z(since) and step.args.get("repos") == ([service] if service else None)


@pytest.mark.parametrize(
    ("symptom", "kind"),
    [
        ("api-gateway main build has been red since 07:16 UTC", "build"),
        ("notification-service builds fail at npm ci since the dependency bot PR", "build"),
        ("checkout-service integration tests keep failing randomly on feature branches", "flaky"),
        ("checkout requests failing with payment timeouts (HTTP 504) since 13:05 UTC", "runtime"),
        ("checkout is slow", "runtime"),
    ],
)
async def test_investigate_sets_the_kind_from_the_symptom(symptom: str, kind: str) -> None:
    at = datetime(2026, 11, 29, 11, 0, tzinfo=UTC)
    p = await plan(symptom, mode="investigate", incident_at=at)
    assert p.family == "incident" and p.focus.incident is not None
    assert p.focus.incident.kind == kind and p.focus.incident.at == at


@pytest.mark.parametrize(
    "question",
    [
        "what pipelines failed in the last 24 hours?",
        "what failed in the last 24 hours?",
        "why did build 412 fail in checkout",
        "any red builds on main in checkout since 9am PST?",
        "failed builds",
    ],
)
async def test_failure_listings_are_not_incidents(question: str) -> None:
    assert (await plan(question)).family == "pipelines"


@pytest.mark.parametrize(
    ("question", "cutoff"),
    [
        ("which branches haven't been touched in 14 days?", "2026-11-15T15:30"),
        ("branches nobody has pushed to in 2 weeks", "2026-11-15T15:30"),
        ("branches that have not been updated in the last 30 days", "2026-10-30T15:30"),
        ("idle branches in checkout", "2026-10-30T15:30"),
        # a stated inactivity period written with "a/an" sets the cutoff, never the 30-day default
        ("release branches nobody pushed to for a week", "2026-11-22T15:30"),
        ("feature branches in auth idle for over a month", "2026-10-29T15:30"),
        ("which hotfix branches have had no activity in a fortnight?", "2026-11-15T15:30"),
        ("branches not updated within a day", "2026-11-28T15:30"),
    ],
)
async def test_stale_branch_phrasings(question: str, cutoff: str) -> None:
    p = await plan(question)
    (step,) = primary(p)
    assert p.family == "branches" and step["stale_before"] == Z(cutoff) and "since" not in step
    assert step["limit"] >= 200  # every stale branch, not the first 50


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("repos with service in the name", "service"),
        ("which repositories have 'pay' in their name?", "pay"),
        ("repositories whose name contains data", "data"),
        ("list repos matching auth", "auth"),
    ],
)
async def test_repository_name_filter(question: str, name: str) -> None:
    p = await plan(question)
    assert p.family == "repositories" and not p.not_understood
    assert primary(p)[0]["name_contains"] == name


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("what failed in billing-service yesterday?", "billing-service"),
        ("open pull requests in the ledger repo", "ledger repo"),
        ("deploys of login-service this week", "login-service"),
    ],
)
async def test_unknown_repository_is_not_answered_for_a_lookalike(question: str, phrase: str) -> None:
    p = await plan(question)
    assert p.family == "unknown" and p.steps == []
    assert any(
        line.startswith(f"no repository matches '{phrase}' (closest: ") for line in p.not_understood
    ), p.not_understood


@pytest.mark.parametrize(
    "question", ["is it broken?", "did that fail?", "is this one ok?", "what happened to it"]
)
async def test_no_subject_asks_instead_of_guessing(question: str) -> None:
    p = await plan(question)
    assert p.steps == [] and p.family == "unknown"
    assert any("Which one do you mean?" in line for line in p.not_understood)


async def test_subject_named_is_answered() -> None:
    assert (await plan("is the checkout build broken?")).steps


@pytest.mark.parametrize(
    ("question", "definitions"),
    [
        ("where is calculate_tax defined?", True),
        ("where's the definition of PaymentGatewayClient", True),
        ("find the implementation of refund_payment in payments", True),
        ("find usages of PaymentGatewayClient in payments", False),
        ("who calls refund_payment?", False),
        ("which files mention client_timeout_ms?", False),
    ],
)
async def test_definitions_only_for_where_defined(question: str, definitions: bool) -> None:
    p = await plan(question)
    step = primary(p)[0]
    assert step["_tool"] == "search_code" and bool(step.get("definitions_only")) == definitions


@pytest.mark.parametrize(
    "question",
    [
        "can you pull up the payments client source (src/checkout/payments_client.py) from checkout-service "
        "for me?",
        "display src/checkout/payments_client.py in checkout-service",
        "what's in src/checkout/payments_client.py in checkout-service?",
    ],
)
async def test_show_file_browses_exactly_that_path(question: str) -> None:
    p = await plan(question)
    assert [(s.tool, s.args) for s in p.steps] == [
        ("browse_source", {"repo": "checkout-service", "path": "src/checkout/payments_client.py"})
    ]


@pytest.mark.parametrize(
    ("question", "tool", "args"),
    [
        (
            "show me PR #999 in checkout-service",
            "get_pull_request",
            {"repo": "checkout-service", "pr_id": 999},
        ),
        (
            "why did pipeline #5000 in payments-service fail?",
            "pipeline_failure",
            {"repo": "payments-service", "build_number": 5000},
        ),
        ("build 5000 in payments", "get_pipeline", {"repo": "payments-service", "build_number": 5000}),
    ],
)
async def test_numbered_objects_use_the_single_object_tools(
    question: str, tool: str, args: dict[str, Any]
) -> None:
    (step,) = (await plan(question)).steps
    assert step.tool == tool and step.primary and {k: step.args[k] for k in args} == args


# --- follow-ups


def _prs_turn(question: str = "open PRs", state: str = "OPEN") -> PriorTurn:
    first = build_plan(PlanRequest.read(question, NOW, repositories=REPOS))
    records = [
        {
            "kind": "pull_request",
            "ref": f"pr:{repo}#{n}",
            "repo": repo,
            "url": "",
            "title": "",
            "id": n,
            "state": st,
            "author": who,
            "destination_branch": "main",
            "source_branch": "feature/x",
            "approved_by": [],
            "updated_on": "2026-11-29T10:00:00Z",
            "created_on": "2026-11-28T10:00:00Z",
        }
        for repo, n, st, who in [
            ("checkout-service", 67, state, "Raj Patel"),
            ("auth-service", 39, state, "Renovate Bot"),
            ("data-pipeline", 35, state, "Hannah Müller"),
        ]
    ]
    return PriorTurn(question=question, plan=first, primary=records)


@pytest.mark.parametrize(
    "question",
    [
        "which of them still need a review?",
        "which of those are waiting for approval?",
        "only the ones nobody has approved yet",
    ],
)
async def test_follow_up_awaiting_review_refetches_approvals(question: str) -> None:
    p = await plan(question, previous=_prs_turn())
    assert p.family == "follow_up" and p.focus.filter == RecordFilter(awaiting_review=True)
    assert p.focus.within == ["pr:checkout-service#67", "pr:auth-service#39", "pr:data-pipeline#35"]
    (step,) = p.steps
    assert step.tool == "list_pull_requests" and step.primary and step.args["awaiting_review"] is True
    assert step.args["repos"] == ["auth-service", "checkout-service", "data-pipeline"]


async def test_follow_up_repository_filter_matches_records() -> None:
    from bbscout.agent.reporters.rules import matches_filter

    prev = _prs_turn("PRs merged in the last 24 hours", "MERGED")
    p = await plan("which of those were merged into checkout-service?", previous=prev)
    assert p.family == "follow_up" and p.steps == []
    assert p.focus.filter is not None
    kept = [r.ref for r in prev.primary if matches_filter(r, p.focus.filter)]
    assert kept == ["pr:checkout-service#67"]
    assert matches_filter(prev.primary[1], RecordFilter(author="renovate")) and not matches_filter(
        prev.primary[1], RecordFilter(states=["OPEN"])
    )
    assert not matches_filter(prev.primary[1], RecordFilter(since=datetime(2026, 11, 29, 11, tzinfo=UTC)))


async def test_follow_up_what_changed_in_a_deployment() -> None:
    first = build_plan(
        PlanRequest.read("latest production deployment of checkout-service", NOW, repositories=REPOS)
    )
    dep = {
        "kind": "deployment",
        "ref": "deployment:checkout-service:{d1}",
        "repo": "checkout-service",
        "url": "",
        "title": "",
        "uuid": "{d1}",
        "environment": "Production",
        "state": "COMPLETED",
        "release": "#330",
    }
    for question in ("what changed in it?", "what did it ship?", "what's in that deployment?"):
        p = await plan(
            question,
            previous=PriorTurn(
                question="latest production deployment of checkout-service", plan=first, primary=[dep]
            ),
        )
        (step,) = p.steps
        assert step.tool == "deployment_changes" and step.primary, question
        assert step.args == {
            "repo": "checkout-service",
            "deployment_uuid": "{d1}",
        }  # environment: production (default)


async def test_follow_up_repo_switch_replans_the_question_not_its_objects() -> None:
    """The previous plan may hold build numbers of the old repository (failure details): never reuse them."""
    first = build_plan(
        PlanRequest.read("what failed in mobile-app in the last 2 days?", NOW, repositories=REPOS)
    )
    first = first.model_copy(
        update={
            "steps": [
                *first.steps,
                Step(id="pf", tool="pipeline_failure", args={"repo": "mobile-app", "build_number": 186}),
            ]
        }
    )
    prev = PriorTurn(question="what failed in mobile-app in the last 2 days?", plan=first, primary=[])
    p = await plan("and in notification-service?", previous=prev)
    assert [(s.tool, s.args.get("repos"), s.args["since"]) for s in p.steps] == [
        ("list_pipelines", ["notification-service"], Z("2026-11-27T15:30"))
    ]
    assert p.family == "pipelines" and p.focus.results == ["FAILED", "ERROR"]


@pytest.mark.parametrize(
    "question",
    [
        "is there anything sitting in the review queue that nobody has approved yet?",
        "anything that failed?",
        "stuff that broke today",
    ],
)
async def test_relative_that_is_not_a_missing_subject(question: str) -> None:
    assert (await plan(question)).steps


# --- generalisation: how engineers actually type (paraphrases, not the held-out sentences) -------------


def _first_primary(p: Plan) -> dict[str, Any]:
    prim = primary(p)
    assert prim, p
    return prim[0]


@pytest.mark.parametrize(
    "question",
    [
        "did anything break overnight?",
        "which builds broke on main today",
        "did the ci break in payments yesterday?",
        "has anything gone red since 9am?",
    ],
)
async def test_break_and_red_mean_failed_pipelines(question: str) -> None:
    p = await plan(question)
    assert p.family == "pipelines", p
    assert _first_primary(p)["results"] == ["FAILED", "ERROR"]


@pytest.mark.parametrize(
    "question",
    [
        "pipelines with an ERROR result (an infra hiccup, not a real failure) this week",
        "builds that errored out this week, not the test failures",
        "list errored pipelines from the last 3 days - infra issue not a unit test failure",
    ],
)
async def test_error_not_failure_and_common_words_are_not_repositories(question: str) -> None:
    p = await plan(question)
    assert p.family == "pipelines", p
    step = _first_primary(p)
    assert step["results"] == ["ERROR"]
    assert "repos" not in step, step  # "infra issue" is an ordinary word, not infra-terraform


@pytest.mark.parametrize(
    ("question", "repo"),
    [
        ("failed builds in infra", "infra-terraform"),
        ("infra builds that failed", "infra-terraform"),
        ("is checkout throwing errors in prod?", "checkout-service"),
        ("payments prs merged this week", "payments-service"),
    ],
)
async def test_bare_repository_words_in_a_name_position_still_resolve(question: str, repo: str) -> None:
    p = await plan(question)
    assert p.repos == [repo], p


@pytest.mark.parametrize(
    ("question", "repo", "branch"),
    [
        ("did the fix/retry-logic branch go red in payments?", "payments-service", "fix/retry-logic"),
        ("has hotfix/login-timeout failed in auth-service", "auth-service", "hotfix/login-timeout"),
        (
            "any failures on the bugfix/cart-total branch of checkout?",
            "checkout-service",
            "bugfix/cart-total",
        ),
    ],
)
async def test_failing_on_a_branch_is_a_pipelines_question(question: str, repo: str, branch: str) -> None:
    p = await plan(question)
    assert p.family == "pipelines", p
    step = _first_primary(p)
    assert step["_tool"] == "list_pipelines" and step["branch"] == branch and step["repos"] == [repo]
    assert step["results"] == ["FAILED", "ERROR"]
    assert "since" not in step  # a work branch: its whole history, bounded by the limit


@pytest.mark.parametrize(
    ("question", "author"),
    [
        ("PRs from dependabot that are still open", "dependabot"),
        ("open pull requests from renovate-bot", "renovate-bot"),
        ("any open prs from Priya?", "Priya"),
    ],
)
async def test_from_name_is_an_author_filter(question: str, author: str) -> None:
    p = await plan(question)
    assert p.family == "pull_requests", p
    assert _first_primary(p)["author"] == author


async def test_from_a_branch_is_not_an_author() -> None:
    p = await plan("open PRs from renovate/lodash-4.x")
    assert "author" not in _first_primary(p)


@pytest.mark.parametrize(
    ("question", "repo"),
    [
        ("is anything in payments waiting for review?", "payments-service"),
        ("what in api-gateway still needs a reviewer", "api-gateway"),
        ("stuff in auth-service waiting on reviewers", "auth-service"),
    ],
)
async def test_awaiting_review_without_the_word_pr(question: str, repo: str) -> None:
    p = await plan(question)
    assert p.family == "pull_requests", p
    step = _first_primary(p)
    assert step["awaiting_review"] is True and step["repos"] == [repo]


@pytest.mark.parametrize(
    ("question", "repo", "states"),
    [
        ("merged pull requests in checkout-service", "checkout-service", ["MERGED"]),
        ("list the declined PRs for payments", "payments-service", ["DECLINED"]),
        ("rejected merge requests in auth-service", "auth-service", ["DECLINED"]),
    ],
)
async def test_explicit_state_in_a_named_repository_invents_no_window(
    question: str, repo: str, states: list[str]
) -> None:
    p = await plan(question)
    step = _first_primary(p)
    assert step["states"] == states and step["repos"] == [repo]
    assert "since" not in step and p.window is None


async def test_explicit_state_across_all_repositories_keeps_the_default_window() -> None:
    p = await plan("declined pull requests")
    assert p.window is not None and "since" in _first_primary(p)


@pytest.mark.parametrize(
    ("question", "repo"),
    [
        ("commits on chekout-service main today", "checkout-service"),
        ("what went into auth-servce main yesterday", "auth-service"),
        ("comits on notifcation-service main today", "notification-service"),
    ],
)
async def test_misspelt_slug_is_fuzzy_matched(question: str, repo: str) -> None:
    p = await plan(question)
    assert p.family == "commits", p
    assert [s.args["repo"] for s in p.steps] == [repo]


@pytest.mark.parametrize(
    "question", ["commits on billing-servce main yesterday", "failed builds in ledger-svc today"]
)
async def test_unknown_slug_is_reported_never_widened(question: str) -> None:
    p = await plan(question)
    assert not p.steps
    assert any("no repository matches" in x for x in p.not_understood), p


@pytest.mark.parametrize(
    ("question", "repo", "branch"),
    [
        ("what landed on main in shared-libs today?", "shared-libs", "main"),
        ("anything land on checkout-service main since yesterday?", "checkout-service", "main"),
        ("what's been pushed to mobile-app master this week", "mobile-app", "master"),
    ],
)
async def test_landed_on_a_branch_is_every_commit(question: str, repo: str, branch: str) -> None:
    p = await plan(question)
    assert p.family == "commits", p
    step = _first_primary(p)
    assert step["repo"] == repo and step["branch"] == branch and "merges_only" not in step


async def test_merge_commits_still_mean_merges_only() -> None:
    p = await plan("which merge commits went into checkout main today?")
    assert _first_primary(p)["merges_only"] is True


@pytest.mark.parametrize(
    ("question", "repo", "env"),
    [
        ("what's live on staging for checkout?", "checkout-service", "staging"),
        ("which version is running in production for payments", "payments-service", "production"),
        ("what is running on prod in api-gateway", "api-gateway", "production"),
        # the repository named between the preposition and the environment (heldout 5)
        ("which sha is running in payments prod right now?", "payments-service", "production"),
        ("what commit is live on checkout staging", "checkout-service", "staging"),
        ("which release is running in the api-gateway production env?", "api-gateway", "production"),
    ],
)
async def test_running_in_an_environment_is_the_live_deployment(question: str, repo: str, env: str) -> None:
    p = await plan(question)
    assert p.family == "deployments", p
    step = _first_primary(p)
    assert step["_tool"] == "list_deployments" and step["current"] is True
    assert "statuses" not in step  # "running" there is what is live, never the IN_PROGRESS state
    assert step["repos"] == [repo] and step["environment"] == env


@pytest.mark.parametrize(
    ("question", "statuses"),
    [
        ("did any deployments fail yesterday?", ["FAILED"]),
        ("failed prod deploys this week", ["FAILED"]),
        ("successful releases to staging since monday", ["SUCCESSFUL"]),
        ("which deploys were cancelled today", ["STOPPED"]),
    ],
)
async def test_deployment_outcome_filter(question: str, statuses: list[str]) -> None:
    p = await plan(question)
    assert p.family == "deployments", p
    assert _first_primary(p)["statuses"] == statuses and p.focus.statuses == statuses


async def test_deployments_without_an_outcome_word_are_not_filtered() -> None:
    p = await plan("prod deploys this week")
    assert "statuses" not in _first_primary(p) and not p.focus.statuses


@pytest.mark.parametrize(
    "question",
    [
        "have we rolled anything back lately?",
        "did anyone roll the payments release back?",
        "any rollbacks in staging this week?",
    ],
)
async def test_rollbacks_with_or_without_a_repository(question: str) -> None:
    p = await plan(question)
    assert p.family == "deployments", p
    assert p.focus.rollbacks is True
    assert "statuses" not in _first_primary(p)


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("is there a repo for notifications?", "notification"),
        ("do we have any mobile repos?", "mobile"),
        ("do we have a payments repository?", "payments"),
        ("have we got a terraform repo", "terraform"),
    ],
)
async def test_yes_no_repository_questions_list_matching_repositories(question: str, name: str) -> None:
    p = await plan(question)
    assert p.family == "repositories", p
    assert _first_primary(p) == {"_tool": "list_repositories", "name_contains": name}


@pytest.mark.parametrize(
    ("question", "service", "at"),
    [
        (
            "api-gateway returning 502s since about 9am, what changed?",
            "api-gateway",
            "2026-11-29T09:00:00+00:00",
        ),
        (
            "payments is throwing 503 errors, started around 14:00 UTC",
            "payments-service",
            "2026-11-29T14:00:00+00:00",
        ),
        ("auth in prod has been timing out since 11am", "auth-service", "2026-11-29T11:00:00+00:00"),
    ],
)
async def test_symptoms_with_a_service_are_runtime_incidents(question: str, service: str, at: str) -> None:
    p = await plan(question)
    assert p.family == "incident", p
    assert incident_of(p).kind == "runtime" and incident_of(p).service == service
    assert incident_of(p).at == datetime.fromisoformat(at)
    assert {s.tool for s in p.steps} == {"list_deployments", "list_pull_requests", "list_pipelines"}


async def test_symptom_onset_in_another_zone() -> None:
    p = await plan("web-frontend is throwing 500s - started around 6am eastern")
    assert p.family == "incident" and incident_of(p).at == datetime(2026, 11, 29, 11, tzinfo=UTC), p


@pytest.mark.parametrize(
    ("question", "service"),
    [
        ("who made the checkout build red?", "checkout-service"),
        ("what turned main red in payments?", "payments-service"),
        ("which commit turned the auth-service pipeline red", "auth-service"),
    ],
)
async def test_turned_red_is_a_build_incident(question: str, service: str) -> None:
    p = await plan(question)
    assert p.family == "incident" and incident_of(p).kind == "build" and incident_of(p).service == service, p
    tools = [s.tool for s in p.steps]
    assert tools == ["list_pipelines", "list_pull_requests"]
    assert "until" not in p.steps[0].args


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("any idea why the payments pipeline is borked?", "build"),
        ("checkout-service builds are busted, what's wrong with them?", "build"),
        ("what's wrong with checkout in prod? customers see errors", "runtime"),
    ],
)
async def test_root_cause_phrasings_are_incidents(question: str, kind: str) -> None:
    p = await plan(question)
    assert p.family == "incident" and incident_of(p).kind == kind, p


@pytest.mark.parametrize(
    ("question", "service", "test"),
    [
        ("test_refund_flow is flaky in payments-service", "payments-service", "test_refund_flow"),
        ("TestLoginRedirect keeps flaking on auth-service", "auth-service", "TestLoginRedirect"),
        ("checkout builds intermittently fail", "checkout-service", None),
    ],
)
async def test_flaky_phrasings_are_flaky_incidents_with_a_week(
    question: str, service: str, test: str | None
) -> None:
    p = await plan(question)
    assert p.family == "incident" and incident_of(p).kind == "flaky" and incident_of(p).service == service, p
    assert incident_of(p).test == test
    step = _first_primary(p)
    assert step["_tool"] == "list_pipelines" and step["repos"] == [service]
    assert step["since"] == "2026-11-22T15:30:00Z"


@pytest.mark.parametrize(
    "question",
    [
        "who deployed auth-service to prod?",
        "what was merged into main in checkout today?",
        "which builds were rerun today?",
    ],
)
async def test_questions_about_writes_are_answered(question: str) -> None:
    p = await plan(question)
    assert p.family != "unknown" and p.steps, p


@pytest.mark.parametrize(
    "question",
    [
        "when did the release go out?",
        "why did the pipeline fail?",
        "who approved the PR?",
        "what did the deployment ship?",
    ],
)
async def test_definite_single_thing_without_a_repository_asks_which(question: str) -> None:
    p = await plan(question)
    assert p.clarify and not p.steps, p
    assert "checkout-service" in p.clarify[0]


@pytest.mark.parametrize(
    "question",
    [
        "why did the checkout build fail?",
        "when did the deploy to prod of payments go out?",
        "why did build 412 fail in checkout",
        "who broke the build?",
    ],
)
async def test_definite_single_thing_that_is_named_is_answered(question: str) -> None:
    p = await plan(question)
    assert not p.clarify and p.steps, p


# --- held-out-2 generalisation: paraphrases, never the eval sentences -------------------------------


@pytest.mark.parametrize(
    ("question", "env", "repo"),
    [
        ("what PRs shipped with the last payments-service staging release?", "staging", "payments-service"),
        ("commits included in the most recent web-frontend deploy", "production", "web-frontend"),
        ("which changes were in that checkout-service prod rollout?", "production", "checkout-service"),
    ],
)
async def test_what_a_deploy_shipped_is_its_change_set(question: str, env: str, repo: str) -> None:
    p = await plan(question)
    assert p.family == "deployments" and primary(p) == [
        {"_tool": "deployment_changes", "repo": repo, **({"environment": env} if env != "production" else {})}
    ]


@pytest.mark.parametrize(
    ("question", "statuses"),
    [
        ("deployment failures this week", ["FAILED"]),
        ("deploys that failed since monday?", ["FAILED"]),
        ("deploy history for auth-service?", None),
    ],
)
async def test_deploy_nouns_are_questions_not_writes(question: str, statuses: list[str] | None) -> None:
    p = await plan(question)
    assert p.family == "deployments" and not p.not_understood, p.not_understood
    assert primary(p)[0]["_tool"] == "list_deployments" and primary(p)[0].get("statuses") == statuses


@pytest.mark.parametrize(
    ("question", "env", "repo"),
    [
        ("who deployed checkout-service to prod last?", "production", "checkout-service"),
        ("who released payments-service to production most recently?", "production", "payments-service"),
    ],
)
async def test_who_shipped_most_recently_is_the_newest_only(question: str, env: str, repo: str) -> None:
    p = await plan(question)
    step = primary(p)[0]
    assert step["_tool"] == "list_deployments" and step["pick"] == "newest" and step["environment"] == env
    assert step["repos"] == [repo] and "since" not in step


@pytest.mark.parametrize(
    ("question", "repo", "dest"),
    [
        ("what's still open into develop in checkout-service?", "checkout-service", "develop"),
        ("anything pending against master for auth-service?", "auth-service", "main"),
        ("is something open targeting main in web-frontend", "web-frontend", "main"),
    ],
)
async def test_open_against_a_branch_is_open_prs(question: str, repo: str, dest: str) -> None:
    p = await plan(question)
    step = primary(p)[0]
    assert p.family == "pull_requests" and step["_tool"] == "list_pull_requests"
    assert (
        step["repos"] == [repo]
        and step["destination_branch"] == dest
        and step.get("states", ["OPEN"]) == ["OPEN"]
    )


async def test_possessive_author_and_local_weekday_window() -> None:
    p = await plan("did any of Priya's get merged since tuesday?", tz="America/Los_Angeles")
    step = primary(p)[0]
    assert step["author"] == "Priya" and step["states"] == ["MERGED"]
    assert step["since"] == "2026-11-24T08:00:00Z"  # Tuesday 00:00 in Los Angeles (PST, UTC-8)


@pytest.mark.parametrize(
    "question", ["what's in flight right now?", "is anything still queued or building in mobile-app?"]
)
async def test_building_and_queued_are_running_pipelines(question: str) -> None:
    p = await plan(question)
    assert p.family == "pipelines" and primary(p)[0]["in_progress"] is True


@pytest.mark.parametrize(
    "question",
    [
        "how's our p95 looking for payments today",
        "what is the error rate of auth-service?",
        "show me the cpu usage of the api gateway",
        "current rps on web-frontend?",
        # a value over a time, asked tersely (heldout 5): still no incident to investigate
        "latency on checkout since 10am?",
        "payments error rate today?",
        "how has the p99 of auth been since the 9:00 deploy",
    ],
)
async def test_metric_values_are_unknown_with_a_what_changed_hint(question: str) -> None:
    p = await plan(question)
    assert p.family == "unknown" and p.steps == []
    assert "no metrics" in p.not_understood[0] and "what changed" in p.not_understood[0]


async def test_metric_symptom_is_still_an_incident() -> None:
    p = await plan("payments p95 latency spiked since 10:30, what changed?")
    assert p.family == "incident" and p.repos == ["payments-service"]


async def test_http_phrase_is_no_suspect_repository() -> None:
    p = await plan("users see 503 service unavailable on payments since 9am, what changed?")
    assert p.family == "incident" and p.repos == ["payments-service"]
    p = await plan("bad gateway responses from web-frontend since 07:00 - what went out?")
    assert p.family == "incident" and p.repos == ["web-frontend"]


@pytest.mark.parametrize(
    "question", ["is the build green yet?", "are the pipelines red?", "did the tests pass this time?"]
)
async def test_status_question_without_subject_asks_which(question: str) -> None:
    p = await plan(question)
    assert p.steps == [] and p.clarify, p


@pytest.mark.parametrize(
    "question",
    ["are any builds failing?", "did anything fail?", "is the build green on main in auth-service?"],
)
async def test_quantified_or_named_status_questions_are_answered(question: str) -> None:
    assert (await plan(question)).steps


async def test_a_follow_up_on_a_person_says_it_cannot_look_closer() -> None:
    first = build_plan(PlanRequest.read("who are the workspace members?", NOW, repositories=REPOS))
    person = PersonRecord(
        ref="person:{u1}", repo="", url="https://bitbucket.org/{u1}/", title="Priya Natarajan", name="Priya"
    )
    p = await plan(
        "tell me more about the first one", previous=PriorTurn(question="q", plan=first, primary=[person])
    )
    assert p.family == "unknown" and p.steps == []
    assert p.not_understood[0] == "don't know how to look closer at a person (Priya)"


# --- held-out-4 generalisation: root causes, in phrasings other than the eval sentences ------------------


@pytest.mark.parametrize(
    ("question", "family", "step"),
    [
        (
            "builds of the dependabot lodash branch in web-frontend",
            "pipelines",
            {"_tool": "list_pipelines", "repos": ["web-frontend"], "branch_like": ["dependabot", "lodash"]},
        ),
        (
            "why did the release pipeline for auth fail today?",
            "pipelines",
            {
                "_tool": "list_pipelines",
                "repos": ["auth-service"],
                "results": ["FAILED", "ERROR"],
                "since": "2026-11-29T00:00:00Z",
                "until": "2026-11-29T15:30:00Z",
            },
        ),
        (
            "how many of Priya's PRs got merged into checkout in October?",
            "pull_requests",
            {
                "_tool": "list_pull_requests",
                "repos": ["checkout-service"],
                "states": ["MERGED"],
                "author": "Priya",
                "since": "2026-10-01T00:00:00Z",
                "until": "2026-11-01T00:00:00Z",
                "limit": 200,
            },
        ),
        (
            "open PRs in checkout that belong to sprint 9",
            "pull_requests",
            {"_tool": "list_pull_requests", "repos": ["checkout-service"], "limit": 200},
        ),
        (
            "has payments-service made it to staging yet?",
            "deployments",
            {
                "_tool": "list_deployments",
                "repos": ["payments-service"],
                "environment": "staging",
                "current": True,
            },
        ),
        (
            "what does the payments' production config set the timeout to?",
            "code",
            {"_tool": "browse_source", "repo": "payments-service", "find": ["production", "config"]},
        ),
    ],
)
async def test_heldout_4_root_causes_plan(question: str, family: str, step: dict[str, Any]) -> None:
    p = await plan(question)
    assert p.family == family and primary(p)[0] == step, (p.family, primary(p), p.not_understood)


async def test_a_ci_subject_then_who_broke_it_is_a_build_incident() -> None:
    p = await plan("checkout main turned red this morning — which commit broke it?")
    assert p.family == "incident" and incident_of(p).kind == "build"
    assert incident_of(p).service == "checkout-service"


async def test_a_described_file_with_no_repository_asks_which() -> None:
    p = await plan("show me the staging config")
    assert p.family == "code" and not p.steps and p.clarify and "staging config" in p.clarify[0]


@pytest.mark.parametrize(
    ("question", "repo", "branch", "results"),
    [
        ("when did web frontend develop last go red?", "web-frontend", "develop", ["FAILED", "ERROR"]),
        ("when was the last time checkout's main broke", "checkout-service", "main", ["FAILED", "ERROR"]),
        ("when did auth develop last go green", "auth-service", "develop", ["SUCCESSFUL"]),
        ("api-gateway main: when did it last break?", "api-gateway", "main", ["FAILED", "ERROR"]),
    ],
)
async def test_when_did_a_branch_last_fail_is_one_run(
    question: str, repo: str, branch: str, results: list[str]
) -> None:
    p = await plan(question)
    assert p.family == "pipelines", p
    step = _first_primary(p)
    assert step["_tool"] == "list_pipelines" and step["pick"] == "newest"
    assert step["repos"] == [repo] and step["branch"] == branch and step["results"] == results
    assert "since" not in step  # the last failure ever, not the failures of a default window
