"""The one place bbscout talks to an OpenAI-compatible Chat Completions endpoint.

`LLMClient` wraps `openai.AsyncOpenAI` (openai>=3, which uses httpx2 internally; we never hand it an
HTTP client), accumulates token usage across calls, keeps every request inside a context budget and
turns every openai failure into one `LLMError` whose message says what to do — never the API key.

Context budget: tokens are estimated as ~4 characters of compact JSON per token (messages + tools +
response_format). When over budget, tool outputs are cut oldest first (their last line, e.g. a closing
data-block tag, is kept) with the note `[…cut to fit the context budget]`; if that is not enough the
longest other non-system message is cut. Messages are never dropped, so every assistant tool call keeps
its tool answer (OpenAI rejects a conversation where one is missing).

Exceptions:
    LLMError — connection, authentication, rate limit, other HTTP status, or a budget that cannot fit.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from typing import Any

import openai
from pydantic import SecretStr

__all__ = [
    "CUT_NOTE",
    "ChatResult",
    "LLMClient",
    "LLMError",
    "Usage",
    "estimate_tokens",
    "fit_to_budget",
    "share_budget",
]

CUT_NOTE = "[…cut to fit the context budget]"
DEFAULT_MAX_CONTEXT_TOKENS = 24000
CHARS_PER_TOKEN = 4
_MIN_KEEP_CHARS = 200  # what a cut tool output keeps at least, before dropping to the note alone


class LLMError(Exception):
    """An LLM call failed; `kind` is one of connection/auth/rate_limit/status/budget/response."""

    def __init__(self, message: str, *, kind: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


@dataclass
class Usage:
    """Token usage as the endpoint reported it, summed over `calls`."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    calls: int = 0

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.total_tokens += other.total_tokens
        self.calls += other.calls


@dataclass
class ChatResult:
    """One completion: the assistant `message` as a plain dict (ready to append to a conversation)."""

    message: dict[str, Any]
    usage: Usage
    finish_reason: str | None = None
    model: str = ""
    cut: bool = False  # the request was trimmed to fit the context budget
    sent_messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def content(self) -> str | None:
        return self.message.get("content")

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        return list(self.message.get("tool_calls") or [])


def estimate_tokens(obj: Any) -> int:
    """Rough, deterministic token estimate: ~4 characters of compact JSON per token."""
    if obj is None:
        return 0
    text = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _cut_text(text: str, keep_chars: int) -> str:
    """Cut `text` to about `keep_chars`, keeping its head and a short last line (e.g. a closing tag)."""
    if len(text) <= keep_chars:
        return text
    head, _, last = text.rpartition("\n")
    tail = "\n" + last if head and len(last) <= 120 else ""
    body = text[: len(text) - len(tail)] if tail else text
    keep = max(0, keep_chars - len(tail) - len(CUT_NOTE) - 2)
    return f"{body[:keep].rstrip()}\n{CUT_NOTE}{tail}"


def fit_to_budget(
    messages: list[dict[str, Any]], budget_tokens: int, *, overhead_tokens: int = 0
) -> tuple[list[dict[str, Any]], bool]:
    """Return a copy of `messages` that fits `budget_tokens` (see module docstring) and whether it cut.

    Raises:
        LLMError: even cutting every tool output and the longest message cannot fit.
    """
    msgs = copy.deepcopy(messages)
    excess = (estimate_tokens(msgs) + overhead_tokens - budget_tokens) * CHARS_PER_TOKEN
    if excess <= 0:
        return msgs, False
    excess += 64  # JSON escaping of the note and newlines

    def cut(index: int, floor: int) -> None:
        nonlocal excess
        content = msgs[index].get("content")
        if not isinstance(content, str) or len(content) <= floor + len(CUT_NOTE) + 2:
            return
        target = max(floor, len(content) - excess)
        new = _cut_text(content, target)
        if len(new) < len(content):
            excess -= len(content) - len(new)
            msgs[index]["content"] = new

    tool_indexes = [i for i, m in enumerate(msgs) if m.get("role") == "tool"]
    for floor in (_MIN_KEEP_CHARS, 0):
        for i in tool_indexes:  # oldest first
            if excess <= 0:
                return msgs, True
            cut(i, floor)
    while excess > 0:
        candidates = [
            i
            for i, m in enumerate(msgs)
            if m.get("role") in {"user", "tool", "assistant"}
            and isinstance(m.get("content"), str)
            and len(m["content"]) > _MIN_KEEP_CHARS + len(CUT_NOTE) + 2
        ]
        if not candidates:
            break
        before = excess
        cut(max(candidates, key=lambda i: len(msgs[i]["content"])), _MIN_KEEP_CHARS)
        if excess == before:
            break
    if excess > 0:
        raise LLMError(
            f"the conversation does not fit the context budget of {budget_tokens} tokens even after cutting "
            "tool outputs; raise max_context_tokens or ask a narrower question",
            kind="budget",
        )
    return msgs, True


def share_budget(texts: list[str], total_chars: int) -> list[str]:
    """Cut `texts` so together they fit `total_chars`, the longest cut first (water-filling)."""
    if sum(len(t) for t in texts) <= total_chars:
        return list(texts)
    lengths = sorted(len(t) for t in texts)
    remaining, cap = total_chars, 0
    for n, length in enumerate(lengths):
        share = remaining // (len(lengths) - n)
        if length > share:
            cap = share
            break
        remaining -= length
    else:  # pragma: no cover - unreachable: the sum exceeded total_chars
        cap = lengths[-1]
    return [t if len(t) <= cap else _cut_text(t, cap) for t in texts]


