"""BitbucketClient core: auth, read-only guard, errors, retries, limits, budget, accounting.

Fake servers are `httpx.MockTransport` handlers; sleeps and clocks are injected, so nothing waits.
Shared helpers (`FakeServer`, `make_client`) live here and are imported by the other test_client_* files.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import typing
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from pydantic import SecretStr

from bbscout.tools.bitbucket import (
    DEFAULT_BASE_URL,
    AuthError,
    BadRequest,
    BasicAuth,
    BearerAuth,
    BitbucketClient,
    BitbucketError,
    BudgetExhausted,
    Gone,
    NotFound,
    RateLimited,
    ReadOnlyViolation,
    RequestEvent,
    RequestStats,
    ResponseCache,
    RetryConfig,
    ScopeError,
    ServerError,
    TransportFailure,
)

TOKEN = "ATATT3xFfGF0-super-secret-token-value"
EMAIL = "dev@acme.io"
API = "/2.0"

Responder = httpx.Response | Exception | typing.Callable[[httpx.Request], httpx.Response]


def js(data: typing.Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=data, headers=headers)


def err(status: int, message: str, detail: typing.Any = None, headers: dict[str, str] | None = None):
    body: dict[str, typing.Any] = {"type": "error", "error": {"message": message}}
    if detail is not None:
        body["error"]["detail"] = detail
    return httpx.Response(status, json=body, headers=headers)


class FakeServer:
    """Routes on `request.url.path`; each route has a queue of responses (the last one repeats)."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Responder]] = {}
        self.requests: list[httpx.Request] = []

    def route(self, path: str, *responses: Responder) -> FakeServer:
        self.routes[path] = list(responses)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.routes.get(request.url.path)
        if not queue:
            return err(404, f"no route for {request.url.path}")
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        if callable(item) and not isinstance(item, httpx.Response):
            return item(request)
        return item

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_client(server: FakeServer, **kwargs: typing.Any) -> BitbucketClient:
    kwargs.setdefault("workspace", "acme")
    kwargs.setdefault("auth", BasicAuth(EMAIL, SecretStr(TOKEN)))
    kwargs.setdefault("sleep", Sleeps())
    kwargs.setdefault("rng", random.Random(7))
    kwargs.setdefault("cache", ResponseCache())
    return BitbucketClient(transport=httpx.MockTransport(server), **kwargs)


# --- construction, auth, secrecy -------------------------------------------------------------------


def test_public_constants_and_reprs() -> None:
    assert DEFAULT_BASE_URL == "https://api.bitbucket.org/2.0"
    basic = BasicAuth("a@b.c", SecretStr(TOKEN))
    assert repr(basic) == "BasicAuth(email='a@b.c', token=**********)"
    assert repr(BearerAuth(SecretStr(TOKEN))) == "BearerAuth(token=**********)"
    assert TOKEN not in str(vars(basic)) and TOKEN not in str(basic)
    client = make_client(FakeServer(), auth=basic)
    assert TOKEN not in repr(client)
    assert client.workspace == "acme"
    assert isinstance(client.stats, RequestStats)


def test_basic_auth_requires_email() -> None:
    with pytest.raises(ValueError, match="email"):
        BasicAuth("someuser", SecretStr(TOKEN))


async def test_basic_auth_header_is_base64_email_token() -> None:
    server = FakeServer().route(f"{API}/user", js({"uuid": "{u}"}))
    async with make_client(server) as bb:
        assert await bb.get_json("/user") == {"uuid": "{u}"}
    expected = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    assert server.requests[0].headers["Authorization"] == expected
    assert server.requests[0].headers["Accept"] == "application/json"


async def test_bearer_auth_header() -> None:
    server = FakeServer().route(f"{API}/user", js({}))
    async with make_client(server, auth=BearerAuth(SecretStr(TOKEN))) as bb:
        await bb.get_json("/user")
    assert server.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


async def test_no_auth_sends_no_header() -> None:
    server = FakeServer().route(f"{API}/user", js({}))
    async with make_client(server, auth=None) as bb:
        await bb.get_json("/user")
    assert "Authorization" not in server.requests[0].headers


