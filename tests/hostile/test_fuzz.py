"""Property: whatever Bitbucket answers, every tool returns a result or raises a `BitbucketError`.

The sandbox answers each request honestly; hypothesis then decides, per request, to pass it through,
cut the body short, replace it with arbitrary JSON, or put wrongly-typed values at random places in
it. Nothing but a `ToolResult` or the typed error tree may come out of `run_tool`.

The default example count keeps `make test` fast; `BBSCOUT_FUZZ_EXAMPLES=10000` runs the long fuzz.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbscout.sandbox.app import SandboxSettings, create_app
from bbscout.sandbox.world import build_world
from bbscout.sandbox.world.model import World
from bbscout.tools.bitbucket import BasicAuth, BitbucketClient, BitbucketError, RetryConfig
from bbscout.tools.context import ToolContext
from bbscout.tools.evidence import ToolResult
from bbscout.tools.registry import TOOLS, run_tool

EXAMPLES = int(os.environ.get("BBSCOUT_FUZZ_EXAMPLES", "120"))
ANCHOR = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
WEEK = {"since": (ANCHOR - timedelta(days=7)).isoformat(), "until": ANCHOR.isoformat()}


@functools.cache
def _world() -> World:
    return build_world("default", anchor=ANCHOR)


@functools.cache
def _app() -> Any:
    return create_app(_world(), SandboxSettings(rate_limit_per_hour=10**9))


@functools.cache
def _tool_args() -> dict[str, dict[str, Any]]:
    repo = _world().repos["api-gateway"]
    head, base = repo.commit_order[0], repo.commit_order[5]
    build = repo.pipelines[-1]["build_number"]
    return {
        "list_repositories": {},
        "resolve_repository": {"phrase": "the gateway"},
        "resolve_person": {"phrase": "Emma", "repos": ["api-gateway"]},
        "list_pipelines": {"results": ["FAILED", "ERROR"], **WEEK},
        "get_pipeline": {"repo": "api-gateway", "build_number": build},
        "pipeline_failure": {"repo": "api-gateway", "build_number": 283},
        "list_pull_requests": {"states": ["OPEN", "MERGED"], **WEEK},
        "get_pull_request": {
            "repo": "api-gateway",
            "pr_id": 1,
            "include_diff": True,
            "include_comments": True,
        },
        "pull_requests_for_commit": {"repo": "api-gateway", "commit": head},
        "pull_request_commits": {"repo": "api-gateway", "pr_id": 1},
        "pull_request_files": {"repo": "api-gateway", "pr_ids": [1, 2]},
        "list_commits": {"repo": "api-gateway", "branch": "main", **WEEK},
        "get_commit": {"repo": "api-gateway", "commit": head},
        "commits_between": {"repo": "api-gateway", "include": head, "exclude": base},
        "list_branches": {"repos": ["api-gateway", "web-frontend"]},
        "list_deployments": {"repos": ["checkout-service"], **WEEK},
        "deployment_changes": {"repo": "checkout-service", "environment": "production"},
        "search_code": {"query": "calculate_tax", "repos": ["api-gateway", "checkout-service"]},
        "browse_source": {"repo": "api-gateway", "path": "README.md"},
    }


NASTY_STRINGS = st.sampled_from(
    ["", "283x", "null", "2026-13-45T99:99:99Z", "..", "{uuid}", "\x1b[2J", "x" * 300]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | NASTY_STRINGS
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = (), limit: int = 400) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [(prefix, doc)]
    while stack and len(out) < limit:
        path, node = stack.pop()
        out.append(path)
        if isinstance(node, dict):
            stack.extend(((*path, k), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in enumerate(node))
    return out


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return doc


class Saboteur(httpx.AsyncBaseTransport):
    """The sandbox's answer, then a hypothesis-chosen corruption of it."""

    def __init__(self, data: st.DataObject) -> None:
        self.inner = httpx.ASGITransport(app=_app())
        self.data = data

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        honest = await self.inner.handle_async_request(request)
        body = await honest.aread()
        kind = self.data.draw(st.sampled_from(["pass", "pass", "truncate", "replace", "retype", "retype"]))
        if kind == "truncate" and body:
            body = body[: self.data.draw(st.integers(0, len(body) - 1))]
        elif kind == "replace":
            body = json.dumps(self.data.draw(JSON)).encode()
        elif kind == "retype" and honest.headers.get("content-type", "").startswith("application/json"):
            doc = json.loads(body)
            for _ in range(self.data.draw(st.integers(1, 3))):
                paths = _paths(doc)
                doc = _replace(doc, self.data.draw(st.sampled_from(paths)), self.data.draw(JSON))
            body = json.dumps(doc).encode()
        headers = [
            (k, v)
            for k, v in honest.headers.items()
            if k.lower() not in ("content-length", "content-encoding")
        ]
        return httpx.Response(honest.status_code, headers=headers, content=body)


async def _no_sleep(_: float) -> None:
    return None


async def _run(tool: str, data: st.DataObject) -> ToolResult | BitbucketError:
    token = _world().token("demo")
    client = BitbucketClient(
        workspace="acme",
        auth=BasicAuth(token.email or "", token.secret),
        base_url="http://sandbox.local/2.0",
        transport=Saboteur(data),
        retry=RetryConfig(max_attempts=2),
        sleep=_no_sleep,
        budget=60,
    )
    async with client:
        try:
            return await run_tool(ToolContext(client=client, workspace="acme"), tool, _tool_args()[tool])
        except BitbucketError as exc:
            exc.explain()
            return exc


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(tool=st.sampled_from(sorted(TOOLS)), data=st.data())
def test_every_tool_survives_wrong_and_truncated_bodies(tool: str, data: st.DataObject) -> None:
    outcome = asyncio.run(_run(tool, data))
    assert isinstance(outcome, (ToolResult, BitbucketError)), outcome
    if isinstance(outcome, ToolResult):
        ToolResult.model_validate(outcome.model_dump())  # every record still fits its model


def test_the_tool_table_covers_every_tool() -> None:
    assert set(_tool_args()) == set(TOOLS)
