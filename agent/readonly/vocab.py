"""The read-only guard's vocabulary, as data: how people ask, the verbs of acting, what they act on.

`agent.readonly.grammar` reads a clause as [fillers] [request forms] [adverbs] VERB [object …]: a
request form ("could you", "please", "let's", "go ahead and") or none (the imperative), then a verb
of this lexicon in its base form, then the object it acts on. The action is looked up from the verb's
family and the object's kind (`ACTIONS`), so "close the PR" declines it and "close the branch" deletes
it, "kick off the build" re-runs and "kick off the deploy again" redeploys. A clause that opens like a
question ("who rolled back…", "was the revert deployed?") is never a request, and a verb followed by
one of its noun followers ("merge commit", "deploy failures") is a noun, not an order.

Adding a phrasing is adding a row here, not a regex.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Action = Literal[
    "merge",
    "approve",
    "decline",
    "comment",
    "re-run",
    "stop",
    "deploy",
    "redeploy",
    "promote",
    "roll back",
    "revert",
    "create branch",
    "delete branch",
    "create tag",
    "delete tag",
    "change settings",
    "change permissions",
    "open pull request",
    "change",
]
Form = Literal["imperative", "polite", "please", "indirect"]
Thing = Literal[
    "pull_request",
    "pipeline",
    "deployment",
    "branch",
    "tag",
    "commit",
    "comment",
    "approval",
    "settings",
    "access",
    "repository",
    "code",
]

# --- how a clause asks ------------------------------------------------------------------------------

# Skipped at the start of a clause (greetings, discourse markers, the bot's name).
FILLERS: frozenset[str] = frozenset(
    {
        "hey", "hi", "hello", "yo", "ok", "okay", "alright", "right", "so", "and", "then", "also", "now",
        "well", "bbscout", "@bbscout", "guys", "team", "folks", "urgent", "urgently", "asap", "quick",
        "no", "yes", "yeah", "yep", "sure", "great", "cool", "thanks", "thx", "oh", "ah", "hmm", "btw",
        "ugh", "damn", "look", "listen", "anyway", "but", "or", "otherwise", "meanwhile", "next",
    }
)  # fmt: skip

# Contractions are expanded before matching, so the forms below are written out in full.
CONTRACTIONS: dict[str, str] = {
    "let's": "let us", "i'd": "i would", "we'd": "we would", "you'd": "you would", "i'll": "i will",
    "we'll": "we will", "you'll": "you will", "i'm": "i am", "we're": "we are", "you're": "you are",
    "we've": "we have", "i've": "i have", "it's": "it is", "that's": "that is", "there's": "there is",
    "don't": "do not", "dont": "do not", "doesn't": "does not", "didn't": "did not", "can't": "cannot",
    "cant": "cannot", "won't": "will not", "wont": "will not", "isn't": "is not", "wasn't": "was not",
    "aren't": "are not", "weren't": "were not", "hasn't": "has not", "haven't": "have not",
    "shouldn't": "should not", "couldn't": "could not", "wouldn't": "would not", "what's": "what is",
    "whats": "what is", "who's": "who is", "where's": "where is", "when's": "when is", "how's": "how is",
    "why's": "why is", "gotta": "got to", "wanna": "want to", "gonna": "going to", "pls": "please",
    "plz": "please", "u": "you", "ya": "you", "ur": "your", "'em": "them", "em": "them", "dat": "that",
}  # fmt: skip

# Request forms, matched at the start of a clause (several may chain: "can you please go ahead and").
# The second field is the form; the third says the verb follows as a gerund ("would you mind rolling").
REQUEST_FORMS: tuple[tuple[str, Form, bool], ...] = (
    *((p, "please", False) for p in ("please", "kindly", "pretty please")),
    *(
        (f"{modal} {you}", "polite", False)
        for modal in ("can", "could", "would", "will")
        for you in ("you", "you guys", "bbscout")
    ),
    *((f"{m} you mind", "polite", True) for m in ("would", "do", "could", "will")),
    *((f"{m} you be able to", "polite", False) for m in ("would", "will", "could")),
    *(
        (p, "polite", False)
        for p in (
            "are you able to",
            "is it possible to",
            "is it possible for you to",
            "any chance you could",
            "any chance you can",
            "i would appreciate it if you could",
            "can i ask you to",
            "could i ask you to",
            "may i ask you to",
            "i would be grateful if you could",
        )
    ),
    *((f"{m} we", "indirect", False) for m in ("can", "could", "shall")),
    *((p, "indirect", False) for p in ("let us", "lets")),
    *(
        (f"{who}{need}", "indirect", False)
        for who in ("we ", "i ", "")
        for need in (
            "need to",
            "have to",
            "must",
            "should",
            "got to",
            "have got to",
            "ought to",
            "want to",
            "would like to",
            "will need to",
            "will have to",
            "are going to",
            "am going to",
        )
    ),
    *(
        (f"{who} {want} {you} to", "indirect", False)
        for who in ("i", "we")
        for want in ("want", "need", "would like", "am asking", "are asking")
        for you in ("you", "bbscout")
    ),
    *((f"you {m}", "indirect", False) for m in ("should", "need to", "must", "have to", "got to")),
    *(
        (f"{who} {m}", "indirect", False)
        for who in ("someone", "somebody")
        for m in ("should", "needs to", "must", "has to")
    ),
    *(
        (p, "indirect", False)
        for p in (
            "go ahead and",
            "go ahead",
            "go on and",
            "go and",
            "go",
            "time to",
            "it is time to",
            "help me",
            "help me to",
            "help us",
            "help us to",
            "do me a favour and",
            "do me a favor and",
            "make sure to",
            "make sure you",
            "remember to",
            "do not forget to",
            "feel free to",
            "try to",
            "try and",
            "be a dear and",
        )
    ),
)

# After these at the start of a clause it is a question, a condition or a report, never an order
# (a request form above is matched first: "can you …" is a request, "can PR 67 be merged?" a question).
QUESTION_OPENERS: frozenset[str] = frozenset(
    {
        "who", "whom", "whose", "what", "when", "where", "which", "why", "how", "was", "were", "did", "does",
        "do", "has", "have", "had", "is", "are", "am", "can", "could", "would", "will", "should", "shall",
        "may", "might", "must", "any", "anyone", "anybody", "somebody", "someone",
    }
)  # fmt: skip
SUBORDINATORS: frozenset[str] = frozenset(
    {"if", "whether", "unless", "once", "after", "before", "until", "till", "since", "because", "as",
     "though", "although", "while", "whenever"}
)  # fmt: skip
NEGATIONS: tuple[str, ...] = ("do not", "never", "no need to", "not", "cannot", "stop trying to")

# Between the request form and the verb ("can you just quickly roll it back").
ADVERBS: frozenset[str] = frozenset(
    {
        "just", "quickly", "please", "pls", "kindly", "now", "also", "immediately", "asap", "maybe",
        "possibly", "perhaps", "actually", "simply", "urgently", "right", "straight", "then", "already",
        "still", "finally", "safely", "manually", "carefully", "first", "again", "really",
    }
)  # fmt: skip
# At the end of a clause they make even a bare noun phrase a request ("rollback for web-frontend please").
TRAILING_REQUEST: tuple[str, ...] = (
    "please", "pls", "plz", "for me", "for us", "now", "asap", "right now", "right away", "immediately",
    "thanks", "thank you", "thx", "if you can", "if you could", "when you can",
)  # fmt: skip

# "X needs to be rolled back", "PR 67 should be merged": a request in the passive.
PASSIVE_REQUESTS: tuple[str, ...] = (
    "needs to be", "need to be", "has to be", "have to be", "should be", "must be", "ought to be",
    "needs be", "has got to be", "gotta be", "wants to be",
)  # fmt: skip
# "can we get PR 67 merged", "let's have it rolled back": get/have + object + participle.
CAUSATIVES: frozenset[str] = frozenset({"get", "have"})
RELATIVES: frozenset[str] = frozenset({"that", "which", "who", "whose", "whom"})

# --- the verbs of acting --------------------------------------------------------------------------


@dataclass(frozen=True)
class Verb:
    """One way to say an action: base-form words ("…" marks where an object may sit before the
    particle: "roll … back" reads "roll back prod" and "roll prod back"), its family, and the words
    that make it a noun when they follow it ("merge commit", "deploy failures")."""

    words: str
    family: str
    noun_before: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Family:
    """What a verb family does to each kind of object: `things` overrides `default` for an object kind;
    `needs_object` makes the verb a request only with an object or a pronoun ("close it", not "close");
    `only` restricts the kinds it acts on ("give … access", not "give me the builds")."""

    default: Action | None
    things: dict[Thing, Action] = field(default_factory=dict)
    needs_object: bool = False
    only: frozenset[Thing] = frozenset()


_DEPLOY_NOUNS = frozenset(
    {"key", "keys", "step", "steps", "target", "targets", "freeze", "window", "environment", "environments",
     "pipeline", "pipelines", "job", "jobs", "script", "config"}
)  # fmt: skip
_MERGE_NOUNS = frozenset(
    {"commit", "commits", "request", "requests", "conflict", "conflicts", "check", "checks", "strategy",
     "queue", "button", "base", "message", "preview"}
)  # fmt: skip

VERBS: tuple[Verb, ...] = (
    Verb("merge", "merge", _MERGE_NOUNS),
    Verb("squash", "merge"),
    Verb("land", "merge"),
    Verb("approve", "approve"),
    Verb("sign … off", "approve"),
    Verb("sign off on", "approve"),
    Verb("lgtm", "approve"),
    Verb("greenlight", "approve"),
    Verb("decline", "decline"),
    Verb("reject", "decline"),
    Verb("turn … down", "decline"),
    Verb("close", "close"),
    Verb("comment", "comment", frozenset({"count", "counts", "thread", "threads", "section"})),
    Verb("reply", "comment"),
    Verb("respond", "comment"),
    Verb("leave", "leave"),
    Verb("post", "leave"),
    Verb("write", "leave"),
    Verb("drop", "leave"),
    Verb("request changes", "comment"),
    Verb("rerun", "rerun"),
    Verb("retry", "rerun"),
    Verb("retrigger", "rerun"),
    Verb("rebuild", "rerun"),
    Verb("restart", "rerun"),
    Verb("reexecute", "rerun"),
    Verb("rekick", "rerun"),
    Verb("kick … off", "start"),
    Verb("kickoff", "start"),
    Verb("fire … off", "start"),
    Verb("fire … up", "start"),
    Verb("start", "start", frozenset({"time", "times", "date"})),
    Verb("trigger", "start"),
    Verb("run", "start", frozenset({"history", "time", "times", "number", "numbers", "by", "log", "logs"})),
    Verb("launch", "start"),
    Verb("build", "start", frozenset({"status", "log", "logs", "number", "numbers", "time", "times"})),
    Verb("stop", "stop", frozenset({"reason", "reasons", "time", "times"})),
    Verb("cancel", "stop"),
    Verb("kill", "stop"),
    Verb("abort", "stop"),
    Verb("halt", "stop"),
    Verb("terminate", "stop"),
    Verb("pause", "stop"),
    Verb("deploy", "deploy", _DEPLOY_NOUNS),
    Verb("ship", "deploy"),
    Verb(
        "release", "release", frozenset({"notes", "note", "branch", "branches", "candidate", "train", "date"})
    ),
    Verb("roll … out", "deploy"),
    Verb("rollout", "deploy"),
    Verb("push", "push"),
    Verb("redeploy", "redeploy"),
    Verb("rerelease", "redeploy"),
    Verb("promote", "promote"),
    Verb("roll … back", "rollback"),
    Verb("rollback", "rollback"),
    Verb("roll … backwards", "rollback"),
    Verb("downgrade", "rollback"),
    Verb("go back to", "rollback"),
    Verb("restore", "restore"),
    Verb("revert", "revert"),
    Verb("undo", "revert"),
    Verb("back … out", "revert"),
    Verb("reverse", "revert"),
    Verb("create", "create"),
    Verb("make", "create"),
    Verb("cut", "create"),
    Verb("open a", "create"),
    Verb("open an", "create"),
    Verb("open new", "create"),
    Verb("open up a", "create"),
    Verb("raise a", "create"),
    Verb("add", "create"),
    Verb("set … up", "create"),
    Verb("spin … up", "create"),
    Verb("branch … off", "branch"),
    Verb("tag", "tag"),
    Verb("delete", "delete"),
    Verb("remove", "delete"),
    Verb("prune", "delete"),
    Verb("nuke", "delete"),
    Verb("purge", "delete"),
    Verb("wipe", "delete"),
    Verb("trash", "delete"),
    Verb("archive", "delete"),
    Verb("clean … up", "delete"),
    Verb("cleanup", "delete"),
    Verb("tidy … up", "delete"),
    Verb("get rid of", "delete"),
    Verb("turn … off", "settings"),
    Verb("turn … on", "settings"),
    Verb("switch … off", "settings"),
    Verb("switch … on", "settings"),
    Verb("disable", "settings"),
    Verb("enable", "settings"),
    Verb("toggle", "settings"),
    Verb("configure", "settings"),
    Verb("relax", "settings"),
    Verb("loosen", "settings"),
    Verb("tighten", "settings"),
    Verb("bypass", "settings"),
    Verb("override", "settings"),
    Verb("skip", "settings"),
    Verb("protect", "settings"),
    Verb("unprotect", "settings"),
    Verb("lock", "settings"),
    Verb("unlock", "settings"),
    Verb("lift", "settings"),
    Verb("set", "settings"),
    Verb("change", "edit"),
    Verb("update", "edit"),
    Verb("edit", "edit"),
    Verb("modify", "edit"),
    Verb("rename", "edit"),
    Verb("adjust", "edit"),
    Verb("give", "grant"),
    Verb("grant", "grant"),
    Verb("revoke", "grant"),
    Verb("take … away", "grant"),
    Verb("assign", "assign"),
    Verb("unassign", "assign"),
    Verb("fix", "fix"),
)

FAMILIES: dict[str, Family] = {
    "merge": Family("merge"),
    "approve": Family("approve"),
    "decline": Family("decline"),
    "close": Family(
        "decline",
        {"branch": "delete branch", "pull_request": "decline"},
        needs_object=True,
        only=frozenset({"pull_request", "branch"}),
    ),
    "comment": Family("comment"),
    "leave": Family(
        None,
        {"comment": "comment", "approval": "approve"},
        needs_object=True,
        only=frozenset({"comment", "approval"}),
    ),
    "rerun": Family("re-run", {"deployment": "redeploy"}),
    "start": Family(
        "re-run",
        {"deployment": "deploy", "pipeline": "re-run", "branch": "create branch"},
        needs_object=True,
        only=frozenset({"deployment", "pipeline", "branch"}),
    ),
    "stop": Family("stop", {"branch": "delete branch"}, needs_object=True),
    "deploy": Family("deploy"),
    "release": Family(
        "deploy", needs_object=True, only=frozenset({"deployment", "pipeline", "tag", "commit", "code"})
    ),
    "push": Family(
        None,
        {
            "deployment": "deploy",
            "tag": "create tag",
            "branch": "create branch",
            "commit": "change",
            "code": "change",
        },
        needs_object=True,
        only=frozenset({"deployment", "tag", "branch", "commit", "code"}),
    ),
    "redeploy": Family("redeploy"),
    "promote": Family("promote"),
    "rollback": Family("roll back", {"pull_request": "revert", "commit": "revert"}),
    "restore": Family(
        "roll back", {"branch": "create branch"}, needs_object=True, only=frozenset({"deployment", "branch"})
    ),
    "revert": Family("revert", {"deployment": "roll back"}),
    "create": Family(
        None,
        {
            "branch": "create branch",
            "tag": "create tag",
            "pull_request": "open pull request",
            "comment": "comment",
            "approval": "approve",
            "access": "change permissions",
            "settings": "change settings",
            "repository": "change settings",
            "deployment": "deploy",
        },
        needs_object=True,
        only=frozenset(
            {
                "branch",
                "tag",
                "pull_request",
                "comment",
                "approval",
                "access",
                "settings",
                "repository",
                "deployment",
            }
        ),
    ),
    "branch": Family("create branch"),
    "tag": Family("create tag"),
    "delete": Family(
        None,
        {
            "branch": "delete branch",
            "tag": "delete tag",
            "comment": "comment",
            "access": "change permissions",
            "settings": "change settings",
            "repository": "change settings",
            "pull_request": "decline",
            "approval": "approve",
            "pipeline": "stop",
            "commit": "revert",
        },
        needs_object=True,
    ),
    "settings": Family(
        "change settings",
        {"access": "change permissions", "approval": "change settings", "pipeline": "change settings"},
        needs_object=True,
        only=frozenset({"settings", "access", "repository", "branch", "approval", "pipeline"}),
    ),
    "edit": Family(
        "change", {"settings": "change settings", "access": "change permissions"}, needs_object=True
    ),
    "grant": Family(
        "change permissions",
        {"approval": "approve"},
        needs_object=True,
        only=frozenset({"access", "approval"}),
    ),
    "assign": Family("change", needs_object=True),
    "fix": Family(
        "change", needs_object=True, only=frozenset({"pipeline", "pull_request", "branch", "commit", "code"})
    ),
}

# "kick off the deploy again": a deploy done again is a redeploy.
AGAIN: tuple[str, ...] = ("again", "once more", "one more time", "another time", "a second time")
AGAIN_ACTIONS: dict[Action, Action] = {"deploy": "redeploy"}

# Participles for "get it merged" / "it needs to be rolled back": base word → participle, when irregular.
IRREGULAR_PARTICIPLES: dict[str, str] = {
    "run": "run", "rerun": "rerun", "cut": "cut", "set": "set", "put": "put", "shut": "shut", "make": "made",
    "give": "given", "take": "taken", "get": "gotten", "leave": "left", "write": "written", "undo": "undone",
    "stop": "stopped", "ship": "shipped", "drop": "dropped", "build": "built", "rebuild": "rebuilt",
    "retry": "retried", "nuke": "nuked", "kick": "kicked", "fire": "fired", "spin": "spun", "redo": "redone",
    "begin": "begun", "land": "landed",
}  # fmt: skip
IRREGULAR_GERUNDS: dict[str, str] = {
    "run": "running", "rerun": "rerunning", "cut": "cutting", "set": "setting", "put": "putting",
    "stop": "stopping", "ship": "shipping", "drop": "dropping", "spin": "spinning", "get": "getting",
}  # fmt: skip

# Spellings folded before matching ("re-run", "re run" → "rerun"; "roll-back" → "rollback").
SPELLINGS: dict[str, str] = {
    "re-run": "rerun", "re run": "rerun", "re-trigger": "retrigger", "re trigger": "retrigger",
    "re-deploy": "redeploy", "re deploy": "redeploy", "re-build": "rebuild", "re-start": "restart",
    "re-try": "retry", "re-execute": "reexecute", "re-release": "rerelease", "re-kick": "rekick",
    "roll-back": "rollback", "kick-off": "kickoff", "clean-up": "cleanup", "roll-out": "rollout",
    "set-up": "set up", "sign-off": "sign off", "l.g.t.m": "lgtm",
}  # fmt: skip

# Words that, right after a verb with no request form, make it a noun: "deploy failures", "rollback
# history", "merge commit of PR 70".
NOUN_FOLLOWERS: frozenset[str] = frozenset(
    {
        "failure", "failures", "failed", "fails", "failing", "status", "statuses", "state", "history",
        "histories", "log", "logs", "count", "counts", "times", "frequency", "rate", "rates", "results",
        "result", "errors", "error", "stats", "statistics", "activity", "summary", "report", "reports",
        "list", "success", "successes", "numbers", "duration", "durations", "trend", "trends", "details",
        "info", "information", "dashboard", "page", "policy", "policies", "process", "procedure", "docs",
        "documentation", "of", "for", "by", "per", "yesterday", "today", "tonight", "recently", "lately",
        "last", "since", "over", "during", "happened", "is", "was", "were", "are", "has", "had", "did",
        "does", "events", "event", "record", "records",
    }
)  # fmt: skip

# --- what the verbs act on -------------------------------------------------------------------------

THINGS: dict[Thing, tuple[str, ...]] = {
    "pull_request": (
        "pr", "prs", "pull request", "pull requests", "pull-request", "pull-requests", "merge request",
        "merge requests", "mr", "mrs", "changeset",
    ),
    "pipeline": (
        "build", "builds", "pipeline", "pipelines", "run", "runs", "job", "jobs", "ci", "ci run", "ci job",
        "step", "steps", "tests", "test suite", "test run", "workflow", "ci build",
    ),
    "deployment": (
        "deploy", "deploys", "deployment", "deployments", "release", "releases", "rollout", "prod",
        "production", "staging", "stage", "live", "environment", "env", "version", "previous version",
        "prd", "preprod", "pre-prod",
    ),
    "branch": ("branch", "branches", "feature branch", "release branch", "hotfix branch"),
    "tag": ("tag", "tags", "release tag", "git tag"),
    "commit": ("commit", "commits", "sha", "hash"),
    "comment": ("comment", "comments", "reply", "note", "review", "feedback", "message"),
    "approval": ("approval", "approvals", "+1", "thumbs up", "lgtm", "sign-off", "go-ahead", "green light"),
    "settings": (
        "setting", "settings", "required approvals check", "approvals check", "approval check",
        "required approvals", "required approval", "merge check", "merge checks", "branch restriction",
        "branch restrictions", "branch permission", "branch permissions", "restriction", "restrictions",
        "protection", "branch protection", "default reviewer", "default reviewers", "webhook", "webhooks",
        "variable", "variables", "branching model", "required builds", "check", "checks", "rule", "rules",
        "config", "configuration", "pipeline config", "pipelines",
    ),
    "access": (
        "access", "write access", "read access", "admin access", "admin", "admin rights", "permission",
        "permissions", "rights", "role", "membership", "write permission", "push access", "merge access",
    ),
    "repository": ("repo", "repository", "repositories", "repos"),
    "code": ("code", "fix", "hotfix", "patch", "changes", "change", "file", "files"),
}  # fmt: skip
# "pipelines" names the settings only after a settings verb ("disable pipelines"); elsewhere a pipeline.
THING_PRIORITY: tuple[Thing, ...] = (
    "settings", "access", "approval", "pull_request", "pipeline", "deployment", "branch", "tag", "commit",
    "comment", "repository", "code",
)  # fmt: skip

PRONOUNS_SINGULAR: frozenset[str] = frozenset(
    {"it", "this", "that", "that one", "this one", "the one", "him", "her"}
)
PRONOUNS_PLURAL: frozenset[str] = frozenset(
    {"them", "those", "these", "all of them", "both", "both of them", "those ones", "these ones",
     "all of those"}
)  # fmt: skip
ORDINALS: dict[str, int] = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3, "fifth": 4,
    "5th": 4, "sixth": 5, "6th": 5, "seventh": 6, "eighth": 7, "ninth": 8, "tenth": 9, "last": -1,
    "latter": -1, "former": 0,
}  # fmt: skip

ENVIRONMENTS: dict[str, tuple[str, ...]] = {
    "production": ("prod", "production", "live", "prd"),
    "staging": ("staging", "stage", "stg", "preprod", "pre-prod", "uat"),
    "test": ("test", "testing", "qa", "dev", "development", "sandbox"),
}
# "test"/"dev" are environments only after these ("deploy to test"), not in "rerun the tests".
WEAK_ENVIRONMENT_WORDS: frozenset[str] = frozenset({"test", "testing", "dev", "development", "sandbox", "qa"})
ENV_TARGET_WORDS: frozenset[str] = frozenset({"to", "into", "onto"})
ENV_SOURCE_WORDS: frozenset[str] = frozenset({"from"})
ENV_AT_WORDS: frozenset[str] = frozenset({"in", "on", "at", "for"})

# A described object: "the PR that broke main", "the commit behind the outage".
CULPRIT_WORDS: frozenset[str] = frozenset(
    {"broke", "broken", "breaks", "breaking", "caused", "causing", "culprit", "regressed", "regression",
     "responsible", "behind", "introduced", "bad", "faulty", "offending"}
)  # fmt: skip

# Words that never describe which object is meant (the rest do: "the renovate PR", "the S3 retries PR").
NAME_STOPWORDS: frozenset[str] = frozenset(
    {
        "a", "an", "the", "this", "that", "these", "those", "it", "them", "one", "ones", "my", "our", "your",
        "their", "his", "her", "its", "me", "us", "you", "i", "we", "to", "from", "in", "on", "at", "of",
        "for", "with", "by", "into", "onto", "off", "and", "or", "as", "up", "down", "out", "back", "over",
        "again", "please", "pls", "now", "asap", "right", "away", "immediately", "just", "quickly", "all",
        "every", "each", "both", "any", "some", "latest", "last", "newest", "most", "recent", "previous",
        "current", "currently", "failed", "failing", "broken", "red", "running", "pending", "stuck", "open",
        "opened", "merged", "new", "old", "stale", "live", "is", "was", "are", "be", "been",
        "which", "who", "where", "there", "here", "so", "then", "than", "too", "also", "only", "still",
        "saying", "asking", "telling", "that's", "it's", "what", "whatever", "same", "other", "another",
        "before", "after", "today", "yesterday", "tonight", "morning", "afternoon", "week", "month", "day",
        "service", "app", "thing", "stuff", "one's", "once", "more", "time", "good", "it'll", "next",
        "main", "master", "trunk", "default", "successful", "green", "passing", "passed", "gets",
        "for me", "thanks", "thank", "thx", "if", "can", "could", "when", "will", "would", "should",
    }
)  # fmt: skip
DEFAULT_BRANCH_WORDS: frozenset[str] = frozenset({"main", "master", "trunk", "develop", "default"})
