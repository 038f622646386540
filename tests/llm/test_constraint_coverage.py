"""Constraint coverage on the LLM path, over real loopback HTTP with the OpenAI test double: whatever the
model's calls and its written answer leave out, the first line names a constraint no call applied (and
`gaps` does), and echoes one that was applied but not said."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bbscout.agent.runtime import open_session
from bbscout.sandbox.llm_double import LLMDoubleServer, ToolCall, Turn, tool_messages
from bbscout.sandbox.world import build_world
from tests.llm.test_graph_llm_e2e import llm_settings, sandbox_client

ANCHOR = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
NOW = ANCHOR + timedelta(minutes=20)
QUESTION = "which open PRs in checkout-service have Sofia as a reviewer?"


def model(args: dict[str, Any]) -> Any:
    """Plans one list_pull_requests call with `args`, then stops; writes an answer that names no filter."""

    def turn(body: dict[str, Any]) -> Turn:
        if body.get("response_format"):
            text = "\n".join(m["content"] for m in body["messages"] if isinstance(m.get("content"), str))
            refs = sorted(set(re.findall(r"pr:checkout-service#\d+", text)))
            return Turn.json(
                {
                    "answer": f"There are {len(refs)} open pull requests in checkout-service.",
                    "entities": refs,
                    "findings": [],
                    "gaps": [],
                }
            )
        if not tool_messages(body):
            return Turn(tool_calls=[ToolCall("list_pull_requests", args)])
        return Turn(content="Done.")

    return turn


async def ask(args: dict[str, Any]) -> Any:
    world = build_world("default", seed=7, anchor=ANCHOR)
    with LLMDoubleServer([model(args)] * 10) as double:
        async with open_session(
            llm_settings(double), planner="llm", now=NOW, client=sandbox_client(world)
        ) as session:
            return await session.ask(QUESTION, now=NOW)


def first_line(answer: str) -> str:
    return next(line for line in answer.splitlines() if line.strip())


async def test_a_constraint_the_llm_plan_dropped_is_named_in_the_first_line_and_gaps() -> None:
    result = await ask({"repos": ["checkout-service"], "states": ["OPEN"]})  # no reviewer
    head = first_line(result.report.answer)
    assert "could not filter by reviewer Sofia" in head, head
    assert any("could not filter by reviewer Sofia" in gap for gap in result.report.gaps)
    # what the model wrote follows, unchanged; its entities are not narrowed by a filter it never applied
    assert "There are " in result.report.answer.split("\n\n", 1)[1]
    assert result.report.confidence != "high"


async def test_an_applied_constraint_the_llm_answer_left_out_is_echoed() -> None:
    result = await ask({"repos": ["checkout-service"], "states": ["OPEN"], "reviewer": "Sofia"})
    head = first_line(result.report.answer)
    assert "could not" not in head
    assert head.startswith("There are ") and "— filtered by reviewer Sofia" in head, head
    assert not any("could not filter" in gap for gap in result.report.gaps)
