"""list_pipelines / get_pipeline / pipeline_failure against the sandbox, with the world as oracle."""

from __future__ import annotations

import json
from datetime import timedelta

from bbscout.sandbox.world.model import World
from bbscout.tools.context import ToolContext
from bbscout.tools.registry import run_tool
from bbscout.tools.render import render_result
from tests.tools.conftest import dt, refs, result_of, tool_context


def _oracle(world: World, pred, repos=None) -> set[str]:
    out = set()
    for slug, rd in world.repos.items():
        if repos and slug not in repos:
            continue
        for p in rd.pipelines:
            if pred(p):
                out.add(f"pipeline:{slug}#{p['build_number']}")
    return out


async def test_failed_last_24h_across_repos_exact(ctx: ToolContext, world: World) -> None:
    since = world.anchor - timedelta(hours=24)
    res = await run_tool(
        ctx, "list_pipelines", {"results": ["FAILED", "ERROR"], "since": since, "limit": 500}
    )
    expected = _oracle(world, lambda p: result_of(p) in ("FAILED", "ERROR") and dt(p["created_on"]) >= since)
    assert expected, "the default world should have failures in the last 24h"
    assert refs(res, "pipeline") == expected
    assert not res.gaps and not res.truncated
    # newest first, and every record says FAILED/ERROR (never STOPPED)
    created = [r.created_on for r in res.records]
    assert created == sorted(created, reverse=True)
    assert {r.result for r in res.records} <= {"FAILED", "ERROR"}
    assert res.requests <= 1 + len(world.repos), "one listing page per repository plus the repo listing"


async def test_early_stop_reads_fewer_pages_than_all(ctx: ToolContext, world: World) -> None:
    """Last-24h over all results must not read every page of a long pipeline history."""
    slug, rd = max(world.repos.items(), key=lambda kv: len(kv[1].pipelines))
    assert len(rd.pipelines) > 100, "need a repository with more than one page of pipelines"
    res = await run_tool(
        ctx, "list_pipelines", {"repos": [slug], "since": world.anchor - timedelta(hours=24), "limit": 500}
    )
    expected = _oracle(world, lambda p: dt(p["created_on"]) >= world.anchor - timedelta(hours=24), [slug])
    assert refs(res, "pipeline") == expected
    assert res.requests == 1  # one page of 100 (newest first) holds the whole day


async def test_status_filter_is_sent_server_side(app, world: World) -> None:
    async with tool_context(app, world) as ctx:
        slug = next(iter(world.repos))
        await run_tool(ctx, "list_pipelines", {"repos": [slug], "results": ["FAILED"], "limit": 5})
    paths = [p for _, p, _ in app.state.request_log if "/pipelines" in p]
    assert paths and all("status=FAILED" in p and "sort=-created_on" in p and "fields=" in p for p in paths)


async def test_successful_and_branch_and_trigger(ctx: ToolContext, world: World) -> None:
    slug, rd = max(world.repos.items(), key=lambda kv: len(kv[1].pipelines))
    main = rd.main_branch
    since = world.anchor - timedelta(days=3)
    res = await run_tool(
        ctx,
        "list_pipelines",
        {
            "repos": [slug],
            "results": ["SUCCESSFUL"],
            "branch": main,
            "trigger": "PUSH",
            "since": since,
            "limit": 500,
        },
    )
    expected = _oracle(
        world,
        lambda p: (
            result_of(p) == "SUCCESSFUL"
            and dt(p["created_on"]) >= since
            and (p["target"].get("ref_name") == main)
            and p["trigger"]["name"] == "PUSH"
        ),
        [slug],
    )
    assert refs(res, "pipeline") == expected


async def test_in_progress(ctx: ToolContext, world: World) -> None:
    res = await run_tool(ctx, "list_pipelines", {"in_progress": True, "limit": 500})
    expected = _oracle(world, lambda p: p["state"]["name"] != "COMPLETED")
    assert refs(res, "pipeline") == expected
    assert all(r.result is None for r in res.records)


async def test_pr_filter_client_side(ctx: ToolContext, world: World) -> None:
    hit = next(
        (
            (slug, p)
            for slug, rd in world.repos.items()
            for p in reversed(rd.pipelines)
            if (p["target"].get("pullrequest") or {}).get("id")
        ),
        None,
    )
    if hit is None:
        return
    slug, p = hit
    pr_id = p["target"]["pullrequest"]["id"]
    res = await run_tool(ctx, "list_pipelines", {"repos": [slug], "pr_id": pr_id, "limit": 500})
    expected = _oracle(world, lambda q: (q["target"].get("pullrequest") or {}).get("id") == pr_id, [slug])
    assert refs(res, "pipeline") == expected
    assert all(r.branch == p["target"].get("source") for r in res.records if r.pr_id)


