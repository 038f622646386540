"""Incident webhooks on `bbscout serve`'s app over real HTTP (uvicorn on loopback): PagerDuty v3, Opsgenie
and Alertmanager payloads in their documented shapes start investigations whose findings reach a fake
Slack thread or a callback, with their status at `GET /v1/investigations/{id}` for an API key."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bbscout.agent.settings import Settings
from bbscout.agent.surfaces.config import IncidentSettings, ServiceRoute, SlackSettings
from bbscout.sandbox.server import LoopbackServer
from tests.surfaces.conftest import root_of, service, with_key
from tests.surfaces.fake_slack import FakeSlack

PD_SECRET, OG_TOKEN, AM_TOKEN = "pd-whsec-1", "og-token", "am-token"
INCIDENTS, AT = "C0INCIDENTS", "2026-11-29T13:05:00Z"
SYMPTOM = "Checkout requests failing with payment timeouts (HTTP 504)"


def pagerduty_body(incident_id: str = "Q1P3AE2WPJ7ZQE") -> dict[str, Any]:
    """A v3 `incident.triggered` delivery, as PagerDuty's webhook docs show it."""
    return {
        "event": {
            "id": "01DEN4HPBQAX8Y6RVD5XAJ0SNC",
            "event_type": "incident.triggered",
            "resource_type": "incident",
            "occurred_at": "2026-11-29T13:05:12.224Z",
            "agent": {
                "html_url": "https://acme.pagerduty.com/users/PLH1HKV",
                "id": "PLH1HKV",
                "type": "user_reference",
            },
            "client": None,
            "data": {
                "id": incident_id,
                "type": "incident",
                "self": f"https://api.pagerduty.com/incidents/{incident_id}",
                "html_url": f"https://acme.pagerduty.com/incidents/{incident_id}",
                "number": 2104,
                "status": "triggered",
                "incident_key": "a3c5b2d4e6f8",
                "created_at": AT,
                "title": SYMPTOM,
                "service": {
                    "html_url": "https://acme.pagerduty.com/services/PCHKOUT",
                    "id": "PCHKOUT",
                    "self": "https://api.pagerduty.com/services/PCHKOUT",
                    "summary": "Checkout API",
                    "type": "service_reference",
                },
                "assignees": [],
                "escalation_policy": {
                    "id": "PZ4ES4Y",
                    "summary": "Commerce on-call",
                    "type": "escalation_policy_reference",
                },
                "teams": [],
                "priority": {"id": "PSO75BM", "summary": "P1", "type": "priority_reference"},
                "urgency": "high",
                "conference_bridge": None,
                "resolve_reason": None,
            },
        }
    }


def opsgenie_body() -> dict[str, Any]:
    """An outgoing-webhook `Create` delivery, as Opsgenie documents it (createdAt in epoch ms)."""
    return {
        "action": "Create",
        "alert": {
            "alertId": "44f717bf-44bd-11c9-44c7-2d0cf1d07b23",
            "message": SYMPTOM,
            "tags": ["service:checkout", "prod"],
            "tinyId": "1791",
            "entity": "checkout-api",
            "alias": "checkout-504",
            "createdAt": 1795957500000,  # 2026-11-29T13:05:00Z
            "updatedAt": 1795957500001,
            "username": "Alert API",
            "userId": "",
            "description": "p99 504 rate above 5% for 5 minutes",
            "team": "",
            "responders": [
                {"id": "8cc5c5aa-4f4e-4bd5-a6d1-0b6e1f0e0d0b", "type": "team", "name": "commerce"}
            ],
            "teams": [],
            "actions": [],
            "details": {"env": "production"},
            "priority": "P1",
        },
        "source": {"name": "", "type": "api"},
        "integrationName": "bbscout",
        "integrationId": "4f8c5f6b-4d1f-4c2b-9b1e-3c6a7d0e1f2a",
        "integrationType": "Webhook",
    }


def alertmanager_body(group: str = "checkout", service: str = "checkout-api") -> dict[str, Any]:
    """A webhook_config notification (version 4), as Alertmanager's configuration docs give it."""
    labels = {"alertname": "CheckoutHigh504Rate", "service": service, "severity": "page", "namespace": "shop"}
    return {
        "version": "4",
        "groupKey": f'{{}}/{{severity="page"}}:{{alertname="{group}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "bbscout",
        "groupLabels": {"alertname": group},
        "commonLabels": labels,
        "commonAnnotations": {"summary": SYMPTOM},
        "externalURL": "http://alertmanager.shop:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": SYMPTOM, "description": "5xx above 5%"},
                "startsAt": AT,
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.shop:9090/graph?g0.expr=rate",
                "fingerprint": "c6a4c8b5d0e4f1a2",
            },
            {
                "status": "resolved",
                "labels": labels | {"alertname": "Old"},
                "annotations": {},
                "startsAt": "2026-11-28T01:00:00Z",
                "endsAt": "2026-11-28T02:00:00Z",
                "generatorURL": "",
                "fingerprint": "0000",
            },
        ],
    }


def signed(provider: str, body: dict[str, Any], secret: str | None = None) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if provider == "pagerduty":
        good = hmac.new((secret or PD_SECRET).encode(), raw, hashlib.sha256).hexdigest()
        headers["X-PagerDuty-Signature"] = f"v1={'0' * 64},v1={good}"  # a rotation: old and new secret
    elif provider == "opsgenie":
        headers["Authorization"] = f"Bearer {secret or OG_TOKEN}"
    else:
        basic = base64.b64encode(f"alertmanager:{secret or AM_TOKEN}".encode()).decode()
        headers["Authorization"] = f"Basic {basic}"
    return raw, headers


class Callbacks:
    """A callback receiver on loopback: records each POST, lets a test wait for a count."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.changed = threading.Condition()

        async def receive(request: Request) -> Response:
            with self.changed:
                self.received.append((await request.body(), dict(request.headers)))
                self.changed.notify_all()
            return Response(status_code=204)

        self.app = Starlette(routes=[Route("/hook", receive, methods=["POST"])])

    def wait_for(self, count: int, timeout: float = 120) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.received) >= count, timeout), len(self.received)


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
    assert 1 < peak <= 4, peak
    assert len(receiver.received) == 100
    for body, headers in receiver.received:
        digest = hmac.new(b"cb-secret", body, hashlib.sha256).hexdigest()
        assert headers["x-bbscout-signature"] == f"sha256={digest}"
    delivered = {json.loads(body)["investigation"] for body, _ in receiver.received}
    assert delivered == ids
    assert fake.calls == []  # the route sends this service's findings to the callback only
