"""list_commits / get_commit / commits_between / list_branches against the sandbox."""

from __future__ import annotations

from datetime import timedelta

from bbscout.sandbox.world.model import World
from bbscout.tools.context import ToolContext
from bbscout.tools.registry import run_tool
from tests.tools.conftest import dt, refs


def _main_ancestry(world: World, slug: str) -> list[str]:
    """Hashes reachable from the main branch head, newest first (the oracle for /commits/main)."""
    rd = world.repos[slug]
    head = rd.branches[rd.main_branch]
    seen, stack = set(), [head]
    while stack:
        h = stack.pop()
        if h in seen or h not in rd.commits:
            continue
        seen.add(h)
        stack += [p["hash"] for p in rd.commits[h].get("parents") or []]
    return [h for h in rd.commit_order if h in seen]


def _repo(world: World) -> str:
    return max(world.repos, key=lambda s: len(world.repos[s].commit_order))


async def test_commits_on_main_window_exact_and_early_stop(ctx: ToolContext, world: World) -> None:
    slug = _repo(world)
    rd = world.repos[slug]
    since = world.anchor - timedelta(days=3)
    res = await run_tool(ctx, "list_commits", {"repo": slug, "since": since, "limit": 500})
    expected = {
        f"commit:{slug}@{h[:12]}" for h in _main_ancestry(world, slug) if dt(rd.commits[h]["date"]) >= since
    }
    assert expected
    assert refs(res, "commit") == expected
    assert res.requests <= 2, "main branch lookup + one page of 100 covers three days"
    assert len(_main_ancestry(world, slug)) > 100, "the early stop must matter"


async def test_merges_only_finds_all_merge_shapes(ctx: ToolContext, world: World) -> None:
    slug = _repo(world)
    rd = world.repos[slug]
    main = rd.main_branch
    since = world.anchor - timedelta(days=7)
    res = await run_tool(
        ctx, "list_commits", {"repo": slug, "since": since, "merges_only": True, "limit": 500}
    )
    merged = {
        p["merge_commit"]["hash"]: i
        for i, p in rd.pullrequests.items()
        if p["state"] == "MERGED"
        and p["destination"]["branch"]["name"] == main
        and since <= dt(p["updated_on"])
        and (p.get("merge_commit") or {}).get("hash")
    }
    got = {r.hash: r for r in res.records}
    for h, pid in merged.items():
        full = next((x for x in got if x.startswith(h)), None)
        assert full is not None, f"merge commit of PR #{pid} missing"
        assert got[full].pr_id == pid
    # nothing that is neither a merge nor a PR merge commit
    for r in res.records:
        assert r.is_merge or r.pr_id is not None
    assert any("merges found by" in n for n in res.notes)


async def test_author_filter(ctx: ToolContext, world: World) -> None:
    slug = _repo(world)
    rd = world.repos[slug]
    since = world.anchor - timedelta(days=14)
    name = rd.commits[rd.branches[rd.main_branch]]["author"]["raw"].split("<")[0].strip().split()[0]
    res = await run_tool(
        ctx, "list_commits", {"repo": slug, "since": since, "author": name.lower(), "limit": 500}
    )
    expected = {
        f"commit:{slug}@{h[:12]}"
        for h in _main_ancestry(world, slug)
        if dt(rd.commits[h]["date"]) >= since
        and name.lower()
        in (
            rd.commits[h]["author"].get("raw", "")
            + " "
            + ((rd.commits[h]["author"].get("user") or {}).get("display_name") or "")
        ).lower()
    }
    assert refs(res, "commit") == expected


async def test_get_commit_and_cache(ctx: ToolContext, world: World) -> None:
    slug = _repo(world)
    rd = world.repos[slug]
    h = rd.commit_order[0]
    res = await run_tool(ctx, "get_commit", {"repo": slug, "commit": h})
    assert res.records[0].ref == f"commit:{slug}@{h[:12]}"
    assert {r.path for r in res.records if r.kind == "file"} == {c.path for c in rd.changes.get(h, [])}
    assert res.requests == 3
    again = await run_tool(ctx, "get_commit", {"repo": slug, "commit": h})
    assert again.requests == 0
    assert [r.model_dump() for r in again.records] == [r.model_dump() for r in res.records]


async def test_commits_between(ctx: ToolContext, world: World) -> None:
    slug = _repo(world)
    order = _main_ancestry(world, slug)
    new, old = order[0], order[5]
    res = await run_tool(ctx, "commits_between", {"repo": slug, "include": new, "exclude": old})
    got = [r.hash for r in res.records if r.kind == "commit"]
    assert set(order[:5]) <= set(got)  # first-parent chain at least
    assert old not in got
    assert any(r.kind == "file" for r in res.records)


async def test_stale_and_recent_branches(ctx: ToolContext, world: World) -> None:
    before = world.anchor - timedelta(days=14)
    res = await run_tool(ctx, "list_branches", {"stale_before": before, "limit": 500})
    expected = {
        f"branch:{s}:{n}"
        for s, rd in world.repos.items()
        for n, h in rd.branches.items()
        if dt(rd.commits[h]["date"]) < before
    }
    assert expected and refs(res, "branch") == expected
    assert [r.head_date for r in res.records] == sorted(r.head_date for r in res.records)  # stalest first
    since = world.anchor - timedelta(days=2)
    res = await run_tool(ctx, "list_branches", {"since": since, "limit": 500})
    expected = {
        f"branch:{s}:{n}"
        for s, rd in world.repos.items()
        for n, h in rd.branches.items()
        if dt(rd.commits[h]["date"]) >= since
    }
    assert refs(res, "branch") == expected
    assert res.requests <= len(world.repos)  # listing cached from the first call; one page per repository


async def test_branch_name_filter(ctx: ToolContext, world: World) -> None:
    slug = _repo(world)
    name = next(n for n in world.repos[slug].branches if "/" in n)
    frag = name.split("/")[0]
    res = await run_tool(ctx, "list_branches", {"repos": [slug], "name_contains": frag, "limit": 500})
    assert refs(res, "branch") == {
        f"branch:{slug}:{n}" for n in world.repos[slug].branches if frag.lower() in n.lower()
    }
