"""The bounded failure-detail policy: listing questions stay near the listing's cost, the most relevant
failures are summarised first, the rest are offered by name, and a spent hour drops them with a gap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from bbscout.agent.frugality import Allowance, select_failures
from bbscout.agent.plan import Plan, Step, StepOutcome
from bbscout.agent.runtime import open_session
from bbscout.agent.settings import Settings
from bbscout.evals.case import OracleQuery
from bbscout.evals.oracle import answer
from bbscout.sandbox.app import SandboxSettings, create_app
from bbscout.sandbox.world import build_world
from bbscout.tools.bitbucket import BasicAuth, BitbucketClient

ANCHOR = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
NOW = ANCHOR + timedelta(minutes=20)


def pipeline(
    repo: str, build: int, hours_ago: float, branch: str = "feature/x", **extra: Any
) -> dict[str, Any]:
    return {
        "kind": "pipeline",
        "ref": f"pipeline:{repo}#{build}",
        "url": f"https://bitbucket.org/acme/{repo}/pipelines/results/{build}",
        "title": f"Pipeline #{build} FAILED",
        "state": "COMPLETED",
        "repo": repo,
        "build_number": build,
        "uuid": f"{{uuid-{repo}-{build}}}",
        "result": "FAILED",
        "branch": branch,
        "created_on": (NOW - timedelta(hours=hours_ago)).isoformat(),
        **extra,
    }


def listing(records: list[dict[str, Any]], requests: int) -> tuple[Plan, list[StepOutcome]]:
    plan = Plan(
        family="pipelines",
        intent="failed pipelines",
        steps=[Step(id="s1", tool="list_pipelines", args={"results": ["FAILED", "ERROR"]}, primary=True)],
        focus={"results": ["FAILED", "ERROR"]},
    )
    return plan, [StepOutcome(step_id="s1", tool="list_pipelines", records=records, requests=requests)]


def test_summaries_cost_at_most_a_fifth_of_the_listing_most_relevant_first() -> None:
    records = [pipeline("svc", n, hours_ago=n) for n in range(1, 13)]
    records.append(pipeline("api", 99, hours_ago=20, branch="trunk"))
    records.append(pipeline("web", 98, hours_ago=21, custom="deploy-to-production"))
    plan, outcomes = listing(records, requests=41)
    chosen = select_failures(plan, outcomes, Allowance(main_branches={"api": "trunk"}))
    full = [args for _, args, _ in chosen.calls if args.get("log", True)]
    step_only = [args for _, args, _ in chosen.calls if args.get("log") is False]
    assert 3 * len(full) + len(step_only) <= 41 // 5
    order = [(a["repo"], a["build_number"]) for _, a, _ in chosen.calls]
    assert order[:2] == [("api", 99), ("web", 98)]  # main branch and production deploys before newer runs
    assert order[2] == ("svc", 1)  # then the newest
    assert all(a["uuid"] and a["tests"] is False for _, a, _ in chosen.calls)  # no lookup, no test reports
    offered = chosen.gaps[0]
    assert f"{len(records) - len(order)} more failed pipeline" in offered
    assert "Ask e.g. “why did svc #" in offered  # never omitted silently


def test_a_small_listing_gets_a_step_only_summary_and_offers_the_rest() -> None:
    plan, outcomes = listing([pipeline("svc", n, hours_ago=n) for n in (1, 2, 3)], requests=11)
    chosen = select_failures(plan, outcomes, Allowance())
    assert [a["build_number"] for _, a, _ in chosen.calls] == [1, 2]
    assert all(a["log"] is False for _, a, _ in chosen.calls)  # 11 // 5 = 2 requests: the step lists only
    assert "svc #3" in chosen.gaps[0]


def test_a_listing_served_by_a_cache_or_another_process_earns_the_same_summaries() -> None:
    """The allowance is what the listing needed, not what this process paid: a replica whose listing
    came from another's identical request in flight (or from the cache) reads the same failures."""
    records = [pipeline("svc", n, hours_ago=n) for n in (1, 2, 3)]
    plan, paid = listing(records, requests=11)
    served = [paid[0].model_copy(update={"requests": 0, "served": 11})]
    split = [paid[0].model_copy(update={"requests": 4, "served": 7})]
    calls = select_failures(plan, paid, Allowance()).calls
    assert calls and select_failures(plan, served, Allowance()).calls == calls
    assert select_failures(plan, split, Allowance()).calls == calls