class LLMClient:
    """Chat Completions through `openai.AsyncOpenAI` with usage accounting and a context budget.

    Args:
        api_key: the endpoint's key; kept as SecretStr, never printed or put into an error.
        base_url: the `/v1` root (None = the SDK's default / OPENAI_BASE_URL).
        model: the model id to request.
        temperature: sampling temperature (0 for reproducible plans).
        max_context_tokens: estimated-token budget for one request, including tool schemas.
        timeout: seconds per request.
        max_retries: SDK retries for connection errors, 429 and 5xx.
    """

    def __init__(
        self,
        *,
        api_key: SecretStr,
        base_url: str | None,
        model: str,
        temperature: float = 0.0,
        max_context_tokens: int = DEFAULT_MAX_CONTEXT_TOKENS,
        timeout: float = 60,
        max_retries: int = 2,
    ) -> None:
        if not api_key.get_secret_value():
            raise LLMError("no API key for the LLM endpoint; set OPENAI_API_KEY", kind="auth")
        self._api_key = api_key
        self.base_url = base_url
        self.model = model
        self.temperature = temperature
        self.max_context_tokens = max_context_tokens
        self.timeout = timeout
        self.usage = Usage()
        self._client = openai.AsyncOpenAI(
            api_key=api_key.get_secret_value(), base_url=base_url, timeout=timeout, max_retries=max_retries
        )

    def __repr__(self) -> str:
        return f"LLMClient(model={self.model!r}, base_url={self.base_url!r}, api_key=SecretStr('**********'))"

    async def aclose(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def fits(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> bool:
        """Whether `messages` fit the budget without cutting anything."""
        total = estimate_tokens(messages) + estimate_tokens(tools) + estimate_tokens(response_format)
        return total <= self.max_context_tokens

    async def chat(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        response_format: dict[str, Any] | None = None,
        *,
        parallel_tool_calls: bool | None = None,
    ) -> ChatResult:
        """One completion; `messages` are not mutated (a trimmed copy is sent when over budget).

        Raises:
            LLMError: the endpoint could not be reached or refused the request, or nothing fits the budget.
        """
        overhead = estimate_tokens(tools) + estimate_tokens(response_format)
        sent, was_cut = fit_to_budget(messages, self.max_context_tokens, overhead_tokens=overhead)
        kwargs: dict[str, Any] = {"model": self.model, "messages": sent, "temperature": self.temperature}
        if tools:
            kwargs["tools"] = tools
            if tool_choice is not None:
                kwargs["tool_choice"] = tool_choice
            if parallel_tool_calls is not None:
                kwargs["parallel_tool_calls"] = parallel_tool_calls
        if response_format is not None:
            kwargs["response_format"] = response_format
        try:
            completion = await self._client.chat.completions.create(**kwargs)
        except openai.OpenAIError as exc:
            raise self._map_error(exc) from None
        if not completion.choices:
            raise LLMError(f"the LLM endpoint at {self._where()} returned no choices", kind="response")
        choice = completion.choices[0]
        message: dict[str, Any] = {"role": "assistant", "content": choice.message.content}
        if choice.message.tool_calls:
            message["tool_calls"] = [
                {
                    "id": tc.id,
                    "type": "function",
                    "function": {"name": tc.function.name, "arguments": tc.function.arguments},
                }
                for tc in choice.message.tool_calls
                if getattr(tc, "function", None) is not None
            ]
        if getattr(choice.message, "refusal", None):
            message["refusal"] = choice.message.refusal
        usage = Usage(calls=1)
        if completion.usage is not None:
            usage.prompt_tokens = completion.usage.prompt_tokens
            usage.completion_tokens = completion.usage.completion_tokens
            usage.total_tokens = completion.usage.total_tokens
        self.usage.add(usage)
        return ChatResult(
            message=message,
            usage=usage,
            finish_reason=choice.finish_reason,
            model=completion.model,
            cut=was_cut,
            sent_messages=sent,
        )

    def _where(self) -> str:
        return self.base_url or "the default OpenAI endpoint"

    def _scrub(self, text: str) -> str:
        key = self._api_key.get_secret_value()
        return text.replace(key, "**********") if key else text

    def _map_error(self, exc: openai.OpenAIError) -> LLMError:
        where = self._where()
        if isinstance(exc, openai.APITimeoutError):
            return LLMError(
                f"the LLM endpoint at {where} did not answer within {self.timeout:g}s; retry, or raise "
                "the timeout",
                kind="connection",
            )
        if isinstance(exc, openai.APIConnectionError):
            return LLMError(
                f"cannot reach the LLM endpoint at {where}; check OPENAI_BASE_URL and the network",
                kind="connection",
            )
        if isinstance(exc, openai.AuthenticationError):
            return LLMError(
                f"the LLM endpoint at {where} rejected the API key (HTTP 401); check OPENAI_API_KEY",
                kind="auth",
                status=401,
            )
        if isinstance(exc, openai.RateLimitError):
            return LLMError(
                f"the LLM endpoint at {where} is rate-limiting or out of quota (HTTP 429); wait and "
                "retry, or check the account's quota",
                kind="rate_limit",
                status=429,
            )
        if isinstance(exc, openai.APIStatusError):
            detail = self._scrub(_error_message(exc))
            hint = {
                400: "the request was rejected; this is a bbscout bug if it repeats",
                403: "the key may not have access to this model",
                404: f"check the model name {self.model!r} and OPENAI_BASE_URL",
            }.get(exc.status_code, "retry later")
            return LLMError(
                f"the LLM endpoint at {where} returned HTTP {exc.status_code}: {detail} ({hint})",
                kind="status",
                status=exc.status_code,
            )
        return LLMError(
            f"LLM call failed: {type(exc).__name__}: {self._scrub(str(exc))[:300]}", kind="response"
        )


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        message = err.get("message") if isinstance(err, dict) else None
        if isinstance(message, str):
            return message[:300]
    return str(exc.message)[:300]
