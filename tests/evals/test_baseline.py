"""The ReAct baseline's wiring, end to end: prebuilt ReAct agent → bbscout's tools → in-process sandbox,
with the model served by the scripted OpenAI-compatible double over loopback HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bbscout.evals.case import Case
from bbscout.evals.oracle import answer
from bbscout.evals.runner import RunConfig, get_world, run_case

pytest.importorskip("langchain_openai")
from bbscout.sandbox.llm_double import LLMDoubleServer, ToolCall, Turn

ANCHOR = datetime(2026, 11, 29, 16, tzinfo=UTC)
CASE = Case.model_validate(
    {
        "id": "baseline-wiring",
        "family": "pipelines",
        "anchor": "2026-11-29T16:00:00Z",
        "now": "2026-11-29T16:20:00Z",
        "question": "What pipelines failed in the last 24 hours?",
        "expect": {
            "oracle": {"kind": "pipelines", "results": ["FAILED", "ERROR"], "since": "-24h"},
            "count": "from_oracle",
        },
        "min_requests": "oracle",
    }
)


async def test_react_baseline_runs_the_same_tools_and_is_graded_like_bbscout() -> None:
    expected = answer(get_world("default", 7, ANCHOR), CASE.expect.oracle, CASE.now).refs  # type: ignore[arg-type]
    final = f"{len(expected)} pipelines failed:\n" + "\n".join(f"- {r}" for r in expected)
    script = [
        Turn(
            tool_calls=[
                ToolCall("list_pipelines", {"results": ["FAILED", "ERROR"], "since": "2026-11-28T16:20:00Z"})
            ]
        ),
        Turn(content=final),
    ]
    with LLMDoubleServer(script) as server:
        cfg = RunConfig(
            planner="llm",
            agent="react",
            openai_api_key="sk-test",
            openai_base_url=server.base_url,
            model="test-double",
            concurrency=1,
        )
        result = await run_case(CASE, cfg)
        sent = server.requests
    assert result.crash is None, result.crash
    assert result.passed, result.failures
    assert result.metrics["requests"] > 0 and result.metrics["llm_tokens"] >= 0
    assert any(t["function"]["name"] == "list_pipelines" for t in sent[0]["tools"])  # same tool set
    assert any(m.get("role") == "tool" for m in sent[1]["messages"])  # the tool result went back to the model


async def test_react_baseline_hallucination_is_graded() -> None:
    script = [Turn(content="Pipeline pipeline:api-gateway#9999 failed because of PR #4242 in api-gateway.")]
    with LLMDoubleServer(script) as server:
        cfg = RunConfig(
            planner="llm",
            agent="react",
            openai_api_key="sk-test",
            openai_base_url=server.base_url,
            model="test-double",
        )
        result = await run_case(CASE, cfg)
    assert result.crash is None, result.crash
    assert not result.passed
    assert result.metrics["hallucinated_refs"] >= 2
