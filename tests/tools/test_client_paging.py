"""Pagination: opaque `next`, by-page (pipelines), pagelen defaults, fields, early stop, max_items."""

from __future__ import annotations

import httpx
import pytest

from bbscout.tools.bitbucket import InvalidResponse, max_pagelen
from bbscout.tools.bitbucket._pagination import collection_fields
from tests.tools.test_client import API, FakeServer, make_client

PRS = "/repositories/acme/api/pullrequests"
PIPES = "/repositories/acme/api/pipelines"


def next_link_server(path: str, pages: list[list[int]]) -> FakeServer:
    """Serves `pages` through opaque `next` links (`?cursor=...`) that carry the original query."""
    server = FakeServer()

    def handler(request: httpx.Request) -> httpx.Response:
        cursor = int(request.url.params.get("cursor", "0"))
        body: dict = {
            "values": [{"id": i} for i in pages[cursor]],
            "pagelen": int(request.url.params["pagelen"]),
        }
        if cursor + 1 < len(pages):
            body["next"] = str(request.url.copy_set_param("cursor", f"{cursor + 1}"))
        return httpx.Response(200, json=body)

    return server.route(API + path, handler)


async def test_follows_next_links_all_items_no_duplicates() -> None:
    server = next_link_server(PRS, [[1, 2], [3, 4], [5]])
    async with make_client(server) as bb:
        items = [pr["id"] async for pr in bb.paginate(PRS, {"state": ["OPEN", "MERGED"]})]
    assert items == [1, 2, 3, 4, 5]
    assert len(server.requests) == 3
    first, second = server.requests[0].url, server.requests[1].url
    assert first.params.get_list("state") == ["OPEN", "MERGED"]
    assert first.params["pagelen"] == "50"  # PR list maximum
    assert second.params["cursor"] == "1"  # the `next` URL was followed verbatim
    assert second.params.get_list("state") == ["OPEN", "MERGED"]


async def test_next_link_loop_is_detected() -> None:
    server = FakeServer()
    server.route(
        API + "/loop", lambda r: httpx.Response(200, json={"values": [{"n": 1}], "next": str(r.url)})
    )
    async with make_client(server) as bb:
        items = [v async for v in bb.paginate("/loop")]
    assert len(server.requests) == 1 and items == [{"n": 1}]


async def test_next_link_to_foreign_host_is_refused() -> None:
    server = FakeServer().route(
        API + "/x", httpx.Response(200, json={"values": [1], "next": "https://evil.example/2.0/x?page=2"})
    )
    async with make_client(server) as bb:
        with pytest.raises(InvalidResponse, match="next"):  # typed: a traceback as it stood
            _ = [v async for v in bb.paginate("/x")]
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (PRS, 50),
        (PRS + "/", 50),
        ("/workspaces/acme/pullrequests/{abc}", 50),
        ("/repositories/acme/api/diffstat/a..b", 500),
        ("/repositories/acme/api/pullrequests/3/diffstat", 500),
        (PIPES + "/", 100),
        ("/repositories/acme/api/commits", 100),
        ("/repositories/acme/api/pullrequests/3/comments", 100),
    ],
)
def test_max_pagelen(path: str, expected: int) -> None:
    assert max_pagelen(path) == expected


async def test_pagelen_defaults_on_the_wire() -> None:
    server = FakeServer()
    for p in (PRS, "/repositories/acme/api/diffstat/a..b", "/repositories/acme/api/refs/branches"):
        server.route(API + p, httpx.Response(200, json={"values": []}))
    async with make_client(server) as bb:
        for p in (PRS, "/repositories/acme/api/diffstat/a..b", "/repositories/acme/api/refs/branches"):
            _ = [v async for v in bb.paginate(p)]
        _ = [v async for v in bb.paginate("/repositories/acme/api/refs/branches", pagelen=7, cache="none")]
        _ = [v async for v in bb.paginate("/repositories/acme/api/refs/branches", {"pagelen": 9, "page": 4})]
    assert [r.url.params["pagelen"] for r in server.requests] == ["50", "500", "100", "7", "9"]
    assert "page" not in server.requests[-1].url.params


def test_collection_fields_keeps_pagination_keys() -> None:
    assert collection_fields("values.id,values.state") == "values.id,values.state,next,page,size,pagelen"
    assert collection_fields(["values.id", "next"]) == "values.id,next,page,size,pagelen"
    assert collection_fields("+values.reviewers") == "+values.reviewers"  # additive keeps defaults
    assert collection_fields(None) is None


async def test_fields_on_the_wire_for_collections() -> None:
    server = next_link_server(PRS, [[1], [2]])
    async with make_client(server) as bb:
        _ = [v async for v in bb.paginate(PRS, fields=["values.id", "+values.reviewers"])]
    raw = server.requests[0].url.query.decode()
    assert "fields=values.id%2C%2Bvalues.reviewers%2Cnext%2Cpage%2Csize%2Cpagelen" in raw
    assert len(server.requests) == 2


