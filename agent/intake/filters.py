"""The filters a question states beyond objects and time: people in a role, text, which one, when a commit
reached a branch, what is live, filters no tool can apply, and the cues the planner's table reads.

Each reader compiles a vocabulary table of `vocab` (patterns around a placeholder such as {who} or
{text}) once, so a new phrasing is a row there; nothing here knows an example sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Literal

from bbscout.agent.intake import vocab as V

__all__ = [
    "Pick",
    "cues_in",
    "current_in",
    "landed_in",
    "names_in_roles",
    "pick_in",
    "texts_in",
    "tickets_in",
    "unsupported_in",
    "without_role_phrases",
]

Pick = Literal["newest", "oldest"]
Role = Literal["reviewer", "approver", "participant", "author"]

_BOT = (
    r"(?:the\s+)?(?:(?:" + "|".join(V.BOT_NAMES) + r")(?:\s*\[bot\]|[\s-]+bots?)?"
    r"|(?:" + "|".join(V.BOT_KINDS) + r")[\s-]+bots?|bots?)(?![\w/.-])"
)
# a name before its verb ("Emma approved") must look like one: capitalised, an @handle, or a bot
_NAME_STRICT = r"@[\w.\-]+|[A-Z][\w'.\-]*(?:\s+[A-Z][\w'\-]+)?"
# words that introduce a clause whose subject is the person ("where hannah was asked to review")
_CLAUSE = r"(?:where|when|with|that|and|which|whom?|if|has|had)\s+"
# after a marker ("reviewed by priya") a lower-case handle is a name too
_NAME_LOOSE = r"@?[A-Za-z][\w.\-]*(?:\s+[A-Z][\w'\-]+)?(?![\w.\-]*/)"


@cache
def _role_patterns() -> tuple[tuple[Role, re.Pattern[str]], ...]:
    """Each role template compiled: markers case-insensitive, a name keeping its case (bots any case)."""
    out: list[tuple[Role, re.Pattern[str]]] = []
    for role, templates in V.PERSON_ROLES.items():
        for template in templates:
            variants = [(template, _NAME_LOOSE)]
            if template.startswith("{who}\\s"):  # "Emma approved": the name must look like one …
                # … unless a clause marker introduces it ("where hannah was asked to review")
                variants = [(template, _NAME_STRICT), (_CLAUSE + template, _NAME_LOOSE)]
            for text, name in variants:
                body = text.replace("{who}", rf"(?P<name>{_BOT}|(?-i:{name}))").replace(
                    "{bot}", rf"(?P<name>{_BOT})"
                )
                out.append((role, re.compile(rf"(?<![\w@-])(?i:{body})")))  # type: ignore[arg-type]
    return tuple(out)


def names_in_roles(question: str, is_name: Callable[[str], bool]) -> dict[Role, list[str]]:
    """Every person the question names, by role; `is_name` rejects words that are not people here."""
    found: dict[Role, list[str]] = {"reviewer": [], "approver": [], "participant": [], "author": []}
    taken: list[tuple[int, int]] = []
    for role, pattern in _role_patterns():
        for m in pattern.finditer(question):
            start, end = m.span("name")
            if any(a < end and start < b for a, b in taken):
                continue
            name = _clean_name(m.group("name"))
            if name and not is_name(name) and " " in name:  # "PRs Noah commented": the name is the last word
                name = name.split(" ", 1)[1]
            if not name or not is_name(name):
                continue
            taken.append((start, end))
            if name not in found[role]:
                found[role].append(name)
    return found


@cache
def _review_role_patterns() -> tuple[re.Pattern[str], ...]:
    """The reviewer and approver templates over lower-case text, any word standing for the name."""
    loose = r"(?:[\w@.'-]+(?:\s+[\w'-]+)?)"
    return tuple(
        re.compile(template.replace("{who}", loose).replace("{bot}", loose))
        for role in ("reviewer", "approver")
        for template in V.PERSON_ROLES[role]
        if template.startswith("{who}") or "{who}" in template
    )


def without_role_phrases(text: str) -> str:
    """`text` with the phrases that name a reviewer or approver blanked, so "asked to review" or "approved
    by" are not read as a state ("awaiting review")."""
    for pattern in _review_role_patterns():
        text = pattern.sub(" ", text)
    return text


def _clean_name(raw: str) -> str:
    name = re.sub(r"^(?:the\s+)", "", raw.strip(), flags=re.IGNORECASE).lstrip("@")
    return re.sub(r"['’]s?$", "", name).strip(" .-")


# --- text -------------------------------------------------------------------------------------------

_QUOTED = r"[\"“'`](?P<text>[^\"”'`]{1,80})[\"”'`]"
_TICKET = r"(?P<text>[A-Za-z][A-Za-z0-9]{1,9}-\d{1,6})(?![\w/-])"
_WORD = r"(?P<text>[\w][\w.\-]*)"
_TICKET_ALONE = re.compile(r"(?<![\w/.-])([A-Z][A-Z0-9]{1,9}-\d{1,6}|[a-z]{2,10}-\d{1,6})(?![\w/-])")


_ARTICLE = r"(?:(?:a|an|the|any|some)\s+)?"
_WORDS = r"(?P<text>[\w-]+(?:\s+[\w-]+){0,2}?)"


