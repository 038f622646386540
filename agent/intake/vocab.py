"""Vocabulary tables intake matches against: what people type → canonical meaning.

Kept as data so a new phrasing is one entry here, not a new branch in the planner. Multi-word
phrases are matched on word boundaries after `normalize.basic` and typo correction against
`CORRECTABLE` (every single word in these tables).
"""

from __future__ import annotations

from collections.abc import Iterable

from agent.intake.time import _TIME_VOCAB

# Which kind of object the question is about (a question may mention several).
TOPICS: dict[str, tuple[str, ...]] = {
    "pipelines": (
        "pipeline", "pipelines", "build", "builds", "ci", "ci run", "ci runs", "run", "runs", "job", "jobs",
        "checks", "ci jobs", "workflow", "workflows", "test run", "test runs",
    ),
    "pull_requests": (
        "pr", "prs", "pull request", "pull requests", "pullrequest", "pullrequests", "pull-request",
        "pull-requests", "merge request", "merge requests", "mr", "mrs", "code review", "code reviews",
    ),
    "commits": ("commit", "commits", "committed", "merged to", "merged into", "landed on", "landed in", "land on", "land in",
                "lands on", "lands in", "pushed to", "merges"),
    "branches": ("branch", "branches"),
    "deployments": (
        "deploy", "deploys", "deployment", "deployments", "deployed", "release", "releases", "released",
        "rollout", "rollouts", "rolled out", "rollback", "rollbacks", "rolled back", "roll back", "redeploy",
        "redeployed", "redeploys", "shipped", "went out", "went live", "promoted",
    ),
    "code": (
        "defined", "definition", "declared", "usages", "usage", "references", "referenced", "callers",
        "called", "calls", "grep", "source", "source code", "file", "files", "function", "class", "method",
        "symbol", "implementation", "implemented", "in the code", "in code", "codebase", "contents of",
    ),
    "repositories": ("repos", "repositories", "repository list", "list of repos", "all repos", "all repositories"),
}

# Words that point at an incident rather than a listing. "strong" ones alone make it an incident.
INCIDENT_STRONG: tuple[str, ...] = (
    "outage", "incident", "500s", "5xx", "500 errors", "502s", "503s", "504s", "5xxs", "latency",
    "throwing", "timed out", "spike", "spiking",
    "degraded", "degradation", "is down", "went down", "are down", "paged", "pager", "alerts firing",
    "alert fired", "error rate", "timeouts", "timing out", "sev1", "sev2", "customers reporting",
    "users reporting", "what broke", "what caused", "root cause", "regression", "crashing", "crashes",
    "what changed before", "changed right before", "investigate", "gateway timeout", "gateway timeouts",
    "bad gateway", "service unavailable", "internal server error", "internal server errors",
)
INCIDENT_WEAK: tuple[str, ...] = ("errors", "erroring", "exceptions", "failing requests", "slow", "slowness", "broken", "down")

# Pipeline results. "failed" in user language means FAILED and ERROR, never STOPPED unless asked.
RESULTS: dict[str, tuple[str, ...]] = {
    "failed": ("FAILED", "ERROR"), "failing": ("FAILED", "ERROR"), "fail": ("FAILED", "ERROR"),
    "fails": ("FAILED", "ERROR"), "failure": ("FAILED", "ERROR"), "failures": ("FAILED", "ERROR"),
    "broken": ("FAILED", "ERROR"), "broke": ("FAILED", "ERROR"), "red": ("FAILED", "ERROR"),
    "break": ("FAILED", "ERROR"), "breaks": ("FAILED", "ERROR"), "went red": ("FAILED", "ERROR"),
    "busted": ("FAILED", "ERROR"),
    "blew up": ("FAILED", "ERROR"), "blow up": ("FAILED", "ERROR"), "unsuccessful": ("FAILED", "ERROR"), "didn't pass": ("FAILED", "ERROR"),
    "did not pass": ("FAILED", "ERROR"),
    "errored": ("ERROR",), "error": ("ERROR",), "errors": ("ERROR",), "erroring": ("ERROR",),
    "stopped": ("STOPPED",), "cancelled": ("STOPPED",), "canceled": ("STOPPED",), "aborted": ("STOPPED",),
    "halted": ("STOPPED",), "killed": ("STOPPED",),
    "passed": ("SUCCESSFUL",), "passing": ("SUCCESSFUL",), "pass": ("SUCCESSFUL",), "green": ("SUCCESSFUL",),
    "successful": ("SUCCESSFUL",), "succeeded": ("SUCCESSFUL",), "success": ("SUCCESSFUL",),
    "successfully": ("SUCCESSFUL",),
}
# Words that negate the state word right after them: "errored (not failed tests)" asks for ERROR only.
NEGATIONS: tuple[str, ...] = (
    "not", "never", "rather than", "instead of", "excluding", "except", "except for", "other than",
    "but not", "without", "apart from", "ignoring", "ignore", "exclude", "minus", "isn't", "aren't", "wasn't",
    "weren't", "didn't", "don't", "doesn't",
)
IN_PROGRESS: tuple[str, ...] = (
    "running", "in progress", "in-progress", "pending", "queued", "ongoing", "still running", "paused",
    "currently running", "underway", "building", "still building", "currently building", "in flight", "in-flight",
)
PR_STATES: dict[str, tuple[str, ...]] = {
    "open": ("OPEN",), "opened": ("OPEN", "MERGED", "DECLINED"), "raised": ("OPEN", "MERGED", "DECLINED"),
    "created": ("OPEN", "MERGED", "DECLINED"), "unmerged": ("OPEN",), "active": ("OPEN",),
    "merged": ("MERGED",), "landed": ("MERGED",), "declined": ("DECLINED",), "rejected": ("DECLINED",),
    "closed": ("MERGED", "DECLINED"), "superseded": ("SUPERSEDED",), "draft": ("OPEN",), "drafts": ("OPEN",),
}
AWAITING_REVIEW: tuple[str, ...] = (
    "awaiting review", "awaiting a review", "needs review", "need review", "needing review", "needs a review",
    "waiting for review", "waiting on review", "waiting for a review", "pending review", "unreviewed",
    "not reviewed", "no reviews", "without approval", "without approvals", "not approved", "unapproved",
    "no approvals", "need approval", "needs approval", "to review", "review queue",
)
DRAFT: tuple[str, ...] = ("draft", "drafts", "wip")

