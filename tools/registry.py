"""The tool registry: every read-only tool by name, and `run_tool`, the one way to call them.

`run_tool` validates arguments against `tools.args.TOOL_ARGS`, runs the coroutine, accounts the
HTTP requests it made (its own, not those of tools running beside it; cache hits are free) and
applies a final redaction sweep over every string of the result (secret shapes, and the client's own
credentials whatever their shape), so no repository-derived text leaves `tools/` unredacted even if a
builder forgot. Records Bitbucket sent
in a shape the tool could not read become gaps with their count (`tools.shapes`); a tool that could
not read an answer at all raises `InvalidResponse`, never a bare Python error.

Error policy: fan-outs over several repositories turn per-repository `ScopeError`/`NotFound`/
`ServerError`/`TransportFailure`/`RateLimited`/`BudgetExhausted` into `gaps` and keep the other
repositories' records (`truncated=True` when the budget or rate limit ran out); `AuthError` always
propagates; single-target tools let errors propagate for the agent to record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from bbscout.tools import branches, code, commits, deployments, people, pipelines, pullrequests, repositories
from bbscout.tools.args import TOOL_ARGS, ToolArgs
from bbscout.tools.bitbucket import count_requests
from bbscout.tools.context import ToolContext
from bbscout.tools.evidence import ToolResult
from bbscout.tools.redact import redact
from bbscout.tools.shapes import DATA_ERRORS, shape_error, unread_gaps

__all__ = ["TOOLS", "Tool", "run_tool", "tool_schemas"]

RunFn = Callable[[ToolContext, Any], Awaitable[ToolResult]]


@dataclass(frozen=True)
class Tool:
    """A tool as a planner sees it: name, argument model, description (the model's docstring) and runner."""

    name: str
    args_model: type[ToolArgs]
    description: str
    run: RunFn


_RUNNERS: dict[str, RunFn] = {
    "list_repositories": repositories.list_repositories,
    "resolve_repository": repositories.resolve_repository,
    "list_pipelines": pipelines.list_pipelines,
    "get_pipeline": pipelines.get_pipeline,
    "pipeline_failure": pipelines.pipeline_failure,
    "list_pull_requests": pullrequests.list_pull_requests,
    "get_pull_request": pullrequests.get_pull_request,
    "pull_requests_for_commit": pullrequests.pull_requests_for_commit,
    "pull_request_commits": commits.pull_request_commits,
    "pull_request_files": pullrequests.pull_request_files,
    "list_commits": commits.list_commits,
    "get_commit": commits.get_commit,
    "commits_between": commits.commits_between,
    "list_branches": branches.list_branches,
    "list_deployments": deployments.list_deployments,
    "deployment_changes": deployments.deployment_changes,
    "search_code": code.search_code,
    "browse_source": code.browse_source,
    "resolve_person": people.resolve_person_tool,
}


def _description(model: type[ToolArgs]) -> str:
    doc = (model.__doc__ or "").strip()
    return " ".join(line.strip() for line in doc.splitlines() if line.strip())


TOOLS: dict[str, Tool] = {
    name: Tool(name=name, args_model=model, description=_description(model), run=_RUNNERS[name])
    for name, model in TOOL_ARGS.items()
}


def tool_schemas() -> list[dict[str, Any]]:
    """Name, description and JSON schema of every tool (for an LLM planner's function list)."""
    return [
        {"name": t.name, "description": t.description, "parameters": t.args_model.model_json_schema()}
        for t in TOOLS.values()
    ]


def _sweep(value: Any, clean: Callable[[str], str]) -> Any:
    """Clean every string inside a record (idempotent; innocent strings are returned unchanged)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [_sweep(v, clean) for v in value]
    if isinstance(value, BaseModel):
        updates = {}
        for name in type(value).model_fields:
            old = getattr(value, name)
            new = _sweep(old, clean)
            if new is not old and new != old:
                updates[name] = new
        return value.model_copy(update=updates) if updates else value
    return value


async def run_tool(ctx: ToolContext, name: str, args: dict[str, Any] | ToolArgs) -> ToolResult:
    """Validate `args`, run tool `name`, and return its result with `requests` and `args` filled in.

    Raises:
        KeyError: unknown tool name.
        pydantic.ValidationError: arguments that do not fit the tool's model.
        tools.bitbucket.BitbucketError: errors of single-target tools, and `AuthError` always.
    """
    tool = TOOLS[name]
    parsed = (
        args
        if isinstance(args, tool.args_model)
        else tool.args_model.model_validate(args.model_dump() if isinstance(args, BaseModel) else args)
    )
    try:
        with count_requests() as made:
            result = await tool.run(ctx, parsed)
    except DATA_ERRORS as exc:
        raise shape_error(name, exc) from None
    result.tool = name
    result.args = parsed.model_dump(mode="json", exclude_defaults=True)
    result.requests = made.count
    scrub: Callable[[str], str] = getattr(ctx.client, "scrub", lambda text: text)

    def clean(text: str) -> str:
        return redact(scrub(text))

    result.records = [_sweep(r, clean) for r in result.records]
    result.notes = [clean(n) for n in result.notes]
    result.gaps = [clean(g) for g in [*result.gaps, *unread_gaps(ctx)]]
    return result
