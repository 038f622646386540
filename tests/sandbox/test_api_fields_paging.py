"""`fields=` partial responses and the three pagination styles."""

from __future__ import annotations

import httpx

from bbscout.sandbox.fields import apply_fields
from bbscout.sandbox.world.model import World

OBJ = {
    "type": "pr",
    "id": 1,
    "links": {"self": {"href": "x"}},
    "author": {"display_name": "A", "uuid": "u"},
    "reviewers": [{"uuid": "r"}],
}
HIDDEN = (("reviewers",),)


def test_fields_unit() -> None:
    assert apply_fields(OBJ, None, HIDDEN) == {k: v for k, v in OBJ.items() if k != "reviewers"}
    assert apply_fields(OBJ, "id", HIDDEN) == {"id": 1}
    assert apply_fields(OBJ, "id,author.display_name", HIDDEN) == {"id": 1, "author": {"display_name": "A"}}
    assert "reviewers" in apply_fields(OBJ, "+reviewers", HIDDEN)
    assert "links" not in apply_fields(OBJ, "-links", HIDDEN)
    assert apply_fields(OBJ, "-*,+id", HIDDEN) == {"id": 1}
    assert apply_fields(OBJ, "author.*", HIDDEN) == {"author": OBJ["author"]}
    assert apply_fields(OBJ, " reviewers", HIDDEN) == {}
    assert apply_fields(OBJ, "*", HIDDEN) == OBJ


async def test_pr_list_hides_reviewers(client: httpx.AsyncClient) -> None:
    r = await client.get("/repositories/acme/api/pullrequests", params={"state": ["OPEN", "MERGED"]})
    assert r.status_code == 200
    assert all("reviewers" not in v and "participants" not in v for v in r.json()["values"])
    r = await client.get(
        "/repositories/acme/api/pullrequests?fields=%2Bvalues.reviewers,%2Bvalues.participants"
    )
    vals = r.json()["values"]
    assert vals and all("reviewers" in v and "participants" in v and "title" in v for v in vals)
    # an unencoded + is a space: matches nothing
    r = await client.get("/repositories/acme/api/pullrequests?fields=+values.reviewers")
    assert r.json() == {}
    r = await client.get("/repositories/acme/api/pullrequests/2")
    assert {"reviewers", "participants", "description"} <= set(r.json())


async def test_fields_values_prefix_and_removal(client: httpx.AsyncClient) -> None:
    r = await client.get("/repositories/acme?fields=values.slug,next")
    assert r.json() == {"values": [{"slug": "api"}, {"slug": "web"}]}
    r = await client.get("/repositories/acme/api?fields=-links,-owner")
    assert "links" not in r.json() and "owner" not in r.json() and "slug" in r.json()


async def walk(client: httpx.AsyncClient, url: str) -> tuple[list[dict], int]:
    seen: list[dict] = []
    pages = 0
    while url:
        r = await client.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += body["values"]
        pages += 1
        url = body.get("next", "")
    return seen, pages


async def test_list_pagination_walk(client: httpx.AsyncClient, world: World) -> None:
    items, pages = await walk(client, "/repositories/acme/api/pipelines/1/steps?pagelen=1")
    assert pages == 2 and len({i["uuid"] for i in items}) == 2
    items, pages = await walk(
        client, "/repositories/acme/api/src/main/?max_depth=3&pagelen=2&fields=%2Bvalues.path"
    )
    paths = [i["path"] for i in items]
    assert len(paths) == len(set(paths)) and "src/app.py" in paths and pages == (len(paths) + 1) // 2
    r = await client.get("/repositories/acme/api/refs?pagelen=2&page=2")
    body = r.json()
    assert body["page"] == 2 and "previous" in body and "next" in body and body["size"] == 6
    assert "pagelen=2" in body["next"] and "page=3" in body["next"]


async def test_next_keeps_query_and_host(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/repositories/acme/api/refs?q=name%20~%20%22e%22&pagelen=1&fields=%2Bvalues.name,next"
    )
    nxt = r.json()["next"]
    assert nxt.startswith("http://sandbox.local/2.0/repositories/acme/api/refs?")
    assert "q=name%20~%20%22e%22" in nxt and "fields=%2Bvalues.name%2Cnext" in nxt


async def test_iterator_pagination_commits(client: httpx.AsyncClient, world: World) -> None:
    items, pages = await walk(client, "/repositories/acme/api/commits?pagelen=2")
    assert [c["hash"] for c in items] == world.repos["api"].commit_order
    assert pages == 3
    r = await client.get("/repositories/acme/api/commits?pagelen=2")
    body = r.json()
    assert set(body) == {"values", "pagelen", "next"}
    r = await client.get("/repositories/acme/api/commits/main")
    hashes = [c["hash"] for c in r.json()["values"]]
    assert len(hashes) == 4 and world.repos["api"].branches["feature/new-checkout"] not in hashes
    r = await client.get(
        "/repositories/acme/api/commits", params={"include": "feature/new-checkout", "exclude": "main"}
    )
    assert [c["hash"] for c in r.json()["values"]] == [world.repos["api"].branches["feature/new-checkout"]]
    r = await client.get("/repositories/acme/api/commits/main", params={"path": "config"})
    assert len(r.json()["values"]) == 2
    r = await client.get("/repositories/acme/api/commits?page=garbage")
    assert r.status_code == 400


async def test_pipelines_numbered_pages(client: httpx.AsyncClient) -> None:
    seen = []
    page = 1
    while True:
        r = await client.get(f"/repositories/acme/api/pipelines?pagelen=3&page={page}&sort=-created_on")
        body = r.json()
        assert "next" not in body and body["size"] == 8 and body["pagelen"] == 3
        if not body["values"]:
            break
        seen += [p["build_number"] for p in body["values"]]
        page += 1
    assert seen == sorted(seen, reverse=True) and len(seen) == 8


async def test_pagelen_limits(client: httpx.AsyncClient) -> None:
    r = await client.get("/repositories/acme/api/pullrequests?pagelen=51")
    assert r.status_code == 400 and r.json() == {"type": "error", "error": {"message": "Invalid pagelen"}}
    assert (await client.get("/repositories/acme/api/pullrequests?pagelen=50")).status_code == 200
    assert (await client.get("/repositories/acme/api/refs?pagelen=101")).status_code == 400
    assert (await client.get("/repositories/acme/api/refs?pagelen=0")).status_code == 400
    assert (await client.get("/repositories/acme/api/pipelines?pagelen=101")).status_code == 400
    r = await client.get("/repositories/acme/api/diffstat/main")
    assert r.json()["pagelen"] == 500
    sha = (await client.get("/repositories/acme/api/commit/main")).json()["hash"]
    r = await client.get(f"/repositories/acme/api/commit/{sha}/pullrequests")
    assert r.json()["pagelen"] == 30
