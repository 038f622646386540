"""list_pull_requests / get_pull_request / pull_requests_for_commit against the sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bbscout.sandbox.app import SandboxSettings, create_app
from bbscout.sandbox.world.model import World
from bbscout.tools.context import ToolContext
from bbscout.tools.registry import run_tool
from tests.tools.conftest import dt, refs, tool_context


def _busiest(world: World) -> str:
    return max(
        world.repos, key=lambda s: sum(p["state"] == "MERGED" for p in world.repos[s].pullrequests.values())
    )


def _yesterday(world: World):
    day = (world.anchor - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return day, day + timedelta(days=1) - timedelta(microseconds=1)


async def test_merged_to_main_in_window_exact(app, world: World) -> None:
    slug = _busiest(world)
    main = world.repos[slug].main_branch
    since, until = world.anchor - timedelta(days=7), world.anchor
    async with tool_context(app, world) as ctx:
        res = await run_tool(
            ctx,
            "list_pull_requests",
            {
                "repos": [slug],
                "states": ["MERGED"],
                "destination_branch": main,
                "since": since,
                "until": until,
                "limit": 200,
            },
        )
    expected = {
        f"pr:{slug}#{i}"
        for i, p in world.repos[slug].pullrequests.items()
        if p["state"] == "MERGED"
        and p["destination"]["branch"]["name"] == main
        and since <= dt(p["updated_on"]) <= until
    }
    assert expected
    assert refs(res, "pull_request") == expected
    assert res.requests == 1
    pr_calls = [p for _, p, _ in app.state.request_log if p.split("?")[0].endswith("/pullrequests")]
    assert pr_calls and all("q=" in p and "state=MERGED" in p and "pagelen=50" in p for p in pr_calls)
    # trimmed: reviewers/participants are not asked for when not needed
    assert all("participants" not in p for p in pr_calls)


async def test_merged_yesterday_all_repos(ctx: ToolContext, world: World) -> None:
    since, until = _yesterday(world)
    res = await run_tool(
        ctx, "list_pull_requests", {"states": ["MERGED"], "since": since, "until": until, "limit": 200}
    )
    expected = {
        f"pr:{s}#{i}"
        for s, rd in world.repos.items()
        for i, p in rd.pullrequests.items()
        if p["state"] == "MERGED" and since <= dt(p["updated_on"]) <= until
    }
    assert refs(res, "pull_request") == expected


async def test_awaiting_review_and_author(ctx: ToolContext, world: World) -> None:
    res = await run_tool(ctx, "list_pull_requests", {"awaiting_review": True, "limit": 200})
    expected = {
        f"pr:{s}#{i}"
        for s, rd in world.repos.items()
        for i, p in rd.pullrequests.items()
        if p["state"] == "OPEN"
        and not p.get("draft")
        and not any(x.get("approved") for x in p.get("participants") or [])
    }
    assert refs(res, "pull_request") == expected
    # author fragment, case-insensitive, on display name
    some = next(p for rd in world.repos.values() for p in rd.pullrequests.values() if p["state"] == "MERGED")
    fragment = some["author"]["display_name"].split()[0].upper()
    res = await run_tool(ctx, "list_pull_requests", {"states": ["MERGED"], "author": fragment, "limit": 200})
    expected = {
        f"pr:{s}#{i}"
        for s, rd in world.repos.items()
        for i, p in rd.pullrequests.items()
        if p["state"] == "MERGED"
        and (
            fragment.lower() in p["author"]["display_name"].lower()
            or fragment.lower() in p["author"].get("nickname", "").lower()
        )
    }
    assert refs(res, "pull_request") == expected


async def test_get_pull_request_full(ctx: ToolContext, world: World) -> None:
    slug = _busiest(world)
    rd = world.repos[slug]
    pid, raw = max(
        ((i, p) for i, p in rd.pullrequests.items() if p["state"] == "MERGED"), key=lambda kv: kv[0]
    )
    res = await run_tool(
        ctx, "get_pull_request", {"repo": slug, "pr_id": pid, "include_diff": True, "include_comments": True}
    )
    pr = res.records[0]
    assert pr.ref == f"pr:{slug}#{pid}" and pr.state == "MERGED"
    assert pr.merge_commit == raw["merge_commit"]["hash"]
    assert set(pr.approved_by) == {
        x["user"]["display_name"] for x in raw.get("participants") or [] if x.get("approved")
    }
    files = [r for r in res.records if r.kind == "file"]
    assert files, "a merged PR changes files"
    assert any(f.diff_excerpt for f in files)
    assert len(pr.comments) == len([c for c in rd.pr_comments.get(pid, []) if not c.get("deleted")][:30])


@pytest.mark.parametrize("mode", ["ok", "indexing", "not_installed"])
async def test_pull_requests_for_commit_modes(world: World, mode: str) -> None:
    slug = _busiest(world)
    rd = world.repos[slug]
    pid, _raw = max(
        ((i, p) for i, p in rd.pullrequests.items() if p["state"] == "MERGED" and rd.pr_commits.get(i)),
        key=lambda kv: kv[0],
    )
    commit = rd.pr_commits[pid][-1]  # the PR's first commit: only its /commits list (or the app) knows it
    app = create_app(world, SandboxSettings(commit_pullrequests_mode=mode))
    async with tool_context(app, world) as ctx:
        res = await run_tool(ctx, "pull_requests_for_commit", {"repo": slug, "commit": commit})
    expected = {
        f"pr:{slug}#{i}"
        for i, p in rd.pullrequests.items()
        if commit in rd.pr_commits.get(i, []) or (p.get("merge_commit") or {}).get("hash", "x") == commit
    }
    assert f"pr:{slug}#{pid}" in refs(res, "pull_request")
    assert refs(res, "pull_request") <= expected
    if mode == "ok":
        assert refs(res, "pull_request") == expected and res.requests == 1
    else:
        assert any("fallback" in n for n in res.notes)


async def test_window_on_created_on(ctx: ToolContext, world: World) -> None:
    """ "PRs opened in the last 5 days": the window bounds created_on, not the last activity."""
    since = world.anchor - timedelta(days=5)
    args = {"states": ["OPEN", "MERGED", "DECLINED"], "since": since, "until": world.anchor, "limit": 200}
    created = await run_tool(ctx, "list_pull_requests", {**args, "time_field": "created_on"})
    expected = {
        f"pr:{s}#{i}"
        for s, rd in world.repos.items()
        for i, p in rd.pullrequests.items()
        if p["state"] in ("OPEN", "MERGED", "DECLINED") and since <= dt(p["created_on"]) <= world.anchor
    }
    assert expected
    assert refs(created, "pull_request") == expected
    updated = await run_tool(ctx, "list_pull_requests", args)
    assert refs(updated, "pull_request") > expected  # older PRs with recent activity are only in the default
