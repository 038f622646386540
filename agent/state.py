"""Graph state: JSON-plain so it survives a checkpoint round-trip (STYLE pitfall 5).

`InputState` is what a caller passes; `State` adds what the nodes write. Pydantic objects (PlanRequest,
Conversation, Plan, StepOutcome with its typed evidence, Report) are dumped with `model_dump(mode="json")`
at node boundaries and validated back by the helpers below. No key is written by parallel branches, so
none needs a reducer.

A turn: `intake` writes `request` and resets the turn's working keys (`pending`, `outcomes`, `round`,
`gaps`, `report`); `guard` writes `refusal` (a request to act, or None); `plan` and `review` write
`plan`, `pending` and `conversation`; `act` appends `outcomes`; `report` writes `report`, `previous`
and `turns`. Two keys carry a chat into its next turn: `previous` (the last answer's question, plan and
cited records, the details fetched about them and what the earlier answers cited: the thread's
referents, `agent.referents.thread`) and `conversation` (the LLM planner's chat with its model).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from bbscout.agent.plan import StepOutcome, by_ref
from bbscout.agent.planners.base import Conversation, PlanRequest, PriorTurn
from bbscout.tools.evidence import Evidence


class InputState(TypedDict, total=False):
    question: str
    now: str  # ISO-8601, aware
    tz: str
    mode: str  # "ask" | "investigate"
    incident_at: str | None
    repo_filter: list[str] | None


class State(InputState, total=False):
    request: dict[str, Any]  # the PlanRequest intake read (without `previous`, which is its own key)
    refusal: dict[str, Any] | None  # the request to act the guard refused (`agent.readonly.ActRequest`)
    conversation: dict[str, Any]  # the planner's Conversation with its model, across turns
    plan: dict[str, Any]
    pending: list[dict[str, Any]]  # steps not yet run
    outcomes: list[dict[str, Any]]  # StepOutcome dumps, in run order
    round: int
    gaps: list[str]
    report: dict[str, Any]
    previous: dict[str, Any] | None  # PriorTurn of the last turn: question, plan, primary, held, earlier
    turns: int


def cited_records(state: Mapping[str, Any]) -> dict[str, Evidence]:
    """What a finished turn's answer may cite, by ref: its evidence and the previous answer's records."""
    outcomes = [StepOutcome.model_validate(o) for o in state.get("outcomes", [])]
    previous = state.get("previous")
    return by_ref(outcomes, reversed(PriorTurn.model_validate(previous).citable()) if previous else [])


def dump_request(request: PlanRequest) -> dict[str, Any]:
    """The request as state holds it: JSON-plain, the previous turn left to `previous`."""
    return request.model_dump(mode="json", exclude={"previous"})


def request_of(state: State) -> PlanRequest:
    """The turn's request as intake read it (no re-parsing, no Bitbucket call)."""
    return PlanRequest.model_validate({**state["request"], "previous": state.get("previous")})


def conversation_of(state: State) -> Conversation:
    """The planner's conversation so far (empty on a thread's first turn, and for the rules planner)."""
    return Conversation.model_validate(state.get("conversation") or {})
