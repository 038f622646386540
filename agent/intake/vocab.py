"""Vocabulary tables intake matches against: what people type → canonical meaning.

Kept as data so a new phrasing is one entry here, not a new branch in the planner. Multi-word
phrases are matched on word boundaries after `normalize.basic` and typo correction against
`CORRECTABLE` (every single word in these tables).
"""

from __future__ import annotations

from collections.abc import Iterable

from bbscout.agent.intake.time import _TIME_VOCAB
from bbscout.tools.args import PipelineProgress, PipelineResult, PullRequestState, Trigger

# Which kind of object the question is about (a question may mention several).
TOPICS: dict[str, tuple[str, ...]] = {
    "pipelines": (
        "pipeline",
        "pipelines",
        "build",
        "builds",
        "ci",
        "ci run",
        "ci runs",
        "run",
        "runs",
        "job",
        "jobs",
        "checks",
        "ci jobs",
        "workflow",
        "workflows",
        "test run",
        "test runs",
    ),
    "pull_requests": (
        "pr",
        "prs",
        "pull request",
        "pull requests",
        "pullrequest",
        "pullrequests",
        "pull-request",
        "pull-requests",
        "merge request",
        "merge requests",
        "mr",
        "mrs",
        "code review",
        "code reviews",
    ),
    "commits": (
        "commit",
        "commits",
        "committed",
        "merged to",
        "merged into",
        "landed on",
        "landed in",
        "land on",
        "land in",
        "lands on",
        "lands in",
        "pushed to",
        "merges",
    ),
    "branches": ("branch", "branches"),
    "deployments": (
        "deploy",
        "deploys",
        "deployment",
        "deployments",
        "deployed",
        "release",
        "releases",
        "released",
        "rollout",
        "rollouts",
        "rolled out",
        "rollback",
        "rollbacks",
        "rolled back",
        "roll back",
        "redeploy",
        "redeployed",
        "redeploys",
        "shipped",
        "went out",
        "go out",
        "goes out",
        "gone out",
        "going out",
        "went live",
        "go live",
        "goes live",
        "promoted",
    ),
    "code": (
        "defined",
        "definition",
        "declared",
        "usages",
        "usage",
        "references",
        "referenced",
        "callers",
        "called",
        "calls",
        "grep",
        "source",
        "source code",
        "file",
        "files",
        "function",
        "class",
        "method",
        "symbol",
        "implementation",
        "implemented",
        "in the code",
        "in code",
        "codebase",
        "contents of",
    ),
    "repositories": (
        "repos",
        "repositories",
        "repository list",
        "list of repos",
        "all repos",
        "all repositories",
    ),
}

# A deployment word modifying a pipeline noun ("the deploy pipeline", "release builds", "deployment job")
# names a pipeline by what it does: the modifier is no deployments topic.
PIPELINE_MODIFIERS = (
    r"\b(?:deploy|deployment|release|rollout)(?=\s+(?:pipelines?|builds?|jobs?|steps?|runs?|workflows?)\b)"
)

# Words that point at an incident rather than a listing. "strong" ones alone make it an incident.
INCIDENT_STRONG: tuple[str, ...] = (
    "outage",
    "incident",
    "500s",
    "5xx",
    "500 errors",
    "502s",
    "503s",
    "504s",
    "5xxs",
    "latency",
    "throwing",
    "timed out",
    "spike",
    "spiking",
    "degraded",
    "degradation",
    "is down",
    "went down",
    "are down",
    "paged",
    "pager",
    "alerts firing",
    "alert fired",
    "error rate",
    "timeouts",
    "timing out",
    "sev1",
    "sev2",
    "customers reporting",
    "users reporting",
    "what broke",
    "what caused",
    "root cause",
    "regression",
    "crashing",
    "crashes",
    "what changed before",
    "changed right before",
    "investigate",
    "gateway timeout",
    "gateway timeouts",
    "bad gateway",
    "service unavailable",
    "internal server error",
    "internal server errors",
)
INCIDENT_WEAK: tuple[str, ...] = (
    "errors",
    "erroring",
    "exceptions",
    "failing requests",
    "slow",
    "slowness",
    "broken",
    "down",
)

