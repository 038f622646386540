"""Pipeline tools: list_pipelines, get_pipeline, pipeline_failure.

The pipelines list has no BBQL and no reliable `next`: filter server-side with its own `status`
vocabulary, `target.branch` and `trigger_type`, sort `-created_on`, page by number, and stop at the
first pipeline older than `since`. The outcome lives at `state.result.name` and only means
something when `state.name == "COMPLETED"`.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from bbscout.tools import links
from bbscout.tools.args import GetPipeline, ListPipelines, PipelineFailure
from bbscout.tools.bitbucket import NotFound, bbql
from bbscout.tools.context import EPOCH, ToolContext, clip, dig, fan_out, one_line, parse_dt, repo_slugs
from bbscout.tools.evidence import (
    PipelineRecord,
    StepRecord,
    TestCaseRecord,
    ToolResult,
    pipeline_ref,
    step_ref,
    test_ref,
)
from bbscout.tools.pick import pick_one, repositories, wanted
from bbscout.tools.redact import redact
from bbscout.tools.shapes import Unreadable, need_int, readable

__all__ = ["STATUS_FILTER", "get_pipeline", "list_pipelines", "pipeline_failure", "pipeline_record"]

# Our result vocabulary → the list filter's `status` vocabulary (repeat the param to OR).
STATUS_FILTER: dict[str, tuple[str, ...]] = {
    "FAILED": ("FAILED",),
    "ERROR": ("ERROR",),
    "SUCCESSFUL": ("SUCCESSFUL", "PASSED"),
    "STOPPED": ("STOPPED",),
}
RUNNING_FILTER: tuple[str, ...] = ("PENDING", "BUILDING", "IN_PROGRESS")

PIPELINE_FIELDS = (
    "uuid",
    "build_number",
    "state.name",
    "state.stage.name",
    "state.result.name",
    "state.result.error.message",
    "state.result.terminator.display_name",
    "target.type",
    "target.ref_name",
    "target.source",
    "target.destination",
    "target.pullrequest.id",
    "target.commit.hash",
    "target.selector.type",
    "target.selector.pattern",
    "trigger.name",
    "creator.display_name",
    "created_on",
    "completed_on",
    "duration_in_seconds",
)
LIST_FIELDS = ",".join(f"values.{f}" for f in PIPELINE_FIELDS)
ONE_FIELDS = ",".join(PIPELINE_FIELDS)
STEP_FIELDS = ",".join(
    f"values.{f}"
    for f in (
        "uuid",
        "name",
        "state.name",
        "state.result.name",
        "state.result.error.message",
        "started_on",
        "completed_on",
        "duration_in_seconds",
        "script_commands.command",
    )
)
# A command that runs tests or writes a test report (Bitbucket reads JUnit-style XML from such folders).
_TEST_COMMAND = re.compile(
    r"(?i)junit|test[-_]?(?:reports?|results?)\b|surefire|failsafe|testresults|\.trx\b"
    r"|\b(?:pytest|py\.test|tox|nox|nose2?|unittest|jest|mocha|vitest|jasmine|karma|rspec|minitest|phpunit"
    r"|pest|ctest|xunit|nunit|mstest|cypress|playwright)\b"
    r"|\b(?:go|cargo|dotnet|npm|yarn|pnpm|bun|deno|make|swift|mix|sbt|bazel|flutter|dart)\s+(?:run\s+)?test"
    r"|\bmvnw?\b[^|;&]*\b(?:test|verify|install|package|deploy)\b|\bgradlew?\b[^|;&]*\b(?:test\w*|check|build)\b"
)
TEST_CASE_FIELDS = ",".join(
    f"values.{f}"
    for f in (
        "uuid",
        "name",
        "fully_qualified_name",
        "class_name",
        "package_name",
        "status",
        "result",
        "duration",
        "message",
        "failure_message",
        "reason",
        "test_case_reasons",
    )
)
LOG_TAIL_BYTES = 16 * 1024
MAX_ERROR_LINES = 25
MAX_FAILED_STEPS = 4
MAX_TEST_CASES = 30

_STATES = {"PENDING", "IN_PROGRESS", "COMPLETED", "PAUSED", "HALTED"}
_RESULTS = {"SUCCESSFUL", "FAILED", "ERROR", "STOPPED", "EXPIRED"}


def _pipeline_state(raw: dict[str, Any]) -> tuple[str, str | None]:
    name = str(dig(raw, "state", "name", default="UNKNOWN")).upper()
    if name == "IN_PROGRESS" and str(dig(raw, "state", "stage", "name", default="")).upper() == "PAUSED":
        name = "PAUSED"
    if name not in _STATES:
        name = "UNKNOWN"
    result = None
    if name == "COMPLETED":
        r = str(dig(raw, "state", "result", "name", default="")).upper()
        result = r if r in _RESULTS else None
    return name, result


def _completed(raw: dict[str, Any]) -> bool:
    """A completed pipeline never changes again (its steps, logs and test reports neither)."""
    return _pipeline_state(raw)[0] == "COMPLETED"


def pipeline_record(ws: str, repo: str, raw: dict[str, Any]) -> PipelineRecord:
    """A `pipeline` JSON object (possibly fields-trimmed) → PipelineRecord (text redacted).

    Raises `Unreadable` without a build number, a state or a creation time: such a pipeline cannot be
    placed in a window or an outcome, and must be counted as unreadable, not filtered out as "not failed".
    """
    build = need_int(raw.get("build_number"), "build_number")
    if not isinstance(raw.get("state"), dict) or not isinstance(dig(raw, "state", "name"), str):
        raise Unreadable("pipeline state is missing")
    if parse_dt(raw.get("created_on")) is None:
        raise Unreadable("pipeline created_on is missing")
    state, result = _pipeline_state(raw)
    target = raw.get("target") or {}
    pr_id = dig(target, "pullrequest", "id")
    branch = target.get("ref_name") or (
        target.get("source") if isinstance(target.get("source"), str) else None
    )
    if branch is None and isinstance(target.get("source"), dict):
        branch = dig(target, "source", "branch", "name")
    created = parse_dt(raw.get("created_on"))
    completed = parse_dt(raw.get("completed_on"))
    duration = raw.get("duration_in_seconds")
    if not isinstance(duration, int):
        duration = int((completed - created).total_seconds()) if created and completed else None
    error_message = None
    if result == "ERROR":
        error_message = clip(dig(raw, "state", "result", "error", "message", default=""), 300) or None
    trigger = dig(raw, "trigger", "name")
    outcome = result or state
    where = f" on {redact(branch)}" if branch else ""
    pr = f" PR #{pr_id}" if pr_id else ""
    title = f"Pipeline #{build} {outcome}{where}{pr}" + (f" ({trigger})" if trigger else "")
    if error_message:
        title += f": {one_line(error_message, 120)}"
    return PipelineRecord(
        ref=pipeline_ref(repo, build),
        repo=repo,
        url=links.pipeline_url(ws, repo, build),
        title=title,
        uuid=str(raw.get("uuid") or ""),
        build_number=build,
        state=state,
        result=result,
        error_message=error_message,
        branch=redact(branch) if branch else None,
        pr_id=int(pr_id) if pr_id else None,
        commit=dig(target, "commit", "hash"),
        trigger=str(trigger) if trigger else None,
        custom=str(dig(target, "selector", "pattern"))
        if dig(target, "selector", "type") == "custom" and dig(target, "selector", "pattern")
        else None,
        creator=redact(str(dig(raw, "creator", "display_name")))
        if dig(raw, "creator", "display_name")
        else None,
        stopped_by=redact(str(dig(raw, "state", "result", "terminator", "display_name")))
        if result == "STOPPED" and dig(raw, "state", "result", "terminator", "display_name")
        else None,
        created_on=created or EPOCH,
        completed_on=completed,
        duration_seconds=duration,
    )


def _wanted(rec: PipelineRecord, args: ListPipelines) -> bool:
    """Client-side check of every filter (the server's are an optimisation, never trusted alone)."""
    if args.in_progress:
        if rec.state == "COMPLETED":
            return False
    elif args.results is not None and rec.result not in args.results:
        return False
    if args.branch is not None and rec.branch != args.branch:
        return False
    if args.trigger is not None and rec.trigger != args.trigger:
        return False
    if args.pr_id is not None and rec.pr_id != args.pr_id:
        return False
    if args.since is not None and rec.created_on < args.since:
        return False
    return not (args.until is not None and rec.created_on > args.until)


def _list_params(args: ListPipelines) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = [("sort", "-created_on")]
    if args.in_progress:
        params += [("status", s) for s in RUNNING_FILTER]
    elif args.results:
        for result in args.results:
            params += [("status", s) for s in STATUS_FILTER[result]]
    if args.branch is not None and args.pr_id is None:
        params.append(("target.branch", args.branch))
    if args.trigger is not None:
        params.append(("trigger_type", args.trigger))
    return params


async def _branches_like(ctx: ToolContext, slug: str, words: list[str]) -> list[str]:
    """The names of `slug`'s branches that hold every word (BBQL narrows by the longest one)."""
    wanted_words = [w.lower() for w in words if w.strip()]
    longest = max(wanted_words, key=len)
    names: list[str] = []
    async for raw in ctx.client.paginate(
        ctx.client.repo_path(slug, "refs", "branches"),
        [("q", str(bbql.cond("name", "~", longest)))],
        fields="values.name",
        max_items=200,
    ):
        name = str(raw.get("name") or "")
        if name and all(w in name.lower() for w in wanted_words):
            names.append(name)
    return names


async def list_pipelines(ctx: ToolContext, args: ListPipelines) -> ToolResult:
    slugs = await repo_slugs(ctx, args.repos)
    since = args.since
    want = wanted(args.pick, args.limit)
    matched: dict[str, list[str]] = {}  # branch_like: the branch names found per repository

    def older(item: dict[str, Any]) -> bool:
        created = parse_dt(item.get("created_on"))
        return since is not None and created is not None and created < since

    async def runs(slug: str, branch_args: ListPipelines, sink: list[PipelineRecord]) -> None:
        path = ctx.client.repo_path(slug, "pipelines")
        pagelen = 100 if (since is not None or want > 50) else min(100, want + 1)
        async for raw in ctx.client.paginate(
            path, _list_params(branch_args), fields=LIST_FIELDS, by_page=True, pagelen=pagelen, stop=older
        ):
            rec = readable(
                ctx, f"pipelines from {slug}", lambda r: pipeline_record(ctx.workspace, slug, r), raw
            )
            if rec is not None and _wanted(rec, branch_args):
                sink.append(rec)
                if len(sink) > want:
                    return

    async def per_repo(slug: str, sink: list[PipelineRecord]) -> None:
        if not args.branch_like:
            await runs(slug, args, sink)
            return
        matched[slug] = await _branches_like(ctx, slug, args.branch_like)
        for name in matched[slug]:
            await runs(slug, args.model_copy(update={"branch": name, "branch_like": None}), sink)

    out = await fan_out(ctx, slugs, per_repo)
    records = sorted((r for rs in out.results.values() for r in rs), key=lambda r: r.created_on, reverse=True)
    more = args.pick is None and len(records) > args.limit
    truncated = out.truncated or more
    notes: list[str] = []
    if more:
        notes.append(f"{len(records) - args.limit}+ more pipelines matched than the limit of {args.limit}")
    notes.append(f"searched {len(slugs)} repositor{'y' if len(slugs) == 1 else 'ies'}")
    if args.branch_like:
        found = [f"{slug}:{redact(name)}" for slug, names in matched.items() for name in names]
        words = " ".join(args.branch_like)
        listed = ", ".join(found) if len(found) <= 10 else f"{len(found)} branches"
        notes.append(f"rule: the branches whose names hold “{words}”: {listed or 'none'}")
    chosen, rule = pick_one(
        records,
        args.pick,
        lambda r: r.created_on,
        field="created_on",
        among=_among(args, slugs),
        complete=not (out.truncated or any(len(rs) > want for rs in out.results.values())),
    )
    notes.extend(rule)
    return ToolResult(
        tool="list_pipelines", records=chosen[: args.limit], notes=notes, gaps=out.gaps, truncated=truncated
    )


def _among(args: ListPipelines, slugs: list[str]) -> str:
    """The candidate set in words: "SUCCESSFUL pipelines on main in api-gateway"."""
    what = "running pipelines" if args.in_progress else f"{'/'.join(args.results or [])} pipelines".strip()
    if args.branch:
        what += f" on {redact(args.branch)}"
    if args.branch_like:
        what += f" on branches named like “{' '.join(args.branch_like)}”"
    if args.pr_id is not None:
        what += f" for PR #{args.pr_id}"
    if args.trigger:
        what += f" triggered by {args.trigger}"
    return what + " in " + repositories(slugs)


async def _fetch_pipeline(ctx: ToolContext, repo: str, build_number: int) -> tuple[dict[str, Any], str]:
    """The pipeline by build number (undocumented but works), else a scan of the list."""
    try:
        raw = await ctx.client.get_json(
            ctx.client.repo_path(repo, "pipelines", build_number), fields=ONE_FIELDS, settled=_completed
        )
        if int(raw.get("build_number") or -1) == build_number:
            return raw, "get by build number"
    except NotFound:
        pass
    path = ctx.client.repo_path(repo, "pipelines")
    async for raw in ctx.client.paginate(
        path,
        [("sort", "-created_on")],
        fields=LIST_FIELDS,
        by_page=True,
        stop=lambda it: int(it.get("build_number") or 0) < build_number,
        max_items=1000,
    ):
        if int(raw.get("build_number") or 0) == build_number:
            return raw, "scan of the pipelines list"
    raise NotFound(f"pipeline #{build_number} not found in {repo}", status=404)


def _step_record(ws: str, repo: str, build: int, pipeline_uuid: str, raw: dict[str, Any]) -> StepRecord:
    name = redact(str(raw.get("name") or "step"))
    state = str(dig(raw, "state", "name", default="UNKNOWN"))
    result = dig(raw, "state", "result", "name")
    started, completed = parse_dt(raw.get("started_on")), parse_dt(raw.get("completed_on"))
    duration = raw.get("duration_in_seconds")
    if not isinstance(duration, int):
        duration = int((completed - started).total_seconds()) if started and completed else None
    err = dig(raw, "state", "result", "error", "message")
    title = f'Step "{name}" {result or state}' + (f": {one_line(err, 120)}" if err else "")
    commands = raw.get("script_commands")
    runs_tests = (
        any(_TEST_COMMAND.search(str(c.get("command") or "")) for c in commands if isinstance(c, dict))
        if isinstance(commands, list)
        else None
    )
    return StepRecord(
        ref=step_ref(repo, build, name),
        repo=repo,
        url=links.step_url(ws, repo, build, str(raw.get("uuid") or "")),
        title=title,
        uuid=str(raw.get("uuid") or ""),
        pipeline_uuid=pipeline_uuid,
        build_number=build,
        name=name,
        state=state,
        result=str(result) if result else None,
        started_on=started,
        completed_on=completed,
        duration_seconds=duration,
        error_lines=[clip(err, 300)] if err else [],
        runs_tests=runs_tests,
    )


def _named(name: str, words: list[str] | None) -> bool:
    """The step's name has one of `words` (no words: every step)."""
    return not words or any(re.search(rf"(?i)\b{re.escape(w)}", name) for w in words)


def _steps_settled(page: dict[str, Any]) -> bool:
    """Every step on the page has completed: the page can no longer change."""
    values = page.get("values") or []
    return (
        bool(values) and all(dig(v, "state", "name") == "COMPLETED" for v in values) and not page.get("next")
    )


async def _steps(ctx: ToolContext, repo: str, build_number: int, pipeline_uuid: str) -> list[StepRecord]:
    path = ctx.client.repo_path(repo, "pipelines", pipeline_uuid, "steps")
    label = f"steps of pipeline #{build_number} in {repo}"
    steps = []
    async for raw in ctx.client.paginate(path, fields=STEP_FIELDS, settled=_steps_settled, max_items=200):
        step = readable(
            ctx, label, lambda r: _step_record(ctx.workspace, repo, build_number, pipeline_uuid, r), raw
        )
        if step is not None:
            steps.append(step)
    return steps


async def get_pipeline(ctx: ToolContext, args: GetPipeline) -> ToolResult:
    raw, method = await _fetch_pipeline(ctx, args.repo, args.build_number)
    pipe = pipeline_record(ctx.workspace, args.repo, raw)
    steps = await _steps(ctx, args.repo, pipe.build_number, pipe.uuid)
    notes = [] if method == "get by build number" else [f"found via {method}"]
    return ToolResult(tool="get_pipeline", records=[pipe, *steps], notes=notes)


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_ERROR_LINE = re.compile(
    r"(?i)(\berror\b|\berrors?:|\bfail(ed|ure|s)?\b|exception|traceback|\bassert"
    r"|exit(ed)? (with )?(code|status)"
    r"|\boom\b|out of memory|killed|exceeded|timed? ?out|panic:|fatal|segmentation fault|cannot |could not "
    r"|not found|denied|refused|\bE\s{2,}|^\s*>\s)"
)
_NOISE = re.compile(r"(?i)(0 errors|no errors|errors=0|failures=0|\bfailed=0\b|0 failed)")


def extract_error_lines(lines: list[str], limit: int = MAX_ERROR_LINES) -> list[str]:
    """Lines that explain a failure (errors, exceptions, assertions, exit codes, OOM, timeouts),
    deduplicated."""
    out: list[str] = []
    seen: set[str] = set()
    for line in lines:
        text = line.rstrip()
        if not text.strip() or not _ERROR_LINE.search(text) or _NOISE.search(text):
            continue
        key = text.strip()
        if key in seen:
            continue
        seen.add(key)
        out.append(clip(text, 300))
    return out[-limit:]


def _tail_lines(text: str, n: int, from_partial: bool) -> list[str]:
    text = _ANSI.sub("", text.replace("\r\n", "\n"))
    lines = text.split("\n")
    if from_partial and len(lines) > 1:
        lines = lines[1:]  # the first line of a byte-range tail is usually cut
    while lines and not lines[-1].strip():
        lines.pop()
    return lines[-n:] if n else lines


def _test_case_record(
    ws: str, repo: str, build: int, step: StepRecord, raw: dict[str, Any]
) -> TestCaseRecord:
    name = raw.get("fully_qualified_name") or raw.get("name") or "test"
    if not raw.get("fully_qualified_name") and raw.get("class_name"):
        name = f"{raw['class_name']}.{name}"
    name = redact(str(name))
    status = str(raw.get("status") or raw.get("result") or "UNKNOWN").upper()
    reasons = raw.get("test_case_reasons")
    message = raw.get("message") or raw.get("failure_message") or raw.get("reason") or ""
    if not message and isinstance(reasons, list) and reasons:
        message = dig(reasons, 0, "message", default="") or dig(reasons, 0, "output", default="")
    message = clip(str(message), 500)
    return TestCaseRecord(
        ref=test_ref(repo, build, name),
        repo=repo,
        url=links.step_url(ws, repo, build, step.uuid) + "/test-report",
        title=f"Test {name} {status}" + (f": {one_line(message, 120)}" if message else ""),
        build_number=build,
        step_name=step.name,
        name=name,
        status=status,
        message=message,
    )


async def pipeline_failure(ctx: ToolContext, args: PipelineFailure) -> ToolResult:
    notes: list[str] = []
    gaps: list[str] = []
    records: list[Any] = []
    pipe: PipelineRecord | None = None
    if args.uuid is None:  # else the caller already holds the pipeline's record (from a listing)
        raw, method = await _fetch_pipeline(ctx, args.repo, args.build_number)
        pipe = pipeline_record(ctx.workspace, args.repo, raw)
        records.append(pipe)
        notes += [] if method == "get by build number" else [f"found via {method}"]
        if pipe.state != "COMPLETED":
            notes.append(f"pipeline #{pipe.build_number} has not completed (state {pipe.state})")
        elif pipe.result not in ("FAILED", "ERROR"):
            notes.append(f"pipeline #{pipe.build_number} did not fail (result {pipe.result})")
        if pipe.error_message:
            notes.append(f"pipeline error: {pipe.error_message}")
    pipeline_uuid = pipe.uuid if pipe is not None else str(args.uuid)
    steps = await _steps(ctx, args.repo, args.build_number, pipeline_uuid)
    failed = [s for s in steps if (s.result or "") in ("FAILED", "ERROR")]
    if not failed and (pipe is None or pipe.result == "STOPPED"):
        failed = [s for s in steps if s.result == "STOPPED"]
    tests: list[TestCaseRecord] = []
    # Steps of the kind asked for, when this pipeline names its steps that way at all (else every test step).
    kinds = args.test_steps if any(_named(s.name, args.test_steps) for s in steps) else None
    for step in failed[:MAX_FAILED_STEPS]:
        step_path = ctx.client.repo_path(args.repo, "pipelines", pipeline_uuid, "steps", step.uuid)
        if args.tests and step.runs_tests is False:
            notes.append(f'step "{step.name}" runs no tests (its commands): no test report read')
        elif args.tests and _named(step.name, kinds):
            tests += await _failed_tests(ctx, args, step, step_path + "/test_reports/test_cases")
        explained = [t.message for t in tests if t.step_name == step.name and t.message]
        if args.log is True or (args.log == "if_needed" and not explained):
            await _read_log(ctx, args, step, step_path + "/log", gaps)
        elif explained:  # the failed tests' own messages say why
            step.error_lines = [*step.error_lines, *dict.fromkeys(explained)][-MAX_ERROR_LINES:]
        records.append(step)
    if len(failed) > MAX_FAILED_STEPS:
        notes.append(f"{len(failed) - MAX_FAILED_STEPS} more failed steps not read")
    if not failed and pipe is not None and pipe.result in ("FAILED", "ERROR"):
        notes.append("no step failed; the pipeline itself errored (configuration, YAML or quota)")
    other_steps = [s for s in steps if s not in failed[:MAX_FAILED_STEPS]]
    return ToolResult(
        tool="pipeline_failure",
        records=[*records, *tests[:MAX_TEST_CASES], *other_steps],
        notes=notes,
        gaps=gaps,
    )


async def _read_log(
    ctx: ToolContext, args: PipelineFailure, step: StepRecord, path: str, gaps: list[str]
) -> None:
    """The step's log tail (a ranged request, then its redirect to log storage): error lines and the tail."""
    try:
        text = await ctx.client.get_text(path, cache="immutable", tail_bytes=LOG_TAIL_BYTES)
    except NotFound:
        gaps.append(f'step "{step.name}": no log available (404)')
        return
    lines = _tail_lines(text, 0, from_partial=len(text.encode()) >= LOG_TAIL_BYTES)
    step.error_lines = [*step.error_lines, *extract_error_lines(lines)][-MAX_ERROR_LINES:]
    step.log_tail = redact("\n".join(lines[-args.log_tail_lines :]))


async def _failed_tests(
    ctx: ToolContext, args: PipelineFailure, step: StepRecord, path: str
) -> list[TestCaseRecord]:
    """The step's failed test cases (none when it produced no test report); counts go on the step."""
    found: list[TestCaseRecord] = []
    total = failed = 0
    label = f"test cases of pipeline #{args.build_number} in {args.repo}"
    build = functools.partial(_test_case_record, ctx.workspace, args.repo, args.build_number, step)
    try:
        async for case in ctx.client.paginate(
            path, fields=TEST_CASE_FIELDS, cache="immutable", max_items=2000
        ):
            total += 1
            if str(case.get("status") or case.get("result") or "").upper() in ("FAILED", "ERROR"):
                failed += 1
                test = readable(ctx, label, build, case)
                if test is not None and len(found) < MAX_TEST_CASES:
                    found.append(test)
    except NotFound:
        return []  # the step produced no test report
    step.tests_total, step.tests_failed = total, failed
    return found
