"""The words of a chat follow-up: how it points at earlier objects, and what it asks of them.

Data only (`agent.referents.reading` reads with it). Patterns run on intake's normalised text (lower
case, possessives dropped: "what's" is "what", "it's" is "it").
"""

from __future__ import annotations

from typing import Literal

Thing = Literal["pull_request", "pipeline", "deployment", "commit", "branch", "repository", "file", "person"]
Order = Literal["newest", "oldest", "biggest", "smallest"]

# what a noun names ("that PR", "the build", "those deploys")
NOUNS: dict[Thing, tuple[str, ...]] = {
    "pull_request": (
        "pr", "prs", "pull request", "pull requests", "merge request", "merge requests", "mr", "mrs",
    ),
    "pipeline": (
        "build", "builds", "pipeline", "pipelines", "run", "runs", "job", "jobs", "ci run", "ci runs",
        "ci build", "failure", "failures",
    ),
    "deployment": (
        "deploy", "deploys", "deployment", "deployments", "release", "releases", "rollout", "rollouts",
    ),
    "commit": ("commit", "commits"),
    "branch": ("branch", "branches"),
}  # fmt: skip

PRONOUNS_SINGULAR: tuple[str, ...] = ("that one", "this one", "the one", "it", "its", "itself")
PRONOUNS_PLURAL: tuple[str, ...] = (
    "all of them", "all of those", "both of them", "those ones", "these ones", "them", "those", "these",
    "they", "their", "theirs", "both",
)  # fmt: skip
# "that"/"this" alone point, unless a noun precedes them (a relative clause: "the PR that broke main")
RELATIVE_AFTER: frozenset[str] = frozenset(
    {"anything", "something", "everything", "nothing", "one", "ones", "all", "those", "these", "any"}
)

ORDINALS: dict[str, int] = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3, "fifth": 4,
    "5th": 4, "sixth": 5, "6th": 5, "seventh": 6, "7th": 6, "eighth": 7, "8th": 7, "ninth": 8, "9th": 8,
    "tenth": 9, "10th": 9, "last": -1, "final": -1, "bottom": -1, "top": 0,
}  # fmt: skip
SUPERLATIVES: dict[str, Order] = {
    "newest": "newest", "latest": "newest", "most recent": "newest", "youngest": "newest",
    "most recently merged": "newest", "most recently opened": "newest", "freshest": "newest",
    "oldest": "oldest", "earliest": "oldest", "least recent": "oldest",
    "biggest": "biggest", "largest": "biggest", "largest one": "biggest", "heaviest": "biggest",
    "smallest": "smallest", "tiniest": "smallest",
}  # fmt: skip