async def test_token_never_in_errors_events_or_reprs() -> None:
    events: list[RequestEvent] = []
    # A hostile server echoing the token back in its error message must not leak it either.
    server = FakeServer().route(f"{API}/user", err(401, f"bad token {TOKEN}"))
    server.route(f"{API}/repositories/acme/x", err(403, "no", {"granted": [TOKEN], "required": ["read:x"]}))
    async with make_client(server, on_request=events.append) as bb:
        with pytest.raises(AuthError) as auth_exc:
            await bb.get_json("/user")
        with pytest.raises(ScopeError) as scope_exc:
            await bb.get_json("/repositories/acme/x")
        texts = [
            str(auth_exc.value),
            repr(auth_exc.value),
            auth_exc.value.hint,
            str(auth_exc.value.server_message),
            str(scope_exc.value),
            repr(scope_exc.value),
            scope_exc.value.hint,
            repr(bb),
            repr(bb.stats),
            *map(repr, events),
        ]
    b64 = base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    for text in texts:
        assert TOKEN not in text and b64 not in text
    assert events and all("Authorization" not in repr(e) for e in events)


# --- read-only guard -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "post", "OPTIONS"])
async def test_non_get_methods_are_refused_before_sending(method: str) -> None:
    server = FakeServer().route(f"{API}/user", js({}))
    async with make_client(server, budget=5) as bb:
        with pytest.raises(ReadOnlyViolation):
            await bb._send(method, f"{DEFAULT_BASE_URL}/user")
        assert bb.stats.requests == 0 and bb.remaining_budget == 5
    assert server.requests == []


async def test_transport_guard_refuses_writes_that_bypass_send() -> None:
    server = FakeServer().route(f"{API}/user", js({}))
    async with make_client(server) as bb:
        with pytest.raises(ReadOnlyViolation):
            await bb._http.post(f"{DEFAULT_BASE_URL}/user", json={})
    assert server.requests == []


async def test_absolute_url_outside_base_is_refused() -> None:
    server = FakeServer()
    async with make_client(server) as bb:
        with pytest.raises(ValueError):
            await bb.get_json("https://evil.example.com/2.0/user")
    assert server.requests == []


# --- params and fields on the wire ---------------------------------------------------------------


async def test_repeated_params_and_fields_plus_is_percent_encoded() -> None:
    server = FakeServer().route(f"{API}/repositories/acme/api/pullrequests/3", js({"id": 3}))
    async with make_client(server) as bb:
        await bb.get_json(
            "/repositories/acme/api/pullrequests/3",
            [("state", "OPEN"), ("state", "MERGED"), ("draft", False), ("skip", None)],
            fields=["+values.reviewers", "+values.participants"],
        )
    url = server.requests[0].url
    raw = url.query.decode()
    assert "state=OPEN&state=MERGED" in raw
    assert "draft=false" in raw and "skip" not in raw
    assert "fields=%2Bvalues.reviewers%2C%2Bvalues.participants" in raw
    assert "+" not in raw.split("fields=")[1]
    assert url.params.get_list("fields") == ["+values.reviewers,+values.participants"]


async def test_path_helpers_encode_segments() -> None:
    server = FakeServer()
    async with make_client(server) as bb:
        assert (
            bb.repo_path("api", "pipelines", "{abc}", "steps")
            == "/repositories/acme/api/pipelines/%7Babc%7D/steps"
        )
        assert (
            bb.repo_path("api", "refs", "branches", "feat/x")
            == "/repositories/acme/api/refs/branches/feat%2Fx"
        )


# --- errors --------------------------------------------------------------------------------------


async def test_401_auth_error_hint() -> None:
    server = FakeServer().route(
        f"{API}/user", err(401, "Token is invalid, expired, or not supported for this endpoint.")
    )
    async with make_client(server) as bb:
        with pytest.raises(AuthError) as exc:
            await bb.get_json("/user")
    e = exc.value
    assert e.status == 401 and e.endpoint == "/user"
    assert "expired" in str(e)
    assert "with scopes" in e.hint and "email" in e.hint and "BITBUCKET_ACCESS_TOKEN" in e.hint
    assert isinstance(e, BitbucketError)


