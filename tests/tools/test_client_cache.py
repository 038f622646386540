"""Response cache (TTL, immutable, bypass, sharing, single flight) and text (logs, redirects, Range)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import SecretStr

from bbscout.tools.bitbucket import BearerAuth, NotFound, ResponseCache, TransportFailure
from tests.tools.test_client import API, TOKEN, Clock, FakeServer, js, make_client

LOG = "/repositories/acme/api/pipelines/{p1}/steps/{s1}/log"


# --- cache ---------------------------------------------------------------------------------------


async def test_listing_cache_hit_then_expiry_with_injected_clock() -> None:
    clock = Clock()
    cache = ResponseCache(listing_ttl=60.0, clock=clock)
    server = FakeServer().route(f"{API}/a", js({"v": 1}), js({"v": 2}))
    async with make_client(server, cache=cache) as bb:
        assert await bb.get_json("/a") == {"v": 1}
        clock.now += 59
        assert await bb.get_json("/a") == {"v": 1}
        assert (cache.hits, cache.misses) == (1, 1)
        clock.now += 1.5
        assert await bb.get_json("/a") == {"v": 2}
        assert (cache.hits, cache.misses) == (1, 2)
        assert (bb.stats.cache_hits, bb.stats.cache_misses) == (1, 2)
    assert len(server.requests) == 2


async def test_immutable_entries_never_expire_and_none_bypasses() -> None:
    clock = Clock()
    cache = ResponseCache(clock=clock)
    server = FakeServer().route(f"{API}/commit/abc", js({"hash": "abc"}))
    async with make_client(server, cache=cache) as bb:
        await bb.get_json("/commit/abc", cache="immutable")
        clock.now += 10 * 24 * 3600
        await bb.get_json("/commit/abc", cache="immutable")
        assert len(server.requests) == 1
        await bb.get_json("/commit/abc", cache="none")
        assert len(server.requests) == 2
        with pytest.raises(ValueError):
            await bb.get_json("/commit/abc", cache="forever")  # type: ignore[arg-type]


async def test_cache_returns_fresh_copies() -> None:
    server = FakeServer().route(f"{API}/a", js({"values": [1]}))
    async with make_client(server) as bb:
        first = await bb.get_json("/a")
        first["values"].append(2)
        assert await bb.get_json("/a") == {"values": [1]}


async def test_cache_key_ignores_param_order_but_not_values() -> None:
    server = FakeServer().route(f"{API}/a", js({}))
    async with make_client(server) as bb:
        await bb.get_json("/a", [("x", "1"), ("y", "2")])
        await bb.get_json("/a", {"y": 2, "x": 1})
        assert len(server.requests) == 1
        await bb.get_json("/a", {"y": 2, "x": 1}, fields="values.id")
        await bb.get_json("/a", {"y": 3, "x": 1})
        assert len(server.requests) == 3


async def test_errors_are_not_cached() -> None:
    server = FakeServer().route(f"{API}/a", js({"error": {"message": "nope"}}, status=404), js({"ok": 1}))
    async with make_client(server) as bb:
        with pytest.raises(NotFound):
            await bb.get_json("/a")
        assert await bb.get_json("/a") == {"ok": 1}


async def test_shared_cache_between_clients_not_keyed_by_auth() -> None:
    cache = ResponseCache()
    server = FakeServer().route(f"{API}/repositories/acme/api", js({"slug": "api"}))
    async with make_client(server, cache=cache) as first:
        await first.get_json("/repositories/acme/api")
    async with make_client(server, cache=cache, auth=BearerAuth(SecretStr("other-token"))) as second:
        assert await second.get_json("/repositories/acme/api") == {"slug": "api"}
        assert second.stats.requests == 0 and second.stats.cache_hits == 1
    assert len(server.requests) == 1
    assert all(TOKEN not in key and "other-token" not in key for key in cache._entries)


async def test_lru_bound() -> None:
    cache = ResponseCache(max_entries=2)
    server = FakeServer().route(f"{API}/a", js({}))
    async with make_client(server, cache=cache) as bb:
        for i in (1, 2, 3):
            await bb.get_json("/a", {"i": i})
        assert len(cache) == 2
        await bb.get_json("/a", {"i": 1})  # evicted → refetched
    assert len(server.requests) == 4


class HeldRoute:
    """A route that answers only once released; `arrived` yields each request as it reaches the server.

    Tasks created together run their first steps in creation order before the test resumes, and
    `get_json` joins an in-flight request before it first suspends: once the leader's request has
    arrived, every follower created with it is waiting on that flight.
    """

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.release = asyncio.Event()
        self.arrived: asyncio.Queue[httpx.Request] = asyncio.Queue()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.arrived.put_nowait(request)
        await self.release.wait()
        return self.response


async def test_single_flight_concurrent_identical_gets_make_one_request() -> None:
    server = FakeServer()
    route = HeldRoute(js({"n": 1}))
    server.route(f"{API}/a", route)
    cache = ResponseCache()
    async with make_client(server, cache=cache) as bb, make_client(server, cache=cache) as other:
        tasks = [asyncio.create_task(c.get_json("/a")) for c in (bb, bb, other)]
        await route.arrived.get()  # the leader's request is at the server, the others wait on it
        route.release.set()
        results = await asyncio.gather(*tasks)
    assert results == [{"n": 1}] * 3
    assert len(server.requests) == 1
    assert cache.misses == 1 and cache.hits == 2


async def test_single_flight_propagates_leader_error_without_extra_requests() -> None:
    server = FakeServer()
    route = HeldRoute(js({"type": "error", "error": {"message": "gone"}}, status=404))
    server.route(f"{API}/a", route)
    async with make_client(server) as bb:
        tasks = [asyncio.create_task(bb.get_json("/a")) for _ in range(3)]
        await route.arrived.get()
        route.release.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, NotFound) for r in results)
    assert len(server.requests) == 1


async def test_single_flight_follower_refetches_when_leader_is_cancelled() -> None:
    server = FakeServer()
    route = HeldRoute(js({"n": 1}))
    server.route(f"{API}/a", route)
    async with make_client(server) as bb:
        leader = asyncio.create_task(bb.get_json("/a"))
        follower = asyncio.create_task(bb.get_json("/a"))
        await route.arrived.get()  # the leader's request is in flight, the follower waits on it
        leader.cancel()
        await route.arrived.get()  # the follower, left without a leader, sent its own request
        route.release.set()
        assert await follower == {"n": 1}
        with pytest.raises(asyncio.CancelledError):
            await leader
    assert len(server.requests) == 2


# --- text: logs, diffs, redirects, Range ------------------------------------------------------------


async def test_get_text_sends_text_accept_and_decodes() -> None:
    server = FakeServer().route(
        API + "/repositories/acme/api/diff/a..b",
        httpx.Response(200, content="diff --git a/é b/é\n".encode(), headers={"content-type": "text/plain"}),
    )
    async with make_client(server) as bb:
        text = await bb.get_text("/repositories/acme/api/diff/a..b", {"context": 3}, cache="immutable")
    assert text == "diff --git a/é b/é\n"
    assert server.requests[0].headers["Accept"] == "text/plain, application/octet-stream"
    assert "json" not in server.requests[0].headers["Accept"]


async def test_get_text_rejects_auth_header_override() -> None:
    async with make_client(FakeServer()) as bb:
        with pytest.raises(ValueError):
            await bb.get_text("/x", headers={"Authorization": "Basic x"})


async def test_log_redirect_to_other_host_drops_authorization() -> None:
    server = FakeServer()
    server.route(
        API + LOG, httpx.Response(307, headers={"Location": "https://storage.example.com/logs/s1?sig=abc"})
    )
    server.route("/logs/s1", httpx.Response(200, content=b"+ make test\nFAILED\n"))
    async with make_client(server) as bb:
        text = await bb.get_text(LOG, cache="immutable")
        assert bb.stats.requests == 2
        assert bb.hourly_remaining == 999  # the storage hop is not an API request
    seen = server.requests
    assert text == "+ make test\nFAILED\n"
    assert [r.url.host for r in seen] == ["api.bitbucket.org", "storage.example.com"]
    assert "Authorization" in seen[0].headers
    assert "Authorization" not in seen[1].headers
    assert seen[1].url.params["sig"] == "abc"
    assert seen[1].headers["Accept"] == "text/plain, application/octet-stream"


async def test_same_host_redirect_keeps_auth() -> None:
    server = FakeServer()
    server.route(
        API + "/repositories/acme/api/pullrequests/3/diff",
        httpx.Response(
            302,
            headers={"Location": "/2.0/repositories/acme/api/diff/acme/api:abc%0Ddef?from_pullrequest_id=3"},
        ),
    )
    server.route(API + "/repositories/acme/api/diff/acme/api:abc\rdef", httpx.Response(200, text="diff"))
    async with make_client(server) as bb:
        assert await bb.get_text("/repositories/acme/api/pullrequests/3/diff") == "diff"
    assert all("Authorization" in r.headers for r in server.requests)


async def test_too_many_redirects() -> None:
    server = FakeServer().route(API + "/loop", httpx.Response(302, headers={"Location": "/2.0/loop"}))
    async with make_client(server) as bb:
        with pytest.raises(TransportFailure, match="redirects"):
            await bb.get_text("/loop")
    assert len(server.requests) == 6


async def test_tail_bytes_uses_range() -> None:
    log = b"line1\nline2\nline3\n"
    server = FakeServer()

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Range"] == "bytes=-6"
        return httpx.Response(206, content=log[-6:], headers={"Content-Range": f"bytes 12-17/{len(log)}"})

    server.route(API + LOG, handler)
    async with make_client(server) as bb:
        assert await bb.get_text(LOG, tail_bytes=6) == "line3\n"
        assert await bb.get_text(LOG, tail_bytes=6) == "line3\n"  # cached under its own key
    assert len(server.requests) == 1


@pytest.mark.parametrize("refusal", [416, 503])
async def test_tail_bytes_falls_back_to_full_get(refusal: int) -> None:
    log = ("x" * 100 + "\nthe end\n").encode()
    server = FakeServer()

    def handler(request: httpx.Request) -> httpx.Response:
        if "Range" in request.headers:
            return httpx.Response(refusal, json={"error": {"message": "range"}})
        return httpx.Response(200, content=log)

    server.route(API + LOG, handler)
    async with make_client(server) as bb:
        assert await bb.get_text(LOG, tail_bytes=9) == "\nthe end\n"
        assert bb.stats.bytes == len(log) + len(b'{"error":{"message":"range"}}')
    assert len(server.requests) == 2
    assert "Range" in server.requests[0].headers and "Range" not in server.requests[1].headers


async def test_tail_bytes_with_server_ignoring_range_keeps_tail_and_trims_partial_utf8() -> None:
    log = "aaaa\nüü\n".encode()  # ü is 2 bytes
    server = FakeServer().route(API + LOG, httpx.Response(200, content=log))
    async with make_client(server) as bb:
        assert await bb.get_text(LOG, tail_bytes=4) == "ü\n"  # cut inside the first ü → dropped
    assert len(server.requests) == 1


async def test_tail_and_full_text_are_cached_separately() -> None:
    server = FakeServer().route(API + LOG, httpx.Response(200, content=b"0123456789"))
    async with make_client(server) as bb:
        assert await bb.get_text(LOG, tail_bytes=3, cache="immutable") == "789"
        assert await bb.get_text(LOG, cache="immutable") == "0123456789"
        assert await bb.get_text(LOG, tail_bytes=3, cache="immutable") == "789"
    assert len(server.requests) == 2
