"""Read a chat follow-up: how it points at objects earlier answers cited, and what it asks of them.

`reference` finds the pointer ("it", "those", "the second one", "the oldest", "that PR", "the build",
"#283", "PR 64", a short hash); `asks` the attributes and relations asked (`vocab.ASKS`). Pure text in
(intake's normalised question and its `Understanding`), typed values out; binding them to records is
`agent.referents.binding`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

from bbscout.agent.intake import Understanding
from bbscout.agent.referents import vocab as V
from bbscout.agent.referents.vocab import Order, Thing

__all__ = ["Pointer", "Reference", "asks", "details_asked", "filters_previous", "reference", "revises"]

Pointer = Literal["pronoun", "ordinal", "superlative", "demonstrative", "named"]


@dataclass(frozen=True)
class Reference:
    """How a question points at earlier objects. `said` is the pointer as typed ("the oldest one")."""

    pointer: Pointer
    said: str
    plural: bool = False
    index: int | None = None  # ordinal, 0-based; -1 the last
    order: Order | None = None  # superlative
    thing: Thing | None = None  # the noun said with it ("that PR", "the second build")
    numbers: tuple[int, ...] = ()  # named: PR or build numbers ("#283", "PR 64")
    hashes: tuple[str, ...] = ()  # named: commit hashes (a short hash is a prefix)
    number_kind: Thing | None = None  # named numbers said as PRs or builds ("PR 64"); None for "#283"
    described: tuple[str, ...] = ()  # "the checkout one", "the one on main": words the object must fit
    repos: tuple[str, ...] = ()  # repositories those words name


def _alternation(words: tuple[str, ...] | list[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))


@cache
def _nouns() -> tuple[re.Pattern[str], dict[str, Thing]]:
    by_word = {w: thing for thing, words in V.NOUNS.items() for w in words}
    return re.compile(rf"(?:{_alternation(list(by_word))})\b"), by_word


def _thing_at(text: str, at: int) -> tuple[Thing | None, bool, int]:
    """The noun starting at `at` (after spaces): its kind, whether plural, and where it ends."""
    pattern, by_word = _nouns()
    m = pattern.match(text, at + len(text[at:]) - len(text[at:].lstrip()))
    if not m:
        return None, False, at
    word = re.sub(r"\s+", " ", m.group(0))
    return by_word[word], word.endswith("s"), m.end()


@cache
def _patterns() -> dict[str, re.Pattern[str]]:
    ordinal = _alternation(list(V.ORDINALS))
    superlative = _alternation(list(V.SUPERLATIVES))
    nouns = _alternation([w for ws in V.NOUNS.values() for w in ws])
    return {
        # "the second one", "the 2nd PR", "the last build"; "the second" at the end
        "ordinal": re.compile(
            rf"\b(?:the\s+)?(?P<w>{ordinal})\s+(?P<n>ones?|{nouns})\b|\bthe\s+(?P<w2>{ordinal})\b(?=\s*(?:[?.!,]|$))"
        ),
        # "the oldest one", "the newest PR", "the biggest"; "the most recent one"
        "superlative": re.compile(
            rf"\b(?:the\s+)?(?P<w>{superlative})\s+(?P<n>ones?|{nouns})\b|\bthe\s+(?P<w2>{superlative})\b(?!\s+\w+\s+(?:in|on|of)\b)"
        ),
        # "that PR", "this build", "the deploy", "those deploys"
        "demonstrative": re.compile(rf"\b(?P<d>that|this|the|those|these)\s+(?P<n>{nouns})\b"),
        "singular": re.compile(rf"\b(?:{_alternation(list(V.PRONOUNS_SINGULAR))})\b"),
        "plural": re.compile(rf"\b(?:{_alternation(list(V.PRONOUNS_PLURAL))})\b"),
        "bare": re.compile(r"\b(?P<w>that|this)\b"),
        # "the checkout one", "the renovate ones", "the one on main", "the ones by Raj"
        "described": re.compile(
            r"\bthe\s+(?P<d>(?:[\w./-]+\s+){1,3}?)(?P<n>ones?)\b"
            r"|\bthe\s+(?P<n2>ones?)\s+(?:in|on|for|from|by|of|against|into|to)\s+(?P<d2>[\w./'-]+)"
        ),
    }


def reference(u: Understanding) -> Reference | None:
    """The pointer of `u`'s question at earlier objects, or None when it points at nothing."""
    text = u.text
    named = _named(u)
    if named is not None:
        return named
    p = _patterns()
    picked_in = tuple(u.repos)  # "the oldest one in auth-service", "the last build on main"
    on_branch = (u.branch,) if u.branch else ()
    m = p["ordinal"].search(text)
    if m:
        word = m.group("w") or m.group("w2")
        thing = _thing_at(text, m.start("n"))[0] if m.group("n") else None
        return Reference(
            "ordinal",
            m.group(0).strip(),
            index=V.ORDINALS[word],
            thing=thing,
            repos=picked_in,
            described=on_branch,
        )
    m = p["superlative"].search(text)
    if m:
        word = re.sub(r"\s+", " ", m.group("w") or m.group("w2"))
        noun = m.group("n") or ""
        if noun and noun not in ("one", "ones"):
            thing, plural, _ = _thing_at(text, m.start("n"))
        else:
            thing, plural = None, noun == "ones"
        return Reference(
            "superlative",
            m.group(0).strip(),
            order=V.SUPERLATIVES[word],
            thing=thing,
            plural=plural,
            repos=picked_in,
            described=on_branch,
        )
    m = p["described"].search(text)
    if m:
        words = (m.group("d") or m.group("d2") or "").split()
        kept = tuple(w for w in words if w not in _NOT_DESCRIPTIVE)
        if kept:
            plural = (m.group("n") or m.group("n2")) == "ones"
            return Reference(
                "pronoun", m.group(0).strip(), plural=plural, described=kept, repos=tuple(u.repos)
            )
    m = p["demonstrative"].search(text)
    if m:
        thing, plural, _ = _thing_at(text, m.start("n"))
        plural = plural or m.group("d") in ("those", "these")
        if m.group("d") != "the" or not plural:  # "the builds" is a fresh listing, "those builds" points
            return Reference("demonstrative", m.group(0).strip(), thing=thing, plural=plural)
    m = p["plural"].search(text)
    if m:
        return Reference("pronoun", m.group(0).strip(), plural=True)
    m = p["singular"].search(text)
    if m:
        return Reference("pronoun", m.group(0).strip())
    for m in p["bare"].finditer(text):
        before = text[: m.start()].split()
        after = text[m.end() :].split()
        if before and (before[-1] in V.RELATIVE_AFTER or _nouns()[0].fullmatch(before[-1])):
            continue  # "the PR that broke main", "anything that failed"
        if after and after[0] in ("is", "was") and before and before[-1] not in ("did", "does", "is", "was"):
            continue  # "… so that is fine"
        return Reference("pronoun", m.group(0))
    return None


