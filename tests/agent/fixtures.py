"""Hand-built repositories mirroring the sandbox's default `acme` workspace (not built from sandbox.world)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bbscout.agent.planners.base import PlanRequest
from bbscout.tools.evidence import RepositoryRecord

_REPOS: tuple[tuple[str, str, str, str], ...] = (
    (
        "api-gateway",
        (
            "The backend API service: public REST API gateway that authenticates, rate-limits and routes "
            "all client traffic to the internal services."
        ),
        "Platform",
        "main",
    ),
    (
        "checkout-service",
        "Checkout: cart, tax calculation and order placement for the storefront.",
        "Commerce",
        "main",
    ),
    (
        "payments-service",
        ("Payments: card authorisation, captures, refunds and the payment gateway client (Stripe/Adyen)."),
        "Commerce",
        "main",
    ),
    (
        "web-frontend",
        "The customer-facing web app: Next.js storefront, product pages, cart and checkout UI.",
        "Web & Mobile",
        "main",
    ),
    (
        "mobile-app",
        "iOS and Android shopping app (Kotlin Multiplatform shared code + native shells).",
        "Web & Mobile",
        "master",
    ),
    (
        "infra-terraform",
        ("Infrastructure as code (Terraform): AWS accounts, EKS clusters, RDS databases and networking."),
        "Infrastructure",
        "main",
    ),
    (
        "shared-libs",
        (
            "Shared Python libraries (acme-common): structured logging, config loading, HTTP clients, "
            "test utils."
        ),
        "Platform",
        "main",
    ),
    (
        "data-pipeline",
        "Analytics ETL: order and payment events to the data warehouse (Airflow DAGs, dbt models).",
        "Data",
        "main",
    ),
    (
        "notification-service",
        ("Notifications: transactional email, SMS and push for order and shipping events (NestJS)."),
        "Platform",
        "main",
    ),
    (
        "auth-service",
        "Authentication: OAuth2 login, session management, JWT issuing and API keys.",
        "Platform",
        "main",
    ),
)


def acme_repos() -> list[RepositoryRecord]:
    return [
        RepositoryRecord(
            ref=f"repo:{slug}",
            repo=slug,
            url=f"https://bitbucket.org/acme/{slug}",
            title=slug,
            slug=slug,
            name=slug,
            description=desc,
            project=project,
            main_branch=main,
        )
        for slug, desc, project, main in _REPOS
    ]


ALL_SLUGS = [r[0] for r in _REPOS]


def plan_request(question: str, now: datetime, **kw: Any) -> PlanRequest:
    """A planner's request for `question` against the acme repositories (unless others are given)."""
    kw.setdefault("repositories", acme_repos())
    return PlanRequest.read(question, now, **kw)
