"""Incident webhook deliveries as the providers send them (shapes from their public documentation), signed
or authenticated as each does, and a callback receiver on loopback that records what it is sent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

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
