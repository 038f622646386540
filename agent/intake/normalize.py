"""Shared text clean-up for intake: lower-casing, possessives and typo correction.

Typos are corrected against a *closed* vocabulary (time words, states, topics) with rapidfuzz, so a
misspelt keyword ("ystrday", "faild", "pipleines") still lands, while words outside the vocabulary
(names, repository slugs, identifiers) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapidfuzz import fuzz, process

# A plain word: not part of an identifier, path, slug or branch ("calculate_tax", "src/app.py",
# "auth-service").
_WORD = re.compile(r"(?<![\w./-])[a-z][a-z']*[a-z](?![\w/-]|\.\w)")

# Common words that sit close to a vocabulary word but must never be "corrected" into one.
PROTECTED: frozenset[str] = frozenset(
    [
        "about",
        "after",
        "again",
        "against",
        "before",
        "being",
        "below",
        "between",
        "could",
        "doing",
        "during",
        "every",
        "first",
        "found",
        "from",
        "further",
        "having",
        "their",
        "there",
        "these",
        "those",
        "through",
        "under",
        "until",
        "where",
        "which",
        "while",
        "would",
        "others",
        "other",
        "monthly",
        "weekly",
        "daily",
        "hourly",
        "nightly",
        "fridge",
        "money",
        "started",
        "starts",
        "mergeable",
        "merger",
        "emerged",
        "urged",
        "marked",
        "failover",
        "reader",
        "header",
        "passes",
        "passwords",
        "password",
        "mining",
        "person",
        "persons",
        "reason",
        "reasons",
        "stage",
        "stages",
        "staged",
        "testing",
        "tests",
        "tested",
        "tester",
        "latest",
        "latency",
        "timeout",
        "timeouts",
        "minute",
        "minutes",
        "hours",
        "weeks",
        "months",
        "years",
        "morning",
        "evening",
        "tonight",
        "today",
        "since",
        "build",
        "builds",
        "built",
        "branch",
        "branches",
        "state",
        "states",
        "status",
        "recent",
        "recently",
        "errors",
        "error",
        "closed",
        "close",
        "opened",
        "ready",
        "reading",
        "ships",
        "shipped",
        "pipeline",
        "pipelines",
        "changes",
        "changed",
        "change",
        "charge",
        "charged",
        "create",
        "created",
        "crash",
        "crashed",
        "deploy",
        "deploys",
        "deployed",
        "deployer",
        "deployment",
        "deployments",
        "reviewer",
        "reviewers",
        "reviewed",
        "release",
        "released",
        "releases",
        "service",
        "services",
        "rather",
        "instead",
        "except",
        "excluding",
        "other",
        "cause",
        "causes",
        "caused",
        "causing",
    ]
)


def basic(text: str) -> str:
    """Lower-case, unify quotes and meridiems, drop possessive 's ("yesterday's" → "yesterday")."""
    t = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    t = re.sub(r"\b([ap])\.m\.?", r"\1m", t)
    t = re.sub(r"(\w)'s\b", r"\1", t)
    return t


def correct(text: str, vocabulary: Iterable[str], *, min_len: int = 5, cutoff: float = 80.0) -> str:
    """Replace words that are near-misses of a vocabulary word by that word.

    Only words of `min_len`+ letters that are not themselves vocabulary or protected words are
    candidates; ties and weak matches are left as typed (a wrong correction is worse than none).
    """
    vocab = sorted(set(vocabulary))
    vocab_set = set(vocab)

    def fix(m: re.Match[str]) -> str:
        word = m.group(0)
        if len(word) < min_len or word in vocab_set or word in PROTECTED:
            return word
        hit = process.extractOne(word, vocab, scorer=fuzz.ratio, score_cutoff=cutoff)
        if hit is None or hit[0].startswith(word) or word.startswith(hit[0]):
            return word  # an inflection ("approve" vs "approved") is a real word, not a typo
        if word.endswith(hit[0]) or abs(len(word) - len(hit[0])) > 2:
            return word  # a compound ("apigateway") is a name, not a misspelt "gateway"
        return hit[0]

    return _WORD.sub(fix, text)
