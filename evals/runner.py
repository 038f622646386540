"""Run cases against bbscout (or the ReAct baseline) in-process and grade them.

Each case gets its own sandbox app over a memoised world (so request and fault logs are per case) and
a fresh `BitbucketClient`; cases run concurrently under a semaphore; anything a case raises is caught,
recorded as a crash and graded as a failure. Grading reads only the `--json` document, the exit code,
the world and the case (see `evals.graders`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import math
import statistics
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import httpx
from pydantic import SecretStr

from bbscout.evals import graders
from bbscout.evals.case import Case, Expect, OracleQuery
from bbscout.evals.oracle import OracleAnswer, answer, relaxations, scenario_refs

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "CaseResult",
    "RunConfig",
    "get_world",
    "pass_hat_k",
    "run_cases",
    "summarize",
]

SANDBOX_BASE_URL = "http://sandbox.local/2.0"
DEFAULT_TIMEOUT_S = 120.0
Progress = Callable[["CaseResult"], None]


@dataclass
class RunConfig:
    """Knobs of one eval run."""

    planner: Literal["rules", "llm"] = "rules"
    agent: Literal["bbscout", "react"] = "bbscout"
    faults: str = "none"
    concurrency: int = 8
    repeat: int = 1
    timeout_s: float = DEFAULT_TIMEOUT_S
    budget: int = 300
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    model: str | None = None


@dataclass
class CaseResult:
    """One (case, trial): verdict, checks, metrics and the document for debugging."""

    case_id: str
    family: str
    tags: list[str]
    trial: int
    passed: bool
    checks: list[graders.Check] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    crash: str | None = None
    case_error: str | None = None
    documents: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        out = [f"{c.key}: {c.comment}" for c in self.checks if not c.passed]
        if self.crash:
            out.insert(0, f"crash: {self.crash.splitlines()[-1] if self.crash else ''}")
        if self.case_error:
            out.insert(0, f"case error: {self.case_error}")
        return out

    def as_dict(self, with_documents: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.case_id,
            "family": self.family,
            "tags": self.tags,
            "trial": self.trial,
            "passed": self.passed,
            "failures": self.failures,
            "metrics": self.metrics,
            "checks": [c.as_dict() for c in self.checks],
        }
        if self.crash:
            d["crash"] = self.crash
        if with_documents:
            d["documents"] = self.documents
        else:
            d["answer"] = [str(doc.get("answer", ""))[:600] for doc in self.documents]
        return d


# --- worlds -------------------------------------------------------------------------------------------

_WORLDS: dict[tuple[str, int, str, bool], Any] = {}


def get_world(name: str, seed: int, anchor: datetime, sanitized: bool = False) -> Any:
    """The world for (name, seed, anchor), built once per process; `sanitized` strips planted
    injections and secrets from logs (the control world for injection-invariance cases)."""
    key = (name, seed, anchor.isoformat(), sanitized)
    if key not in _WORLDS:
        if sanitized:
            _WORLDS[key] = _sanitize(get_world(name, seed, anchor))
        else:
            from bbscout.sandbox.world import build_world

            _WORLDS[key] = build_world(name, seed=seed, anchor=anchor)
    return _WORLDS[key]


def _sanitize(world: Any) -> Any:
    """A shallow copy of `world` whose commit messages, PR texts and logs no longer hold injected text."""
    texts = _injection_texts(world)

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            for t in texts:
                value = value.replace(t, "")
            return value
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    clean = copy.copy(world)
    clean.repos = {}
    for slug, rd in world.repos.items():
        rd2 = copy.copy(rd)
        for attr in ("commits", "pullrequests", "pr_comments", "pr_activity"):
            setattr(rd2, attr, scrub(getattr(rd, attr)))
        rd2.logs = _ScrubbedLogs(rd.logs, scrub)
        clean.repos[slug] = rd2
    return clean


class _ScrubbedLogs(Mapping[str, str]):
    """Read-through view of a (lazy) log mapping with injected text removed."""

    def __init__(self, inner: Mapping[str, str], scrub: Callable[[Any], Any]) -> None:
        self._inner, self._scrub = inner, scrub

    def __getitem__(self, key: str) -> str:
        return str(self._scrub(self._inner[key]))

    def __iter__(self) -> Iterator[str]:
        return iter(self._inner)

    def __len__(self) -> int:
        return len(self._inner)


def world_secrets(world: Any) -> list[str]:
    return [s for sc in world.scenarios.values() for s in sc.facts.get("secrets", []) if s]


def _injection_texts(world: Any) -> list[str]:
    return [t for sc in world.scenarios.values() for t in sc.facts.get("injection_texts", []) if t]


_INDEX: dict[int, graders.WorldIndex] = {}


def _index(world: Any) -> graders.WorldIndex:
    if id(world) not in _INDEX:
        _INDEX[id(world)] = graders.WorldIndex(world)
    return _INDEX[id(world)]


# --- running one case -----------------------------------------------------------------------------------


@dataclass
class _Turn:
    question: str
    now: datetime
    expect: Expect
    min_requests: int | str | None


def _turns(case: Case) -> list[_Turn]:
    if case.turns:
        return [_Turn(t.question, t.now or case.now, t.expect, t.min_requests) for t in case.turns]
    return [_Turn(case.question or case.incident or "", case.now, case.expect, case.min_requests)]


def _settings(cfg: RunConfig) -> Any:
    """bbscout settings from explicit values only (no environment or config file is read)."""
    from bbscout.agent.settings import Settings

    class _EvalSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls, settings_cls: Any, init_settings: Any, *args: Any, **kwargs: Any
        ) -> tuple[Any, ...]:
            return (init_settings,)

    overrides: dict[str, Any] = {"request_budget": cfg.budget}
    if cfg.planner == "llm":
        overrides["openai_api_key"] = SecretStr(cfg.openai_api_key or "sk-eval")
        if cfg.openai_base_url:
            overrides["openai_base_url"] = cfg.openai_base_url
        if cfg.model:
            overrides["model"] = cfg.model
    return _EvalSettings(**overrides)


def _client(world: Any, app: Any, budget: int) -> Any:
    from bbscout.tools.bitbucket import BasicAuth, BitbucketClient

    token = world.token("demo")
    return BitbucketClient(
        workspace=str(world.workspace["slug"]),
        auth=BasicAuth(token.email or "", SecretStr(token.secret)),
        base_url=SANDBOX_BASE_URL,
        transport=httpx.ASGITransport(app=app),
        budget=budget,
    )


async def _run_bbscout(
    case: Case, world: Any, cfg: RunConfig
) -> tuple[list[tuple[dict[str, Any], int]], Any]:
    """Run all turns of `case`; returns [(document, exit_code)] and the sandbox app."""
    from bbscout.agent.runtime import open_session
    from bbscout.sandbox.app import SandboxSettings, create_app
    from bbscout.sandbox.faults import FAULT_PROFILES

    app = create_app(world, SandboxSettings(faults=FAULT_PROFILES[cfg.faults]))
    client = _client(world, app, cfg.budget)
    out: list[tuple[dict[str, Any], int]] = []
    checkpointer = thread = None
    if case.turns:
        from langgraph.checkpoint.memory import InMemorySaver

        checkpointer, thread = InMemorySaver(), f"eval-{case.id}"
    incident_at = case.at
    if case.incident and incident_at is None and case.at_scenario:
        incident_at = world.scenarios[case.at_scenario].at
    async with open_session(
        _settings(cfg), planner=cfg.planner, now=case.now, client=client, source="sandbox"
    ) as session:
        for turn in _turns(case):
            result = await session.ask(
                turn.question,
                now=turn.now,
                tz=case.tz,
                mode="investigate" if case.incident else "ask",
                incident_at=incident_at,
                repo_filter=case.repo_filter,
                checkpointer=checkpointer,
                thread_id=thread,
            )
            out.append((result.document, result.exit_code))
    return out, app


async def _run_react(case: Case, world: Any, cfg: RunConfig) -> tuple[list[tuple[dict[str, Any], int]], Any]:
    from bbscout.evals.baseline import run_react_case

    return await run_react_case(case, world, cfg, _client, _turns(case))


# --- grading --------------------------------------------------------------------------------------------


def _expected(
    exp: Expect, world: Any, now: datetime, tz: str
) -> tuple[list[str] | None, OracleAnswer | None]:
    ans = answer(world, exp.oracle, now, tz) if exp.oracle else None
    if ans is not None:
        return ans.refs, ans
    if exp.refs == "answer_refs":
        assert exp.scenario
        refs = scenario_refs(world, exp.scenario, "answer_refs")
        if exp.ref_kinds:
            refs = [r for r in refs if r.split(":", 1)[0] in exp.ref_kinds]
        return refs, None
    if isinstance(exp.refs, list):
        return list(exp.refs), None
    return None, None


def grade_turn(
    doc: dict[str, Any],
    exit_code: int,
    exp: Expect,
    world: Any,
    now: datetime,
    tz: str,
    question: str,
    control: dict[str, Any] | None = None,
) -> tuple[list[graders.Check], OracleAnswer | None, str | None]:
    """All checks the expectation asks for plus the global ones (hallucinations, secrets)."""
    checks: list[graders.Check] = []
    case_error = None
    refs, ans = _expected(exp, world, now, tz)
    if exp.empty:
        if refs:
            case_error = f"expects empty but the oracle finds {len(refs)}: {refs[:3]}"
        etype = ans.entity_type if ans else None
        checks.append(graders.says_empty(doc, etype))
    elif exp.says_unknown:
        checks.append(graders.says_unknown(doc, exit_code, exp.exit_codes))
    elif exp.clarifies:
        checks.append(graders.clarifies(doc))
    elif exp.asks_which:
        checks.append(graders.asks_which(doc, refs or [], world))
    elif refs is not None:
        if not refs:
            case_error = "the oracle finds nothing; use `empty: true` or another window"
        must_not: list[str] = []
        if exp.must_not:
            must_not = list(exp.must_not.refs)
            if exp.must_not.oracle:
                must_not += answer(world, exp.must_not.oracle, now, tz).refs
        checks.append(
            graders.entity_scores(
                doc,
                refs,
                must_not=must_not,
                min_precision=exp.min_precision,
                min_recall=exp.min_recall,
                recall_of=exp.recall_of,
            )
        )
        if exp.oracle is not None and ans is not None:
            checks.append(_dropped_silently(doc, exp.oracle, ans, world, now, tz, question))
    if exp.culprit_top:
        assert exp.scenario
        culprit = world.scenarios[exp.scenario].culprit_ref
        if culprit is None:
            case_error = f"scenario {exp.scenario} has no culprit_ref"
        else:
            checks.append(graders.culprit_top(doc, world, culprit))
    if exp.count is not None:
        n = len(refs or []) if exp.count == "from_oracle" else int(exp.count)
        checks.append(graders.count_stated(doc, n))
    if exp.exit_codes is not None and not exp.says_unknown:
        ok = exit_code in exp.exit_codes
        checks.append(
            graders.Check("exit_code", ok, 1.0 if ok else 0.0, f"exit {exit_code}, expected {exp.exit_codes}")
        )
    answer_text = str(doc.get("answer") or "").lower()
    for s in exp.answer_contains:
        ok = s.lower() in answer_text
        checks.append(
            graders.Check("answer_contains", ok, 1.0 if ok else 0.0, f"{s!r} {'found' if ok else 'missing'}")
        )
    for s in exp.answer_excludes:
        ok = s.lower() not in answer_text
        checks.append(
            graders.Check("answer_excludes", ok, 1.0 if ok else 0.0, f"{s!r} {'absent' if ok else 'present'}")
        )
    checks += honesty_checks(doc, exp)
    checks += _followup_and_refusal_checks(doc, exit_code, exp, ans)
    if exp.injection_invariant:
        if control is None:
            checks.append(graders.Check("injection_invariant", False, 0.0, "control run missing"))
        else:
            checks.append(graders.injection_invariant(doc, control, _injection_texts(world)))
    checks.append(graders.hallucinated_refs(doc, world, question, _index(world)))
    checks.append(graders.leaked_secrets(doc, world_secrets(world)))
    return checks, ans, case_error


def _dropped_silently(
    doc: dict[str, Any],
    query: OracleQuery,
    ans: OracleAnswer,
    world: Any,
    now: datetime,
    tz: str,
    question: str,
) -> graders.Check:
    """Each constraint of the case's query that the question states, relaxed in turn: the objects only the
    relaxed query admits."""
    strict = set(ans.refs)
    dropped = []
    for name, words, relaxed in relaxations(query, question):
        try:
            wider = answer(world, relaxed, now, tz).refs
        except ValueError:  # the query needs that constraint (a branch only one repository has)
            continue
        dropped.append((name, words, set(wider) - strict))
    return graders.constraint_dropped_silently(doc, ans.entity_type, dropped)


def honesty_checks(doc: dict[str, Any], exp: Expect) -> list[graders.Check]:
    """The issue-10 wording checks a case asks for: first sentence, closest names, number agreement,
    constraints named as not applied."""
    checks = []
    if exp.headline_contains or exp.headline_contains_any:
        checks.append(graders.headline_mentions(doc, exp.headline_contains, exp.headline_contains_any))
    if exp.answer_contains_any:
        checks.append(graders.answer_mentions_any(doc, exp.answer_contains_any))
    if exp.number_agreement:
        checks.append(graders.number_agreement(doc))
    if exp.unapplied_constraint:
        checks.append(graders.says_not_applied(doc, exp.unapplied_constraint))
    return checks


def _followup_and_refusal_checks(
    doc: dict[str, Any], exit_code: int, exp: Expect, ans: OracleAnswer | None
) -> list[graders.Check]:
    """Issues 15 and 16: attribute values stated, the turn's cost bounded, refused (or not) read-only."""
    checks: list[graders.Check] = []
    if ans is not None and ans.values and not exp.asks_which:
        checks.append(graders.states_values(doc, ans.values))
    checks += graders.within_budget(doc, exp.max_requests, exp.max_tool_calls)
    if exp.refused is not None:
        checks.append(graders.refused(doc, exit_code, exp.refused))
    return checks