TRIGGERS: dict[str, str] = {
    "manual": "MANUAL", "manually": "MANUAL", "by hand": "MANUAL", "hand-triggered": "MANUAL",
    "scheduled": "SCHEDULED", "schedule": "SCHEDULED", "nightly": "SCHEDULED", "nightlies": "SCHEDULED",
    "cron": "SCHEDULED", "on a schedule": "SCHEDULED",
    "on push": "PUSH", "push-triggered": "PUSH", "push triggered": "PUSH", "triggered by push": "PUSH",
    "push": "PUSH", "pushes": "PUSH",
}

# Environments; the sandbox (and Bitbucket's environment types) are Test, Staging, Production.
ENVIRONMENTS: dict[str, str] = {
    "production": "production", "prod": "production", "prd": "production",
    "staging": "staging", "stg": "staging", "pre-prod": "staging", "preprod": "staging",
    "qa": "test", "uat": "test",
}
# Also ordinary words: an environment only next to "to/in/on … env".
ENVIRONMENTS_IN_CONTEXT: dict[str, str] = {
    "live": "production", "stage": "staging", "test": "test", "testing": "test", "dev": "test",
    "development": "test",
}

DEFAULT_BRANCH_ALIASES: tuple[str, ...] = (
    "main", "master", "trunk", "mainline", "default branch", "the default branch", "main branch",
    "master branch",
)
BRANCH_PREFIXES: tuple[str, ...] = ("feature", "feat", "release", "hotfix", "bugfix", "fix", "chore", "renovate", "dependabot", "bug")
NAMED_BRANCHES: tuple[str, ...] = ("develop", "development", "dev", "staging", "next")

# What the user wants *about* the objects.
ASKS: dict[str, tuple[str, ...]] = {
    "log": ("log", "logs", "output", "console", "stack trace", "stacktrace", "traceback", "error message", "error output"),
    "why": ("why", "what went wrong", "reason", "cause", "what failed", "which step", "which test", "which tests"),
    "detail": ("details", "detail", "more about", "tell me about", "info on", "info about", "look at", "open", "show"),
    "diff": ("diff", "patch", "files changed", "what files", "changes in"),
    "comments": ("comments", "comment", "discussion", "feedback"),
    "who": ("who", "whom", "by whom", "which person"),
    "latest": ("latest", "last", "most recent", "newest", "current", "currently", "right now", "now", "atm", "at the moment", "most recently", "version", "what's on", "whats on", "what is on"),
    "changes": (
        "what changed", "what's changed", "whats changed", "what has changed", "changes", "changed",
        "what went out", "what shipped", "what was shipped", "what's in", "whats in", "what is in",
        "contents", "included", "what did", "diff", "what in it", "what in that", "what in this", "what in there",
        "what went into", "what went in",
    ),
    "stale": (
        "stale", "old", "abandoned", "inactive", "dead", "unused", "no commits", "no activity", "not touched",
        "untouched", "forgotten", "idle", "no recent commits", "no new commits", "nothing pushed", "no pushes",
        "not been touched", "haven't been touched", "hasn't been touched", "havent been touched",
        "hasnt been touched", "not updated", "not been updated", "haven't been updated", "hasn't been updated",
        "haven't been pushed to", "hasn't been pushed to", "not been pushed to", "haven't had", "hasn't had",
        "not been worked on", "no longer used", "not used",
    ),
    "recent": ("recent", "recently", "latest", "newest", "lately", "new"),
    "count": ("how many", "count", "number of"),
    "list": ("list", "show", "which", "what", "give me", "any"),
}

