"""The read-only help is right: checked against the world's ground truth (the eval oracle's reading of
the raw world data, never bbscout's), for single questions and chat follow-ups, at a bounded cost; the
refused run's exit code and `--json` field; what the turn leaves for the next one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from bbscout.agent.graph import RECURSION_LIMIT, build_graph
from bbscout.agent.readonly import REFUSED
from bbscout.agent.report import Report
from bbscout.agent.runtime import EXIT_GAPS, EXIT_OK, EXIT_REFUSED, RunResult, exit_code_for
from bbscout.evals.case import OracleQuery
from bbscout.evals.oracle import answer, attribute_values, related_refs
from bbscout.sandbox.world import World
from tests.readonly.conftest import NOW, Sessions, chat, first_line, says_refused


def refs(result: RunResult, kind: str | None = None) -> list[str]:
    return [e["ref"] for e in result.document["entities"] if kind is None or e["type"] == kind]


def oracle(world: World, **query: Any) -> list[str]:
    return answer(world, OracleQuery(**query), NOW).refs


def refused(result: RunResult) -> None:
    assert result.document["refused"] == REFUSED and result.exit_code == EXIT_REFUSED
    assert says_refused(result), first_line(result)


@pytest.mark.parametrize(
    ("question", "repo"),
    [
        ("please roll back payments-service in production", "payments-service"),
        ("could you roll checkout-service back to its previous release in production?", "checkout-service"),
        ("roll web-frontend prod back", "web-frontend"),
        ("let's roll back the api-gateway production deploy", "api-gateway"),
        ("auth-service needs to be rolled back", "auth-service"),
    ],
)
async def test_rollback_shows_the_live_release_and_the_previous_successful_one(
    question: str, repo: str, sessions: Sessions, world: World
) -> None:
    async with sessions() as session:
        [result] = await chat(session, [question])
    refused(result)
    live, previous = oracle(world, kind="rollback_target", repos=[repo], environment="production")
    assert refs(result) == [live, previous]
    deployments = {d["uuid"]: d for d in world.repos[repo].deployments}
    before = deployments[previous.split(":", 2)[2]]
    text = result.document["answer"]
    assert f"release “{before['release']['name']}”" in text
    assert f"/{repo}/pipelines/results/" in text and "Redeploy" in text  # the page to act from
    # repositories, environments, and the newest deployments (the first page, then the last: the API's
    # deployments listing ignores `sort`)
    assert result.document["stats"]["http_requests"] <= 4


@pytest.mark.parametrize(
    ("question", "of"),
    [
        ("could you rerun mobile-app pipeline #186?", None),
        ("re-run the failed build on api-gateway main", {"repos": ["api-gateway"], "branch": "main"}),
        (
            "we need to re-run the notification-service pipeline that failed on the renovate nestjs branch",
            {"repos": ["notification-service"], "branch": "renovate/nestjs-core-10.x"},
        ),
    ],
)
async def test_rerun_shows_the_failed_run_and_its_failing_step(
    question: str, of: dict[str, Any] | None, sessions: Sessions, world: World
) -> None:
    async with sessions() as session:
        [result] = await chat(session, [question])
    refused(result)
    expected = ["pipeline:mobile-app#186"]
    if of is not None:
        expected = oracle(world, kind="pipelines", results=["FAILED", "ERROR"], pick=1, **of)
    assert refs(result, "pipeline") == expected
    for step in attribute_values(world, expected[0], "failed_step"):
        assert f"“{step}”" in result.document["answer"]
    assert "Rerun" in result.document["answer"]


async def test_revert_shows_the_pr_and_its_merge_commit(sessions: Sessions, world: World) -> None:
    async with sessions() as session:
        [named] = await chat(session, ["revert PR 68 in checkout-service"])
        [described] = await chat(session, ["please revert the PR that broke the api-gateway main build"])
    refused(named)
    [merge] = related_refs(world, "pr:checkout-service#68", "merge_commit")
    assert refs(named) == ["pr:checkout-service#68", merge]
    assert f"git revert -m 1 {merge.rsplit('@', 1)[1]}" in named.document["answer"]
    refused(described)
    culprit = world.scenarios["broken_main_build"].culprit_ref
    assert culprit is not None
    assert refs(described, "pull_request") == [culprit]
    assert refs(described, "commit") == related_refs(world, culprit, "merge_commit")


async def test_follow_ups_bind_to_what_the_previous_answer_cited(sessions: Sessions, world: World) -> None:
    async with sessions() as session:
        _, rolled = await chat(session, ["what's live in production for auth-service?", "roll it back"])
        listed, retried = await chat(session, ["failed builds in the last 24 hours", "retry the second one"])
        shown, again = await chat(
            session, ["last production deploy of payments-service", "kick off the deploy again"]
        )
    refused(rolled)
    assert refs(rolled) == oracle(
        world, kind="rollback_target", repos=["auth-service"], environment="production"
    )
    refused(retried)
    second = refs(listed, "pipeline")[1]
    assert refs(retried, "pipeline") == [second]
    for step in attribute_values(world, second, "failed_step"):
        assert f"“{step}”" in retried.document["answer"]
    refused(again)
    assert refs(again) == refs(shown)  # the deployment just shown, from the answer itself
    assert again.document["stats"]["tool_calls"] == 0 and "Redeploy" in again.document["answer"]


async def test_it_is_the_pr_the_previous_question_asked_for(sessions: Sessions, world: World) -> None:
    """ "which PR changed config/production.yaml today?" then "revert it": whether or not the previous
    answer could filter by the path, "it" is the PR that changed that file, with its merge commit."""
    async with sessions() as session:
        _, reverted = await chat(
            session,
            ["which PR changed config/production.yaml in checkout-service today?", "go ahead and revert it"],
        )
    refused(reverted)
    [pr] = answer(
        world,
        OracleQuery(
            kind="about",
            of=OracleQuery(
                kind="commits",
                repos=["checkout-service"],
                path="config/production.yaml",
                window={"day": "today"},
            ),
            relation=["prs"],
        ),
        NOW,
    ).refs
    assert refs(reverted) == [pr, *related_refs(world, pr, "merge_commit")]


async def test_an_unclear_it_is_not_guessed(sessions: Sessions) -> None:
    async with sessions() as session:
        running, killed = await chat(
            session, ["which pipelines are running or pending right now?", "kill it"]
        )
        listed, merged = await chat(session, ["open pull requests", "merge that one"])
    for before, after in ((running, killed), (listed, merged)):
        assert len(refs(before)) > 1
        refused(after)
        assert "say which one" in after.document["answer"]
        assert refs(after) == refs(before) and after.document["stats"]["tool_calls"] == 0


async def test_nothing_named_asks_for_the_repository(sessions: Sessions) -> None:
    async with sessions() as session:
        [result] = await chat(session, ["roll prod back"])
    refused(result)
    assert "Name the repository" in result.document["answer"] and refs(result) == []


async def test_settings_and_permissions_say_where_without_fetching(sessions: Sessions) -> None:
    async with sessions() as session:
        [settings] = await chat(session, ["turn off the required approvals check on checkout-service main"])
        [access] = await chat(session, ["I want you to give Raj Patel write access to checkout-service"])
    for result, section in ((settings, "Branch restrictions"), (access, "Repository permissions")):
        refused(result)
        assert "https://bitbucket.org/acme/checkout-service/admin" in result.document["answer"]
        assert section in result.document["answer"] and result.document["stats"]["tool_calls"] == 0


async def test_an_investigation_is_never_refused(sessions: Sessions) -> None:
    async with sessions() as session:
        result = await session.ask(
            "checkout errors since 14:05 UTC, roll back checkout-service",
            now=NOW,
            mode="investigate",
            incident_at=NOW - timedelta(hours=2),
        )
    assert result.document["refused"] is None and result.exit_code != EXIT_REFUSED


async def test_the_refused_turn_leaves_its_help_for_the_next_one(sessions: Sessions) -> None:
    saver = InMemorySaver()
    config: Any = {"configurable": {"thread_id": "t"}, "recursion_limit": RECURSION_LIMIT}
    async with sessions() as session:
        await session.ask("revert PR 68 in checkout-service", now=NOW, checkpointer=saver, thread_id="t")
        state = (await build_graph().compile(checkpointer=saver).aget_state(config)).values
        after = await session.ask("who approved it?", now=NOW, checkpointer=saver, thread_id="t")
    assert state["refusal"]["action"] == "revert"
    assert [r["ref"] for r in state["previous"]["primary"]] == [
        "pr:checkout-service#68",
        refs_of_commit(state),
    ]
    assert after.document["refused"] is None  # the next question is a question again


def refs_of_commit(state: dict[str, Any]) -> str:
    return next(r["ref"] for r in state["previous"]["primary"] if r["ref"].startswith("commit:"))


def test_exit_code_3_is_either_refusal() -> None:
    plain = Report(answer="ok")
    assert exit_code_for(plain, [], REFUSED) == EXIT_REFUSED
    assert exit_code_for(plain, []) == EXIT_OK
    assert exit_code_for(Report(answer="ok", gaps=["x"]), []) == EXIT_GAPS