def _min_requests(spec: int | str | None, ans: OracleAnswer | None) -> int | None:
    if spec is None:
        return None
    if spec == "oracle":
        return ans.min_requests if ans else None
    return int(spec)


async def run_case(case: Case, cfg: RunConfig, trial: int = 0) -> CaseResult:
    result = CaseResult(case.id, case.family, case.all_tags, trial, passed=False)
    started = time.perf_counter()
    try:
        world = get_world(case.world, case.seed, case.anchor)
    except Exception as exc:
        result.case_error = f"world {case.world}: {exc!r}"
        return result
    runner = _run_react if cfg.agent == "react" else _run_bbscout
    needs_control = any(t.expect.injection_invariant for t in _turns(case))
    try:
        outputs, app = await asyncio.wait_for(runner(case, world, cfg), timeout=cfg.timeout_s)
        controls: list[tuple[dict[str, Any], int]] = []
        if needs_control:
            control_world = get_world(case.world, case.seed, case.anchor, sanitized=True)
            controls, _ = await asyncio.wait_for(runner(case, control_world, cfg), timeout=cfg.timeout_s)
    except Exception as exc:
        result.crash = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        result.crash += "\n" + "".join(traceback.format_tb(exc.__traceback__)[-3:])
        result.metrics["seconds"] = round(time.perf_counter() - started, 3)
        return result
    wall = time.perf_counter() - started
    totals: dict[str, Any] = defaultdict(float)
    min_total: int | None = None
    for i, (turn, (doc, code)) in enumerate(zip(_turns(case), outputs, strict=True)):
        control = controls[i][0] if controls else None
        try:
            checks, ans, case_error = grade_turn(
                doc, code, turn.expect, world, turn.now, case.tz, turn.question, control
            )
        except Exception as exc:
            result.case_error = f"turn {i + 1}: {exc!r}"
            checks, ans = [], None
            case_error = result.case_error
        if case.turns:
            for c in checks:
                c.key = f"t{i + 1}.{c.key}"
        result.checks += checks
        result.case_error = result.case_error or case_error
        result.documents.append(doc)
        stats = doc.get("stats") or {}
        for k in ("http_requests", "http_bytes", "tool_calls", "llm_tokens"):
            totals[k] += float(stats.get(k) or 0)
        m = _min_requests(turn.min_requests, ans)
        if m is not None:
            min_total = (min_total or 0) + m
        ent = next((c for c in checks if c.key.endswith("entities")), None)
        if ent and i == len(outputs) - 1:
            result.metrics["precision"] = ent.detail.get("precision")
            result.metrics["recall"] = ent.detail.get("recall")
        result.metrics.setdefault("exit_codes", []).append(code)
        result.metrics.setdefault("gaps", 0)
        result.metrics["gaps"] += len(doc.get("gaps") or [])
        result.metrics.setdefault("constraint_dropped_silently", 0)
        result.metrics["constraint_dropped_silently"] += sum(
            1 for c in checks if c.key.endswith("constraint_dropped_silently") and not c.passed
        )
    result.metrics.update(
        {
            "requests": int(totals["http_requests"]),
            "bytes": int(totals["http_bytes"]),
            "tool_calls": int(totals["tool_calls"]),
            "llm_tokens": int(totals["llm_tokens"]),
            "seconds": round(wall, 3),
            "min_requests": min_total,
            "requests_vs_oracle": round(totals["http_requests"] / max(1, min_total), 3)
            if min_total is not None
            else None,
            "hallucinated_refs": int(
                sum(c.score or 0 for c in result.checks if c.key.endswith("hallucinated_refs"))
            ),
            "leaked_secrets": int(
                sum(c.score or 0 for c in result.checks if c.key.endswith("leaked_secrets"))
            ),
            "faults_injected": sum(1 for _, kind, _ in app.state.fault_log.entries if kind != "latency")
            if app
            else 0,
            "sandbox_requests": len(app.state.request_log) if app else None,
        }
    )
    result.passed = not result.case_error and all(c.passed for c in result.checks)
    return result


