"""The template answer to a chat follow-up about referents: what was asked of the objects it points at.

The first line names the referent as bound ("The oldest one, pr:checkout-service#67 “…”, was opened by
Raj Patel …"), so a follow-up can never silently answer about something else; a follow-up that could
not be bound asks which one was meant and lists the candidates (they stay cited, so "the second"
binds next). Attributes come from the freshest record of each referent (this turn's over the thread's);
relations from the one call made: a PR's files, diff or commits, the PR behind a commit, the build of a
PR. What a deployment shipped, and plain details, are the family writers' (`agent.reporters.rules`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime

from bbscout.agent.focus import About
from bbscout.agent.plan import Plan, StepOutcome, by_ref, records_of
from bbscout.agent.planners.base import PlanRequest
from bbscout.agent.referents.asks import files_held, steps_held
from bbscout.agent.referents.subjects import subjects
from bbscout.agent.referents.thread import thread_records
from bbscout.agent.referents.vocab import RELATIONS
from bbscout.agent.report import Report
from bbscout.agent.reporters.rules import (
    commit_line,
    first_line,
    link,
    listing,
    pr_line,
    report_code,
    report_deployment_changes,
    when,
)
from bbscout.tools.evidence import (
    BranchRecord,
    CommitRecord,
    DeploymentRecord,
    Evidence,
    FileChangeRecord,
    PipelineRecord,
    PullRequestRecord,
    StepRecord,
)
from bbscout.tools.pick import plural

__all__ = ["report_about", "which_one"]

FAILED = ("FAILED", "ERROR")
_EXCEPTION = re.compile(r"^E\s+\S|\b\w*(?:Error|Exception|Timeout)\b|\bTraceback\b|\bpanic:")
_KIND_NOUN = {
    PullRequestRecord: ("pull request", "pull requests"),
    PipelineRecord: ("pipeline", "pipelines"),
    DeploymentRecord: ("deployment", "deployments"),
    CommitRecord: ("commit", "commits"),
    BranchRecord: ("branch", "branches"),
}
_LOG_LINES = 20


def _name(record: Evidence) -> str:
    """A referent as the first line names it: its linked ref and what it is."""
    match record:
        case PullRequestRecord():
            return f"{link(record)} “{first_line(record.subject or record.title, 80)}”"
        case PipelineRecord():
            where = f" on `{record.branch}`" if record.branch else ""
            return f"{link(record)} ({record.result or record.state}{where})"
        case DeploymentRecord():
            return f"{link(record)} ({record.environment} release “{record.release}”)"
        case CommitRecord():
            return f"{link(record)} “{first_line(record.message, 80)}”"
    return link(record)


def objects_of(records: Sequence[Evidence]) -> list[Evidence]:
    """The records this writer states facts of (files and repositories are shown as code)."""
    return [r for r in records if type(r) in _KIND_NOUN]


def _noun(records: Sequence[Evidence]) -> str:
    kinds = {type(r) for r in records}
    one, many = (
        _KIND_NOUN.get(kinds.pop(), ("object", "objects")) if len(kinds) == 1 else ("object", "objects")
    )
    return one if len(records) == 1 else many


# --- attributes ----------------------------------------------------------------------------------------


class _Facts:
    """What this turn and the thread hold about the referents (steps, files, commits, PRs found)."""

    def __init__(self, outcomes: Sequence[StepOutcome], held: Sequence[Evidence]) -> None:
        self.records = [*held, *(r for o in outcomes for r in o.records)]
        self.outcomes = outcomes

    def steps(self, p: PipelineRecord) -> list[StepRecord]:
        return list({s.ref: s for s in steps_held(p, self.records)}.values())

    def files(self, record: Evidence) -> list[FileChangeRecord]:
        found = files_held(record, self.records)
        for o in self.outcomes:  # get_pull_request / get_commit: the object first, then its files
            if o.records and o.records[0].ref == record.ref:
                found += [f for f in o.records if isinstance(f, FileChangeRecord)]
        return list({f.path: f for f in found}.values())


def _details(record: Evidence, facts: _Facts) -> list[str]:
    """What "tell me more about it" states of each kind of object (and what a detail call fetched)."""
    match record:
        case PipelineRecord() if record.result in FAILED or record.result == "STOPPED":
            return ["error", "author", "started_at"] + (["stopped_by"] if record.result == "STOPPED" else [])
        case PipelineRecord():
            return ["result", "branch", "author", "started_at"]
        case PullRequestRecord():
            asked = ["state", "author", "branch"] + (["approvers"] if record.approved_by else [])
            return asked + (["files"] if facts.files(record) else [])
        case DeploymentRecord():
            return ["result", "release", "author", "finished_at"]
        case CommitRecord():
            return ["author", "when"] + (["files"] if facts.files(record) else [])
        case BranchRecord():
            return ["author", "commits"]
    return []


def _cause(p: PipelineRecord, facts: _Facts) -> str:
    if p.error_message:
        return p.error_message
    for step in facts.steps(p):
        if step.result in FAILED:
            lines = [x.strip() for x in step.error_lines if x.strip()]
            line = next((x for x in lines if _EXCEPTION.search(x)), lines[0] if lines else "")
            return f"step “{step.name}” {step.result}" + (f": {first_line(line, 160)}" if line else "")
    return ""


def _at(moment: datetime | None) -> str:
    return when(moment) if moment else "an unknown time"


def _pr_fact(pr: PullRequestRecord, ask: str) -> str | None:
    closed = pr.state in ("MERGED", "DECLINED", "SUPERSEDED")
    facts: dict[str, Callable[[], str]] = {
        "author": lambda: f"opened by **{pr.author}** at {_at(pr.created_on)}",
        "merged_by": lambda: (
            f"merged by **{pr.closed_by or 'someone Bitbucket does not name'}** at {_at(pr.updated_on)}"
            if pr.state == "MERGED"
            else f"not merged (it is {pr.state})"
        ),
        "approvers": lambda: (
            "approved by **" + ", ".join(pr.approved_by) + "**"
            if pr.approved_by
            else "not approved by anyone yet"
        ),
        "reviewers": lambda: (
            "reviewed by **" + ", ".join(pr.reviewers) + "**" if pr.reviewers else "without named reviewers"
        ),
        "opened_at": lambda: f"opened at **{_at(pr.created_on)}** by {pr.author}",
        "closed_at": lambda: (
            f"{pr.state.lower()} at **{_at(pr.updated_on)}**"
            + (f" by {pr.closed_by}" if pr.closed_by else "")
            if closed
            else f"still {pr.state}"
        ),
        "branch": lambda: f"from branch **`{pr.source_branch}`** into `{pr.destination_branch}`",
        "target_branch": lambda: f"into **`{pr.destination_branch}`** (from `{pr.source_branch}`)",
        "state": lambda: f"**{pr.state}**" + (f" (merged by {pr.closed_by})" if pr.state == "MERGED" else ""),
        "when": lambda: (
            f"{'closed' if closed else 'opened'} at **{_at(pr.updated_on if closed else pr.created_on)}**"
        ),
        "started_at": lambda: f"opened at **{_at(pr.created_on)}**",
        "commit": lambda: f"merge commit `{pr.merge_commit[:12]}`" if pr.merge_commit else "not merged yet",
    }
    fact = facts.get(ask)
    return fact() if fact else None


def _pipeline_fact(p: PipelineRecord, ask: str, facts: _Facts) -> str | None:
    failed_steps = [
        s for s in facts.steps(p) if s.result in FAILED or (p.result == "STOPPED" and s.result == "STOPPED")
    ]
    how = f", {p.trigger.lower()}" if p.trigger else ""
    table: dict[str, Callable[[], str]] = {
        "author": lambda: (
            f"triggered by **{p.creator or 'nobody Bitbucket names'}**{how} at {_at(p.created_on)}"
        ),
        "stopped_by": lambda: (
            f"stopped by **{p.stopped_by}**"
            if p.stopped_by
            else f"not stopped by anyone (result {p.result or p.state})"
        ),
        "branch": lambda: (
            f"ran on branch **`{p.branch}`**" + (f" (PR #{p.pr_id})" if p.pr_id else "")
            if p.branch
            else "ran on no branch Bitbucket names"
        ),
        "result": lambda: f"**{p.result or p.state}**",
        "failed_step": lambda: (
            "failed in step " + ", ".join(f"**“{s.name}”** ({s.result})" for s in failed_steps)
            if failed_steps
            else f"had no failed step ({p.result or p.state})"
        ),
        "error": lambda: (
            f"**{p.result}** — {_cause(p, facts) or 'its failing step gave no error line'}"
            if p.result in FAILED
            else f"did not fail (**{p.result or p.state}**)"
        ),
        "started_at": lambda: f"started at **{_at(p.created_on)}**",
        "finished_at": lambda: f"finished at **{_at(p.completed_on)}** ({p.result or p.state})",
        "when": lambda: f"ran at **{_at(p.created_on)}**",
        "commit": lambda: (
            f"built commit `{p.commit[:12]}`" if p.commit else "built no commit Bitbucket names"
        ),
    }
    fact = table.get(ask)
    return fact() if fact else None


def _deployment_fact(d: DeploymentRecord, ask: str) -> str | None:
    table: dict[str, Callable[[], str]] = {
        "author": lambda: f"deployed by **{d.deployer or 'nobody Bitbucket names'}** at {_at(d.started_on)}",
        "finished_at": lambda: (
            f"finished at **{_at(d.completed_on)}** (started {_at(d.started_on)}), {d.status or d.state}"
        ),
        "started_at": lambda: f"started at **{_at(d.started_on)}**",
        "when": lambda: f"deployed at **{_at(d.completed_on or d.started_on)}**",
        "release": lambda: f"release **“{d.release}”**",
        "commit": lambda: f"commit **`{d.commit[:12]}`**" if d.commit else "no commit Bitbucket names",
        "result": lambda: f"**{d.status or d.state}**",
        "error": lambda: f"**{d.status or d.state}**",
        "branch": lambda: f"{d.environment}, release “{d.release}”",
    }
    fact = table.get(ask)
    return fact() if fact else None


def _commit_fact(c: CommitRecord, ask: str) -> str | None:
    table: dict[str, Callable[[], str]] = {
        "author": lambda: f"written by **{c.author}** at {_at(c.date)}",
        "when": lambda: f"committed at **{_at(c.date)}**",
        "started_at": lambda: f"committed at **{_at(c.date)}**",
        "branch": lambda: f"on branch **`{c.branch}`**" if c.branch else "on no branch the listing named",
    }
    fact = table.get(ask)
    return fact() if fact else None


def _fact(record: Evidence, ask: str, facts: _Facts) -> str | None:
    match record:
        case PullRequestRecord():
            return _pr_fact(record, ask)
        case PipelineRecord():
            return _pipeline_fact(record, ask, facts)
        case DeploymentRecord():
            return _deployment_fact(record, ask)
        case CommitRecord():
            return _commit_fact(record, ask)
        case BranchRecord() if ask in ("author", "when"):
            return f"last commit by **{record.head_author}** at {_at(record.head_date)}"
    return None


def _comments(pr: PullRequestRecord) -> str:
    if not pr.comments:
        return "no comments" if pr.comment_count == 0 else f"{pr.comment_count} comment(s), none readable"
    people = list(dict.fromkeys(c.split(":", 1)[0].split(" (")[0] for c in pr.comments))
    return f"{plural(len(pr.comments), 'comment')} by **{', '.join(people)}**:\n" + "\n".join(
        f"  - {first_line(c, 300)}" for c in pr.comments[:12]
    )


def _log(p: PipelineRecord, facts: _Facts) -> str:
    parts = []
    for step in facts.steps(p):
        if step.result not in FAILED and step.result != "STOPPED":
            continue
        tail = (step.log_tail or "\n".join(step.error_lines)).splitlines()[-_LOG_LINES:]
        parts.append(f"step “{step.name}” {step.result}:\n```\n" + "\n".join(tail) + "\n```")
    return "\n".join(parts) or "no log was readable for it"


def _attributes(record: Evidence, asks: Sequence[str], facts: _Facts) -> list[str]:
    said: list[str] = []
    for ask in asks:
        if ask == "comments" and isinstance(record, PullRequestRecord):
            said.append(_comments(record))
        elif ask == "log" and isinstance(record, PipelineRecord):
            said.append(
                f"**{record.result or record.state}** — {_cause(record, facts)}\n\n{_log(record, facts)}"
            )
        elif ask not in RELATIONS:
            fact = _fact(record, ask, facts)
            if fact:
                said.append(fact)
    return said


# --- relations -----------------------------------------------------------------------------------------


def _file_line(f: FileChangeRecord) -> str:
    moved = f" (from `{f.old_path}`)" if f.old_path else ""
    return f"{link(f)} {f.status} +{f.lines_added}/-{f.lines_removed}{moved}"


def _related(record: Evidence, ask: str, facts: _Facts) -> tuple[str, list[Evidence]]:
    """(text, cited records) of one relation of `record`."""
    if ask in ("files", "diff", "shipped") and isinstance(record, PullRequestRecord | CommitRecord):
        files = facts.files(record)
        text = f"changes {plural(len(files), 'file')}:\n" + listing(files, _file_line)
        if ask == "diff":
            for f in files[:10]:
                if f.diff_excerpt:
                    text += f"\n\n`{f.path}`:\n```diff\n{f.diff_excerpt}\n```"
        return text, list(files)
    if ask == "commits" and isinstance(record, PullRequestRecord):
        commits = [
            c
            for c in records_of(facts.outcomes, CommitRecord)
            if c.pr_id == record.id and c.repo == record.repo
        ]
        return f"has {plural(len(commits), 'commit')}:\n" + listing(commits, commit_line), list(commits)
    if ask == "commits" and isinstance(record, BranchRecord):
        listed = [
            o for o in facts.outcomes if o.tool == "list_commits" and o.args.get("branch") == record.name
        ]
        commits = records_of(listed, CommitRecord)
        return (
            (f"{plural(len(commits), 'commit')}:\n" + listing(commits, commit_line), list(commits))
            if commits
            else ("", [])
        )
    if ask == "prs" and isinstance(record, CommitRecord):
        prs = [
            p
            for o in facts.outcomes
            if o.tool == "pull_requests_for_commit"
            and str(o.args.get("commit", "")).startswith(record.hash[:7])
            for p in o.records
            if isinstance(p, PullRequestRecord)
        ]
        if not prs:
            return "came from no pull request Bitbucket knows of (pushed directly?)", []
        return "came from " + "; ".join(f"**{pr_line(p)}**" for p in prs), list(prs)
    return "", []


# --- the answer ------------------------------------------------------------------------------------------


def _lead(about: About, found: Sequence[Evidence], held: Sequence[Evidence]) -> str:
    """How the answer names its referents before the facts: as the question pointed at them."""
    if about.hop == "build":
        origin = {r.ref: r for r in held}.get(about.refs[0]) if about.refs else None
        branch = f" `{origin.source_branch}`" if isinstance(origin, PullRequestRecord) else ""
        of = link(origin) if origin is not None else ", ".join(about.refs)
        return f"**The build** of {of} (the newest pipeline of its branch{branch}) is "
    if len(found) > 1:
        return f"**The {len(found)} {_noun(found)} of the last answer:**"
    if about.pointer in ("pronoun", "named"):
        return ""
    if about.pointer == "demonstrative":
        words = about.said.split()
        return f"**{words[0].capitalize()} {_noun(found)}** is "
    return f"**{about.said[:1].upper()}{about.said[1:]}** is "


def which_one(about: About, reason: str, candidates: Sequence[Evidence]) -> Report:
    """A follow-up that could not be bound: say why, ask which, list the candidates (cited)."""
    if not candidates:
        return Report(
            answer=f"**{reason}.** Which one do you mean? Name it (a build or PR number, a repository), "
            "or ask the earlier question again.",
            confidence="low",
        )
    noun = _noun(candidates)
    body = "\n".join(f"{i}. {_name(r)}" for i, r in enumerate(candidates[:25], 1))
    answer = (
        f"**Which one do you mean by “{about.said}”?** {reason}. The {noun} I can refer to:\n\n{body}\n\n"
        "Ask again with “the first”, “the second”, … or its number."
    )
    return Report(answer=answer, entities=[r.ref for r in candidates[:25]], confidence="low")


def report_about(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    """The answer to a follow-up about referents (see the module docstring)."""
    about = plan.focus.about
    assert about is not None
    previous = request.previous
    held = thread_records(previous)
    if about.candidates or plan.clarify:
        known = by_ref(outcomes, held)
        reason = plan.clarify[0].split("? ", 1)[-1].rstrip(".") if plan.clarify else "It could mean several"
        return which_one(about, reason, [known[r] for r in about.candidates if r in known])
    found = subjects(about, plan, outcomes, previous)
    facts = _Facts(outcomes, previous.held if previous else [])
    if not found:
        what = "the build of that pull request" if about.hop else f"“{about.said}”"
        return Report(answer=f"**I could not find {what}** in what Bitbucket returned.", confidence="low")
    deployments = [r for r in found if isinstance(r, DeploymentRecord)]
    shipping = not about.asks and any(o.tool == "deployment_changes" for o in outcomes)
    if deployments and (shipping or set(about.asks) & {"shipped", "commits", "prs", "files", "diff"}):
        shipped = report_deployment_changes(plan, outcomes)  # what it shipped: the change-set writer
        lead = (_lead(about, deployments, held) or "It is ") + ", ".join(_name(d) for d in deployments) + "."
        return shipped.model_copy(update={"answer": lead + "\n\n" + shipped.answer})
    if not about.asks and not objects_of(found):  # a file or a repository: its content
        return report_code(request, plan, outcomes)
    lines: list[str] = []
    cited: list[Evidence] = list(found)
    for record in found:
        asks = about.asks or _details(record, facts)
        said = _attributes(record, asks, facts)
        for ask in asks:
            if ask in RELATIONS:
                text, related = _related(record, ask, facts)
                if text:
                    said.append(text)
                    cited += related
        lines.append(f"{_name(record)}: " + ("; ".join(said) if said else "nothing more is known about it"))
    answer = _lead(about, found, held) + (
        lines[0] if len(found) == 1 else "\n\n" + "\n".join(f"- {x}" for x in lines)
    )
    return Report(answer=answer, entities=list(dict.fromkeys(r.ref for r in cited)), confidence="high")