async def test_by_page_pipelines_stops_on_short_page() -> None:
    server = FakeServer()

    def handler(request: httpx.Request) -> httpx.Response:
        page, pagelen = int(request.url.params["page"]), int(request.url.params["pagelen"])
        data = {1: [1, 2, 3], 2: [4, 5, 6], 3: [7]}[page]
        # no `next` at all (the real pipelines list is unreliable about it)
        return httpx.Response(
            200, json={"page": page, "pagelen": pagelen, "values": [{"n": n} for n in data]}
        )

    server.route(API + PIPES + "/", handler)
    async with make_client(server) as bb:
        got = [
            p["n"]
            async for p in bb.paginate(
                PIPES + "/",
                {"sort": "-created_on", "status": ["FAILED", "ERROR"]},
                pagelen=3,
                by_page=True,
                fields="values.uuid,values.state",
            )
        ]
    assert got == [1, 2, 3, 4, 5, 6, 7]
    assert [r.url.params["page"] for r in server.requests] == ["1", "2", "3"]
    for r in server.requests:  # params, sort and fields kept on every page
        assert r.url.params["sort"] == "-created_on"
        assert r.url.params.get_list("status") == ["FAILED", "ERROR"]
        assert r.url.params["fields"] == "values.uuid,values.state,next,page,size,pagelen"


async def test_by_page_stops_on_size_and_empty_page() -> None:
    server = FakeServer()
    server.route(
        API + PIPES,
        httpx.Response(200, json={"page": 1, "pagelen": 2, "size": 4, "values": [{"n": 1}, {"n": 2}]}),
        httpx.Response(200, json={"page": 2, "pagelen": 2, "size": 4, "values": [{"n": 3}, {"n": 4}]}),
    )
    server.route(API + "/empty", httpx.Response(200, json={"page": 1, "values": []}))
    async with make_client(server) as bb:
        got = [p["n"] async for p in bb.paginate(PIPES, pagelen=2, by_page=True)]
        assert got == [1, 2, 3, 4]
        assert len(server.requests) == 2  # page*pagelen >= size: no third request
        assert [p async for p in bb.paginate("/empty", by_page=True)] == []
    assert server.requests[0].url.params["pagelen"] == "2"
    assert len(server.requests) == 3


async def test_by_page_default_pagelen_for_pipelines_is_100() -> None:
    server = FakeServer().route(API + PIPES + "/", httpx.Response(200, json={"values": [{"n": 1}]}))
    async with make_client(server) as bb:
        _ = [p async for p in bb.paginate(PIPES + "/", by_page=True)]
    assert server.requests[0].url.params["pagelen"] == "100"
    assert server.requests[0].url.params["page"] == "1"


async def test_stop_predicate_ends_before_item_and_fetches_no_more_pages() -> None:
    server = next_link_server(PRS, [[10, 9, 8], [7, 6, 5], [4, 3]])
    async with make_client(server) as bb:
        got = [v["id"] async for v in bb.paginate(PRS, stop=lambda item: item["id"] < 6)]
    assert got == [10, 9, 8, 7, 6]
    assert len(server.requests) == 2

    server = next_link_server(PRS, [[10, 9, 8], [7, 6, 5]])
    async with make_client(server) as bb:
        got = [v["id"] async for v in bb.paginate(PRS, stop=lambda item: item["id"] < 9)]
    assert got == [10, 9] and len(server.requests) == 1


async def test_max_items_fetches_only_needed_pages_and_shrinks_pagelen() -> None:
    server = next_link_server(PRS, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    async with make_client(server) as bb:
        got = [v["id"] async for v in bb.paginate(PRS, pagelen=3, max_items=4)]
    assert got == [1, 2, 3, 4] and len(server.requests) == 2

    server = next_link_server(PRS, [[1, 2, 3]])
    async with make_client(server) as bb:
        got = [v["id"] async for v in bb.paginate(PRS, max_items=3)]
        assert [v async for v in bb.paginate(PRS, max_items=0)] == []
    assert got == [1, 2, 3] and len(server.requests) == 1
    assert server.requests[0].url.params["pagelen"] == "3"  # asked for no more than needed

    server = next_link_server(PRS, [[1, 2], [3]])
    async with make_client(server) as bb:
        got = [v["id"] async for v in bb.paginate(PRS, pagelen=2, max_items=2)]
    assert got == [1, 2] and len(server.requests) == 1  # exactly a page: the next one is not fetched


async def test_breaking_out_early_fetches_nothing_more() -> None:
    server = next_link_server(PRS, [[1, 2], [3, 4]])
    async with make_client(server) as bb:
        async for v in bb.paginate(PRS):
            if v["id"] == 2:
                break
    assert len(server.requests) == 1
