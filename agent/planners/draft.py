"""The rules planner's working state for one request: what intake read, and the plan being built.

`Draft` collects steps, focus, the window and what was (not) understood, and turns into a `Plan` with its
constraints recorded (`constraints_of`). `features` is the question as the planner's table sees it: a set
of names (topics, cues, which filters are present) that the rows of `agent.planners.table` match on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, timedelta
from typing import Any

from bbscout.agent.focus import Constraint, Focus
from bbscout.agent.intake import Understanding
from bbscout.agent.intake.vocab import LONG_LIVED_BRANCHES
from bbscout.agent.plan import Family, Plan, Step, Window
from bbscout.agent.planners.base import PlanRequest
from bbscout.agent.planners.constraints import constraints_of
from bbscout.tools.evidence import RepositoryRecord

__all__ = ["LLM_HINT", "Draft", "features"]

LLM_HINT = "the LLM planner (set OPENAI_API_KEY / OPENAI_BASE_URL / BBSCOUT_MODEL) handles freer questions"


class Draft:
    """Per-request working state: the request, intake's reading, and the plan being built."""

    def __init__(self, request: PlanRequest, u: Understanding) -> None:
        self.request = request
        self.u = u
        self.now = request.now.astimezone(UTC)
        self.understood: list[str] = []
        self.not_understood: list[str] = []
        self.clarify: list[str] = []
        self.focus = Focus()
        self.steps: list[Step] = []
        self.window: Window | None = u.window
        self.repos: list[str] | None = None

    def step(
        self,
        tool: str,
        args: dict[str, Any],
        why: str,
        *,
        primary: bool = False,
        depends_on: Sequence[str] = (),
    ) -> Step:
        """Add a step (unset arguments dropped) with an id unique in the plan."""
        base = tool if not args.get("repo") else f"{tool}:{args['repo']}"
        sid, n = base, 2
        while any(s.id == sid for s in self.steps):
            sid, n = f"{base}#{n}", n + 1
        clean = {k: v for k, v in args.items() if v is not None and v != [] and v is not False}
        s = Step(id=sid, tool=tool, args=clean, why=why, primary=primary, depends_on=list(depends_on))
        self.steps.append(s)
        return s

    def default_window(self, span: timedelta, label: str) -> Window:
        if self.window is None:
            self.window = Window(start=self.now - span, end=self.now, label=label)
            self.understood.append(f"no time given: using the {label}")
        return self.window

    def target_repos(self) -> tuple[list[str] | None, bool]:
        """(repos, ok): explicit --repo flags win; ambiguous → clarify; unknown → not understood (never a
        look-alike, never the whole workspace instead)."""
        if self.request.repo_filter:
            self.understood.append(f"repositories (from --repo): {', '.join(self.request.repo_filter)}")
            return list(self.request.repo_filter), True
        ok = True
        for m in self.u.repo_mentions:
            if m.status == "ambiguous":
                self.clarify.append(
                    f"Which repository do you mean by '{m.phrase}'? Candidates: {', '.join(m.candidates)}"
                )
                ok = False
            elif m.status == "unknown":
                closest = f" (closest: {', '.join(m.candidates)})" if m.candidates else ""
                self.not_understood.append(f"no repository matches '{m.phrase}'{closest}")
                ok = False
        if self.u.repos:
            names = ", ".join(
                f"'{m.phrase}' → {m.slugs[0]}" for m in self.u.repo_mentions if m.status == "resolved"
            )
            self.understood.append(f"repositories: {names}")
            return list(self.u.repos), ok
        if ok:
            self.understood.append("repositories: all in the workspace (none named)")
        return None, ok

    def single_repo(self, repos: list[str] | None, what: str) -> str | None:
        """The one repository `what` is in, or None after asking which."""
        if repos and len(repos) == 1:
            return repos[0]
        if repos is None and len(self.request.repositories) == 1:
            return self.request.repositories[0].slug
        options = ", ".join(repos or [r.slug for r in self.request.repositories][:12])
        self.clarify.append(f"Which repository is {what} in?" + (f" ({options})" if options else ""))
        return None

    def repo_records(self, repos: list[str] | None) -> list[RepositoryRecord]:
        """The records of `repos` (every repository when None); unknown slugs get a bare record."""
        known = {r.slug: r for r in self.request.repositories}
        if repos is None:
            return list(self.request.repositories)
        return [
            known.get(s) or RepositoryRecord(ref=f"repo:{s}", repo=s, url="", title=s, slug=s, name=s)
            for s in repos
        ]

    def plan(self, family: Family, intent: str, repos: list[str] | None) -> Plan:
        if self.window is not None and not any(
            x.startswith(("window", "no time given")) for x in self.understood
        ):
            w = self.window
            self.understood.append(f"window: {w.label} ({w.start:%Y-%m-%d %H:%M}–{w.end:%Y-%m-%d %H:%M} UTC)")
        if self.not_understood and family == "unknown":
            self.not_understood.append(f"the rules planner only maps common question shapes; {LLM_HINT}")
        plan = Plan(
            family=family,
            intent=intent,
            steps=[] if self.clarify else self.steps,
            window=self.window,
            repos=repos,
            focus=self.focus,
            understood=self.understood,
            not_understood=self.not_understood,
            clarify=self.clarify,
        )
        plan.constraints = self.constraints(plan)
        return plan

    def constraints(self, plan: Plan) -> list[Constraint]:
        return constraints_of(
            self.u, plan, repositories=self.request.repositories, repo_filter=self.request.repo_filter
        )


