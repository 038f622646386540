"""Shared fixtures of the read-only guard tests: the default world, sessions on it, chat turns.

Bitbucket is the sandbox app in-process (the same API and JSON as over loopback); the LLM, where a
test needs one, is the OpenAI-compatible double over real loopback HTTP.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import SecretStr

from bbscout.agent.runtime import RunResult, Session, open_session
from bbscout.agent.settings import Settings
from bbscout.sandbox.app import create_app
from bbscout.sandbox.llm_double import LLMDoubleServer
from bbscout.sandbox.world import World, build_world
from bbscout.tools.bitbucket import BasicAuth, BitbucketClient

ANCHOR = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
NOW = ANCHOR + timedelta(minutes=20)
PHRASINGS = Path(__file__).resolve().parents[1] / "data" / "readonly_phrasings.yaml"
READ_ONLY = re.compile(r"(?i)\bread[- ]only\b")
DID_NOTHING = re.compile(r"(?i)\bdid not\b|\bnothing was changed\b")
Sessions = Callable[..., AbstractAsyncContextManager[Session]]


def phrasings() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = yaml.safe_load(PHRASINGS.read_text(encoding="utf-8"))
    return rows


def first_line(result: RunResult) -> str:
    return next(line for line in result.document["answer"].splitlines() if line.strip())


def says_refused(result: RunResult) -> bool:
    line = first_line(result)
    return bool(READ_ONLY.search(line) and DID_NOTHING.search(line))


@pytest.fixture(scope="session")
def world() -> World:
    return build_world("default", seed=7, anchor=ANCHOR)


def sandbox_client(world: World) -> BitbucketClient:
    token = world.token("demo")
    return BitbucketClient(
        workspace="acme",
        auth=BasicAuth(token.email or "", SecretStr(token.secret)),
        base_url="http://sandbox.local/2.0",
        transport=httpx.ASGITransport(app=create_app(world)),
    )


@pytest.fixture(scope="module")
def double() -> Iterator[LLMDoubleServer]:
    with LLMDoubleServer() as server:
        yield server


@pytest.fixture
def sessions(world: World) -> Sessions:
    """`sessions(planner, double=None)`: a session on the sandbox world (rules, or llm on the double)."""

    @asynccontextmanager
    async def opened(planner: str = "rules", double: LLMDoubleServer | None = None) -> AsyncIterator[Session]:
        settings = Settings()
        if double is not None:
            settings = Settings(
                openai_api_key="sk-test-double-key", openai_base_url=double.base_url, model="test-double"
            )
        async with open_session(settings, planner=planner, now=NOW, client=sandbox_client(world)) as s:  # type: ignore[arg-type]
            yield s

    return opened


async def chat(session: Session, questions: Sequence[str | None], thread: str = "t") -> list[RunResult]:
    """Ask each question as a turn of one chat thread; None entries are skipped."""
    saver = InMemorySaver()
    return [
        await session.ask(q, now=NOW, checkpointer=saver, thread_id=thread)
        for q in questions
        if q is not None
    ]
