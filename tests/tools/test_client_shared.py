"""The client over a shared store: what cannot change is served from it, what can is re-read (never
stale), the hourly ledger and the cache are shared by processes, concurrent identical requests are one.

In-process tests use `httpx.MockTransport` fake servers; the cross-process tests run a child Python
process against a real loopback sandbox server, with the same SQLite file or the same real Redis.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import typing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bbscout.sandbox.app import SandboxSettings, create_app
from bbscout.sandbox.server import LoopbackServer
from bbscout.sandbox.world.model import World
from bbscout.tools.bitbucket import COALESCE_SECONDS, BasicAuth, BitbucketClient, NotFound, Store
from bbscout.tools.bitbucket._redis_store import RedisStore
from bbscout.tools.bitbucket._sqlite_store import SqliteStore
from bbscout.tools.context import ToolContext
from bbscout.tools.deployments import deployment_history
from tests.tools.test_client import API, EMAIL, TOKEN, FakeServer, js


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def client(server: typing.Any, store: Store, **kw: typing.Any) -> BitbucketClient:
    return BitbucketClient(
        workspace="acme",
        auth=BasicAuth(EMAIL, SecretStr(TOKEN)),
        transport=httpx.MockTransport(server),
        store=store,
        **kw,
    )


async def test_immutable_responses_come_from_the_store_in_a_new_client(tmp_path: Path) -> None:
    server = FakeServer().route(f"{API}/repositories/acme/api/commit/abc123", js({"hash": "abc123"}))
    store = SqliteStore(tmp_path / "c.sqlite")
    async with client(server, store) as first:
        await first.get_json(first.repo_path("api", "commit", "abc123"), cache="immutable")
    async with client(server, store) as second:  # another run
        assert await second.get_json(second.repo_path("api", "commit", "abc123"), cache="immutable") == {
            "hash": "abc123"
        }
        assert second.stats.requests == 0 and second.stats.cache_hits == 1
    assert len(server.requests) == 1
    await store.aclose()


async def test_a_changing_listing_is_never_served_stale(tmp_path: Path) -> None:
    """A listing is shared only for the same moment (COALESCE_SECONDS); a later run re-reads it."""
    clock = Clock()
    versions = iter(range(1, 100))
    server = FakeServer().route(
        f"{API}/repositories/acme/api/pullrequests", lambda _: js({"values": [{"id": next(versions)}]})
    )
    store = SqliteStore(tmp_path / "c.sqlite", clock=clock)
    path = "/repositories/acme/api/pullrequests"
    async with client(server, store) as first:
        assert (await first.get_json(path))["values"] == [{"id": 1}]
    clock.now += COALESCE_SECONDS / 2  # someone asking the same at the same moment shares it
    async with client(server, store) as same_moment:
        assert (await same_moment.get_json(path))["values"] == [{"id": 1}]
        assert same_moment.stats.requests == 0
    clock.now += COALESCE_SECONDS  # later: re-read, the new state is seen
    async with client(server, store) as later:
        assert (await later.get_json(path))["values"] == [{"id": 2}]
        assert later.stats.requests == 1
    await store.aclose()


async def test_a_running_pipeline_is_not_kept_a_completed_one_is(tmp_path: Path) -> None:
    clock = Clock()
    states = iter(["IN_PROGRESS", "COMPLETED", "COMPLETED"])
    server = FakeServer().route(
        f"{API}/repositories/acme/api/pipelines/7",
        lambda _: js({"build_number": 7, "state": {"name": next(states)}}),
    )
    store = SqliteStore(tmp_path / "c.sqlite", clock=clock)
    path = "/repositories/acme/api/pipelines/7"

    def completed(doc: typing.Any) -> bool:
        return bool(doc["state"]["name"] == "COMPLETED")

    seen = []
    for _ in range(3):
        clock.now += 60
        async with client(server, store) as run:
            seen.append((await run.get_json(path, settled=completed))["state"]["name"])
    assert seen == ["IN_PROGRESS", "COMPLETED", "COMPLETED"]
    assert len(server.requests) == 2  # the third run was served the completed pipeline from the store
    await store.aclose()


async def test_the_ledger_is_shared_and_refuses_past_the_limit(tmp_path: Path) -> None:
    server = FakeServer().route(f"{API}/a", js({}))
    store = SqliteStore(tmp_path / "c.sqlite")
    async with client(server, store, hourly_limit=5) as one, client(server, store, hourly_limit=5) as two:
        for i in range(3):
            await one.get_json("/a", {"i": i})
        assert await two.refresh_hourly() == 2
        await two.get_json("/a", {"i": 10})
        await two.get_json("/a", {"i": 11})
        with pytest.raises(Exception, match="local limit of 5 Bitbucket requests per hour"):
            await one.get_json("/a", {"i": 12})
    assert len(server.requests) == 5
    await store.aclose()


async def test_bitbucket_rate_limit_headers_set_the_limit_for_every_process(tmp_path: Path) -> None:
    server = FakeServer().route(
        f"{API}/a", js({}, headers={"X-RateLimit-Limit": "5000", "X-RateLimit-NearLimit": "false"})
    )
    store = SqliteStore(tmp_path / "c.sqlite")
    async with client(server, store) as one:
        await one.get_json("/a")
        assert one.hourly_limit == 5000 and one.hourly_remaining == 4999
        assert "headers" in one.hourly_source
    async with client(server, store) as other:  # learns it from the store, before any request
        assert await other.refresh_hourly() == 4999 and other.hourly_limit == 5000
    near = FakeServer().route(
        f"{API}/a", js({}, headers={"X-RateLimit-Limit": "1000", "X-RateLimit-NearLimit": "true"})
    )
    async with client(near, store) as third:
        await third.get_json("/a", {"x": 1})
        assert third.hourly_remaining <= 200  # near the limit: at most the last fifth is left
    await store.aclose()


async def test_redis_makes_identical_concurrent_requests_one(redis_url: str) -> None:
    """Two clients on two connections (as two processes would be) ask for the same listing at once."""
    import redis.asyncio as aioredis

    gate = asyncio.Event()
    arrived = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        arrived.set()
        await gate.wait()
        return js({"values": [{"id": 1}]})

    requests: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return await slow(request)

    a_store, b_store = RedisStore(redis_url), RedisStore(redis_url)
    path = "/repositories/acme/api/pullrequests"
    async with client(handler, a_store) as a, client(handler, b_store) as b:
        first = asyncio.create_task(a.get_json(path))
        await arrived.wait()
        second = asyncio.create_task(b.get_json(path))
        probe = aioredis.from_url(redis_url)
        try:
            async with asyncio.timeout(10):  # until b waits on a's flight
                while not any(n for _, n in await probe.pubsub_numsub(*await probe.pubsub_channels())):
                    await asyncio.sleep(0.005)
        finally:
            await probe.aclose()
        gate.set()
        assert await first == await second == {"values": [{"id": 1}]}
        assert len(requests) == 1 and b.stats.requests == 0 and b.stats.cache_hits == 1
    await a_store.aclose()
    await b_store.aclose()


# --- across processes ------------------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from pydantic import SecretStr
    from bbscout.tools.bitbucket import BasicAuth, BitbucketClient, open_store

    async def main(base_url, email, secret, where, commit):
        store = open_store(redis_url=where) if where.startswith("redis") else open_store(path=where)
        async with BitbucketClient(workspace="acme", auth=BasicAuth(email, SecretStr(secret)),
                                   base_url=base_url, store=store) as bb:
            await bb.get_json(bb.repo_path("api-gateway", "commit", commit), cache="immutable")
            async for _ in bb.paginate(f"/repositories/acme", fields="values.slug"):
                pass
            print(bb.stats.requests, flush=True)
        await store.aclose()

    asyncio.run(main(*sys.argv[1:]))
    """
)


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_two_processes_share_the_ledger_and_the_cache(
    backend: str, world: World, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    where = request.getfixturevalue("redis_url") if backend == "redis" else str(tmp_path / "cache.sqlite")
    token = world.token("demo")
    commit = next(iter(world.repos["api-gateway"].commits))
    app = create_app(world, SandboxSettings())
    with LoopbackServer(app) as server:
        child = subprocess.run(
            [sys.executable, "-c", CHILD, server.base_url, token.email or "", token.secret, where, commit],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert child.returncode == 0, child.stderr[-2000:]
        child_requests = int(child.stdout.split()[-1])
        seen_by_server = len(app.state.request_log)
        store: Store = RedisStore(where) if backend == "redis" else SqliteStore(where)
        async with BitbucketClient(
            workspace="acme",
            auth=BasicAuth(token.email or "", SecretStr(token.secret)),
            base_url=server.base_url,
            store=store,
        ) as parent:
            assert await parent.refresh_hourly() == 1000 - child_requests  # the child's requests count here
            raw = await parent.get_json(parent.repo_path("api-gateway", "commit", commit), cache="immutable")
            assert raw["hash"] == commit
            assert parent.stats.requests == 0 and parent.stats.cache_hits == 1  # the child's fetch, shared
        assert len(app.state.request_log) == seen_by_server
        await store.aclose()


# --- early stop on the oldest-first deployments listing ------------------------------------------------


def _deployments(n: int) -> list[dict[str, typing.Any]]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        {
            "uuid": f"{{00000000-0000-0000-0000-{i:012d}}}",
            "state": {
                "name": "COMPLETED",
                "status": {"name": "SUCCESSFUL"},
                "started_on": (start + timedelta(hours=i)).isoformat(),
            },
            "environment": {"uuid": "{env}"},
            "release": {"commit": {"hash": f"{i:040x}"}},
        }
        for i in range(n)
    ]


async def test_a_kept_first_page_never_hides_newer_deployments(tmp_path: Path) -> None:
    """Page 1 of the oldest-first listing is kept; a later run still reads forward to the newest."""
    history = _deployments(150)

    def pages(request: httpx.Request) -> httpx.Response:
        page, size = int(request.url.params.get("page", 1)), 100
        values = history[(page - 1) * size : page * size]
        body: dict[str, typing.Any] = {"values": values, "size": len(history), "page": page, "pagelen": size}
        if page * size < len(history):
            body["next"] = f"https://api.bitbucket.org/2.0/repositories/acme/web/deployments/?page={page + 1}"
        return js(body)

    clock = Clock()
    server = FakeServer().route(f"{API}/repositories/acme/web/deployments/", pages)
    store = SqliteStore(tmp_path / "c.sqlite", clock=clock)
    async with client(server, store) as first:
        raws, _ = await deployment_history(
            ToolContext(client=first, workspace="acme"), "web", enough=lambda o: True
        )
        assert raws[0]["uuid"].endswith("000000000149}")
    history.extend(_deployments(210)[150:])  # 60 new deployments: the listing now has three pages
    clock.now += 60
    async with client(server, store) as later:
        raws, _ = await deployment_history(
            ToolContext(client=later, workspace="acme"), "web", enough=lambda o: True
        )
        assert raws[0]["uuid"].endswith("000000000209}")  # the newest, on a page the kept page 1 did not know
        assert later.stats.cache_hits >= 1  # page 1 came from the store
        assert all("page=1" not in str(r.url) for r in server.requests[-later.stats.requests :])
    await store.aclose()


async def test_a_missing_immutable_resource_is_remembered_a_missing_listing_is_not(tmp_path: Path) -> None:
    server = (
        FakeServer()
        .route(
            f"{API}/repositories/acme/api/pipelines/%7Bp%7D/steps/%7Bs%7D/test_reports/test_cases", err404()
        )
        .route(f"{API}/repositories/acme/api/pullrequests/5", err404(), js({"id": 5}))
    )
    store = SqliteStore(tmp_path / "c.sqlite")
    reports = "/repositories/acme/api/pipelines/%7Bp%7D/steps/%7Bs%7D/test_reports/test_cases"
    for _ in range(2):
        async with client(server, store) as run:
            with pytest.raises(NotFound):
                await run.get_json(reports, cache="immutable")  # a completed step without a test report
            with pytest.raises(NotFound):
                await run.get_json(reports, cache="immutable")
    assert len(server.requests) == 1  # two runs, four asks: one request
    async with client(server, store) as run:
        with pytest.raises(NotFound):
            await run.get_json("/repositories/acme/api/pullrequests/5")
    async with client(server, store) as later:  # something that can appear is asked again
        assert await later.get_json("/repositories/acme/api/pullrequests/5") == {"id": 5}
    await store.aclose()


def err404() -> httpx.Response:
    return httpx.Response(404, json={"type": "error", "error": {"message": "Not found"}})
