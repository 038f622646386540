"""OpenAI function-tool schemas for the read-only tools, and the reverse: tool-call JSON → `Step`.

`tools.args.TOOL_ARGS` is the single source: each argument model's docstring becomes the tool's
description and its `model_json_schema()` is rewritten into OpenAI *strict* form so strict function
calling (and strict `response_format`) accept it:

- every object gets `additionalProperties: false` and lists every property in `required`;
- a field with a default becomes nullable (`anyOf [..., {"type": "null"}]`); the description says what
  null means ("null = default 50"), and `parse_tool_call` drops nulls so the pydantic default applies;
- keywords outside OpenAI's strict subset are dropped (`default`, `title`, `examples`, `discriminator`,
  string lengths, ...); `enum`, `const`, `minimum`/`maximum`, `minItems`/`maxItems`, `pattern` and the
  supported string formats (e.g. `date-time`) are kept; datetimes are described as ISO-8601 UTC;
- `$defs`/`$ref` are kept, but a `$ref` with sibling keywords is inlined (OpenAI rejects siblings);
  `oneOf` becomes `anyOf`, a one-element `allOf` is merged.
"""

from __future__ import annotations

import copy
import inspect
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from bbscout.agent.plan import Step
from bbscout.tools.args import TOOL_ARGS

__all__ = [
    "FIELD_HINTS",
    "ToolCallError",
    "openai_tools",
    "parse_tool_call",
    "response_format_for",
    "strict_schema",
]

