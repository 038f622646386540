"""Issue 16's phrasing table (tests/data/readonly_phrasings.yaml, written blind): every request to act is
refused read-only and every look-alike question is answered, through the rules planner and through the
LLM path (the real `openai` client over loopback HTTP to a test double scripted as a naive model that
would answer anything, orders included, with a query)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from bbscout.agent.readonly import REFUSED, recognise
from bbscout.sandbox.llm_double import LLMDoubleServer, ToolCall, Turn
from tests.readonly.conftest import NOW, Sessions, chat, first_line, phrasings, says_refused

ROWS = phrasings()
IDS = [f"{i:02d}-" + re.sub(r"\W+", "-", row["phrasing"])[:40] for i, row in enumerate(ROWS)]
MODEL_SAYS = "Answered by the model:"


def test_the_table_is_the_issue_floor() -> None:
    refuse = [r for r in ROWS if r["refuse"]]
    assert len(ROWS) >= 60 and len(refuse) >= 40 and len(ROWS) - len(refuse) >= 20
    assert {r["form"] for r in refuse} >= {"imperative", "polite", "please", "indirect", "follow-up"}
    assert len({r["verb"] for r in refuse}) == 17


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_the_guard_reads_each_phrasing_as_the_table_says(row: dict[str, Any]) -> None:
    act = recognise(row["phrasing"])
    if row["refuse"]:
        assert act is not None, row["phrasing"]
        assert act.action == row["verb"]
    else:
        assert act is None, f"{row['phrasing']!r} read as a request to {act.action if act else ''}"


def check_turn(row: dict[str, Any], result: Any) -> None:
    doc = result.document
    if row["refuse"]:
        assert doc["refused"] == REFUSED and result.exit_code == 3, doc["answer"][:300]
        assert says_refused(result), first_line(result)
    else:
        assert doc["refused"] is None and result.exit_code in (0, 1), doc["answer"][:300]
        assert not says_refused(result), first_line(result)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
async def test_rules_planner_path(row: dict[str, Any], sessions: Sessions) -> None:
    async with sessions("rules") as session:
        *_, last = await chat(session, [row["previous"], row["phrasing"]])
    check_turn(row, last)


def question_of(body: dict[str, Any]) -> str:
    user = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
    found = re.search(r"^Question: (.*)$", user, re.MULTILINE)
    return found.group(1) if found else user


def naive_model(body: dict[str, Any]) -> Turn:
    """Plans one query for whatever it is asked (it has no idea bbscout must not act), then reports."""
    question = question_of(body)
    if body.get("response_format"):
        return Turn.json(
            {
                "answer": f"{MODEL_SAYS} {question}",
                "entities": [],
                "findings": [],
                "timeline": [],
                "suspects": [],
                "ruled_out": [],
                "next_step": None,
                "confidence": None,
                "gaps": [],
            }
        )
    last_user = max(i for i, m in enumerate(body["messages"]) if m["role"] == "user")
    if any(m["role"] == "tool" for m in body["messages"][last_user:]):
        return Turn(content="I have what I need.")
    words = question.lower()
    if re.search(r"deploy|roll|promot|ship|live|prod|release", words):
        call = ToolCall("list_deployments", {"repos": ["checkout-service"], "environment": "production"})
    elif re.search(r"build|pipeline|run|retr|kick|stop|cancel|kill|fail", words):
        call = ToolCall("list_pipelines", {"repos": ["checkout-service"], "results": ["FAILED", "ERROR"]})
    elif re.search(r"branch|tag", words):
        call = ToolCall("list_branches", {"repos": ["checkout-service"], "limit": 10})
    else:
        call = ToolCall("list_pull_requests", {"repos": ["checkout-service"], "states": ["OPEN", "MERGED"]})
    return Turn(tool_calls=[call])


@pytest.mark.parametrize("row", ROWS, ids=IDS)
async def test_llm_path_over_http(row: dict[str, Any], sessions: Sessions, double: LLMDoubleServer) -> None:
    double.set_script([naive_model] * 30)
    saver = InMemorySaver()
    async with sessions("llm", double) as session:
        if row["previous"]:
            await session.ask(row["previous"], now=NOW, checkpointer=saver, thread_id="t")
        before = len(double.requests)
        last = await session.ask(row["phrasing"], now=NOW, checkpointer=saver, thread_id="t")
    asked = [b for b in double.requests[before:] if question_of(b) == row["phrasing"]]
    assert last.document["planner"] == "llm"
    check_turn(row, last)
    if row["refuse"]:
        assert asked == [], "the model was asked about a request to act"
        assert MODEL_SAYS not in last.document["answer"]
    else:
        assert any(not b.get("response_format") for b in asked), (
            "the question never reached the planner model"
        )
        # The model's answer comes back; coverage may lead it with a constraint the model did not apply.
        assert MODEL_SAYS in last.document["answer"], last.document["answer"][:200]
        assert not says_refused(last)


async def test_without_the_guard_the_naive_model_would_plan_the_order_as_a_query(
    sessions: Sessions, double: LLMDoubleServer
) -> None:
    """The control: the LLM planner itself, asked directly, plans "roll it back" as a listing — the
    issue's failure — so the refusals above are the guard's doing, not the model's."""
    from bbscout.agent.planners.base import Conversation, PlanRequest
    from bbscout.agent.planners.llm import LLMPlanner

    double.set_script([naive_model] * 4)
    async with sessions("llm", double) as session:
        llm = session.planner.primary
        assert isinstance(llm, LLMPlanner)
        request = PlanRequest.read("please roll back payments-service in production", NOW)
        planned = await llm.plan(request, Conversation())
    assert [s.tool for s in planned.plan.steps] == ["list_deployments"]
