"""The LLM planner: an OpenAI-compatible model picks the read-only tool calls, round by round.

`plan()` sends the planner prompt and the question with every tool as a strict function; each tool call
in the reply becomes a `Step` whose id is the tool_call id (first-round calls are primary and
independent). `review()` continues the same conversation: it answers every tool call with a `tool`
message holding the outcome inside a `<bitbucket_data>` block, and asks again; new tool calls become
new steps, plain content means done.

The planner keeps nothing between calls: the conversation (`planners.base.Conversation`) comes in
with each call and goes back out, and the graph keeps it in state, so any process continues any
thread. A chat's next question is a new turn of the same conversation (the system prompt refreshed,
the last `MAX_EARLIER_TURNS` turns kept), so the model sees what it asked and learned before.

Conversation invariants (OpenAI rejects violations with a 400):
- every assistant tool call gets exactly one tool answer: outcomes by step id, "not run" otherwise
  (also for calls a turn left unanswered when the next turn starts);
- outcomes of steps this planner did not request (the lead's generic follow-ups, or all of them when
  the rules planner planned this turn after an LLM failure) are added as a synthesized assistant
  tool_calls message plus their tool answers;
- an invalid tool call is never kept in the history: the model is re-asked once on a scratch copy in
  which the invalid calls are answered with the validation error, and only valid calls are recorded.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bbscout.agent.focus import Focus, Incident
from bbscout.agent.intake import Understanding
from bbscout.agent.llm import ChatResult, LLMClient
from bbscout.agent.plan import Family, Plan, Step, StepOutcome, Window
from bbscout.agent.planners.base import Conversation, Planned, PlanRequest, Reviewed
from bbscout.agent.planners.constraints import constraints_of
from bbscout.agent.prompts import DATA_REMINDER, data_block, load_prompt, outcome_text
from bbscout.agent.referents.thread import prompt_block
from bbscout.agent.tool_schemas import ToolCallError, openai_tools, parse_tool_call

__all__ = ["TOOL_FAMILY", "LLMPlanner", "tool_message"]

log = logging.getLogger(__name__)

TOOL_FAMILY: dict[str, Family] = {
    "list_repositories": "repositories",
    "resolve_repository": "repositories",
    "list_pipelines": "pipelines",
    "get_pipeline": "pipelines",
    "pipeline_failure": "pipelines",
    "list_pull_requests": "pull_requests",
    "get_pull_request": "pull_requests",
    "pull_requests_for_commit": "pull_requests",
    "pull_request_commits": "commits",
    "pull_request_files": "pull_requests",
    "list_commits": "commits",
    "get_commit": "commits",
    "commits_between": "commits",
    "list_branches": "branches",
    "list_deployments": "deployments",
    "deployment_changes": "deployments",
    "search_code": "code",
    "browse_source": "code",
    "resolve_person": "repositories",
}
# lookups that only prepare the real calls: they decide the family only when nothing else was called
_LOOKUPS = frozenset({"resolve_repository", "resolve_person"})
MAX_REPOSITORIES_SHOWN = 200
MAX_EARLIER_TURNS = 4  # chat turns kept before the current one (each whole, so every call keeps its answer)
_NOT_RUN = "not run: bbscout did not execute this call."
_ACCEPTED = "accepted: this call will be run and its result sent later; do not request it again."


def tool_message(call_id: str, tool: str, body: str) -> dict[str, Any]:
    """A `tool` message answering `call_id`, its body inside a delimited untrusted-data block."""
    return {
        "role": "tool",
        "tool_call_id": call_id,
        "content": f"Result of {tool} (step {call_id}). {DATA_REMINDER}\n"
        + data_block(body, tool=tool, step=call_id),
    }


@dataclass
class _Parsed:
    steps: list[Step] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)  # the valid calls, as sent by the model
    problems: list[tuple[dict[str, Any], str]] = field(default_factory=list)


class LLMPlanner:
    """Planner backed by an OpenAI-compatible chat model (see module docstring).

    Args:
        client: the LLM client (shared with the reporter, so usage adds up in one place).
        workspace: the workspace slug, shown to the model.
        max_rounds: act rounds in total; `review()` with `round_no >= max_rounds` proposes nothing.
    """

    name: Literal["llm"] = "llm"

    def __init__(self, client: LLMClient, *, workspace: str | None = None, max_rounds: int = 3) -> None:
        self.client = client
        self.workspace = workspace
        self.max_rounds = max_rounds
        self.tools = openai_tools()

    # -- public -------------------------------------------------------------------------------

    async def plan(self, request: PlanRequest, conversation: Conversation) -> Planned:
        conv = self._begin_turn(request, conversation)
        parsed, content, not_understood = await self._ask(conv, [], primary=lambda _step: True)

        steps = parsed.steps
        family = self._family(request, steps)
        focus = self._focus(request, steps, content)
        made = Plan(
            family=family,
            intent=request.question.strip()[:200],
            steps=steps,
            window=self._window(steps, request.now),
            repos=request.repo_filter or self._repos(steps),
            focus=focus,
            understood=[f"{s.tool}({json.dumps(s.args, separators=(',', ':'))})" for s in steps],
            not_understood=not_understood,
        )
        made.constraints = constraints_of(
            request.intake, made, repositories=request.repositories, repo_filter=request.repo_filter
        )
        return Planned(made, conv)

    async def review(
        self,
        request: PlanRequest,
        plan: Plan,
        outcomes: list[StepOutcome],
        round_no: int,
        conversation: Conversation,
    ) -> Reviewed:
        conv = conversation.model_copy(deep=True)
        if conv.turn != _turn_key(request):  # this turn was planned without the model (a fallback)
            conv = self._begin_turn(request, conv)
        self._add_outcomes(conv, outcomes, plan.steps)
        if round_no >= self.max_rounds:
            return Reviewed([], conv)
        replan = {
            "role": "user",
            "content": load_prompt("replan", round_no=round_no, max_rounds=self.max_rounds),
        }
        this_turn = [conv.messages[0], *conv.messages[conv.turn_starts[-1] :], replan]
        if not self.client.fits(this_turn, tools=self.tools):  # earlier turns are cut first when sent
            log.info("llm planner: context budget reached after round %s; stopping", round_no)
            return Reviewed([], conv)
        conv.messages.append(replan)

        weak_tools = {s.tool for s in plan.steps if s.primary and self._weak(s.id, outcomes)}
        existing = list(plan.steps)
        parsed, _content, not_understood = await self._ask(
            conv, existing, primary=lambda step: step.tool in weak_tools
        )
        for note in not_understood:
            log.info("llm planner: %s", note)
        return Reviewed(parsed.steps, conv)

    # -- conversation -------------------------------------------------------------------------

    def _begin_turn(self, request: PlanRequest, conversation: Conversation) -> Conversation:
        """A copy of `conversation` with a turn for `request` begun: calls answered, old turns dropped."""
        conv = conversation.model_copy(deep=True)
        for call in conv.pending:
            conv.messages.append(tool_message(call["id"], call["function"]["name"], _NOT_RUN))
        kept = conv.turn_starts[-MAX_EARLIER_TURNS:]
        earlier = conv.messages[kept[0] :] if kept else []
        conv.messages = [
            {"role": "system", "content": self._system_prompt(request)},
            *earlier,
            {"role": "user", "content": self._user_prompt(request)},
        ]
        conv.turn_starts = [start - kept[0] + 1 for start in kept] + [len(conv.messages) - 1]
        conv.turn = _turn_key(request)
        conv.pending, conv.answered, conv.alias = [], [], {}
        return conv

    async def _ask(
        self, conv: Conversation, existing: list[Step], *, primary: Any
    ) -> tuple[_Parsed, str | None, list[str]]:
        """Ask the model, re-ask once on invalid calls, record the valid calls; returns new steps."""
        result = await self._chat(conv.messages)
        parsed = self._parse(result, conv, existing, primary)
        content = result.content
        not_understood: list[str] = []
        if parsed.problems:
            scratch = [*conv.messages, result.message]
            valid_ids = {c["id"] for c in parsed.calls}
            for call in result.tool_calls:
                error = next((e for c, e in parsed.problems if c["id"] == call["id"]), None)
                text = (
                    f"ERROR: {error}. Fix this call (or drop it) and ask again."
                    if error
                    else _ACCEPTED
                    if call["id"] in valid_ids
                    else "not run"
                )
                scratch.append(tool_message(call["id"], call["function"]["name"], text))
            retry = await self._chat(scratch)
            again = self._parse(retry, conv, [*existing, *parsed.steps], primary)
            parsed.steps += again.steps
            parsed.calls += again.calls
            fixed = {step.tool for step in again.steps} | {c["function"]["name"] for c in again.calls}
            unfixed = [(c, e) for c, e in parsed.problems if c["function"]["name"] not in fixed]
            for call, error in [*unfixed, *again.problems]:
                note = (
                    f"the model's tool call {call['function']['name']} was invalid and was dropped: {error}"
                )
                if note not in not_understood:
                    not_understood.append(note)
            content = content or retry.content
        if parsed.calls:
            conv.messages.append({"role": "assistant", "content": result.content, "tool_calls": parsed.calls})
            conv.pending = list(parsed.calls)
        elif content:
            conv.messages.append({"role": "assistant", "content": content})
        return parsed, content, not_understood

    async def _chat(self, messages: list[dict[str, Any]]) -> ChatResult:
        return await self.client.chat(
            messages, tools=self.tools, tool_choice="auto", parallel_tool_calls=True
        )

    def _parse(self, result: ChatResult, conv: Conversation, existing: list[Step], primary: Any) -> _Parsed:
        parsed = _Parsed()
        seen = {(s.tool, json.dumps(s.args, sort_keys=True)): s.id for s in existing}
        for call in result.tool_calls:
            call_id, name = call["id"], call["function"]["name"]
            if call_id in conv.call_ids:
                parsed.problems.append((call, f"duplicate tool_call id {call_id!r}"))
                continue
            try:
                step = parse_tool_call(name, call["function"]["arguments"], id=call_id)
            except ToolCallError as exc:
                parsed.problems.append((call, str(exc)))
                continue
            conv.call_ids.append(call_id)
            key = (step.tool, json.dumps(step.args, sort_keys=True))
            if key in seen:  # an identical call already ran (or is planned): answer it with that outcome
                conv.alias[call_id] = seen[key]
                parsed.calls.append(call)
                continue
            step.primary = bool(primary(step))
            step.why = "requested by the model"
            seen[key] = step.id
            parsed.steps.append(step)
            parsed.calls.append(call)
        return parsed

    def _add_outcomes(self, conv: Conversation, outcomes: list[StepOutcome], steps: list[Step]) -> None:
        by_id = {o.step_id: o for o in outcomes}
        step_args = {s.id: s.args for s in steps}
        for call in conv.pending:
            step_id = conv.alias.get(call["id"], call["id"])
            outcome = by_id.get(step_id)
            body = outcome_text(outcome) if outcome else _NOT_RUN
            conv.messages.append(tool_message(call["id"], call["function"]["name"], body))
            if outcome is not None:
                conv.answered.append(step_id)
        conv.pending = []
        extra = [o for o in outcomes if o.step_id not in conv.answered]
        if not extra:
            return
        calls = []
        for outcome in extra:
            call_id = _unique_id(f"bbscout_{outcome.step_id}", set(conv.call_ids))
            conv.call_ids.append(call_id)
            calls.append((call_id, outcome))
        conv.messages.append(
            {
                "role": "assistant",
                "content": "bbscout ran these additional lookups:",
                "tool_calls": [
                    {
                        "id": cid,
                        "type": "function",
                        "function": {
                            "name": o.tool,
                            "arguments": json.dumps(o.args or step_args.get(o.step_id, {})),
                        },
                    }
                    for cid, o in calls
                ],
            }
        )
        for cid, outcome in calls:
            conv.messages.append(tool_message(cid, outcome.tool, outcome_text(outcome)))
            conv.answered.append(outcome.step_id)

    # -- prompts ------------------------------------------------------------------------------

    def _system_prompt(self, request: PlanRequest) -> str:
        try:
            now_local = request.now.astimezone(ZoneInfo(request.tz)).isoformat(timespec="minutes")
        except (ZoneInfoNotFoundError, ValueError):
            now_local = request.now.isoformat(timespec="minutes")
        mode_rules = ""
        if request.mode == "investigate":
            mode_rules = load_prompt(
                "investigate",
                symptom=request.question.replace('"', "'"),
                incident_at=_iso(request.incident_at or request.now),
            )
        repos = request.repositories
        lines = [
            f"{r.slug}: {' '.join((r.description or '-').split())[:120]}"
            for r in repos[:MAX_REPOSITORIES_SHOWN]
        ]
        if len(repos) > MAX_REPOSITORIES_SHOWN:
            lines.append(f"... and {len(repos) - MAX_REPOSITORIES_SHOWN} more (use list_repositories)")
        repositories = data_block(
            "\n".join(lines) or "(not listed; use list_repositories)",
            tool="list_repositories",
            step="workspace",
        )
        repo_scope = ""
        if request.repo_filter:
            scope = ", ".join(request.repo_filter)
            repo_scope = f"Scope: only these repositories: {scope}. Pass them as repo/repos.\n"
        previous = ""
        if request.previous is not None:
            previous = "\n" + load_prompt("thread", referents=prompt_block(request.previous))
        return load_prompt(
            "planner",
            intake=intake_hints(request.intake),
            workspace=self.workspace or "(this workspace)",
            now=_iso(request.now),
            tz=request.tz,
            now_local=now_local,
            mode_rules=mode_rules,
            repo_scope=repo_scope,
            repositories=repositories,
            previous=previous,
        )

    @staticmethod
    def _user_prompt(request: PlanRequest) -> str:
        text = request.question.strip()
        if request.mode == "investigate":
            text += (
                f"\n\n(Incident investigation; first seen at {_iso(request.incident_at or request.now)} UTC.)"
            )
        return text

    # -- plan fields --------------------------------------------------------------------------

    @staticmethod
    def _family(request: PlanRequest, steps: list[Step]) -> Family:
        if request.mode == "investigate":
            return "incident"
        if not steps:
            return "follow_up" if request.previous is not None else "unknown"
        steps = [s for s in steps if s.tool not in _LOOKUPS] or steps
        counts = Counter(TOOL_FAMILY.get(s.tool, "unknown") for s in steps)
        best = max(counts.values())
        return next(
            TOOL_FAMILY.get(s.tool, "unknown")
            for s in steps
            if counts[TOOL_FAMILY.get(s.tool, "unknown")] == best
        )

    @staticmethod
    def _focus(request: PlanRequest, steps: list[Step], content: str | None) -> Focus:
        """What the first round's calls say the answer is filtered to (the first call that says it wins)."""
        focus = Focus(direct_answer=content if not steps and content else None)
        if request.mode == "investigate":
            focus.incident = Incident(symptom=request.question, at=request.incident_at or request.now)
        for step in steps:
            if step.tool == "list_pipelines" and step.args.get("results") and not focus.results:
                focus.results = step.args["results"]
            if step.tool == "list_pull_requests" and step.args.get("states") and not focus.states:
                focus.states = step.args["states"]
            if step.tool in {"list_deployments", "deployment_changes"} and focus.environment is None:
                focus.environment = step.args.get("environment")
        return focus

    @staticmethod
    def _window(steps: list[Step], now: datetime) -> Window | None:
        for step in steps:
            since = step.args.get("since")
            if since:
                start = datetime.fromisoformat(since)
                until = step.args.get("until")
                end = datetime.fromisoformat(until) if until else now
                if end < start:
                    continue
                label = f"{_iso(start)} – {_iso(end)}"
                if end == now and now - start in {timedelta(hours=24), timedelta(days=1)}:
                    label = "last 24 hours"
                return Window(start=start, end=end, label=label)
        return None

    @staticmethod
    def _repos(steps: list[Step]) -> list[str] | None:
        repos: list[str] = []
        for step in steps:
            for slug in [step.args.get("repo"), *(step.args.get("repos") or [])]:
                if slug and slug not in repos:
                    repos.append(slug)
        return repos or None

    @staticmethod
    def _weak(step_id: str, outcomes: list[StepOutcome]) -> bool:
        outcome = next((o for o in outcomes if o.step_id == step_id), None)
        return outcome is not None and (outcome.error is not None or not outcome.records)


