"""A scripted OpenAI-compatible Chat Completions server: the test double behind every LLM test.

It speaks the real wire format (`GET /v1/models`, `POST /v1/chat/completions`, SSE streaming with
tool-call deltas and a usage chunk) and enforces the request rules OpenAI enforces, so the real
`openai.AsyncOpenAI` client and our request-building code are exercised end to end:

- `Authorization: Bearer <non-empty>` or 401;
- strict function/`response_format` schemas are checked against OpenAI's strict-mode rules (400);
- every assistant `tool_calls` entry must be answered by a `tool` message with its id (400);
- `json_object` needs the word "json" somewhere in the messages (400).

What the "model" says comes from a `Script`: an ordered list of turns, each a fixed `Turn` (text and/or
tool calls), a plain `str`/`dict`, or a callable `(request_json) -> Turn` that can branch on what it was
sent. Every request body is recorded in `app.state.requests` so tests can assert what a model was shown.
The reported model id always says it is a test double; nothing points at this server by default.

    with LLMDoubleServer([Turn(tool_calls=[ToolCall("list_pipelines", {})]), "done"]) as server:
        client = AsyncOpenAI(api_key="k", base_url=server.base_url)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bbscout.sandbox.server import LoopbackServer

__all__ = [
    "EXHAUSTED_TEXT",
    "MODEL_ID",
    "LLMDoubleServer",
    "Script",
    "ToolCall",
    "Turn",
    "create_llm_app",
    "estimate_tokens",
    "strict_schema_violations",
    "tool_messages",
]

MODEL_ID = "bbscout-test-double (not a real model)"
EXHAUSTED_TEXT = "[test double: script exhausted]"

_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}
_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
# Keywords OpenAI strict mode accepts (structured outputs "supported schemas"); anything else is a 400.
# agent/tool_schemas.py keeps its own copy on purpose: the double plays OpenAI and checks the product's
# schemas against the rules as OpenAI states them, so a mistake in the product's list cannot pass here.
_ALLOWED_KEYWORDS = {
    "type",
    "description",
    "title",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "$ref",
    "$defs",
    "definitions",
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
_MAX_DEPTH = 10
_MAX_PROPERTIES = 5000


@dataclass
class ToolCall:
    """One scripted tool call; `arguments` may be a str to script malformed JSON."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass
class Turn:
    """One scripted model reply, or (with `status`) a scripted HTTP error such as a 429."""

    content: str | None = None
    tool_calls: list[ToolCall | dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    refusal: str | None = None
    status: int = 200
    error_message: str = "scripted error"

    @classmethod
    def json(cls, obj: Any) -> Turn:
        """A content reply holding `obj` serialized as JSON (a structured-output answer)."""
        return cls(content=json.dumps(obj))


TurnLike = Turn | str | dict[str, Any]
Script = Sequence[TurnLike | Callable[[dict[str, Any]], TurnLike]]


def estimate_tokens(obj: Any) -> int:
    """Deterministic token count: ~4 characters of compact JSON per token."""
    text = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return math.ceil(len(text) / 4) if text else 0


def tool_messages(request_json: dict[str, Any]) -> list[dict[str, Any]]:
    """The `tool` messages of a recorded request (helper for callable turns and assertions)."""
    return [m for m in request_json.get("messages", []) if m.get("role") == "tool"]


class _BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None, code: str | None = None, status: int = 400):
        super().__init__(message)
        self.message, self.param, self.code, self.status = message, param, code, status


def _error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": type_, "param": param, "code": code}}, status)


# ---------------------------------------------------------------------------------------------
# strict-mode schema rules


