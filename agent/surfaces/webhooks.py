"""The incident webhooks on `bbscout serve`: each provider's proof checked, its incidents claimed, 202.

    POST /v1/webhooks/pagerduty       v3 webhook, `X-PagerDuty-Signature` verified
    POST /v1/webhooks/opsgenie        outgoing webhook, bearer or basic-auth token
    POST /v1/webhooks/alertmanager    webhook_config receiver, bearer or basic-auth token

A webhook answers 202 as soon as its incidents are claimed in the service's database; the
investigations run in the background (`investigations`), their status at `GET /v1/investigations/{id}`
(an API-key route of the service). A redelivery, on any replica, answers 202 with the same
investigation (`"duplicate": true`). A provider whose secret is not configured answers 404: nothing
unauthenticated is ever investigated. Errors are the service's problem details.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bbscout.agent.service.problems import Problem
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

if TYPE_CHECKING:
    from bbscout.agent.surfaces.investigations import Investigations

__all__ = ["MAX_BODY", "PARSERS", "webhook_router"]

MAX_BODY = 1_048_576  # an Alertmanager group of many alerts is large; questions stay at the API's limit
PARSERS: dict[str, Callable[[Any], list[Incident]]] = {
    "pagerduty": pagerduty,
    "opsgenie": opsgenie,
    "alertmanager": alertmanager,
}
SECRETS = {
    "pagerduty": "pagerduty_secrets (BBSCOUT_PAGERDUTY_SECRET)",
    "opsgenie": "opsgenie_token (BBSCOUT_OPSGENIE_TOKEN)",
    "alertmanager": "alertmanager_token (BBSCOUT_ALERTMANAGER_TOKEN)",
}


def verified(settings: IncidentSettings, provider: str, request: Request, body: bytes) -> bool | None:
    """True/False for a configured provider's proof; None when the provider is not configured."""
    if provider == "pagerduty":
        if not settings.pagerduty_secrets:
            return None
        return pagerduty_signed(
            body, request.headers.get("x-pagerduty-signature"), settings.pagerduty_secrets
        )
    token = settings.opsgenie_token if provider == "opsgenie" else settings.alertmanager_token
    return None if token is None else token_ok(request.headers.get("authorization"), token)


def webhook_router() -> APIRouter:
    """The webhook route; it finds the process's `Investigations` in `app.state.investigations`."""
    router = APIRouter(tags=["incidents"])

    @router.post(
        "/v1/webhooks/{provider}",
        status_code=202,
        openapi_extra={"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}}},
    )
    async def webhook(provider: str, request: Request) -> JSONResponse:
        """An incident from PagerDuty (v3), Opsgenie or Alertmanager: investigated once, in the background."""
        if provider not in PARSERS:
            raise Problem(
                404,
                "unknown-webhook",
                "Unknown webhook",
                f"No webhook {provider!r}; use one of {', '.join(PARSERS)}.",
            )
        investigations: Investigations | None = request.app.state.investigations
        body = await request.body()
        proof = None if investigations is None else verified(investigations.settings, provider, request, body)
        if proof is None:
            raise Problem(
                404,
                "webhook-not-configured",
                "Webhook not configured",
                f"Set [incidents] {SECRETS[provider]} to accept {provider} webhooks.",
            )
        if not proof:
            raise Problem(
                401,
                "unauthenticated-webhook",
                "Unauthenticated webhook",
                f"The {provider} signature or token does not match.",
            )
        assert investigations is not None
        try:
            incidents = PARSERS[provider](json.loads(body))
        except (ValueError, PayloadError) as exc:
            raise Problem(
                400,
                "invalid-webhook",
                "Not a webhook payload",
                f"This is not a {provider} webhook body: {exc}.",
            ) from None
        accepted = []
        for incident in incidents:
            investigation, created = await investigations.submit(incident)
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

    return router