# ERROR is the pipeline's system failing (an agent, a timeout, the infrastructure), not the build's code;
# these phrases name that result, never a repository ("actual infra errors" is no infra-terraform).
SYSTEM_ERRORS: tuple[str, ...] = (
    "infra error",
    "infra errors",
    "infrastructure error",
    "infrastructure errors",
    "system error",
    "system errors",
)
# Pipeline results. "failed" in user language means FAILED and ERROR, never STOPPED unless asked.
RESULTS: dict[str, tuple[PipelineResult, ...]] = {
    "failed": ("FAILED", "ERROR"),
    "failing": ("FAILED", "ERROR"),
    "fail": ("FAILED", "ERROR"),
    "fails": ("FAILED", "ERROR"),
    "failure": ("FAILED", "ERROR"),
    "failures": ("FAILED", "ERROR"),
    "broken": ("FAILED", "ERROR"),
    "broke": ("FAILED", "ERROR"),
    "red": ("FAILED", "ERROR"),
    "break": ("FAILED", "ERROR"),
    "breaks": ("FAILED", "ERROR"),
    "went red": ("FAILED", "ERROR"),
    "busted": ("FAILED", "ERROR"),
    "blew up": ("FAILED", "ERROR"),
    "blow up": ("FAILED", "ERROR"),
    "blows up": ("FAILED", "ERROR"),
    "blowing up": ("FAILED", "ERROR"),
    "falling over": ("FAILED", "ERROR"),
    "fell over": ("FAILED", "ERROR"),
    "unsuccessful": ("FAILED", "ERROR"),
    "didn't pass": ("FAILED", "ERROR"),
    "did not pass": ("FAILED", "ERROR"),
    "errored": ("ERROR",),
    **dict.fromkeys(SYSTEM_ERRORS, ("ERROR",)),
    "error": ("ERROR",),
    "errors": ("ERROR",),
    "erroring": ("ERROR",),
    "stopped": ("STOPPED",),
    "cancelled": ("STOPPED",),
    "canceled": ("STOPPED",),
    "aborted": ("STOPPED",),
    "halted": ("STOPPED",),
    "killed": ("STOPPED",),
    "passed": ("SUCCESSFUL",),
    "passing": ("SUCCESSFUL",),
    "pass": ("SUCCESSFUL",),
    "green": ("SUCCESSFUL",),
    "successful": ("SUCCESSFUL",),
    "succeeded": ("SUCCESSFUL",),
    "success": ("SUCCESSFUL",),
    "successfully": ("SUCCESSFUL",),
}
# Words that negate the state word right after them: "errored (not failed tests)" asks for ERROR only.
# Verbs that leave results out of an answer ("don't count the ones people cancelled", "skip the stopped
# runs"); the words between the verb and the result are `EXCLUSION_FILLERS`.
EXCLUSIONS: tuple[str, ...] = (
    "don't count",
    "do not count",
    "don't include",
    "do not include",
    "don't show",
    "don't list",
    "don't want",
    "not counting",
    "not including",
    "leave out",
    "leaving out",
    "filter out",
    "filtering out",
    "skip",
    "skipping",
    "drop",
    "dropping",
    "ignore",
    "ignoring",
    "exclude",
    "excluding",
    "except",
    "except for",
    "minus",
    "without",
    "other than",
    "apart from",
)
EXCLUSION_FILLERS: tuple[str, ...] = (
    "the",
    "those",
    "these",
    "any",
    "all",
    "one",
    "ones",
    "run",
    "runs",
    "build",
    "builds",
    "pipeline",
    "pipelines",
    "job",
    "jobs",
    "that",
    "which",
    "who",
    "were",
    "was",
    "got",
    "get",
    "have",
    "has",
    "had",
    "been",
    "being",
    "people",
    "someone",
    "somebody",
    "anyone",
    "we",
    "they",
    "i",
    "you",
    "manually",
    "just",
    "already",
    "by",
    "hand",
    "anything",
    "everything",
    "something",
)
NEGATIONS: tuple[str, ...] = (
    "not",
    "never",
    "rather than",
    "instead of",
    "excluding",
    "except",
    "except for",
    "other than",
    "but not",
    "without",
    "apart from",
    "ignoring",
    "ignore",
    "exclude",
    "minus",
    "isn't",
    "aren't",
    "wasn't",
    "weren't",
    "didn't",
    "don't",
    "doesn't",
    "haven't",
    "hasn't",
    "hadn't",
    "have not",
    "has not",
    "won't",
)
# Pipelines not finished, by the state each word means: running is not pending (queued) and the answer
# counts them apart.
PROGRESS: dict[str, tuple[PipelineProgress, ...]] = {
    "running": ("IN_PROGRESS",),
    "in progress": ("IN_PROGRESS",),
    "in-progress": ("IN_PROGRESS",),
    "ongoing": ("IN_PROGRESS",),
    "still running": ("IN_PROGRESS",),
    "currently running": ("IN_PROGRESS",),
    "underway": ("IN_PROGRESS",),
    "building": ("IN_PROGRESS",),
    "still building": ("IN_PROGRESS",),
    "currently building": ("IN_PROGRESS",),
    "executing": ("IN_PROGRESS",),
    "pending": ("PENDING",),
    "queued": ("PENDING",),
    "queued up": ("PENDING",),
    "in the queue": ("PENDING",),
    "waiting to run": ("PENDING",),
    "waiting to start": ("PENDING",),
    "not started": ("PENDING",),
    "not yet started": ("PENDING",),
    "paused": ("PAUSED",),
    "in flight": ("IN_PROGRESS", "PENDING"),
    # "anything running?", "is something running in CI?": is CI busy, so every unfinished run counts (the
    # answer counts each state apart); "are the pipelines running?" is IN_PROGRESS
    "anything running": ("IN_PROGRESS", "PENDING", "PAUSED"),
    "anything still running": ("IN_PROGRESS", "PENDING", "PAUSED"),
    "something running": ("IN_PROGRESS", "PENDING", "PAUSED"),
    "anything building": ("IN_PROGRESS", "PENDING", "PAUSED"),
    "anything going on": ("IN_PROGRESS", "PENDING", "PAUSED"),
    "in-flight": ("IN_PROGRESS", "PENDING"),
    "unfinished": ("IN_PROGRESS", "PENDING", "PAUSED"),
    "not finished": ("IN_PROGRESS", "PENDING", "PAUSED"),
}
IN_PROGRESS: tuple[str, ...] = tuple(PROGRESS)
PR_STATES: dict[str, tuple[PullRequestState, ...]] = {
    "open": ("OPEN",),
    "opened": ("OPEN", "MERGED", "DECLINED"),
    "raised": ("OPEN", "MERGED", "DECLINED"),
    "created": ("OPEN", "MERGED", "DECLINED"),
    "unmerged": ("OPEN",),
    "active": ("OPEN",),
    "merged": ("MERGED",),
    "landed": ("MERGED",),
    "declined": ("DECLINED",),
    "rejected": ("DECLINED",),
    "closed": ("MERGED", "DECLINED"),
    "superseded": ("SUPERSEDED",),
    "draft": ("OPEN",),
    "drafts": ("OPEN",),
}
AWAITING_REVIEW: tuple[str, ...] = (
    "awaiting review",
    "awaiting a review",
    "needs review",
    "need review",
    "needing review",
    "needs a review",
    "waiting for review",
    "waiting on review",
    "waiting for a review",
    "pending review",
    "unreviewed",
    "not reviewed",
    "no reviews",
    "without approval",
    "without approvals",
    "not approved",
    "unapproved",
    "no approvals",
    "need approval",
    "needs approval",
    "to review",
    "review queue",
)
DRAFT: tuple[str, ...] = ("draft", "drafts", "wip")