def strict_schema_violations(schema: Any, *, root_must_be_object: bool = True) -> list[str]:
    """Every way `schema` breaks OpenAI's strict-mode rules, as OpenAI-style messages (empty = accepted)."""
    problems: list[str] = []
    counter = {"properties": 0}
    if not isinstance(schema, dict):
        return ["schema must be a JSON object"]
    if root_must_be_object and schema.get("type") != "object":
        problems.append("In context=(), the root schema must be of type 'object' (not anyOf).")
    defs = {**(schema.get("$defs") or {}), **(schema.get("definitions") or {})}
    _check_node(schema, (), 0, schema, defs, problems, counter)
    if counter["properties"] > _MAX_PROPERTIES:
        problems.append(f"Too many object properties: {counter['properties']} > {_MAX_PROPERTIES}.")
    return problems


def _check_node(
    node: Any,
    ctx: tuple[str, ...],
    depth: int,
    root: dict[str, Any],
    defs: dict[str, Any],
    problems: list[str],
    counter: dict[str, int],
) -> None:
    where = f"In context={ctx!r}"
    if not isinstance(node, dict):
        problems.append(f"{where}, schema must be a JSON object.")
        return
    if depth > _MAX_DEPTH:
        problems.append(f"{where}, schema nesting exceeds {_MAX_DEPTH} levels.")
        return
    for key in node:
        if key not in _ALLOWED_KEYWORDS:
            problems.append(f"{where}, '{key}' is not permitted.")
    if "$ref" in node:
        ref = node["$ref"]
        if len(node) > 1:
            problems.append(f"{where}, '$ref' cannot have sibling keywords.")
        if not isinstance(ref, str) or not (ref == "#" or ref.startswith(("#/$defs/", "#/definitions/"))):
            problems.append(f"{where}, invalid $ref {ref!r}.")
        elif ref != "#" and ref.split("/", 2)[2] not in defs:
            problems.append(f"{where}, $ref {ref!r} does not resolve.")
        return
    for defs_key in ("$defs", "definitions"):
        if defs_key in node:
            if ctx:
                problems.append(f"{where}, '{defs_key}' is only allowed at the root.")
            for name, sub in (node[defs_key] or {}).items():
                _check_node(sub, (*ctx, defs_key, name), depth, root, defs, problems, counter)
    if "anyOf" in node:
        variants = node["anyOf"]
        if not isinstance(variants, list) or not variants:
            problems.append(f"{where}, 'anyOf' must be a non-empty array.")
        else:
            for i, sub in enumerate(variants):
                _check_node(sub, (*ctx, "anyOf", str(i)), depth + 1, root, defs, problems, counter)
        return
    typ = node.get("type")
    if typ is None:
        if "enum" in node or "const" in node:
            return
        problems.append(f"{where}, schema must have a 'type' key.")
        return
    types = typ if isinstance(typ, list) else [typ]
    for t in types:
        if t not in _TYPES:
            problems.append(f"{where}, type {t!r} is not supported.")
    if "format" in node and node["format"] not in _FORMATS:
        problems.append(f"{where}, format {node['format']!r} is not supported.")
    if "enum" in node and (not isinstance(node["enum"], list) or not node["enum"]):
        problems.append(f"{where}, 'enum' must be a non-empty array.")
    if "object" in types:
        props = node.get("properties", {})
        if not isinstance(props, dict):
            problems.append(f"{where}, 'properties' must be an object.")
            props = {}
        counter["properties"] += len(props)
        if node.get("additionalProperties") is not False:
            problems.append(f"{where}, 'additionalProperties' is required to be supplied and to be false.")
        required = node.get("required")
        missing = [k for k in props if not isinstance(required, list) or k not in required]
        if missing or not isinstance(required, list):
            problems.append(
                f"{where}, 'required' is required to be supplied and to be an array including every key in "
                f"properties. Missing {', '.join(repr(m) for m in missing) or 'required'}."
            )
        elif extra := [k for k in required if k not in props]:
            problems.append(f"{where}, 'required' lists unknown properties: {', '.join(extra)}.")
        for name, sub in props.items():
            _check_node(sub, (*ctx, "properties", name), depth + 1, root, defs, problems, counter)
    if "array" in types:
        if "items" not in node:
            problems.append(f"{where}, array schema must have 'items'.")
        else:
            _check_node(node["items"], (*ctx, "items"), depth + 1, root, defs, problems, counter)


