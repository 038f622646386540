"""Entity hints: what a question names besides its time window (repos, branch, authors, states, …).

Why a separate pass from planning: both planners (and the chat follow-up logic) need the same
facts, and keeping them in a JSON-plain `Understanding` makes them testable and loggable on their
own. Everything here is a *hint*; the planner decides what to do with it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz

from bbscout.agent.intake import vocab as V
from bbscout.agent.intake.filters import (
    Pick,
    cues_in,
    current_in,
    landed_in,
    names_in_roles,
    pick_in,
    texts_in,
    tickets_in,
    unsupported_in,
    without_role_phrases,
)
from bbscout.agent.intake.normalize import basic, correct
from bbscout.agent.intake.time import parse_window
from bbscout.agent.plan import Window
from bbscout.tools.args import PipelineProgress, PipelineResult, PullRequestState, Trigger
from bbscout.tools.evidence import RepositoryRecord
from bbscout.tools.paths import PATH_FORMS
from bbscout.tools.resolve import GENERIC, SYNONYMS, closest_names, rank_repositories, resolve

__all__ = ["RepoMention", "Understanding", "Unsupported", "incident_kind", "normalize_question", "understand"]


class RepoMention(BaseModel):
    """One phrase that names a repository, and what it resolved to."""

    model_config = ConfigDict(extra="forbid")

    phrase: str
    status: Literal["resolved", "ambiguous", "unknown"]
    slugs: list[str] = Field(default_factory=list)  # resolved: one slug
    candidates: list[str] = Field(default_factory=list)  # ambiguous: the candidates; unknown: closest names
    interpreted: bool = False  # resolved through a synonym or description, no word of its name typed


class Unsupported(BaseModel):
    """A filter the question states that no tool argument applies ("labelled bug"): said, never dropped."""

    model_config = ConfigDict(extra="forbid")

    kind: str  # how the answer names it: "label", "milestone", "comment count", …
    value: str


class Understanding(BaseModel):
    """Everything intake recognised in a question, as plain data (`matched` says which words did it)."""

    model_config = ConfigDict(extra="forbid")

    question: str
    text: str  # normalised (lower-case, typos corrected)
    window: Window | None = None
    topics: list[str] = Field(default_factory=list)  # families named: pipelines, pull_requests, …
    incident: Literal["strong", "weak"] | None = None
    breakage: Literal["build", "flaky"] | None = (
        None  # an ask that is really a CI incident ("who broke main?")
    )
    repo_mentions: list[RepoMention] = Field(default_factory=list)
    repos: list[str] = Field(default_factory=list)  # every confidently resolved slug, in mention order
    all_repos: bool = False  # "across all repos", "every service"
    branch: str | None = None  # concrete name; a default-branch alias resolves to main_branch
    default_branch: bool = False  # the user said main/master/trunk/"the default branch"
    authors: list[str] = Field(default_factory=list)  # people in a role: the tools' person arguments
    reviewers: list[str] = Field(default_factory=list)
    approvers: list[str] = Field(default_factory=list)
    participants: list[str] = Field(default_factory=list)
    texts: list[str] = Field(default_factory=list)  # in a PR's title/description or a commit's message
    states: list[str] = Field(default_factory=list)  # the state words as typed (canonical spelling)
    results: list[PipelineResult] = Field(default_factory=list)
    in_progress: bool = False
    progress: list[PipelineProgress] = Field(
        default_factory=list
    )  # which unfinished states: running ≠ pending
    pr_states: list[PullRequestState] = Field(default_factory=list)
    awaiting_review: bool = False
    draft: bool = False
    trigger: Trigger | None = None
    nightly: bool = False
    environment: str | None = None  # production, staging, test
    pr_numbers: list[int] = Field(default_factory=list)
    build_numbers: list[int] = Field(default_factory=list)
    hash_numbers: list[int] = Field(default_factory=list)  # bare "#12": a PR or a build, by context
    commits: list[str] = Field(default_factory=list)
    paths: list[str] = Field(default_factory=list)
    symbols: list[str] = Field(default_factory=list)
    ordinal: int | None = None  # 0-based; -1 = the last one
    deictic: bool = False  # "that one", "it", "those"
    count: int | None = None  # "top 5", "last 10"
    pick: Pick | None = None  # "the latest build", "when did auth last deploy": exactly one object
    file_words: list[str] = Field(default_factory=list)  # "the prod config": a file described, path unknown
    landed: bool = False  # "landed on / merged to main": timed by when commits entered the branch
    current: bool = False  # "what is live in prod": the live deployment per environment
    unsupported: list[Unsupported] = Field(default_factory=list)  # filters no tool argument applies
    branch_prefix: str | None = None  # "release branches": the name prefix
    branch_words: list[str] = Field(
        default_factory=list
    )  # "the renovate nestjs branch": words its name holds
    name_filter: str | None = None  # "repos with pay in the name": what a repository name contains
    cues: list[str] = Field(default_factory=list)  # grammatical cues (vocab.CUES) the planner's table reads
    asks: list[str] = Field(default_factory=list)  # log, why, diff, who, latest, changes, stale, …
    out_of_scope: list[str] = Field(default_factory=list)
    metric_ask: str | None = (
        None  # "what's the p99 latency …?": a metric's value (no monitoring data in Bitbucket)
    )
    matched: list[str] = Field(default_factory=list)


# --- helpers -------------------------------------------------------------------------------------


def _phrase_re(phrases: Iterable[str]) -> re.Pattern[str]:
    alts = sorted({re.escape(p) for p in phrases}, key=len, reverse=True)
    return re.compile(r"(?<![\w/.-])(?:" + "|".join(alts) + r")(?![\w/-])")


def _found(text: str, phrases: Iterable[str]) -> list[str]:
    return [m.group(0) for m in _phrase_re(phrases).finditer(text)]


def _uniq(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def normalize_question(question: str) -> str:
    """Lower-case, possessives dropped, vocabulary typos corrected ("pipleines that faild"), and words
    written as alternatives split ("scheduled/nightly" → "scheduled or nightly")."""
    return correct(_SLASHED_WORDS.sub(_or_words, basic(question)), V.CORRECTABLE)


_SLASHED_WORDS = re.compile(r"(?<![\w/.-])[a-z]+(?:/[a-z]+)+(?![\w/-])")


def _alternatives(token: str) -> bool:
    """ "scheduled/nightly", "failed/errored": vocabulary words offered as alternatives, not a path."""
    parts = token.lower().split("/")
    return len(parts) > 1 and all(p in V.CORRECTABLE for p in parts)


def _or_words(m: re.Match[str]) -> str:
    return m.group(0).replace("/", " or ") if _alternatives(m.group(0)) else m.group(0)


_TIME_UNITS = r"(?:minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w|months?|y|years?)\b"
_PR_NUM = re.compile(
    r"(?<![\w-])(?:prs?|pull\s*-?\s*requests?|mrs?|merge\s+requests?)\s*(?:number\s*|no\.?\s*)?#?\s*(\d{1,6})\b"
)
_BUILD_NUM = re.compile(
    r"(?<![\w-])(?:builds?|pipelines?|runs?|jobs?|ci\s+runs?)\s*(?:number\s*|no\.?\s*)?#?\s*(\d{1,7})\b(?!\s*"
    + _TIME_UNITS
    + ")"
)
_HASH_NUM = re.compile(r"(?<![\w&])#(\d{1,7})\b")
_COMMIT = re.compile(r"(?<![\w/#.:-])([0-9a-f]{7,40})(?![\w/.-])")
_EXT = (
    "py|js|jsx|ts|tsx|mjs|cjs|json|ya?ml|toml|cfg|ini|conf|env|tf|tfvars|hcl|go|java|kt|kts|rb|rs|php|cs|"
    "swift|m|scala|sql|sh|bash|md|rst|txt|html|css|scss|xml|gradle|lock|mod|sum|properties|proto|graphql|dockerfile"
)
_PATH = re.compile(
    rf"(?<![\w/.:@-])((?:[\w.-]+/)*[\w-][\w.-]*\.(?:{_EXT})|(?:src|lib|app|apps|config|configs|tests?|docs|infra|modules|"
    r"charts|deploy|scripts|ci|\.github|pkg|cmd|internal|services|packages|terraform|migrations)/[\w./-]*"
    r"|Dockerfile|Makefile|Jenkinsfile|Procfile)(?![\w/-])",
)
# any other slashed token ("envs/production", "src/gateway/"): a path unless it is said as a branch
_SLASHED = re.compile(r"(?<![\w/.:@#-])((?:[A-Za-z_.][\w.-]*/)+[\w.-]*)(?![\w/-])")
_NOT_PATHS = frozenset({"and/or", "ci/cd", "n/a", "i/o", "w/o", "w/", "either/or", "pr/mr", "prs/mrs"})
_BRANCH_PREFIXED = re.compile(rf"(?<![\w/.-])((?:{'|'.join(V.BRANCH_PREFIXES)})/[\w./-]*[\w-])")
_BRANCH_CONTEXT = re.compile(
    r"(?:\b(?:on|to|into|against|from|targeting|target|off|for|in)\s+(?:the\s+)?(?:branch\s+)?(?P<a>[\w./-]+)\s+branch\b"
    r"|\bbranch\s+(?:named\s+|called\s+)?[`'\"]?(?P<b>[\w./-]+)[`'\"]?"
    r"|(?P<c>[\w./-]+)\s+branch\b)"
)
_SYMBOL_PATTERNS = (
    re.compile(
        r"(?i:where\s+(?:is|are|was)|where's|wheres)\s+(?:the\s+)?(?i:function\s+|class\s+|method\s+|constant\s+)?`?(?P<s>[A-Za-z_][\w.]*)`?(?:\(\))?\s+(?i:defined|declared|implemented|used|called|set|configured)"
    ),
    re.compile(
        r"(?i:usages?|uses|references?|callers|calls|definitions?|implementations?|occurrences?|instances)\s+(?i:of|to|for)\s+(?:the\s+)?(?i:function\s+|class\s+|method\s+)?[`'\"]?(?P<s>[A-Za-z_][\w.]*)"
    ),
    re.compile(r"(?i:who|what)\s+(?i:calls|uses|imports|references)\s+[`'\"]?(?P<s>[A-Za-z_][\w.]*)"),
    re.compile(
        r"(?i:find|search(?:\s+for)?|grep(?:\s+for)?|look\s+for|locate)\s+(?:the\s+)?(?i:code\s+for\s+|function\s+|class\s+|symbol\s+|method\s+|string\s+|text\s+)?[`'\"]?(?P<s>[A-Za-z_][\w.]*(?:\(\))?)"
    ),
    re.compile(r"(?i:definition\s+of|defines?)\s+[`'\"]?(?P<s>[A-Za-z_][\w.]*)"),
)
_QUOTED = re.compile(r"[`\"]([^`\"]{2,80})[`\"]|(?<!\w)'([^']{2,80})'(?!\w)")
_IDENTIFIER = re.compile(
    r"(?<![\w./-])([A-Za-z_][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+|[a-z]+[A-Z][A-Za-z0-9]*|[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+)(?:\(\))?(?![\w/-])"
)
_ORDINALS = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
    "sixth": 5,
    "6th": 5,
    "seventh": 6,
    "7th": 6,
    "eighth": 7,
    "8th": 7,
    "ninth": 8,
    "9th": 8,
    "tenth": 9,
    "10th": 9,
    "last": -1,
    "latest": -1,
    "final": -1,
    "bottom": -1,
    "top": 0,
}
_ORDINAL = re.compile(
    r"\b(?:the\s+)?(?P<o>" + "|".join(_ORDINALS) + r")\s+(?:one|pipeline|build|run|pr|pull request|commit|"
    r"deploy(?:ment)?|branch|item|entry|failure|match|result)s?\b(?!\s*\d)"
    r"|\b(?:the\s+)(?P<o2>first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th)\b(?!\s*\d)"
    r"|\b(?:number|no\.|item|#)\s*(?P<n>[1-9])\s+(?:in|on|from)\s+(?:the|that|this)\s+list\b"
)
_DEICTIC = re.compile(
    r"\b(?:that one|this one|that pipeline|that build|that pr|that commit|that deploy(?:ment)?|it|those"
    r"|these|them|ones)\b"
)
_COUNT = re.compile(
    r"\b(?:top|last|latest|first|most\s+recent|recent|newest|past)\s+(?P<a>\d{1,3})\b(?!\s*(?:[.:]\d|"
    + _TIME_UNITS
    + r"))"
    r"|\b(?P<b>\d{1,3})\s+(?:most\s+recent|latest|newest|last|recent)\b"
)
_ALL_REPOS = re.compile(
    r"\b(?:all|every|each|any|across(?:\s+all)?(?:\s+the)?)\s+(?:of\s+(?:the|our)\s+)?(?:repos?"
    r"|repositories|services|projects|codebases)\b|\bworkspace[- ]wide\b|\beverywhere\b"
)
_REPO_GENERIC = r"(?:service|services|svc|repo|repository|app|project|codebase)"
_SLUG_SHAPE = re.compile(
    r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*-(?:service|svc|app|api|repo|lib|libs|worker|server|client|frontend|backend|web|ui|gateway|pipeline|infra|terraform|sdk|bot|cli|jobs?)"
)
_SCAN_SYNONYMS: frozenset[str] = frozenset(
    w
    for group in SYNONYMS
    for w in group
    if len(w) >= 4
    and w
    not in {
        "site",
        "front",
        "edge",
        "server",
        "common",
        "phone",
        "pay",
        "util",
        "utility",
        "identity",
        "email",
        "messaging",
        "library",
        "data",
        "proxy",
        "login",
        "release",
    }
) | {"api", "ios", "sso", "etl", "tf", "iac", "pay", "login", "email", "gw"}
_NOT_NAMES: frozenset[str] = frozenset(
    set(V.STOP_WORDS)
    | set(V.CORRECTABLE)
    | {
        "main",
        "master",
        "trunk",
        "develop",
        "ci",
        "cd",
        "scratch",
        "hand",
        "default",
        "branch",
        "repo",
        "repository",
        "service",
        "now",
        "me",
        "us",
        "everyone",
        "anyone",
        "somebody",
        "someone",
        "nobody",
        "anybody",
        "none",
        "nothing",
        "anything",
        "something",
        "everything",
        "production",
        "prod",
        "staging",
        "test",
        "qa",
        "dev",
    }
    | set(_ORDINALS)
)


# --- extractors ----------------------------------------------------------------------------------


_AWAITING = re.compile(
    r"\b(?:still\s+)?(?:need|needs|needing|require|requires|requiring|waiting\s+(?:for|on)|awaiting|pending|want|wants)\s+"
    r"(?:a\s+|an\s+|any\s+|some\s+|their\s+|its\s+|first\s+)?(?:code\s+)?(?:reviews?|approvals?|reviewers?|eyes)\b"
    r"|\b(?:not|never|nobody|no\s+one|no-one|none|haven't|hasn't|have\s+not|has\s+not|weren't|wasn't)\s+"
    r"(?:(?:yet|has|have|been|anyone|anybody|got|gotten)\s+)*(?:reviewed|approved|looked\s+at)\b"
    r"|\bwaiting\s+to\s+be\s+(?:reviewed|approved)\b|\bwithout\s+(?:a\s+|any\s+)?(?:reviews?|approvals?)\b"
)


_NOT_MERGED = re.compile(
    r"(?<![\w'-])(?:" + "|".join(sorted((re.escape(n) for n in V.NEGATIONS), key=len, reverse=True)) + r")\s+"
    r"(?:(?:yet|been|be|got|gotten|get|ever|still|actually)\s+)*merged\b"
)


def _states(text: str, u: Understanding) -> None:
    # "open the config file of auth": the imperative is no PR state
    text = re.sub(
        r"^\s*(?:(?:please|pls|can\s+you|could\s+you)\s+)?open\s+(?=(?:the|a|an|that|this|it|up)\b)",
        " ",
        text,
    )
    for phrase in _found(text, V.AWAITING_REVIEW):
        u.awaiting_review = True
        u.states.append(phrase)
        text = text.replace(phrase, " ")
    m = _AWAITING.search(text)
    if m:
        u.awaiting_review = True
        u.states.append(m.group(0))
        text = _AWAITING.sub(" ", text)
    for phrase in _found(text, V.IN_PROGRESS):
        u.in_progress = True
        u.progress.extend(s for s in V.PROGRESS[phrase] if s not in u.progress)
        u.states.append(phrase)
        text = text.replace(phrase, " ")
    text, negated = _negated_results(text)
    for phrase in _found(text, V.RESULTS):
        u.results.extend(V.RESULTS[phrase])
        u.states.append(phrase)
    if negated and not u.results and "SUCCESSFUL" in negated:
        u.results.extend(("FAILED", "ERROR"))  # "builds that aren't green"
    if _NOT_MERGED.search(text):  # "haven't been merged yet": still open
        u.pr_states.append("OPEN")
        u.states.append("not merged")
        text = _NOT_MERGED.sub(" ", text)
    for phrase in _found(text, V.PR_STATES):
        u.pr_states.extend(V.PR_STATES[phrase])
        u.states.append(phrase)
    if _found(text, V.DRAFT):
        u.draft = True
    results: list[PipelineResult] = ["FAILED", "ERROR", "STOPPED", "SUCCESSFUL"]
    states: list[PullRequestState] = ["OPEN", "MERGED", "DECLINED", "SUPERSEDED"]
    u.results = [r for r in results if r in u.results]
    u.pr_states = [s for s in states if s in u.pr_states]
    u.states = _uniq(u.states)


_NEGATED_RESULT = re.compile(
    r"(?<![\w'-])(?:" + "|".join(sorted((re.escape(n) for n in V.NEGATIONS), key=len, reverse=True)) + r")\s+"
    r"(?:(?:the|a|an|just|only|any|simply|merely|really|actually|because\s+of|due\s+to|real|genuine|plain|regular|normal"
    r"|test|tests|unit|integration|e2e|build|ci|lint|compile|code|step)\s+)*"
    r"(?P<p>" + "|".join(sorted((re.escape(r) for r in V.RESULTS), key=len, reverse=True)) + r")(?![\w/-])"
)


_EXCLUDED_RESULT = re.compile(
    r"(?<![\w'-])(?:"
    + "|".join(sorted((re.escape(n) for n in V.EXCLUSIONS), key=len, reverse=True))
    + r")\s+"
    r"(?:(?:" + "|".join(V.EXCLUSION_FILLERS) + r")\s+)*"
    r"(?P<p>" + "|".join(sorted((re.escape(r) for r in V.RESULTS), key=len, reverse=True)) + r")(?![\w/-])"
)


def _negated_results(text: str) -> tuple[str, set[str]]:
    """Blank result words after a negation ("errored, not failed tests") or an exclusion ("don't count the
    ones people cancelled"); returns the results they named."""
    negated: set[str] = set()

    def blank(m: re.Match[str]) -> str:
        negated.update(V.RESULTS[m.group("p")])
        return " "

    return _NEGATED_RESULT.sub(blank, _EXCLUDED_RESULT.sub(blank, text)), negated


_NO_ACTIVITY = re.compile(
    r"\b(?:haven't|hasn't|have\s+not|has\s+not|not|never|nobody|no\s+one|no-one|none\s+of\s+us)\s+(?:(?:been|has|have|had|yet|ever|any)\s+)*"
    r"(?:touched|updated|pushed(?:\s+to)?|committed(?:\s+to)?|worked\s+on|modified|changed|merged)\b"
    r"|\bno\s+(?:new\s+|recent\s+)?(?:commits|pushes|activity|changes|updates)\b"
)


def _environment(text: str) -> str | None:
    for phrase in _found(text, V.ENVIRONMENTS):
        return V.ENVIRONMENTS[phrase]
    words = "|".join(V.ENVIRONMENTS_IN_CONTEXT)
    m = re.search(
        rf"\b(?:to|in|on|into|from|at|hit|hitting)\s+(?:the\s+)?(?P<a>{words})\b(?!\s+(?:branch|failures?|suites?|cases?|runs?|steps?))"
        rf"|\b(?P<b>{words})\s+(?:env|environment|deploy(?:ment)?s?|servers?|cluster)\b",
        text,
    )
    if m:
        return V.ENVIRONMENTS_IN_CONTEXT[m.group("a") or m.group("b")]
    return None


def _trigger(text: str, u: Understanding) -> None:
    for phrase in _found(text, V.TRIGGERS):
        if phrase in ("push", "pushes") and not re.search(
            r"\b(?:on|by|from|via)\s+push(?:es)?\b|\bpush(?:es)?\s+(?:triggered|builds?|pipelines?)\b", text
        ):
            continue
        u.trigger = V.TRIGGERS[phrase]
        u.nightly = u.nightly or phrase in ("nightly", "nightlies")
        u.matched.append(phrase)
        return


def _numbers(text: str, u: Understanding) -> str:
    """PR, build and bare #numbers; returns the text with them blanked so nothing else reuses them."""
    for rx, target in ((_PR_NUM, u.pr_numbers), (_BUILD_NUM, u.build_numbers), (_HASH_NUM, u.hash_numbers)):
        for m in rx.finditer(text):
            target.append(int(m.group(1)))
        text = rx.sub(" ", text)
    for m in _COMMIT.finditer(text):
        h = m.group(1)
        if (re.search(r"\d", h) and re.search(r"[a-f]", h)) or len(h) >= 12:
            u.commits.append(h)
    return text


def _paths_and_branches(question: str, text: str, u: Understanding, repos: Sequence[RepositoryRecord]) -> str:
    """File paths and branch names, from the original text (paths are case-sensitive)."""
    for m in _BRANCH_PREFIXED.finditer(question):
        u.branch = u.branch or m.group(1)
    for m in _PATH.finditer(question):
        path = m.group(1).rstrip(".")
        if not re.match(rf"(?:{'|'.join(V.BRANCH_PREFIXES)})/", path) and not re.match(r"\d", path):
            u.paths.append(path)
    for m in _SLASHED.finditer(question):
        path = m.group(1).rstrip(".")
        if any(path in p or p in path for p in [*u.paths, u.branch or "\0"]) or path.lower() in _NOT_PATHS:
            continue
        if _alternatives(path):
            continue
        if re.match(rf"(?:{'|'.join(V.BRANCH_PREFIXES)})/", path) or _said_as_branch(question, path):
            continue
        u.paths.append(path)
    u.paths = _uniq(u.paths)
    for p in u.paths + ([u.branch] if u.branch else []):
        text = text.replace(p.lower(), " ")
    if u.branch is None:
        alias = _found(text, V.DEFAULT_BRANCH_ALIASES)
        if alias:
            u.default_branch = True
            mains = {r.main_branch for r in repos if r.slug in u.repos} or {r.main_branch for r in repos}
            said = alias[0].replace("the ", "").replace(" branch", "")
            u.branch = (
                mains.pop()
                if len(mains) == 1
                else ("main" if said in ("main", "default", "mainline", "trunk") else said)
            )
            u.matched.append(alias[0])
    if u.branch is None:
        u.branch_words = _branch_words(text)
    if u.branch is None and not u.branch_words:
        for m in _BRANCH_CONTEXT.finditer(text):
            name = m.group("a") or m.group("b") or m.group("c")
            if (
                name
                and name not in V.STOP_WORDS
                and name
                not in {"which", "default", "stale", "feature", "new", "my", "each", "every", "per", "a"}
            ):
                u.branch = name
                break
    if u.branch is None:
        # "deploys to staging" names the environment (read before), not the staging branch
        deploys = u.environment is not None and "deployments" in u.topics
        named = [n for n in _found(text, V.NAMED_BRANCHES) if not (deploys and _environment(f"to {n}"))]
        for name in named:
            if re.search(
                rf"\b(?:on|to|into|against|from|targeting|off)\s+(?:the\s+)?{re.escape(name)}\b", text
            ):
                u.branch = name
                break
    return text


def _branch_after_repo(text: str, u: Understanding) -> str | None:
    """ "when did mobile develop last go red": a well-known branch name right after a repository's name is
    that repository's branch (an environment word is one only when no deployment is asked about)."""
    deploys = u.environment is not None or "deployments" in u.topics
    names = [n for n in V.NAMED_BRANCHES if not (deploys and _environment(f"to {n}"))]
    for mention in u.repo_mentions:
        if mention.status != "resolved":
            continue
        m = re.search(rf"\b{re.escape(mention.phrase)}\s+(?P<b>{'|'.join(names)})\b(?!\s+branch)", text)
        if m:
            return m.group("b")
    return None


_COMMIT_NOUNS = tuple(p for p in V.TOPICS["commits"] if not re.match(r"(?:merged|landed|lands?)\b", p))


def _location_topics(text: str, u: Understanding) -> None:
    """Topics named only as where another object is: "commits on the develop branch" is about commits,
    and "PRs merged into web-frontend" about pull requests (no commit is named, so nothing "landed")."""
    others = set(u.topics) & {"pipelines", "pull_requests", "commits", "deployments", "code"}
    if "branches" in u.topics and (u.branch or u.branch_words) and others:
        name = re.escape(u.branch.lower()) if u.branch else r"(?!)"
        rest = re.sub(rf"(?:\bthe\s+)?{name}\s+branch\b|\bbranch\s+(?:named\s+|called\s+)?{name}", " ", text)
        if u.branch_words:
            rest = _LOOSE_BRANCH.sub(" ", rest)
        if not _found(rest, V.TOPICS["branches"]):
            u.topics.remove("branches")
    if {"pull_requests", "commits"} <= set(u.topics) and not _found(text, _COMMIT_NOUNS):
        u.topics.remove("commits")


_FILE_NOUN = re.compile(
    r"(?P<w>(?:[\w.-]+\s+){0,2})(?P<n>"
    + "|".join(V.FILE_NOUNS)
    + r")(?P<file>\s+files?)?\b(?!\s*[/.]\w)(?!\s+(?:"
    + "|".join(V.NOT_A_FILE_AFTER)
    + r")\b)|(?P<w2>(?:[\w.-]+\s+){1,2})files?\b"
)
_FILE_HOLDER = re.compile(
    r"\b(?:of|in|for|under|from)\s+the\s+(?P<q>[\w.-]+)\s+(?P<k>" + "|".join(V.FILE_HOLDERS) + r")\b"
)
_NOT_FILE_WORDS = frozenset(
    {"file", "files", "set", "value", "what", "current", "whole", "entire"}
    | {"show", "print", "cat", "open", "display", "read", "dump", "fetch", "view", "see"}
)


def _file_words(text: str) -> list[str]:
    """ "checkout's prod config" → [checkout, prod, config]; "the variables file of the eks module" →
    [variables, eks, module]: the words a file's path parts should carry (repository words are dropped by
    the caller)."""
    m = _FILE_NOUN.search(text)
    if m is None:
        return []
    words = (m.group("w") or m.group("w2") or "").split() + ([m.group("n")] if m.group("n") else [])
    for h in _FILE_HOLDER.finditer(text):
        words += [h.group("q"), h.group("k")]
    keep = [
        w
        for w in words
        if w not in V.STOP_WORDS
        and w not in _NOT_FILE_WORDS
        and (w in V.FILE_NOUNS or w in PATH_FORMS or w not in _all_topic_words())
    ]
    # a lone noun ("what values did we ship") names no file; "the config file", "prod config" do
    described = len(keep) >= 2 or bool(m.group("file")) or bool(m.group("w2"))
    return _uniq(keep) if described else []


_LOOSE_BRANCH = re.compile(r"\bthe\s+(?P<w>(?:[\w.@-]+\s+){1,3}?[\w.@-]+)\s+branch\b(?!es)")
_NOT_BRANCH_WORDS = frozenset(
    {"feature", "new", "old", "same", "other", "current", "default", "stale", "work"}
)


def _branch_words(text: str) -> list[str]:
    """ "the renovate nestjs branch": a branch named by words its name holds, not by its name (two words or
    more, none a path or a long-lived branch's name)."""
    for m in _LOOSE_BRANCH.finditer(text):
        words = [
            w
            for w in m.group("w").split()
            if w not in V.STOP_WORDS and w not in _all_topic_words() and w not in _NOT_BRANCH_WORDS
        ]
        if len(words) >= 2 and not any("/" in w for w in words) and words[-1] not in V.LONG_LIVED_BRANCHES:
            return words
    return []


def _said_as_branch(question: str, token: str) -> bool:
    """ "on team/foo", "the team/foo branch", "into team/foo": a branch name, not a path."""
    t = re.escape(token)
    return bool(
        re.search(
            rf"{t}\s+branch|branch\s+(?:named\s+|called\s+)?[`'\"]?{t}"
            rf"|\b(?:on|into|onto|against|from|targeting|off)\s+(?:the\s+)?[`'\"]?{t}",
            question,
            re.IGNORECASE,
        )
    )


def _people(question: str, u: Understanding, repos: Sequence[RepositoryRecord]) -> None:
    """People in a role (author, reviewer, approver, participant): `filters.names_in_roles` over the question,
    keeping only words that can be names here (not vocabulary, not a repository's name)."""
    synonyms = {s for g in SYNONYMS for s in g}

    def is_name(name: str) -> bool:
        if re.fullmatch(r"(?:\w+[\s-]+)?bots?", name.lower()) or name.lower() in V.BOT_NAMES:
            return True  # "dependency bot", "renovate bot", "bots", "dependabot"
        first = name.split()[0].lower()
        if first in _NOT_NAMES or first.isdigit() or re.match(r"\d", first) or first in GENERIC:
            return False
        ranked = rank_repositories(first, repos)
        if ranked and ranked[0][1] >= 0.85:
            return False  # "checkout's PRs" names a repository
        return first not in synonyms

    found = names_in_roles(question, is_name)
    u.authors, u.reviewers = found["author"], found["reviewer"]
    u.approvers, u.participants = found["approver"], found["participant"]


def _texts(question: str, u: Understanding) -> None:
    """Text a PR's title/description or a commit's message must contain; a lone ticket key counts too.

    Not in a code question (there the same words are the search query); a lone ticket key only in a
    question about PRs or commits. Text in a question about other objects is still read, so the answer
    can say no tool filters them by it.
    """
    if "code" in u.topics or (u.symbols and not u.topics):
        return
    nouns = {w for ws in V.TOPICS.values() for p in ws for w in p.split()}
    people = [w for name in [*u.authors, *u.reviewers, *u.approvers, *u.participants] for w in name.split()]
    texts = texts_in(question, not_text=[*nouns, *people])
    named = {x.lower() for x in [u.branch or "", *u.paths]}
    for ticket in tickets_in(question) if {"pull_requests", "commits"} & set(u.topics) else []:
        inside = any(ticket.lower() in x for x in named)
        if not inside and not any(ticket.lower() == t.lower() for t in texts):
            texts.append(ticket)
    u.texts = texts
    u.symbols = [s for s in u.symbols if s not in texts]


_PLURAL_NOUNS = frozenset(w for ws in V.TOPICS.values() for p in ws for w in p.split() if w.endswith("s"))


def _which_one_and_when(work: str, text: str, u: Understanding) -> None:
    """One object or many, landed-on time, what is live, unsupported filters, cues, name filters."""
    u.cues = cues_in(text)
    if "open_verb" in u.cues and u.pr_states == ["OPEN"]:
        u.pr_states, u.cues = ["OPEN", "MERGED", "DECLINED"], [*u.cues, "created"]
    # "the latest deployment of each service" asks for one per service: a list, not one object
    u.pick = pick_in(work, _PLURAL_NOUNS) if u.count is None and "each" not in u.cues else None
    # "PRs merged into main" are pull requests in a state; commits (or nothing named) "landed"
    u.landed = landed_in(text) and not ("pull_requests" in u.topics and "commits" not in u.topics)
    u.current = current_in(text) and u.window is None
    u.unsupported = [
        Unsupported(kind=kind, value=value)
        for kind, value in unsupported_in(text, not_values=_all_topic_words())
    ]
    if u.branch and re.search(rf"\bfrom\s+(?:the\s+)?{re.escape(u.branch.lower())}", text):
        u.cues.append("from_branch")
    # "release branches", "the renovate branches", "any hotfix/ branches": the prefix the names start with
    kind = re.search(
        rf"\b({'|'.join(V.BRANCH_PREFIXES)})(?:/\*?)?\s+branch(?:es)?\b|(?<![\w/.-])([a-z][\w.-]*)/\*?\s+branch(?:es)?\b",
        text,
    )
    u.branch_prefix = (kind.group(1) or kind.group(2)) + "/" if kind else None
    if u.branch_prefix:  # a bot names its branches after itself: "renovate branches" are its branches
        u.authors = [a for a in u.authors if a.lower() + "/" != u.branch_prefix]
    u.name_filter = _repo_name_filter(text)


def _repo_name_filter(text: str) -> str | None:
    """The word a repository's name must hold ("repos with pay in the name", "a repo for notifications")."""
    for i, pattern in enumerate(V.REPO_NAME_FILTERS):
        m = re.search(pattern, text)
        name = m.group("n") if m else None
        if not name or name in V.NOT_A_REPO_NAME or (i > 0 and name in GENERIC):
            continue
        if i > 0 and len(name) > 4 and name.endswith("s") and not name.endswith("ss"):
            name = name[:-1]  # "a repo for notifications" → notification-service
        return name
    return None


def _symbols(question: str, u: Understanding) -> None:
    quoted = [(m.group(1) or m.group(2)).strip() for m in _QUOTED.finditer(question)]
    found: list[str] = list(quoted)
    for rx in _SYMBOL_PATTERNS:
        for m in rx.finditer(question):
            s = m.group("s").rstrip("().")
            # "find PRs that mention …": a vocabulary word after "find" is the object asked for, no symbol
            if (
                s.lower() not in V.STOP_WORDS
                and s.lower() not in V.CORRECTABLE
                and s.lower()
                not in {
                    "code",
                    "usages",
                    "file",
                    "files",
                    "where",
                    "function",
                    "class",
                    "all",
                }
            ):
                found.append(s)
    for m in _IDENTIFIER.finditer(question):
        ident = m.group(1)
        if ident.lower() not in {p.lower() for p in u.paths} and not ident.isupper():
            found.append(ident)
    u.symbols = _uniq(
        s
        for s in found
        if s not in u.paths
        and s != u.branch
        and s not in u.authors
        and (s in quoted or not any(s in q for q in quoted))
    )


def _repo_mentions(text: str, u: Understanding, repos: Sequence[RepositoryRecord]) -> None:
    """Phrases that name repositories: exact slugs, "<x> service/repo/app", slug-like words, "in <x>"."""
    phrases: list[str] = []
    known = {r.slug.lower() for r in repos}
    for slug in sorted(known, key=len, reverse=True):
        if re.search(rf"(?<![\w/-]){re.escape(slug)}(?![\w/-])", text):
            phrases.append(slug)
            text = re.sub(rf"(?<![\w/-]){re.escape(slug)}(?![\w/-])", " ", text)
    slug_words = {w for r in repos for w in re.findall(r"[a-z0-9]+", f"{r.slug} {r.name}".lower())}
    ignore = (
        set(V.STOP_WORDS)
        | set(V.CORRECTABLE)
        | set(GENERIC)
        | {"ci", "cd", "main", "master"}
        | _all_topic_words()
    )
    ignore -= slug_words - _all_topic_words() - set(GENERIC) - {"pipeline"}
    ignore |= {a.lower() for a in u.authors} | {w for a in u.authors for w in a.lower().split()}

    def repo_like(word: str) -> bool:
        if word in ignore or (len(word) < 3 and word not in _SCAN_SYNONYMS) or word.isdigit():
            return False
        if _SLUG_SHAPE.fullmatch(word):
            return True  # "billing-service", "ledger-api": a name to resolve (or report as unknown)
        if "-" in word and (any(fuzz.ratio(word, slug) >= 85 for slug in known) or _slug_typo(word)):
            return True  # "payments-servce": a misspelt slug, resolved fuzzily or reported as unknown
        stem = word[:-1] if word.endswith("s") and len(word) > 4 else word
        if word in slug_words or stem in slug_words or word in _SCAN_SYNONYMS:
            return True
        if len(word) >= 8 and _fused(word, known):
            return True  # "webfrontend", "billingservice": two words written as one
        return len(word) >= 6 and any(len(s) >= 6 and _ratio(word, s) >= 85 for s in slug_words)

    # punctuation is kept as tokens: a clause break ("… 3 days - infra issue") ends a name's context
    tokens = re.findall(r"[a-z0-9][a-z0-9-]*|[(),.;:!?]|(?<=\s)[-–](?=\s)", text)
    run: list[str] = []
    for i, tok in enumerate([*tokens, ""]):
        if tok and (repo_like(tok) or (run and tok in GENERIC | {"services"})):
            run.append(tok)
            continue
        if run:
            core = [t for t in run if t not in GENERIC and t != "services"]
            if core and _names_a_repo(run, tokens[: i - len(run)], tok, known):
                phrases.append(" ".join(run))
            run = []
    # "the foo service", "in foo": a name we don't know must be reported, not dropped.
    for m in re.finditer(
        rf"\b(?:the|in|for|on|of|from|to|at)\s+(?:the\s+)?(?P<p>[a-z][a-z0-9-]*(?:\s+[a-z][a-z0-9-]*)?)\s+{_REPO_GENERIC}\b",
        text,
    ):
        p = m.group("p")
        words = [
            w
            for w in p.split()
            if w not in V.STOP_WORDS and w not in _all_topic_words() and w not in V.CORRECTABLE
        ]
        if words and not any(any(w in ph for ph in phrases) for w in words):
            phrases.append(" ".join(words) + " " + m.group(0).split()[-1])
    for m in re.finditer(r"\b(?:in|for)\s+(?:the\s+)?(?P<p>[a-z][a-z0-9-]{2,})\s*(?:[?.!,]|$)", text):
        p = m.group("p")
        if (
            p not in ignore
            and p not in V.ENVIRONMENTS
            and p not in V.ENVIRONMENTS_IN_CONTEXT
            and not any(p in ph for ph in phrases)
        ):
            phrases.append(p)
    bare = re.search(r"\bthe\s+(service|app)\b", text)
    if bare and not phrases:  # "in the service": a generic name, resolved as ambiguous
        phrases.append(bare.group(1))
    for phrase in _uniq(phrases):
        res = resolve(phrase, repos)
        if res.slugs:
            u.repo_mentions.append(
                RepoMention(phrase=phrase, status="resolved", slugs=res.slugs, interpreted=res.interpreted)
            )
        elif res.ambiguous:
            u.repo_mentions.append(
                RepoMention(phrase=phrase, status="ambiguous", candidates=res.alternatives)
            )
        else:
            u.repo_mentions.append(
                RepoMention(phrase=phrase, status="unknown", candidates=closest_names(phrase, repos))
            )
    u.repos = _uniq(s for m in u.repo_mentions for s in m.slugs)


_SLUG_SUFFIXES = (
    "service",
    "svc",
    "app",
    "api",
    "repo",
    "lib",
    "libs",
    "worker",
    "server",
    "client",
    "frontend",
    "backend",
    "gateway",
    "pipeline",
    "infra",
    "terraform",
    "sdk",
)
_PREPOSITIONS = frozenset(
    {"in", "for", "on", "of", "from", "to", "at", "against", "about", "into", "within", "inside", "across"}
)
_DETERMINERS = frozenset({"the", "a", "an", "our", "my", "your", "this", "that", "their"})


def _slug_typo(word: str) -> bool:
    """A hyphenated word ending in a misspelt slug suffix ("billing-servce"): meant as a repository name."""
    last = word.rsplit("-", 1)[-1]
    return len(last) >= 4 and any(fuzz.ratio(last, s) >= 80 for s in _SLUG_SUFFIXES if len(s) >= 4)


def _fused(word: str, known: set[str]) -> bool:
    """A slug written without its hyphen ("webfrontend"), or a word and a repository suffix run together
    ("billingservice"): a repository name to resolve, or to report as unknown with the closest names."""
    if any(fuzz.ratio(word, slug.replace("-", "")) >= 85 for slug in known):
        return True
    return any(word.endswith(suffix) and len(word) - len(suffix) >= 3 for suffix in _SLUG_SUFFIXES)


def _names_a_repo(run: list[str], before: list[str], after: str, known: set[str]) -> bool:
    """Whether a run of repository-like words is used as a repository name, not as an ordinary word.

    A slug (exact, slug-shaped or hyphenated) or a run with a generic word ("checkout service") always is.
    A bare word ("infra", "data", "checkout") needs the position of a name: after a preposition ("in
    payments", "for the api"), or followed by a topic/verb/function word or the end ("checkout builds",
    "checkout is throwing", "payments prs", "failed in auth?"); a bare word modifying some other noun ("an
    infra problem", "with a data issue") is an ordinary word.
    """
    if any("-" in t or t in known or _fused(t, known) for t in run) or any(
        t in GENERIC or t == "services" for t in run
    ):
        return True
    prev = next((t for t in reversed(before) if t not in _DETERMINERS), None)
    indefinite = bool(before) and before[-1] in ("a", "an")  # "with a data issue": a common noun phrase
    if prev in _PREPOSITIONS and not indefinite:
        return True  # "in payments", "for the api"
    if not after or not after.isalpha():
        return True
    allowed = (
        set(V.STOP_WORDS)
        | set(V.CORRECTABLE)
        | _all_topic_words()
        | set(GENERIC)
        | set(V.ENVIRONMENTS_IN_CONTEXT)
        | {w for p in (*V.DEFAULT_BRANCH_ALIASES, *V.NAMED_BRANCHES) for w in p.split()}  # "checkout main"
        | set(V.FILE_NOUNS)  # "the checkout config"
        | {"fix", "fixes", "hotfix", "patch"}  # "the payments fix"
    )
    return after in allowed or after in _VERBS_AFTER_A_NAME or after.endswith(("ing", "ed", "'s"))


# irregular verbs a service does ("api gw went red", "checkout keeps failing"): a name stands before them
_VERBS_AFTER_A_NAME = frozenset(
    {"went", "goes", "broke", "keeps", "keep", "kept", "fell", "blew", "threw", "throws"}
)


def _ratio(a: str, b: str) -> float:
    return float(fuzz.ratio(a, b))


_TOPIC_WORDS: set[str] = set()


def _all_topic_words() -> set[str]:
    if not _TOPIC_WORDS:
        _TOPIC_WORDS.update(w for ws in V.TOPICS.values() for p in ws for w in p.split())
        # an HTTP status phrase ("gateway timeout") is blanked before repositories are read: its words
        # ("gateway") stay free to name one
        _TOPIC_WORDS.update(
            w for p in V.INCIDENT_STRONG + V.INCIDENT_WEAK if p not in V.HTTP_PHRASES for w in p.split()
        )
        _TOPIC_WORDS.update(
            w for p in list(V.ENVIRONMENTS) + list(V.ENVIRONMENTS_IN_CONTEXT) for w in p.split()
        )
        _TOPIC_WORDS.update(w for ps in V.ASKS.values() for p in ps for w in p.split())
        _TOPIC_WORDS.update({"log", "logs", "step", "steps", "test", "tests", "error", "errors", "happened"})
    return _TOPIC_WORDS


# --- incidents: build breakage, flaky tests, runtime ----------------------------------------------

_NB = r"(?<![\w/-])"  # word boundaries that keep slugs whole ("data-pipeline" is not "pipeline")
_NE = r"(?![\w/-])"
_FLAKY = re.compile(
    _NB + r"(?:flak(?:y|ey|iness|ily|e|es|ed|ing)|intermittent(?:ly)?|random(?:ly)?|sporadic(?:ally)?"
    r"|non-?deterministic(?:ally)?"
    r"|sometimes\s+(?:fail\w*|pass\w*|red|green)|on\s+and\s+off|hit[- ]and[- ]miss|now\s+and\s+then)" + _NE
)
_CI_SUBJECT = re.compile(
    _NB + r"(?:builds?|pipelines?|ci|ci\s+runs?|tests?|test\s+suites?|suites?|specs?|unit\s+tests?"
    r"|integration\s+tests?"
    r"|e2e|jobs?|checks?|lint(?:ing|er)?|compil\w*|npm\s+ci|main|master|trunk|mainline|default\s+branch|branch(?:es)?"
    r"|prs?|pull\s+requests?|merge\s+requests?|mrs?)" + _NE
)
_CI_FAILURE = re.compile(
    _NB + r"(?:fail\w*|broke|broken|breaks?|breaking|red|errored|erroring|busted|borked|hosed|flak\w*"
    r"|blow(?:s|ing)?\s+up|blew\s+up|fall(?:s|ing)?\s+over|fell\s+over"
    r"|won't\s+pass|doesn't\s+pass"
    r"|not\s+passing|can't\s+pass|stopped\s+passing|timing\s+out|times\s+out|timed\s+out)" + _NE
)
_RUNTIME = re.compile(
    _NB + r"(?:5\d\d|5\d\ds|5xx|4xx|http\s*\d{3}|outage|latency|slow(?:ness|er)?|degrad\w*|requests?|traffic"
    r"|customers?"
    r"|users?|paged|pager|alerts?|error\s+rate|crash\w*|exceptions?|production|prod|live\s+site|is\s+down|went\s+down"
    r"|are\s+down|rolled\s+back|roll(?:ed)?[- ]?back|rollbacks?|memory|cpu|oom)" + _NE
)
# "who broke …" / "what broke …": the object says whether it is a build ("main", "the build") or a service
_BROKE = re.compile(
    r"\b(?:who|what|which\s+(?:pr|commit|change|merge)|whose\s+(?:pr|commit|change))\s+"
    r"(?:has\s+|have\s+|just\s+|'s\s+)?(?:broke|broken|is\s+breaking|keeps\s+breaking|caused|is\s+causing)\b(?P<rest>.*)"
)
_NO_OBJECT = re.compile(
    r"^\s*(?:[?.!,]|$|(?:since|in|on|at|during|over|between|from|after|before|until|yesterday|today|tonight|this|last"
    r"|overnight|earlier|recently|lately|anything|stuff|things)\b)"
)
_ONGOING_WHY = re.compile(
    r"\bwhy\s+(?:is|are|does|do|has|have|isn't|aren't|doesn't|won't|keeps?|'s|is\s+it\s+that|the\s+hell\s+(?:is|are))\b"
    r"|\b(?:keeps?|kept|started|starts|still|been|has\s+been|have\s+been|is\s+now|are\s+now)\s+"
    r"(?:failing|red|broken|erroring|busted|borked|hosed|blowing\s+up|falling\s+over)\b|\b(?:is|are|got|went|get|gets)\s+(?:busted|borked|hosed)\b"
    r"|" + r"\b(?:any\s+(?:idea|clue|ideas|clues)|no\s+idea|not\s+sure|wonder(?:ing)?|figure\s+out|find\s+out"
    r"|tell\s+me)\s+(?:why|what)\b"
    r"|\bwhat(?:'s|s|\s+is|\s+was|\s+went)\s+wrong\b|\bwhat(?:'s|s|\s+is)?\s+(?:causing|behind)\b|\b(?:broken|failing|red|busted)\s+because\b"
)
# "who turned the build red?", "what made main go red?": blame for a build turning red
_TURNED = re.compile(
    r"\b(?:who|what|which\s+(?:pr|commit|change|merge)|whose\s+(?:pr|commit|change))\s+(?:has\s+|have\s+|just\s+)?"
    r"(?:turned|made|turn|make|got|sent)\s+(?P<rest>.+?)\s+(?:(?:go|turn|went|to)\s+)?(?:red|fail|break|broken)\b"
)
# "roll anything back", "rolled the release back": a rollback with its object in between
_SPLIT_ROLLBACK = re.compile(r"\broll(?:ed|ing|s)?\s+(?:\S+\s+){1,3}?back\b")
# yes/no questions about repositories: "do we have a terraform repo?", "is there a repo for payments?"
_REPO_EXISTS = re.compile(
    r"\b(?:do|does|did)\s+(?:we|you|they|the\s+workspace)\s+(?:still\s+)?(?:have|own|keep|got)\b"
    r"(?:\s+(?:a|an|any|the|some))?\s+(?:[\w-]+\s+)?(?:repos?|repositories|repository|projects?|codebases?)\b"
    r"|\b(?:is|are)\s+there\s+(?:a|an|any|some)\s+(?:[\w-]+\s+)?(?:repos?|repositories|repository|codebases?)\b"
    r"|\b(?:have|got)\s+(?:we|you)\s+(?:got\s+)?(?:a|an|any)\s+(?:[\w-]+\s+)?(?:repos?|repository|repositories)\b"
)
# "what's running in prod", "what's live on staging": what is deployed in an environment
_RUNNING_IN_ENV = re.compile(
    r"\b(?P<v>running|live|sitting|out)\s+(?:in|on)\s+(?:the\s+)?"
    # "running in auth prod": a repository's name may stand between the preposition and the environment
    r"(?:(?!(?:pipelines?|builds?|ci|runs?|jobs?|steps?)\b)[a-z][\w.-]*\s+){0,2}?"
    r"(?:prod|production|prd|staging|stg|pre-?prod|uat|qa|live)\b"
)
# HTTP 5xx symptoms in any spelling: "504s", "503 errors", "http 502", "5xxs"
_HTTP_5XX = re.compile(
    r"(?<![\w#.-])(?:5\d\d(?:s|\s+(?:errors?|responses?|codes?|status(?:es)?))|http\s*5\d\d|5xxs?)(?![\w-])"
)
# "started around 5am", "began at 14:05", "since about 9": a symptom with an onset time
_ONSET = re.compile(
    r"\b(?:started|starting|began|begun|kicked\s+off|since)\s+(?:around|about|at|near|roughly|~)\s*(?:\d|noon|midnight)"
)


def incident_kind(text: str) -> Literal["build", "flaky", "runtime"]:
    """What an incident symptom is about: a CI build breaking, a flaky test, or the running service.

    Runtime words (5xx, latency, outage, customers, production, rollback) win over CI words, so
    "checkout requests failing with HTTP 504" stays a runtime incident; a CI subject (build, tests,
    pipeline, main, a PR) with a failure word is a build; add a flakiness word and it is flaky.
    """
    t = normalize_question(text)
    if _RUNTIME.search(t):
        return "runtime"
    ci = bool(_CI_SUBJECT.search(t))
    if _FLAKY.search(t) and _CI_FAILURE.search(t):
        return "flaky"
    if ci and _CI_FAILURE.search(t):
        return "build"
    return "runtime"


def _breakage(text: str, u: Understanding) -> None:
    """Ask-mode questions that are CI incidents, and "what broke since …" that is a plain failure listing.

    Only ongoing or blaming phrasings count ("who broke main?", "why are the builds failing?", "tests
    keep failing randomly"); "which builds failed?" and "why did build 412 fail?" stay listings/lookups.
    """
    kind = incident_kind(text)
    m = _BROKE.search(text) or _TURNED.search(text)
    if m is not None:
        rest = m.group("rest")
        # "main went red last night, which PR broke it?": the pronoun points at the CI subject named before
        named_before = re.match(r"\s*(?:it|that|this|them|those)\b", rest) and _CI_SUBJECT.search(
            text[: m.start()]
        )
        if (_CI_SUBJECT.search(rest) or named_before) and kind != "runtime":
            u.breakage = "flaky" if kind == "flaky" else "build"
        elif _NO_OBJECT.match(rest) and not _RUNTIME.search(rest) and u.incident == "strong":
            only_broke = not _found(_BROKE.sub(" ", text), V.INCIDENT_STRONG)
            if only_broke:
                u.incident = None  # "what broke since 1pm?": which builds failed, not an investigation
        return
    if u.build_numbers:
        return
    if kind == "runtime" and _ONGOING_WHY.search(text) and _RUNTIME.search(text) and not u.pr_numbers:
        u.incident = (
            "strong"  # "what's wrong with checkout in prod?", "any idea why prod is throwing errors?"
        )
        return
    if kind == "flaky":
        u.breakage = "flaky"
    elif kind == "build" and _ONGOING_WHY.search(text):
        u.breakage = "build"


# --- public -------------------------------------------------------------------------------------


def understand(
    question: str, now: datetime, tz: str = "UTC", repositories: Sequence[RepositoryRecord] = ()
) -> Understanding:
    """Recognise the time window and every entity hint in `question` (nothing is fetched)."""
    text = normalize_question(question)
    u = Understanding(question=question, text=text, window=parse_window(question, now, tz))
    work = _numbers(text, u)
    if u.window is not None:
        work = work.replace(u.window.label.split(" (")[0], " ")
    running_env = _RUNNING_IN_ENV.search(work)
    if running_env:  # "what's running in prod": what is deployed there, not running pipelines
        work = work[: running_env.start()] + " deployed in " + work[running_env.end("v") :]
    for topic, phrases in V.TOPICS.items():
        if (
            _found(work, phrases)
            or (topic == "pipelines" and u.build_numbers)
            or (topic == "pull_requests" and u.pr_numbers)
        ):
            u.topics.append(topic)
    if "deployments" not in u.topics and _SPLIT_ROLLBACK.search(work):
        u.topics.append("deployments")  # "did we roll anything back?"
    if "repositories" not in u.topics and _REPO_EXISTS.search(work):
        u.topics.append("repositories")  # "do we have a terraform repo?"
    if _found(work, V.INCIDENT_STRONG) or _HTTP_5XX.search(work):
        u.incident = "strong"
    elif _found(work, V.INCIDENT_WEAK):
        u.incident = "weak"
    if u.incident != "strong" and _ONSET.search(text) and (u.incident or _found(work, V.ASKS["changes"])):
        u.incident = "strong"  # "… started around 5am, what changed?": a symptom with an onset time
    _people(question, u, repositories)
    # "where Hannah was asked to review" names a reviewer; it is no "awaiting review" state
    _states(without_role_phrases(work) if u.reviewers or u.approvers else work, u)
    _breakage(work, u)
    if (u.results or u.in_progress) and not _found(
        re.sub(V.PIPELINE_MODIFIERS, " ", work), V.TOPICS["deployments"]
    ):
        # "why did the deploy pipeline fail?": a pipeline named by what it does, asked about as a run
        u.topics = [t for t in u.topics if t != "deployments"]
    _trigger(work, u)
    u.environment = _environment(work)
    u.all_repos = bool(_ALL_REPOS.search(work))
    work = _paths_and_branches(question, work, u, [])
    _location_topics(work, u)
    _symbols(question, u)
    _texts(question, u)
    # "gateway timeouts" names an HTTP error, "infra errors" a result: neither names a repository
    scan = _found_removed(work, (*V.HTTP_PHRASES, *V.SYSTEM_ERRORS))
    scan = _ALL_REPOS.sub(" ", scan)  # "across all services" is the scope, never a repository's name
    for token in [u.branch or "", *u.paths, *u.symbols]:
        if token:
            scan = scan.replace(token.lower(), " ")
    _repo_mentions(scan, u, repositories)
    if u.branch is None and not u.branch_words:
        u.branch = _branch_after_repo(work, u)
    if not u.paths and not u.symbols:
        said = {w for m in u.repo_mentions for w in m.phrase.split()} | {"repo", "repository", "service"}
        u.file_words = [w for w in _file_words(work) if w not in said]
    if u.branch_words:  # "the checkout renovate branch": the repository is no word of the branch's name
        said = {w for m in u.repo_mentions for w in m.phrase.split()}
        u.branch_words = [w for w in u.branch_words if w not in said]
        # a bot names the branches it opens after itself: "the renovate … branch" is its branch, not a filter
        u.authors = [a for a in u.authors if a.lower() not in u.branch_words]
    if u.default_branch:  # resolve the alias now that the repositories are known
        mains = {r.main_branch for r in repositories if r.slug in u.repos}
        if len(mains) == 1:
            u.branch = mains.pop()
    m = _ORDINAL.search(work)
    if m:
        word = m.group("o") or m.group("o2")
        u.ordinal = _ORDINALS[word] if word else int(m.group("n")) - 1
    u.deictic = bool(_DEICTIC.search(work))
    c = _COUNT.search(work)
    if c:
        u.count = int(c.group("a") or c.group("b"))
    u.asks = [ask for ask, phrases in V.ASKS.items() if _found(work, phrases)]
    _which_one_and_when(work, text, u)
    if running_env and "latest" not in u.asks and u.window is None:
        u.asks.append("latest")
    if "stale" not in u.asks and _NO_ACTIVITY.search(work):
        u.asks.append("stale")
    u.out_of_scope = _uniq(V.OUT_OF_SCOPE[p] for p in _found(text, V.OUT_OF_SCOPE))
    if set(u.topics) - {"repositories"} and u.unsupported:
        # "open PRs that are part of sprint 48": a tracker concept filtering Bitbucket objects is a filter
        # the answer says it could not apply, not a question about the tracker
        filters = {item.kind for item in u.unsupported}
        u.out_of_scope = [x for x in u.out_of_scope if not any(x.startswith(k) for k in filters)]
    metrics = _found(_found_removed(text, V.HTTP_PHRASES), V.METRICS)
    if metrics:
        # either way the metric words are no out-of-scope topic: a symptom is an incident, a value ask
        # gets the metrics answer
        u.out_of_scope = [x for x in u.out_of_scope if not x.startswith(("host metrics", "dashboards"))]
        if not (_found(text, V.METRIC_SYMPTOM) or _ONSET.search(text)):
            u.metric_ask = metrics[0]
    if u.metric_ask is None and not _found(text, V.METRIC_CHANGES):
        u.metric_ask = _metric_value_ask(text)
    return u


@functools.cache
def _metric_value_patterns() -> tuple[re.Pattern[str], ...]:
    metric = "(?P<m>" + "|".join(re.escape(m) for m in sorted(V.METRICS, key=len, reverse=True)) + ")"
    count = "(?P<m>" + "|".join(re.escape(c) for c in sorted(V.HTTP_COUNTS, key=len, reverse=True)) + ")"
    return tuple(
        re.compile(p.replace("{metric}", metric).replace("{count}", count)) for p in V.METRIC_VALUE_ASKS
    )


def _metric_value_ask(text: str) -> str | None:
    """The metric whose value the question asks for ("what's checkout's p99 been since the deploy?",
    "how many 5xx did the gateway return?"), even with a time in it; None for anything else."""
    for pattern in _metric_value_patterns():
        m = pattern.search(text)
        if m:
            return m.group("m")
    return None


def _found_removed(text: str, phrases: Iterable[str]) -> str:
    """`text` with every phrase of `phrases` (word-bounded) blanked out."""
    found = _found(text, phrases)
    for phrase in sorted(found, key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", " ", text)
    return text
