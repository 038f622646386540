"""The template reporter: a deterministic answer per question family, no LLM.

Each family writer turns the plan's primary records (the answer set) into markdown whose every
object is a cited ref linked to Bitbucket, plus findings from the supporting evidence. Incidents are
delegated to `agent.incident` for ranking. Repository text only appears after the tools redacted it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from bbscout.agent.causes import failed_steps, failure_cause
from bbscout.agent.focus import RecordFilter
from bbscout.agent.incident import investigate
from bbscout.agent.intake.vocab import ASKS, STOP_WORDS, TOPICS
from bbscout.agent.plan import Family, Plan, StepOutcome, records_of
from bbscout.agent.planners.base import PlanRequest
from bbscout.agent.report import Finding, Report
from bbscout.agent.review import primary_records
from bbscout.tools.evidence import (
    BranchRecord,
    CodeMatchRecord,
    CommitRecord,
    DeploymentRecord,
    Evidence,
    FileChangeRecord,
    FileContentRecord,
    PipelineRecord,
    PullRequestRecord,
    Record,
    RepositoryRecord,
    StepRecord,
    TestCaseRecord,
    commit_ref,
    held_commits,
)
from bbscout.tools.pick import plural
from bbscout.tools.resolve import ambiguous_person

LLM_HINT = (
    "For freer questions, configure an OpenAI-compatible model (OPENAI_API_KEY, optionally OPENAI_BASE_URL "
    "and BBSCOUT_MODEL) and use `--planner llm`."
)
MAX_LISTED = 25
FAILED = ("FAILED", "ERROR")
_EARLIEST = datetime.min.replace(tzinfo=UTC)  # sorts records with no time last (newest first)

R = TypeVar("R", bound=Record)
Writer = Callable[[PlanRequest, Plan, list[StepOutcome]], Report]


def when(moment: datetime | None) -> str:
    """A timestamp as people read it in an incident channel: `2026-11-28 14:05 UTC`."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "?"


def link(record: Record) -> str:
    return f"[{record.ref}]({record.url})"


def commit_link(record: Record, commit_hash: str) -> str:
    """A commit a record names (a PR's merge commit, a deployment's commit), cited and linked."""
    ref = commit_ref(record.repo, commit_hash)
    return f"[{ref}]({held_commits(record)[ref]})"


def first_line(text: str, limit: int = 90) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def dedupe(records: Iterable[R]) -> list[R]:
    return list({r.ref: r for r in records}.values())


def answer_set(plan: Plan, outcomes: list[StepOutcome], kind: type[R]) -> list[R]:
    """The primary records of one type, one per ref."""
    return dedupe(r for r in primary_records(plan, outcomes) if isinstance(r, kind))


def in_scope(plan: Plan) -> str:
    """ "in api-gateway" / "across all repositories" for sentences."""
    if plan.repos and len(plan.repos) <= 3:
        return "in " + ", ".join(f"`{r}`" for r in plan.repos)
    if plan.repos:
        return f"across {len(plan.repos)} repositories"
    return "across all repositories"


def window_text(plan: Plan) -> str:
    return f" {plan.window.label}" if plan.window else ""


def listing(records: Sequence[R], line: Callable[[R], str]) -> str:
    shown = [f"- {line(r)}" for r in records[:MAX_LISTED]]
    if len(records) > MAX_LISTED:
        shown.append(f"- … and {len(records) - MAX_LISTED} more (narrow the window or name a repository)")
    return "\n".join(shown)


# How a headline says an applied constraint, by its filter (the value fills {v}).
_QUALIFIERS: dict[str, str] = {
    "author": "by {v}",
    "reviewer": "with {v} as a reviewer",
    "approver": "approved by {v}",
    "participant": "with {v} taking part",
    "text": "mentioning “{v}”",
    "path": "touching `{v}`",
    "trigger": "triggered {v}",
}


def qualifiers(plan: Plan, *, branch: str | None = None) -> str:
    """The applied people/text/path/branch constraints as the headline's words (" by Priya on `main`").

    `branch` is how this family says a branch ("on", "into"); None leaves the branch out (the scope
    already says it).
    """
    words = []
    for c in plan.constraints:
        if not c.applied:
            continue
        template = _QUALIFIERS.get(c.filter)
        if template:
            value = c.value.lower() if c.filter == "trigger" else c.value
            words.append(template.format(v=value))
        elif c.kind == "branch" and c.filter == "branch name":
            words.append(f"named `{c.value}…`")
        elif c.kind == "branch" and branch and c.how.endswith("branch_like"):
            words.append(f"{branch} branches named like “{c.value}”")
        elif c.kind == "branch" and branch:
            side = "from" if c.how.endswith("source_branch") else branch
            words.append(f"{side} `{c.value}`")
        elif c.kind == "window" and c.filter == "landed":
            words.append("(timed by when each entered the branch)")
    return "".join(" " + w for w in words)