TRIGGERS: dict[str, Trigger] = {
    "manual": "MANUAL",
    "manually": "MANUAL",
    "by hand": "MANUAL",
    "hand-triggered": "MANUAL",
    "scheduled": "SCHEDULED",
    "schedule": "SCHEDULED",
    "nightly": "SCHEDULED",
    "nightlies": "SCHEDULED",
    "cron": "SCHEDULED",
    "on a schedule": "SCHEDULED",
    "on push": "PUSH",
    "push-triggered": "PUSH",
    "push triggered": "PUSH",
    "triggered by push": "PUSH",
    "push": "PUSH",
    "pushes": "PUSH",
}

# Environments; the sandbox (and Bitbucket's environment types) are Test, Staging, Production.
ENVIRONMENTS: dict[str, str] = {
    "production": "production",
    "prod": "production",
    "prd": "production",
    "staging": "staging",
    "stg": "staging",
    "pre-prod": "staging",
    "preprod": "staging",
    "qa": "test",
    "uat": "test",
}
# Also ordinary words: an environment only next to "to/in/on … env".
ENVIRONMENTS_IN_CONTEXT: dict[str, str] = {
    "live": "production",
    "stage": "staging",
    "test": "test",
    "testing": "test",
    "dev": "test",
    "development": "test",
}

DEFAULT_BRANCH_ALIASES: tuple[str, ...] = (
    "main",
    "master",
    "trunk",
    "mainline",
    "default branch",
    "the default branch",
    "main branch",
    "master branch",
)
# Branch-name prefixes: a token "feature/x" is a branch, and "release branches", "renovate branches" name the
# branches whose names start with "release/", "renovate/" (list_branches name_contains, list_pipelines
# branch_like).
BRANCH_PREFIXES: tuple[str, ...] = (
    "feature",
    "feat",
    "release",
    "hotfix",
    "bugfix",
    "fix",
    "chore",
    "renovate",
    "dependabot",
    "bug",
)
NAMED_BRANCHES: tuple[str, ...] = ("develop", "development", "dev", "staging", "next")

# What the user wants *about* the objects.
ASKS: dict[str, tuple[str, ...]] = {
    "log": (
        "log",
        "logs",
        "output",
        "console",
        "stack trace",
        "stacktrace",
        "traceback",
        "error message",
        "error output",
    ),
    "why": (
        "why",
        "what went wrong",
        "reason",
        "cause",
        "what failed",
        "which step",
        "which test",
        "which tests",
    ),
    "detail": (
        "details",
        "detail",
        "more about",
        "tell me about",
        "info on",
        "info about",
        "look at",
        "open",
        "show",
    ),
    "diff": (
        "diff",
        "diffstat",
        "patch",
        "files changed",
        "changed files",
        "what files",
        "which files",
        "files touched",
        "files modified",
        "files it changed",
        "files it touched",
        "changes in",
    ),
    "comments": ("comments", "comment", "discussion", "feedback"),
    "who": ("who", "whom", "by whom", "which person"),
    "latest": (
        "latest",
        "last",
        "most recent",
        "newest",
        "current",
        "currently",
        "right now",
        "now",
        "atm",
        "at the moment",
        "most recently",
        "version",
        "what's on",
        "whats on",
        "what is on",
    ),
    "changes": (
        "what changed",
        "what's changed",
        "whats changed",
        "what has changed",
        "changes",
        "changed",
        "what went out",
        "what shipped",
        "what was shipped",
        "what's in",
        "whats in",
        "what is in",
        "contents",
        "included",
        "what did",
        "diff",
        "what in it",
        "what in that",
        "what in this",
        "what in there",
        "what went into",
        "what went in",
        "what was in",
        "what were in",
        "what was included",
        "what was shipped",
        "what got shipped",
        "what came with",
        "what came in",
    ),
    "stale": (
        "stale",
        "old",
        "abandoned",
        "inactive",
        "dead",
        "unused",
        "no commits",
        "no activity",
        "not touched",
        "untouched",
        "forgotten",
        "idle",
        "no recent commits",
        "no new commits",
        "nothing pushed",
        "no pushes",
        "not been touched",
        "haven't been touched",
        "hasn't been touched",
        "havent been touched",
        "hasnt been touched",
        "not updated",
        "not been updated",
        "haven't been updated",
        "hasn't been updated",
        "haven't been pushed to",
        "hasn't been pushed to",
        "not been pushed to",
        "haven't had",
        "hasn't had",
        "not been worked on",
        "no longer used",
        "not used",
    ),
    "recent": ("recent", "recently", "latest", "newest", "lately", "new"),
    "count": ("how many", "count", "number of"),
    "list": ("list", "show", "which", "what", "give me", "any"),
}