async def test_limit_truncates_with_note(ctx: ToolContext, world: World) -> None:
    res = await run_tool(ctx, "list_pipelines", {"limit": 3})
    assert len(res.records) == 3 and res.truncated
    text = render_result(res, max_chars=2000)
    assert len(text) <= 2000 and "pipeline:" in text


async def test_get_pipeline_with_steps(ctx: ToolContext, world: World) -> None:
    slug, rd = next(iter(world.repos.items()))
    p = rd.pipelines[-1]
    res = await run_tool(ctx, "get_pipeline", {"repo": slug, "build_number": p["build_number"]})
    pipe = res.records[0]
    assert pipe.ref == f"pipeline:{slug}#{p['build_number']}" and pipe.uuid == p["uuid"]
    assert pipe.result == result_of(p)
    assert [s.name for s in res.records[1:]] == [s["name"] for s in rd.steps.get(p["uuid"], [])]
    assert res.requests == 2


async def test_pipeline_failure_explains_failed_step(ctx: ToolContext, world: World) -> None:
    scen = world.scenarios["broken_main_build"]
    ref = next(r for r in scen.answer_refs if r.startswith("pipeline:"))
    slug, build = ref[len("pipeline:") :].split("#")
    rd = world.repos[slug]
    raw = next(p for p in rd.pipelines if p["build_number"] == int(build))
    res = await run_tool(ctx, "pipeline_failure", {"repo": slug, "build_number": int(build)})
    steps = [r for r in res.records if r.kind == "step" and r.result in ("FAILED", "ERROR")]
    raw_failed = [
        s
        for s in rd.steps[raw["uuid"]]
        if (s["state"].get("result") or {}).get("name") in ("FAILED", "ERROR")
    ]
    assert {s.name for s in steps} == {s["name"] for s in raw_failed}
    for step in steps:
        log = rd.logs[step.uuid]
        last = [ln for ln in log.splitlines() if ln.strip()][-1]
        assert step.log_tail and step.log_tail.splitlines()[-1] == last  # the TAIL, not the head
        assert step.error_lines
    failed_cases = {
        c["fully_qualified_name"]
        for s in raw_failed
        for c in rd.test_cases.get(s["uuid"], [])
        if c["status"] == "FAILED"
    }
    assert {r.name for r in res.records if r.kind == "test_case"} == failed_cases
    # completed pipelines, steps and logs are immutable: asking again costs nothing
    again = await run_tool(ctx, "pipeline_failure", {"repo": slug, "build_number": int(build)})
    assert again.requests <= 1  # only the pipeline GET itself may be re-validated


async def test_pipeline_failure_redacts_planted_secrets(ctx: ToolContext, world: World) -> None:
    scen = world.scenarios["adversarial_content"]
    secrets = [s for s in scen.facts.get("secrets", []) if isinstance(s, str)]
    assert secrets
    texts = []
    for ref in scen.answer_refs:
        if not ref.startswith("pipeline:"):
            continue
        slug, build = ref[len("pipeline:") :].split("#")
        res = await run_tool(
            ctx, "pipeline_failure", {"repo": slug, "build_number": int(build), "log_tail_lines": 400}
        )
        texts.append(json.dumps([r.model_dump(mode="json") for r in res.records]) + render_result(res, 20000))
    assert texts, "the adversarial scenario should point at a pipeline"
    blob = "\n".join(texts)
    for secret in secrets:
        assert secret not in blob
    assert "[REDACTED:" in blob


async def test_branch_like_lists_the_runs_of_every_branch_whose_name_holds_the_words(
    ctx: ToolContext, world: World
) -> None:
    # a word pair that several branches of one repository share, read from the world
    slug, rd = max(world.repos.items(), key=lambda kv: len(kv[1].branches))
    words = ["feature"]
    names = {b for b in rd.branches if all(w in b.lower() for w in words)}
    assert len(names) > 1
    res = await run_tool(ctx, "list_pipelines", {"repos": [slug], "branch_like": words, "limit": 500})
    expected = _oracle(
        world, lambda p: (p["target"].get("ref_name") or p["target"].get("source")) in names, [slug]
    )
    assert refs(res, "pipeline") == expected and expected
    (rule,) = [n for n in res.notes if n.startswith("rule: the branches whose names hold “feature”")]
    assert all(f"{slug}:{n}" in rule for n in names) or f"{len(names)} branches" in rule
    none = await run_tool(ctx, "list_pipelines", {"repos": [slug], "branch_like": ["no-such-words-here"]})
    assert none.records == [] and any(n.endswith(": none") for n in none.notes)
