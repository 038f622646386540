"""The OpenAI test double speaks the real wire format and enforces OpenAI's request rules."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from bbscout.sandbox.llm_double import (
    EXHAUSTED_TEXT,
    MODEL_ID,
    LLMDoubleServer,
    ToolCall,
    Turn,
    tool_messages,
)
from tests.llm import API_KEY

EMPTY_TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "x",
        "strict": True,
        "parameters": {
            "type": "object",
            "properties": {"q": {"type": "string"}},
            "required": ["q"],
            "additionalProperties": False,
        },
    },
}


@pytest.fixture
async def oai(double: LLMDoubleServer) -> Any:
    client = openai.AsyncOpenAI(api_key=API_KEY, base_url=double.base_url, max_retries=0)
    yield client
    await client.close()


def test_auth_required_and_model_id(double: LLMDoubleServer) -> None:
    with httpx.Client(base_url=double.base_url) as http:
        for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}):
            r = http.post("/chat/completions", json={"model": "m", "messages": []}, headers=headers)
            assert r.status_code == 401
            assert r.json()["error"]["type"] == "invalid_request_error"
        r = http.get("/models", headers={"Authorization": "Bearer k"})
        assert r.json()["data"][0]["id"] == MODEL_ID and "test-double" in MODEL_ID
    assert double.requests == []  # unauthenticated bodies are not even recorded


async def test_scripted_turns_callable_and_exhaustion(double: LLMDoubleServer, oai: Any) -> None:
    def branch(body: dict[str, Any]) -> Turn:
        answers = tool_messages(body)
        return Turn(content=f"saw {len(answers)} tool answers: {answers[0]['content']}")

    double.set_script(
        [Turn(tool_calls=[ToolCall("lookup", {"q": "a"}), ToolCall("lookup", {"q": "b"})]), branch]
    )
    msgs: list[dict[str, Any]] = [{"role": "user", "content": "hi"}]
    first = await oai.chat.completions.create(model="m", messages=msgs, tools=[EMPTY_TOOL])
    assert first.model == MODEL_ID and first.choices[0].finish_reason == "tool_calls"
    calls = first.choices[0].message.tool_calls
    assert [c.id for c in calls] == ["call_1", "call_2"]
    msgs.append(first.choices[0].message.model_dump(exclude_none=True))
    msgs += [{"role": "tool", "tool_call_id": c.id, "content": f"result {c.id}"} for c in calls]
    second = await oai.chat.completions.create(model="m", messages=msgs, tools=[EMPTY_TOOL])
    assert second.choices[0].message.content == "saw 2 tool answers: result call_1"
    third = await oai.chat.completions.create(model="m", messages=msgs)
    assert third.choices[0].message.content == EXHAUSTED_TEXT
    assert len(double.requests) == 3


async def test_tool_choice_and_parallel_flags(double: LLMDoubleServer, oai: Any) -> None:
    two = Turn(tool_calls=[ToolCall("lookup", {"q": "a"}), ToolCall("lookup", {"q": "b"})])
    double.set_script([two, Turn(content="no tools", tool_calls=two.tool_calls)])
    msgs = [{"role": "user", "content": "hi"}]
    one = await oai.chat.completions.create(
        model="m", messages=msgs, tools=[EMPTY_TOOL], parallel_tool_calls=False
    )
    assert len(one.choices[0].message.tool_calls) == 1
    none = await oai.chat.completions.create(model="m", messages=msgs, tools=[EMPTY_TOOL], tool_choice="none")
    assert none.choices[0].message.tool_calls is None and none.choices[0].message.content == "no tools"
    with pytest.raises(openai.BadRequestError):
        await oai.chat.completions.create(
            model="m",
            messages=msgs,
            tools=[EMPTY_TOOL],
            tool_choice={"type": "function", "function": {"name": "nope"}},
        )


@pytest.mark.parametrize(
    "messages, fragment",
    [
        (
            [
                {"role": "user", "content": "q"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}},
                        {"id": "c2", "type": "function", "function": {"name": "lookup", "arguments": "{}"}},
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "r"},
                {"role": "user", "content": "next"},
            ],
            "must be followed by tool messages responding to each 'tool_call_id'",
        ),
        (
            [{"role": "user", "content": "q"}, {"role": "tool", "tool_call_id": "zz", "content": "r"}],
            "must be a response to a preceeding message with 'tool_calls'",
        ),
    ],
)
async def test_tool_pairing_is_enforced(oai: Any, messages: list[dict[str, Any]], fragment: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await oai.chat.completions.create(model="m", messages=messages, tools=[EMPTY_TOOL])
    assert fragment in info.value.message
    assert info.value.body["type"] == "invalid_request_error"


async def test_json_object_needs_the_word_json(double: LLMDoubleServer, oai: Any) -> None:
    double.set_script([Turn.json({"ok": True})])
    with pytest.raises(openai.BadRequestError, match="must contain the word 'json'"):
        await oai.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], response_format={"type": "json_object"}
        )
    ok = await oai.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "reply in JSON"}],
        response_format={"type": "json_object"},
    )
    assert ok.choices[0].message.content == '{"ok": true}'


async def test_streaming_with_tool_call_deltas_and_usage(double: LLMDoubleServer, oai: Any) -> None:
    args = {"q": "a fairly long argument string to force several argument deltas"}
    double.set_script(
        [
            Turn(
                content="Looking it up now.",
                tool_calls=[ToolCall("lookup", args), ToolCall("lookup", {"q": "b"})],
            )
        ]
    )
    stream = await oai.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "hi"}],
        tools=[EMPTY_TOOL],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, calls, usage, finish, n_arg_deltas = "", {}, None, None, 0
    async for chunk in stream:
        assert chunk.model == MODEL_ID
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, {"id": None, "name": "", "arguments": ""})
                call["id"] = delta.id or call["id"]
                if delta.function is not None:
                    call["name"] += delta.function.name or ""
                    call["arguments"] += delta.function.arguments or ""
                    n_arg_deltas += bool(delta.function.arguments)
    assert text == "Looking it up now." and finish == "tool_calls"
    assert [calls[i]["name"] for i in sorted(calls)] == ["lookup", "lookup"]
    assert __import__("json").loads(calls[0]["arguments"]) == args and n_arg_deltas > 2
    assert usage is not None and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0


async def test_scripted_http_error(double: LLMDoubleServer, oai: Any) -> None:
    double.set_script([Turn(status=429, error_message="slow down")])
    with pytest.raises(openai.RateLimitError):
        await oai.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