# Actions bbscout can never take (it is read-only), matched as imperatives.
WRITE_VERBS: tuple[str, ...] = (
    "delete", "remove", "approve", "merge", "decline", "reject", "create", "open a", "open new", "rerun",
    "re-run", "retry", "retrigger", "re-trigger", "trigger", "restart", "revert", "deploy", "redeploy",
    "roll back", "rollback", "promote", "push", "close", "comment on", "assign", "unassign", "rename", "tag",
    "cancel", "stop", "kill", "update", "edit", "fix", "reopen", "archive", "lock", "unlock", "start", "run",
    "request changes on", "add", "set", "kick off", "kickoff", "kick-off", "fire off", "rebuild", "re-build",
)
# A write verb at the start followed by one of these is a noun ("deploy failures since wednesday?",
# "build status on main", "merge history"): a question about the objects, not a request.
WRITE_NOUN_FOLLOWERS: tuple[str, ...] = (
    "failure", "failures", "failed", "fails", "failing", "status", "statuses", "state", "history", "histories", "log", "logs",
    "count", "counts", "times", "time", "frequency", "results", "result", "errors", "error", "stats", "activity",
    "summary", "report", "queue", "list", "success", "successes", "numbers", "duration", "durations", "trend",
    "trends", "today", "yesterday", "since", "per", "or", "and", "broken", "broke", "red", "green", "passing",
    "passed", "went", "did", "was", "were", "is", "are", "has", "have", "got", "get", "number", "ids", "id",
    "which", "who", "when", "where", "rate", "rates", "window", "windows", "freeze",
)

# Metrics bbscout cannot read (no monitoring data): asking for their *value* is unanswerable; reporting that one
# moved ("p99 spiked since 14:00, what changed?") is an incident.
METRICS: tuple[str, ...] = (
    "p50", "p75", "p90", "p95", "p99", "p999", "p99.9", "percentile", "latency", "response time", "response times",
    "cpu", "memory", "memory usage", "ram", "heap", "error rate", "error rates", "error budget", "throughput",
    "traffic", "rps", "qps", "requests per second", "request rate", "uptime", "slo", "sla", "apdex", "dashboard",
    "dashboards", "disk usage", "load average",
)
# Words that make a metric a *symptom report* rather than a request for its value.
METRIC_SYMPTOM: tuple[str, ...] = (
    "spike", "spiked", "spikes", "spiking", "jumped", "jump", "went up", "increased", "increase", "climbing",
    "climbed", "doubled", "tripled", "dropped", "drop", "degraded", "regressed", "regression", "worse", "high",
    "higher", "elevated", "through the roof", "what changed", "what did we ship", "what shipped", "what went out",
    "what caused", "why is", "why did", "why are", "since", "started", "after the", "deployed", "deploy",
)
# HTTP status phrases: they name an error, never a repository ("gateway timeouts" is not api-gateway).
HTTP_PHRASES: tuple[str, ...] = (
    "gateway timeout", "gateway timeouts", "gateway time-out", "gateway time-outs", "bad gateway", "bad gateways",
    "gateway error", "gateway errors", "service unavailable", "service unavailables", "internal server error",
    "internal server errors", "too many requests", "request timeout", "request timeouts",
)

# Things Bitbucket has no data for: never guess a plan for these.
OUT_OF_SCOPE: dict[str, str] = {
    "weather": "the weather", "story points": "story points (a tracker concept, not Bitbucket data)",
    "story point": "story points (a tracker concept, not Bitbucket data)", "velocity": "team velocity",
    "sprint": "sprints (a tracker concept)", "jira": "Jira issues", "ticket": "tickets (a tracker concept)",
    "tickets": "tickets (a tracker concept)", "salary": "salaries", "lunch": "lunch", "stock price": "stock prices",
    "revenue": "revenue", "on-call schedule": "the on-call schedule", "who is on call": "the on-call schedule",
    "slack": "Slack", "confluence": "Confluence", "burndown": "burndown charts", "estimate": "estimates",
    "estimates": "estimates", "cpu": "host metrics (CPU)", "memory usage": "host metrics (memory)",
    "dashboard": "dashboards", "grafana": "Grafana", "datadog": "Datadog", "sentry": "Sentry",
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
    """.split()  # noqa: SIM905
)


def _words(*tables: Iterable[str]) -> set[str]:
    """Every alphabetic word of every phrase (dict tables iterate over their keys)."""
    return {w for table in tables for phrase in table for w in phrase.split() if w.isalpha()}


CORRECTABLE: frozenset[str] = frozenset(
    _words(RESULTS, IN_PROGRESS, PR_STATES, AWAITING_REVIEW, TRIGGERS, ENVIRONMENTS)
    | {w for ws in TOPICS.values() for w in _words(ws)}
    | _words(INCIDENT_STRONG)
    | {"deployment", "deployments", "pipelines", "pipeline", "production", "staging", "repositories", "yesterday", "rebuild", "kickoff"}
    | set(_TIME_VOCAB)
)
