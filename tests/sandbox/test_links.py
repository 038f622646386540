"""API links are rooted at the base URL that served the request, so a client that follows them (here
atlassian-python-api, a real third-party library) stays on the sandbox; web links stay on bitbucket.org."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import requests
from atlassian.bitbucket import Cloud

from bbscout.sandbox.app import create_app
from bbscout.sandbox.server import LoopbackServer
from bbscout.sandbox.world import World, build_world
from tests.sandbox.conftest import auth_header

ANCHOR = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
SLUG = "checkout-service"  # open and merged PRs, pipelines, commits
API_LINKS = {"self", "commits", "diff", "diffstat", "pullrequests", "steps", "statuses", "comments"}


@pytest.fixture(scope="module")
def world() -> World:
    return build_world("default", seed=7, anchor=ANCHOR)


def hrefs(obj: Any) -> Iterator[tuple[str, str]]:
    """(link name, href) for every `links` entry anywhere in a response."""
    if isinstance(obj, dict):
        for name, link in (obj.get("links") or {}).items():
            if isinstance(link, dict) and isinstance(link.get("href"), str):
                yield name, link["href"]
        for value in obj.values():
            yield from hrefs(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from hrefs(item)


async def test_api_links_follow_the_serving_host_and_html_links_stay_on_bitbucket(world: World) -> None:
    app = create_app(world)
    headers = auth_header(world.token("demo"))
    for origin in ("http://sandbox.local", "http://127.0.0.1:8123"):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=origin, headers=headers) as c:
            pages = [
                (await c.get("/2.0/repositories/acme", params={"pagelen": 2})).json(),
                (await c.get("/2.0/repositories/acme/api-gateway/pullrequests?state=MERGED")).json(),
                (await c.get("/2.0/repositories/acme/api-gateway/pipelines?sort=-created_on")).json(),
                (await c.get("/2.0/repositories/acme/api-gateway/commits/main")).json(),
            ]
        links = [link for page in pages for link in hrefs(page)]
        api = [href for name, href in links if name in API_LINKS]
        assert {name for name, _ in links} >= API_LINKS | {"html", "avatar"}
        assert all(href.startswith(f"{origin}/2.0/") for href in api), api[:5]
        assert all(href.startswith("https://bitbucket.org/") for name, href in links if name == "html")
        assert not [href for _, href in links if "api.bitbucket.org" in href]
        assert all(p["next"].startswith(f"{origin}/2.0/") for p in pages if "next" in p)
        sources = [s["uri"] for p in pages[2]["values"] for s in p.get("configuration_sources", [])]
        assert all(uri.startswith(f"{origin}/2.0/") for uri in sources)
    # the world keeps its canonical links: rooting happens per response
    assert (
        world.repos["api-gateway"]
        .repository["links"]["self"]["href"]
        .startswith("https://api.bitbucket.org/")
    )


class RecordingSession(requests.Session):
    """A requests session that records every URL it sends and refuses any outside `origin`."""

    def __init__(self, origin: str) -> None:
        super().__init__()
        self.origin = origin
        self.urls: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = str(request.url)
        self.urls.append(url)
        if not url.startswith(self.origin + "/"):
            raise AssertionError(f"request left the sandbox: {request.method} {url}")
        return super().send(request, **kwargs)


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """A socket guard: resolving or connecting to anything but 127.0.0.1 fails the test."""
    attempts: list[Any] = []
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(sock: socket.socket, address: Any) -> None:
        attempts.append(address)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] != "127.0.0.1":
            raise AssertionError(f"connection outside loopback: {address}")
        real_connect(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", b"127.0.0.1"):
            raise AssertionError(f"name lookup outside loopback: {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


def test_atlassian_python_api_reads_the_sandbox_without_leaving_loopback(
    world: World, loopback_only: list[Any]
) -> None:
    token = world.token("demo")
    data = world.repos[SLUG]
    app = create_app(world)
    with LoopbackServer(app) as server:
        origin = f"http://127.0.0.1:{server.port}"
        session = RecordingSession(origin)
        cloud = Cloud(url=origin, username=token.email, password=token.secret, session=session)

        # repositories: the workspace object, then its repositories, each built from its links.self
        workspace = cloud.workspaces.get("acme")
        slugs = {repo.slug for repo in workspace.repositories.each()}
        repo = cloud.repositories.get("acme", SLUG)

        # pull requests (the open ones listed, two merged ones by id), each rooted at its links.self:
        # their commits, and the diffstat (a redirect to the commit-range diffstat)
        merged = sorted(i for i, pr in data.pullrequests.items() if pr["state"] == "MERGED")[-2:]
        prs = [*repo.pullrequests.each(), *(repo.pullrequests.get(i) for i in merged)]
        pr_commits = {c.hash for pr in prs for c in pr.commits}
        diffstat = list(prs[-1].diffstat())

        # pipelines and their steps
        pipelines = list(islice(repo.pipelines.each(sort="-created_on"), 3))
        steps = [s for p in pipelines for s in p.steps()]

        # commits, each rooted at its links.self, and its build statuses
        commits = list(islice(repo.commits.each(), 30))
        statuses = [s for c in commits[:5] for s in c.statuses()]

    assert slugs == set(world.repos)
    opened = sorted(i for i, pr in data.pullrequests.items() if pr["state"] == "OPEN")
    assert [pr.id for pr in prs] == [*opened, *merged] and len(prs) == 3
    assert prs[0].is_open and prs[-1].is_merged
    assert pr_commits and pr_commits <= set(data.commits)
    assert diffstat and all(d.get_data("type") == "diffstat" for d in diffstat)
    assert pipelines and steps
    assert {p.build_number for p in pipelines} <= {p["build_number"] for p in data.pipelines}
    assert len(commits) == 30 and {c.hash for c in commits} <= set(data.commits)
    assert len(statuses) == sum(len(data.statuses.get(c.hash, [])) for c in commits[:5])
    # every request went to this server: what the client sent, what the server saw, what the sockets did
    assert len(session.urls) > 12 and all(url.startswith(f"{origin}/2.0/") for url in session.urls)
    assert len(app.state.request_log) == len(session.urls)
    assert loopback_only and all(address[0] == "127.0.0.1" for address in loopback_only)
    # and the client did follow links: PR sub-resources through the PR's links.self, then the redirect
    followed = {urlsplit(url).path for url in session.urls}
    assert f"/2.0/repositories/acme/{SLUG}/pullrequests/{prs[-1].id}/diffstat" in followed
    assert any(path.startswith(f"/2.0/repositories/acme/{SLUG}/diffstat/") for path in followed)