_NOT_DESCRIPTIVE = frozenset({"same", "other", "next", "previous", "very", "only", "right", "wrong"})


def _named(u: Understanding) -> Reference | None:
    if u.commits:
        return Reference("named", u.commits[0], hashes=tuple(u.commits), thing="commit")
    if u.pr_numbers:
        return Reference(
            "named", f"PR {u.pr_numbers[0]}", numbers=tuple(u.pr_numbers), number_kind="pull_request"
        )
    if u.build_numbers:
        return Reference(
            "named", f"build {u.build_numbers[0]}", numbers=tuple(u.build_numbers), number_kind="pipeline"
        )
    if u.hash_numbers:
        return Reference("named", f"#{u.hash_numbers[0]}", numbers=tuple(u.hash_numbers))
    return None


def asks(text: str) -> list[str]:
    """The attributes and relations `text` asks for, in `vocab.ASKS` order (none: the details)."""
    found = [name for name, patterns in V.ASKS if any(re.search(p, text) for p in patterns)]
    if "target_branch" in found and "branch" in found:
        found.remove("branch")
    times = [a for a in found if a in V.TIME_ASKS and a != "when"]
    if times:  # "when was it merged": the merge time, not any time
        found = [a for a in found if a != "when"]
        found = [a for a in found if a not in V.TIME_ASKS or a == times[0]]
        if times[0] == "closed_at":  # "when was it merged" is no question of who merged it or its state
            found = [a for a in found if a != "state"]
    if "error" in found and "result" in found:  # "why did it fail": the cause says the result
        found.remove("result")
    if "log" in found and "error" in found:
        found.remove("error")
    return found


def details_asked(text: str) -> bool:
    return any(re.search(p, text) for p in V.DETAILS)


def filters_previous(text: str) -> bool:
    """ "which of those were on main?", "only the ones by Priya": narrow the previous answer."""
    return any(re.search(p, text) for p in V.FILTER_CUES)


def revises(text: str) -> bool:
    """ "and in payments?", "what about last week?", "same for staging", "merged ones?", "only main"."""
    return any(re.search(p, text) for p in V.REVISION_CUES) or len(text.split()) <= 3
