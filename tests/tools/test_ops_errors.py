"""Error policy, budget, retries under faults, registry and render, and one module over real loopback HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from bbscout.sandbox.app import SandboxSettings, create_app
from bbscout.sandbox.faults import FaultProfile
from bbscout.sandbox.server import LoopbackServer
from bbscout.sandbox.world.model import World
from bbscout.tools.args import TOOL_ARGS
from bbscout.tools.bitbucket import AuthError, NotFound
from bbscout.tools.evidence import PipelineRecord, StepRecord, ToolResult
from bbscout.tools.registry import TOOLS, run_tool
from bbscout.tools.render import render_result
from tests.tools.conftest import Deny403, dt, refs, result_of, tool_context


def _failed_since(world: World, since, skip=()) -> set[str]:
    return {
        f"pipeline:{s}#{p['build_number']}"
        for s, rd in world.repos.items()
        if s not in skip
        for p in rd.pipelines
        if result_of(p) in ("FAILED", "ERROR") and dt(p["created_on"]) >= since
    }


async def test_403_on_one_repo_is_a_gap_others_kept(app, world: World) -> None:
    denied = sorted(world.repos)[0]
    since = world.anchor - timedelta(days=2)
    async with tool_context(app, world, transport=lambda inner: Deny403(inner, denied)) as ctx:
        res = await run_tool(
            ctx, "list_pipelines", {"results": ["FAILED", "ERROR"], "since": since, "limit": 500}
        )
    assert refs(res, "pipeline") == _failed_since(world, since, skip={denied})
    assert len(res.gaps) == 1 and res.gaps[0].startswith(f"{denied}: no access (403)")
    assert "read:pipeline:bitbucket" in res.gaps[0]


async def test_401_propagates(app, world: World) -> None:
    bad = next((t.label for t in world.tokens if t.expired or not t.scoped), None)
    assert bad is not None
    async with tool_context(app, world, token=bad) as ctx:
        with pytest.raises(AuthError):
            await run_tool(ctx, "list_pipelines", {"repos": sorted(world.repos)[:2]})


async def test_404_single_target_propagates_and_fanout_gaps(ctx, world: World) -> None:
    with pytest.raises(NotFound):
        await run_tool(ctx, "get_commit", {"repo": "no-such-repo", "commit": "0" * 40})
    res = await run_tool(ctx, "list_pull_requests", {"repos": ["no-such-repo", sorted(world.repos)[0]]})
    assert res.gaps and res.gaps[0].startswith("no-such-repo: not found (404)")


async def test_budget_exhausted_truncates_with_gaps(app, world: World) -> None:
    async with tool_context(app, world, budget=4, concurrency=1) as ctx:
        res = await run_tool(
            ctx, "list_pipelines", {"since": world.anchor - timedelta(days=30), "limit": 500}
        )
    assert res.truncated
    assert res.gaps and all("budget" in g for g in res.gaps)
    assert len(res.gaps) >= len(world.repos) - 3
    assert res.requests <= 4
    # what was read is still right
    assert refs(res, "pipeline") <= {
        f"pipeline:{s}#{p['build_number']}" for s, rd in world.repos.items() for p in rd.pipelines
    }


async def test_retries_under_faults_give_the_right_answer(world: World) -> None:
    app = create_app(world, SandboxSettings())
    app.state.settings.faults = FaultProfile(
        error_rate=0.2, burst_429=2, burst_every=10, retry_after_s=0, truncate_rate=0.05, seed=3
    )
    since = world.anchor - timedelta(hours=48)
    async with tool_context(app, world, concurrency=1) as ctx:
        res = await run_tool(
            ctx, "list_pipelines", {"results": ["FAILED", "ERROR"], "since": since, "limit": 500}
        )
    assert not res.gaps, res.gaps
    assert refs(res, "pipeline") == _failed_since(world, since)
    kinds = {k for _, k, _ in app.state.fault_log.entries}
    assert {"error", "burst_429"} <= kinds, "faults were injected"


async def test_over_real_loopback_http(world: World) -> None:
    app = create_app(world, SandboxSettings())
    since = world.anchor - timedelta(hours=24)
    with LoopbackServer(app) as srv:
        async with tool_context(None, world, base_url=srv.base_url) as ctx:
            res = await run_tool(
                ctx, "list_pipelines", {"results": ["FAILED", "ERROR"], "since": since, "limit": 500}
            )
            scen = world.scenarios["broken_main_build"]
            ref = next(r for r in scen.answer_refs if r.startswith("pipeline:"))
            slug, build = ref[len("pipeline:") :].split("#")
            failure = await run_tool(ctx, "pipeline_failure", {"repo": slug, "build_number": int(build)})
    assert refs(res, "pipeline") == _failed_since(world, since)
    assert any(
        r.kind == "step" and r.log_tail for r in failure.records
    )  # the 307 to log storage was followed


def test_registry_covers_every_tool() -> None:
    assert set(TOOLS) == set(TOOL_ARGS)
    for tool in TOOLS.values():
        assert tool.args_model is TOOL_ARGS[tool.name] and len(tool.description) > 30


async def test_bad_args_rejected(ctx) -> None:
    with pytest.raises(ValidationError):
        await run_tool(ctx, "list_pipelines", {"reslts": ["FAILED"]})


def _result(n: int) -> ToolResult:
    from datetime import UTC, datetime

    recs = [
        PipelineRecord(
            ref=f"pipeline:api#{i}",
            repo="api",
            url=f"https://bitbucket.org/acme/api/pipelines/results/{i}",
            title="t",
            uuid="{u}",
            build_number=i,
            state="COMPLETED",
            result="FAILED",
            branch="main",
            trigger="PUSH",
            created_on=datetime(2026, 11, 28, 14, 5, tzinfo=UTC),
        )
        for i in range(n)
    ]
    log = "\n".join(f"line {i}" for i in range(300)) + "\nFINAL: exit code 1"
    recs.append(
        StepRecord(
            ref="step:api#1/Unit tests",
            repo="api",
            url="https://bitbucket.org/x",
            title="s",
            uuid="{s}",
            pipeline_uuid="{u}",
            build_number=1,
            name="Unit tests",
            state="COMPLETED",
            result="FAILED",
            log_tail=log,
            error_lines=["E   AssertionError"],
        )
    )
    return ToolResult(
        tool="list_pipelines", records=recs, notes=["n"], gaps=["payments: no access (403)"], truncated=True
    )


def test_render_bounded_actionable_and_deterministic() -> None:
    res = _result(200)
    text = render_result(res, max_chars=3000)
    assert len(text) <= 3000
    assert text == render_result(res, max_chars=3000)
    assert text.splitlines()[1].startswith("gap: payments")
    last = text.splitlines()[-1]
    assert last.startswith("… ") and "more pipelines" in last and "not shown; narrow the window" in last
    line = next(ln for ln in text.splitlines() if ln.startswith("pipeline:api#0 "))
    assert "FAILED main PUSH 2026-11-28T14:05Z" in line and line.endswith("/pipelines/results/0")


def test_render_keeps_log_tail_not_head() -> None:
    res = _result(0)
    text = render_result(res, max_chars=1200)
    assert "FINAL: exit code 1" in text and "line 0\n" not in text
    for n in (50, 200, 500, 6000):
        assert len(render_result(_result(30), max_chars=n)) <= n
