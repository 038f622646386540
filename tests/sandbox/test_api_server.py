"""The sandbox over real loopback HTTP, and determinism across apps."""

from __future__ import annotations

import httpx

from bbscout.sandbox.app import create_app
from bbscout.sandbox.server import LoopbackServer
from bbscout.sandbox.world.model import World
from tests.sandbox.conftest import auth_header, make_client
from tests.sandbox.fixtures import tiny_world

PATHS = [
    "/user",
    "/repositories/acme",
    "/repositories/acme/api/pullrequests?state=MERGED",
    "/repositories/acme/api/commits",
    "/repositories/acme/api/pipelines?sort=-created_on",
    "/repositories/acme/api/src/main/?max_depth=3",
    "/repositories/acme/api/diff/main",
    "/workspaces/acme/search/code?search_query=timeout",
    "/repositories/acme/api/deployments/",
    "/repositories/acme/api/refs?sort=name",
]


def test_loopback_sync(world: World) -> None:
    app = create_app(world)
    with LoopbackServer(app) as server:
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/2.0")
        with httpx.Client(base_url=server.base_url, headers=auth_header(world.token("demo"))) as c:
            r = c.get("/repositories/acme/api/refs/branches/feature%2Fnew-checkout")
            assert r.status_code == 200 and r.json()["name"] == "feature/new-checkout"
            r = c.get("/repositories/acme/api/pullrequests?pagelen=1&state=MERGED")
            assert r.json()["next"].startswith(server.base_url)
            # log redirect followed over HTTP; auth must not be needed on storage
            step = c.get("/repositories/acme/api/pipelines/5/steps").json()["values"][1]["uuid"]
            r = c.get(f"/repositories/acme/api/pipelines/5/steps/{step}/log", follow_redirects=False)
            assert r.status_code == 307
            r2 = httpx.get(r.headers["location"], headers={"Range": "bytes=0-9"})
            assert r2.status_code == 206 and len(r2.content) == 10
            r = c.head("/repositories/acme/api")
            assert r.status_code == 200 and r.content == b""
    assert app.state.request_log


async def test_loopback_async(world: World) -> None:
    async with (
        LoopbackServer(create_app(world)) as server,
        httpx.AsyncClient(base_url=server.base_url, headers=auth_header(world.token("demo"))) as c,
    ):
        assert (await c.get("/user")).status_code == 200


async def test_determinism_two_apps() -> None:
    bodies = []
    for _ in range(2):
        w = tiny_world()
        async with make_client(create_app(w), w.token("demo")) as c:
            bodies.append([(await c.get(p)).content for p in PATHS])
    assert bodies[0] == bodies[1]
