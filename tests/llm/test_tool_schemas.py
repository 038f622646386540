"""Every tool schema is OpenAI-strict: checked in Python and accepted by the double's strict validator."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from bbscout.agent.report import Report
from bbscout.agent.tool_schemas import ToolCallError, openai_tools, parse_tool_call, response_format_for
from bbscout.sandbox.llm_double import LLMDoubleServer, strict_schema_violations
from bbscout.tools.args import TOOL_ARGS
from tests.llm import API_KEY

# Written out again, not imported from agent.tool_schemas: a checker that shares the converter's list
# would agree with its mistakes (see the comment on `_KEEP`).
ALLOWED = {
    "type",
    "description",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "$ref",
    "$defs",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
}


def walk(node: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for name, sub in value.items():
                    yield from walk(sub, f"{path}.{name}")
            elif key == "items":
                yield from walk(value, f"{path}[]")
            elif key == "anyOf":
                for i, sub in enumerate(value):
                    yield from walk(sub, f"{path}|{i}")


@pytest.fixture(scope="module")
def double() -> Iterator[LLMDoubleServer]:
    with LLMDoubleServer() as server:
        yield server


def test_strict_rules_hold_in_python() -> None:
    tools = openai_tools()
    assert [t["function"]["name"] for t in tools] == list(TOOL_ARGS)
    for tool in tools:
        fn = tool["function"]
        assert fn["strict"] is True and fn["description"] and fn["parameters"]["type"] == "object"
        model = TOOL_ARGS[fn["name"]]
        for name, field in model.model_fields.items():  # optional args are nullable, required ones are not
            prop = fn["parameters"]["properties"][name]
            nullable = any(v.get("type") == "null" for v in prop.get("anyOf", []))
            assert nullable is (not field.is_required()), (fn["name"], name)
        for path, node in walk(fn["parameters"]):
            assert set(node) <= ALLOWED, (fn["name"], path, set(node) - ALLOWED)
            if node.get("type") == "object":
                assert node["additionalProperties"] is False, (fn["name"], path)
                assert node["required"] == list(node["properties"]), (fn["name"], path)
            if node.get("format") == "date-time":
                assert "ISO-8601" in str(fn["parameters"]), fn["name"]
        assert strict_schema_violations(fn["parameters"]) == []


async def test_double_accepts_every_tool_and_the_report_schema(double: LLMDoubleServer) -> None:
    double.set_script(['{"answer": "ok"}', "ok"])
    async with openai.AsyncOpenAI(api_key=API_KEY, base_url=double.base_url, max_retries=0) as client:
        done = await client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "q"}],
            response_format=response_format_for(Report),
        )
        assert done.choices[0].message.content == '{"answer": "ok"}'
        done = await client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "q"}],
            tools=openai_tools(),
            parallel_tool_calls=True,
        )
        assert done.choices[0].message.content == "ok"


def _add(params: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    params["properties"][name] = schema
    params["required"].append(name)
    params["$defs"] = {"Z": {"type": "string"}}


def _broken(mutate: Any) -> list[dict[str, Any]]:
    tools = copy.deepcopy(openai_tools())
    mutate(tools[2]["function"]["parameters"])  # list_pipelines
    return tools


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda p: p.pop("additionalProperties"), "'additionalProperties' is required"),
        (lambda p: p["required"].remove("limit"), "Missing 'limit'"),
        (lambda p: p["properties"]["limit"].__setitem__("default", 50), "'default' is not permitted"),
        (
            lambda p: _add(p, "x", {"type": "object", "properties": {}, "required": []}),
            "In context=('properties', 'x'), 'additionalProperties' is required",
        ),
        (lambda p: _add(p, "y", {}), "must have a 'type' key"),
        (
            lambda p: _add(p, "z", {"$ref": "#/$defs/Z", "description": "d"}),
            "'$ref' cannot have sibling keywords",
        ),
    ],
)
async def test_double_rejects_broken_strict_schema(
    double: LLMDoubleServer, mutate: Any, fragment: str
) -> None:
    tools = _broken(mutate)
    async with openai.AsyncOpenAI(api_key=API_KEY, base_url=double.base_url, max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as info:
            await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "q"}], tools=tools
            )
    err = info.value
    assert err.status_code == 400 and fragment in err.message
    assert err.body["type"] == "invalid_request_error" and err.body["param"] == "tools[2].function.parameters"
    assert "code" in err.body


def test_parse_tool_call_drops_nulls_and_normalises_time() -> None:
    step = parse_tool_call(
        "list_pipelines",
        '{"results": ["FAILED","ERROR"], "since": "2026-03-10T16:00:00+01:00",'
        ' "until": "2026-03-10T15:00:00", "limit": null, "repos": null, "in_progress": null}',
        id="call_9",
        primary=True,
    )
    assert step.id == "call_9" and step.primary and step.tool == "list_pipelines"
    assert step.args == {
        "results": ["FAILED", "ERROR"],
        "since": "2026-03-10T15:00:00Z",
        "until": "2026-03-10T15:00:00Z",
    }


@pytest.mark.parametrize(
    "name, arguments, fragment",
    [
        ("rerun_pipeline", "{}", "unknown tool 'rerun_pipeline'"),
        ("get_pipeline", '{"repo": "api"', "not valid JSON"),
        ("get_pipeline", "[1]", "must be a JSON object"),
        ("get_pipeline", '{"repo": "api"}', "build_number: Field required"),
        (
            "list_pipelines",
            '{"limit": 0, "colour": "red"}',
            "limit: Input should be greater than or equal to 1",
        ),
    ],
)
def test_parse_tool_call_errors_are_actionable(name: str, arguments: str, fragment: str) -> None:
    with pytest.raises(ToolCallError, match=fragment.replace("(", r"\(")):
        parse_tool_call(name, arguments)


def test_strict_schema_inlines_refs_with_siblings_and_unions() -> None:
    from typing import Literal

    from pydantic import BaseModel, Field

    from bbscout.agent.tool_schemas import strict_schema

    class Inner(BaseModel):
        kind: Literal["a", "b"]
        size: int = 3

    class Outer(BaseModel):
        inner: Inner = Field(description="the inner part")
        choice: Inner | int = Field(default=1, json_schema_extra={"examples": [1]})
        items: list[Inner] = Field(default_factory=list, max_length=4)

    schema = strict_schema(Outer.model_json_schema())
    assert strict_schema_violations(schema) == []
    assert schema["properties"]["inner"]["description"] == "the inner part"
    assert schema["properties"]["inner"]["properties"]["size"]["anyOf"][1] == {"type": "null"}
    assert schema["properties"]["items"]["anyOf"][0]["maxItems"] == 4
    kept = strict_schema(Outer.model_json_schema(), nullable_optional=False)
    assert strict_schema_violations(kept) == [] and kept["properties"]["items"]["type"] == "array"