async def test_403_scope_detail_object() -> None:
    body = {"granted": ["read:pullrequest:bitbucket"], "required": ["read:pipeline:bitbucket"]}
    server = FakeServer().route(
        f"{API}/repositories/acme/api/pipelines/",
        err(403, "Your credentials lack one or more required privilege scopes.", body),
    )
    async with make_client(server) as bb:
        with pytest.raises(ScopeError) as exc:
            await bb.get_json("/repositories/acme/api/pipelines/")
    e = exc.value
    assert e.status == 403
    assert e.granted == ["read:pullrequest:bitbucket"] and e.required == ["read:pipeline:bitbucket"]
    assert e.missing == ["read:pipeline:bitbucket"]
    assert "read:pipeline:bitbucket" in str(e) and "read:pipeline:bitbucket" in e.hint
    assert "Create a new API token" in e.hint
    assert e.endpoint == "/repositories/{ws}/{repo}/pipelines/"


async def test_403_scope_detail_string_and_plain_403() -> None:
    server = FakeServer()
    server.route(
        f"{API}/a",
        err(403, "Your credentials lack one or more required privilege scopes.", "read:repository:bitbucket"),
    )
    server.route(f"{API}/b", err(403, "Forbidden"))
    server.route(f"{API}/c", httpx.Response(403, text="<html>nope</html>"))
    async with make_client(server) as bb:
        with pytest.raises(ScopeError) as a:
            await bb.get_json("/a")
        with pytest.raises(ScopeError) as b:
            await bb.get_json("/b")
        with pytest.raises(ScopeError) as c:
            await bb.get_json("/c")
    assert "scope" in a.value.hint and "read:repository:bitbucket" in str(a.value)
    assert "check your permission" in str(b.value) and "permission" in b.value.hint
    assert c.value.status == 403 and "no access" in str(c.value).lower()


async def test_404_410_400_and_other_statuses() -> None:
    server = FakeServer()
    server.route(f"{API}/repositories/dev/null", err(404, "Repository dev/null not found"))
    server.route(f"{API}/workspaces", err(410, "This API is no longer supported."))
    server.route(f"{API}/repositories/acme/api/pullrequests", err(400, "Invalid pagelen"))
    server.route(f"{API}/x", err(406, "Not acceptable"))
    async with make_client(server) as bb:
        with pytest.raises(NotFound) as nf:
            await bb.get_json("/repositories/dev/null")
        with pytest.raises(Gone) as gone:
            await bb.get_json("/workspaces")
        with pytest.raises(BadRequest) as bad:
            await bb.get_json("/repositories/acme/api/pullrequests", {"pagelen": 100})
        with pytest.raises(BitbucketError) as other:
            await bb.get_json("/x")
    assert "Repository dev/null not found" in str(nf.value) and "workspace slug" in nf.value.hint
    assert nf.value.server_message == "Repository dev/null not found"
    assert "/user/workspaces" in gone.value.hint and gone.value.status == 410
    assert "Invalid pagelen" in str(bad.value)
    assert type(other.value) is BitbucketError and other.value.status == 406
    assert len(server.requests) == 4  # 4xx are never retried


# --- retries -------------------------------------------------------------------------------------


async def test_retries_5xx_then_succeeds_with_backoff() -> None:
    sleeps = Sleeps()
    server = FakeServer().route(f"{API}/user", err(500, "oops"), err(503, "busy"), js({"ok": True}))
    async with make_client(server, sleep=sleeps, retry=RetryConfig(jitter=0.0)) as bb:
        assert await bb.get_json("/user") == {"ok": True}
        assert bb.stats.requests == 3 and bb.stats.retries == 2
    assert sleeps.calls == [0.5, 1.0]


async def test_retries_timeouts_and_connection_errors() -> None:
    sleeps = Sleeps()
    server = FakeServer().route(
        f"{API}/user", httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), js({"ok": 1})
    )
    events: list[RequestEvent] = []
    async with make_client(server, sleep=sleeps, on_request=events.append) as bb:
        assert await bb.get_json("/user") == {"ok": 1}
    assert len(sleeps.calls) == 2
    assert [e.attempt for e in events] == [1, 2, 3]
    assert [e.status for e in events] == [None, None, 200]
    assert events[0].error == "ReadTimeout"
    # jitter stays within ±25% of the exponential delay
    assert 0.375 <= sleeps.calls[0] <= 0.625 and 0.75 <= sleeps.calls[1] <= 1.25


