"""Two replicas on one PostgreSQL and one Redis: threads move between them; the Bitbucket budget is shared."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.service.conftest import NOW, PRODUCTION, Env, api_keys, auth
from tests.service.replicas import Replica, replica_env

QUESTION = "What pipelines failed in the last 24 hours?"
SHARED_CACHE = importlib.util.find_spec("bbscout.agent.cache") is not None
needs_shared_cache = pytest.mark.skipif(
    not SHARED_CACHE,
    reason="needs the shared Redis response cache and hourly ledger (issue 12, branch frugal) on main",
)


@pytest.fixture(scope="module")
def replicas(env: Env, postgres: Any, redis_server: Any) -> Iterator[tuple[str, str]]:
    keys = {name: key.model_dump() for name, key in api_keys().items()}
    started = [
        Replica(replica_env(env.variables(), env.root / f"replica-{n}", postgres.url, redis_server.url, keys))
        for n in "ab"
    ]
    try:
        yield started[0].origin, started[1].origin
    finally:
        for replica in started:
            replica.stop()


def post(origin: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{origin}{path}", json=body, headers=auth(), timeout=120)


def test_a_thread_begun_on_one_replica_continues_on_the_other(replicas: tuple[str, str]) -> None:
    a, b = replicas
    for origin in replicas:
        ready = httpx.get(f"{origin}/readyz").json()
        assert (
            ready["checkpointer"] == {"ok": True, "backend": "postgres"}
            and ready["cache"]["backend"] == "redis"
        )
    tid = post(a, "/v1/threads", {"connection": PRODUCTION, "title": "incident"}).json()["id"]
    first = post(a, f"/v1/threads/{tid}/messages", {"question": QUESTION, "now": NOW})
    assert first.status_code == 200, first.text
    earlier = {e["ref"] for e in first.json()["document"]["entities"]}
    follow = post(b, f"/v1/threads/{tid}/messages", {"question": "which of those were on main?", "now": NOW})
    assert follow.status_code == 200, follow.text
    later = {e["ref"] for e in follow.json()["document"]["entities"]}
    assert later and later <= earlier  # B filtered A's evidence instead of searching again
    on_a = httpx.get(f"{a}/v1/threads/{tid}", headers=auth()).json()
    on_b = httpx.get(f"{b}/v1/threads/{tid}", headers=auth()).json()
    assert on_a["messages"] == on_b["messages"] and len(on_a["messages"]) == 2
    assert on_a["turns"] == on_b["turns"] == 2


def test_a_thread_answers_one_turn_at_a_time_across_replicas(replicas: tuple[str, str], sandbox: Any) -> None:
    a, b = replicas
    tid = post(a, "/v1/threads", {"connection": PRODUCTION}).json()["id"]
    body = {"question": "show me recent pull requests", "now": NOW}
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda origin: post(origin, f"/v1/threads/{tid}/messages", body), replicas))
    statuses = sorted(r.status_code for r in results)
    assert statuses in ([200, 200], [200, 409]), [r.text for r in results]
    if statuses == [200, 409]:
        busy = next(r for r in results if r.status_code == 409)
        assert busy.json()["type"] == "urn:bbscout:problem:thread-busy" and busy.headers["retry-after"]
    thread = httpx.get(f"{b}/v1/threads/{tid}", headers=auth()).json()
    assert thread["turns"] == len(thread["messages"]) == statuses.count(200)  # no lost or doubled turn


@needs_shared_cache
async def test_the_ledger_counts_the_requests_of_both(
    replicas: tuple[str, str], sandbox: Any, redis_server: Any, env: Env
) -> None:
    from bbscout.tools.bitbucket import BasicAuth, credential_identity, open_store

    a, b = replicas
    token = env.world.token("demo")
    ledger = f"127.0.0.1|{credential_identity(BasicAuth(token.email or '', token.secret))}"
    store = open_store(redis_url=redis_server.url)
    log = sandbox.app.state.request_log
    try:
        counted_before, sent_before = (await store.usage(ledger, time.time())).used, len(log)
        for origin, question in (
            (a, "stale branches in web-frontend"),
            (b, "which PRs are awaiting review?"),
        ):
            answered = await asyncio.to_thread(
                post, origin, "/v1/ask", {"question": question, "now": NOW, "connection": PRODUCTION}
            )
            assert answered.status_code == 200, answered.text
        counted = (await store.usage(ledger, time.time())).used - counted_before
    finally:
        await store.aclose()
    sent = len(log) - sent_before
    assert sent > 0 and counted == sent  # one ledger: every request either replica sent, counted once


@needs_shared_cache
async def test_two_identical_concurrent_questions_cost_one_set_of_requests(
    replicas: tuple[str, str], sandbox: Any, redis_server: Any
) -> None:
    from bbscout.tools.bitbucket import open_store

    store = open_store(redis_url=redis_server.url)
    try:
        await store.clear()  # cold: the answer needs Bitbucket (the hour's ledger stays)
    finally:
        await store.aclose()
    log = sandbox.app.state.request_log
    body = {
        "question": "commits on main in notification-service this week",
        "now": NOW,
        "connection": PRODUCTION,
    }
    before = len(log)
    with ThreadPoolExecutor(2) as pool:
        answers = await asyncio.to_thread(
            lambda: list(pool.map(lambda o: post(o, "/v1/ask", body), replicas))
        )
    assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
    sent = [(method, path) for method, path, _ in log[before:]]
    assert sent, "the question needed Bitbucket"
    repeated = sorted({request for request in sent if sent.count(request) > 1})
    assert not repeated, f"{len(repeated)} requests made by both replicas, e.g. {repeated[:3]}"
    first, second = (r.json() for r in answers)
    assert first["entities"] == second["entities"] and first["answer"] == second["answer"]
    assert first["stats"]["http_requests"] + second["stats"]["http_requests"] == len(sent)
