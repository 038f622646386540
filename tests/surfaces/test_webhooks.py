"""Incident webhooks on `bbscout serve`'s app over real HTTP (uvicorn on loopback): PagerDuty v3, Opsgenie
and Alertmanager payloads in their documented shapes start investigations whose findings reach a fake
Slack thread or a callback, with their status at `GET /v1/investigations/{id}` for an API key."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bbscout.agent.settings import Settings
from bbscout.agent.surfaces.config import IncidentSettings, ServiceRoute, SlackSettings
from bbscout.sandbox.server import LoopbackServer
from tests.surfaces.conftest import root_of, service, with_key
from tests.surfaces.fake_slack import FakeSlack
from tests.surfaces.incident_payloads import (
    AM_TOKEN,
    INCIDENTS,
    OG_TOKEN,
    PD_SECRET,
    SYMPTOM,
    Callbacks,
    alertmanager_body,
    opsgenie_body,
    pagerduty_body,
    signed,
)


@pytest.fixture
def callbacks() -> Iterator[tuple[Callbacks, str]]:
    receiver = Callbacks()
    with LoopbackServer(receiver.app) as server:
        yield receiver, f"{root_of(server)}/hook"


def incident_settings(**overrides: Any) -> IncidentSettings:
    return IncidentSettings(
        concurrency=3,
        slack_channel=INCIDENTS,
        pagerduty_secrets=[SecretStr(PD_SECRET)],
        opsgenie_token=SecretStr(OG_TOKEN),
        alertmanager_token=SecretStr(AM_TOKEN),
        services={"checkout": ServiceRoute(repos=["checkout-service"], aliases=["PCHKOUT", "checkout-api"])},
    ).model_copy(update=overrides)


@asynccontextmanager
async def webhook_service(
    bitbucket: Settings, fake: FakeSlack, **overrides: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """`bbscout serve`'s app with the webhooks and a Slack bot token (for findings); (client, app)."""
    slack = SlackSettings(bot_token=SecretStr("xoxb-test"), api_url=fake.api_url)  # type: ignore[attr-defined]
    with service(bitbucket, slack=slack, incidents=incident_settings(**overrides)) as (origin, app):
        async with httpx.AsyncClient(base_url=origin, timeout=120) as http:
            yield http, app


async def finished(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    """The investigation once done or failed (the status API's long poll: no sleeping here)."""
    response = await http.get(url, params={"wait": 60}, headers=with_key())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] in ("done", "failed"), body
    return body


BODIES = {"pagerduty": pagerduty_body, "opsgenie": opsgenie_body, "alertmanager": alertmanager_body}


@pytest.mark.parametrize("provider", list(BODIES))
async def test_each_provider_starts_an_investigation_whose_findings_reach_the_slack_thread(
    provider: str, service_env: Path, bitbucket: Settings, fake: FakeSlack
) -> None:
    async with webhook_service(bitbucket, fake) as (http, _):
        raw, headers = signed(provider, BODIES[provider]())
        response = await http.post(f"/v1/webhooks/{provider}", content=raw, headers=headers)
        assert response.status_code == 202, response.text
        [accepted] = response.json()["investigations"]
        assert accepted["duplicate"] is False and accepted["status"] == "queued"
        investigation = await finished(http, accepted["url"])
        unauthorized = await http.get(accepted["url"])
        assert unauthorized.status_code == 401 and "API key" in unauthorized.json()["title"]
    assert investigation["status"] == "done", investigation
    assert investigation["service"] == "checkout" and investigation["repos"] == ["checkout-service"]
    assert investigation["incident"]["started_at"] == "2026-11-29T13:05:00+00:00"
    document = investigation["document"]
    [first] = [f for f in document["findings"] if f["title"].startswith("Suspect #1")]
    assert first["title"].startswith("Suspect #1: pr:checkout-service#68")  # the planted culprit
    [root] = [m for m in fake.messages.values() if m.channel == INCIDENTS and m.thread_ts is None]
    assert SYMPTOM in root.text
    [findings] = fake.thread(INCIDENTS, root.ts)
    shown = json.dumps(findings.shown["blocks"])
    assert "<https://bitbucket.org/acme/checkout-service/pull-requests/68|pr:checkout-service#68>" in shown


async def test_a_redelivery_is_investigated_once(
    service_env: Path, bitbucket: Settings, fake: FakeSlack
) -> None:
    async with webhook_service(bitbucket, fake) as (http, _):
        raw, headers = signed("pagerduty", pagerduty_body())
        first, second = await asyncio.gather(
            *(http.post("/v1/webhooks/pagerduty", content=raw, headers=headers) for _ in range(2))
        )
        await finished(http, first.json()["investigations"][0]["url"])
        third = await http.post("/v1/webhooks/pagerduty", content=raw, headers=headers)
    answers = [r.json()["investigations"][0] for r in (first, second, third)]
    assert {r.status_code for r in (first, second, third)} == {202}
    assert len({a["id"] for a in answers}) == 1
    assert sorted(a["duplicate"] for a in answers) == [False, True, True]
    assert len([m for m in fake.messages.values() if m.thread_ts is None]) == 1


