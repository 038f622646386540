"""Repository phrase → slugs ("the backend service" → api-gateway), and person phrase → people; pure.

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
import unicodedata
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz, process

from bbscout.tools.evidence import RepositoryRecord

__all__ = [
    "AMBIGUOUS_PERSON",
    "GENERIC",
    "SYNONYMS",
    "Person",
    "PersonFilter",
    "PersonMatcher",
    "PersonResolution",
    "Resolution",
    "ambiguous_person",
    "closest_names",
    "closest_people",
    "core_terms",
    "person_from_account",
    "person_from_raw",
    "rank_repositories",
    "resolve",
    "resolve_person",
]

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
    # resolved through a synonym or the repository's description, no word of its name typed ("the
    # backend service" → api-gateway, "login" → auth-service): a reading the answer must say
    interpreted: bool = False


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


def _interpreted(phrase: str, repo: RepositoryRecord) -> bool:
    """No word of the phrase, as typed, is a word of the repository's slug or name (or a typo of one)."""
    raw_slug = {_stem(t) for t in re.findall(r"[a-z0-9]+", f"{repo.slug} {repo.name}".lower())}
    return not _literal_hit(phrase, raw_slug)


def rank_repositories(phrase: str, repos: Sequence[RepositoryRecord]) -> list[tuple[str, float]]:
    """Repositories matching `phrase`, best first, score 0..1 (only those scoring above 0).

    A slug-shaped phrase ("billing-service") is a name the user believes exists: it must share a word
    with the repository's own slug or name (typos allowed), and every distinctive word must match; a
    synonym/description match alone or half a name ("ledger-api" ~ api-gateway) is another repository.
    """
    wanted = phrase.strip().lower()
    core, generic = core_terms(phrase)
    # "the billing-api repo" names "billing-api": a slug-shaped word in the phrase is the name
    shaped = [t for t in wanted.split() if _SLUG_SHAPED.fullmatch(t)]
    slug_shaped = bool(shaped)
    ranked: list[tuple[str, float]] = []
    for repo in repos:
        if wanted in (repo.slug.lower(), repo.name.lower()):
            ranked.append((repo.slug, 1.0))
            continue
        slug_terms = set(_terms(f"{repo.slug} {repo.name}"))
        desc_terms = set(_terms(f"{repo.description} {repo.project}"))
        raw_slug = {_stem(t) for t in re.findall(r"[a-z0-9]+", f"{repo.slug} {repo.name}".lower())}
        if slug_shaped and core and not _literal_hit(shaped[0], raw_slug):
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
    """The slugs closest to `phrase`, for "no repository matches 'foo' (closest: …)": those sharing a word
    or a meaning with it first ("billing-api" → api-gateway, payments-service), then look-alikes."""
    slugs = [r.slug for r in repos]
    if not slugs:
        return []
    words = " ".join(re.findall(r"[a-z0-9]+", phrase.lower()))  # the same words, not read as one name
    related = [slug for slug, _ in rank_repositories(words, repos)]
    hits = [h[0] for h in process.extract(phrase.lower(), slugs, scorer=fuzz.WRatio, limit=limit)]
    return list(dict.fromkeys([*related, *hits]))[:limit]


def _compact(text: str) -> str:
    return re.sub(r"[\s_.-]+", "", text.lower())


def resolve(phrase: str, repos: Sequence[RepositoryRecord]) -> Resolution:
    """One confident slug, the ambiguous candidates, or nothing (with the closest names).

    A slug written as one word ("webfrontend", "api gateway") is that slug.
    """
    fused = [r.slug for r in repos if _compact(phrase) in {_compact(r.slug), _compact(r.name)}]
    if len(fused) == 1:
        return Resolution(phrase=phrase, slugs=fused)
    ranked = [(s, sc) for s, sc in rank_repositories(phrase, repos) if sc >= MINIMUM]
    if not ranked:
        return Resolution(phrase=phrase, alternatives=closest_names(phrase, repos))
    top = ranked[0][1]
    close = [s for s, sc in ranked if sc >= top - MARGIN + 1e-9]
    core, _ = core_terms(phrase)
    if len(close) == 1 and (top >= CONFIDENT or len(ranked) == 1 or core):
        repo = next(r for r in repos if r.slug == close[0])
        return Resolution(phrase=phrase, slugs=[close[0]], interpreted=_interpreted(phrase, repo))
    return Resolution(phrase=phrase, ambiguous=True, alternatives=close)


# ------------------------------------------------------------------------------------------------ people
# "PRs by Emma", "commits from the renovate bot": a person is named by full name, first or last name,
# nickname, a prefix ("Dan") or a bot's brand. Matches are tiered so a better reading wins ("Dan"
# means Dan Smith, not Daniel Okafor, when both exist); two people on the best tier is ambiguity the
# answer must name, never a silent union.