# What a follow-up asks of its referents: the first group are attributes (facts a record holds, or one
# call reads), the second relations (other objects one call reaches). Every pattern of every ask that
# matches is asked; `asks.call_for` and `asks.value_of` say what each means for each kind of object.
ASKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "merged_by",
        (r"\bwho\s+(?:has\s+|had\s+)?merged\b", r"\bmerged\s+by\s+whom\b", r"\bwho\s+hit\s+merge\b"),
    ),
    ("stopped_by", (r"\bwho\s+(?:stopped|cancell?ed|killed|aborted|halted)\b", r"\bstopped\s+by\b")),
    (
        "approvers",
        (
            r"\bwho\s+(?:has\s+|have\s+|had\s+)?(?:approved|signed\s+off|okayed|ok'?d|lgtm'?d)\b",
            r"\bapprov(?:als?|ers?|ed\s+by)\b",
            r"\b(?:is|was|has|have|are|were)\s+(?:it|that|this|they|those|the\s+\w+)(?:\s+\w+)?\s+(?:been\s+)?approved\b",
        ),
    ),
    (
        "reviewers",
        (r"\bwho\s+(?:has\s+|have\s+|had\s+|is\s+|are\s+)?(?:reviewed|reviewing|reviews)\b",
         r"\breviewers?\b", r"\breviewed\s+by\b"),
    ),
    (
        "comments",
        (r"\bcomments?\b", r"\bcommented\b", r"\bdiscussion\b", r"\bfeedback\b",
         r"\bwhat\s+did\s+(?:people|they|reviewers|everyone|anyone|folks|the\s+reviewers)\s+say\b"),
    ),
    (
        "author",
        (
            r"\bwho\s+(?:has\s+|had\s+|have\s+)?(?:opened|open|created|wrote|authored|raised|submitted|made|"
            r"started|triggered|trigger|kicked\s+(?:\w+\s+)?off|ran|run|runs|launched|pushed|deployed|deploy|"
            r"released|shipped|committed|filed|did)\b",
            r"\bwho(?:\s+is|\s+was)?\s+(?:the\s+)?(?:author|owner|creator|deployer)\b",
            r"\b(?:authors?|opened\s+by|created\s+by|triggered\s+by|started\s+by|deployed\s+by|written\s+by|"
            r"deployers?)\b",
            r"\bwhose\s+(?:pr|pull\s+request|commit|change|build|deploy)\b",
        ),
    ),
    (
        "failed_step",
        (r"\b(?:which|what)\s+steps?\b", r"\bfail(?:ed|ing)\s+steps?\b",
         r"\bsteps?\s+(?:that\s+)?(?:fail|broke)"),
    ),
    ("log", (r"\blogs?\b", r"\boutput\b", r"\bstack\s*trace\b", r"\btraceback\b", r"\bconsole\b")),
    (
        "error",
        (r"\bwhy\b", r"\bwhat\s+went\s+wrong\b", r"\berrors?\b", r"\bwhat\s+broke\b", r"\bcause\b",
         r"\breason\b", r"\bwhat\s+happened\b"),
    ),
    (
        "result",
        (
            r"\bdid\s+(?:[\w'-]+\s+){1,4}?(?:pass|fail|succeed|work|go\s+(?:green|red|through)|break|go\s+ok)\b",
            r"\b(?:is|was|are|were)\s+(?:it|that|this|they|the\s+\w+)\s+(?:still\s+)?(?:green|red|passing|"
            r"failing|broken|ok|successful|succeeding)\b",
            r"\b(?:status|result|outcome)\b",
        ),
    ),
    (
        "target_branch",
        (r"\b(?:target|destination|base)\s+branch\b", r"\binto\s+(?:which|what)\s+branch\b",
         r"\b(?:which|what)\s+branch\s+(?:did|does|was|is|were)\s+(?:it|that|this|they)\s+(?:merged?|"
         r"going|targeting|target)\b"),
    ),
    (
        "branch",
        (r"\b(?:which|what)\s+branch\b", r"\bsource\s+branch\b", r"\bon\s+which\s+branch\b",
         r"\bbranch\s+(?:was|is|were)\s+(?:it|that|this|they)\b"),
    ),
    ("release", (r"\b(?:which|what)\s+(?:release|version)\b", r"\brelease\s+(?:name|number)\b")),
    ("commit", (r"\b(?:which|what)\s+(?:commit|sha|hash|revision)\b(?!s)", r"\bcommit\s+hash\b")),
    (
        "state",
        (r"\b(?:is|was|has)\s+(?:it|that|this)(?:\s+\w+)?\s+(?:been\s+|still\s+)?(?:merged|open|declined|"
         r"closed)\b", r"\bstill\s+open\b"),
    ),
    ("opened_at", (r"\bwhen\b.*\b(?:opened|open|created|raised|submitted)\b",)),
    ("closed_at", (r"\bwhen\b.*\b(?:merged?|closed?|declined?)\b",)),
    (
        "finished_at",
        (r"\bwhen\b.*\b(?:finish(?:ed)?|complete[d]?|end(?:ed)?|go\s+out|went\s+out|done|deployed?|"
         r"released?|shipped?|land(?:ed)?|go\s+live|went\s+live)\b",),
    ),
    (
        "started_at",
        (r"\bwhen\b.*\b(?:start(?:ed)?|run|ran|trigger(?:ed)?|kick(?:ed)?\s+off|fail(?:ed)?|break|broke|"
         r"pushed?|committed|written|made)\b",),
    ),
    ("when", (r"\bwhen\b", r"\bwhat\s+time\b", r"\bhow\s+long\s+ago\b")),
    # relations
    ("commits", (r"\bcommits\b", r"\b(?:which|what)\s+commits\b")),
    (
        "prs",
        (r"\b(?:which|what)\s+(?:pr|pull\s+request|merge\s+request)s?\b",
         r"\b(?:pr|pull\s+request)s?\s+(?:behind|for)\b", r"\b(?:came|come|comes)\s+from\b",
         r"\bbr(?:ought|ing|ings)\s+(?:it\s+|that\s+|this\s+|them\s+)?in\b",
         r"\bpart\s+of\s+(?:which|what|a)\s+(?:pr|pull\s+request)\b"),
    ),
    ("diff", (r"\bdiffs?\b", r"\bpatch\b", r"\bcode\s+changes?\b", r"\bthe\s+changes\b")),
    (
        "files",
        (r"\bfiles?\b", r"\bdiffstat\b", r"\bpaths?\b", r"\btouch(?:ed|es)?\b",
         r"\bwhat\s+(?:did|does|do)\s+(?:it|that|they|this|those|them|the\s+\w+(?:\s+one)?)\s+(?:change|"
         r"modify|edit)\b"),
    ),
    (
        "shipped",
        (r"\bship(?:ped|s)?\b", r"\b(?:went|go|goes)\s+out\b",
         r"\bwhat(?:\s+is|\s+was)?\s+in\s+(?:it|that|this|there|the\s+\w+)\b", r"\bincluded?\b",
         r"\bcontain(?:s|ed)?\b", r"\bwhat\s+(?:changed|changes)\b", r"\bchanged\b"),
    ),
)  # fmt: skip
TIME_ASKS: frozenset[str] = frozenset({"opened_at", "closed_at", "finished_at", "started_at", "when"})
RELATIONS: frozenset[str] = frozenset({"commits", "prs", "diff", "files", "shipped"})
DETAILS: tuple[str, ...] = (
    r"\bdetails?\b", r"\bmore\s+about\b", r"\btell\s+me\s+(?:more|about)\b", r"\binfo\b", r"\bshow\b",
    r"\blook\s+at\b", r"\bopen\s+(?:it|that|the)\b",
)  # fmt: skip

# "which of those …", "only the ones …": narrow the previous answer (intake's cue `filter_previous`)
FILTER_CUES: tuple[str, ...] = (
    r"\b(?:which|what|any|how\s+many)\s+of\s+(?:those|these|them)\b",
    r"\b(?:only|just)\s+(?:the\s+)?(?:ones?|those)\b",
    r"\bof\s+(?:those|these|them)\b", r"\bamong\s+(?:those|these|them)\b", r"\bwhich\s+ones\b",
)  # fmt: skip
# "and in payments?", "what about last week?", "same for staging": the previous question re-scoped
REVISION_CUES: tuple[str, ...] = (
    r"^\s*(?:and|also|ok(?:ay)?|now|then|so|but)\b", r"^\s*(?:what|how)\s+about\b",
    r"\bsame\s+(?:for|in|on|with)\b",
    r"\bsame\s+(?:thing|question|again|query)\b", r"^\s*(?:only|just)\b", r"\binstead\b", r"\bones\b",
)  # fmt: skip
NARROWING_CUES: tuple[str, ...] = (r"^\s*(?:only|just)\b", r"\b(?:only|just)\s+(?:the\s+)?ones\b")