# The keywords OpenAI's strict mode accepts (structured outputs, "supported schemas"). The test double
# (sandbox/llm_double.py) and tests/llm/test_tool_schemas.py each keep their own copy on purpose: the
# double simulates OpenAI's validator independently of this converter, so a list shared with it would let
# the converter and its checker agree on the same mistake. Change a copy only when OpenAI's rules change.
_KEEP = {
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
_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
_DATETIME_HINT = "ISO-8601 UTC timestamp, e.g. 2026-03-01T14:05:00Z"

# Hints for fields whose meaning is not obvious from the name (the arg models carry none).
FIELD_HINTS: dict[str, str] = {
    "repos": "Repository slugs; null = every repository",
    "repo": "Repository slug",
    "since": f"Window start, {_DATETIME_HINT}",
    "until": f"Window end, {_DATETIME_HINT}",
    "stale_before": f"{_DATETIME_HINT}",
    "author": "Display name or nickname fragment",
    "commit": "Commit hash (full or at least 7 characters)",
    "ref": "Branch, tag or commit; null = the main branch",
    "environment": "Deployment environment name, e.g. production, staging, test",
    "deployment_uuid": "Deployment UUID with braces as shown in refs; null = the latest",
    "include": "Newer ref (branch, tag or commit) to include",
    "exclude": "Older ref whose ancestors are excluded",
}


class ToolCallError(ValueError):
    """A model's tool call that cannot become a Step; the message is written for the model to fix it."""


def strict_schema(
    schema: dict[str, Any], *, nullable_optional: bool = True, hints: dict[str, str] | None = None
) -> dict[str, Any]:
    """Rewrite a pydantic JSON schema into OpenAI strict form (see the module docstring).

    Args:
        schema: output of `Model.model_json_schema()`; not mutated.
        nullable_optional: make fields that have a default nullable (tool args: null = default). With
            False, such fields stay non-null but required (the model must supply e.g. `[]`).
        hints: descriptions to add to properties by name (where the model has none).
    """
    root = copy.deepcopy(schema)
    defs = root.get("$defs", {})
    ctx = _Ctx(defs, nullable_optional, hints or {})
    out = _convert(root, ctx)
    if defs:
        out["$defs"] = {name: _convert(sub, ctx) for name, sub in defs.items()}
    return out


class _Ctx:
    def __init__(self, defs: dict[str, Any], nullable: bool, hints: dict[str, str]):
        self.defs, self.nullable, self.hints = defs, nullable, hints


def _is_datetime(schema: dict[str, Any]) -> bool:
    return schema.get("format") == "date-time" or any(
        isinstance(v, dict) and v.get("format") == "date-time" for v in schema.get("anyOf", [])
    )


def _convert(node: Any, ctx: _Ctx) -> dict[str, Any]:
    if not isinstance(node, dict):
        return node  # type: ignore[no-any-return]
    node = dict(node)
    if "$ref" in node and len(node) > 1:
        target = ctx.defs.get(node["$ref"].rsplit("/", 1)[-1], {})
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _convert(merged, ctx)
    if "oneOf" in node:
        node["anyOf"] = node.pop("oneOf")
    if isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
        node = {**node.pop("allOf")[0], **node}
        return _convert(node, ctx)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key not in _KEEP or key == "$defs":
            continue
        if key == "format" and value not in _FORMATS:
            continue
        out[key] = value
    if "anyOf" in out:
        out["anyOf"] = [_convert(v, ctx) for v in out["anyOf"]]
    if "items" in out:
        out["items"] = _convert(out["items"], ctx)
    typ = out.get("type")
    types: list[Any] = typ if isinstance(typ, list) else [typ]
    if "object" in types or "properties" in out:
        out.setdefault("type", "object")
        props = node.get("properties", {})
        required = set(node.get("required", []))
        new_props: dict[str, Any] = {}
        for name, sub in props.items():
            converted = _convert(sub, ctx)
            default = sub.get("default") if isinstance(sub, dict) else None
            hint = ctx.hints.get(name) or (_DATETIME_HINT if _is_datetime(converted) else None)
            if name not in required and ctx.nullable:
                converted = _nullable(converted)
                if default is not None and not (isinstance(default, bool) and default is False):
                    hint = f"{hint + '; ' if hint else ''}null = default {json.dumps(default)}"
                elif default is False:
                    hint = f"{hint + '; ' if hint else ''}null = false"
            if hint:
                own = converted.get("description")
                converted["description"] = f"{own}. {hint}" if own else hint
            new_props[name] = converted
        out["properties"] = new_props
        out["required"] = list(new_props)
        out["additionalProperties"] = False
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "anyOf" in schema:
        if not any(v.get("type") == "null" for v in schema["anyOf"]):
            schema["anyOf"].append({"type": "null"})
        return schema
    if schema.get("type") == "null":
        return schema
    description = schema.pop("description", None)
    wrapped: dict[str, Any] = {"anyOf": [schema, {"type": "null"}]}
    if description:
        wrapped["description"] = description
    return wrapped


def _description(model: type[BaseModel]) -> str:
    return inspect.cleandoc(model.__doc__ or "").strip()


def openai_tools(strict: bool = True) -> list[dict[str, Any]]:
    """One Chat Completions function tool per read-only tool in `TOOL_ARGS`, in its order."""
    tools = []
    for name, model in TOOL_ARGS.items():
        params = model.model_json_schema()
        params.pop("description", None)
        params.pop("title", None)
        function: dict[str, Any] = {
            "name": name,
            "description": _description(model),
            "parameters": strict_schema(params, hints=FIELD_HINTS) if strict else params,
        }
        if strict:
            function["strict"] = True
        tools.append({"type": "function", "function": function})
    return tools


def response_format_for(
    model: type[BaseModel], name: str | None = None, hints: dict[str, str] | None = None
) -> dict[str, Any]:
    """A strict `json_schema` response_format for `model` (lists stay required, not nullable)."""
    schema = model.model_json_schema()
    schema.pop("title", None)
    return {
        "type": "json_schema",
        "json_schema": {
            "name": name or model.__name__.lower(),
            "description": _description(model),
            "schema": strict_schema(schema, nullable_optional=False, hints=hints),
            "strict": True,
        },
    }


def parse_tool_call(
    name: str, arguments_json: str | dict[str, Any], *, id: str = "call", why: str = "", primary: bool = False
) -> Step:
    """Validate one tool call into a `Step` (nulls dropped so defaults apply).

    Raises:
        ToolCallError: unknown tool, arguments that are not a JSON object, or arguments the tool's model
            rejects; the message names the problem so the model can correct the call.
    """
    model = TOOL_ARGS.get(name)
    if model is None:
        raise ToolCallError(f"unknown tool {name!r}; available tools: {', '.join(TOOL_ARGS)}")
    if isinstance(arguments_json, str):
        try:
            args = json.loads(arguments_json or "{}")
        except json.JSONDecodeError as exc:
            raise ToolCallError(
                f"{name}: arguments are not valid JSON ({exc.msg} at char {exc.pos})"
            ) from None
    else:
        args = arguments_json
    if not isinstance(args, dict):
        raise ToolCallError(f"{name}: arguments must be a JSON object, got {type(args).__name__}")
    args = {k: v for k, v in args.items() if v is not None}
    try:
        validated = model.model_validate(args)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(arguments)'}: {err['msg']}" for err in exc.errors()
        )
        raise ToolCallError(f"{name}: invalid arguments: {problems}") from None
    for field_name, value in validated:
        if isinstance(value, datetime):  # tools expect absolute UTC; a naive timestamp is read as UTC
            utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
            object.__setattr__(validated, field_name, utc)
    return Step(
        id=id,
        tool=name,
        args=validated.model_dump(mode="json", exclude_defaults=True),
        why=why,
        primary=primary,
    )
