"""Static content of the sandbox world: people, repositories, commit messages and source files.

Kept apart from the generator so realism can be tuned without touching the simulation. Nothing
here uses randomness itself; callers pass a seeded `random.Random`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

DOMAIN = "acme-commerce.com"
WORKSPACE_SLUG = "acme"
WORKSPACE_NAME = "Acme Commerce"


@dataclass(frozen=True)
class Person:
    """A workspace member before it becomes an `Account` (uuid and ids come from the rng)."""

    display_name: str
    nickname: str
    email: str
    bot: bool = False

    @property
    def raw(self) -> str:
        return f"{self.display_name} <{self.email}>"


def _person(name: str, nickname: str | None = None) -> Person:
    ascii_name = (
        name.lower()
        .replace("á", "a")
        .replace("é", "e")
        .replace("ü", "ue")
        .replace("ö", "oe")
        .replace("'", "")
    )
    first, last = ascii_name.split(" ", 1)
    last = last.replace(" ", "")
    return Person(name, nickname or f"{first}{last[0]}", f"{first}.{last}@{DOMAIN}")


PEOPLE: tuple[Person, ...] = (
    _person("Priya Raman", "priya"),
    _person("Marcus Chen", "mchen"),
    _person("Sofia Alvarez", "sofia.a"),
    _person("Daniel Okafor", "dokafor"),
    _person("Hannah Müller", "hmueller"),
    _person("Tomás Ribeiro", "tribeiro"),
    _person("Aisha Khan", "aisha"),
    _person("Liam O'Connor", "liamoc"),
    _person("Yuki Tanaka", "ytanaka"),
    _person("Ethan Brooks", "ebrooks"),
    _person("Olivia Novak", "onovak"),
    _person("Raj Patel", "rajp"),
    _person("Emma Lindqvist", "emmal"),
    _person("Noah Fischer", "nfischer"),
)
CI_BOT = Person("Acme CI", "acme-ci", f"ci-bot@{DOMAIN}", bot=True)
DEP_BOT = Person("Renovate Bot", "renovate-bot", f"renovate-bot@{DOMAIN}", bot=True)
DEMO_USER = PEOPLE[0]


@dataclass(frozen=True)
class RepoSpec:
    """What a repository is about; drives names, files, messages and pipeline steps."""

    slug: str
    name: str
    description: str
    project: tuple[str, str]  # (key, name)
    language: str  # python | go | typescript | kotlin | hcl
    deployable: bool
    jira: str
    pkg: str  # package / module directory name
    team: tuple[str, ...]  # nicknames of the usual committers (first = tech lead)
    activity: float = 1.0  # relative commit volume
    main: str = "main"
    develop: bool = False
    subjects: tuple[str, ...] = ()  # hand-written conventional-commit subjects
    modules: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (module, symbols)
    deps: tuple[tuple[str, str], ...] = ()  # (package, version)
    scheduled: str | None = None  # custom pipeline name run on a schedule
    extra: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


PROJECTS = {
    "PLAT": "Platform",
    "COM": "Commerce",
    "WEB": "Web & Mobile",
    "OPS": "Infrastructure",
    "DATA": "Data",
}

_PY_DEPS = (
    ("fastapi", "0.110.2"),
    ("uvicorn[standard]", "0.29.0"),
    ("pydantic", "2.7.1"),
    ("pydantic-settings", "2.2.1"),
    ("httpx", "0.27.0"),
    ("sqlalchemy", "2.0.29"),
    ("psycopg[binary]", "3.1.18"),
    ("redis", "5.0.4"),
    ("structlog", "24.1.0"),
    ("prometheus-client", "0.20.0"),
)
_GO_DEPS = (
    ("github.com/go-chi/chi/v5", "v5.0.12"),
    ("github.com/jackc/pgx/v5", "v5.5.5"),
    ("github.com/prometheus/client_golang", "v1.19.0"),
    ("go.uber.org/zap", "v1.27.0"),
    ("golang.org/x/crypto", "v0.22.0"),
    ("github.com/stretchr/testify", "v1.9.0"),
)

CATALOG: tuple[RepoSpec, ...] = (
    RepoSpec(
        "api-gateway",
        "api-gateway",
        "The backend API service: public REST API gateway that authenticates, rate-limits and routes "
        "all client traffic to the internal services.",
        ("PLAT", "Platform"),
        "python",
        True,
        "API",
        "gateway",
        ("mchen", "priya", "dokafor", "ytanaka"),
        1.3,
        subjects=(
            "feat(routes): add /v2/orders/{id}/tracking endpoint",
            "fix(auth): reject JWTs with a future iat claim",
            "perf(proxy): reuse upstream connections per host",
            "feat(ratelimit): expose X-RateLimit-Remaining on public routes",
            "fix(proxy): propagate traceparent header to upstreams",
            "refactor(middleware): split request logging from metrics",
            "chore(openapi): regenerate public spec",
            "fix(routes): return 404 instead of 500 for unknown product ids",
            "feat(auth): support API keys scoped to a single store",
            "test(ratelimit): cover sliding window edge cases",
            "fix(cors): allow the new storefront origin",
        ),
        modules=(
            ("app", ("create_app", "lifespan", "APP_VERSION")),
            ("routes", ("router", "get_order", "list_products", "track_shipment")),
            ("ratelimit", ("RateLimiter", "ClientOverride", "resolve_limit", "DEFAULT_BURST")),
            ("auth", ("verify_jwt", "ApiKeyAuth", "JWT_LEEWAY_SECONDS")),
            ("proxy", ("UpstreamPool", "forward_request", "UPSTREAMS")),
            ("middleware", ("RequestLoggingMiddleware", "MetricsMiddleware")),
            ("settings", ("Settings", "get_settings", "GATEWAY_TIMEOUT_MS")),
        ),
        deps=_PY_DEPS,
    ),
    RepoSpec(
        "checkout-service",
        "checkout-service",
        "Checkout: cart, tax calculation and order placement for the storefront.",
        ("COM", "Commerce"),
        "python",
        True,
        "CHK",
        "checkout",
        ("sofia.a", "hmueller", "tribeiro", "rajp", "aisha"),
        1.4,
        subjects=(
            "fix(checkout): handle nil cart in tax calculation",
            "feat(cart): support gift cards as a tender type",
            "fix(tax): round VAT per line instead of per order",
            "feat(orders): idempotency keys for place_order",
            "perf(cart): cache product prices for 30s",
            "fix(payments-client): retry once on connection reset",
            "feat(tax): add Canadian provincial rates",
            "refactor(cart): move discount rules into their own module",
            "fix(orders): release reserved stock when payment is declined",
            "test(cart): add concurrency test for double submit",
            "chore(config): lower log level for checkout in staging",
        ),
        modules=(
            ("cart", ("Cart", "CartItem", "add_item", "apply_discount")),
            ("tax", ("calculate_tax", "TAX_RATES", "tax_rate_for_region")),
            ("orders", ("place_order", "OrderError", "reserve_stock")),
            ("payments_client", ("PaymentsServiceClient", "authorize_payment")),
            ("settings", ("Settings", "CHECKOUT_TIMEOUT_MS", "get_settings")),
            ("discounts", ("DiscountRule", "best_discount")),
        ),
        deps=_PY_DEPS,
    ),
    RepoSpec(
        "payments-service",
        "payments-service",
        "Payments: card authorisation, captures, refunds and the payment gateway client (Stripe/Adyen).",
        ("COM", "Commerce"),
        "go",
        True,
        "PAY",
        "payments",
        ("dokafor", "nfischer", "aisha", "liamoc"),
        1.1,
        subjects=(
            "fix(refunds): make partial refunds idempotent",
            "feat(gateway): add Adyen as a fallback processor",
            "fix(gateway): treat 402 from processor as a decline, not an error",
            "feat(webhooks): verify Stripe signatures with tolerance",
            "perf(ledger): batch ledger writes",
            "fix(capture): do not capture twice on retried webhooks",
            "refactor(gateway): extract PaymentGatewayClient interface",
            "chore(metrics): add processor latency histogram",
        ),
        modules=(
            ("gateway", ("PaymentGatewayClient", "Authorize", "Capture", "ProcessorTimeout")),
            ("refunds", ("RefundService", "IssueRefund", "ErrDuplicateRefund")),
            ("webhooks", ("StripeHandler", "VerifySignature")),
            ("ledger", ("Ledger", "RecordEntry")),
        ),
        deps=_GO_DEPS,
    ),
    RepoSpec(
        "web-frontend",
        "web-frontend",
        "The customer-facing web app: Next.js storefront, product pages, cart and checkout UI.",
        ("WEB", "Web & Mobile"),
        "typescript",
        True,
        "WEB",
        "storefront",
        ("emmal", "ebrooks", "onovak", "ytanaka"),
        1.4,
        subjects=(
            "feat(checkout): show delivery estimate on the review step",
            "fix(cart): keep quantity stepper disabled while saving",
            "fix(a11y): label the search input",
            "feat(pdp): image zoom on product detail page",
            "perf(home): lazy-load below-the-fold carousels",
            "fix(checkout): format prices with the store currency",
            "chore(i18n): add German translations for checkout",
            "refactor(api): typed fetch wrapper for the gateway",
            "fix(header): mini-cart count not updating after removal",
        ),
        modules=(
            ("components/CartSummary", ("CartSummary", "formatPrice")),
            ("components/ProductCard", ("ProductCard",)),
            ("lib/api", ("apiFetch", "API_BASE_URL", "ApiError")),
            ("pages/checkout", ("CheckoutPage", "useCheckout")),
            ("lib/analytics", ("trackEvent", "ANALYTICS_ENABLED")),
        ),
        deps=(
            ("next", "14.2.3"),
            ("react", "18.3.1"),
            ("react-dom", "18.3.1"),
            ("zustand", "4.5.2"),
            ("zod", "3.23.8"),
            ("typescript", "5.4.5"),
            ("jest", "29.7.0"),
            ("eslint", "8.57.0"),
        ),
    ),
    RepoSpec(
        "mobile-app",
        "mobile-app",
        "iOS and Android shopping app (Kotlin Multiplatform shared code + native shells).",
        ("WEB", "Web & Mobile"),
        "kotlin",
        False,
        "MOB",
        "shop",
        ("liamoc", "emmal", "nfischer"),
        0.8,
        main="master",
        develop=True,
        subjects=(
            "feat(cart): swipe to remove items",
            "fix(login): keep session after app update",
            "fix(push): register device token after consent",
            "feat(orders): order history screen",
            "chore(release): bump versionCode",
            "fix(checkout): crash when address list is empty",
        ),
        modules=(
            ("cart/CartViewModel", ("CartViewModel", "applyDiscountCode")),
            ("api/ApiClient", ("ApiClient", "REQUEST_TIMEOUT_MS")),
            ("orders/OrderRepository", ("OrderRepository", "fetchOrders")),
        ),
        deps=(
            ("io.ktor:ktor-client-core", "2.3.10"),
            ("org.jetbrains.kotlinx:kotlinx-coroutines-core", "1.8.0"),
        ),
    ),
    RepoSpec(
        "infra-terraform",
        "infra-terraform",
        "Infrastructure as code (Terraform): AWS accounts, EKS clusters, RDS databases and networking.",
        ("OPS", "Infrastructure"),
        "hcl",
        False,
        "OPS",
        "infra",
        ("rajp", "ebrooks", "mchen"),
        0.7,
        subjects=(
            "feat(eks): add spot node group for batch workloads",
            "fix(rds): enable deletion protection on checkout db",
            "chore(eks): upgrade cluster to 1.29",
            "feat(vpc): add endpoints for S3 and ECR",
            "fix(iam): scope payments role to its own secrets",
            "chore(rds): raise max_connections for checkout-db",
        ),
        modules=(
            ("modules/eks", ("aws_eks_cluster", "aws_eks_node_group")),
            ("modules/rds", ("aws_db_instance", "aws_db_parameter_group")),
            ("modules/vpc", ("aws_vpc", "aws_subnet")),
        ),
    ),
    RepoSpec(
        "shared-libs",
        "shared-libs",
        (
            "Shared Python libraries (acme-common): structured logging, config loading, HTTP clients, "
            "test utils."
        ),
        ("PLAT", "Platform"),
        "python",
        False,
        "PLAT",
        "acme_common",
        ("priya", "mchen", "sofia.a"),
        0.6,
        subjects=(
            "feat(http): RetryingClient honours Retry-After",
            "fix(logging): do not log request bodies at INFO",
            "feat(config): load secrets from AWS Secrets Manager",
            "chore(release): 3.4.0",
            "fix(testing): freeze_time fixture handles tz-aware datetimes",
        ),
        modules=(
            ("logging", ("get_logger", "configure_logging", "REDACT_KEYS")),
            ("http", ("RetryingClient", "DEFAULT_RETRIES")),
            ("config", ("load_config", "ConfigError")),
        ),
        deps=_PY_DEPS[2:6],
    ),
    RepoSpec(
        "data-pipeline",
        "data-pipeline",
        "Analytics ETL: order and payment events to the data warehouse (Airflow DAGs, dbt models).",
        ("DATA", "Data"),
        "python",
        False,
        "DATA",
        "etl",
        ("ytanaka", "onovak", "hmueller"),
        0.7,
        subjects=(
            "feat(dags): backfill refunds into fct_payments",
            "fix(export): handle empty partitions in S3 export",
            "feat(dbt): add dim_store model",
            "fix(dags): retry warehouse load on lock timeout",
            "chore(dbt): bump dbt-core to 1.7",
        ),
        modules=(
            ("export_s3", ("S3Exporter", "export_partition", "EXPORT_BUCKET")),
            ("orders_daily", ("build_orders_dag", "load_orders")),
            ("warehouse", ("WarehouseLoader", "MAX_BATCH_ROWS")),
        ),
        deps=(("apache-airflow", "2.9.1"), ("dbt-core", "1.7.13"), ("boto3", "1.34.98"), ("pandas", "2.2.2")),
        scheduled="nightly-dbt-run",
    ),
    RepoSpec(
        "notification-service",
        "notification-service",
        "Notifications: transactional email, SMS and push for order and shipping events (NestJS).",
        ("PLAT", "Platform"),
        "typescript",
        True,
        "NOTIF",
        "notifications",
        ("onovak", "ebrooks", "tribeiro"),
        0.8,
        subjects=(
            "feat(email): order shipped template",
            "fix(sms): normalise E.164 numbers",
            "fix(push): drop expired FCM tokens",
            "feat(email): localise order confirmation",
            "perf(queue): process notifications in batches of 50",
        ),
        modules=(
            ("email/email.service", ("EmailService", "sendOrderConfirmation")),
            ("sms/sms.service", ("SmsService", "normalizePhone")),
            ("push/push.service", ("PushService", "FCM_BATCH_SIZE")),
        ),
        deps=(
            ("@nestjs/common", "9.4.3"),
            ("@nestjs/core", "9.4.3"),
            ("@nestjs/platform-express", "9.4.3"),
            ("rxjs", "7.8.1"),
            ("typescript", "5.4.5"),
            ("jest", "29.7.0"),
        ),
    ),
    RepoSpec(
        "auth-service",
        "auth-service",
        "Authentication: OAuth2 login, session management, JWT issuing and API keys.",
        ("PLAT", "Platform"),
        "go",
        True,
        "AUTH",
        "auth",
        ("nfischer", "priya", "dokafor"),
        0.8,
        subjects=(
            "fix(jwt): include kid header for key rotation",
            "feat(oauth): support Sign in with Apple",
            "fix(session): extend idle timeout to 30m",
            "feat(apikeys): hash API keys with argon2id",
            "chore(deps): update golang.org/x/oauth2",
        ),
        modules=(
            ("token", ("IssueAccessToken", "TokenTTL", "Claims")),
            ("session", ("SessionStore", "IdleTimeout")),
            ("oauth", ("OAuthHandler", "ExchangeCode")),
        ),
        deps=_GO_DEPS,
    ),
)

# Extra repositories for worlds larger than the catalogue: (slug, description, project, language, deployable).
EXTRA_REPOS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("search-service", "Product search: indexing and query API over OpenSearch.", "COM", "go", True),
    ("inventory-service", "Inventory: stock levels, reservations and warehouse sync.", "COM", "python", True),
    ("order-service", "Order lifecycle: state machine from placed to delivered.", "COM", "kotlin", True),
    ("shipping-service", "Shipping rates, labels and carrier tracking integrations.", "COM", "go", True),
    ("pricing-service", "Prices, promotions and currency conversion.", "COM", "python", True),
    ("catalog-service", "Product catalogue: products, variants and categories.", "COM", "go", True),
    (
        "admin-dashboard",
        "Internal admin dashboard for support and merchandising (React).",
        "WEB",
        "typescript",
        True,
    ),
    ("recommendations", "Product recommendations model serving and training jobs.", "DATA", "python", False),
    ("fraud-detection", "Fraud scoring rules and model for payments.", "DATA", "python", True),
    ("loyalty-service", "Loyalty points, tiers and rewards.", "COM", "kotlin", True),
    ("reviews-service", "Product reviews and ratings with moderation.", "COM", "typescript", True),
    ("email-templates", "MJML email templates for transactional mail.", "PLAT", "typescript", False),
    (
        "observability",
        "Dashboards, alerts and SLO definitions (Grafana, Prometheus rules).",
        "OPS",
        "hcl",
        False,
    ),
    ("customer-support-portal", "Support agent portal: order lookup and refunds.", "WEB", "typescript", True),
    ("warehouse-integration", "Integration with the 3PL warehouse APIs.", "COM", "python", False),
    ("feature-flags", "Feature flag service and SDK configuration.", "PLAT", "go", True),
)

_TEAM_ROTATION = tuple(p.nickname for p in PEOPLE)


def repo_specs(count: int) -> list[RepoSpec]:
    """The first `count` repositories: the catalogue, then plausible extras, then numbered copies."""
    specs = list(CATALOG[:count])
    i = 0
    while len(specs) < count:
        slug, desc, project, lang, deployable = EXTRA_REPOS[i % len(EXTRA_REPOS)]
        round_ = i // len(EXTRA_REPOS)
        if round_:
            slug = f"{slug}-{round_ + 1}"
        base = slug.split("-")[0]
        pkg = re.sub(r"[^a-z0-9]", "_", slug.replace("-service", ""))
        team = tuple(_TEAM_ROTATION[(i * 3 + k) % len(_TEAM_ROTATION)] for k in range(3))
        mods = _EXTRA_MODULES[lang](base)
        deps = {
            "python": _PY_DEPS,
            "go": _GO_DEPS,
            "typescript": CATALOG[3].deps,
            "kotlin": CATALOG[4].deps,
            "hcl": (),
        }[lang]
        specs.append(
            RepoSpec(
                slug,
                slug,
                desc,
                (project, PROJECTS[project]),
                lang,
                deployable,
                base[:4].upper(),
                pkg,
                team,
                0.5 + (i % 5) * 0.2,
                modules=mods,
                deps=deps,
            )
        )
        i += 1
    return specs


def _camel(word: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", word))


_EXTRA_MODULES = {
    "python": lambda b: (
        ("service", (f"{_camel(b)}Service", f"get_{b}", f"update_{b}")),
        ("repository", (f"{_camel(b)}Repository", "MAX_PAGE_SIZE")),
        ("api", ("router", f"list_{b}s")),
    ),
    "go": lambda b: (
        ("service", (f"{_camel(b)}Service", "Handle", "DefaultTimeout")),
        ("store", ("Store", "Get", "Put")),
    ),
    "typescript": lambda b: (
        (f"{b}/{b}.service", (f"{_camel(b)}Service", f"fetch{_camel(b)}")),
        ("lib/http", ("httpClient", "REQUEST_TIMEOUT_MS")),
    ),
    "kotlin": lambda b: (
        (f"{b}/{_camel(b)}Service", (f"{_camel(b)}Service", "handle")),
        ("config/AppConfig", ("AppConfig", "TIMEOUT_MS")),
    ),
    "hcl": lambda b: (
        ("modules/alerts", ("aws_cloudwatch_metric_alarm",)),
        ("modules/dashboards", ("grafana_dashboard",)),
    ),
}


# ---------------------------------------------------------------------------------------------- messages

_TYPES = ("feat", "fix", "fix", "fix", "chore", "refactor", "test", "perf", "docs")
_VERBS = {
    "feat": ("add", "support", "introduce", "expose", "allow configuring"),
    "fix": ("handle", "fix", "guard against", "correct", "avoid"),
    "chore": ("bump", "tidy", "update", "clean up"),
    "refactor": ("simplify", "extract", "split", "rename"),
    "test": ("cover", "add tests for", "stabilise tests for"),
    "perf": ("speed up", "cache", "batch"),
    "docs": ("document", "clarify"),
}
_OBJECTS = (
    "empty responses from upstream",
    "timeouts when the cache is cold",
    "missing locale header",
    "retry budget",
    "pagination on list endpoints",
    "null values in the payload",
    "error handling in the client",
    "metrics labels",
    "structured log fields",
    "config defaults",
    "duplicate events",
    "slow queries on the hot path",
    "feature flag checks",
    "validation of request bodies",
    "startup health check",
)
FOLLOW_UPS = (
    "address review comments",
    "fix lint",
    "add missing tests",
    "rename per review",
    "handle edge case from review",
    "update snapshots",
    "fix typo",
    "wip",
    "tidy up",
)


def topic(spec: RepoSpec, rng: random.Random) -> tuple[str, str, str]:
    """A (type, scope, subject) for a unit of work in this repository."""
    if spec.subjects and rng.random() < 0.55:
        line = rng.choice(spec.subjects)
        m = re.match(r"(\w+)\(([^)]+)\): (.+)", line)
        if m:
            return m.group(1), m.group(2), m.group(3)
    kind = rng.choice(_TYPES)
    scope = rng.choice(spec.modules)[0].split("/")[-1].split(".")[0].lower() if spec.modules else spec.pkg
    scope = re.sub(r"(?<!^)(?=[A-Z])", "-", scope).lower()
    return kind, scope, f"{rng.choice(_VERBS[kind])} {rng.choice(_OBJECTS)}"


def branch_name(kind: str, spec: RepoSpec, subject: str, rng: random.Random) -> str:
    prefix = {"feat": "feature", "fix": "bugfix", "perf": "feature", "refactor": "feature"}.get(
        kind, "feature"
    )
    slug = re.sub(r"[^a-z0-9]+", "-", subject.lower()).strip("-")
    if len(slug) > 40:
        slug = slug[:40].rsplit("-", 1)[0]
    return f"{prefix}/{spec.jira}-{rng.randint(100, 999)}-{slug}"


def pr_description(
    spec: RepoSpec, kind: str, scope: str, subject: str, ticket: str, rng: random.Random
) -> str:
    why = rng.choice(
        (
            f"We saw this in production last week; see {ticket}.",
            f"Part of {ticket}.",
            f"Follow-up from the {scope} incident review.",
            "Requested by the product team for the next release.",
            "Small cleanup while working on the surrounding code.",
        )
    )
    tests = rng.choice(
        (
            "- [x] Unit tests\n- [x] Tested locally against staging",
            "- [x] Unit tests\n- [ ] Manual QA in staging",
            "- [x] Added regression test",
        )
    )
    return (
        f"## Summary\n{subject[0].upper()}{subject[1:]}.\n\n{why}\n\n"
        f"## Changes\n- {kind}({scope}): {subject}\n\n## Testing\n{tests}\n\nCloses {ticket}"
    )


REVIEW_COMMENTS = (
    "Could we add a test for the empty case?",
    "nit: naming is a bit ambiguous here, maybe something more specific?",
    "LGTM 👍",
    "Should this be behind a feature flag for the first rollout?",
    "What happens if the upstream returns 429 here?",
    "Can we log the request id here? Makes debugging much easier.",
    "I think this changes behaviour for existing clients, is that intended?",
    "Thanks, looks good. One question inline.",
    "Please update the README too.",
    "Does this need a migration?",
    "Let's keep the old default until the mobile app is updated.",
    "Good catch.",
)
INLINE_COMMENTS = (
    "This can be `None` when the cart was just created.",
    "Magic number, can we move it to settings?",
    "This swallows the exception; at least log it.",
    "Is this O(n^2) for large carts?",
    "Missing timeout on this call.",
    "nit: unused import",
)
REPLIES = (
    "Done.",
    "Good point, fixed.",
    "Added a test.",
    "I'd rather do it in a follow-up, created a ticket.",
)


# ---------------------------------------------------------------------------------------------- steps


@dataclass(frozen=True)
class StepDef:
    """A step in bitbucket-pipelines.yml: name, image, commands and what kind of work it does."""

    name: str
    kind: str  # build | test | integration | lint | deploy | plan | validate | dbt
    image: str
    script: tuple[str, ...]
    environment: str | None = None  # deployment environment slug for deploy steps
    mean_seconds: int = 60


_IMAGES = {
    "python": "python:3.11-slim",
    "go": "golang:1.22",
    "typescript": "node:20-bullseye",
    "kotlin": "eclipse-temurin:17-jdk",
    "hcl": "hashicorp/terraform:1.8",
}


def ci_steps(spec: RepoSpec) -> dict[str, tuple[StepDef, ...]]:
    """Steps per pipeline kind: "default", "main", "production", "scheduled"."""
    img = _IMAGES[spec.language]
    lang = spec.language
    if lang == "python":
        build = StepDef(
            "Build",
            "build",
            img,
            ("pip install -r requirements.txt -r requirements-dev.txt", "python -m compileall -q src"),
            mean_seconds=75,
        )
        unit = StepDef(
            "Unit tests",
            "test",
            img,
            (
                "pip install -r requirements.txt -r requirements-dev.txt",
                "pytest tests/unit -q --junitxml=test-reports/unit.xml",
            ),
            mean_seconds=140,
        )
        lint = StepDef(
            "Lint",
            "lint",
            img,
            ("pip install ruff==0.4.4 mypy==1.10.0", "ruff check src tests", "mypy src"),
            mean_seconds=45,
        )
        checks = [build, unit, lint]
        if spec.slug == "checkout-service":
            checks.insert(
                2,
                StepDef(
                    "Integration tests",
                    "integration",
                    img,
                    (
                        "docker compose -f docker-compose.ci.yml up -d postgres redis",
                        "pytest tests/integration -q --junitxml=test-reports/integration.xml",
                    ),
                    mean_seconds=260,
                ),
            )
    elif lang == "go":
        build = StepDef("Build", "build", img, ("go mod download", "go build ./..."), mean_seconds=70)
        unit = StepDef(
            "Unit tests",
            "test",
            img,
            ("go test ./... -race -count=1 2>&1 | go-junit-report -set-exit-code > test-reports/report.xml",),
            mean_seconds=120,
        )
        lint = StepDef(
            "Lint",
            "lint",
            "golangci/golangci-lint:v1.57",
            ("golangci-lint run --timeout 5m",),
            mean_seconds=60,
        )
        checks = [build, unit, lint]
    elif lang == "typescript":
        build = StepDef("Build", "build", img, ("npm ci", "npm run build"), mean_seconds=150)
        unit = StepDef(
            "Unit tests",
            "test",
            img,
            ("npm ci", "npm test -- --ci --reporters=default --reporters=jest-junit"),
            mean_seconds=130,
        )
        lint = StepDef("Lint", "lint", img, ("npm ci", "npm run lint", "npx tsc --noEmit"), mean_seconds=70)
        checks = [build, unit, lint]
    elif lang == "kotlin":
        build = StepDef("Build", "build", img, ("./gradlew assembleDebug --no-daemon",), mean_seconds=420)
        unit = StepDef(
            "Unit tests", "test", img, ("./gradlew testDebugUnitTest --no-daemon",), mean_seconds=360
        )
        lint = StepDef("Lint", "lint", img, ("./gradlew ktlintCheck detekt --no-daemon",), mean_seconds=150)
        checks = [build, unit, lint]
    else:
        checks = [
            StepDef(
                "Validate",
                "validate",
                img,
                ("terraform fmt -check -recursive", "terraform init -backend=false", "terraform validate"),
                mean_seconds=40,
            ),
            StepDef(
                "Plan staging",
                "plan",
                img,
                ("cd envs/staging", "terraform init -input=false", "terraform plan -input=false -out=tfplan"),
                mean_seconds=150,
            ),
        ]
    out: dict[str, tuple[StepDef, ...]] = {"default": tuple(checks)}
    main = list(checks)
    if spec.deployable:
        deploy_img = "atlassian/pipelines-awscli:1.29"
        for env, label in (("test", "test"), ("staging", "staging")):
            main.append(
                StepDef(
                    f"Deploy to {label}",
                    "deploy",
                    deploy_img,
                    (
                        f"./ci/deploy.sh {env} $BITBUCKET_COMMIT",
                        f"./ci/smoke-test.sh https://{spec.slug}.{env}.acme-internal.net",
                    ),
                    environment=env,
                    mean_seconds=95,
                )
            )
        out["production"] = (
            StepDef(
                "Deploy to production",
                "deploy",
                deploy_img,
                (
                    "./ci/deploy.sh production $BITBUCKET_COMMIT",
                    f"./ci/smoke-test.sh https://{spec.slug}.acme-commerce.com",
                ),
                environment="production",
                mean_seconds=140,
            ),
        )
    elif lang == "hcl":
        main.append(
            StepDef(
                "Plan production",
                "plan",
                img,
                (
                    "cd envs/production",
                    "terraform init -input=false",
                    "terraform plan -input=false -out=tfplan",
                ),
                mean_seconds=170,
            )
        )
    out["main"] = tuple(main)
    if spec.scheduled:
        out["scheduled"] = (
            StepDef(
                "dbt run",
                "dbt",
                "ghcr.io/dbt-labs/dbt-postgres:1.7.13",
                ("dbt deps", "dbt run --target prod", "dbt test --target prod"),
                mean_seconds=900,
            ),
        )
    return out


def pipelines_yml(spec: RepoSpec) -> str:
    """bitbucket-pipelines.yml matching `ci_steps`, so files and pipeline runs agree."""
    steps = ci_steps(spec)

    def render(step: StepDef, indent: str, trigger_manual: bool = False) -> str:
        lines = [f"{indent}- step:", f"{indent}    name: {step.name}"]
        if step.image != _IMAGES[spec.language]:
            lines.append(f"{indent}    image: {step.image}")
        if step.environment:
            lines.append(f"{indent}    deployment: {step.environment}")
        if trigger_manual:
            lines.append(f"{indent}    trigger: manual")
        if step.kind in ("build", "test", "lint"):
            cache = {"python": "pip", "go": "gomod", "typescript": "node", "kotlin": "gradle"}.get(
                spec.language
            )
            if cache:
                lines.append(f"{indent}    caches:\n{indent}      - {cache}")
        if step.kind in ("build",) and spec.language in ("kotlin",):
            lines.append(f"{indent}    size: 2x")
        lines.append(f"{indent}    script:")
        lines.extend(f"{indent}      - {cmd}" for cmd in step.script)
        if step.kind in ("test", "integration"):
            lines.append(f"{indent}    artifacts:\n{indent}      - test-reports/**")
        return "\n".join(lines)

    parts = [
        f"image: {_IMAGES[spec.language]}",
        "",
        "options:",
        "  max-time: 120",
        "",
        "pipelines:",
        "  default:",
    ]
    parts += [render(s, "    ") for s in steps["default"]]
    parts += ["  pull-requests:", "    '**':"]
    parts += [render(s, "      ") for s in steps["default"]]
    parts += ["  branches:", f"    {spec.main}:"]
    parts += [render(s, "      ") for s in steps["main"]]
    if spec.develop:
        parts += ["    develop:"] + [render(s, "      ") for s in steps["default"]]
        parts += ["    release/*:"] + [render(s, "      ") for s in steps["default"]]
    custom = []
    if "production" in steps:
        custom += [
            "    deploy-to-production:",
            "      - variables:",
            "          - name: RELEASE",
            "            default: latest",
        ]
        custom += [render(s, "      ") for s in steps["production"]]
    if "scheduled" in steps and spec.scheduled:
        custom += [f"    {spec.scheduled}:"] + [render(s, "      ") for s in steps["scheduled"]]
    if custom:
        parts += ["  custom:", *custom]
    return "\n".join(parts) + "\n"
