"""Authentication, scopes, repository visibility, rate limits and injected faults."""

from __future__ import annotations

import base64
import dataclasses

import httpx
import pytest
from starlette.applications import Starlette

from bbscout.sandbox.app import SandboxSettings, create_app
from bbscout.sandbox.faults import FAULT_PROFILES, FaultProfile
from bbscout.sandbox.world.model import World
from tests.sandbox.conftest import BASE, FakeClock, make_client

INVALID = {
    "type": "error",
    "error": {"message": "Token is invalid, expired, or not supported for this endpoint."},
}


def basic(user: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("alice@example.com", "wrong"),
        basic("alice", "demo-secret"),  # nickname instead of email
        basic("x-bitbucket-api-token-auth", "demo-secret"),
        basic("alice@example.com", "expired-secret"),
        basic("bob@example.com", "unscoped-secret"),
        {"Authorization": "Bearer demo-secret"},  # API token sent as Bearer
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic !!!"},
    ],
)
async def test_401_variants(anon: httpx.AsyncClient, headers: dict[str, str]) -> None:
    r = await anon.get("/repositories/acme/api", headers=headers)
    assert r.status_code == 401 and r.json() == INVALID


async def test_403_missing_scope(app: Starlette, world: World) -> None:
    async with make_client(app, world.token("no-pipeline-scope")) as c:
        assert (await c.get("/repositories/acme/api")).status_code == 200
        r = await c.get("/repositories/acme/api/pipelines")
        assert r.status_code == 403
        err = r.json()["error"]
        assert err["message"] == "Your credentials lack one or more required privilege scopes."
        assert err["detail"]["required"] == ["read:pipeline:bitbucket"]
        assert "read:repository:bitbucket" in err["detail"]["granted"]
    async with make_client(app, world.token("pr-only")) as c:
        r = await c.get("/repositories/acme/api/pullrequests/2/diff")
        assert r.status_code == 302
        r = await c.get(r.headers["location"])
        assert r.status_code == 403 and r.json()["error"]["detail"]["required"] == [
            "read:repository:bitbucket"
        ]
        assert (await c.get("/user")).status_code == 403
    async with make_client(app, world.token("rat-web")) as c:
        r = await c.get("/user")
        assert r.status_code == 403 and r.json()["error"]["detail"]["required"] == ["account"]
        # workspace members need `account` (classic) / read:workspace (new): a repository token has neither
        r = await c.get("/workspaces/acme/members")
        assert r.status_code == 403 and r.json()["error"]["detail"]["required"] == ["account"]


async def test_workspace_members(client: httpx.AsyncClient, world: World) -> None:
    r = await client.get("/workspaces/acme/members", params={"fields": "values.user.display_name,next"})
    assert r.status_code == 200
    assert [v["user"]["display_name"] for v in r.json()["values"]] == [a.display_name for a in world.accounts]
    one = world.accounts[0]
    r = await client.get(f"/workspaces/acme/members/{one.uuid}")
    assert r.status_code == 200 and r.json()["user"]["uuid"] == one.uuid
    assert (await client.get("/workspaces/nope/members")).status_code == 404


async def test_repo_token_visibility(app: Starlette, world: World) -> None:
    async with make_client(app, world.token("rat-web")) as c:
        assert (await c.get("/repositories/acme/web")).status_code == 200
        r = await c.get("/repositories/acme/api")
        assert r.status_code == 404 and r.json() == {
            "type": "error",
            "error": {"message": "Repository acme/api not found"},
        }
        assert [v["slug"] for v in (await c.get("/repositories/acme")).json()["values"]] == ["web"]
        # code search is API-token only
        assert (await c.get("/workspaces/acme/search/code?search_query=x")).status_code == 401
    async with make_client(app, world.token("demo")) as c:
        r = await c.get("/repositories/acme/nope")
        assert r.status_code == 404 and r.json()["error"]["message"] == "Repository acme/nope not found"
        assert (await c.get("/repositories/other/api")).status_code == 404