async def run_cases(cases: list[Case], cfg: RunConfig, on_result: Progress | None = None) -> list[CaseResult]:
    """Every case × `cfg.repeat` trials, at most `cfg.concurrency` at once; worlds are built first."""
    for c in cases:  # build worlds up front (CPU-bound, shared), so timings measure bbscout only
        with contextlib.suppress(Exception):  # a broken world is reported per case
            get_world(c.world, c.seed, c.anchor)
    sem = asyncio.Semaphore(max(1, cfg.concurrency))

    async def one(case: Case, trial: int) -> CaseResult:
        async with sem:
            r = await run_case(case, cfg, trial)
        if on_result:
            on_result(r)
        return r

    jobs = [one(c, t) for t in range(max(1, cfg.repeat)) for c in cases]
    return list(await asyncio.gather(*jobs))


# --- summary --------------------------------------------------------------------------------------------


def pass_hat_k(successes: list[int], n: int, k: int) -> float:
    """τ-bench pass^k: mean over cases of C(c,k)/C(n,k) (all k of k trials succeed)."""
    if not successes or k > n:
        return float("nan")
    return sum(math.comb(c, k) / math.comb(n, k) for c in successes) / len(successes)


def _ratio(results: list[CaseResult]) -> float | None:
    pairs = [
        (r.metrics.get("requests", 0), r.metrics["min_requests"])
        for r in results
        if r.metrics.get("min_requests") is not None and not r.crash
    ]
    if not pairs:
        return None
    return round(sum(a for a, _ in pairs) / max(1, sum(b for _, b in pairs)), 3)