def rules_used(plan: Plan, outcomes: list[StepOutcome]) -> list[str]:
    """The notes that say how the primary steps chose their records: the single-object rule, who a
    person filter matched, how far a path scan looked."""
    primary_ids = {s.id for s in plan.steps if s.primary}
    keep = ("rule:", "path ")
    people = (" matched ", "no one by that name")
    return list(
        dict.fromkeys(
            note
            for o in outcomes
            if o.step_id in primary_ids
            for note in o.notes
            if note.startswith(keep) or any(p in note for p in people)
        )
    )


def with_rules(answer: str, plan: Plan, outcomes: list[StepOutcome]) -> str:
    """The answer with the rules its records were chosen by: the single-object rule ("rule: the newest
    by started_on among …") ends the first line, where the one object is named; the other notes follow."""
    notes = rules_used(plan, outcomes)
    rules = [n for n in notes if n.startswith("rule:")]
    first, sep, rest = answer.partition("\n")
    if rules:
        first += " _(" + "; ".join(rules) + ")_"
    return first + sep + rest + "".join(f"\n\n_{n}_" for n in notes if n not in rules)


def picked(plan: Plan) -> str | None:
    """ "newest" / "oldest" when the primary step picks one object."""
    return next((s.args.get("pick") for s in plan.steps if s.primary and s.args.get("pick")), None)


# --- pipelines -------------------------------------------------------------------------------------


def _failed_steps(pipeline: PipelineRecord, outcomes: list[StepOutcome]) -> list[StepRecord]:
    return failed_steps(pipeline, records_of(outcomes, StepRecord))


def failure_findings(pipelines: list[PipelineRecord], outcomes: list[StepOutcome]) -> list[Finding]:
    """One finding per failed pipeline whose failure details were fetched."""
    findings = []
    for pipeline in pipelines:
        failed_steps = _failed_steps(pipeline, outcomes)
        tests = [
            t
            for t in dedupe(records_of(outcomes, TestCaseRecord))
            if t.repo == pipeline.repo and t.build_number == pipeline.build_number
        ]
        error = pipeline.error_message
        if not failed_steps and not tests and not error:
            continue
        parts = [f"Pipeline error: {error}"] if error else []
        for step in failed_steps:
            lines = [line for line in step.error_lines if not error or error not in line]
            parts.append(
                f"Step “{step.name}” {step.result}" + (": " + " | ".join(lines[:4]) if lines else "")
            )
        if tests:
            parts.append("Failed tests: " + ", ".join(t.name for t in tests[:6]))
        findings.append(
            Finding(
                title=f"Why {pipeline.ref} {(pipeline.result or 'failed').lower()}",
                detail="\n".join(parts),
                refs=[pipeline.ref, *(s.ref for s in failed_steps), *(t.ref for t in tests[:6])],
            )
        )
    return findings


def pipeline_line(outcomes: list[StepOutcome]) -> Callable[[PipelineRecord], str]:
    def line(p: PipelineRecord) -> str:
        where = f" on `{p.branch}`" if p.branch else ""
        pr = f" (PR #{p.pr_id})" if p.pr_id else ""
        trigger = f", {p.trigger.lower()}" if p.trigger else ""
        who = f" by {p.creator}" if p.creator else ""
        failed_steps = _failed_steps(p, outcomes)
        step = f" — step “{failed_steps[0].name}”" if failed_steps else ""
        error = f" — {p.error_message}" if p.error_message else ""
        status = p.result or p.state
        return f"{link(p)} **{status}**{where}{pr} at {when(p.created_on)}{trigger}{who}{step}{error}"

    return line


def _cause(pipeline: PipelineRecord, outcomes: list[StepOutcome]) -> str:
    """Why a failed pipeline failed, in one clause (`agent.causes`)."""
    return failure_cause(pipeline, records_of(outcomes, StepRecord))


_PROGRESS = {"IN_PROGRESS": "running", "PENDING": "pending", "PAUSED": "paused"}


