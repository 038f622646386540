"""The graph for LangGraph's own server and Studio (`langgraph.json` points here).

LangGraph's server owns the checkpointer and passes only plain data, while bbscout's graph needs a
live Bitbucket client, planner and reporter in its `Context`. So this graph has one node that
opens a session from the environment's settings (as the CLI does) and runs the investigation graph
inside it, seeded with the thread's previous turn, and returns the same JSON-plain state: a
follow-up on any server replica sees the earlier evidence.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from bbscout.agent.graph import RECURSION_LIMIT, build_graph
from bbscout.agent.runtime import open_session
from bbscout.agent.settings import load_settings
from bbscout.agent.state import InputState, State


async def answer(state: State) -> dict[str, Any]:
    """One turn of the investigation graph, with a session built from the environment."""
    now = datetime.fromisoformat(state["now"]) if state.get("now") else datetime.now(UTC)
    inner = build_graph().compile(checkpointer=InMemorySaver(), name="bbscout")
    config: RunnableConfig = {"configurable": {"thread_id": "turn"}, "recursion_limit": RECURSION_LIMIT}
    async with open_session(load_settings(), now=now) as session:
        carried = {k: state[k] for k in ("previous", "conversation", "turns") if state.get(k)}
        if carried:
            await inner.aupdate_state(config, carried, as_node="report")
        inputs: InputState = {
            "question": state["question"],
            "now": now.isoformat(),
            "tz": state.get("tz") or "UTC",
            "mode": state.get("mode") or "ask",
            "incident_at": state.get("incident_at"),
            "repo_filter": state.get("repo_filter"),
        }
        final = await inner.ainvoke(inputs, config=config, context=session.context())
    return cast(dict[str, Any], final)


def build_deploy_graph() -> StateGraph[State, None, InputState, State]:
    builder = StateGraph(State, input_schema=InputState)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    return builder


graph = build_deploy_graph().compile(name="bbscout")
