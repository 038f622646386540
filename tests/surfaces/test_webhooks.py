"""Incident webhooks over real HTTP (uvicorn on loopback): PagerDuty v3, Opsgenie and Alertmanager payloads
in their documented shapes start investigations whose findings reach a fake Slack thread or a callback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
import uvicorn
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bbscout.agent.settings import Settings
from bbscout.agent.surfaces.asker import Asker
from bbscout.agent.surfaces.config import IncidentSettings, ServiceRoute, SlackSettings
from bbscout.agent.surfaces.investigations import InvestigationRunner, open_store
from bbscout.agent.surfaces.slack_app import web_client
from bbscout.agent.surfaces.webhooks import webhook_routes
from bbscout.sandbox.server import LoopbackServer
from tests.surfaces.conftest import NOW, root_of
from tests.surfaces.fake_slack import FakeSlack

PD_SECRET, OG_TOKEN, AM_TOKEN, STATUS_KEY = "pd-whsec-1", "og-token", "am-token", "status-key"
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


@pytest.fixture
def callbacks() -> Iterator[tuple[Callbacks, str]]:
    receiver = Callbacks()
    with LoopbackServer(receiver.app) as server:
        yield receiver, f"{root_of(server)}/hook"


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """Serve `app` by uvicorn in this event loop on a socket already listening (no wait needed)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def webhook_service(
    bitbucket: Settings, fake: FakeSlack, tmp_path: Any, **overrides: Any
) -> AsyncIterator[tuple[str, InvestigationRunner]]:
    settings = IncidentSettings(
        concurrency=3,
        slack_channel=INCIDENTS,
        pagerduty_secrets=[SecretStr(PD_SECRET)],
        opsgenie_token=SecretStr(OG_TOKEN),
        alertmanager_token=SecretStr(AM_TOKEN),
        services={"checkout": ServiceRoute(repos=["checkout-service"], aliases=["PCHKOUT", "checkout-api"])},
    ).model_copy(update=overrides)
    slack = web_client(SlackSettings(bot_token=SecretStr("xoxb-test"), api_url=fake.api_url))  # type: ignore[attr-defined]
    clock = lambda: datetime.fromisoformat(NOW)  # noqa: E731
    asker = Asker(bitbucket, planner="rules", checkpointer=InMemorySaver(), clock=clock)

    async def authorize(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {STATUS_KEY}"

    async with open_store(str(tmp_path / "investigations.sqlite")) as store:
        runner = InvestigationRunner(store, asker, settings, slack=slack)
        async with serving(Starlette(routes=webhook_routes(runner, settings, authorize))) as url:
            try:
                yield url, runner
            finally:
                await runner.close()


BODIES = {"pagerduty": pagerduty_body, "opsgenie": opsgenie_body, "alertmanager": alertmanager_body}


@pytest.mark.parametrize("provider", list(BODIES))
async def test_each_provider_starts_an_investigation_whose_findings_reach_the_slack_thread(
    provider: str, bitbucket: Settings, fake: FakeSlack, tmp_path: Any
) -> None:
    async with webhook_service(bitbucket, fake, tmp_path) as (url, runner), httpx.AsyncClient() as http:
        raw, headers = signed(provider, BODIES[provider]())
        response = await http.post(f"{url}/v1/webhooks/{provider}", content=raw, headers=headers)
        assert response.status_code == 202, response.text
        [accepted] = response.json()["investigations"]
        assert accepted["duplicate"] is False and accepted["status"] == "queued"
        await runner.drain()
        status = await http.get(f"{url}{accepted['url']}", headers={"Authorization": f"Bearer {STATUS_KEY}"})
        assert (await http.get(f"{url}{accepted['url']}")).status_code == 401
    investigation = status.json()
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


async def test_a_redelivery_is_investigated_once(bitbucket: Settings, fake: FakeSlack, tmp_path: Any) -> None:
    async with webhook_service(bitbucket, fake, tmp_path) as (url, runner), httpx.AsyncClient() as http:
        raw, headers = signed("pagerduty", pagerduty_body())
        first, second = await asyncio.gather(
            *(http.post(f"{url}/v1/webhooks/pagerduty", content=raw, headers=headers) for _ in range(2))
        )
        await runner.drain()
        third = await http.post(f"{url}/v1/webhooks/pagerduty", content=raw, headers=headers)
    answers = [r.json()["investigations"][0] for r in (first, second, third)]
    assert {r.status_code for r in (first, second, third)} == {202}
    assert len({a["id"] for a in answers}) == 1
    assert sorted(a["duplicate"] for a in answers) == [False, True, True]
    assert len([m for m in fake.messages.values() if m.thread_ts is None]) == 1


@pytest.mark.parametrize("provider", list(BODIES))
async def test_a_bad_signature_or_token_gets_401_and_starts_nothing(
    provider: str, bitbucket: Settings, fake: FakeSlack, tmp_path: Any
) -> None:
    async with webhook_service(bitbucket, fake, tmp_path) as (url, runner), httpx.AsyncClient() as http:
        raw, headers = signed(provider, BODIES[provider](), secret="wrong")
        refused = await http.post(f"{url}/v1/webhooks/{provider}", content=raw, headers=headers)
        unsigned = await http.post(f"{url}/v1/webhooks/{provider}", content=raw)
        garbage_raw, garbage_headers = signed(provider, {"hello": "world"})
        garbage = await http.post(
            f"{url}/v1/webhooks/{provider}", content=garbage_raw, headers=garbage_headers
        )
    assert refused.status_code == 401 and unsigned.status_code == 401
    assert garbage.status_code == 400 and "is missing" in garbage.json()["detail"]
    assert fake.calls == [] and runner.peak == 0


async def test_an_unconfigured_provider_is_not_accepted(
    bitbucket: Settings, fake: FakeSlack, tmp_path: Any
) -> None:
    async with (
        webhook_service(bitbucket, fake, tmp_path, opsgenie_token=None) as (url, _),
        httpx.AsyncClient() as http,
    ):
        raw, headers = signed("opsgenie", opsgenie_body())
        response = await http.post(f"{url}/v1/webhooks/opsgenie", content=raw, headers=headers)
    assert response.status_code == 404 and "opsgenie_token" in response.json()["detail"]


async def test_a_flood_of_100_alerts_runs_at_bounded_concurrency_and_none_is_lost(
    bitbucket: Settings, fake: FakeSlack, tmp_path: Any, callbacks: tuple[Callbacks, str]
) -> None:
    receiver, hook = callbacks
    route = ServiceRoute(repos=["checkout-service"], aliases=["checkout-api"], callback_url=hook)
    overrides = {"concurrency": 4, "services": {"checkout": route}, "callback_secret": SecretStr("cb-secret")}
    async with (
        webhook_service(bitbucket, fake, tmp_path, **overrides) as (url, runner),
        httpx.AsyncClient() as http,
    ):
        posts = []
        for i in range(100):
            raw, headers = signed("alertmanager", alertmanager_body(group=f"alert-{i}"))
            posts.append(http.post(f"{url}/v1/webhooks/alertmanager", content=raw, headers=headers))
        responses = await asyncio.gather(*posts)
        assert {r.status_code for r in responses} == {202}
        ids = {r.json()["investigations"][0]["id"] for r in responses}
        await runner.drain()
        rows = [await runner.store.get(i) for i in ids]
    assert len(ids) == 100
    assert all(row is not None and row.status == "done" for row in rows)
    assert 1 < runner.peak <= 4, runner.peak
    assert len(receiver.received) == 100
    for body, headers in receiver.received:
        digest = hmac.new(b"cb-secret", body, hashlib.sha256).hexdigest()
        assert headers["x-bbscout-signature"] == f"sha256={digest}"
    delivered = {json.loads(body)["investigation"] for body, _ in receiver.received}
    assert delivered == ids
    assert fake.calls == []  # the route sends this service's findings to the callback only