async def test_gives_up_after_max_attempts() -> None:
    server = FakeServer().route(f"{API}/user", err(502, "bad gateway"))
    server.route(f"{API}/t", httpx.ConnectTimeout("x"))
    async with make_client(server, retry=RetryConfig(max_attempts=3)) as bb:
        with pytest.raises(ServerError) as exc:
            await bb.get_json("/user")
        assert exc.value.status == 502
        with pytest.raises(TransportFailure) as texc:
            await bb.get_json("/t")
        assert "timed out" in str(texc.value)
    # a timeout is tried once more, not max_attempts times: a hung server costs two deadlines at most
    assert server.paths().count(f"{API}/user") == 3 and server.paths().count(f"{API}/t") == 2


async def test_555_is_retried_once_only() -> None:
    server = FakeServer().route(f"{API}/repositories/acme/api/diff/a..b", err(555, "timeout"))
    async with make_client(server) as bb:
        with pytest.raises(ServerError) as exc:
            await bb.get_text("/repositories/acme/api/diff/a..b")
    assert exc.value.status == 555 and "narrow" in exc.value.hint
    assert len(server.requests) == 2


async def test_truncated_json_is_retried() -> None:
    truncated = httpx.Response(200, content=b'{"values": [1, 2', headers={"content-type": "application/json"})
    server = FakeServer().route(f"{API}/user", truncated, js({"ok": True}))
    async with make_client(server) as bb:
        assert await bb.get_json("/user") == {"ok": True}
        assert bb.stats.retries == 1
    server2 = FakeServer().route(f"{API}/user", truncated)
    async with make_client(server2, retry=RetryConfig(max_attempts=2)) as bb:
        with pytest.raises(TransportFailure, match="JSON"):
            await bb.get_json("/user")


async def test_429_honours_retry_after_seconds_and_http_date() -> None:
    sleeps = Sleeps()
    when = datetime.now(UTC) + timedelta(seconds=9)
    server = FakeServer().route(
        f"{API}/user",
        err(429, "Rate limit for this resource has been exceeded.", headers={"Retry-After": "3"}),
        err(429, "Rate limit", headers={"Retry-After": format_datetime(when, usegmt=True)}),
        js({"ok": True}),
    )
    async with make_client(server, sleep=sleeps) as bb:
        assert await bb.get_json("/user") == {"ok": True}
    assert sleeps.calls[0] == 3.0
    assert 6.0 <= sleeps.calls[1] <= 9.0


async def test_429_without_retry_after_uses_backoff_then_gives_up() -> None:
    sleeps = Sleeps()
    server = FakeServer().route(f"{API}/user", err(429, "Rate limit for this resource has been exceeded."))
    async with make_client(server, sleep=sleeps, retry=RetryConfig(max_attempts=3, jitter=0.0)) as bb:
        with pytest.raises(RateLimited) as exc:
            await bb.get_json("/user")
    assert sleeps.calls == [0.5, 1.0] and len(server.requests) == 3
    assert exc.value.status == 429 and exc.value.retry_after is None


async def test_429_with_long_retry_after_raises_immediately() -> None:
    sleeps = Sleeps()
    server = FakeServer().route(f"{API}/user", err(429, "Rate limit", headers={"Retry-After": "1500"}))
    async with make_client(server, sleep=sleeps) as bb:
        with pytest.raises(RateLimited) as exc:
            await bb.get_json("/user")
    assert sleeps.calls == [] and len(server.requests) == 1
    assert exc.value.retry_after == 1500.0
    assert "resets in ~25 min" in str(exc.value)


# --- local limits --------------------------------------------------------------------------------


async def test_budget_is_exact_and_counts_attempts_not_cache_hits() -> None:
    server = FakeServer().route(f"{API}/a", err(500, "x"), js({"a": 1}))
    server.route(f"{API}/b", js({"b": 1}))
    async with make_client(server, budget=3) as bb:
        assert bb.remaining_budget == 3
        await bb.get_json("/a")  # 2 attempts
        assert bb.remaining_budget == 1
        await bb.get_json("/a")  # cache hit: free
        await bb.get_json("/b")  # the 3rd request
        assert bb.remaining_budget == 0
        with pytest.raises(BudgetExhausted, match="request budget of 3 spent"):
            await bb.get_json("/c")
    assert len(server.requests) == 3


