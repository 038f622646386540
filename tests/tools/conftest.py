"""Fixtures for the tool tests: the seeded sandbox world (the oracle), its app, and tool contexts.

Most tests talk to the sandbox in-process (`httpx.ASGITransport`); `test_ops_loopback.py` goes over
real loopback HTTP. Retry back-off sleeps are skipped so fault-injection tests stay fast.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bbscout.sandbox.app import SandboxSettings, create_app

try:
    from bbscout.sandbox.world import build_world
except ImportError:  # the package may not re-export it
    from bbscout.sandbox.world.generator import build_world
from bbscout.sandbox.world.model import World
from bbscout.tools.bitbucket import BasicAuth, BearerAuth, BitbucketClient
from bbscout.tools.context import ToolContext, parse_dt

BASE_URL = "http://sandbox.local/2.0"
WS = "acme"
ANCHOR = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)  # pinned: tests never depend on the wall clock


async def _no_sleep(_: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture(scope="session")
def world() -> World:
    return build_world("default", anchor=ANCHOR)


@pytest.fixture(scope="session")
def nosearch_world() -> World:
    return build_world("nosearch", anchor=ANCHOR)


@pytest.fixture
def app(world: World) -> Any:
    return create_app(world, SandboxSettings())


class Deny403(httpx.AsyncBaseTransport):
    """Wraps a transport and answers 403 (missing scope) for one repository's pipelines/deployments."""

    def __init__(self, inner: httpx.AsyncBaseTransport, repo: str, what: str = "pipelines") -> None:
        self.inner, self.repo, self.what = inner, repo, what
        self.denied = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if f"/repositories/{WS}/{self.repo}/{self.what}" in request.url.path:
            self.denied += 1
            body = {
                "type": "error",
                "error": {
                    "message": "Your credentials lack one or more required privilege scopes.",
                    "detail": {
                        "granted": ["read:repository:bitbucket"],
                        "required": ["read:pipeline:bitbucket"],
                    },
                },
            }
            return httpx.Response(403, json=body)
        return await self.inner.handle_async_request(request)


@asynccontextmanager
async def tool_context(
    app: Any,
    world: World,
    *,
    token: str = "demo",
    budget: int | None = None,
    transport: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
    base_url: str = BASE_URL,
    concurrency: int = 6,
) -> AsyncIterator[ToolContext]:
    tok = world.token(token)
    inner: httpx.AsyncBaseTransport | None = httpx.ASGITransport(app=app) if app is not None else None
    if transport is not None and inner is not None:
        inner = transport(inner)
    auth = BasicAuth(tok.email, tok.secret) if tok.kind == "api_token" else BearerAuth(tok.secret)
    async with BitbucketClient(
        workspace=WS, auth=auth, base_url=base_url, transport=inner, budget=budget, sleep=_no_sleep
    ) as client:
        yield ToolContext(client=client, workspace=WS, concurrency=concurrency)


@pytest.fixture
async def ctx(app: Any, world: World) -> AsyncIterator[ToolContext]:
    async with tool_context(app, world) as c:
        yield c


# ---- oracle helpers over the world's raw JSON ----------------------------------------------------


def dt(value: Any) -> datetime:
    out = parse_dt(value)
    assert out is not None, value
    return out


def result_of(p: dict[str, Any]) -> str | None:
    state = p.get("state") or {}
    return (state.get("result") or {}).get("name") if state.get("name") == "COMPLETED" else None


def refs(result: Any, kind: str) -> set[str]:
    return {r.ref for r in result.records if r.kind == kind}


def dump(obj: Any) -> str:
    return json.dumps(obj, default=str)[:2000]
