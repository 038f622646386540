"""Which service a symptom is about: the repository it names first, never an HTTP phrase."""

from __future__ import annotations

import pytest

from bbscout.agent.incident.suspects import infer_service

REPOS = {"api-gateway", "checkout-service", "payments-service", "web-frontend", "notification-service"}


@pytest.mark.parametrize(
    ("symptom", "service"),
    [
        ("checkout requests failing with payment timeouts (HTTP 504) since 13:05 UTC", "checkout-service"),
        ("customers are getting gateway timeouts at checkout since about 8am", "checkout-service"),
        ("502 bad gateway from payments after the deploy", "payments-service"),
        ("the api-gateway returns 500s", "api-gateway"),
        ("the web app's new address step was rolled back", "web-frontend"),
        ("service unavailable errors everywhere", None),
    ],
)
def test_infer_service(symptom: str, service: str | None) -> None:
    assert infer_service(symptom, REPOS) == service