async def test_auth_checked_before_410_and_404(anon: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    assert (await anon.get("/workspaces")).status_code == 401
    assert (await anon.get("/no/such/path")).status_code == 401
    r = await client.get("/no/such/path")
    assert r.status_code == 404 and r.json()["type"] == "error"


async def test_rate_limit_with_fake_clock(world: World, clock: FakeClock) -> None:
    app = create_app(world, SandboxSettings(clock=clock, rate_limit_per_hour=3))
    async with make_client(app, world.token("demo")) as c:
        for _ in range(3):
            r = await c.get("/user")
            assert r.status_code == 200 and "X-RateLimit-Limit" not in r.headers  # API tokens get no headers
        r = await c.get("/user")
        assert r.status_code == 429
        assert r.json()["error"]["message"] == "Rate limit for this resource has been exceeded."
        assert int(r.headers["Retry-After"]) == 3600
        clock.now += 1800
        assert (await c.get("/user")).status_code == 429
        assert int((await c.get("/user")).headers["Retry-After"]) == 1800
        clock.now += 1801
        assert (await c.get("/user")).status_code == 200
    # token override (limit 5) and headers for access tokens
    async with make_client(app, world.token("limited")) as c:
        statuses = []
        for _ in range(6):
            r = await c.get("/repositories/acme/api")
            statuses.append(r.status_code)
            assert r.headers["X-RateLimit-Limit"] == "5" and r.headers["X-RateLimit-Resource"] == "api"
        assert statuses == [200] * 5 + [429]
        assert r.headers["X-RateLimit-NearLimit"] == "true"


async def test_405_and_head(client: httpx.AsyncClient) -> None:
    r = await client.post("/repositories/acme/api/pullrequests", json={})
    assert r.status_code == 405 and r.json()["type"] == "error"
    r = await client.delete("/repositories/acme/api")
    assert r.status_code == 405
    r = await client.head("/repositories/acme/api")
    assert r.status_code == 200 and r.content == b""


def profile_app(world: World, profile: FaultProfile) -> Starlette:
    return create_app(world, SandboxSettings(faults=profile))


async def test_fault_errors_reproducible(world: World) -> None:
    runs = []
    for _ in range(2):
        app = profile_app(world, FaultProfile(error_rate=0.3, seed=42))
        async with make_client(app, world.token("demo")) as c:
            statuses = [(await c.get(f"/user?i={i}")).status_code for i in range(40)]
        log = app.state.fault_log.entries
        assert [s for _, k, s in log if k == "error"] == [s for s in statuses if s != 200]
        assert {s for s in statuses if s != 200} <= {500, 502, 503} and any(s != 200 for s in statuses)
        runs.append(statuses)
    assert runs[0] == runs[1]


async def test_fault_burst_429(world: World) -> None:
    app = profile_app(world, FaultProfile(burst_429=2, burst_every=3, retry_after_s=0.5))
    async with make_client(app, world.token("demo")) as c:
        rs = [await c.get("/user") for _ in range(10)]
    assert [r.status_code for r in rs] == [200, 200, 200, 429, 429, 200, 200, 200, 429, 429]
    assert rs[3].headers["Retry-After"] == "0.5"
    assert app.state.fault_log.kinds() == ["burst_429"] * 4


async def test_fault_truncate_latency_stall(world: World) -> None:
    app = profile_app(world, FaultProfile(truncate_rate=1.0))
    async with make_client(app, world.token("demo")) as c:
        r = await c.get("/repositories/acme/api")
        assert r.status_code == 200
        with pytest.raises(ValueError):
            r.json()
    assert app.state.fault_log.entries == [("/2.0/repositories/acme/api", "truncate", 200)]

    app = profile_app(world, FaultProfile(latency_ms=1, jitter_ms=1, stall_rate=1.0, stall_s=0.01))
    async with make_client(app, world.token("demo")) as c:
        assert (await c.get("/user")).status_code == 200
    assert app.state.fault_log.kinds() == ["stall", "latency"]


async def test_settings_mutable_at_runtime(app: Starlette, world: World) -> None:
    async with make_client(app, world.token("demo")) as c:
        assert (await c.get("/user")).status_code == 200
        app.state.settings.faults = FaultProfile(error_rate=1.0, error_statuses=(503,))
        assert (await c.get("/user")).status_code == 503
        app.state.settings = dataclasses.replace(app.state.settings, faults=FAULT_PROFILES["none"])
        assert (await c.get("/user")).status_code == 200
    assert app.state.request_log[-3:] == [
        ("GET", "/2.0/user", 200),
        ("GET", "/2.0/user", 503),
        ("GET", "/2.0/user", 200),
    ]


def test_named_profiles() -> None:
    assert set(FAULT_PROFILES) == {"none", "flaky", "storm429", "slow", "chaos"}
    assert FAULT_PROFILES["flaky"].error_rate == 0.05 and FAULT_PROFILES["slow"].latency_ms == 100
    assert BASE.endswith("/2.0")