# Metrics bbscout cannot read (no monitoring data): asking for their *value* is unanswerable; reporting
# that one moved ("p99 spiked since 14:00, what changed?") is an incident.
METRICS: tuple[str, ...] = (
    "p50",
    "p75",
    "p90",
    "p95",
    "p99",
    "p999",
    "p99.9",
    "percentile",
    "latency",
    "response time",
    "response times",
    "cpu",
    "memory",
    "memory usage",
    "ram",
    "heap",
    "error rate",
    "error rates",
    "error budget",
    "throughput",
    "traffic",
    "rps",
    "qps",
    "requests per second",
    "request rate",
    "uptime",
    "slo",
    "sla",
    "apdex",
    "dashboard",
    "dashboards",
    "disk usage",
    "load average",
)
# Asking for a metric's *value* ("what's checkout's p99 been since the deploy?", "how many 5xx did the
# gateway return?"): {metric} is a METRICS phrase or an HTTP status count. Such a question is a value ask
# even when it names a time ("since"), unless it reports a change (METRIC_CHANGES).
HTTP_COUNTS: tuple[str, ...] = (
    "5xx",
    "5xxs",
    "4xx",
    "4xxs",
    "500s",
    "502s",
    "503s",
    "504s",
    "http errors",
    "error responses",
    "status codes",
)
METRIC_VALUE_ASKS: tuple[str, ...] = (
    r"\bwhat(?:'s|s|\s+is|\s+was|\s+has|\s+have|\s+are|\s+were)?\s+(?:[\w-]+\s+){0,3}?{metric}"
    r"(?:\s+(?:been|at|now|currently|look|looking|like|today|yesterday|this|in|on|for|of|since)\b|\s*[?.]|\s*$)",
    r"\bhow\s+(?:many|much)\s+(?:http\s+)?{count}\b(?!\s+(?:builds?|pipelines?|prs?|pull|commits?))",
    r"\b(?:number|count|rate)\s+of\s+(?:http\s+)?{count}\b(?!\s+(?:builds?|pipelines?|prs?|pull|commits?))",
    r"\bhow\s+(?:high|low|bad|good|fast|slow)\s+(?:is|was|are|were|has)\b[^?]*{metric}",
    r"\b(?:show|graph|chart|plot)\s+(?:me\s+)?(?:the\s+|our\s+)?(?:[\w-]+\s+){0,2}?{metric}",
    # terse: the question is the metric and where/when ("error rate on the gw since this morning?")
    r"^\s*(?:so\s+|and\s+|ok\s+|hey\s+)?(?:the\s+|our\s+|current\s+)?(?:[\w-]+\s+)?{metric}"
    r"(?:\s+(?:on|of|for|in|at|across|since|today|yesterday|this|over|during|from)\b[^?]*)?\s*\?",
    # "how's the error rate been today?", "how has checkout latency looked since 9?"
    r"\bhow(?:'s|s|\s+is|\s+has|\s+was|\s+have)?\s+(?:the\s+|our\s+)?(?:[\w-]+\s+){0,2}?{metric}"
    r"(?:\s+(?:on|of|for|in|at)\s+(?:the\s+)?[\w-]+)?\s+(?:been|looking|looked|doing|trending)\b",
)
# Words that report a metric *moved*.
_METRIC_MOVED: tuple[str, ...] = (
    "spike",
    "spiked",
    "spikes",
    "spiking",
    "jumped",
    "jump",
    "went up",
    "increased",
    "increase",
    "climbing",
    "climbed",
    "doubled",
    "tripled",
    "dropped",
    "drop",
    "degraded",
    "regressed",
    "regression",
    "worse",
    "higher",
    "elevated",
    "through the roof",
    "what changed",
    "what did we ship",
    "what shipped",
    "what went out",
    "what caused",
    "why is",
    "why did",
    "why are",
)
# With one of these, the question is an incident, whatever else it asks.
METRIC_CHANGES: tuple[str, ...] = (*_METRIC_MOVED, "throwing")
# Words that make a metric a *symptom report* rather than a request for its value.
METRIC_SYMPTOM: tuple[str, ...] = (
    *_METRIC_MOVED,
    "high",
    "since",
    "started",
    "after the",
    "deployed",
    "deploy",
)
# HTTP status phrases: they name an error, never a repository ("gateway timeouts" is not api-gateway).
HTTP_PHRASES: tuple[str, ...] = (
    "gateway timeout",
    "gateway timeouts",
    "gateway time-out",
    "gateway time-outs",
    "bad gateway",
    "bad gateways",
    "gateway error",
    "gateway errors",
    "service unavailable",
    "service unavailables",
    "internal server error",
    "internal server errors",
    "too many requests",
    "request timeout",
    "request timeouts",
)

# Things Bitbucket has no data for: never guess a plan for these.
OUT_OF_SCOPE: dict[str, str] = {
    "weather": "the weather",
    "story points": "story points (a tracker concept, not Bitbucket data)",
    "story point": "story points (a tracker concept, not Bitbucket data)",
    "velocity": "team velocity",
    "sprint": "sprints (a tracker concept)",
    "jira": "Jira issues",
    "ticket": "tickets (a tracker concept)",
    "tickets": "tickets (a tracker concept)",
    "salary": "salaries",
    "lunch": "lunch",
    "stock price": "stock prices",
    "revenue": "revenue",
    "on-call schedule": "the on-call schedule",
    "who is on call": "the on-call schedule",
    "slack": "Slack",
    "confluence": "Confluence",
    "burndown": "burndown charts",
    "estimate": "estimates",
    "estimates": "estimates",
    "cpu": "host metrics (CPU)",
    "memory usage": "host metrics (memory)",
    "dashboard": "dashboards",
    "grafana": "Grafana",
    "datadog": "Datadog",
    "sentry": "Sentry",
}

STOP_WORDS: frozenset[str] = frozenset(
    """
    a an the and or but of in on at to for from by with about into onto over under since until after
    before between during within is are was were be been being do does did done have has had will
    would should could can may might must shall i me my mine we us our you your it its this that
    these those them they their there what which who whom whose when where why how all any some
    every each both few more most other such no not only own same so than too very just also please
    pls hey hi hello thanks thank ok okay tell show give list find get see look me quick quickly
    anything something everything one ones lot lots much many now then here yes yeah want need like
    know let go going got up down out off again ever still yet even number today yesterday tonight
    morning afternoon evening night week weeks day days hour hours minute minutes month months year
    years last past previous prev recent recently latest newest new old ago earlier later top first
    second third next did do happen happened going on work worked working im i'm whats what's
    touch touches modify modifies edit edits affect affects alter alters
    """.split()  # noqa: SIM905
)


# Words of the filter grammars below (people's roles, text, which one, landed, live, unsupported filters):
# typo-corrected towards, and never "corrected" into a neighbour ("comments" is not "commits").
FILTER_WORDS: tuple[str, ...] = (
    "comment",
    "comments",
    "commented",
    "reviewer",
    "reviewers",
    "reviewed",
    "reviewing",
    "approver",
    "approvers",
    "approved",
    "approval",
    "approvals",
    "participant",
    "participants",
    "participated",
    "involving",
    "mentioning",
    "mentions",
    "mentioned",
    "title",
    "description",
    "message",
    "label",
    "labels",
    "labelled",
    "labeled",
    "tagged",
    "milestone",
    "priority",
    "component",
    "landed",
    "live",
    "currently",
    "latest",
    "newest",
    "oldest",
    "earliest",
    "fortnight",
)


