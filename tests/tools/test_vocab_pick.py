"""Single-object questions: exactly one record and the rule, for pipelines and branches."""

from __future__ import annotations

from bbscout.sandbox.world.model import World
from bbscout.tools.context import ToolContext
from bbscout.tools.registry import run_tool
from tests.tools.conftest import dt, result_of


async def test_latest_successful_build_on_main(ctx: ToolContext, world: World) -> None:
    slug = "api-gateway"
    main = world.repos[slug].main_branch
    res = await run_tool(
        ctx,
        "list_pipelines",
        {"repos": [slug], "results": ["SUCCESSFUL"], "branch": main, "pick": "newest"},
    )
    newest = max(
        (
            p
            for p in world.repos[slug].pipelines
            if result_of(p) == "SUCCESSFUL" and (p.get("target") or {}).get("ref_name") == main
        ),
        key=lambda p: dt(p["created_on"]),
    )
    assert [r.build_number for r in res.records] == [newest["build_number"]]
    assert res.requests == 1  # server-side status + branch filters, pagelen 2
    assert f"rule: the newest by created_on among SUCCESSFUL pipelines on {main} in {slug}" in res.notes


async def test_latest_failed_build_anywhere(ctx: ToolContext, world: World) -> None:
    res = await run_tool(ctx, "list_pipelines", {"results": ["FAILED", "ERROR"], "pick": "newest"})
    newest = max(
        (
            (s, p)
            for s, rd in world.repos.items()
            for p in rd.pipelines
            if result_of(p) in ("FAILED", "ERROR")
        ),
        key=lambda sp: dt(sp[1]["created_on"]),
    )
    assert [r.ref for r in res.records] == [f"pipeline:{newest[0]}#{newest[1]['build_number']}"]
    assert res.requests == 1 + len(world.repos)


async def test_newest_and_oldest_branch(ctx: ToolContext, world: World) -> None:
    def head_date(slug: str, name: str):
        rd = world.repos[slug]
        return dt(rd.commits[rd.branches[name]]["date"])

    newest = await run_tool(ctx, "list_branches", {"pick": "newest"})
    want = max(((s, b) for s, rd in world.repos.items() for b in rd.branches), key=lambda sb: head_date(*sb))
    assert [r.ref for r in newest.records] == [f"branch:{want[0]}:{want[1]}"]
    assert newest.requests == 1 + len(world.repos)  # one page of 2 per repository
    assert any("Bitbucket does not record when a branch was created" in n for n in newest.notes)
    slug = "checkout-service"
    oldest = await run_tool(ctx, "list_branches", {"repos": [slug], "pick": "oldest"})
    first = min(world.repos[slug].branches, key=lambda b: head_date(slug, b))
    assert [r.name for r in oldest.records] == [first] and oldest.requests == 1
