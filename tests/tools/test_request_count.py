"""A step's cost is its own requests: steps run concurrently on one client, whose total moves with all."""

from __future__ import annotations

import asyncio

import httpx

from bbscout.tools.bitbucket import BitbucketClient, count_requests


def client() -> BitbucketClient:
    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let the other task send in between
        return httpx.Response(200, json={"path": request.url.path})

    return BitbucketClient(
        workspace="acme",
        auth=None,
        base_url="http://sandbox.local/2.0",
        transport=httpx.MockTransport(answer),
    )


async def test_concurrent_blocks_count_their_own_requests_and_blocks_nest() -> None:
    async with client() as bb:

        async def step(name: str, n: int) -> int:
            with count_requests() as made:
                await asyncio.gather(*(bb.get_json(f"/{name}/{i}") for i in range(n)))  # tasks it starts
                return made.count

        with count_requests() as everything:
            counts = await asyncio.gather(step("a", 3), step("b", 5))
            await bb.get_json("/a/0")  # answered by the cache: no request
        assert counts == [3, 5]
        assert everything.count == bb.stats.requests == 8


async def test_a_response_the_cache_or_another_request_in_flight_answered_is_counted_as_served() -> None:
    async with client() as bb:
        with count_requests() as first:
            await bb.get_json("/a/0")
        with count_requests() as again:
            await asyncio.gather(bb.get_json("/a/0"), bb.get_json("/b/0"), bb.get_json("/b/0"))
        assert (first.count, first.served) == (1, 0)
        assert (again.count, again.served) == (1, 2)  # /a/0 from the cache; one /b/0 joined the other's