EXACT, NAME_WORDS, BOT_CLASS, NAME_PREFIX, NAME_FRAGMENT = range(5)
TIER_RULES: dict[int, str] = {
    EXACT: "exact name, nickname or email",
    NAME_WORDS: "first/last name or nickname",
    BOT_CLASS: "bot accounts",
    NAME_PREFIX: "name prefix",
    NAME_FRAGMENT: "name fragment",
}
DEPENDENCY_BOTS: frozenset[str] = frozenset(
    ["renovate", "dependabot", "snyk", "greenkeeper", "pyup", "mend", "whitesource"]
)
_BOT_WORDS: frozenset[str] = frozenset(["bot", "bots", "robot", "robots", "automation", "automated", "ci"])
_BOT_PHRASE: frozenset[str] = frozenset(
    [*_BOT_WORDS, "account", "accounts", "dependency", "dependencies", "deps", "dep", "update", "updates"]
)
_PERSON_STOP: frozenset[str] = frozenset(["the", "a", "an", "our", "by", "from", "user"])


class Person(BaseModel):
    """Someone who authors, reviews or approves: a workspace member or an author seen in the data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str  # display name, or the name part of a raw commit author
    nickname: str = ""
    email: str = ""  # from a raw commit author ("Name <email>"), when there is no linked account
    uuid: str = ""
    app_user: bool = False  # Bitbucket `app_user` accounts are bots by definition

    @property
    def key(self) -> str:
        """Identity across sources: the same person seen as a member and as a raw author is one."""
        return " ".join(_name_tokens(self.name)) or self.nickname.lower() or self.email.lower()

    @property
    def tokens(self) -> set[str]:
        local = self.email.split("@", 1)[0]
        return {*_name_tokens(self.name), *_name_tokens(self.nickname), *_name_tokens(local)}

    @property
    def is_bot(self) -> bool:
        raw = f"{self.name} {self.nickname} {self.email}".lower()
        return (
            self.app_user
            or "[bot]" in raw
            or bool(self.tokens & (_BOT_WORDS | DEPENDENCY_BOTS))
            or self.nickname.lower().endswith("bot")
        )


class PersonResolution(BaseModel):
    """Who a phrase means: `matches` (one when resolved; several when `ambiguous`, or a bot class).

    Nothing matched: `matches` empty and `alternatives` holds the closest names (bots first when the
    phrase names a bot), so the answer can say "no one called 'dependabot' (bots here: Renovate Bot)".
    """

    model_config = ConfigDict(extra="forbid")

    phrase: str
    matches: list[str] = Field(default_factory=list)
    ambiguous: bool = False
    rule: str = ""  # which reading matched, e.g. "first/last name or nickname"
    alternatives: list[str] = Field(default_factory=list)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().replace("'", "")


def _name_tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", _fold(text))


def person_from_raw(raw: str) -> Person:
    """A raw commit author, "Name <email>", as a Person."""
    m = re.match(r"\s*(.*?)\s*<([^>]*)>\s*$", raw or "")
    if m:
        return Person(name=m.group(1) or m.group(2).split("@", 1)[0], email=m.group(2))
    return Person(name=(raw or "?").strip() or "?")


def person_from_account(account: dict[str, object]) -> Person:
    """A Bitbucket `account`/`user` object (possibly fields-trimmed) as a Person."""
    return Person(
        name=str(account.get("display_name") or account.get("nickname") or "?"),
        nickname=str(account.get("nickname") or ""),
        uuid=str(account.get("uuid") or ""),
        app_user=account.get("type") == "app_user",
    )


class PersonMatcher:
    """A phrase compiled once; `tier(person)` says how well (lower is better) it names that person."""

    def __init__(self, phrase: str) -> None:
        self.phrase = phrase
        words = [w for w in _name_tokens(phrase.replace("'s ", " ").lstrip("@")) if w not in _PERSON_STOP]
        self.words = words
        self.compact = "".join(words)
        self.exact = _fold(phrase.strip().lstrip("@"))
        self.bot_class = (
            bool(words) and all(w in _BOT_PHRASE for w in words) and bool(set(words) & _BOT_WORDS)
        )
        self.dependency_class = self.bot_class and bool(
            set(words) & {"dependency", "dependencies", "deps", "dep", "update", "updates"}
        )

    def tier(self, person: Person) -> int | None:
        if not self.words:
            return None
        compact_name = "".join(_name_tokens(person.name))
        exact_forms = {_fold(person.name), _fold(person.nickname), _fold(person.email), person.uuid.lower()}
        exact_forms |= {compact_name, _fold(person.email.split("@", 1)[0])}
        if self.exact in exact_forms - {""} or self.compact == compact_name:
            return EXACT
        tokens = person.tokens
        if all(w in tokens for w in self.words):
            return NAME_WORDS
        if self.bot_class and person.is_bot and (not self.dependency_class or tokens & DEPENDENCY_BOTS):
            return BOT_CLASS
        if all(len(w) >= 3 and any(t.startswith(w) for t in tokens) for w in self.words):
            return NAME_PREFIX
        nick = "".join(_name_tokens(person.nickname))
        if len(self.compact) >= 3 and (self.compact in compact_name or (nick and self.compact in nick)):
            return NAME_FRAGMENT
        return None


def resolve_person(phrase: str, people: Sequence[Person]) -> PersonResolution:
    """The people `phrase` names, on the best matching tier only; several on that tier is ambiguity.

    A bot class ("the bots", "the dependency bot") matching several bots is not ambiguous: the phrase
    names the class.
    """
    matcher = PersonMatcher(phrase)
    best: dict[int, dict[str, str]] = {}
    for person in people:
        tier = matcher.tier(person)
        if tier is not None:
            best.setdefault(tier, {}).setdefault(person.key, person.name)
    if not best:
        return PersonResolution(phrase=phrase, alternatives=closest_people(phrase, people))
    tier = min(best)
    names = sorted(best[tier].values())
    return PersonResolution(
        phrase=phrase,
        matches=names,
        ambiguous=len(names) > 1 and tier != BOT_CLASS,
        rule=TIER_RULES[tier],
    )


def closest_people(phrase: str, people: Sequence[Person], limit: int = 3) -> list[str]:
    """Names that look most like `phrase`; when the phrase names a bot, the bots present come first."""
    unique = {p.key: p for p in people}
    bots = sorted(p.name for p in unique.values() if p.is_bot)
    names = sorted(p.name for p in unique.values())
    wants_bot = (
        any(w in _BOT_WORDS | DEPENDENCY_BOTS for w in _name_tokens(phrase)) or "bot" in phrase.lower()
    )
    if not names:
        return []
    hits = [h[0] for h in process.extract(phrase, names, scorer=fuzz.WRatio, limit=limit)]
    ordered = [*bots, *hits] if wants_bot else hits
    return list(dict.fromkeys(ordered))[: max(limit, len(bots) if wants_bot else 0)]


class PersonFilter:
    """Applies a person phrase to the items of a listing, then keeps only the best tier's people.

    `offer(people)` is called per item while reading (True: the item may match; keep it for now);
    `settle()` then fixes the best tier across everything read, and `keeps(people)` answers for each
    kept item. `describe()` says who was matched and by which rule, or that the phrase was ambiguous.
    """

    def __init__(self, phrase: str, role: str) -> None:
        self.matcher = PersonMatcher(phrase)
        self.role = role  # "author", "reviewer", "approver", "participant"
        self.seen: dict[str, tuple[int, str]] = {}  # person key -> (tier, name)
        self.everyone: dict[str, Person] = {}
        self.best: int | None = None

    def offer(self, people: Sequence[Person]) -> bool:
        hit = False
        for person in people:
            self.everyone.setdefault(person.key, person)
            tier = self.matcher.tier(person)
            if tier is not None:
                hit = True
                if person.key not in self.seen or tier < self.seen[person.key][0]:
                    self.seen[person.key] = (tier, person.name)
        return hit

    def settle(self) -> None:
        self.best = min((t for t, _ in self.seen.values()), default=None)

    def keeps(self, people: Sequence[Person]) -> bool:
        return self.best is not None and any(self.matcher.tier(p) == self.best for p in people)

    @property
    def matched(self) -> list[str]:
        return sorted(name for tier, name in self.seen.values() if tier == self.best)

    @property
    def ambiguous(self) -> bool:
        return len(self.matched) > 1 and self.best != BOT_CLASS

    def describe(self) -> tuple[str, str | None]:
        """(note, gap): who the phrase matched among the people read, and the ambiguity gap if any."""
        phrase = self.matcher.phrase
        if self.best is None:
            near = closest_people(phrase, list(self.everyone.values()))
            hint = f" (closest among those read: {', '.join(near)})" if near else ""
            return f"{self.role} {phrase!r}: no one by that name among the people read{hint}", None
        names = ", ".join(self.matched)
        note = f"{self.role} {phrase!r} matched {names} by {TIER_RULES[self.best]}"
        if self.ambiguous:
            return note, (
                f"{self.role} {phrase!r}{AMBIGUOUS_PERSON} {names}; results for all of them are "
                "shown — name one to narrow"
            )
        return note, None


AMBIGUOUS_PERSON = " is ambiguous: it matches"


def ambiguous_person(gap: str) -> bool:
    """Whether a tool gap says a person's name matched several people (`PersonFilter.describe`)."""
    return AMBIGUOUS_PERSON in gap