def _words(*tables: Iterable[str]) -> set[str]:
    """Every alphabetic word of every phrase (dict tables iterate over their keys)."""
    return {w for table in tables for phrase in table for w in phrase.split() if w.isalpha()}


CORRECTABLE: frozenset[str] = frozenset(
    _words(RESULTS, IN_PROGRESS, PR_STATES, AWAITING_REVIEW, TRIGGERS, ENVIRONMENTS)
    | {w for ws in TOPICS.values() for w in _words(ws)}
    | _words(INCIDENT_STRONG)
    | {
        "deployment",
        "deployments",
        "pipelines",
        "pipeline",
        "production",
        "staging",
        "repositories",
        "yesterday",
        "rebuild",
        "kickoff",
    }
    | set(_TIME_VOCAB)
    | set(FILTER_WORDS)
) - {"anything", "something"}  # pronouns of "anything running": nothing is ever corrected into them


# --- people in a role: the list tools' person arguments (author, reviewer, approver, participant) ----
# Each entry is a pattern around {who}; intake fills {who} with a person's name (capitalised words, an
# @handle, a bot) and matches the rest case-insensitively. Roles are read in this order and a name
# taken by one role is not read again, so "approved by Emma" is an approver, never an author.
PERSON_ROLES: dict[str, tuple[str, ...]] = {
    "reviewer": (
        r"reviewed\s+by\s+{who}",
        r"(?:with|where|having|has|have|and)\s+{who}\s+(?:as|is|was|being)\s+(?:an?\s+|the\s+|one\s+of\s+the\s+)?"
        r"reviewers?",
        r"{who}\s+(?:is|was|as|being)\s+(?:an?\s+|the\s+|one\s+of\s+the\s+)?reviewers?",
        r"{who}\s+(?:is|was)\s+(?:on|among)\s+(?:the\s+)?reviewers?",
        r"reviewers?\s+(?:is\s+|are\s+|include\s+|includes\s+|including\s+|incl\.?\s+|:\s*)?{who}",
        r"reviews?\s+(?:requested\s+)?(?:from|by)\s+{who}",
        r"{who}\s+(?:is|was|has\s+been|had\s+been|got)\s+(?:asked|requested|added|assigned|tagged)\s+"
        r"(?:to\s+review|as\s+(?:an?\s+)?reviewer|for\s+review)",
        r"(?:assigned|requested)\s+to\s+{who}",
        r"(?:for|waiting\s+(?:on|for)|awaiting)\s+{who}\s+to\s+review",
        r"{who}\s+(?:is|was)\s+reviewing",
        r"{who}\s+(?:needs|has|had|must|should|is\s+supposed)\s+to\s+review",
        r"(?:did|does|do|will|can|should|has|have)\s+{who}\s+review",
        r"waiting\s+(?:on|for)\s+{who}(?:['’]s\s+review)?",
        r"{who}['’]s\s+reviews?",
        r"{who}\s+reviewed",
    ),
    "approver": (
        r"approved\s+by\s+{who}",
        r"{who}\s+(?:has\s+|had\s+|already\s+|has\s+already\s+)?approved",
        r"(?:did|does|has|have|will)\s+{who}\s+approve",
        r"{who}['’]s\s+approvals?",
        r"approvals?\s+(?:from|by)\s+{who}",
        r"{who}\s+(?:gave|has\s+given|had\s+given)\s+(?:an?\s+|the\s+|their\s+)?(?:approval|lgtm|thumbs\s+up)",
        r"{who}\s+signed\s+off",
        r"signed\s+off\s+by\s+{who}",
        r"(?:with|where|having)\s+{who}\s+(?:as\s+(?:an?\s+|the\s+)?approver|approving)",
        r"{who}\s+(?:is|was)\s+(?:an?\s+|the\s+)?approver",
        r"approvers?\s+(?:is\s+|are\s+|include\s+|includes\s+|including\s+|:\s*)?{who}",
    ),
    "participant": (
        r"{who}\s+(?:has\s+|had\s+)?(?:commented|comments|replied|weighed\s+in|chimed\s+in|participated|"
        r"took\s+part|takes\s+part|was\s+involved|is\s+involved|has\s+been\s+involved|been\s+involved|"
        r"left\s+(?:a\s+|some\s+|any\s+)?comments?)",
        r"(?:did|does|has|have)\s+{who}\s+(?:comment|participate|take\s+part|weigh\s+in|chime\s+in|reply)",
        r"comments?\s+(?:from|by)\s+{who}",
        r"commented\s+on\s+by\s+{who}",
        r"(?:involving|involves|involved)\s+{who}",
        r"(?:with|where|having)\s+{who}\s+(?:as\s+(?:an?\s+|the\s+)?participant|participating|involved)",
        r"{who}\s+(?:is|was)\s+(?:an?\s+|the\s+)?participant",
        r"participants?\s+(?:is\s+|are\s+|include\s+|includes\s+|including\s+|:\s*)?{who}",
    ),
    "author": (
        r"(?:authored|written|opened|created|raised|pushed|committed|deployed|triggered|started|run|ran|"
        r"merged|made|submitted|filed|sent)\s+by\s+{who}",
        r"(?:by|from)\s+{who}",
        r"author(?:ed)?\s*:?\s+{who}",
        r"{who}['’]s\s+(?:\w+\s+)?(?:prs?|pull\s+requests?|merge\s+requests?|commits?|changes|branch(?:es)?|"
        r"pipelines?|builds?|deploy(?:ment)?s?|work|merges?|code|updates?)",
        r"(?:of|by)\s+{who}['’]s?(?=[\s?.,!]|$)",
        r"(?:did|has|have|had)\s+{who}\s+(?:merge|merged|push|pushed|commit|committed|deploy|deployed|ship|"
        r"shipped|open|opened|write|wrote|land|landed|break|broke|change|changed|touch|touched|raise|raised|"
        r"create|created|submit|submitted|author|authored|had|got|get|gotten|sent|send)",
        r"{who}\s+(?:has\s+|had\s+)?(?:opened|created|raised|authored|wrote|pushed|committed|submitted|merged|"
        r"landed|shipped|made)",
        r"{bot}\s+(?:prs?|pull\s+requests?|merge\s+requests?|commits?|branch(?:es)?|updates?|upgrades?|bumps?)",
        # a bot named with no role authors (bots open PRs and push commits; they do not review)
        r"{bot}",
    ),
}
# Bot accounts people name: a dependency bot by its product name, or a bot by its kind.
BOT_NAMES: tuple[str, ...] = (
    "renovate",
    "renovatebot",
    "dependabot",
    "snyk",
    "greenkeeper",
    "pyup",
    "mend",
    "whitesource",
)
BOT_KINDS: tuple[str, ...] = ("dependency", "dependencies", "deps", "dep", "update", "updates", "ci", "build")

