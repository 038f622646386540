"""The LLM reporter: writes the `Report` from compact evidence with strict structured output.

The model sees only each outcome's `rendered` text (already redacted and bounded by the tools), and in a
chat the objects earlier answers cited (`agent.referents.thread.prompt_block`), inside `<bitbucket_data>`
blocks, and must answer with JSON matching the strict `Report` schema. Evidence is
shared out so the request fits the client's context budget (longest results cut first). Invalid JSON or
a schema mismatch is retried once with the error; after that the raw text becomes the answer with a gap
saying it is unverified. `agent.verify` later strips refs that are not in the evidence.

Raises `agent.llm.LLMError` when the endpoint fails; the caller decides whether to fall back to the
rules reporter.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from bbscout.agent.llm import CHARS_PER_TOKEN, LLMClient, estimate_tokens, share_budget
from bbscout.agent.plan import Plan, StepOutcome
from bbscout.agent.planners.base import PlanRequest
from bbscout.agent.prompts import DATA_REMINDER, data_block, load_prompt, outcome_text
from bbscout.agent.referents.thread import prompt_block
from bbscout.agent.report import Report
from bbscout.agent.tool_schemas import response_format_for

__all__ = ["FALLBACK_GAP", "LLMReporter"]

FALLBACK_GAP = (
    "The LLM writer did not return a valid structured report (twice); its raw text is shown unverified."
)
_REPORT_HINTS = {
    "answer": "Markdown, direct answer first, every claim citing refs exactly as in the evidence",
    "entities": "Refs of exactly the objects the answer reports, in the order listed",
    "refs": "Refs exactly as they appear in the evidence",
    "ref": "A ref exactly as it appears in the evidence, e.g. pipeline:api-gateway#412",
    "related_refs": "Other refs (deployment, PR, commits, files) tied to this suspect",
    "score": "Likelihood between 0 and 1",
    "gaps": "What could not be seen and why",
    "next_step": "The single most useful next action for the on-call engineer; null if none",
    "confidence": "high, medium or low; null for plain list answers",
}
_RESERVE_TOKENS = 1500  # room for the reply


class LLMReporter:
    """Reporter backed by an OpenAI-compatible chat model (see module docstring)."""

    def __init__(self, client: LLMClient, *, workspace: str | None = None) -> None:
        self.client = client
        self.workspace = workspace
        self.response_format = response_format_for(Report, "report", hints=_REPORT_HINTS)

    async def report(
        self, request: PlanRequest, plan: Plan, outcomes: list[StepOutcome], gaps: list[str]
    ) -> Report:
        direct = plan.focus.direct_answer
        thread = request.previous is not None and bool(request.previous.primary)
        if not outcomes and direct and direct.strip() and not thread:
            return Report(answer=direct.strip(), gaps=list(gaps))
        messages = self._messages(request, plan, outcomes, gaps)
        result = await self.client.chat(messages, response_format=self.response_format)
        report, error = _parse(result.content, result.message.get("refusal"))
        if report is None:
            retry = [
                *messages,
                {"role": "assistant", "content": result.content or ""},
                {"role": "user", "content": load_prompt("reporter_retry", error=error)},
            ]
            result = await self.client.chat(retry, response_format=self.response_format)
            report, error = _parse(result.content, result.message.get("refusal"))
        if report is None:
            raw = _readable(result.content or result.message.get("refusal") or "")
            return Report(
                answer=raw or "The LLM writer returned no answer.",
                gaps=_merge(gaps, [FALLBACK_GAP]),
                confidence="low",
            )
        report.gaps = _merge(gaps, report.gaps)
        return report

    def _messages(
        self, request: PlanRequest, plan: Plan, outcomes: list[StepOutcome], gaps: list[str]
    ) -> list[dict[str, Any]]:
        incident = request.mode == "investigate" or plan.family == "incident"
        mode_rules = ""
        if incident:
            mode_rules = load_prompt(
                "reporter_incident",
                incident_at=(request.incident_at or request.now).isoformat().replace("+00:00", "Z"),
            )
        system = load_prompt(
            "reporter",
            workspace=self.workspace or "(this workspace)",
            tz=request.tz,
            now=request.now.isoformat().replace("+00:00", "Z"),
            mode_rules=mode_rules,
        )
        head = [f"Question: {request.question.strip()}"]
        if incident:
            head.append(f"Incident first seen at: {(request.incident_at or request.now).isoformat()}")
        head.append(f"Plan: family={plan.family}; intent={plan.intent}")
        if plan.window is not None:
            window = plan.window
            head.append(f"Window: {window.label} ({window.start.isoformat()} to {window.end.isoformat()})")
        focus = plan.focus.model_dump(mode="json", exclude_defaults=True, exclude={"direct_answer"})
        if focus:
            head.append(f"Focus: {json.dumps(focus)}")
        primary = [s.id for s in plan.steps if s.primary]
        if primary:
            head.append(f"Primary steps (their records are what the answer lists): {', '.join(primary)}")
        if plan.not_understood:
            head.append("Not understood: " + "; ".join(plan.not_understood))
        if plan.focus.direct_answer:
            head.append(f"The planner answered without a tool call: {plan.focus.direct_answer.strip()}")
        if gaps:
            head.append("Known gaps:\n" + "\n".join(f"- {g}" for g in gaps))
        if request.previous is not None and request.previous.primary:
            head.append(
                "Earlier answers in this chat cited these objects; a follow-up may be about them (cite their "
                "refs as evidence too):\n" + prompt_block(request.previous)
            )
        head.append(f"Evidence ({len(outcomes)} tool results). {DATA_REMINDER}")
        preamble = "\n".join(head)

        # Share what is left of the budget among the evidence bodies (tags stay intact).
        used = estimate_tokens([{"role": "system", "content": system}, {"role": "user", "content": preamble}])
        used += estimate_tokens(self.response_format) + _RESERVE_TOKENS
        room = max(0, (self.client.max_context_tokens - used) * CHARS_PER_TOKEN - 120 * len(outcomes))
        primary_ids = set(primary)
        bodies = share_budget([outcome_text(o) for o in outcomes], room)
        blocks = [
            data_block(body, tool=o.tool, step=o.step_id, primary=str(o.step_id in primary_ids).lower())
            for o, body in zip(outcomes, bodies, strict=True)
        ]
        user = preamble + "\n\n" + ("\n\n".join(blocks) if blocks else "(no evidence was gathered)")
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _parse(content: str | None, refusal: str | None) -> tuple[Report | None, str]:
    if refusal:
        return None, f"the reply was a refusal: {refusal[:200]}"
    if not content or not content.strip():
        return None, "the reply was empty"
    text = content.strip()
    if text.startswith("```"):  # tolerate a fenced block from non-strict endpoints
        text = text.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"it is not valid JSON ({exc.msg} at char {exc.pos})"
    if not isinstance(data, dict):
        return None, "it is not a JSON object"
    try:
        return Report.model_validate(_drop_nulls(data)), ""
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:8])
        return None, f"it does not match the schema ({problems})"


def _readable(raw: str) -> str:
    """The best text to show from an invalid reply: its `answer` string if it has one, else the raw text."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return raw.strip()
    answer = data.get("answer") if isinstance(data, dict) else None
    if isinstance(answer, str) and answer.strip():
        return answer.strip()
    return raw.strip()


def _merge(first: list[str], second: list[str]) -> list[str]:
    out: list[str] = []
    for gap in [*first, *second]:
        if gap and gap not in out:
            out.append(gap)
    return out
