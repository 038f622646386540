"""LLMClient: usage accounting, context budget, error mapping and secret hygiene, over loopback HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from bbscout.agent.llm import CUT_NOTE, LLMError, estimate_tokens, fit_to_budget, share_budget
from bbscout.agent.tool_schemas import openai_tools
from bbscout.sandbox.llm_double import LLMDoubleServer, ToolCall, Turn
from bbscout.sandbox.llm_double import estimate_tokens as double_tokens
from tests.llm import API_KEY, make_client


@pytest.fixture
def double() -> Iterator[LLMDoubleServer]:
    with LLMDoubleServer() as server:
        yield server


def _tool_turn(call_id: str, body: str) -> list[dict[str, Any]]:
    return [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": "list_pipelines", "arguments": "{}"}}
            ],
        },
        {
            "role": "tool",
            "tool_call_id": call_id,
            "content": f'<bitbucket_data tool="list_pipelines" step="{call_id}">\n{body}\n</bitbucket_data>',
        },
    ]


async def test_usage_accumulates_what_the_endpoint_reported(double: LLMDoubleServer) -> None:
    double.set_script(
        [
            "one",
            Turn(tool_calls=[ToolCall("get_pipeline", {"repo": "api", "build_number": 7})]),
            "three words here",
        ]
    )
    async with make_client(double.base_url) as client:
        results = [
            await client.chat([{"role": "user", "content": f"question {i}"}], tools=openai_tools())
            for i in range(3)
        ]
    assert client.usage.calls == 3
    for field in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert getattr(client.usage, field) == sum(getattr(r.usage, field) for r in results) > 0
    # the double counts deterministically from the serialized request: our sums match its numbers
    expected_prompt = sum(
        double_tokens(
            {"messages": b["messages"], "tools": b.get("tools"), "response_format": b.get("response_format")}
        )
        for b in double.requests
    )
    assert client.usage.prompt_tokens == expected_prompt
    assert results[1].tool_calls[0]["function"]["name"] == "get_pipeline"
    assert all(b["temperature"] == 0.0 and b["model"] == "test-model" for b in double.requests)


async def test_huge_tool_output_is_cut_and_pairing_stays_valid(double: LLMDoubleServer) -> None:
    double.set_script(["fine"])
    messages = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "what failed?"},
        *_tool_turn("call_old", "old " * 20000),
        *_tool_turn("call_new", "new result, small"),
    ]
    original = json.dumps(messages)
    async with make_client(double.base_url, max_context_tokens=2000) as client:
        result = await client.chat(messages)
    assert result.cut and result.content == "fine"  # the double accepted it: every tool call still answered
    assert json.dumps(messages) == original  # the caller's list is untouched
    sent = double.requests[0]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "assistant", "tool"]
    assert [m.get("tool_call_id") for m in sent if m["role"] == "tool"] == ["call_old", "call_new"]
    old = sent[3]["content"]
    assert CUT_NOTE in old and old.endswith("</bitbucket_data>") and len(old) < 8000
    assert sent[5]["content"].endswith("new result, small\n</bitbucket_data>")  # newest kept whole
    assert estimate_tokens(sent) <= 2000


def test_budget_helpers() -> None:
    msgs = [{"role": "user", "content": "q"}, *_tool_turn("c1", "x" * 4000)]
    fitted, cut = fit_to_budget(msgs, 10_000)
    assert not cut and fitted == msgs
    with pytest.raises(LLMError, match="context budget") as info:
        fit_to_budget([{"role": "system", "content": "s" * 4000}], 100)
    assert info.value.kind == "budget"
    shared = share_budget(["a" * 100, "b" * 5000, "c" * 5000], 3000)
    assert shared[0] == "a" * 100 and all(CUT_NOTE in s for s in shared[1:])
    assert sum(map(len, shared)) <= 3000 + 2 * len(CUT_NOTE)


@pytest.mark.parametrize(
    "turn, kind, status",
    [
        (Turn(status=401, error_message=f"Incorrect API key provided: {API_KEY}"), "auth", 401),
        (Turn(status=429, error_message="Rate limit reached"), "rate_limit", 429),
        (Turn(status=500, error_message=f"upstream failed for key {API_KEY}"), "status", 500),
    ],
)
async def test_errors_map_to_llm_error_without_the_key(
    double: LLMDoubleServer, turn: Turn, kind: str, status: int
) -> None:
    double.set_script([turn])
    async with make_client(double.base_url) as client:
        with pytest.raises(LLMError) as info:
            await client.chat([{"role": "user", "content": "q"}])
    err = info.value
    assert err.kind == kind and err.status == status and double.base_url in str(err)
    assert API_KEY not in str(err) and API_KEY not in repr(err) and err.__cause__ is None
    assert err.__suppress_context__


async def test_connection_error_is_actionable() -> None:
    async with make_client("http://127.0.0.1:9/v1", timeout=5) as client:
        with pytest.raises(
            LLMError, match=re.escape("cannot reach the LLM endpoint at http://127.0.0.1:9/v1")
        ) as info:
            await client.chat([{"role": "user", "content": "q"}])
    assert info.value.kind == "connection" and API_KEY not in str(info.value)


async def test_the_key_never_leaves_the_auth_header(double: LLMDoubleServer) -> None:
    double.set_script(["ok"])
    async with make_client(double.base_url) as client:
        await client.chat([{"role": "user", "content": "q"}])
        assert API_KEY not in repr(client) and API_KEY not in str(client)
    assert API_KEY not in json.dumps(double.requests)
    with pytest.raises(LLMError, match="OPENAI_API_KEY"):
        from pydantic import SecretStr

        from bbscout.agent.llm import LLMClient

        LLMClient(api_key=SecretStr(""), base_url=double.base_url, model="m")