# --- text in a PR's title/description or a commit's message (tool arguments text, message_contains) -----
# Patterns around {text}: a quoted string, a ticket key ("CHK-731") or one word. A ticket key alone in a
# question about PRs or commits is text too ("PRs for CHK-731").
TEXT_MARKERS: tuple[str, ...] = (
    r"(?:mentioning|mentions?|mentioned|referencing|references|referenced|citing|cites|naming|names)\s+{text}",
    r"(?:containing|contains?|contained|including|includes?|with|having|has|have|saying|says|said|"
    r"matching|matches)\s+{text}\s+in\s+(?:the\s+|its\s+|their\s+)?(?:title|titles|description|descriptions|"
    r"message|messages|commit\s+messages?|body|subject|summary)",
    r"(?:title|titles|description|descriptions|message|messages|subject|summary|body)\s+"
    r"(?:contains?|containing|includes?|including|mentions?|mentioning|with|has|have|having|says|saying|"
    r"matching|matches|like|of)\s+{text}",
    r"(?:the\s+)?(?:word|words|text|string|phrase|term|keyword)\s+{text}",
    r"(?:talk|talks|talking|talked|is|are|was|were)\s+about\s+{text}",
    r"(?:related\s+to|relating\s+to|concerning|regarding|re:|to\s+do\s+with)\s+{text}",
    r"(?:prs?|pull\s+requests?|merge\s+requests?|commits?|changes?)\s+(?:that\s+are\s+|which\s+are\s+)?"
    r"about\s+(?!to\b){text}",
    r"(?:about|regarding|re:?|for|on)\s+{ticket}",
    r"(?:about|regarding)\s+{quoted}",
    # "a PR for the address autocomplete thing": what the change is about, named by its subject
    r"(?:for|about|regarding|on|with)\s+(?:the|a|an|that|this|our)\s+{words}\s+(?:thing|feature|work|change|"
    r"changes|fix|bug|issue|stuff|ticket|story|refactor|refactoring|migration|upgrade|update|rework|cleanup)\b",
)
# Words that are never the text a question filters by ("PRs mentioning it").
NOT_TEXT: frozenset[str] = frozenset(
    {"it", "this", "that", "them", "those", "these", "me", "us", "anything", "something", "the", "a", "an"}
)

# --- which one: tool argument pick ("the latest successful build", "when did checkout last deploy") -----
PICK_WORDS: dict[str, str] = {
    "latest": "newest",
    "last": "newest",
    "newest": "newest",
    "most recent": "newest",
    "most recently": "newest",
    "freshest": "newest",
    "youngest": "newest",
    "oldest": "oldest",
    "earliest": "oldest",
    "first": "oldest",
    "least recent": "oldest",
}
# Singular nouns a pick word can choose from ("the latest build"; "the latest builds" is a list).
SINGLE_NOUNS: tuple[str, ...] = (
    "pipeline",
    "build",
    "run",
    "ci run",
    "job",
    "pr",
    "pull request",
    "merge request",
    "mr",
    "commit",
    "change",
    "branch",
    "deploy",
    "deployment",
    "release",
    "rollout",
    "rollback",
    "merge",
    "push",
    "one",
)
# Verbs a pick word can follow or precede as an adverb ("when did auth last deploy", "deployed most
# recently").
PICK_VERBS: tuple[str, ...] = (
    "deploy",
    "deployed",
    "released",
    "release",
    "shipped",
    "ship",
    "built",
    "ran",
    "run",
    "merged",
    "merge",
    "pushed",
    "committed",
    "opened",
    "updated",
    "failed",
    "fail",
    "passed",
    "succeeded",
    "went out",
    "go out",
    "went live",
    "rolled out",
    "rolled back",
    "created",
    # "when did mobile develop last go red?": the last failure is one run
    "go red",
    "went red",
    "turn red",
    "turned red",
    "break",
    "broke",
    "errored",
    "go green",
    "went green",
    "turned green",
    "pass",
    "succeed",
)

# --- when a commit reached a branch (list_commits time_field="entered_branch") --------------------------
LANDED: tuple[str, ...] = (
    r"\b(?:landed|lands|land|landing)\s+(?:on|in|into|to)\b",
    r"\b(?:merged|got\s+merged|were\s+merged|was\s+merged)\s+(?:in)?to\b",
    r"\bmerged\s+(?:in|on)\b",
    r"\b(?:went|go|gone|got|made\s+it|make\s+it|came|come)\s+(?:in)?to\b(?!\s+(?:prod|production|staging))",
    r"\b(?:reached|hit|entered|arrived\s+(?:in|on))\s+(?:the\s+)?(?:main|master|trunk|mainline|develop|default)\b",
    r"\bpushed\s+(?:on)?to\b",
)

