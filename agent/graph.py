"""The investigation graph: intake → guard → plan → act ⇄ review → report. The only module wiring nodes."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any, Literal

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from bbscout.agent.act import run_ready
from bbscout.agent.context import Context
from bbscout.agent.coverage import honour_constraints
from bbscout.agent.frugality import allowance_for
from bbscout.agent.plan import Plan, Step, StepOutcome
from bbscout.agent.planners.base import PlanRequest, PriorTurn
from bbscout.agent.readonly import guard_question, help_for
from bbscout.agent.referents.thread import next_turn, said_first
from bbscout.agent.review import call_key, follow_up_gaps, follow_ups
from bbscout.agent.state import InputState, State, conversation_of, dump_request, request_of
from bbscout.agent.verify import verify_report
from bbscout.tools.bitbucket import BitbucketError
from bbscout.tools.context import list_repository_records

RECURSION_LIMIT = 64


def _emit(event: dict[str, Any]) -> None:
    with suppress(RuntimeError):  # outside a streaming run there is no writer
        get_stream_writer()(event)


async def intake(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Start the turn: read the question once (window, hints) against the workspace's repositories."""
    gaps: list[str] = []
    try:
        repositories = await list_repository_records(runtime.context.tools)
    except BitbucketError as exc:  # the planners still plan; the steps will meet the same error
        repositories, gaps = [], [exc.explain()]
    previous = state.get("previous")
    incident_at = state.get("incident_at")
    request = PlanRequest.read(
        state["question"],
        datetime.fromisoformat(state["now"]),
        tz=state.get("tz") or "UTC",
        mode="investigate" if state.get("mode") == "investigate" else "ask",
        incident_at=datetime.fromisoformat(incident_at) if incident_at else None,
        repo_filter=state.get("repo_filter"),
        repositories=repositories,
        previous=PriorTurn.model_validate(previous) if previous else None,
    )
    return {
        "request": dump_request(request),
        "outcomes": [],
        "pending": [],
        "round": 0,
        "gaps": gaps,
        "report": {},
    }


async def guard(state: State) -> dict[str, Any]:
    """Read-only: a request to change Bitbucket is recognised here, before any planner or model sees it."""
    refusal = guard_question(request_of(state))
    if refusal is not None:
        _emit({"event": "refused", "action": refusal["action"]})
    return {"refusal": refusal}


async def plan(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Understand the question and make the first steps (a refused request: its read-only help)."""
    planner = help_for(state) or runtime.context.planner
    planned = await planner.plan(request_of(state), conversation_of(state))
    made = planned.plan
    _emit({"event": "planned", "family": made.family, "intent": made.intent, "steps": len(made.steps)})
    return {
        "plan": made.model_dump(mode="json"),
        "pending": [step.model_dump(mode="json") for step in made.steps],
        "conversation": planned.conversation.model_dump(mode="json"),
        "gaps": [*state.get("gaps", []), *planned.gaps],
    }


async def act(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run every ready step concurrently."""
    outcomes = [StepOutcome.model_validate(o) for o in state.get("outcomes", [])]
    pending = [Step.model_validate(s) for s in state.get("pending", [])]
    done = {o.step_id for o in outcomes}
    new = await run_ready(runtime.context.tools, pending, done, _emit)
    ran = {o.step_id for o in new}
    return {
        "outcomes": [o.model_dump(mode="json") for o in outcomes + new],
        "pending": [s.model_dump(mode="json") for s in pending if s.id not in ran],
        "gaps": state.get("gaps", []) + [gap for o in new for gap in o.gaps],
    }


def after_act(state: State) -> Literal["act", "review"]:
    done = {o["step_id"] for o in state.get("outcomes", [])}
    pending = state.get("pending", [])
    return "act" if any(all(d in done for d in s["depends_on"]) for s in pending) else "review"


async def review(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the planner and the generic rules for follow-ups, within rounds and budget."""
    context = runtime.context
    round_no = state.get("round", 0) + 1
    if round_no > context.max_rounds:
        return {"round": round_no, "pending": []}
    if context.tools.client.remaining_budget is not None and context.tools.client.remaining_budget <= 0:
        return {"round": round_no, "pending": [], "gaps": [*state.get("gaps", []), "request budget spent"]}
    made = Plan.model_validate(state["plan"])
    outcomes = [StepOutcome.model_validate(o) for o in state.get("outcomes", [])]
    allowance = allowance_for(context.tools)
    helper = help_for(state)  # a refused turn: the read-only help decides its own follow-ups
    steps = [] if helper else follow_ups(made, outcomes, round_no, context.max_follow_ups, allowance)
    skipped = [] if helper else follow_up_gaps(made, outcomes, allowance)
    seen = {call_key(s.tool, s.args) for s in steps} | {call_key(o.tool, o.args) for o in outcomes}
    reviewed = await (helper or context.planner).review(
        request_of(state), made, outcomes, round_no, conversation_of(state)
    )
    steps += [s for s in reviewed.steps if call_key(s.tool, s.args) not in seen]
    made.steps += steps
    return {
        "round": round_no,
        "plan": made.model_dump(mode="json"),
        "pending": [s.model_dump(mode="json") for s in steps],
        "conversation": reviewed.conversation.model_dump(mode="json"),
        "gaps": [*state.get("gaps", []), *skipped, *reviewed.gaps],
    }


def after_review(state: State) -> Literal["act", "report"]:
    return "act" if state.get("pending") else "report"


async def report(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Write the answer, make its first line honour the plan's constraints (and say how a follow-up was
    read), drop any ref the evidence does not hold, and keep the thread's referents for the next turn."""
    context = runtime.context
    made = Plan.model_validate(state["plan"])
    outcomes = [StepOutcome.model_validate(o) for o in state.get("outcomes", [])]
    gaps = list(dict.fromkeys(state.get("gaps", [])))
    request = request_of(state)
    helper = help_for(state)
    if helper is not None:  # a refusal leads with "read-only", not with the constraints of an unmade query
        written = await helper.report(request, made, outcomes, gaps)
    else:
        written = honour_constraints(
            await context.reporter.report(request, made, outcomes, gaps), made, outcomes
        )
    written = said_first(written, made)
    verified = verify_report(written, outcomes, request.previous, request.question)
    _emit({"event": "reported", "entities": len(verified.entities)})
    turn = next_turn(state["question"], made, outcomes, verified.entities, request.previous)
    return {
        "report": verified.model_dump(mode="json"),
        "previous": turn.model_dump(mode="json"),
        "turns": state.get("turns", 0) + 1,
    }


def build_graph() -> StateGraph[State, Context, InputState, State]:
    """The uncompiled graph (compile with or without a checkpointer)."""
    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    builder.add_node("intake", intake)
    builder.add_node("guard", guard)
    builder.add_node("plan", plan)
    builder.add_node("act", act)
    builder.add_node("review", review)
    builder.add_node("report", report)
    builder.add_edge(START, "intake")
    builder.add_edge("intake", "guard")
    builder.add_edge("guard", "plan")
    builder.add_edge("plan", "act")
    builder.add_conditional_edges("act", after_act)
    builder.add_conditional_edges("review", after_review)
    builder.add_edge("report", END)
    return builder


graph = build_graph().compile(name="bbscout")
