"""list_pull_requests' people, text, path and pick filters against the sandbox world (the oracle)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from bbscout.sandbox.repoindex import RepoIndex
from bbscout.sandbox.world.model import World
from bbscout.tools.bitbucket import BasicAuth, BitbucketClient
from bbscout.tools.context import ToolContext
from bbscout.tools.paths import path_matches
from bbscout.tools.registry import run_tool
from tests.tools.conftest import dt, refs, tool_context


def _prs(world: World, states: set[str], since=None, repos=None) -> list[tuple[str, dict[str, Any]]]:
    return [
        (s, p)
        for s, rd in world.repos.items()
        if repos is None or s in repos
        for p in rd.pullrequests.values()
        if p["state"] in states and (since is None or dt(p["updated_on"]) >= since)
    ]


def _pr_calls(app: Any) -> list[str]:
    return [p for _, p, _ in app.state.request_log if p.split("?")[0].endswith("/pullrequests")]


async def test_reviewer_by_first_name(app, world: World) -> None:
    since = world.anchor - timedelta(days=14)
    slug = "checkout-service"
    async with tool_context(app, world) as ctx:
        res = await run_tool(
            ctx,
            "list_pull_requests",
            {"repos": [slug], "states": ["MERGED"], "reviewer": "Sofia", "since": since, "limit": 200},
        )
    expected = {
        f"pr:{s}#{p['id']}"
        for s, p in _prs(world, {"MERGED"}, since, {slug})
        if any(r["display_name"] == "Sofia Alvarez" for r in p["reviewers"])
    }
    assert expected and refs(res, "pull_request") == expected
    assert all("Sofia Alvarez" in r.reviewers for r in res.records)
    assert res.requests == 1  # one page of 50 with reviewers asked for via fields=+values.reviewers
    (call,) = _pr_calls(app)
    assert "%2Bvalues.reviewers" in call and "state=MERGED" in call
    assert any("reviewer 'Sofia' matched Sofia Alvarez by first/last name" in n for n in res.notes)


async def test_approver_and_participant_across_repositories(app, world: World) -> None:
    since = world.anchor - timedelta(days=7)
    args = {"states": ["MERGED", "OPEN"], "since": since, "limit": 200}
    async with tool_context(app, world) as ctx:
        approved = await run_tool(ctx, "list_pull_requests", {**args, "approver": "marcus"})
    async with tool_context(app, world) as ctx:
        took_part = await run_tool(ctx, "list_pull_requests", {**args, "participant": "Marcus Chen"})
    candidates = _prs(world, {"MERGED", "OPEN"}, since)
    want_approved = {
        f"pr:{s}#{p['id']}"
        for s, p in candidates
        if any(x["approved"] and x["user"]["display_name"] == "Marcus Chen" for x in p["participants"])
    }
    want_part = {
        f"pr:{s}#{p['id']}"
        for s, p in candidates
        if any(x["user"]["display_name"] == "Marcus Chen" for x in p["participants"])
        or any(r["display_name"] == "Marcus Chen" for r in p["reviewers"])
    }
    assert want_approved and refs(approved, "pull_request") == want_approved
    assert refs(took_part, "pull_request") == want_part and want_approved < want_part
    assert approved.requests == 1 + len(world.repos)  # the repository listing, then one page per repository
    assert took_part.requests == 1 + len(world.repos)


async def test_author_bot_and_unknown_bot(ctx: ToolContext, world: World) -> None:
    everything = {"states": ["OPEN", "MERGED", "DECLINED", "SUPERSEDED"], "limit": 200}
    renovate = await run_tool(ctx, "list_pull_requests", {**everything, "author": "the renovate bot"})
    expected = {
        f"pr:{s}#{p['id']}"
        for s, p in _prs(world, {"OPEN", "MERGED", "DECLINED", "SUPERSEDED"})
        if p["author"]["display_name"] == "Renovate Bot"
    }
    assert expected and refs(renovate, "pull_request") == expected
    dependabot = await run_tool(ctx, "list_pull_requests", {**everything, "author": "dependabot"})
    assert dependabot.records == []
    (note,) = [n for n in dependabot.notes if n.startswith("author 'dependabot'")]
    assert "no one by that name" in note and "Renovate Bot" in note  # the bot that does exist is named


async def test_text_in_title_or_description(app, world: World) -> None:
    async with tool_context(app, world) as ctx:
        res = await run_tool(
            ctx, "list_pull_requests", {"states": ["MERGED"], "text": "Incident", "limit": 200}
        )
    expected = {
        f"pr:{s}#{p['id']}"
        for s, p in _prs(world, {"MERGED"})
        if "incident" in (p["title"] + " " + (p.get("description") or "")).lower()
    }
    assert expected and refs(res, "pull_request") == expected
    assert any("incident" not in r.subject.lower() for r in res.records)  # some match in the description
    calls = _pr_calls(app)
    assert calls and all("q=%28title+~+%22Incident%22+OR+description+~+%22Incident%22%29" in c for c in calls)
    assert res.requests == 1 + len(world.repos)


def _touching(world: World, slug: str, path: str) -> list[dict[str, Any]]:
    rd = world.repos[slug]
    ix = RepoIndex(rd)
    out = []
    for p in sorted(rd.pullrequests.values(), key=lambda p: dt(p["updated_on"]), reverse=True):
        if p["state"] != "MERGED":
            continue
        merge = ix.resolve(p["merge_commit"]["hash"])
        assert merge is not None
        changed = ix.changes_between(merge, ix.parents(merge)[0])
        if any(
            path_matches(c.path, path) or (c.old_path and path_matches(c.old_path, path)) for c in changed
        ):
            out.append(p)
    return out


async def test_path_scan_bounded_and_says_how_far(app, world: World) -> None:
    slug, path = "checkout-service", "config/production.yaml"
    merged = sorted(
        (p for p in world.repos[slug].pullrequests.values() if p["state"] == "MERGED"),
        key=lambda p: dt(p["updated_on"]),
        reverse=True,
    )
    scan = 20
    within = {p["id"] for p in merged[:scan]}
    expected = {f"pr:{slug}#{p['id']}" for p in _touching(world, slug, path) if p["id"] in within}
    async with tool_context(app, world) as ctx:
        res = await run_tool(
            ctx,
            "list_pull_requests",
            {"repos": [slug], "states": ["MERGED"], "path": path, "path_scan_limit": scan, "limit": 50},
        )
    assert expected and refs(res, "pull_request") == expected
    assert all(r.matched_paths == [path] for r in res.records)
    assert res.requests == 1 + scan  # one list page, then one diffstat per examined PR (no 302 hop)
    assert any(f"examined the changed files of the {scan} most recently updated" in n for n in res.notes)
    assert res.truncated and any("only the 20 newest candidate" in g for g in res.gaps)
    diffstats = [p for _, p, _ in app.state.request_log if "/diffstat/" in p]
    assert len(diffstats) == scan and all("/pullrequests/" not in p for p in diffstats)


async def test_path_scan_stops_early_for_the_latest(ctx: ToolContext, world: World) -> None:
    slug = "infra-terraform"
    res = await run_tool(
        ctx,
        "list_pull_requests",
        {"repos": [slug], "states": ["MERGED"], "path": "*.tf", "pick": "newest"},
    )
    newest = _touching(world, slug, "*.tf")[0]
    assert refs(res, "pull_request") == {f"pr:{slug}#{newest['id']}"}
    assert res.requests <= 1 + ctx.concurrency  # stopped after the first batch that held a match
    assert any("stopped early" in n for n in res.notes)
    assert any(
        n.startswith("rule: the newest by updated_on among MERGED pull requests touching '*.tf'")
        for n in res.notes
    )


async def test_pick_newest_merged_across_workspace(ctx: ToolContext, world: World) -> None:
    res = await run_tool(ctx, "list_pull_requests", {"states": ["MERGED"], "pick": "newest"})
    newest = max(_prs(world, {"MERGED"}), key=lambda sp: dt(sp[1]["updated_on"]))
    assert [r.ref for r in res.records] == [f"pr:{newest[0]}#{newest[1]['id']}"]
    assert res.requests == 1 + len(world.repos)
    oldest = await run_tool(
        ctx, "list_pull_requests", {"states": ["OPEN"], "pick": "oldest", "time_field": "created_on"}
    )
    first = min(_prs(world, {"OPEN"}), key=lambda sp: dt(sp[1]["created_on"]))
    assert [r.ref for r in oldest.records] == [f"pr:{first[0]}#{first[1]['id']}"]
    assert any(n.startswith("rule: the oldest by created_on among OPEN pull requests") for n in oldest.notes)


def _pr(pid: int, author: str, reviewers: list[str]) -> dict[str, Any]:
    def user(name: str) -> dict[str, Any]:
        return {"display_name": name, "nickname": name.split()[0].lower(), "uuid": "{" + name + "}"}

    return {
        "id": pid,
        "title": f"PR {pid}",
        "state": "OPEN",
        "author": user(author),
        "source": {"branch": {"name": f"f/{pid}"}, "commit": {"hash": "a" * 12}},
        "destination": {"branch": {"name": "main"}},
        "created_on": f"2026-11-2{pid}T10:00:00+00:00",
        "updated_on": f"2026-11-2{pid}T10:00:00+00:00",
        "reviewers": [user(r) for r in reviewers],
        "participants": [{"user": user(r), "role": "REVIEWER", "approved": False} for r in reviewers],
    }


async def test_ambiguous_first_name_is_reported_with_candidates() -> None:
    """Two Emmas review: both are shown and the gap names them (a tiny canned workspace of two PRs)."""
    page = {
        "values": [_pr(2, "Raj Patel", ["Emma Stone"]), _pr(1, "Raj Patel", ["Emma Lindqvist", "Ann Lee"])]
    }

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/2.0/repositories/acme/web/pullrequests"
        return httpx.Response(200, json={**page, "pagelen": 50})

    async with BitbucketClient(
        workspace="acme",
        auth=BasicAuth("a@b.c", "t"),
        base_url="http://x/2.0",
        transport=httpx.MockTransport(handler),
    ) as client:
        res = await run_tool(
            ToolContext(client=client, workspace="acme"),
            "list_pull_requests",
            {"repos": ["web"], "reviewer": "Emma"},
        )
    assert refs(res, "pull_request") == {"pr:web#1", "pr:web#2"}
    (gap,) = res.gaps
    assert "ambiguous" in gap and "Emma Lindqvist, Emma Stone" in gap and res.requests == 1
