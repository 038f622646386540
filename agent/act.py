"""Run every ready step concurrently and turn results (or errors) into StepOutcomes.

A step is ready when all its `depends_on` have an outcome. Errors never escape: a Bitbucket error
becomes the outcome's `error` (its actionable message) and a gap, so one 403 or a spent budget
yields a partial answer instead of a crash.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from bbscout.agent.plan import Step, StepOutcome
from bbscout.tools.bitbucket import BitbucketError, count_requests
from bbscout.tools.context import ToolContext
from bbscout.tools.registry import run_tool
from bbscout.tools.render import render_result

Emit = Callable[[dict[str, Any]], None]


def ready_steps(pending: list[Step], done: set[str]) -> list[Step]:
    """Steps whose dependencies have all run."""
    return [step for step in pending if all(dep in done for dep in step.depends_on)]


def key_args(args: dict[str, Any]) -> str:
    """A short human rendering of the arguments that matter, for the progress view."""
    shown = []
    for key, value in args.items():
        if value in (None, [], False) or key == "limit":
            continue
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        shown.append(f"{key}={text[:40]}")
    return " ".join(shown)


async def run_step(tools: ToolContext, step: Step, emit: Emit) -> StepOutcome:
    """Run one step; never raises for Bitbucket errors."""
    emit({"event": "step_started", "step_id": step.id, "tool": step.tool, "args": key_args(step.args)})
    started = time.perf_counter()
    with count_requests() as made:  # this step's own requests: steps run concurrently on one client
        try:
            result = await run_tool(tools, step.tool, step.args)
        except BitbucketError as exc:
            message = exc.explain()
            outcome = StepOutcome(
                step_id=step.id,
                tool=step.tool,
                args=step.args,
                error=message,
                error_kind=type(exc).__name__,
                gaps=[f"{step.tool} ({key_args(step.args)}): {message}"],
                requests=made.count,
                served=made.served,
                seconds=time.perf_counter() - started,
            )
        else:
            outcome = StepOutcome(
                step_id=step.id,
                tool=step.tool,
                args=step.args,
                records=list(result.records),
                rendered=render_result(result),
                notes=result.notes,
                gaps=result.gaps,
                requests=made.count,
                served=made.served,
                seconds=time.perf_counter() - started,
            )
    emit(
        {
            "event": "step_finished",
            "step_id": step.id,
            "tool": step.tool,
            "args": key_args(step.args),
            "seconds": round(outcome.seconds, 3),
            "requests": outcome.requests,
            "records": len(outcome.records),
            "status": outcome.error_kind or ("partial" if outcome.gaps else "ok"),
        }
    )
    return outcome


async def run_ready(tools: ToolContext, pending: list[Step], done: set[str], emit: Emit) -> list[StepOutcome]:
    """Run all ready steps of `pending` concurrently; outcomes come back in step order."""
    steps = ready_steps(pending, done)
    return list(await asyncio.gather(*(run_step(tools, step, emit) for step in steps)))