@pytest.mark.parametrize("provider", list(BODIES))
async def test_a_bad_signature_or_token_gets_401_and_starts_nothing(
    provider: str, service_env: Path, bitbucket: Settings, fake: FakeSlack
) -> None:
    async with webhook_service(bitbucket, fake) as (http, app):
        raw, headers = signed(provider, BODIES[provider](), secret="wrong")
        refused = await http.post(f"/v1/webhooks/{provider}", content=raw, headers=headers)
        unsigned = await http.post(f"/v1/webhooks/{provider}", content=raw)
        garbage_raw, garbage_headers = signed(provider, {"hello": "world"})
        garbage = await http.post(f"/v1/webhooks/{provider}", content=garbage_raw, headers=garbage_headers)
    assert refused.status_code == 401 and unsigned.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert garbage.status_code == 400 and "is missing" in garbage.json()["detail"]
    assert fake.calls == [] and app.state.investigations.peak == 0


async def test_an_unconfigured_provider_is_not_accepted(
    service_env: Path, bitbucket: Settings, fake: FakeSlack
) -> None:
    async with webhook_service(bitbucket, fake, opsgenie_token=None) as (http, _):
        raw, headers = signed("opsgenie", opsgenie_body())
        response = await http.post("/v1/webhooks/opsgenie", content=raw, headers=headers)
        unknown = await http.get("/v1/investigations/inv_nope", headers=with_key())
    assert response.status_code == 404 and "opsgenie_token" in response.json()["detail"]
    assert unknown.status_code == 404


async def test_a_large_alert_group_is_accepted_and_a_huge_one_refused(
    service_env: Path, bitbucket: Settings, fake: FakeSlack
) -> None:
    """Webhook bodies have their own limit (1 MiB), far above the 16 KiB of a question."""
    body = alertmanager_body()
    many = body | {"alerts": [body["alerts"][1]] * 300 + [body["alerts"][0]]}  # ~150 KB, one firing
    async with webhook_service(bitbucket, fake) as (http, _):
        raw, headers = signed("alertmanager", many)
        accepted = await http.post("/v1/webhooks/alertmanager", content=raw, headers=headers)
        raw, headers = signed("alertmanager", many | {"padding": "x" * 1_100_000})
        refused = await http.post("/v1/webhooks/alertmanager", content=raw, headers=headers)
        await finished(http, accepted.json()["investigations"][0]["url"])
    assert len(raw) > 1_048_576 and accepted.status_code == 202
    assert refused.status_code == 413


async def test_a_flood_of_100_alerts_runs_at_bounded_concurrency_and_none_is_lost(
    service_env: Path, bitbucket: Settings, fake: FakeSlack, callbacks: tuple[Callbacks, str]
) -> None:
    receiver, hook = callbacks
    route = ServiceRoute(repos=["checkout-service"], aliases=["checkout-api"], callback_url=hook)
    overrides = {"concurrency": 4, "services": {"checkout": route}, "callback_secret": SecretStr("cb-secret")}
    async with webhook_service(bitbucket, fake, **overrides) as (http, app):
        posts = []
        for i in range(100):
            raw, headers = signed("alertmanager", alertmanager_body(group=f"alert-{i}"))
            posts.append(http.post("/v1/webhooks/alertmanager", content=raw, headers=headers))
        responses = await asyncio.gather(*posts)
        assert {r.status_code for r in responses} == {202}
        urls = {r.json()["investigations"][0]["url"] for r in responses}
        await asyncio.to_thread(receiver.wait_for, 100)
        rows = [await finished(http, url) for url in urls]
        peak = app.state.investigations.peak
    ids = {row["id"] for row in rows}
    assert len(ids) == 100
    assert all(row["status"] == "done" for row in rows), [r["error"] for r in rows if r["status"] != "done"]
    assert all(row["thread_id"] == f"incident:{row['id']}" for row in rows)
    assert {row["destination"] for row in rows} == {"callback " + hook.removesuffix("/hook")}  # no path shown
    assert 1 < peak <= 4, peak
    assert len(receiver.received) == 100
    for body, headers in receiver.received:
        digest = hmac.new(b"cb-secret", body, hashlib.sha256).hexdigest()
        assert headers["x-bbscout-signature"] == f"sha256={digest}"
    delivered = {json.loads(body)["investigation"] for body, _ in receiver.received}
    assert delivered == ids
    assert fake.calls == []  # the route sends this service's findings to the callback only