@cache
def _text_patterns() -> tuple[tuple[re.Pattern[str], bool], ...]:
    """(pattern, quoted): each marker with each kind of text its placeholder allows."""
    out: dict[str, bool] = {}
    bodies = {"quoted": _QUOTED, "ticket": _TICKET, "word": _WORD, "words": _WORDS}
    for template in V.TEXT_MARKERS:
        for kind, body in bodies.items():
            if "{text}" in template and kind != "words":
                out.setdefault(template.replace("{text}", _ARTICLE + body), kind == "quoted")
            elif "{" + kind + "}" in template:
                out.setdefault(template.replace("{" + kind + "}", body), kind == "quoted")
    return tuple((re.compile(rf"(?<![\w-])(?:{p})", re.IGNORECASE), quoted) for p, quoted in out.items())


def texts_in(question: str, not_text: Iterable[str] = ()) -> list[str]:
    """Text the question filters titles, descriptions or messages by ("mentioning CHK-731"); a quoted
    string is taken as typed, an unquoted word only when it is not vocabulary (`not_text`)."""
    skip = {w.lower() for w in not_text} | V.NOT_TEXT | V.STOP_WORDS
    found: list[str] = []
    for pattern, quoted in _text_patterns():
        for m in pattern.finditer(question):
            text = m.group("text").strip().rstrip(".?!,")
            if not text or text in found:
                continue
            if " " in text and not quoted:  # a subject ("address autocomplete"): its most specific word
                text = max((w for w in text.split() if w.lower() not in skip), key=len, default="")
            if text and (quoted or text.lower() not in skip) and text not in found:
                found.append(text)
    return [t for t in found if not any(t != o and t.lower() in o.lower() for o in found)]


def tickets_in(question: str) -> list[str]:
    """Ticket keys ("CHK-731") anywhere in the question."""
    return list(dict.fromkeys(m.group(1) for m in _TICKET_ALONE.finditer(question)))


# --- which one --------------------------------------------------------------------------------------


def _alternatives(words: Iterable[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))


@cache
def _pick_patterns() -> tuple[re.Pattern[str], ...]:
    pick = _alternatives(V.PICK_WORDS)
    nouns = _alternatives(V.SINGLE_NOUNS)
    verbs = _alternatives(V.PICK_VERBS)
    return (
        # "the latest successful build on main", "the most recent prod deploy"
        re.compile(
            rf"\b(?P<p>{pick})\s+(?P<mid>(?:[\w/'-]+\s+){{0,3}}?)(?P<n>{nouns})(?![\w-])(?!\s*#?\s*\d)"
        ),
        # "when did auth last deploy", "most recently deployed"
        re.compile(rf"\b(?P<p>last|latest|most\s+recently|first)\s+(?P<n>{verbs})\b"),
        # "who deployed checkout to prod last?"
        re.compile(
            rf"\b(?P<n>{verbs})\s+(?:[\w'/-]+\s+){{0,5}}?(?P<p>last|most\s+recently|first)\s*(?:[?.!]|$)"
        ),
        # "when was the last time main failed?"
        re.compile(r"\b(?:the\s+)?(?P<p>last|first)\s+time\b(?!\s+(?:window|range|period))"),
        # "which branch is the newest?"
        re.compile(
            rf"\b(?P<n>{nouns})\s+(?:is|was|are|were)\s+(?:the\s+)?(?P<p>{pick})(?:\s+one)?\s*(?:[?.!]|$)"
        ),
    )


def pick_in(text: str, plural_nouns: Iterable[str]) -> Pick | None:
    """ "newest" / "oldest" when the question asks for one object by recency, else None.

    `text` is the normalised question with its time phrase removed ("last 24 hours" is no pick); a count
    ("the last 5 builds") or a plural ("the latest builds") asks for a list.
    """
    plural = set(plural_nouns)
    for pattern in _pick_patterns():
        for m in pattern.finditer(text):
            mid = m.groupdict().get("mid") or ""
            if any(w.isdigit() or w in plural for w in mid.split()):
                continue
            word = re.sub(r"\s+", " ", m.group("p"))
            return "oldest" if V.PICK_WORDS.get(word) == "oldest" else "newest"
    return None


# --- landed, live, unsupported, cues -----------------------------------------------------------------


def _any(patterns: Iterable[str], text: str) -> bool:
    return any(re.search(p, text) for p in patterns)


def landed_in(text: str) -> bool:
    """ "landed on main", "merged into develop": commits timed by when they entered the branch."""
    return _any(V.LANDED, text)


def current_in(text: str) -> bool:
    """ "what is live in prod", "currently deployed": the live deployment, not a history."""
    return _any(V.LIVE, text)


_VALUE = r"(?P<value>[\"“'`][^\"”'`]{1,40}[\"”'`]|[\w.\-]+)"


def unsupported_in(text: str, not_values: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(filter, value) for each filter the question states that no tool argument applies ("label bug")."""
    skip = set(not_values) | V.STOP_WORDS
    found: list[tuple[str, str]] = []
    for kind, templates in V.UNSUPPORTED_FILTERS.items():
        for template in templates:
            pattern = template.replace("{value}", _VALUE)
            m = re.search(pattern, text)
            if m is None:
                continue
            value = (m.groupdict().get("value") or "").strip().strip("\"“”'`")
            if not value:  # "in the current sprint": the phrase names the value
                value = re.sub(r"^(?:\w+\s+(?:of|to|for)\s+|\w+\s+)(?:the\s+)?", "", m.group(0).strip())
            if value.lower() in skip:
                continue
            found.append((kind, value))
            break
    return found


def cues_in(text: str, table: Mapping[str, tuple[str, ...]] = V.CUES) -> list[str]:
    """The names of the cues whose patterns occur in the normalised question."""
    return [name for name, patterns in table.items() if _any(patterns, text)]
