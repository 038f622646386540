"""Chat follow-ups through the whole graph against the sandbox world, as `bbscout chat` runs them: what they
bind to, what they cost (requests counted by the client), and that they never answer something else."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from bbscout.agent.runtime import RunResult, Session
from tests.agent.test_graph_e2e import NOW, refs, session_for


@pytest.fixture(scope="module")
def world() -> Any:
    from bbscout.sandbox.world import build_world
    from tests.agent.test_graph_e2e import ANCHOR

    return build_world("default", seed=7, anchor=ANCHOR)


async def chat(session: Session, *questions: str) -> list[RunResult]:
    saver = InMemorySaver()
    return [await session.ask(q, now=NOW, checkpointer=saver, thread_id="t") for q in questions]


def cost(result: RunResult) -> tuple[int, int]:
    stats = result.document["stats"]
    return stats["tool_calls"], stats["http_requests"]


async def test_an_attribute_the_listing_holds_costs_no_request(world: Any) -> None:
    async with session_for(world) as session:
        listed, answer = await chat(session, "show me open pull requests", "who opened the oldest one?")
    opened = {
        e["ref"]: world.repos[e["repo"]].pullrequests[int(e["id"])]["created_on"]
        for e in listed.document["entities"]
    }
    oldest = min(opened, key=opened.__getitem__)
    author = world.repos[oldest.split(":")[1].split("#")[0]].pullrequests[int(oldest.rsplit("#")[1])][
        "author"
    ]
    assert refs(answer) == [oldest] and author["display_name"] in answer.report.answer
    assert cost(answer) == (0, 0)  # the repository listing too is still cached from the first turn


async def test_a_question_about_a_referent_costs_the_one_call_it_needs(world: Any) -> None:
    async with session_for(world) as session:
        listed, answer = await chat(
            session, "which PRs were merged in checkout-service today?", "who reviewed the second one?"
        )
        second = listed.document["entities"][1]
        log = session.app.state.request_log  # type: ignore[attr-defined]
        turn_two = log[-cost(answer)[1] :] if cost(answer)[1] else []
    assert refs(answer)[0] == second["ref"]
    reviewers = world.repos["checkout-service"].pullrequests[int(second["id"])]["reviewers"]
    assert all(r["display_name"] in answer.report.answer for r in reviewers) and reviewers
    calls, requests = cost(answer)
    assert calls == 1 and answer.outcomes[0].tool == "get_pull_request"
    assert requests == answer.outcomes[0].requests <= 4  # the PR, its statuses, its diffstat (+ redirect)
    assert turn_two and all("/repositories/acme/checkout-service/" in path for _, path, _ in turn_two)
    assert f"/pullrequests/{second['id']}" in turn_two[0][1]  # that PR, nothing else


async def test_a_follow_up_that_cannot_be_bound_asks_which_naming_every_candidate(world: Any) -> None:
    async with session_for(world) as session:
        listed, answer = await chat(session, "failed builds in the last 24 hours", "why did it fail?")
    candidates = refs(listed)
    assert len(candidates) > 1
    first = answer.report.answer.splitlines()[0]
    assert "Which one do you mean" in first and "“it”" in first
    assert all(ref in answer.report.answer for ref in candidates) and refs(answer) == candidates
    assert cost(answer) == (0, 0)  # nothing fetched, nothing else answered


async def test_the_issue_chain_keeps_its_thread_across_three_turns(world: Any) -> None:
    async with session_for(world) as session:
        _, _, third = await chat(
            session, "show me open pull requests", "who opened the oldest one?", "and in auth-service?"
        )
    open_prs = {n: p for n, p in world.repos["auth-service"].pullrequests.items() if p["state"] == "OPEN"}
    oldest = min(open_prs, key=lambda n: open_prs[n]["created_on"])
    assert third.report.answer.startswith("Same question for auth-service:")
    assert refs(third) == [f"pr:auth-service#{oldest}"]
    assert open_prs[oldest]["author"]["display_name"] in third.report.answer


async def test_a_revision_says_what_changed_first_and_answers_the_new_scope(world: Any) -> None:
    async with session_for(world) as session:
        _, again = await chat(session, "which PRs were merged in checkout-service today?", "and in payments?")
    assert again.report.answer.startswith("Same question for payments-service:")
    assert refs(again) and all(r.startswith("pr:payments-service#") for r in refs(again))