# ---------------------------------------------------------------------------------------------
# request validation


def _validate_request(body: dict[str, Any]) -> None:
    messages = body.get("messages")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise _BadRequest("you must provide a model parameter", "model")
    if not isinstance(messages, list) or not messages:
        raise _BadRequest("'messages' must be a non-empty array.", "messages")
    for i, m in enumerate(messages):
        role = m.get("role") if isinstance(m, dict) else None
        if role not in {"system", "developer", "user", "assistant", "tool"}:
            raise _BadRequest(f"Invalid value for 'role' in messages[{i}]: {role!r}.", f"messages.[{i}].role")
        if role == "tool" and not m.get("tool_call_id"):
            raise _BadRequest(
                f"Missing required parameter: 'messages[{i}].tool_call_id'.", f"messages.[{i}].tool_call_id"
            )
        if role in {"system", "developer", "user", "tool"} and m.get("content") is None:
            raise _BadRequest(
                f"Missing required parameter: 'messages[{i}].content'.", f"messages.[{i}].content"
            )
    _check_tool_pairing(messages)

    tools = body.get("tools")
    names: set[str] = set()
    if tools is not None:
        if not isinstance(tools, list) or not tools:
            raise _BadRequest("'tools' must be a non-empty array when given.", "tools")
        for i, tool in enumerate(tools):
            fn = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
            if (
                not isinstance(fn, dict)
                or not isinstance(fn.get("name"), str)
                or not _NAME_RE.match(fn["name"])
            ):
                raise _BadRequest(
                    f"Invalid 'tools[{i}].function.name': must match ^[a-zA-Z0-9_-]{{1,64}}$.",
                    f"tools[{i}].function.name",
                )
            names.add(fn["name"])
            params = fn.get("parameters", {"type": "object", "properties": {}})
            if fn.get("strict"):
                problems = strict_schema_violations(params)
                if problems:
                    raise _BadRequest(
                        f"Invalid schema for function '{fn['name']}': {problems[0]}",
                        f"tools[{i}].function.parameters",
                        "invalid_function_parameters",
                    )
    choice = body.get("tool_choice")
    if choice is not None:
        if isinstance(choice, dict):
            wanted = (choice.get("function") or {}).get("name")
            if wanted not in names:
                raise _BadRequest(
                    f"Invalid value for 'tool_choice': no function named {wanted!r} in 'tools'.",
                    "tool_choice",
                )
        elif choice not in {"auto", "none", "required"}:
            raise _BadRequest(f"Invalid value for 'tool_choice': {choice!r}.", "tool_choice")
        elif choice == "required" and not tools:
            raise _BadRequest("'tool_choice' is 'required' but no 'tools' were given.", "tool_choice")

    fmt = body.get("response_format")
    if fmt is not None:
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind == "json_object":
            if "json" not in json.dumps(messages).lower():
                raise _BadRequest(
                    "'messages' must contain the word 'json' in some form, to use 'response_format' "
                    "of type 'json_object'.",
                    "messages",
                )
        elif kind == "json_schema":
            spec = fmt.get("json_schema") or {}
            if not isinstance(spec.get("name"), str) or not _NAME_RE.match(spec["name"]):
                raise _BadRequest(
                    "Invalid 'response_format.json_schema.name'.", "response_format.json_schema.name"
                )
            if spec.get("strict"):
                problems = strict_schema_violations(spec.get("schema"))
                if problems:
                    raise _BadRequest(
                        f"Invalid schema for response_format '{spec['name']}': {problems[0]}",
                        "response_format",
                        "invalid_json_schema",
                    )
        elif kind != "text":
            raise _BadRequest(f"Invalid value for 'response_format.type': {kind!r}.", "response_format.type")


