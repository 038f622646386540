"""The template reporter: a deterministic answer per question family, no LLM.

Each family writer turns the plan's primary records (the answer set) into markdown whose every
object is a cited ref linked to Bitbucket, plus findings from the supporting evidence. Incidents are
delegated to `agent.incident` for ranking. Repository text only appears after the tools redacted it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bbscout.agent.focus import RecordFilter
from bbscout.agent.incident import investigate
from bbscout.agent.plan import Plan, StepOutcome
from bbscout.agent.planners.base import PlanRequest
from bbscout.agent.report import Finding, Report
from bbscout.agent.review import primary_records

LLM_HINT = (
    "For freer questions, configure an OpenAI-compatible model (OPENAI_API_KEY, optionally OPENAI_BASE_URL "
    "and BBSCOUT_MODEL) and use `--planner llm`."
)
MAX_LISTED = 25

Records = list[dict[str, Any]]


def when(value: str | None) -> str:
    """A timestamp as people read it in an incident channel: `2026-11-28 14:05 UTC`."""
    if not value:
        return "?"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")


def link(record: dict[str, Any]) -> str:
    return f"[{record['ref']}]({record['url']})"


def first_line(text: str, limit: int = 90) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def dedupe(records: Records) -> Records:
    return list({r["ref"]: r for r in records}.values())


def in_scope(plan: Plan) -> str:
    """ "in api-gateway" / "across all repositories" for sentences."""
    if plan.repos and len(plan.repos) <= 3:
        return "in " + ", ".join(f"`{r}`" for r in plan.repos)
    if plan.repos:
        return f"across {len(plan.repos)} repositories"
    return "across all repositories"


def window_text(plan: Plan) -> str:
    return f" {plan.window.label}" if plan.window else ""


def listing(records: Records, line: Callable[[dict[str, Any]], str]) -> str:
    shown = [f"- {line(r)}" for r in records[:MAX_LISTED]]
    if len(records) > MAX_LISTED:
        shown.append(f"- … and {len(records) - MAX_LISTED} more (narrow the window or name a repository)")
    return "\n".join(shown)


def records_of(outcomes: list[StepOutcome], kind: str) -> Records:
    return dedupe([r for o in outcomes for r in o.records if r.get("kind") == kind])


# --- pipelines -------------------------------------------------------------------------------------


def failure_findings(pipelines: Records, outcomes: list[StepOutcome]) -> list[Finding]:
    """One finding per failed pipeline whose failure details were fetched."""
    findings = []
    for pipeline in pipelines:
        prefix = f"step:{pipeline['repo']}#{pipeline['build_number']}/"
        steps = [s for s in records_of(outcomes, "step") if s["ref"].startswith(prefix) and s.get("result")]
        failed_steps = [s for s in steps if s["result"] in ("FAILED", "ERROR")]
        tests = [
            t
            for t in records_of(outcomes, "test_case")
            if t["repo"] == pipeline["repo"] and t["build_number"] == pipeline["build_number"]
        ]
        if not failed_steps and not tests and not pipeline.get("error_message"):
            continue
        parts = []
        if pipeline.get("error_message"):
            parts.append(f"Pipeline error: {pipeline['error_message']}")
        for step in failed_steps:
            lines = [
                line
                for line in step.get("error_lines") or []
                if not pipeline.get("error_message") or pipeline["error_message"] not in line
            ]
            parts.append(
                f"Step “{step['name']}” {step['result']}" + (": " + " | ".join(lines[:4]) if lines else "")
            )
        if tests:
            parts.append("Failed tests: " + ", ".join(t["name"] for t in tests[:6]))
        findings.append(
            Finding(
                title=f"Why {pipeline['ref']} {pipeline.get('result', 'failed').lower()}",
                detail="\n".join(parts),
                refs=[pipeline["ref"], *(s["ref"] for s in failed_steps), *(t["ref"] for t in tests[:6])],
            )
        )
    return findings


def failing_step_name(pipeline: dict[str, Any], outcomes: list[StepOutcome]) -> str | None:
    prefix = f"step:{pipeline['repo']}#{pipeline['build_number']}/"
    for step in records_of(outcomes, "step"):
        if step["ref"].startswith(prefix) and step.get("result") in ("FAILED", "ERROR"):
            return str(step["name"])
    return None


def pipeline_line(outcomes: list[StepOutcome]) -> Callable[[dict[str, Any]], str]:
    def line(p: dict[str, Any]) -> str:
        status = p.get("result") or p.get("state")
        where = f" on `{p['branch']}`" if p.get("branch") else ""
        pr = f" (PR #{p['pr_id']})" if p.get("pr_id") else ""
        trigger = f", {p['trigger'].lower()}" if p.get("trigger") else ""
        who = f" by {p['creator']}" if p.get("creator") else ""
        step = failing_step_name(p, outcomes)
        step_text = f" — step “{step}”" if step else ""
        error = f" — {p['error_message']}" if p.get("error_message") else ""
        return f"{link(p)} **{status}**{where}{pr} at {when(p['created_on'])}{trigger}{who}{step_text}{error}"

    return line


def report_pipelines(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    results = plan.focus.results
    pipelines = [r for r in dedupe(primary_records(plan, outcomes)) if r.get("kind") == "pipeline"]
    if results:
        pipelines = [p for p in pipelines if p.get("result") in results]
    if plan.focus.in_progress:
        pipelines = [p for p in pipelines if p.get("state") in ("PENDING", "IN_PROGRESS", "PAUSED")]
    pipelines.sort(key=lambda p: p["created_on"], reverse=True)
    noun = describe_results(results, plan.focus.in_progress)
    scope = in_scope(plan)
    if not pipelines:
        answer = f"**No {noun} pipelines{window_text(plan)}** {scope}."
        if set(results) == {"FAILED", "ERROR"}:
            answer += " (Failures include results FAILED and ERROR; STOPPED runs are not counted.)"
        return Report(answer=answer, confidence="high")
    counts = {r: sum(1 for p in pipelines if p.get("result") == r) for r in results}
    split = ", ".join(f"{n} {r}" for r, n in counts.items() if n)
    headline = (
        f"**{len(pipelines)} {noun} pipeline{'s' if len(pipelines) != 1 else ''}{window_text(plan)}** {scope}"
    )
    if len(results) > 1 and split:
        headline += f" — {split}"
    if set(results) == {"FAILED", "ERROR"}:
        headline += ". STOPPED runs are not counted as failures"
    answer = headline + ".\n\n" + listing(pipelines, pipeline_line(outcomes))
    return Report(
        answer=answer,
        entities=[p["ref"] for p in pipelines],
        findings=failure_findings(pipelines, outcomes),
        confidence="high",
    )


def describe_results(results: Sequence[str], in_progress: bool) -> str:
    if in_progress:
        return "running"
    names = {
        frozenset({"FAILED", "ERROR"}): "failed",
        frozenset({"FAILED"}): "failed (result FAILED)",
        frozenset({"ERROR"}): "errored",
        frozenset({"STOPPED"}): "stopped",
        frozenset({"SUCCESSFUL"}): "successful",
    }
    return names.get(frozenset(results), "/".join(r.lower() for r in results) if results else "")


# --- pull requests ---------------------------------------------------------------------------------


def pr_line(pr: dict[str, Any]) -> str:
    approvals = f", approved by {', '.join(pr['approved_by'])}" if pr.get("approved_by") else ""
    draft = " (draft)" if pr.get("draft") else ""
    return (
        f"{link(pr)} **{pr['state']}**{draft} “{first_line(pr.get('subject') or pr['title'])}” by {pr['author']} — "
        f"`{pr['source_branch']}` → `{pr['destination_branch']}`, updated {when(pr['updated_on'])}{approvals}"
    )


def report_pull_requests(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    prs = [r for r in dedupe(primary_records(plan, outcomes)) if r.get("kind") == "pull_request"]
    states = plan.focus.states
    if states:
        prs = [p for p in prs if p["state"] in states]
    within = plan.focus.within
    if within is not None:  # a follow-up filter re-listed the repositories: keep the previous answer's PRs
        prs = [p for p in prs if p["ref"] in set(within)]
    wanted = plan.focus.filter
    if wanted is not None:
        prs = [p for p in prs if matches_filter(p, wanted)]
    prs.sort(key=lambda p: p["updated_on"], reverse=True)
    noun = "/".join(s.lower() for s in states) + " " if states else ""
    if wanted is not None and wanted.awaiting_review:
        noun = "open, awaiting-review "
    scope = in_scope(plan)
    if within is not None:
        scope = f"among the {len(within)} pull requests of the previous answer"
    if not prs:
        return Report(answer=f"**No {noun}pull requests{window_text(plan)}** {scope}.", confidence="high")
    answer = (
        f"**{len(prs)} {noun}pull request{'s' if len(prs) != 1 else ''}{window_text(plan)}** {scope}, "
        f"most recently updated first.\n\n" + listing(prs, pr_line)
    )
    return Report(answer=answer, entities=[p["ref"] for p in prs], confidence="high")


# --- commits ---------------------------------------------------------------------------------------


def commit_line(c: dict[str, Any]) -> str:
    pr = f" (PR #{c['pr_id']})" if c.get("pr_id") else ""
    return f"{link(c)} “{first_line(c['message'])}” — {c['author']}, {when(c['date'])}{pr}"


def report_commits(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    commits = [r for r in dedupe(primary_records(plan, outcomes)) if r.get("kind") == "commit"]
    commits.sort(key=lambda c: c["date"], reverse=True)
    scope = in_scope(plan)
    if not commits:
        return Report(answer=f"**No commits{window_text(plan)}** {scope}.", confidence="high")
    answer = f"**{len(commits)} commits{window_text(plan)}** {scope}, newest first.\n\n" + listing(
        commits, commit_line
    )
    return Report(answer=answer, entities=[c["ref"] for c in commits], confidence="high")


# --- branches --------------------------------------------------------------------------------------


def report_branches(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    branches = [r for r in dedupe(primary_records(plan, outcomes)) if r.get("kind") == "branch"]
    branches.sort(key=lambda b: b["head_date"], reverse=not plan.focus.stale)
    noun = "stale branches" if plan.focus.stale else "branches, most recently active first"
    if not branches:
        return Report(
            answer=f"**No {noun.split(',')[0]}{window_text(plan)}** {in_scope(plan)}.", confidence="high"
        )
    answer = f"**{len(branches)} {noun}** {in_scope(plan)}.\n\n" + listing(
        branches,
        lambda b: (
            f"{link(b)} last commit {when(b['head_date'])} by {b['head_author']} — “{first_line(b.get('head_message', ''))}”"
        ),
    )
    return Report(answer=answer, entities=[b["ref"] for b in branches], confidence="high")


# --- deployments -----------------------------------------------------------------------------------


def deployment_line(d: dict[str, Any]) -> str:
    status = d.get("status") or d.get("state")
    redeploy = ""
    if d.get("rolls_back"):
        redeploy = f" — **rollback**: replaced {d['rolls_back']}"
    elif d.get("rolled_back_by"):
        redeploy = f" — **rolled back** by {d['rolled_back_by']}"
    elif d.get("is_redeploy"):
        redeploy = " — redeploy of an earlier release"
    commit = f" commit `{d['commit'][:12]}`" if d.get("commit") else ""
    who = f" by {d['deployer']}" if d.get("deployer") else ""
    return (
        f"{link(d)} {d['environment']}: release “{d.get('release', '')}”{commit} **{status}** "
        f"at {when(d.get('started_on'))}{who}{redeploy}"
    )


def report_deployment_changes(plan: Plan, outcomes: list[StepOutcome]) -> Report:
    answers, entities, findings = [], [], []
    for outcome in outcomes:
        if outcome.tool != "deployment_changes" or not outcome.records:
            continue
        deployments = [r for r in outcome.records if r["kind"] == "deployment"]
        target_uuid = outcome.args.get("deployment_uuid")
        current = next((d for d in deployments if d["uuid"] == target_uuid), None) or max(
            deployments, key=lambda d: d.get("started_on") or ""
        )
        previous = [d for d in deployments if d is not current]
        commits = [r for r in outcome.records if r["kind"] == "commit"]
        prs = [r for r in outcome.records if r["kind"] == "pull_request"]
        files = [r for r in outcome.records if r["kind"] == "file"]
        text = f"**The last {current['environment']} deployment of `{current['repo']}`** — {deployment_line(current)}"
        if previous:
            text += f"\n\nSince the previous successful deployment ({link(previous[0])}, {when(previous[0].get('started_on'))}) it shipped"
        else:
            text += "\n\nIt shipped"
        text += f" {len(commits)} commit{'s' if len(commits) != 1 else ''} from {len(prs)} pull request{'s' if len(prs) != 1 else ''}:"
        if prs:
            text += "\n" + listing(prs, pr_line)
        loose = [c for c in commits if not c.get("pr_id")]
        if loose:
            text += "\n" + listing(loose, commit_line)
        if files:
            text += "\n\nFiles changed: " + ", ".join(
                f"`{f['path']}` (+{f['lines_added']}/-{f['lines_removed']})" for f in files[:15]
            )
            if len(files) > 15:
                text += f" and {len(files) - 15} more"
        for note in outcome.notes:
            text += f"\n\n_{note}_"
        answers.append(text)
        entities += [current["ref"], *(p["ref"] for p in prs), *(c["ref"] for c in commits)]
        findings.append(
            Finding(
                title=f"{current['repo']}: {len(prs)} PRs / {len(commits)} commits in {current['environment']} release “{current.get('release', '')}”",
                detail="; ".join(f"{p['ref']}: {first_line(p.get('subject') or p['title'])}" for p in prs)
                or "no pull requests found",
                refs=[current["ref"], *(p["ref"] for p in prs)],
            )
        )
    if not answers:
        return Report(
            answer=f"**No deployment found{window_text(plan)}** {in_scope(plan)}.", confidence="medium"
        )
    return Report(
        answer="\n\n".join(answers),
        entities=list(dict.fromkeys(entities)),
        findings=findings,
        confidence="high",
    )


def report_deployments(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    if any(
        o.tool == "deployment_changes"
        for o in outcomes
        if o.step_id in {s.id for s in plan.steps if s.primary}
    ):
        return report_deployment_changes(plan, outcomes)
    deployments = [r for r in dedupe(primary_records(plan, outcomes)) if r.get("kind") == "deployment"]
    environment = plan.focus.environment
    if environment:
        deployments = [
            d
            for d in deployments
            if environment.lower() in (d["environment"].lower(), d.get("environment_type", "").lower())
        ]
    if plan.focus.rollbacks:
        deployments = [d for d in deployments if d.get("rolls_back") or d.get("rolled_back_by")]
    statuses = plan.focus.statuses
    if statuses:
        deployments = [
            d for d in deployments if (d.get("status") or d.get("state") or "").upper() in statuses
        ]
    deployments.sort(key=lambda d: d.get("started_on") or "", reverse=True)
    noun = (
        "deployments in rollbacks (each rollback and the release it replaced)"
        if plan.focus.rollbacks
        else "deployments"
    )
    if statuses:
        noun = f"{'/'.join(x.lower().replace('_', ' ') for x in statuses)} {noun}"
    env_text = f" to {environment}" if environment else ""
    if not deployments:
        return Report(
            answer=f"**No {noun}{env_text}{window_text(plan)}** {in_scope(plan)}.", confidence="high"
        )
    head = f"**{len(deployments)} {noun}{env_text}{window_text(plan)}** {in_scope(plan)}, newest first."
    return Report(
        answer=head + "\n\n" + listing(deployments, deployment_line),
        entities=[d["ref"] for d in deployments],
        confidence="high",
    )


# --- code, repositories, follow-ups, unknown ---------------------------------------------------------


def report_code(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    records = dedupe(primary_records(plan, outcomes))
    matches = [r for r in records if r["kind"] == "code_match"]
    contents = [r for r in records if r["kind"] == "file_content"]
    parts = []
    for content in contents:
        if content.get("is_directory"):
            parts.append(
                f"{link(content)} (directory):\n" + "\n".join(f"- `{e}`" for e in content["entries"][:50])
            )
        else:
            cut = "\n_(truncated)_" if content.get("truncated") else ""
            parts.append(f"{link(content)}:\n```\n{content['content']}\n```{cut}")
    if matches:
        query = plan.focus.query or ""
        method = {m.get("method") for m in matches}
        how = (
            " (code search was unavailable: found by scanning paths and file contents)"
            if method - {"code_search"}
            else ""
        )
        parts.append(
            f"**{len(matches)} file{'s' if len(matches) != 1 else ''} match “{query}”**{how}:\n"
            + listing(matches, lambda m: f"{link(m)}" + (f" — `{m['lines'][0]}`" if m.get("lines") else ""))
        )
    if not parts:
        return Report(
            answer=f"**Nothing found for “{plan.focus.query or ''}”** {in_scope(plan)}.",
            confidence="medium",
        )
    notes = [n for o in outcomes for n in o.notes]
    return Report(
        answer="\n\n".join(parts) + ("".join(f"\n\n_{n}_" for n in notes)),
        entities=[r["ref"] for r in matches + contents],
        confidence="high",
    )


def report_repositories(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    repos = [r for r in dedupe(primary_records(plan, outcomes)) if r.get("kind") == "repository"]
    return Report(
        answer=f"**{len(repos)} repositories** in the workspace.\n\n"
        + listing(repos, lambda r: f"{link(r)} — {first_line(r.get('description', ''))}"),
        entities=[r["ref"] for r in repos],
        confidence="high",
    )


_FILTER_FIELDS = {"repos": ("repo",), "states": ("state",), "results": ("result",), "trigger": ("trigger",)}
_TIME_FIELDS = ("created_on", "date", "started_on", "head_date", "updated_on")


def _record_time(record: dict[str, Any]) -> datetime | None:
    for key in _TIME_FIELDS:
        if record.get(key):
            return datetime.fromisoformat(str(record[key]))
    return None


def matches_filter(record: dict[str, Any], wanted: RecordFilter) -> bool:
    """A previous answer's record against a follow-up filter ("which of those were in checkout / by Priya / on main")."""
    for key, value in wanted.terms().items():
        if key == "branch":
            names = {record.get("branch"), record.get("destination_branch"), record.get("source_branch")}
            if str(value).lower() not in {str(n).lower() for n in names if n}:
                return False
        elif key == "author":
            people = [record.get(k) for k in ("author", "creator", "deployer", "head_author")]
            if not any(str(value).lower() in str(p).lower() for p in people if p):
                return False
        elif key == "environment":
            envs = {
                str(record.get("environment") or "").lower(),
                str(record.get("environment_type") or "").lower(),
            }
            if str(value).lower() not in envs:
                return False
        elif key == "awaiting_review":
            awaiting = (
                record.get("state") == "OPEN" and not record.get("draft") and not record.get("approved_by")
            )
            if bool(value) != awaiting:
                return False
        elif key in ("since", "until"):
            at = _record_time(record)
            if (
                at is None
                or not isinstance(value, datetime)
                or (at < value if key == "since" else at > value)
            ):
                return False
        else:
            have = next((record.get(k) for k in _FILTER_FIELDS[key] if record.get(k) is not None), None)
            values = value if isinstance(value, list) else [value]
            if str(have).lower() not in {str(v).lower() for v in values}:
                return False
    return True


