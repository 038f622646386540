"""The ReAct baseline (`bbscout eval --planner llm --baseline react`): LangGraph's prebuilt ReAct agent
with bbscout's own tools and the same OpenAI-compatible model, graded by the same graders.

Why: bbscout's plan → act → review → report graph must beat a plain tool-calling loop on accuracy,
HTTP requests and tokens to justify itself. The baseline gets the identical tool set
(`tools.registry.TOOLS`, each wrapped as a LangChain `StructuredTool` whose output is
`tools.render.render_result`), the identical sandbox and budget, and the identical model endpoint.
Its document is built the way bbscout's is: the final message is the answer, and every evidence
record whose ref the answer cites becomes an entity.

`langgraph.prebuilt.create_react_agent` is deprecated in favour of `langchain.agents.create_agent`
(package `langchain`, not installed here); the deprecation warning is silenced locally only.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable
from typing import Any

from bbscout.evals.case import Case
from bbscout.tools.evidence import Evidence

__all__ = ["SYSTEM_PROMPT", "build_react_agent", "langchain_tools", "run_react_case"]

SYSTEM_PROMPT = (
    "You answer an on-call engineer's questions about the Bitbucket Cloud workspace '{workspace}' using only "
    "the read-only tools. Now is {now} (user time zone {tz}); compute absolute UTC times for tool arguments. "
    "Cite every object by the exact ref the tools print (e.g. pipeline:REPO#BUILD, pr:REPO#ID, "
    "commit:REPO@HASH). Never invent ids. If the question cannot be answered from Bitbucket or asks for a "
    "change, say so."
)
_REF = re.compile(r"\b(?:pipeline|pr|commit|branch|deployment|repo|file|step):[^\s\])`'\",]+")


def langchain_tools(ctx: Any, evidence: dict[str, Evidence]) -> list[Any]:
    """bbscout's tools as LangChain tools; records seen are collected into `evidence` by ref."""
    from langchain_core.tools import StructuredTool

    from bbscout.tools.registry import TOOLS, run_tool
    from bbscout.tools.render import render_result

    def make(name: str) -> Callable[..., Any]:
        async def call(**kwargs: Any) -> str:
            try:
                result = await run_tool(ctx, name, kwargs)
            except Exception as exc:
                return f"[{name}] error: {type(exc).__name__}: {exc}"
            for r in result.records:
                evidence[r.ref] = r
            return render_result(result)

        return call

    return [
        StructuredTool.from_function(
            coroutine=make(t.name), name=t.name, description=t.description or t.name, args_schema=t.args_model
        )
        for t in TOOLS.values()
    ]


def build_react_agent(model: Any, tools: list[Any], prompt: str) -> Any:
    """The prebuilt ReAct graph (create_react_agent), with only its deprecation warning silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*create_react_agent.*")
        from langgraph.prebuilt import create_react_agent

        return create_react_agent(model, tools, prompt=prompt)


def _chat_model(cfg: Any) -> Any:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=cfg.model or "gpt-4o-mini",
        api_key=cfg.openai_api_key or "sk-eval",
        base_url=cfg.openai_base_url,
        temperature=0,
        max_retries=1,
    )


def _tokens(messages: list[Any]) -> int:
    total = 0
    for m in messages:
        usage = getattr(m, "usage_metadata", None) or {}
        total += int(usage.get("total_tokens", 0) or 0)
    return total


async def run_react_case(
    case: Case,
    world: Any,
    cfg: Any,
    client_factory: Callable[[Any, Any, int], Any],
    turns: list[Any],
) -> tuple[list[tuple[dict[str, Any], int]], Any]:
    """Run every turn of `case` through the ReAct baseline; returns [(document, exit_code)] and the app."""
    from langchain_core.messages import HumanMessage

    from bbscout.agent.output import entity
    from bbscout.sandbox.app import SandboxSettings, create_app
    from bbscout.sandbox.faults import FAULT_PROFILES
    from bbscout.tools.context import ToolContext

    app = create_app(world, SandboxSettings(faults=FAULT_PROFILES[cfg.faults]))
    client = client_factory(world, app, cfg.budget)
    out: list[tuple[dict[str, Any], int]] = []
    async with client:
        ctx = ToolContext(client=client, workspace=client.workspace)
        evidence: dict[str, Evidence] = {}
        prompt = SYSTEM_PROMPT.format(workspace=client.workspace, now=case.now.isoformat(), tz=case.tz)
        agent = build_react_agent(_chat_model(cfg), langchain_tools(ctx, evidence), prompt)
        history: list[Any] = []
        for turn in turns:
            before_req, before_bytes = client.stats.requests, client.stats.bytes
            started = time.perf_counter()
            history.append(HumanMessage(turn.question))
            state = await agent.ainvoke({"messages": history}, config={"recursion_limit": 24})
            new = state["messages"][len(history) :]
            history = list(state["messages"])
            final = state["messages"][-1]
            text = final.content if isinstance(final.content, str) else str(final.content)
            cited = list(dict.fromkeys(m.group(0).rstrip(".:;") for m in _REF.finditer(text)))
            entities = [e for ref in cited if ref in evidence and (e := entity(evidence[ref]))]
            doc = {
                "question": turn.question,
                "planner": "react-baseline",
                "now": turn.now.isoformat(),
                "window": None,
                "answer": text,
                "entities": entities,
                "findings": [],
                "gaps": [],
                "stats": {
                    "http_requests": client.stats.requests - before_req,
                    "http_bytes": client.stats.bytes - before_bytes,
                    "tool_calls": sum(1 for m in new if getattr(m, "type", "") == "tool"),
                    "llm_tokens": _tokens(new),
                    "seconds": round(time.perf_counter() - started, 3),
                },
                "confidence": None,
                "next_step": None,
                "timeline": [],
            }
            out.append((doc, 0))
    return out, app