def _check_tool_pairing(messages: list[dict[str, Any]]) -> None:
    pending: list[str] = []
    for i, m in enumerate(messages):
        role = m["role"]
        if role == "tool":
            if m["tool_call_id"] not in pending:
                raise _BadRequest(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                    "message with 'tool_calls'.",
                    f"messages.[{i}].role",
                )
            pending.remove(m["tool_call_id"])
            continue
        if pending:
            raise _BadRequest(_unanswered(pending), f"messages.[{i}].role")
        if role == "assistant" and m.get("tool_calls"):
            pending = [tc.get("id") for tc in m["tool_calls"]]
            if len(set(pending)) != len(pending) or not all(pending):
                raise _BadRequest(
                    f"messages[{i}].tool_calls: every tool call needs a unique id.", f"messages.[{i}]"
                )
    if pending:
        raise _BadRequest(_unanswered(pending), "messages")


def _unanswered(pending: list[str]) -> str:
    return (
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
        f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(pending)}"
    )


# ---------------------------------------------------------------------------------------------
# the app


def _as_turn(item: TurnLike) -> Turn:
    if isinstance(item, Turn):
        return item
    if isinstance(item, str):
        return Turn(content=item)
    if isinstance(item, dict):
        return Turn(content=item.get("content"), tool_calls=list(item.get("tool_calls") or []))
    raise TypeError(
        f"a script turn must be Turn, str, dict or a callable returning one, not {type(item).__name__}"
    )


class _State:
    """Script cursor and id counters (one per app)."""

    def __init__(self, script: Script | None):
        self.script: list[Any] = list(script or [])
        self.cursor = 0
        self.ids = itertools.count(1)
        self.call_ids = itertools.count(1)
        self.lock = asyncio.Lock()

    def next_turn(self, body: dict[str, Any]) -> Turn:
        if self.cursor >= len(self.script):
            return Turn(content=EXHAUSTED_TEXT)
        item = self.script[self.cursor]
        self.cursor += 1
        return _as_turn(item(body) if callable(item) else item)


def create_llm_app(script: Script | None = None) -> Starlette:
    """The double as an ASGI app; `app.state.requests` holds every chat-completions body received."""

    async def models(request: Request) -> Response:
        if (denied := _auth(request)) is not None:
            return denied
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "bbscout-tests"}],
            }
        )

    async def completions(request: Request) -> Response:
        if (denied := _auth(request)) is not None:
            return denied
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.")
        app.state.requests.append(body)
        try:
            _validate_request(body)
        except _BadRequest as exc:
            return _error(exc.status, exc.message, param=exc.param, code=exc.code)
        state: _State = app.state.llm
        async with state.lock:
            try:
                turn = state.next_turn(body)
            except Exception as exc:  # a broken callable turn is a test bug: say so loudly
                return _error(
                    500, f"test double: script turn raised {type(exc).__name__}: {exc}", type_="server_error"
                )
        if turn.status != 200:
            kind = {401: "invalid_request_error", 429: "rate_limit_exceeded"}.get(turn.status, "server_error")
            return _error(turn.status, turn.error_message, type_=kind)
        try:
            message, finish = _shape_reply(turn, body, state)
        except _BadRequest as exc:
            return _error(500, exc.message, type_="server_error")
        n = next(state.ids)
        usage = {
            "prompt_tokens": estimate_tokens(
                {
                    "messages": body["messages"],
                    "tools": body.get("tools"),
                    "response_format": body.get("response_format"),
                }
            ),
            "completion_tokens": estimate_tokens(
                (message.get("content") or "") + json.dumps(message.get("tool_calls") or [])
            ),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        completion_id = f"chatcmpl-double-{n}"
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(
                _sse(completion_id, message, finish, usage if include_usage else None),
                media_type="text/event-stream",
            )
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": MODEL_ID,
                "system_fingerprint": "fp_test_double",
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": usage,
            }
        )

    app = Starlette(
        routes=[
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/chat/completions", completions, methods=["POST"]),
        ]
    )
    app.state.requests = []
    app.state.llm = _State(script)
    return app


def _auth(request: Request) -> Response | None:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return _error(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization "
            "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            code="invalid_api_key",
        )
    return None