def report_pipelines(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    results = plan.focus.results
    pipelines = answer_set(plan, outcomes, PipelineRecord)
    if results:
        pipelines = [p for p in pipelines if p.result in results]
    others = ""  # unfinished runs in another state than asked: counted apart, never as these
    if plan.focus.in_progress:
        unfinished = plan.focus.progress or ["PENDING", "IN_PROGRESS", "PAUSED"]
        rest = [p for p in pipelines if p.state in _PROGRESS and p.state not in unfinished]
        pipelines = [p for p in pipelines if p.state in unfinished]
        counts = {_PROGRESS[st]: sum(1 for p in rest if p.state == st) for st in _PROGRESS}
        others = ", ".join(f"{n} {word}" for word, n in counts.items() if n)
    pipelines.sort(key=lambda p: p.created_on, reverse=True)
    noun = describe_results(results, plan.focus.in_progress, plan.focus.progress)
    scope = in_scope(plan)
    quals = qualifiers(plan, branch="on")
    pick = picked(plan)
    if not pipelines:
        answer = f"**No {noun} pipelines{quals}{window_text(plan)}** {scope}"
        answer += f" ({others}, not counted)." if others else "."
        if set(results) == set(FAILED):
            answer += " (Failures include results FAILED and ERROR; STOPPED runs are not counted.)"
        return Report(answer=with_rules(answer, plan, outcomes), confidence="high")
    findings = failure_findings(pipelines, outcomes)
    if pick or (len(pipelines) == 1 and not _is_listing(plan)):
        p = pipelines[0]
        cause = _cause(p, outcomes) if p.result in FAILED else ""
        what = f"The {pick} {noun} pipeline{quals} {scope}" if pick else None
        head = f"**{link(p)} {p.result or p.state}**" + (f" — {cause}" if cause else "")
        answer = (
            (f"{what}: {head}." if what else f"{head}.")
            + "\n\n"
            + listing(pipelines, pipeline_line(outcomes))
        )
        return Report(
            answer=with_rules(answer, plan, outcomes),
            entities=[p.ref for p in pipelines],
            findings=findings,
            confidence="high",
        )
    headline = f"**{plural(len(pipelines), (noun + ' pipeline').strip())}{quals}{window_text(plan)}** {scope}"
    if plan.focus.in_progress and len(plan.focus.progress) != 1:
        split = {word: sum(1 for p in pipelines if p.state == state) for state, word in _PROGRESS.items()}
        headline += " — " + ", ".join(f"{n} {word}" for word, n in split.items() if n)
    counts = {r: sum(1 for p in pipelines if p.result == r) for r in results}
    split_results = ", ".join(f"{n} {r}" for r, n in counts.items() if n)
    if len(results) > 1 and split_results:
        headline += f" — {split_results}"
    if len(pipelines) == 1 and pipelines[0].result in FAILED and _cause(pipelines[0], outcomes):
        headline += f" — {_cause(pipelines[0], outcomes)}"
    if others:
        headline += f" ({others}, not counted)"
    if set(results) == set(FAILED):
        headline += ". STOPPED runs are not counted as failures"
    answer = headline + ".\n\n" + listing(pipelines, pipeline_line(outcomes))
    return Report(
        answer=with_rules(answer, plan, outcomes),
        entities=[p.ref for p in pipelines],
        findings=findings,
        confidence="high",
    )


def _is_listing(plan: Plan) -> bool:
    """The plan asked for a list (a listing tool without pick), not for one object."""
    return any(s.primary and s.tool.startswith("list_") and not s.args.get("pick") for s in plan.steps)


def describe_results(results: Sequence[str], in_progress: bool, progress: Sequence[str] = ()) -> str:
    if in_progress:
        return " or ".join(_PROGRESS[s] for s in progress) if progress else "running or pending"
    names = {
        frozenset({"FAILED", "ERROR"}): "failed",
        frozenset({"FAILED"}): "failed (result FAILED)",
        frozenset({"ERROR"}): "errored",
        frozenset({"STOPPED"}): "stopped",
        frozenset({"SUCCESSFUL"}): "successful",
    }
    return names.get(frozenset(results), "/".join(r.lower() for r in results) if results else "")


# --- pull requests ---------------------------------------------------------------------------------


def pr_line(pr: PullRequestRecord) -> str:
    approvals = f", approved by {', '.join(pr.approved_by)}" if pr.approved_by else ""
    if pr.state == "MERGED" and pr.closed_by:
        approvals += f", merged by {pr.closed_by}"
    if pr.matched_paths:
        approvals += f", touched {', '.join(f'`{p}`' for p in pr.matched_paths[:3])}"
    draft = " (draft)" if pr.draft else ""
    return (
        f"{link(pr)} **{pr.state}**{draft} “{first_line(pr.subject or pr.title)}” by {pr.author} — "
        f"`{pr.source_branch}` → `{pr.destination_branch}`, updated {when(pr.updated_on)}{approvals}"
    )


def pr_detail(pr: PullRequestRecord) -> tuple[str, list[str]]:
    """One pull request asked for by number: who reviews it, who approved, who merged it and as which
    commit. Returns the text and the refs it cites."""
    draft = " (draft)" if pr.draft else ""
    lines = [
        f"**{link(pr)} {pr.state}**{draft} “{first_line(pr.subject or pr.title)}” by {pr.author} — "
        f"`{pr.source_branch}` → `{pr.destination_branch}`, opened {when(pr.created_on)}, "
        f"updated {when(pr.updated_on)}."
    ]
    refs = [pr.ref]
    lines.append("- Reviewers: " + (", ".join(pr.reviewers) if pr.reviewers else "none"))
    lines.append("- Approved by: " + (", ".join(pr.approved_by) if pr.approved_by else "nobody yet"))
    if pr.changes_requested_by:
        lines.append("- Changes requested by: " + ", ".join(pr.changes_requested_by))
    if pr.state == "MERGED":
        merged = f"- Merged by {pr.closed_by or 'unknown'}"
        if pr.merge_commit:
            merged += f" as merge commit {commit_link(pr, pr.merge_commit)}"
            refs.append(commit_ref(pr.repo, pr.merge_commit))
        lines.append(merged)
    elif pr.state == "DECLINED" and pr.closed_by:
        lines.append(f"- Declined by {pr.closed_by}")
    if pr.comment_count:
        lines.append(f"- {plural(pr.comment_count, 'comment')}")
    return "\n".join(lines), refs


MAX_FILES_SHOWN = 30  # a PR's files listed in its answer; the rest are counted


def pr_files(files: Sequence[FileChangeRecord]) -> tuple[str, list[str]]:
    """The files a pull request changes (its diffstat), each cited; the refs it cites."""
    if not files:
        return "- Files changed: none listed by its diffstat", []
    shown = files[:MAX_FILES_SHOWN]
    lines = [f"- {plural(len(files), 'file')} changed:"]
    lines += [f"  - `{f.path}` {f.status} (+{f.lines_added}/-{f.lines_removed})" for f in shown]
    if len(files) > len(shown):
        lines.append(f"  - and {len(files) - len(shown)} more")
    return "\n".join(lines), [f.ref for f in shown]


def report_pull_requests(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    if plan.steps and all(s.tool == "get_pull_request" for s in plan.steps if s.primary):
        return _report_pr_details(plan, outcomes)
    prs = answer_set(plan, outcomes, PullRequestRecord)
    states = plan.focus.states
    if states:
        prs = [p for p in prs if p.state in states]
    within = plan.focus.within
    if within is not None:  # a follow-up filter re-listed the repositories: keep the previous answer's PRs
        prs = [p for p in prs if p.ref in set(within)]
    wanted = plan.focus.filter
    if wanted is not None:
        prs = [p for p in prs if matches_filter(p, wanted)]
    prs.sort(key=lambda p: p.updated_on, reverse=True)
    noun = "/".join(s.lower() for s in states) + " " if states else ""
    awaiting = any(st.primary and st.args.get("awaiting_review") for st in plan.steps)
    if (wanted is not None and wanted.awaiting_review) or awaiting:
        noun = "open, awaiting-review "
    scope = in_scope(plan)
    if within is not None:
        scope = f"among the {len(within)} pull requests of the previous answer"
    quals = qualifiers(plan, branch="into")
    pick = picked(plan)
    if not prs:
        answer = f"**No {noun}pull requests{quals}{window_text(plan)}** {scope}."
        return Report(answer=with_rules(answer, plan, outcomes), confidence="high")
    if pick:
        answer = f"The {pick} {noun}pull request{quals} {scope}: **{pr_line(prs[0])}**"
    else:
        answer = (
            f"**{plural(len(prs), noun + 'pull request')}{quals}{window_text(plan)}** {scope}, "
            "most recently updated first.\n\n" + listing(prs, pr_line)
        )
    return Report(answer=with_rules(answer, plan, outcomes), entities=[p.ref for p in prs], confidence="high")


def _report_pr_details(plan: Plan, outcomes: list[StepOutcome]) -> Report:
    prs = answer_set(plan, outcomes, PullRequestRecord)
    if not prs:
        asked = ", ".join(f"#{s.args.get('pr_id')}" for s in plan.steps if s.primary)
        return Report(answer=f"**No pull request {asked}** {in_scope(plan)}.", confidence="medium")
    parts = [pr_detail(pr) for pr in prs]
    files_asked = any(s.primary and s.args.get("include_diff") for s in plan.steps)
    if files_asked:  # "what files does PR 67 change?": its diffstat, after the summary
        files = records_of([o for o in outcomes if o.tool == "get_pull_request"], FileChangeRecord)
        parts.append(pr_files(files))
    return Report(
        answer=with_rules("\n\n".join(text for text, _ in parts), plan, outcomes),
        entities=list(dict.fromkeys(ref for _, refs in parts for ref in refs)),
        confidence="high",
    )


# --- commits ---------------------------------------------------------------------------------------


def commit_line(c: CommitRecord) -> str:
    pr = f" (PR #{c.pr_id})" if c.pr_id else ""
    entered = f", entered `{c.branch}` {when(c.entered_on)}" if c.entered_on and c.branch else ""
    return f"{link(c)} “{first_line(c.message)}” — {c.author}, {when(c.date)}{entered}{pr}"


def report_commits(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    commits = answer_set(plan, outcomes, CommitRecord)
    landed = any(c.entered_on for c in commits)
    commits.sort(key=lambda c: c.entered_on or c.date if landed else c.date, reverse=True)
    scope = in_scope(plan)
    quals = qualifiers(plan, branch="on")
    pick = picked(plan)
    if not commits:
        answer = f"**No commits{quals}{window_text(plan)}** {scope}."
        return Report(answer=with_rules(answer, plan, outcomes), confidence="high")
    if pick:
        answer = f"The {pick} commit{quals} {scope}: **{commit_line(commits[0])}**"
    else:
        order = "newest first" + (" by when each entered the branch" if landed else "")
        answer = f"**{plural(len(commits), 'commit')}{quals}{window_text(plan)}** {scope}, {order}.\n\n"
        answer += listing(commits, commit_line)
    return Report(
        answer=with_rules(answer, plan, outcomes), entities=[c.ref for c in commits], confidence="high"
    )


# --- branches --------------------------------------------------------------------------------------


def branch_line(b: BranchRecord) -> str:
    return f"{link(b)} last commit {when(b.head_date)} by {b.head_author} — “{first_line(b.head_message)}”"


def report_branches(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    branches = answer_set(plan, outcomes, BranchRecord)
    branches.sort(key=lambda b: b.head_date, reverse=not plan.focus.stale)
    noun = "stale branch" if plan.focus.stale else "branch"
    order = "" if plan.focus.stale else ", most recently active first"
    pick = picked(plan)
    quals = qualifiers(plan)
    if not branches:
        return Report(
            answer=with_rules(f"**No {noun}es{quals}{window_text(plan)}** {in_scope(plan)}.", plan, outcomes),
            confidence="high",
        )
    if pick:
        answer = f"The {pick} {noun}{quals} {in_scope(plan)}: **{branch_line(branches[0])}**"
    else:
        answer = f"**{plural(len(branches), noun, noun + 'es')}{quals}** {in_scope(plan)}{order}.\n\n"
        answer += listing(branches, branch_line)
    return Report(
        answer=with_rules(answer, plan, outcomes), entities=[b.ref for b in branches], confidence="high"
    )


# --- deployments -----------------------------------------------------------------------------------


def deployment_line(d: DeploymentRecord, cite_commit: bool = False) -> str:
    """One deployment; `cite_commit` cites its commit as a ref ("which commit is live?" asks for it)."""
    redeploy = ""
    if d.rolls_back:
        redeploy = f" — **rollback**: replaced {d.rolls_back}"
    elif d.rolled_back_by:
        redeploy = f" — **rolled back** by {d.rolled_back_by}"
    elif d.is_redeploy:
        redeploy = " — redeploy of an earlier release"
    if d.replaces and not d.rolls_back:
        before = f"release “{d.replaces_release}”" if d.replaces_release else d.replaces
        commit = f" (commit `{d.replaces_commit[:12]}`)" if d.replaces_commit else ""
        redeploy += f"; it replaced {before}{commit}, {d.replaces}"
    commit = f" commit `{d.commit[:12]}`" if d.commit else ""
    if d.commit and cite_commit:
        commit = f" commit {commit_link(d, d.commit)}"
    who = f" by {d.deployer}" if d.deployer else ""
    return (
        f"{link(d)} {d.environment}: release “{d.release}”{commit} **{d.status or d.state}** "
        f"at {when(d.started_on)}{who}{redeploy}"
    )


def _change_set(outcome: StepOutcome) -> tuple[str, list[str], Finding]:
    """One deployment's change set: the answer text, its entities and a finding."""
    deployments = records_of([outcome], DeploymentRecord)
    target_uuid = outcome.args.get("deployment_uuid")
    current = next((d for d in deployments if d.uuid == target_uuid), None) or max(
        deployments, key=lambda d: d.started_on or _EARLIEST
    )
    previous = [d for d in deployments if d is not current]
    commits = records_of([outcome], CommitRecord)
    prs = records_of([outcome], PullRequestRecord)
    files = records_of([outcome], FileChangeRecord)
    text = f"**The last {current.environment} deployment of `{current.repo}`** — {deployment_line(current)}"
    if previous:
        text += (
            f"\n\nSince the previous successful deployment ({link(previous[0])}, "
            f"{when(previous[0].started_on)}) it shipped"
        )
    else:
        text += "\n\nIt shipped"
    text += f" {plural(len(commits), 'commit')} from {plural(len(prs), 'pull request')}:"
    if prs:
        text += "\n" + listing(prs, pr_line)
    loose = [c for c in commits if not c.pr_id]
    if loose:
        text += "\n" + listing(loose, commit_line)
    if files:
        text += "\n\nFiles changed: " + ", ".join(
            f"`{f.path}` (+{f.lines_added}/-{f.lines_removed})" for f in files[:15]
        )
        if len(files) > 15:
            text += f" and {len(files) - 15} more"
    for note in outcome.notes:
        text += f"\n\n_{note}_"
    finding = Finding(
        title=f"{current.repo}: {plural(len(prs), 'PR')} / {plural(len(commits), 'commit')} in "
        f"{current.environment} release “{current.release}”",
        detail="; ".join(f"{p.ref}: {first_line(p.subject or p.title)}" for p in prs)
        or "no pull requests found",
        refs=[current.ref, *(p.ref for p in prs)],
    )
    return text, [current.ref, *(p.ref for p in prs), *(c.ref for c in commits)], finding


def report_deployment_changes(plan: Plan, outcomes: list[StepOutcome]) -> Report:
    sets = [_change_set(o) for o in outcomes if o.tool == "deployment_changes" and o.records]
    if not sets:
        return Report(
            answer=f"**No deployment found{window_text(plan)}** {in_scope(plan)}.", confidence="medium"
        )
    return Report(
        answer="\n\n".join(text for text, _, _ in sets),
        entities=list(dict.fromkeys(ref for _, refs, _ in sets for ref in refs)),
        findings=[finding for _, _, finding in sets],
        confidence="high",
    )


def _ran_primary(plan: Plan, outcomes: list[StepOutcome], tool: str) -> bool:
    primary_ids = {s.id for s in plan.steps if s.primary}
    return any(o.tool == tool for o in outcomes if o.step_id in primary_ids)


def report_deployments(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    if _ran_primary(plan, outcomes, "deployment_changes"):
        return report_deployment_changes(plan, outcomes)
    deployments = answer_set(plan, outcomes, DeploymentRecord)
    environment = plan.focus.environment
    if environment:
        deployments = [
            d
            for d in deployments
            if environment.lower() in (d.environment.lower(), d.environment_type.lower())
        ]
    if plan.focus.rollbacks:
        deployments = [d for d in deployments if d.rolls_back or d.rolled_back_by]
    statuses = plan.focus.statuses
    if statuses:
        deployments = [d for d in deployments if (d.status or d.state).upper() in statuses]
    deployments.sort(key=lambda d: d.started_on or _EARLIEST, reverse=True)
    noun, tail = "deployment", ""
    if plan.focus.rollbacks:
        tail = " in rollbacks (each rollback and the release it replaced)"
    if statuses:
        noun = f"{'/'.join(x.lower().replace('_', ' ') for x in statuses)} {noun}"
    env_text = f" to {environment}" if environment else ""
    scope = in_scope(plan)
    live = any(st.primary and st.args.get("current") for st in plan.steps)
    pick = picked(plan)
    if not deployments:
        what = "live deployment" if live else noun + "s" + tail
        answer = f"**No {what}{env_text}{window_text(plan)}** {scope}."
        return Report(answer=with_rules(answer, plan, outcomes), confidence="high")
    if live:
        # "which commit is live?": the commit is the answer, cited as such
        commits = "commits" in request.intake.topics

        def line(d: DeploymentRecord) -> str:
            return deployment_line(d, cite_commit=commits)

        where = f" in {environment}" if environment else ""
        head = (
            f"**Live{where} {scope}** (the latest successful deployment per repository and environment): "
            + (line(deployments[0]) if len(deployments) == 1 else plural(len(deployments), "deployment"))
            + "."
        )
        body = "" if len(deployments) == 1 else "\n\n" + listing(deployments, line)
        cited = [commit_ref(d.repo, d.commit) for d in deployments if commits and d.commit]
        return Report(
            answer=with_rules(head + body, plan, outcomes),
            entities=[*(d.ref for d in deployments), *cited],
            confidence="high",
        )
    if pick:
        # "the most recent deploy" has two readings: to any environment, or to production; say which
        reading = "" if environment else " (to any environment; ask “… to production” for production only)"
        answer = f"The {pick} {noun}{env_text or ' to any environment'} {scope}: "
        answer += f"**{deployment_line(deployments[0])}**{reading}"
    else:
        head = f"**{plural(len(deployments), noun)}{tail}{env_text}{window_text(plan)}** {scope}"
        answer = head + ", newest first.\n\n" + listing(deployments, deployment_line)
    return Report(
        answer=with_rules(answer, plan, outcomes),
        entities=[d.ref for d in deployments],
        confidence="high",
    )


# --- code, repositories, follow-ups, unknown ---------------------------------------------------------


def _content(content: FileContentRecord) -> str:
    if content.is_directory:
        return f"{link(content)} (directory):\n" + "\n".join(f"- `{e}`" for e in content.entries[:50])
    cut = "\n_(truncated)_" if content.truncated else ""
    return f"{link(content)}:\n```\n{content.content}\n```{cut}"


# words that say what kind of question it is, never what to look for in a file
_QUESTION_WORDS = frozenset(
    w for table in (TOPICS, ASKS) for ps in table.values() for p in ps for w in p.split()
)


def _asked_lines(content: FileContentRecord, request: PlanRequest) -> list[str]:
    """ "what's the payments client timeout set to in …": the lines of the file that carry most of the
    question's own words (those not naming the file, the repository or the question's kind)."""
    u = request.intake
    said = {w for m in u.repo_mentions for w in m.phrase.split()} | set(u.file_words)
    words = {
        w
        for w in re.findall(r"[a-z][a-z0-9]{3,}", u.text)
        if w not in STOP_WORDS and w not in said and w not in _QUESTION_WORDS
    }
    if not words or content.is_directory:
        return []
    scored = [
        (sum(w in line.lower() for w in words), i, line.strip())
        for i, line in enumerate(content.content.splitlines(), 1)
    ]
    best = max((n for n, _, _ in scored), default=0)
    return [f"line {i}: `{line}`" for n, i, line in scored if n == best and n >= min(2, len(words))][:3]


def report_code(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    matches = answer_set(plan, outcomes, CodeMatchRecord)
    contents = answer_set(plan, outcomes, FileContentRecord)
    parts = [_content(content) for content in contents]
    asked = [(c, lines) for c in contents if (lines := _asked_lines(c, request))]
    if asked:  # the value asked for leads ("client_timeout_ms: 800"), the file follows
        parts.insert(0, "; ".join(f"**In {link(c)}: {', '.join(lines)}**" for c, lines in asked))
    if matches:
        how = (
            " (code search was unavailable: found by scanning paths and file contents)"
            if {m.method for m in matches} - {"code_search"}
            else ""
        )
        parts.append(
            f"**{plural(len(matches), 'file')} match “{plan.focus.query or ''}”**{how}:\n"
            + listing(matches, lambda m: link(m) + (f" — `{m.lines[0]}`" if m.lines else ""))
        )
    if not parts:
        return Report(
            answer=f"**Nothing found for “{plan.focus.query or ''}”** {in_scope(plan)}.",
            confidence="medium",
        )
    notes = [n for o in outcomes for n in o.notes if not n.startswith("rule:")]
    return Report(
        answer=with_rules("\n\n".join(parts), plan, outcomes) + "".join(f"\n\n_{n}_" for n in notes),
        entities=[r.ref for r in [*matches, *contents]],
        confidence="high",
    )


def report_repositories(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    repos = answer_set(plan, outcomes, RepositoryRecord)
    return Report(
        answer=f"**{plural(len(repos), 'repository', 'repositories')}** in the workspace.\n\n"
        + listing(repos, lambda r: f"{link(r)} — {first_line(r.description)}"),
        entities=[r.ref for r in repos],
        confidence="high",
    )


# What a follow-up filter compares, per evidence type (records without the field never match it).


def _branches(record: Evidence) -> set[str]:
    if isinstance(record, PipelineRecord | CommitRecord):
        return {record.branch} if record.branch else set()
    if isinstance(record, PullRequestRecord):
        return {record.destination_branch, record.source_branch}
    return set()


def _people(record: Evidence) -> list[str]:
    if isinstance(record, PullRequestRecord | CommitRecord):
        return [record.author]
    if isinstance(record, PipelineRecord):
        return [record.creator] if record.creator else []
    if isinstance(record, DeploymentRecord):
        return [record.deployer] if record.deployer else []
    if isinstance(record, BranchRecord):
        return [record.head_author]
    return []


def _record_time(record: Evidence) -> datetime | None:
    if isinstance(record, PipelineRecord | PullRequestRecord):
        return record.created_on
    if isinstance(record, CommitRecord):
        return record.date
    if isinstance(record, DeploymentRecord | StepRecord):
        return record.started_on
    if isinstance(record, BranchRecord):
        return record.head_date
    return None


def _state(record: Evidence) -> str | None:
    if isinstance(record, PipelineRecord | PullRequestRecord | DeploymentRecord | StepRecord):
        return record.state
    return None


def _awaiting_review(record: Evidence) -> bool:
    return (
        isinstance(record, PullRequestRecord)
        and record.state == "OPEN"
        and not record.draft
        and not record.approved_by
    )


def matches_filter(record: Evidence, wanted: RecordFilter) -> bool:
    """A previous answer's record against a follow-up filter ("which of those were by Priya / on main")."""
    if wanted.branch and wanted.branch.lower() not in {b.lower() for b in _branches(record)}:
        return False
    if wanted.author and not any(wanted.author.lower() in p.lower() for p in _people(record)):
        return False
    if wanted.environment and not (
        isinstance(record, DeploymentRecord)
        and wanted.environment.lower() in (record.environment.lower(), record.environment_type.lower())
    ):
        return False
    if wanted.awaiting_review and not _awaiting_review(record):
        return False
    at = _record_time(record)
    if (wanted.since or wanted.until) and at is None:
        return False
    if at is not None and ((wanted.since and at < wanted.since) or (wanted.until and at > wanted.until)):
        return False
    if wanted.repos and record.repo not in wanted.repos:
        return False
    if wanted.states and _state(record) not in wanted.states:
        return False
    result = record.result if isinstance(record, PipelineRecord | StepRecord) else None
    if wanted.results and result not in wanted.results:
        return False
    trigger = record.trigger if isinstance(record, PipelineRecord) else None
    return not (wanted.trigger and trigger != wanted.trigger)


def report_follow_up(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    if plan.focus.about is not None:  # about the thread's referents
        from bbscout.agent.reporters.about import report_about  # it builds on this module

        return report_about(request, plan, outcomes)
    if plan.steps:
        if _ran_primary(plan, outcomes, "deployment_changes"):
            return report_deployment_changes(plan, outcomes)  # "what changed in it?" after a deployment
        kinds = {type(r) for r in primary_records(plan, outcomes)}
        if PipelineRecord in kinds:
            unfiltered = plan.focus.model_copy(update={"results": []})
            return report_pipelines(request, plan.model_copy(update={"focus": unfiltered}), outcomes)
        writers: list[tuple[type[Record], Writer]] = [
            (PullRequestRecord, report_pull_requests),
            (CommitRecord, report_commits),
            (DeploymentRecord, report_deployments),
        ]
        writer = next((w for kind, w in writers if kind in kinds), None)
        if writer:
            return writer(request, plan, outcomes)
    previous = request.previous.primary if request.previous else []
    wanted = plan.focus.filter or RecordFilter()
    kept = [r for r in previous if matches_filter(r, wanted)]
    described = wanted.described(" = ") or "your filter"
    if not kept:
        return Report(
            answer=f"**None of the {len(previous)} previous results match {described}.**", confidence="high"
        )
    return Report(
        answer=f"**{len(kept)} of the {len(previous)} previous results match {described}:**\n\n"
        + listing(kept, lambda r: f"{link(r)} {first_line(r.title)}"),
        entities=[r.ref for r in kept],
        confidence="high",
    )


def report_unknown(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    unresolved = [x for x in plan.not_understood if x.startswith("no repository matches")]
    if unresolved:  # say which name, and the closest ones; never an answer for the whole workspace
        lead = "; ".join(x[0].upper() + x[1:] for x in unresolved)
        parts = [f"**{lead}**, so I did not search the whole workspace instead."]
    else:
        parts = ["**I could not turn this question into Bitbucket queries, so I did not guess.**"]
    if plan.understood:
        parts.append("Understood: " + "; ".join(plan.understood) + ".")
    if plan.not_understood:
        parts.append("Not understood: " + "; ".join(plan.not_understood) + ".")
    parts.append(
        "I answer questions about pipelines, pull requests, commits, branches, deployments, code and "
        "incidents, e.g. “what pipelines failed in the last 24 hours?”. " + LLM_HINT
    )
    if request.previous is None and plan.family == "follow_up":
        parts.append("That looks like a follow-up, but there is no earlier answer in this conversation.")
    return Report(answer="\n\n".join(parts), confidence="low")


def report_incident(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    if plan.focus.incident is None:  # nothing says what to investigate
        return report_unknown(request, plan, outcomes)
    return investigate(plan, plan.focus.incident, outcomes)


WRITERS: dict[Family, Writer] = {
    "pipelines": report_pipelines,
    "pull_requests": report_pull_requests,
    "commits": report_commits,
    "branches": report_branches,
    "deployments": report_deployments,
    "code": report_code,
    "repositories": report_repositories,
    "follow_up": report_follow_up,
    "incident": report_incident,
    "unknown": report_unknown,
}


def qualify_partial(report: Report, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    """Never let "no failed pipelines" stand when the calls behind it failed or saw only part of it."""
    primary_ids = {s.id for s in plan.steps if s.primary}
    primary = [o for o in outcomes if o.step_id in primary_ids]
    if not primary:
        return report
    failed = [o for o in primary if o.error]
    if failed and len(failed) == len(primary):
        report.answer = "**I could not answer this: the Bitbucket calls it needs failed.**\n\n" + "\n".join(
            f"- {o.error}" for o in failed
        )
        report.entities, report.confidence = [], "low"
        return report
    # a name matching several people is no unread part (the first line says it: agent.coverage)
    partial = [g for o in primary for g in o.gaps if not ambiguous_person(g)] + [
        o.error for o in failed if o.error
    ]
    if partial:
        parts = "part" if len(partial) == 1 else "parts"
        report.answer = (
            f"_Partial answer: {len(partial)} {parts} of the workspace could not be read (listed under "
            "“What I could not see”); the answer covers the rest._\n\n" + report.answer
        )
    return report


class RulesReporter:
    """Templates per family; states understood/not-understood parts and gaps plainly."""

    async def report(
        self, request: PlanRequest, plan: Plan, outcomes: list[StepOutcome], gaps: list[str]
    ) -> Report:
        if plan.clarify and plan.focus.about is None:
            report = Report(
                answer="**Which one did you mean?** "
                + ", ".join(f"`{c}`" for c in plan.clarify)
                + " all match. Ask again naming one (for repositories you can also pass `--repo SLUG`).",
                confidence="low",
            )
        else:
            report = WRITERS.get(plan.family, report_unknown)(request, plan, outcomes)
        report = qualify_partial(report, plan, outcomes)
        if plan.not_understood and plan.family != "unknown":
            report.answer += (
                "\n\n_Not understood (ignored): " + "; ".join(plan.not_understood) + "._ " + LLM_HINT
            )
        report.gaps = list(dict.fromkeys([*report.gaps, *gaps]))
        if report.gaps:
            report.confidence = "low" if not report.entities else "medium"
        return report