def intake_hints(u: Understanding) -> str:
    """What intake recognised, one line per kind, each with the tool argument that applies it (the same
    slots the rules planner fills), for the planner prompt (the window already in UTC)."""
    lines = []
    if u.window is not None:
        lines.append(
            f"- time window: {u.window.label} = since {_iso(u.window.start)} until {_iso(u.window.end)}"
        )
    for m in u.repo_mentions:
        if m.status == "resolved":
            lines.append(f"- repository: '{m.phrase}' = {m.slugs[0]}")
        elif m.status == "ambiguous":
            lines.append(f"- repository: '{m.phrase}' is ambiguous ({', '.join(m.candidates)})")
        else:
            closest = f" (closest: {', '.join(m.candidates)})" if m.candidates else ""
            lines.append(
                f"- repository: no repository matches '{m.phrase}'{closest}; do not widen to the workspace"
            )
    if u.branch:
        lines.append(f"- branch: {u.branch}" + (" (the default branch)" if u.default_branch else ""))
    named: list[tuple[str, Sequence[object]]] = [
        ("authors (author)", u.authors),
        ("reviewers (list_pull_requests.reviewer)", u.reviewers),
        ("approvers (list_pull_requests.approver)", u.approvers),
        ("participants (list_pull_requests.participant)", u.participants),
        ("text in titles/descriptions/messages (text, message_contains)", u.texts),
        ("pipeline results", u.results),
        ("unfinished states (in_progress; count running and pending apart)", u.progress),
        ("pull request states", u.pr_states),
        ("pull request numbers", u.pr_numbers),
        ("build numbers", u.build_numbers),
        ("commits", u.commits),
        ("paths (path)", u.paths),
        ("code symbols or text", u.symbols),
        ("a branch named by words of its name (list_pipelines.branch_like)", u.branch_words),
        ("a file described, its path unknown (browse_source.find)", u.file_words),
    ]
    lines += [f"- {what}: {', '.join(map(str, values))}" for what, values in named if values]
    flags = [
        ("running or pending only", u.in_progress and not u.progress),
        ("awaiting review", u.awaiting_review),
        ("drafts", u.draft),
        ("what is live now (list_deployments current)", u.current),
        (
            "landed/merged on a branch: time commits by entry (list_commits time_field=entered_branch)",
            u.landed,
        ),
    ]
    lines += [f"- {what}" for what, on in flags if on]
    for what, value in (
        ("trigger", u.trigger),
        ("environment", u.environment),
        ("how many (limit)", u.count),
        ("exactly one object (pick)", u.pick),
        (
            "branch names start with (list_branches.name_contains, list_pipelines.branch_like)",
            u.branch_prefix,
        ),
    ):
        if value:
            lines.append(f"- {what}: {value}")
    for item in u.unsupported:
        lines.append(f"- {item.kind} '{item.value}': no tool argument filters by it; say so, do not pretend")
    return "\n".join(lines) or "- (nothing recognised)"


def _turn_key(request: PlanRequest) -> str:
    """Which request a turn answers (one graph run: same question, clock, mode and scope)."""
    return json.dumps(
        [
            request.question,
            request.now.isoformat(),
            request.mode,
            request.incident_at.isoformat() if request.incident_at else None,
            request.repo_filter,
        ]
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _unique_id(base: str, used: set[str]) -> str:
    candidate, n = base[:60], 2
    while candidate in used:
        candidate, n = f"{base[:56]}_{n}", n + 1
    return candidate