# --- what is live: list_deployments current (the latest SUCCESSFUL deployment per environment) --------
LIVE: tuple[str, ...] = (
    r"\blive\b",
    # "what's deployed to prod?" (the possessive 's is dropped by normalisation): present tense, no time
    r"^\s*(?:so\s+|and\s+|ok\s+)?what(?:'s|s|\s+is)?\s+(?:currently\s+)?deployed\s+(?:to|in|on)\b",
    r"\bcurrently\s+(?:deployed|running|on|in|live|released|out)\b",
    r"\b(?:deployed|running|released|out|on)\s+(?:in\s+\w+\s+)?(?:right\s+)?now\b",
    r"\b(?:is|are|'s)\s+(?:deployed|running|live|out|sitting)\s+(?:in|on|to)\b",
    r"\bwhat(?:'s|s|\s+is)\s+(?:on|in)\s+(?:the\s+)?(?:prod|production|prd|staging|stg|pre-?prod|uat|qa|test)\b",
    r"\bcurrent(?:ly)?\s+(?:version|release|deploy(?:ment)?|commit|build|state)\b",
    r"\bright\s+now\b",
    r"\bat\s+the\s+moment\b",
    # "was the fix deployed to staging?", "has PR 64 made it to prod yet?": whether a change reached an
    # environment is read off what is live there (deployments are cumulative)
    r"^\s*(?:so\s+|and\s+|ok\s+)?(?:was|were|has|have|is|are|did)\b(?!\s+(?:there|any|anything))"
    r"[^?]*\b(?:deployed|shipped|released|promoted|rolled\s+out|gone\s+out|gone\s+live|made\s+it|get|got|go|gone)"
    r"\s+(?:out\s+)?(?:to|in|into|on|onto)\s+(?:the\s+)?(?:prod|production|prd|staging|stg|pre-?prod|uat|qa|test)\b",
)

# --- constraints no tool argument can apply: recognised so the answer says it could not filter by them --
# Patterns around {value} (one word or a quoted string); the key is how the answer names the filter.
_CARRY = r"(?:with|have|has|having|had|carry|carries|carrying|bear|bears|bearing|got|get|marked\s+with)"
UNSUPPORTED_FILTERS: dict[str, tuple[str, ...]] = {
    "label": (
        r"\blabel(?:l?ed)?\s+(?:as\s+|with\s+)?{value}",
        rf"\b{_CARRY}\s+(?:the\s+|a\s+|an\s+)?{{value}}\s+label\b",
        r"\blabels?\s*[:=]?\s*{value}",
        r"\btagged\s+(?:as\s+|with\s+)?{value}",
        rf"\b{_CARRY}\s+(?:the\s+|a\s+|an\s+)?{{value}}\s+tag\b",
    ),
    "milestone": (r"\bmilestone\s*[:=]?\s*{value}", r"\bin\s+(?:the\s+)?{value}\s+milestone\b"),
    "priority": (r"\bpriority\s*[:=]?\s*{value}", r"\b{value}[- ]priority\b"),
    "component": (r"\bcomponent\s*[:=]?\s*{value}",),
    # a tracker's sprint, epic or story points: no Bitbucket object carries them
    "sprint": (
        r"\b(?:part\s+of|in|from|for|during|of|belong(?:s|ing)?\s+to|planned\s+for|scheduled\s+for)\s+"
        r"(?:the\s+)?(?:current\s+|this\s+|last\s+|next\s+|previous\s+)?sprint(?:\s+(?P<value>\d+|[\w.-]+))?",
    ),
    "epic": (
        r"\b(?:part\s+of|in|under|for|of|belonging\s+to)\s+(?:the\s+)?{value}\s+epic\b",
        r"\bepic\s*[:=]?\s*{value}",
    ),
    "comment count": (
        r"\b(?:with|having|has)\s+(?:more\s+than|over|at\s+least|fewer\s+than|less\s+than|under|no)\s+"
        r"(?P<value>\d+\s+)?comments?\b",
        r"\b(?P<value>\d+)\+?\s+comments\b",
    ),
    "size": (
        r"\b(?:more|fewer|less)\s+than\s+(?P<value>\d+)\s+(?:lines|files)\b",
        r"\b(?:over|under)\s+(?P<value>\d+)\s+(?:lines|files)\b",
    ),
}

