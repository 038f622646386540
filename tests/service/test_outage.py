"""A PostgreSQL or Redis outage in the middle of a chat turn: a clear 503, and the thread as it was."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from bbscout.sandbox.faults import FaultProfile
from tests.service.conftest import NOW, PRODUCTION, Env, api_keys, auth


@pytest.fixture
def on_postgres(env: Env, postgres: Any) -> Iterator[str]:
    from bbscout.agent.service.app import create_app
    from bbscout.agent.service.config import ServiceSettings
    from bbscout.agent.settings import Settings
    from bbscout.sandbox.server import LoopbackServer

    settings = ServiceSettings(api_keys=api_keys(), database_url=postgres.url)
    with LoopbackServer(create_app(settings, Settings(), planner="rules"), lifespan="on") as server:
        yield server.origin


@pytest.fixture
def slow_sandbox(sandbox: Any) -> Iterator[None]:
    """Every Bitbucket request takes 150 ms, so a turn is still running when the database goes."""
    state = sandbox.app.state
    before = state.settings.faults
    state.settings.faults = FaultProfile(latency_ms=150)
    try:
        yield
    finally:
        state.settings.faults = before


def turn_stopped_at_its_first_step(
    client: httpx.Client, tid: str, stop: Callable[[], object]
) -> list[tuple[str, dict[str, Any]]]:
    """A chat turn's (event, data) pairs, with `stop()` called once its first step has started: the
    turn is mid-flight, Bitbucket calls under way."""
    seen: list[tuple[str, dict[str, Any]]] = []
    name = ""
    with client.stream(
        "POST",
        f"/v1/threads/{tid}/messages",
        json={"question": "What pipelines failed in the last 24 hours?", "now": NOW},
        headers={"Accept": "text/event-stream"},
    ) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                seen.append((name, json.loads(line[5:])))
                if name == "step_started" and sum(n == "step_started" for n, _ in seen) == 1:
                    stop()
    return seen


def test_postgres_outage_mid_turn_is_a_503_and_writes_nothing(
    on_postgres: str, postgres: Any, slow_sandbox: None
) -> None:
    with httpx.Client(base_url=on_postgres, headers=auth(), timeout=60) as client:
        tid = client.post("/v1/threads", json={"connection": PRODUCTION}).json()["id"]
        first = client.post(f"/v1/threads/{tid}/messages", json={"question": "list repositories", "now": NOW})
        assert first.status_code == 200, first.text
        seen = turn_stopped_at_its_first_step(client, tid, lambda: postgres.stop("immediate"))
        try:
            assert seen[-1][0] == "problem", seen[-1]
            problem = seen[-1][1]
            assert problem["status"] == 503 and problem["store"] == "PostgreSQL"
            assert "Nothing was saved" in problem["detail"]
            assert "document" not in {n for n, _ in seen}
            down = client.get("/readyz")
            assert down.status_code == 503 and down.json()["checkpointer"]["ok"] is False
            refused = client.get("/v1/threads")
            assert (
                refused.status_code == 503 and refused.headers["content-type"] == "application/problem+json"
            )
        finally:
            postgres.start()
        assert client.get("/readyz").status_code == 200
        thread = client.get(f"/v1/threads/{tid}").json()
        assert [m["question"] for m in thread["messages"]] == ["list repositories"]
        assert thread["turns"] == 1
        again = client.post(
            f"/v1/threads/{tid}/messages", json={"question": "which of those were on main?", "now": NOW}
        )
        assert again.status_code in (200, 409), again.text  # 409 only while the dead turn's lease lasts


@pytest.fixture
def on_redis(env: Env, postgres: Any, redis_server: Any) -> Iterator[str]:
    from bbscout.agent.service.app import create_app
    from bbscout.agent.service.config import ServiceSettings
    from bbscout.agent.settings import Settings
    from bbscout.sandbox.server import LoopbackServer

    settings = ServiceSettings(api_keys=api_keys(), database_url=postgres.url)
    base = Settings(redis_url=redis_server.url)
    with LoopbackServer(create_app(settings, base, planner="rules"), lifespan="on") as server:
        yield server.origin


def test_redis_outage_mid_turn_is_a_503_and_writes_nothing(
    on_redis: str, redis_server: Any, slow_sandbox: None
) -> None:
    with httpx.Client(base_url=on_redis, headers=auth(), timeout=60) as client:
        tid = client.post("/v1/threads", json={"connection": PRODUCTION}).json()["id"]
        seen = turn_stopped_at_its_first_step(client, tid, redis_server.stop)
        try:
            assert seen[-1][0] == "problem", seen[-1]
            assert seen[-1][1]["status"] == 503 and seen[-1][1]["store"] == "Redis"
            down = client.get("/readyz")
            assert down.status_code == 503 and down.json()["cache"] == {
                "ok": False,
                "backend": "redis",
                "detail": down.json()["cache"]["detail"],
            }
            refused = client.post("/v1/ask", json={"question": "list repositories", "connection": PRODUCTION})
            assert refused.status_code == 503 and refused.json()["store"] == "Redis"
        finally:
            redis_server.start()
        assert client.get("/readyz").status_code == 200
        thread = client.get(f"/v1/threads/{tid}").json()
        assert thread["messages"] == [] and thread["turns"] == 0