def features(d: Draft) -> frozenset[str]:
    """The question as the table sees it: topics, cues, asks and which filters are present, by name.

    Names: `topic:<family>`, every intake cue (`vocab.CUES`), `ask:<ask>`, and `build_number`,
    `pr_number`, `hash_number`, `commit`, `path`, `symbol`, `text`, `window`, `repo`, `branch`,
    `default_branch`, `work_branch`, `results`, `failed`, `running`, `trigger`, `awaiting_review`,
    `draft`, `env`, `pick`, `current`, `landed`, `count`, `author`, `reviewer`, `approver`,
    `participant`, `people`, `breakage`, `incident:strong|weak`, `mode:investigate`, `merged_prs`,
    `wants_changes`, `scoped`.
    """
    u, req = d.u, d.request
    topics = set(u.topics)
    if "release_branches" in u.cues:
        topics.discard("deployments")  # "release branches" are branches
    present = {
        "build_number": bool(u.build_numbers),
        "build_or_hash": bool(u.build_numbers or (u.hash_numbers and not u.pr_numbers)),
        "pr_number": bool(u.pr_numbers),
        "hash_number": bool(u.hash_numbers),
        "commit": bool(u.commits),
        "path": bool(u.paths),
        "symbol": bool(u.symbols),
        "file_words": bool(u.file_words),
        "text": bool(u.texts),
        "window": u.window is not None,
        "repo": bool(u.repos or req.repo_filter),
        "branch": u.branch is not None,
        "default_branch": u.default_branch,
        "work_branch": bool(u.branch_words)
        or (u.branch is not None and not u.default_branch and u.branch.lower() not in LONG_LIVED_BRANCHES),
        "results": bool(u.results),
        "failed": bool(set(u.results) & {"FAILED", "ERROR"}),
        "running": u.in_progress,
        "trigger": u.trigger is not None,
        "awaiting_review": u.awaiting_review,
        "draft": u.draft,
        "env": u.environment is not None,
        "pick": u.pick is not None,
        "current": u.current,
        "landed": u.landed,
        "count": u.count is not None,
        "author": bool(u.authors),
        "reviewer": bool(u.reviewers),
        "approver": bool(u.approvers),
        "participant": bool(u.participants),
        "people": bool(u.authors or u.reviewers or u.approvers or u.participants),
        "breakage": u.breakage is not None,
        "incident:strong": u.incident == "strong",
        "incident:weak": u.incident == "weak",
        "mode:investigate": req.mode == "investigate",
        "merged_state": "MERGED" in u.pr_states,
        "scoped": bool(u.window or u.repos),
        "scoped_or_branch": bool(u.window or u.repos or u.branch),
    }
    names = {name for name, on in present.items() if on}
    names |= {f"topic:{t}" for t in topics} | set(u.cues) | {f"ask:{a}" for a in u.asks}
    if not topics:
        names.add("no_topic")
    if topics <= {"pull_requests"}:
        names.add("pr_topic_only")
    # "what did Priya merge?": merged pull requests; with a commit noun it stays a commits question
    if (
        "merge_verb" in names
        and "commit_noun" not in names
        and not topics - {"commits", "pull_requests"}
        and not u.commits
        and not u.paths
    ):
        names.add("merged_prs")
    # "what shipped in the last deploy": a deployment's change set (not for rollbacks or "who")
    if ({"ask:changes", "shipped_with"} & names) and not {"rollback", "ask:who"} & names:
        names.add("wants_changes")
    return frozenset(names)
