"""The incident webhooks and the investigations' status, as Starlette routes to mount on a service.

    POST /v1/webhooks/pagerduty       v3 webhook, `X-PagerDuty-Signature` verified
    POST /v1/webhooks/opsgenie        outgoing webhook, bearer or basic-auth token
    POST /v1/webhooks/alertmanager    webhook_config receiver, bearer or basic-auth token
    GET  /v1/investigations/{id}      status, and the `--json` document once done

A webhook answers 202 as soon as the incident is claimed; the investigation runs in the background.
A redelivery answers 202 with the same investigation (`"duplicate": true`). A provider whose secret is
not configured answers 404: nothing unauthenticated is ever investigated.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bbscout.agent.surfaces.config import IncidentSettings
from bbscout.agent.surfaces.incidents import (
    Incident,
    PayloadError,
    alertmanager,
    opsgenie,
    pagerduty,
    pagerduty_signed,
    token_ok,
)
from bbscout.agent.surfaces.investigations import InvestigationRunner

__all__ = ["MAX_BODY", "webhook_routes"]

MAX_BODY = 1_048_576
Authorize = Callable[[Request], Awaitable[bool]]


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "status": status, "title": title, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


def webhook_routes(
    runner: InvestigationRunner, settings: IncidentSettings, authorize: Authorize
) -> list[Route]:
    """The routes; `authorize` decides who may read an investigation (the service's API keys)."""

    def verified(provider: str, request: Request, body: bytes) -> bool | None:
        """True/False for a configured provider's proof; None when the provider is not configured."""
        if provider == "pagerduty":
            if not settings.pagerduty_secrets:
                return None
            return pagerduty_signed(
                body, request.headers.get("x-pagerduty-signature"), settings.pagerduty_secrets
            )
        token = settings.opsgenie_token if provider == "opsgenie" else settings.alertmanager_token
        return None if token is None else token_ok(request.headers.get("authorization"), token)

    parsers: dict[str, Callable[[Any], list[Incident]]] = {
        "pagerduty": pagerduty,
        "opsgenie": opsgenie,
        "alertmanager": alertmanager,
    }
    secrets = {
        "pagerduty": "pagerduty_secrets (BBSCOUT_PAGERDUTY_SECRET)",
        "opsgenie": "opsgenie_token (BBSCOUT_OPSGENIE_TOKEN)",
        "alertmanager": "alertmanager_token (BBSCOUT_ALERTMANAGER_TOKEN)",
    }

    async def webhook(request: Request) -> JSONResponse:
        provider = request.path_params["provider"]
        if provider not in parsers:
            return _problem(
                404, "Unknown webhook", f"No webhook {provider!r}; use one of {', '.join(parsers)}."
            )
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY:
            return _problem(413, "Body too large", f"Webhook bodies are limited to {MAX_BODY:,} bytes.")
        body = await request.body()
        proof = verified(provider, request, body)
        if proof is None:
            return _problem(
                404,
                "Webhook not configured",
                f"Set [incidents] {secrets[provider]} to accept {provider} webhooks.",
            )
        if not proof:
            return _problem(
                401, "Unauthenticated webhook", f"The {provider} signature or token does not match."
            )
        try:
            incidents = parsers[provider](json.loads(body))
        except (ValueError, PayloadError) as exc:
            return _problem(400, "Not a webhook payload", f"This is not a {provider} webhook body: {exc}.")
        accepted = []
        for incident in incidents:
            investigation, created = await runner.submit(incident)
            accepted.append(
                {
                    "id": investigation.id,
                    "incident": incident.key,
                    "status": investigation.status,
                    "duplicate": not created,
                    "url": f"/v1/investigations/{investigation.id}",
                }
            )
        return JSONResponse({"investigations": accepted}, status_code=202)

    async def status(request: Request) -> JSONResponse:
        if not await authorize(request):
            return _problem(
                401, "Unauthorized", "Send `Authorization: Bearer <API key>` to read investigations."
            )
        found = await runner.store.get(request.path_params["id"])
        if found is None:
            return _problem(404, "No such investigation", "No investigation has this id.")
        return JSONResponse(found.public())

    return [
        Route("/v1/webhooks/{provider}", webhook, methods=["POST"]),
        Route("/v1/investigations/{id}", status, methods=["GET"]),
    ]