# --- cues: grammatical signals the planner's table reads (name → patterns over the normalised text) ----
CUES: dict[str, tuple[str, ...]] = {
    # "what did Priya merge?": the merge verb, not "merge commits"/"merge conflicts"
    "merge_verb": (r"\bmerg(?:e|ed|es|ing)\b(?!\s+(?:commits?|conflicts?)\b)",),
    # the commit nouns and verbs that keep a merge question about commits
    "commit_noun": (
        r"\bcommit(?:s|ted)?\b",
        r"\bmerge\s+commits?\b",
        r"\bmerges\b",
        r"\bpush(?:ed|es)?\b",
        r"\bsha\b",
        r"\bhash(?:es)?\b",
        r"\blanded\b",
    ),
    "merge_commits": (r"\bmerge\s+commits?\b", r"\bmerges\b"),
    "created": (r"\b(?:opened|created|raised|submitted|filed|new)\b",),
    # "the most recently updated PR", "the latest active PR": recency by activity, not by opening
    "updated": (r"\b(?:updated?|updating|active|activity|touched|commented|bumped)\b",),
    # "what did Priya open?": open as a verb is what someone opened (any state), not "open PRs"
    "open_verb": (
        r"\b(?:did|does|do|has|have|had|will)\s+(?:[\w@.'’-]+\s+){1,3}open\b(?!\s+(?:prs?|pull|pr\b))",
    ),
    "show": (
        r"\b(?:show|open|cat|contents?|read|view|print|display|fetch|pull\s+up|bring\s+up|give\s+me|see|dump)\b",
        r"\bwhat(?:'s|s|\s+is)?\s+in(?:side)?\b",
    ),
    "source_of": (r"\bsource\s+(?:of|for)\b",),
    "usage": (
        r"\b(?:usages?|uses|used|references?|referenced|callers?|calls|called|imports?|imported|mentions?|"
        r"occurrences?|grep|where\s+else)\b",
    ),
    "definition": (
        r"\b(?:defined|define[sd]?|definition|declared|declaration|implemented|implementation)\b",
    ),
    "search": (r"\b(?:where|find|search|which\s+files)\b",),
    # "rolled back", "rollback", "roll anything back", "rolled the release back", "redeploy"
    "rollback": (
        r"\broll(?:ed|ing|s)?(?:[\s-]+(?:\S+\s+){0,3}?)?back(?:s)?\b",
        r"\brollbacks?\b",
        r"\bredeploy",
        r"\breverted\s+(?:the\s+)?(?:deploy|release)",
    ),
    # "which commits went out with the last prod deploy": what a deployment shipped
    "shipped_with": (
        r"\b(?:commits?|changes?|prs?|pull\s+requests?|fixes|files?|features?|tickets?)\b.*?\b(?:went\s+out|"
        r"go\s+out|shipped|ship|went\s+in|go\s+in|were\s+in|was\s+in|are\s+in|is\s+in|included|in|"
        r"made\s+it\s+into|part\s+of)\s+(?:with|in|into|on|of)?\s*(?:the|that|this|our)\s+(?:\w+[\s-]+){0,6}?"
        r"(?:deploy|deployment|release|rollout)\b(?!s)",
    ),
    # a chat follow-up that filters the previous answer
    "filter_previous": (
        r"\b(?:which|what|any)\s+of\s+(?:those|these|them)\b",
        r"\b(?:only|just)\s+(?:the\s+)?(?:ones?|those)\b",
        r"\bof\s+(?:those|these|them)\b",
        r"\bamong\s+(?:those|these|them)\b",
        r"\bfilter\b",
        r"\bwhich\s+ones\b",
    ),
    # "and in payments?", "what about yesterday?": the previous question with another scope
    "retarget": (r"^\s*(?:and|also|ok(?:ay)?|now|then|same|what|how)\b", r"^\s*\w+(?:\s+\w+)?\s*\?\s*$"),
    # "anything open against main?": open pull requests into a branch
    "open_against": (
        r"\b(?:open|opened|pending|outstanding|unmerged)\s+(?:(?:right\s+)?now\s+)?(?:against|into|onto|"
        r"targeting|to)\s+(?!be\b)",
    ),
    # "it", "those", "did that fail?" point at something; "anything that failed?" does not
    "pointing": (
        r"\b(?:it|those|these|them)\b",
        r"(?:^|\b(?:is|was|did|does|do|has|have|had|about|with|of|on|in|at|to|fix|fixed|see|check|why|what|"
        r"how)\s+)(?:that|this)\b",
    ),
    "that_this_it": (r"\b(?:that|this|it)\b",),
    "yes_no": (
        r"^\s*(?:is|are|was|were|did|does|do|has|have)\s+(?!there\b|any|anything|anyone|anybody|all\b|every|"
        r"some|something|somebody|someone|we\b)",
    ),
    "quantified": (r"\b(?:any|anything|anyone|all|every|each|some|something|which|what|how\s+many|there)\b",),
    "release_branches": (r"\brelease[s]?\s+branch",),
    "pipeline_words": (r"\b(?:pipelines?|builds?|ci)\b",),
    "each": (
        r"\b(?:each|every|per|all)\s+(?:of\s+the\s+)?(?:env|environment|environments|repo|repos|service|"
        r"services|repositories|repository)\b",
    ),
    # "the deploy", "the build", "the PR": one definite thing, named by nothing but its kind
    "definite_deployment": (
        r"\bthe\s+(?:deploy|deployment|release|rollout)\b(?!\s*[-#]?\d)(?!s\b)(?!\s+branch)",
    ),
    "definite_build": (r"\bthe\s+(?:build|pipeline|ci\s+run|pipeline\s+run)\b(?!\s*[-#]?\d)(?!s\b)",),
    "definite_pull_request": (r"\bthe\s+(?:pr|pull\s+request|merge\s+request)\b(?!\s*[-#]?\d)(?!s\b)",),
}
# A file named by what it is, not by its path ("checkout's prod config", "the variables file of the eks
# module"): the nouns that name a file, and the things that hold one. browse_source `find` looks it up.
FILE_NOUNS: tuple[str, ...] = (
    "config",
    "configs",
    "configuration",
    "settings",
    "variables",
    "vars",
    "values",
    "manifest",
    "dockerfile",
    "makefile",
    "readme",
    "changelog",
)
# "config changes", "settings page": the noun then modifies another, and names no file
NOT_A_FILE_AFTER: tuple[str, ...] = (
    "changes?",
    "changed",
    "updates?",
    "edits?",
    "diffs?",
    "history",
    "errors?",
    "issues?",
    "problems?",
    "bugs?",
    "page",
    "screen",
    "ui",
    "drift",
)
FILE_HOLDERS: tuple[str, ...] = (
    "module",
    "chart",
    "package",
    "directory",
    "folder",
    "dir",
    "environment",
    "env",
)
# Long-lived branches: a window still applies to them ("did develop fail?" means recently).
LONG_LIVED_BRANCHES: frozenset[str] = frozenset(
    {"main", "master", "trunk", "develop", "development", "dev", "staging", "next", "production", "prod"}
)
# "repos with service in the name", "is there a repo for notifications?": the word a repository name
# holds (list_repositories name_contains); the first pattern that gives a name-like word wins.
REPO_NAME_FILTERS: tuple[str, ...] = (
    r"\b(?:named|called|containing|contains|contain|matching|match|with|having|has|have|"
    r"whose\s+names?\s+(?:contains?|has|have|includes?)|names?\s+(?:contains?|containing|including|includes?|"
    r"with))\s+(?:the\s+(?:word|string|text|term)\s+|an?\s+)?['\"`]?(?P<n>[\w-]+)['\"`]?",
    r"\b(?:a|an|any|the|some|our)\s+(?P<n>[\w-]+)\s+(?:repos?|repositories|repository|projects?|codebases?)\b",
    r"\b(?:repos?|repositories|repository|projects?|codebases?)\s+(?:for|about|of|with|named|called)\s+"
    r"(?:the\s+)?(?P<n>[\w-]+)",
)
NOT_A_REPO_NAME: frozenset[str] = frozenset(
    """the a an in name names all any every our other new old git bitbucket many more which some code source
    separate single dedicated own list workspace we you they i us it got""".split()  # noqa: SIM905
)