def _shape_reply(turn: Turn, body: dict[str, Any], state: _State) -> tuple[dict[str, Any], str]:
    """Turn a scripted turn into an assistant message, honouring tool_choice and parallel_tool_calls."""
    calls = [
        c if isinstance(c, ToolCall) else ToolCall(c["name"], c.get("arguments", {}), c.get("id"))
        for c in turn.tool_calls
    ]
    choice = body.get("tool_choice")
    if not body.get("tools") or choice == "none":
        calls = []
    elif body.get("parallel_tool_calls") is False:
        calls = calls[:1]
    if (choice == "required" or isinstance(choice, dict)) and not calls:
        raise _BadRequest("test double: tool_choice demands a tool call but the scripted turn has none")
    if isinstance(choice, dict) and any(c.name != choice["function"]["name"] for c in calls):
        raise _BadRequest("test double: scripted tool call does not match the named tool_choice")
    message: dict[str, Any] = {"role": "assistant", "content": turn.content, "refusal": turn.refusal}
    if calls:
        message["tool_calls"] = [
            {
                "id": c.id or f"call_{next(state.call_ids)}",
                "type": "function",
                "function": {
                    "name": c.name,
                    "arguments": c.arguments if isinstance(c.arguments, str) else json.dumps(c.arguments),
                },
            }
            for c in calls
        ]
    if message["content"] is None and not calls and turn.refusal is None:
        message["content"] = ""
    finish = turn.finish_reason or ("tool_calls" if calls else "stop")
    return message, finish


async def _sse(
    completion_id: str, message: dict[str, Any], finish: str, usage: dict[str, int] | None
) -> AsyncIterator[bytes]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> bytes:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "system_fingerprint": "fp_test_double",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            **extra,
        }
        if usage is not None:
            payload["usage"] = None
        return f"data: {json.dumps(payload)}\n\n".encode()

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    text = message.get("content") or ""
    for piece in re.findall(r"\S+\s*|\s+", text):
        yield chunk({"content": piece})
    for index, call in enumerate(message.get("tool_calls") or []):
        yield chunk(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["function"]["name"], "arguments": ""},
                    }
                ]
            }
        )
        args = call["function"]["arguments"]
        for start in range(0, len(args), 16):
            yield chunk(
                {"tool_calls": [{"index": index, "function": {"arguments": args[start : start + 16]}}]}
            )
    yield chunk({}, finish)
    if usage is not None:
        final = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "system_fingerprint": "fp_test_double",
            "choices": [],
            "usage": usage,
        }
        yield f"data: {json.dumps(final)}\n\n".encode()
    yield b"data: [DONE]\n\n"


# ---------------------------------------------------------------------------------------------
# loopback runner (sandbox.server.LoopbackServer)


class LLMDoubleServer:
    """Runs the double over real loopback HTTP (127.0.0.1, a free port) in a background thread.

    Uses the sandbox's `LoopbackServer` (uvicorn); sync or async context manager. `.base_url` is the
    `/v1` root to hand to `AsyncOpenAI(base_url=...)`, `.requests` the recorded bodies, `.set_script()`
    swaps the script between scenarios.
    """

    def __init__(self, script: Script | None = None, *, app: Starlette | None = None) -> None:
        self.app = app if app is not None else create_llm_app(script)
        self._loopback = LoopbackServer(self.app)
        self._running = False

    @property
    def base_url(self) -> str:
        if not self._running:
            raise RuntimeError("LLMDoubleServer is not running; use it as a context manager")
        return f"http://{self._loopback.host}:{self._loopback.port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.app.state.requests

    def set_script(self, script: Script | None) -> None:
        """Replace the script and forget recorded requests."""
        self.app.state.llm = _State(script)
        self.app.state.requests.clear()

    def __enter__(self) -> LLMDoubleServer:
        self._loopback.start()
        self._running = True
        return self

    def __exit__(self, *exc: object) -> None:
        self._running = False
        self._loopback.stop()
        self._loopback.port = 0

    async def __aenter__(self) -> LLMDoubleServer:
        await asyncio.to_thread(self.__enter__)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.__exit__)
