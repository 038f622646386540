"""Repository phrase → slugs ("the backend service" → api-gateway), pure and deterministic.

Why not plain fuzzy matching of the phrase against slugs: people name a repository by what it *is*
("the web app", "infra", "the backend API") more often than by its slug, and generic words
("service", "app", "repo") match half the workspace. So each phrase is reduced to stemmed, synonym-
canonical *core* terms; core terms matched in the slug/name count fully, in the description/project
partly, near-misses via rapidfuzz; generic words only break ties. A phrase made only of generic
words ("the service") is ambiguous by construction; a core term that matches nothing ("the foo
service") resolves to nothing rather than to the closest-sounding repository.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz, process

from bbscout.tools.evidence import RepositoryRecord

__all__ = ["GENERIC", "SYNONYMS", "Resolution", "closest_names", "core_terms", "rank_repositories", "resolve"]

GENERIC: frozenset[str] = frozenset(
    [
        "service",
        "svc",
        "app",
        "application",
        "repo",
        "repository",
        "project",
        "codebase",
        "code",
        "module",
        "component",
        "system",
    ]
)
_STOP: frozenset[str] = frozenset(
    [
        "the",
        "a",
        "an",
        "our",
        "my",
        "your",
        "their",
        "its",
        "this",
        "that",
        "for",
        "of",
        "in",
        "on",
        "to",
        "and",
        "or",
        "at",
        "with",
        "from",
        "by",
        "is",
        "are",
        "was",
        "our's",
    ]
)
# Groups of words people use interchangeably for the same kind of repository; the first is canonical.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("frontend", "front", "fe", "web", "webapp", "website", "site", "storefront", "ui"),
    ("backend", "api", "server", "be"),
    ("gateway", "gw", "proxy", "edge"),
    ("infra", "infrastructure", "terraform", "tf", "iac"),
    ("auth", "authentication", "authn", "login", "sso", "identity", "oauth", "oauth2"),
    ("payment", "pay"),  # not "billing": invoices/subscriptions are a different service from card payments
    ("notification", "notify", "notifier", "email", "sms", "messaging"),
    ("mobile", "ios", "android", "phone"),
    ("shared", "common", "lib", "library", "util", "utility"),
    ("data", "analytics", "etl"),
    ("checkout", "cart", "basket"),
)
_CANON: dict[str, str] = {w: group[0] for group in SYNONYMS for w in group}

# score weights
_SLUG, _FUZZY, _DESC, _GENERIC_BONUS = 1.0, 0.85, 0.6, 0.05
CONFIDENT, MARGIN, MINIMUM = 0.75, 0.2, 0.5


class Resolution(BaseModel):
    """A phrase's repositories: one confident slug, or `ambiguous` with candidates in `alternatives`.

    Nothing matched: `slugs` empty, `ambiguous` False, and `alternatives` holds the closest names
    (so the answer can say "no repository matches 'foo' (closest: ...)").
    """

    model_config = ConfigDict(extra="forbid")

    phrase: str
    slugs: list[str] = Field(default_factory=list)
    ambiguous: bool = False
    alternatives: list[str] = Field(default_factory=list)


def _stem(word: str) -> str:
    w = word.lower().strip("'")
    w = w.removesuffix("'s")
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def _terms(text: str) -> list[str]:
    return [_CANON.get(_stem(t), _stem(t)) for t in re.findall(r"[a-z0-9]+", text.lower())]


def core_terms(phrase: str) -> tuple[list[str], list[str]]:
    """(core, generic) terms of a phrase, stemmed and synonym-canonical, stop words dropped."""
    terms = [t for t in _terms(phrase) if t not in _STOP]
    return [t for t in terms if t not in GENERIC], [t for t in terms if t in GENERIC]


def _term_score(term: str, slug_terms: set[str], desc_terms: set[str]) -> float:
    if term in slug_terms:
        return _SLUG
    best = 0.0
    for s in slug_terms:
        if len(term) >= 4 and len(s) >= 4 and (s.startswith(term) or term.startswith(s)):
            best = max(best, _FUZZY)
        elif len(term) >= 5 and fuzz.ratio(term, s) >= 85:
            best = max(best, _FUZZY * fuzz.ratio(term, s) / 100)
    if best == 0.0 and term in desc_terms:
        best = _DESC
    return best


_SLUG_SHAPED = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)+")


def _literal_hit(phrase: str, raw_slug: set[str]) -> bool:
    """Some core word of the phrase, as typed (no synonyms), is a word of the slug/name or a typo of one."""
    words = [_stem(t) for t in re.findall(r"[a-z0-9]+", phrase.lower()) if t not in _STOP]
    core = [w for w in words if w not in GENERIC]
    return any(
        w in raw_slug or any(len(w) >= 5 and len(s) >= 5 and fuzz.ratio(w, s) >= 85 for s in raw_slug)
        for w in core
    )


def rank_repositories(phrase: str, repos: Sequence[RepositoryRecord]) -> list[tuple[str, float]]:
    """Repositories matching `phrase`, best first, score 0..1 (only those scoring above 0).

    A slug-shaped phrase ("billing-service") is a name the user believes exists: it must share a word
    with the repository's own slug or name (typos allowed), and every distinctive word must match; a
    synonym/description match alone or half a name ("ledger-api" ~ api-gateway) is another repository.
    """
    wanted = phrase.strip().lower()
    core, generic = core_terms(phrase)
    slug_shaped = bool(_SLUG_SHAPED.fullmatch(wanted))
    ranked: list[tuple[str, float]] = []
    for repo in repos:
        if wanted in (repo.slug.lower(), repo.name.lower()):
            ranked.append((repo.slug, 1.0))
            continue
        slug_terms = set(_terms(f"{repo.slug} {repo.name}"))
        desc_terms = set(_terms(f"{repo.description} {repo.project}"))
        raw_slug = {_stem(t) for t in re.findall(r"[a-z0-9]+", f"{repo.slug} {repo.name}".lower())}
        if slug_shaped and core and not _literal_hit(wanted, raw_slug):
            continue
        bonus = _GENERIC_BONUS * sum(1 for g in generic if g in raw_slug)
        if core:
            scores = [_term_score(t, slug_terms, desc_terms) for t in core]
            if slug_shaped and min(scores) == 0.0:
                continue  # "ledger-api": half a name is another repository
            score = sum(scores) / len(core)
            score = min(1.0, score + bonus) if score > 0 else 0.0
        else:
            score = MINIMUM if bonus > 0 else 0.0  # generic-only phrase: every repo with that word
        if score > 0:
            ranked.append((repo.slug, round(score, 3)))
    ranked.sort(key=lambda kv: (-kv[1], kv[0]))
    return ranked


def closest_names(phrase: str, repos: Sequence[RepositoryRecord], limit: int = 3) -> list[str]:
    """The slugs that look most like `phrase`, for "no repository matches 'foo' (closest: …)"."""
    slugs = [r.slug for r in repos]
    if not slugs:
        return []
    hits = process.extract(phrase.lower(), slugs, scorer=fuzz.WRatio, limit=limit)
    return [h[0] for h in hits]


def resolve(phrase: str, repos: Sequence[RepositoryRecord]) -> Resolution:
    """One confident slug, the ambiguous candidates, or nothing (with the closest names)."""
    ranked = [(s, sc) for s, sc in rank_repositories(phrase, repos) if sc >= MINIMUM]
    if not ranked:
        return Resolution(phrase=phrase, alternatives=closest_names(phrase, repos))
    top = ranked[0][1]
    close = [s for s, sc in ranked if sc >= top - MARGIN + 1e-9]
    core, _ = core_terms(phrase)
    if len(close) == 1 and (top >= CONFIDENT or len(ranked) == 1 or core):
        return Resolution(phrase=phrase, slugs=[close[0]])
    return Resolution(phrase=phrase, ambiguous=True, alternatives=close)