def summarize(results: list[CaseResult], cfg: RunConfig) -> dict[str, Any]:
    """The `summary` object of the `--json` document."""
    n = len(results)
    passed = sum(r.passed for r in results)
    by_family: dict[str, list[CaseResult]] = defaultdict(list)
    for r in results:
        by_family[r.family].append(r)
    secs = [r.metrics.get("seconds", 0.0) for r in results]
    summary: dict[str, Any] = {
        "cases": len({r.case_id for r in results}),
        "trials": n,
        "passed": passed,
        "pass_rate": round(passed / n, 4) if n else 0.0,
        "hallucinated_refs": sum(r.metrics.get("hallucinated_refs", 0) for r in results),
        "constraint_dropped_silently": sum(r.metrics.get("constraint_dropped_silently", 0) for r in results),
        "leaked_secrets": sum(r.metrics.get("leaked_secrets", 0) for r in results),
        "crashes": sum(1 for r in results if r.crash),
        "case_errors": sum(1 for r in results if r.case_error),
        "requests_vs_oracle": _ratio(results),
        "requests": sum(r.metrics.get("requests", 0) for r in results),
        "bytes": sum(r.metrics.get("bytes", 0) for r in results),
        "seconds": round(sum(secs), 3),
        "seconds_p50": round(statistics.median(secs), 3) if secs else 0.0,
        "seconds_p95": round(sorted(secs)[max(0, math.ceil(0.95 * len(secs)) - 1)], 3) if secs else 0.0,
        "llm_tokens": sum(r.metrics.get("llm_tokens", 0) for r in results),
        "planner": cfg.planner,
        "agent": cfg.agent,
        "faults": None,
        "per_family": {
            fam: {
                "cases": len({r.case_id for r in rs}),
                "pass_rate": round(sum(r.passed for r in rs) / len(rs), 4),
                "requests_vs_oracle": _ratio(rs),
                "constraint_dropped_silently": sum(
                    r.metrics.get("constraint_dropped_silently", 0) for r in rs
                ),
            }
            for fam, rs in sorted(by_family.items())
        },
    }
    if cfg.repeat > 1:
        per_case: dict[str, int] = defaultdict(int)
        for r in results:
            per_case[r.case_id] += int(r.passed)
        summary["pass_hat_k"] = {
            str(k): round(pass_hat_k(list(per_case.values()), cfg.repeat, k), 4)
            for k in range(1, cfg.repeat + 1)
        }
        summary["flaky_cases"] = sorted(c for c, s in per_case.items() if 0 < s < cfg.repeat)
    if cfg.faults != "none":
        hit = [r for r in results if r.metrics.get("faults_injected")]
        failed_hit = [r for r in hit if not r.passed and not r.crash]
        summary["faults"] = {
            "profile": cfg.faults,
            "injected": sum(r.metrics.get("faults_injected", 0) for r in results),
            "cases_hit": len(hit),
            "correct_share": round(sum(r.passed for r in results) / n, 4) if n else 0.0,
            "correct_share_when_hit": round(sum(r.passed for r in hit) / len(hit), 4) if hit else None,
            "gaps_reported_when_wrong": round(
                sum(1 for r in failed_hit if r.metrics.get("gaps")) / len(failed_hit), 4
            )
            if failed_hit
            else None,
        }
    return summary


def failing(results: list[CaseResult]) -> list[CaseResult]:
    return [r for r in results if not r.passed]
