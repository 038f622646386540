"""The rules planner as data: which family a question is about, which intent within it, and the tool call.

Three tables, read top to bottom (the first row whose condition holds wins):

* `FAMILIES` — a `When` over the question's features (`agent.planners.draft.features`: topics, intake's
  cues, which filters are present) → the family.
* `INTENTS` — per family, a `When` → the tool to call, the arguments the row fixes, the default windows
  (`WindowRule`, first match; a span of None means "no window") and the `shape` that turns the row into
  steps (one call, one per repository, per number, …; `agent.planners.rules.SHAPES`).
* the slots — every other argument of the row's tool is filled from the question by the slot of the same
  name (`agent.planners.slots.SLOTS`: the slots are exactly the tools' arguments), so a filter a tool
  gains is one slot, and every row calling that tool applies it.

A new phrasing is a vocabulary row (`agent.intake.vocab`); a new way of asking is a row here. Adding a row:
give it a name (the plan's intent), its family, the tool, when it applies (feature names, see `features`),
and, if the tool lists over time, its default windows; put it above the rows it must win over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from bbscout.agent.plan import Family

__all__ = ["FAMILIES", "INTENTS", "FamilyRule", "Intent", "Shape", "When", "WindowRule", "when"]

PIPELINE_DEFAULT = timedelta(hours=24)
RECENT_DEFAULT = timedelta(days=7)

Shape = Literal[
    "one",  # one call with every slot filled
    "per_default_branch",  # "on main" across repositories whose main branch differs: one call per name
    "per_repo_branch",  # one call per repository, on the named branch or the repository's main branch
    "per_repo",  # one call per named repository
    "single_repo",  # one call about one object of one repository (asks which repository if unclear)
    "each_number",  # one call per PR number, in one repository
    "each_commit",  # the commit and the PRs that brought it, per hash, in one repository
    "each_path",  # a file or directory per path (at most 3), in one repository
    "single_repo_file",  # one file described by words, in one repository (asks which if unclear)
    "each_query",  # one code search per symbol or path name (at most 3)
    "newest_then_changes",  # newest deployment across repositories, then (review) what it shipped
    "stale_branches",  # branches with no commit since a cutoff
]


@dataclass(frozen=True)
class When:
    """A condition over feature names: all of `all_of`, at least one of `any_of` (if given), none of
    `none_of`."""

    all_of: frozenset[str] = frozenset()
    any_of: frozenset[str] = frozenset()
    none_of: frozenset[str] = frozenset()

    def holds(self, features: frozenset[str]) -> bool:
        return (
            self.all_of <= features
            and (not self.any_of or bool(self.any_of & features))
            and not self.none_of & features
        )


def when(all_of: str = "", any_of: str = "", none_of: str = "") -> When:
    """`When` from space-separated feature names (the table reads as words)."""
    return When(frozenset(all_of.split()), frozenset(any_of.split()), frozenset(none_of.split()))


ALWAYS = When()
_TOPICS = "topic:pipelines topic:pull_requests topic:commits topic:branches topic:deployments topic:code"
_ALL_TOPICS = _TOPICS + " topic:repositories"
# filters that select a few objects out of all history: no default window narrows them
_SELECTIVE = "pick text path reviewer approver participant"


@dataclass(frozen=True)
class FamilyRule:
    family: Family
    when: When


FAMILIES: tuple[FamilyRule, ...] = (
    FamilyRule("incident", when("mode:investigate")),
    # "who broke main?", "why are the builds failing?", "tests keep failing randomly"
    FamilyRule("incident", when("breakage", none_of="build_number")),
    # "what did Priya merge?", "anything open against main?"
    FamilyRule("pull_requests", when("merged_prs")),
    FamilyRule("pull_requests", when("open_against pr_topic_only")),
    FamilyRule(
        "incident",
        when(
            "incident:strong",
            none_of="topic:pipelines topic:pull_requests topic:branches topic:code topic:repositories",
        ),
    ),
    FamilyRule("incident", when("incident:weak scoped no_topic", none_of="build_number")),
    FamilyRule("code", when("topic:code", any_of="symbol path")),
    # "what's the timeout in checkout's prod config?": a file described by what it is
    FamilyRule("code", when("file_words", none_of=_TOPICS.replace("topic:code", ""))),
    FamilyRule("code", when("path no_topic show")),
    # "cat Dockerfile from the release/2.4 branch": a file, at a branch
    FamilyRule("code", when("path show topic:branches", none_of=_ALL_TOPICS.replace("topic:branches", ""))),
    # "did the feature/x branch fail?": its pipelines
    FamilyRule(
        "pipelines",
        when(
            "topic:branches",
            any_of="results running",
            none_of="topic:pull_requests topic:deployments topic:code ask:stale",
        ),
    ),
    FamilyRule("pipelines", when("topic:pipelines topic:pull_requests pipeline_words pr_number")),
    # "which commit is live in prod for auth?": the live deployment
    FamilyRule("deployments", when("current env topic:deployments")),
    FamilyRule("deployments", when("current env topic:commits")),
    FamilyRule("deployments", when("topic:deployments")),
    FamilyRule("pull_requests", when("topic:pull_requests")),
    FamilyRule("pipelines", when("topic:pipelines")),
    FamilyRule("branches", when("topic:branches")),
    FamilyRule("commits", when("topic:commits")),
    FamilyRule("repositories", when("topic:repositories")),
    FamilyRule("code", when("symbol topic:code")),
    FamilyRule("pipelines", when(any_of="build_number results running trigger")),
    FamilyRule("pull_requests", when(any_of="pr_number awaiting_review draft reviewer approver participant")),
    # "what has dependabot opened?": people open pull requests
    FamilyRule("pull_requests", when("people no_topic", any_of="created open_verb")),
    FamilyRule("commits", when(any_of="commit merged_state path landed")),
    FamilyRule("commits", when("ask:changes scoped_or_branch")),
    FamilyRule("deployments", when("env")),
    FamilyRule("code", when("symbol")),
)


@dataclass(frozen=True)
class WindowRule:
    """When the question names no time: `span` back from now (None = no window), said as `label`."""

    when: When
    span: timedelta | None
    label: str = ""
    say: str = ""  # what the plan states when this rule applies (the default's own line otherwise)


@dataclass(frozen=True)
class Intent:
    """One way of asking: when it applies, the tool it calls and how (see the module docstring)."""

    name: str
    family: Family
    tool: str
    when: When = ALWAYS
    fixed: Mapping[str, Any] = field(default_factory=dict)
    windows: tuple[WindowRule, ...] = ()
    shape: Shape = "one"
    why: str = ""


_NO_WINDOW_WHEN_SELECTIVE = WindowRule(when(any_of=_SELECTIVE), None, say="{selective}: over all history")
# Pull requests are filtered by person server-side (BBQL), so a person narrows them as much as a text:
# "has Hannah had any PRs declined?" means ever. Commits are filtered by person client-side (the whole
# history would be read), so there a person keeps the default window.
_NO_PR_WINDOW_WHEN_SELECTIVE = WindowRule(
    when(any_of=_SELECTIVE + " people"), None, say="{selective}: over all history"
)

INTENTS: tuple[Intent, ...] = (
    # --- pipelines
    Intent(
        "why a pipeline failed",
        "pipelines",
        "pipeline_failure",
        when("build_or_hash", any_of="ask:log ask:why failed"),
        shape="single_repo",
        why="the failed steps, log tail and tests",
    ),
    Intent("a pipeline", "pipelines", "get_pipeline", when("build_or_hash"), shape="single_repo"),
    Intent(
        "pipelines",
        "pipelines",
        "list_pipelines",
        windows=(
            WindowRule(
                when("work_branch", none_of="pr_number"), None, say="every run of {branch} (a work branch)"
            ),
            WindowRule(when("pick"), None, say="the {pick} one, whenever it ran"),
            WindowRule(when("running", none_of="results"), None, say="unfinished now, whenever they started"),
            WindowRule(when("pr_number"), RECENT_DEFAULT, "last 7 days"),
            WindowRule(ALWAYS, PIPELINE_DEFAULT, "last 24 hours"),
        ),
        shape="per_default_branch",
        why="pipelines matching the question",
    ),
    # --- pull requests
    Intent(
        "a pull request",
        "pull_requests",
        "get_pull_request",
        when(any_of="pr_number hash_number"),
        shape="each_number",
    ),
    # "which PR brought commit 0f88105?"
    Intent(
        "the pull request of a commit",
        "pull_requests",
        "pull_requests_for_commit",
        when("commit"),
        shape="each_commit",
    ),
    Intent(
        "pull requests",
        "pull_requests",
        "list_pull_requests",
        windows=(
            _NO_PR_WINDOW_WHEN_SELECTIVE,
            WindowRule(
                when("explicit_state named_repo", none_of="ask:recent ask:latest open_only"),
                None,
                say="every {states} pull request in {repos}, newest first",
            ),
            WindowRule(when("open_only", none_of="ask:recent"), None),
            WindowRule(ALWAYS, RECENT_DEFAULT, "last 7 days"),
        ),
        shape="per_default_branch",
        why="pull requests matching the question",
    ),
    # --- commits
    Intent("a commit", "commits", "get_commit", when("commit"), shape="each_commit"),
    Intent(
        "commits",
        "commits",
        "list_commits",
        windows=(
            WindowRule(when("count"), None, say="the last {count} commits (no time given)"),
            _NO_WINDOW_WHEN_SELECTIVE,
            WindowRule(ALWAYS, RECENT_DEFAULT, "last 7 days"),
        ),
        shape="per_repo_branch",
    ),
    # --- branches
    Intent(
        "stale branches",
        "branches",
        "list_branches",
        when("ask:stale"),
        shape="stale_branches",
        why="branches with no recent commit",
    ),
    Intent(
        "branches",
        "branches",
        "list_branches",
        windows=(
            WindowRule(when("pick"), None, say="the {pick} one, whenever its last commit was"),
            WindowRule(when(any_of="ask:recent window"), RECENT_DEFAULT, "last 7 days"),
            WindowRule(ALWAYS, None),
        ),
        why="branches by most recent commit",
    ),
    # --- deployments
    Intent(
        "what a deployment shipped",
        "deployments",
        "deployment_changes",
        when("wants_changes repo", none_of="window"),
        shape="per_repo",
    ),
    Intent(
        "what the latest deployment shipped",
        "deployments",
        "list_deployments",
        when("wants_changes"),
        fixed={"latest_per_environment": True},
        shape="newest_then_changes",
    ),
    Intent(
        "what is live",
        "deployments",
        "list_deployments",
        when("current", none_of="rollback pick ask:who"),
        fixed={"current": True},
        why="the live deployment: the latest successful one per repository and environment",
    ),
    Intent(
        "the newest deployment",
        "deployments",
        "list_deployments",
        when("pick", none_of="rollback window each"),
        why="the one deployment asked for",
    ),
    Intent(
        "latest deployment per environment",
        "deployments",
        "list_deployments",
        when("ask:latest", none_of="window rollback count"),  # "the last 3 deployments" is a list
        fixed={"latest_per_environment": True},
        why="what is deployed now",
    ),
    Intent(
        "deployments",
        "deployments",
        "list_deployments",
        windows=(
            WindowRule(when("count"), None, say="the last {count} deployments, whenever they ran"),
            WindowRule(ALWAYS, RECENT_DEFAULT, "last 7 days"),
        ),
        why="deployments in the window",
    ),
    # --- code
    Intent("a file", "code", "browse_source", when("path show", none_of="symbol"), shape="each_path"),
    Intent(
        "a file described",
        "code",
        "browse_source",
        when("file_words", none_of="path symbol"),
        shape="single_repo_file",
        why="the file the description names",
    ),
    Intent(
        "a file",
        "code",
        "browse_source",
        when("path", none_of="symbol search usage definition"),
        shape="each_path",
    ),
    Intent("code search", "code", "search_code", shape="each_query"),
    # --- repositories
    Intent("repositories", "repositories", "list_repositories", why="the workspace's repositories"),
)
