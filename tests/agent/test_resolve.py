"""Repository phrase → slugs: slugs, names, descriptions, synonyms; ambiguity and unknown names."""

from __future__ import annotations

import pytest

from bbscout.tools.resolve import rank_repositories, resolve
from tests.agent.fixtures import acme_repos

REPOS = acme_repos()


@pytest.mark.parametrize(
    ("phrase", "slug"),
    [
        ("backend service", "api-gateway"),  # "backend API service" in the description
        ("the backend API", "api-gateway"),
        ("api", "api-gateway"),
        ("gateway", "api-gateway"),
        ("payments", "payments-service"),
        ("payment service", "payments-service"),
        ("the web app", "web-frontend"),
        ("frontend", "web-frontend"),
        ("storefront", "web-frontend"),
        ("infra", "infra-terraform"),
        ("terraform", "infra-terraform"),
        ("auth", "auth-service"),
        ("login", "auth-service"),
        ("checkout", "checkout-service"),
        ("the checkout svc", "checkout-service"),
        ("chekout", "checkout-service"),  # typo
        ("checkout-service", "checkout-service"),
        ("notifications", "notification-service"),
        ("mobile", "mobile-app"),
        ("ios", "mobile-app"),
        ("shared libs", "shared-libs"),
        ("data pipeline", "data-pipeline"),
        ("stripe", "payments-service"),  # description only
    ],
)
def test_confident(phrase: str, slug: str) -> None:
    res = resolve(phrase, REPOS)
    assert res.slugs == [slug] and not res.ambiguous
    assert rank_repositories(phrase, REPOS)[0][0] == slug


@pytest.mark.parametrize("phrase", ["service", "the services"])
def test_generic_words_are_ambiguous(phrase: str) -> None:
    res = resolve(phrase, REPOS)
    assert res.ambiguous and not res.slugs
    assert {"checkout-service", "payments-service", "auth-service", "notification-service"} <= set(
        res.alternatives
    )


@pytest.mark.parametrize("phrase", ["the foo service", "foo", "zebra-engine"])
def test_unknown_resolves_to_nothing_with_closest_names(phrase: str) -> None:
    res = resolve(phrase, REPOS)
    assert res.slugs == [] and not res.ambiguous
    assert res.alternatives and all(a in {r.slug for r in REPOS} for a in res.alternatives)


def test_scores_are_bounded_and_sorted() -> None:
    ranked = rank_repositories("the web app", REPOS)
    scores = [s for _, s in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)


def test_empty_workspace() -> None:
    assert resolve("checkout", []).slugs == []
    assert rank_repositories("checkout", []) == []


@pytest.mark.parametrize(
    "phrase", ["billing-service", "billing", "login-service", "cart-service", "ledger-api"]
)
def test_slug_shaped_or_unrelated_names_do_not_resolve_to_a_lookalike(phrase: str) -> None:
    """A typed slug must share a word with the repository name ("billing-service" is no payments-service)."""
    res = resolve(phrase, REPOS)
    assert res.slugs == [] and not res.ambiguous and res.alternatives


@pytest.mark.parametrize(
    ("phrase", "slug"),
    [
        ("payment-service", "payments-service"),
        ("paymnets-service", "payments-service"),
        ("api-gw", "api-gateway"),
        ("web-app", "web-frontend"),
        ("auth-svc", "auth-service"),
        ("notifications-service", "notification-service"),
        ("frontend-service", "web-frontend"),
        ("the cart service", "checkout-service"),
    ],
)
def test_slug_shaped_variants_of_real_names_resolve(phrase: str, slug: str) -> None:
    assert resolve(phrase, REPOS).slugs == [slug]