def report_follow_up(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    if plan.steps:
        primary_ids = {s.id for s in plan.steps if s.primary}
        if any(o.tool == "deployment_changes" for o in outcomes if o.step_id in primary_ids):
            return report_deployment_changes(plan, outcomes)  # "what changed in it?" after a deployment
        kinds = {r.get("kind") for r in primary_records(plan, outcomes)}
        if "pipeline" in kinds:
            return report_pipelines(
                request,
                plan.model_copy(update={"focus": plan.focus.model_copy(update={"results": []})}),
                outcomes,
            )
        writer = next((WRITERS[k] for k in ("pull_request", "commit", "deployment") if k in kinds), None)
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
        + listing(kept, lambda r: f"{link(r)} {first_line(r.get('title', ''))}"),
        entities=[r["ref"] for r in kept],
        confidence="high",
    )


def report_unknown(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    parts = ["**I could not turn this question into Bitbucket queries, so I did not guess.**"]
    if plan.understood:
        parts.append("Understood: " + "; ".join(plan.understood) + ".")
    if plan.not_understood:
        parts.append("Not understood: " + "; ".join(plan.not_understood) + ".")
    parts.append(
        "I answer questions about pipelines, pull requests, commits, branches, deployments, code and incidents, "
        "e.g. “what pipelines failed in the last 24 hours?”. " + LLM_HINT
    )
    if request.previous is None and plan.family == "follow_up":
        parts.append("That looks like a follow-up, but there is no earlier answer in this conversation.")
    return Report(answer="\n\n".join(parts), confidence="low")


def report_incident(request: PlanRequest, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    if plan.focus.incident is None:  # nothing says what to investigate
        return report_unknown(request, plan, outcomes)
    return investigate(plan, plan.focus.incident, outcomes)


WRITERS: dict[str, Callable[..., Report]] = {
    "pipelines": report_pipelines,
    "pull_request": report_pull_requests,
    "pull_requests": report_pull_requests,
    "commit": report_commits,
    "commits": report_commits,
    "branches": report_branches,
    "deployment": report_deployments,
    "deployments": report_deployments,
    "code": report_code,
    "repositories": report_repositories,
    "follow_up": report_follow_up,
    "incident": report_incident,
    "unknown": report_unknown,
}


def qualify_partial(report: Report, plan: Plan, outcomes: list[StepOutcome]) -> Report:
    """Never let "no failed pipelines" stand when the calls behind it failed or saw only part of the workspace."""
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
    partial = [g for o in primary for g in o.gaps] + [o.error for o in failed if o.error]
    if partial:
        report.answer = (
            f"_Partial answer: {len(partial)} part{'s' if len(partial) != 1 else ''} of the workspace could not be "
            "read (listed under “What I could not see”); the answer covers the rest._\n\n" + report.answer
        )
    return report


class RulesReporter:
    """Templates per family; states understood/not-understood parts and gaps plainly."""

    async def report(
        self, request: PlanRequest, plan: Plan, outcomes: list[StepOutcome], gaps: list[str]
    ) -> Report:
        if plan.clarify:
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