async def test_unlimited_budget() -> None:
    server = FakeServer().route(f"{API}/a", js({}))
    async with make_client(server, budget=None) as bb:
        for i in range(5):
            await bb.get_json("/a", {"i": i})
        assert bb.remaining_budget is None


async def test_hourly_limiter_refuses_without_sending_and_frees_after_an_hour() -> None:
    clock = Clock()
    server = FakeServer().route(f"{API}/a", js({}))
    async with make_client(server, hourly_limit=3, clock=clock, budget=None) as bb:
        for i in range(3):
            await bb.get_json("/a", {"i": i})
            clock.now += 60
        with pytest.raises(RateLimited) as exc:
            await bb.get_json("/a", {"i": 99})
        assert len(server.requests) == 3
        assert exc.value.retry_after == pytest.approx(3600 - 180)
        assert "resets in ~57 min" in str(exc.value)
        clock.now += exc.value.retry_after + 0.01
        await bb.get_json("/a", {"i": 100})
    assert len(server.requests) == 4


async def test_near_limit_header_is_recorded() -> None:
    server = FakeServer().route(
        f"{API}/a", js({}, headers={"X-RateLimit-NearLimit": "true", "X-RateLimit-Limit": "1000"})
    )
    async with make_client(server) as bb:
        assert bb.stats.near_limit is False
        await bb.get_json("/a")
        assert bb.stats.near_limit is True


# --- accounting ----------------------------------------------------------------------------------


async def test_stats_per_endpoint_template_and_events() -> None:
    clock = Clock()
    events: list[RequestEvent] = []
    server = FakeServer()

    def slow(request: httpx.Request) -> httpx.Response:
        clock.now += 0.25
        return js({"values": []})

    for uuid in ("{1111}", "{2222}"):
        server.route(f"{API}/repositories/acme/api/pipelines/{uuid}/steps", slow)
    async with make_client(server, clock=clock, on_request=events.append) as bb:
        await bb.get_json(bb.repo_path("api", "pipelines", "{1111}", "steps"))
        await bb.get_json(bb.repo_path("api", "pipelines", "{2222}", "steps"))
        await bb.get_json(bb.repo_path("api", "pipelines", "{2222}", "steps"))  # cache hit
    key = "/repositories/{ws}/{repo}/pipelines/{id}/steps"
    ep = bb.stats.by_endpoint[key]
    assert ep.requests == 2 and ep.cache_hits == 1 and ep.bytes == 2 * len(b'{"values":[]}')
    assert bb.stats.requests == 2 and bb.stats.seconds == pytest.approx(0.5)
    assert bb.stats.cache_hits == 1 and bb.stats.cache_misses == 2
    assert [e.from_cache for e in events] == [False, False, True]
    assert events[0].endpoint == key and events[0].status == 200 and events[0].method == "GET"
    assert events[0].url_path == "/2.0/repositories/acme/api/pipelines/{1111}/steps"
    assert events[0].seconds == pytest.approx(0.25)


async def test_on_request_errors_do_not_break_requests() -> None:
    def boom(event: RequestEvent) -> None:
        raise RuntimeError("hook failed")

    server = FakeServer().route(f"{API}/a", js({"x": 1}))
    async with make_client(server, on_request=boom) as bb:
        assert await bb.get_json("/a") == {"x": 1}


async def test_connection_reuse_single_async_client() -> None:
    server = FakeServer().route(f"{API}/a", js({}))
    bb = make_client(server)
    http = bb._http
    await bb.get_json("/a", {"x": 1})
    await bb.get_json("/a", {"x": 2})
    assert bb._http is http
    await bb.aclose()
    await bb.aclose()  # idempotent
    with pytest.raises(RuntimeError):
        await bb.get_json("/a", {"x": 3})


async def test_concurrent_requests_share_budget() -> None:
    server = FakeServer().route(f"{API}/a", js({}))
    async with make_client(server, budget=4) as bb:
        results = await asyncio.gather(
            *(bb.get_json("/a", {"i": i}) for i in range(6)), return_exceptions=True
        )
    assert sum(isinstance(r, BudgetExhausted) for r in results) == 2
    assert len(server.requests) == 4


def test_json_payload_helper_roundtrip() -> None:  # keeps the helpers honest
    assert json.loads(js({"a": 1}).content) == {"a": 1}
