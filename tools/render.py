"""Compact, deterministic text of a `ToolResult` for a model's context window.

One line per record, its `ref` first (the citation key), then the facts and the web link; step
records add their extracted error lines and the TAIL of the log (the end of a log is where the
failure is). Gaps and notes come before the records so a cut never hides them, and a cut ends
with an actionable line ("… 37 more pipelines not shown; narrow the window or name a
repository"). The output never exceeds `max_chars`.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from bbscout.tools.evidence import (
    BranchRecord,
    CodeMatchRecord,
    CommitRecord,
    DeploymentRecord,
    FileChangeRecord,
    FileContentRecord,
    PipelineRecord,
    PullRequestRecord,
    Record,
    RepositoryRecord,
    StepRecord,
    TestCaseRecord,
    ToolResult,
)

__all__ = ["render_head", "render_record", "render_result"]

_PLURAL = {
    "repository": "repositories",
    "pipeline": "pipelines",
    "step": "steps",
    "test_case": "test cases",
    "pull_request": "pull requests",
    "commit": "commits",
    "branch": "branches",
    "deployment": "deployments",
    "file": "files",
    "code_match": "code matches",
    "file_content": "files",
}
_NARROW = {
    "list_pipelines": "narrow the window, filter by result/branch or name a repository",
    "list_pull_requests": "narrow the window or name a repository/branch",
    "list_commits": "narrow the window or pass a path",
    "list_branches": "pass name_contains or name a repository",
    "list_deployments": "name an environment or a repository",
    "search_code": "use a more specific query or name a repository",
    "list_repositories": "pass name_contains",
}
_LOG_TAIL_LINES = 25


def _ts(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%dT%H:%MZ") if dt else "?"


def _q(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f'"{text}"'


def _dur(seconds: int | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _head(rec: Record) -> str:
    if isinstance(rec, PipelineRecord):
        parts = [rec.ref, rec.result or rec.state, rec.branch or "-", rec.trigger or "-", _ts(rec.created_on)]
        if rec.pr_id:
            parts.append(f"PR#{rec.pr_id}")
        if rec.commit:
            parts.append(rec.commit[:12])
        if rec.duration_seconds is not None:
            parts.append(_dur(rec.duration_seconds))
        if rec.creator:
            parts.append(f"by {rec.creator}")
        if rec.error_message:
            parts.append(f"error: {_q(rec.error_message, 160)}")
        return " ".join(parts)
    if isinstance(rec, StepRecord):
        parts = [rec.ref, rec.result or rec.state]
        if rec.duration_seconds is not None:
            parts.append(_dur(rec.duration_seconds))
        if rec.tests_total is not None:
            parts.append(f"tests {rec.tests_failed or 0}/{rec.tests_total} failed")
        return " ".join(parts)
    if isinstance(rec, TestCaseRecord):
        return f"{rec.ref} {rec.status}" + (f" {_q(rec.message, 200)}" if rec.message else "")
    if isinstance(rec, PullRequestRecord):
        parts = [
            rec.ref,
            rec.state + (" DRAFT" if rec.draft else ""),
            _q(rec.title.split(": ", 1)[-1].rsplit(" (", 1)[0]),
            f"{rec.source_branch}→{rec.destination_branch}",
            f"by {rec.author}",
            f"updated {_ts(rec.updated_on)}",
        ]
        if rec.merge_commit:
            parts.append(f"merge {rec.merge_commit[:12]}")
        if rec.reviewers:
            parts.append("reviewers: " + ", ".join(rec.reviewers))
        if rec.approved_by:
            parts.append("approved: " + ", ".join(rec.approved_by))
        if rec.changes_requested_by:
            parts.append("changes requested: " + ", ".join(rec.changes_requested_by))
        if rec.statuses:
            parts.append("builds: " + "; ".join(rec.statuses[:5]))
        if rec.matched_paths:
            parts.append("touched: " + ", ".join(rec.matched_paths[:5]))
        return " ".join(parts)
    if isinstance(rec, CommitRecord):
        first = rec.message.strip().splitlines()[0] if rec.message.strip() else ""
        parts = [rec.ref, _ts(rec.date), rec.author, _q(first)]
        if rec.is_merge:
            parts.append("merge")
        if rec.pr_id:
            parts.append(f"PR#{rec.pr_id}")
        if rec.entered_on:
            via = "" if rec.entered_via == rec.hash else f" via {(rec.entered_via or '')[:12]}"
            parts.append(f"entered {rec.branch or 'branch'} {_ts(rec.entered_on)}{via}")
        if rec.statuses:
            parts.append("builds: " + "; ".join(rec.statuses[:5]))
        return " ".join(parts)
    if isinstance(rec, BranchRecord):
        return (
            f"{rec.ref} head {rec.head[:12]} {_ts(rec.head_date)} by {rec.head_author} "
            f"{_q(rec.head_message, 80)}"
        )
    if isinstance(rec, DeploymentRecord):
        parts = [rec.ref, rec.environment, rec.status or rec.state, _ts(rec.started_on)]
        if rec.commit:
            parts.append(f"commit {rec.commit[:12]}")
        if rec.build_number:
            parts.append(f"pipeline #{rec.build_number}")
        if rec.deployer:
            parts.append(f"by {rec.deployer}")
        if rec.rolls_back:
            parts.append(f"ROLLBACK replacing {rec.rolls_back}")
        elif rec.is_redeploy:
            parts.append("REDEPLOY (commit deployed here before)")
        if rec.rolled_back_by:
            parts.append(f"ROLLED BACK by {rec.rolled_back_by}")
        if rec.replaces:
            parts.append(f"replaced {rec.replaces} (release {_q(rec.replaces_release or '?', 40)})")
        return " ".join(parts)
    if isinstance(rec, FileChangeRecord):
        moved = f" (from {rec.old_path})" if rec.old_path else ""
        return f"{rec.ref} {rec.status} +{rec.lines_added} -{rec.lines_removed}{moved}"
    if isinstance(rec, CodeMatchRecord):
        return f"{rec.ref} [{rec.method}]"
    if isinstance(rec, FileContentRecord):
        kind = "directory" if rec.is_directory else "file"
        return f"{rec.ref} {kind}" + (" (truncated)" if rec.truncated else "")
    if isinstance(rec, RepositoryRecord):
        parts = [rec.ref, _q(rec.name, 60), f"main={rec.main_branch}"]
        if rec.project:
            parts.append(f"project={rec.project}")
        if rec.language:
            parts.append(rec.language)
        if rec.updated_on:
            parts.append(f"updated {_ts(rec.updated_on)}")
        if rec.description:
            parts.append(_q(rec.description, 100))
        return " ".join(parts)
    return f"{rec.ref} {rec.title}"


def _body(rec: Record) -> list[str]:
    """Indented detail lines under a record (bounded; logs keep their tail)."""
    out: list[str] = []
    if isinstance(rec, StepRecord):
        out += [f"  ! {line}" for line in rec.error_lines[-12:]]
        if rec.log_tail:
            tail = rec.log_tail.splitlines()[-_LOG_TAIL_LINES:]
            out.append("  log tail:")
            out += [f"  | {line[:240]}" for line in tail]
    elif isinstance(rec, PullRequestRecord):
        if rec.description:
            out.append(f"  description: {_q(rec.description, 400)}")
        out += [f"  comment: {_q(c, 240)}" for c in rec.comments[:10]]
    elif isinstance(rec, FileChangeRecord) and rec.diff_excerpt:
        out += [f"  {line[:200]}" for line in rec.diff_excerpt.splitlines()[:30]]
    elif isinstance(rec, CodeMatchRecord):
        out += [f"  {line[:240]}" for line in rec.lines[:8]]
    elif isinstance(rec, FileContentRecord):
        if rec.is_directory:
            out += [f"  {e}" for e in rec.entries[:200]]
        else:
            out += [f"  {line[:300]}" for line in rec.content.splitlines()]
    return out


def render_head(rec: Record) -> str:
    """One record as one line, its ref first (no link, no details): a compact mention for a model."""
    return _head(rec)


def render_record(rec: Record) -> str:
    """One record as text: the head line with its web link, then indented details."""
    return "\n".join([f"{_head(rec)} — {rec.url}", *_body(rec)])


def _fit(line: str, room: int) -> str:
    if len(line) <= room:
        return line
    return line[: max(0, room - 1)] + "…" if room > 0 else ""


def render_result(result: ToolResult, max_chars: int = 6000) -> str:
    """Deterministic, bounded text of `result` (never longer than `max_chars`)."""
    counts = Counter(r.kind for r in result.records)
    summary = ", ".join(
        f"{n} {_PLURAL.get(k, k) if n != 1 else k.replace('_', ' ')}" for k, n in counts.items()
    )
    header = f"[{result.tool}] {summary or 'no records'}" + (" (truncated)" if result.truncated else "")
    lines = [header]
    lines += [f"gap: {g}" for g in result.gaps]
    lines += [f"note: {n}" for n in result.notes]
    # Header, gaps and notes get at most half the room; records the rest.
    text = _fit(header, max_chars)
    for line in lines[1:]:
        room = max_chars // 2 - len(text) - 1
        if room < 20:
            break
        text += "\n" + _fit(line, room)
    shown = 0
    total = len(result.records)
    reserve = 160  # room for the "… N more" line
    for i, rec in enumerate(result.records):
        room = max_chars - len(text) - 1 - (reserve if i < total - 1 else 0)
        block = render_record(rec)
        if len(block) > room:
            # Keep what fits of the block: the head line first, then the LAST detail lines (log tails).
            head, *body = block.split("\n")
            if len(head) > room:
                break
            kept: list[str] = []
            used = len(head)
            for detail in reversed(body):
                if used + 1 + len(detail) > room:
                    break
                kept.insert(0, detail)
                used += 1 + len(detail)
            if body and len(kept) < len(body):
                marker = f"  … {len(body) - len(kept)} earlier line(s) cut"
                if used + 1 + len(marker) <= room:
                    kept.insert(0, marker)
            block = "\n".join([head, *kept])
        text += "\n" + block
        shown += 1
    if shown < total:
        rest = Counter(r.kind for r in result.records[shown:])
        what = ", ".join(
            f"{n} more {_PLURAL.get(k, k) if n != 1 else k.replace('_', ' ')}" for k, n in rest.items()
        )
        hint = _NARROW.get(result.tool, "narrow the question")
        tail = f"… {what} not shown; {hint}"
        room = max_chars - len(text) - 1
        if room > 0:
            text += "\n" + _fit(tail, room)
    elif result.truncated and len(text) + 60 < max_chars:
        text += f"\n… more matched than were returned; {_NARROW.get(result.tool, 'narrow the question')}"
    return text[:max_chars]
