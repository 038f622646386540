"""Incident webhooks as `Incident`s: PagerDuty (v3), Opsgenie and Prometheus Alertmanager payloads.

Each provider proves who it is its own way: PagerDuty signs the raw body (`X-PagerDuty-Signature:
v1=HEX[,v1=HEX]`, HMAC-SHA256 with the subscription's secret, several during a rotation); Opsgenie
and Alertmanager send the credentials configured on their side (a bearer token, or basic auth whose
password is the token). Only what starts an incident becomes one: PagerDuty `incident.triggered` (and
`incident.reopened`), Opsgenie `Create`, Alertmanager `firing` alerts, grouped by service.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

__all__ = [
    "Incident",
    "PayloadError",
    "alertmanager",
    "opsgenie",
    "pagerduty",
    "pagerduty_signed",
    "token_ok",
]


class PayloadError(ValueError):
    """A body that is not the provider's webhook shape; the message names what is missing."""


@dataclass(frozen=True)
class Incident:
    """One incident: where it came from, what it says, which service, and when it began."""

    provider: str
    id: str  # the provider's incident id: redeliveries carry the same one
    title: str
    services: tuple[str, ...]  # names the service map may know it by, most specific first
    started_at: datetime
    url: str | None = None

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.id}"


def _time(value: Any, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(f"{what} is not an ISO-8601 time: {value!r}") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _need(data: Any, key: str, where: str) -> Any:
    if not isinstance(data, dict) or data.get(key) in (None, ""):
        raise PayloadError(f"{where}.{key} is missing")
    return data[key]


def pagerduty_signed(body: bytes, header: str | None, secrets: list[SecretStr]) -> bool:
    """Whether any `v1=` signature in the header is the body's HMAC-SHA256 under any configured secret."""
    if not header or not secrets:
        return False
    given = [part.strip()[3:] for part in header.split(",") if part.strip().startswith("v1=")]
    for secret in secrets:
        expected = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, g) for g in given):
            return True
    return False


def token_ok(authorization: str | None, token: SecretStr | None) -> bool:
    """`Authorization: Bearer TOKEN`, or Basic auth whose password is TOKEN (constant-time)."""
    if token is None or not authorization:
        return False
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value.strip(), validate=True).decode().partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            return False
    elif scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), token.get_secret_value().encode())


STARTS = {"incident.triggered", "incident.reopened"}


def pagerduty(payload: Any) -> list[Incident]:
    """A v3 webhook: `{"event": {"event_type", "resource_type", "occurred_at", "data": {incident}}}`."""
    event = _need(payload, "event", "body")
    if _need(event, "event_type", "event") not in STARTS or event.get("resource_type") != "incident":
        return []
    data = _need(event, "data", "event")
    service = data.get("service") or {}
    names = tuple(str(n) for n in (service.get("summary"), service.get("id")) if n)
    started = data.get("created_at") or _need(event, "occurred_at", "event")
    return [
        Incident(
            provider="pagerduty",
            id=str(_need(data, "id", "event.data")),
            title=str(data.get("title") or f"PagerDuty incident #{data.get('number', '?')}"),
            services=names,
            started_at=_time(started, "event.data.created_at"),
            url=data.get("html_url"),
        )
    ]


def opsgenie(payload: Any) -> list[Incident]:
    """An outgoing webhook: `{"action": "Create", "alert": {alertId, message, entity, tags, createdAt}}`."""
    if _need(payload, "action", "body") != "Create":
        return []
    alert = _need(payload, "alert", "body")
    tags = [str(t) for t in alert.get("tags") or []]
    names = [t.split(":", 1)[1] for t in tags if t.startswith("service:")]
    names += [str(alert["entity"])] if alert.get("entity") else []
    names += [str(t.get("name")) for t in alert.get("teams") or [] if isinstance(t, dict) and t.get("name")]
    created = _need(alert, "createdAt", "alert")
    started = (
        datetime.fromtimestamp(created / 1000, UTC)
        if isinstance(created, int | float)
        else _time(created, "alert.createdAt")
    )
    return [
        Incident(
            provider="opsgenie",
            id=str(_need(alert, "alertId", "alert")),
            title=str(_need(alert, "message", "alert")),
            services=(*names, *tags),
            started_at=started,
        )
    ]


SERVICE_LABELS = ("service", "app", "job")


def alertmanager(payload: Any) -> list[Incident]:
    """A webhook (version 4): the firing alerts of a group, one incident per service they name.

    The id is the group and service plus the earliest start, so Alertmanager's repeat notifications
    (and alerts joining a firing group) are redeliveries of one incident.
    """
    alerts = _need(payload, "alerts", "body")
    if not isinstance(alerts, list):
        raise PayloadError("body.alerts must be a list")
    group = str(_need(payload, "groupKey", "body"))
    by_service: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts:
        if not isinstance(alert, dict) or alert.get("status") != "firing":
            continue
        labels = alert.get("labels") or {}
        service = next((str(labels[k]) for k in SERVICE_LABELS if labels.get(k)), "")
        by_service.setdefault(service, []).append(alert)
    incidents = []
    for service, firing in by_service.items():
        started = min(_time(_need(a, "startsAt", "alert"), "alert.startsAt") for a in firing)
        first = min(firing, key=lambda a: _time(a["startsAt"], "alert.startsAt"))
        annotations, labels = first.get("annotations") or {}, first.get("labels") or {}
        title = (
            annotations.get("summary") or annotations.get("description") or labels.get("alertname") or group
        )
        digest = hashlib.sha256(f"{group}|{service}|{started.isoformat()}".encode()).hexdigest()[:20]
        incidents.append(
            Incident(
                provider="alertmanager",
                id=digest,
                title=str(title),
                services=tuple(n for n in (service, labels.get("namespace")) if n),
                started_at=started,
                url=first.get("generatorURL") or payload.get("externalURL"),
            )
        )
    return incidents