def test_what_was_read_is_not_read_again_and_the_offer_is_stable() -> None:
    plan, outcomes = listing([pipeline("svc", n, hours_ago=n) for n in range(1, 8)], requests=41)
    first = select_failures(plan, outcomes, Allowance())
    done = [
        StepOutcome(step_id=f"r1.{i}", tool=tool, args=args, requests=3)
        for i, (tool, args, _) in enumerate(first.calls)
    ]
    second = select_failures(plan, outcomes + done, Allowance())
    assert second.calls == [] and second.gaps == first.gaps


def test_few_requests_left_this_hour_drops_the_summaries_and_says_so() -> None:
    plan, outcomes = listing([pipeline("svc", n, hours_ago=n) for n in (1, 2)], requests=41)
    chosen = select_failures(plan, outcomes, Allowance(hourly_remaining=30, hourly_limit=1000))
    assert chosen.calls == []
    assert "Only 30 Bitbucket requests are left this hour" in chosen.gaps[0] and "svc #1" in chosen.gaps[0]
    assert select_failures(plan, outcomes, Allowance(hourly_remaining=400)).calls  # plenty left: read


async def test_failed_last_24h_costs_at_most_a_fifth_more_than_the_floor() -> None:
    world = build_world("default", seed=7, anchor=ANCHOR)
    floor = answer(world, OracleQuery(kind="pipelines", results=["FAILED", "ERROR"], since="-24h"), NOW)
    token = world.token("demo")
    client = BitbucketClient(
        workspace="acme",
        auth=BasicAuth(token.email or "", SecretStr(token.secret)),
        base_url="http://sandbox.local/2.0",
        transport=httpx.ASGITransport(app=create_app(world, SandboxSettings())),
    )
    settings = Settings(workspace=None, api_token=None, access_token=None, openai_api_key=None)
    async with open_session(settings, planner="rules", now=NOW, client=client) as session:
        await session.check_access(None)
        result = await session.ask("What pipelines failed in the last 24 hours?", now=NOW)
    assert sorted(e["ref"] for e in result.document["entities"]) == sorted(floor.refs)
    assert client.stats.requests <= 1.2 * floor.min_requests
    assert result.report.findings, "at least the most relevant failure is explained"
    assert any("Ask e.g." in gap for gap in result.report.gaps)


async def test_two_identical_questions_at_the_same_moment_cost_one_set_of_requests(redis_url: str) -> None:
    """Two sessions with their own Redis connections (as two replicas would have) ask at once."""
    import asyncio

    from bbscout.tools.bitbucket._redis_store import RedisStore

    world = build_world("default", seed=7, anchor=ANCHOR)
    token = world.token("demo")
    settings = Settings(workspace=None, api_token=None, access_token=None, openai_api_key=None)

    async def ask_once(app: Any, store: Any) -> int:
        client = BitbucketClient(
            workspace="acme",
            auth=BasicAuth(token.email or "", SecretStr(token.secret)),
            base_url="http://sandbox.local/2.0",
            transport=httpx.ASGITransport(app=app),
            store=store,
        )
        async with open_session(settings, planner="rules", now=NOW, client=client) as session:
            await session.check_access(None)
            result = await session.ask("What pipelines failed in the last 24 hours?", now=NOW)
        assert result.document["entities"]
        return client.stats.requests

    alone = create_app(world, SandboxSettings())
    single = await ask_once(alone, None)
    together = create_app(world, SandboxSettings())
    stores = [RedisStore(redis_url), RedisStore(redis_url)]
    spent = await asyncio.gather(*(ask_once(together, store) for store in stores))
    for store in stores:
        await store.aclose()
    assert len(together.state.request_log) == single == sum(spent)  # one set between them
