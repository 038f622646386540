"""Recognise a request to change Bitbucket in any phrasing, from the vocabulary in `agent.readonly.vocab`.

A question is cut into clauses (sentences, commas, dashes, and "and"/"then" after anything but a
question), and each clause is read as [fillers] [request forms] [adverbs] VERB [object]: "could you
please roll checkout back", "let's ship it", "go ahead and revert that PR", "kill it", "merge 67
please", "checkout needs to be rolled back", "can we get PR 67 merged". The verb must be in its base
form, so reports and questions about actions ("who rolled back prod?", "was the revert deployed?",
"which builds were re-run?") never match; a clause that opens like a question or a condition is not a
request; and with no request form, a verb followed by one of its noun followers ("merge commit of PR
70", "deploy failures") is a noun phrase.

Pure text in, `ActRequest` out: no workspace, no previous turn (binding "it" to the previous answer is
`agent.readonly.help`'s job), no model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bbscout.agent.readonly import vocab as V
from bbscout.agent.readonly.vocab import Action, Form, Thing

__all__ = ["ActRequest", "action_for", "clauses", "recognise"]

MAX_PARTICLE_GAP = 6  # "roll the api-gateway production deploy back"
_QUOTED = re.compile(r"\"[^\"]*\"|`[^`]*`|(?<![\w'])'[^']*'(?![\w'])|“[^”]*”")
_SEPARATOR = re.compile(r"[.!?;]+(?=\s|$)|[!?;]+|,|\s[—–-]+\s|[—–]|:\s|\n+|\(|\)")
_TOKEN = re.compile(r"[#@+\w][\w#./+'-]*")
_NUMBER = re.compile(r"#?(\d{1,7})")
_VERSION = re.compile(r"v?\d+(?:\.\d+)+(?:[-+][\w.]+)?")
_HEX = re.compile(r"(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}")
_TIME_UNITS = frozenset(
    {"minute", "minutes", "min", "mins", "hour", "hours", "h", "day", "days", "week", "weeks"}
)
_CONJUNCTIONS = frozenset({"and", "then", "so", "but", "&", "plus"})
_CONTENT_MARKERS = frozenset({"saying", "asking", "telling", "because", "explaining", "mentioning"})
_DEMONSTRATIVE_AFTER = frozenset({"on", "to", "of", "for", "in", "from", "back", "off", "up", "out", "about"})


class ActRequest(BaseModel):
    """A request to change Bitbucket as the guard read it (JSON-plain: it lives in graph state).

    `thing` is the kind of object named ("PR", "the deploy", "those branches"); `referent` says the
    object was a pronoun or an ordinal ("it", "that one", "the second one") to bind to the previous
    answer; `numbers`, `versions`, `refs` (branch-like words) and `names` (descriptive words: "the
    renovate PR") narrow it down. `also` lists further actions the same question asked for.
    """

    model_config = ConfigDict(extra="forbid")

    action: Action
    family: str
    verb: str
    form: Form
    clause: str
    thing: Thing | None = None
    referent: Literal["pronoun", "ordinal"] | None = None
    ordinal: int | None = None
    plural: bool = False
    environment: str | None = None
    source_environment: str | None = None
    again: bool = False
    culprit: bool = False
    numbers: list[int] = Field(default_factory=list)
    versions: list[str] = Field(default_factory=list)
    refs: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)
    also: list[Action] = Field(default_factory=list)


@dataclass(frozen=True)
class _Verb:
    head: tuple[str, ...]
    particle: tuple[str, ...]
    verb: V.Verb

    @property
    def words(self) -> str:
        return " ".join((*self.head, *self.particle))


@dataclass(frozen=True)
class _Match:
    verb: _Verb
    end: int  # first token after the verb (and its attached particle)
    gap: tuple[str, ...]  # object words between the verb and a detached particle
    form: Form | None  # a form the construction itself implies (passive, causative)
    subject: tuple[str, ...] = ()  # the object when it comes first ("checkout needs to be rolled back")


def _split(words: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    head, _, particle = words.partition("…")
    return tuple(head.split()), tuple(particle.split())


_VERBS: tuple[_Verb, ...] = tuple(
    sorted((_Verb(*_split(v.words), v) for v in V.VERBS), key=lambda v: -len(v.head) - len(v.particle))
)
_FORMS: tuple[tuple[tuple[str, ...], Form, bool], ...] = tuple(
    sorted(((tuple(p.split()), f, g) for p, f, g in V.REQUEST_FORMS), key=lambda x: -len(x[0]))
)
_THING_PHRASES: tuple[tuple[tuple[str, ...], Thing], ...] = tuple(
    sorted(
        ((tuple(p.split()), t) for t, phrases in V.THINGS.items() for p in phrases),
        key=lambda x: (-len(x[0]), V.THING_PRIORITY.index(x[1])),
    )
)
_ENVIRONMENT_OF: dict[str, str] = {w: env for env, words in V.ENVIRONMENTS.items() for w in words}


def gerund(word: str) -> str:
    if word in V.IRREGULAR_GERUNDS:
        return V.IRREGULAR_GERUNDS[word]
    return word[:-1] + "ing" if word.endswith("e") and not word.endswith("ee") else word + "ing"


def participle(word: str) -> str:
    if word in V.IRREGULAR_PARTICIPLES:
        return V.IRREGULAR_PARTICIPLES[word]
    if word.endswith("e"):
        return word + "d"
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ied"
    return word + "ed"


# --- text → clauses → tokens ----------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for raw in _TOKEN.findall(text):
        token = raw.rstrip(".'-")
        token = V.SPELLINGS.get(token, "re" + token[3:] if token.startswith("re-") else token)
        out.extend(V.CONTRACTIONS.get(token, token).split())
    folded: list[str] = []  # two-word spellings: "re run" → "rerun"
    for token in out:
        pair = f"{folded[-1]} {token}" if folded else ""
        if pair in V.SPELLINGS:
            folded[-1:] = V.SPELLINGS[pair].split()
        else:
            folded.append(token)
    return folded


def clauses(question: str) -> list[tuple[list[str], bool]]:
    """The question's clauses as tokens, each with whether it was asked with a question mark."""
    text = _QUOTED.sub(" ", question.lower().replace("’", "'").replace("‘", "'"))
    out: list[tuple[list[str], bool]] = []
    last = 0
    for sep in [*_SEPARATOR.finditer(text), None]:
        end = sep.start() if sep else len(text)
        tokens = _tokens(text[last:end])
        if tokens:
            out.extend(_conjoined(tokens, asked=bool(sep and "?" in sep.group())))
        last = sep.end() if sep else end
    return out


def _conjoined(tokens: list[str], asked: bool) -> list[tuple[list[str], bool]]:
    """Split at "and"/"then" unless it joins two verbs of one question ("who can approve and merge it?")."""
    parts: list[list[str]] = [[]]
    for i, token in enumerate(tokens):
        rest = tokens[i + 1 :]
        left = parts[-1]
        joins = left and rest and not _only_forms([*left, token])
        if token in _CONJUNCTIONS and joins and (not _is_question(left) or _form_at(rest, 0)):
            parts.append([])
            continue
        left.append(token)
    return [(part, asked and n == len(parts) - 1) for n, part in enumerate(parts) if part]


def _only_forms(tokens: Sequence[str]) -> bool:
    """ "go ahead and", "please try and": a request form still waiting for its verb."""
    i = 0
    while i < len(tokens):
        i = _skip(tokens, i, V.FILLERS)
        found = _form_at(tokens, i)
        if found is None:
            return i >= len(tokens)
        i += found[0]
    return True


def _is_question(tokens: Sequence[str]) -> bool:
    i = _skip(tokens, 0, V.FILLERS)
    return i < len(tokens) and (tokens[i] in V.QUESTION_OPENERS or tokens[i] in V.SUBORDINATORS)


# --- reading one clause -----------------------------------------------------------------------------


def _skip(tokens: Sequence[str], i: int, words: Iterable[str]) -> int:
    skip = set(words)
    while i < len(tokens) and tokens[i] in skip:
        i += 1
    return i


def _starts(tokens: Sequence[str], i: int, phrase: Sequence[str]) -> bool:
    return tuple(tokens[i : i + len(phrase)]) == tuple(phrase)


def _form_at(tokens: Sequence[str], i: int) -> tuple[int, Form, bool] | None:
    for phrase, form, takes_gerund in _FORMS:
        if _starts(tokens, i, phrase):
            return len(phrase), form, takes_gerund
    return None


def _verb_at(tokens: Sequence[str], i: int, *, inflect: str = "base") -> _Match | None:
    """The longest lexicon verb starting at `i` (base form, or gerund/participle of its first word)."""
    for v in _VERBS:
        first = {"base": v.head[0], "gerund": gerund(v.head[0]), "participle": participle(v.head[0])}[inflect]
        if i >= len(tokens) or tokens[i] != first or not _starts(tokens, i + 1, v.head[1:]):
            continue
        after = i + len(v.head)
        if not v.particle:
            return _Match(v, after, (), None)
        if _starts(tokens, after, v.particle):
            return _Match(v, after + len(v.particle), (), None)
        if inflect == "participle":
            continue
        for j in range(after + 1, min(len(tokens), after + 1 + MAX_PARTICLE_GAP)):
            if tokens[j] in _CONJUNCTIONS:
                break
            if _starts(tokens, j, v.particle):
                return _Match(v, j + len(v.particle), tuple(tokens[after:j]), None)
    return None


def _causative_at(tokens: Sequence[str], i: int) -> _Match | None:
    """ "get PR 67 merged", "have it rolled back": get/have, the object, a participle."""
    if i >= len(tokens) or tokens[i] not in V.CAUSATIVES:
        return None
    for j in range(i + 1, min(len(tokens), i + 2 + MAX_PARTICLE_GAP)):
        found = _verb_at(tokens, j, inflect="participle")
        if found:
            return _Match(found.verb, found.end, tuple(tokens[i + 1 : j]), None)
    return None


def _passive(tokens: Sequence[str], i: int) -> _Match | None:
    """ "checkout needs to be rolled back", "PR 67 should be merged": the subject is the object."""
    for k in range(i + 1, len(tokens)):
        if tokens[k - 1] in V.RELATIVES:
            continue
        for phrase in V.PASSIVE_REQUESTS:
            words = phrase.split()
            if _starts(tokens, k, words):
                found = _verb_at(tokens, k + len(words), inflect="participle")
                if found:
                    return _Match(found.verb, found.end, (), "indirect", tuple(tokens[i:k]))
    return None


def _is_noun(tokens: Sequence[str], match: _Match, asked: bool) -> bool:
    """With no request form: "merge commit of PR 70?", "deploy failures", "rollback?" are noun phrases."""
    if match.gap:
        return False
    if match.end >= len(tokens):
        return asked
    after = tokens[match.end]
    return after in V.NOUN_FOLLOWERS or after in match.verb.verb.noun_before


def _trailing_request(tokens: list[str]) -> tuple[list[str], bool]:
    for phrase in sorted(V.TRAILING_REQUEST, key=lambda p: -len(p.split())):
        words = phrase.split()
        if len(tokens) > len(words) and tokens[-len(words) :] == words:
            return tokens[: -len(words)], True
    return tokens, False


def _read(tokens: list[str], asked: bool) -> ActRequest | None:
    tokens, polite_tail = _trailing_request(tokens)
    i, form, takes_gerund = 0, None, False
    while True:
        i = _skip(tokens, i, V.FILLERS)
        found = _form_at(tokens, i)
        verb = _verb_at(tokens, i)
        if found is None or (verb is not None and len(verb.verb.head) > found[0]):
            break
        form = form or found[1]
        takes_gerund = found[2]
        i += found[0]
    if i >= len(tokens) or any(_starts(tokens, i, n.split()) for n in V.NEGATIONS):
        return None
    if tokens[i] in V.QUESTION_OPENERS or tokens[i] in V.SUBORDINATORS:
        return None
    i = _skip(tokens, i, V.ADVERBS)
    match = (
        _verb_at(tokens, i, inflect="gerund" if takes_gerund else "base")
        or _causative_at(tokens, i)
        or (_passive(tokens, i) if form is None else None)
    )
    if match is None:
        return None
    form = form or match.form or ("please" if polite_tail else None)
    if form is None and _is_noun(tokens, match, asked):
        return None
    return _request(tokens, match, form or "imperative")


def _request(tokens: list[str], match: _Match, form: Form) -> ActRequest | None:
    span = [*match.subject, *match.gap, *tokens[match.end :]]
    obj = _object(span, match.verb.verb.family)
    has_object = bool(obj.thing or obj.referent or obj.numbers or obj.versions or obj.refs)
    again = any(_starts(span, k, a.split()) for a in V.AGAIN for k in range(len(span)))
    action = action_for(match.verb.verb.family, obj.thing, has_object, again)
    if action is None:
        return None
    return ActRequest(
        action=action,
        family=match.verb.verb.family,
        verb=match.verb.words,
        form=form,
        clause=" ".join(tokens),
        again=again,
        **obj.__dict__,
    )


def action_for(family: str, thing: Thing | None, has_object: bool, again: bool = False) -> Action | None:
    """What a verb family does to `thing` (see `vocab.FAMILIES`); None when it is no request to act."""
    fam = V.FAMILIES[family]
    if fam.needs_object and not has_object:
        return None
    if thing is not None and fam.only and thing not in fam.only:
        return None
    action = (fam.things.get(thing) if thing else None) or fam.default
    if action is not None and again:
        action = V.AGAIN_ACTIONS.get(action, action)
    return action


# --- the object ---------------------------------------------------------------------------------------


@dataclass
class _Object:
    thing: Thing | None = None
    referent: Literal["pronoun", "ordinal"] | None = None
    ordinal: int | None = None
    plural: bool = False
    environment: str | None = None
    source_environment: str | None = None
    culprit: bool = False
    numbers: list[int] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


def _thing_at(span: Sequence[str], k: int, family: str) -> tuple[int, Thing] | None:
    fam = V.FAMILIES[family]
    preferred = set(fam.things) | set(fam.only)
    hits = [(len(p), t) for p, t in _THING_PHRASES if _starts(span, k, p)]
    if _VERSION.fullmatch(span[k]):
        hits.append((1, "tag"))
    elif _HEX.fullmatch(span[k]):
        hits.append((1, "commit"))
    if not hits:
        return None
    longest = max(n for n, _ in hits)
    best = [t for n, t in hits if n == longest]
    return longest, next((t for t in best if t in preferred), best[0])


def _head(span: list[str]) -> list[str]:
    """The object phrase proper: cut at a relative clause ("the commit that broke main") or a message
    ("saying it is fixed")."""
    for k, word in enumerate(span):
        if word in _CONTENT_MARKERS:
            return span[:k]
        if word in V.RELATIVES and k > 0 and span[k - 1] not in _DEMONSTRATIVE_AFTER:
            return span[:k]
    return span


def _pronoun_at(span: Sequence[str], k: int) -> tuple[int, bool] | None:
    for phrases, plural in ((V.PRONOUNS_PLURAL, True), (V.PRONOUNS_SINGULAR, False)):
        for phrase in sorted(phrases, key=lambda p: -len(p.split())):
            if _starts(span, k, phrase.split()):
                return len(phrase.split()), plural
    return None


def _object(span: list[str], family: str) -> _Object:
    obj = _Object(culprit=any(w in V.CULPRIT_WORDS for w in span))
    head = _head(span)
    skip: set[int] = set()
    k = 0
    while k < len(head):
        word = head[k]
        pronoun = _pronoun_at(head, k)
        thing = _thing_at(head, k, family)
        if word in V.ORDINALS and (k + 1 == len(head) or head[k + 1] in ("one", "ones") or thing is None):
            if word not in ("last", "latter", "former") or k + 1 == len(head) or head[k + 1] == "one":
                obj.referent, obj.ordinal = "ordinal", V.ORDINALS[word]
                skip.add(k)
        elif pronoun and obj.referent is None:
            obj.referent, obj.plural = "pronoun", pronoun[1]
            skip.update(range(k, k + pronoun[0]))
            k += pronoun[0]
            continue
        if thing:
            n, kind = thing
            if obj.thing is None:
                obj.thing = kind
                obj.plural = obj.plural or (head[k + n - 1].endswith("s") and kind != "access")
            skip.update(range(k, k + n))
            k += n
            continue
        k += 1
    _details(span, obj, skip if span == head else set())
    return obj


def _details(span: list[str], obj: _Object, skip: set[int]) -> None:
    """Environments (with to/from roles), numbers, versions, branch-like refs and descriptive names."""
    cut = next((k for k, w in enumerate(span) if w in _CONTENT_MARKERS), len(span))
    targeted = False  # "promote the staging build to prod": a plain environment before a target is the source
    for k, word in enumerate(span[:cut]):
        before = span[k - 1] if k else ""
        nxt = span[k + 1] if k + 1 < len(span) else ""
        env = _ENVIRONMENT_OF.get(word)
        if env and (
            word not in V.WEAK_ENVIRONMENT_WORDS or before in V.ENV_TARGET_WORDS | V.ENV_SOURCE_WORDS
        ):
            if before in V.ENV_SOURCE_WORDS:
                obj.source_environment = obj.source_environment or env
            elif before in V.ENV_TARGET_WORDS:
                if obj.environment and not targeted and obj.environment != env:
                    obj.source_environment = obj.source_environment or obj.environment
                obj.environment, targeted = env, True
            elif obj.environment is None:
                obj.environment = env
            continue
        if _VERSION.fullmatch(word):
            obj.versions.append(word)
        elif (number := _NUMBER.fullmatch(word)) and nxt not in _TIME_UNITS:
            obj.numbers.append(int(number.group(1)))
        elif "/" in word or word in V.DEFAULT_BRANCH_WORDS:
            obj.refs.append(word)
        elif _describes(span, k, skip):
            obj.names.append(word.removesuffix("'s"))
    if obj.source_environment and obj.environment == obj.source_environment:
        obj.environment = None


def _describes(span: Sequence[str], k: int, skip: set[int]) -> bool:
    """A word that says which object is meant ("renovate", "s3"), not what kind it is or where."""
    word = span[k]
    if k in skip or word in V.NAME_STOPWORDS or word in V.CULPRIT_WORDS or word in _ENVIRONMENT_OF:
        return False
    return not word.isdigit() and _thing_at(span, k, "merge") is None


# --- the whole question -------------------------------------------------------------------------------


def recognise(question: str) -> ActRequest | None:
    """The first request to change Bitbucket in `question` (others in `also`), or None for a question."""
    found = [r for tokens, asked in clauses(question) if (r := _read(tokens, asked)) is not None]
    if not found:
        return None
    first = found[0]
    return first.model_copy(
        update={"also": list(dict.fromkeys(r.action for r in found[1:] if r.action != first.action))}
    )
