"""list_commits: message text, across repositories, branch-entry time, authors and bots, pick."""

from __future__ import annotations

from datetime import timedelta

import pydantic
import pytest

from bbscout.sandbox.repoindex import RepoIndex
from bbscout.sandbox.world.model import World
from bbscout.tools.args import ListCommits
from bbscout.tools.context import ToolContext
from bbscout.tools.registry import run_tool
from tests.tools.conftest import dt, refs


def _main_commits(world: World, slug: str) -> list[dict]:
    rd = world.repos[slug]
    ix = RepoIndex(rd)
    return [rd.commits[h] for h in ix.ordered(ix.ancestors(rd.branches[rd.main_branch]))]


def _day(world: World, days_ago: int):
    start = (world.anchor - timedelta(days=days_ago)).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1) - timedelta(microseconds=1)


async def test_message_text_across_repositories(ctx: ToolContext, world: World) -> None:
    since = world.anchor - timedelta(days=7)
    res = await run_tool(ctx, "list_commits", {"message_contains": "TIMEOUT", "since": since, "limit": 500})
    expected, pages = set(), 0
    for slug in world.repos:
        listing = _main_commits(world, slug)
        inside = [c for c in listing if dt(c["date"]) >= since]
        expected |= {f"commit:{slug}@{c['hash'][:12]}" for c in inside if "timeout" in c["message"].lower()}
        pages += len(inside) // 100 + 1  # early stop at the first commit older than the window
    assert expected and refs(res, "commit") == expected
    assert res.requests == 1 + pages  # the repository listing, then the window's pages per repository
    assert res.notes[0] == f"searched {len(world.repos)} repositories"


async def test_message_pick_newest_in_one_repository(ctx: ToolContext, world: World) -> None:
    slug = "checkout-service"
    res = await run_tool(
        ctx, "list_commits", {"repo": slug, "message_contains": "Merged in", "pick": "newest"}
    )
    newest = next(c for c in _main_commits(world, slug) if "merged in" in c["message"].lower())
    assert [r.ref for r in res.records] == [f"commit:{slug}@{newest['hash'][:12]}"]
    assert res.requests == 2  # the repository's main branch (one trimmed GET), then one page of commits
    assert any(
        n.startswith(
            "rule: the newest by commit date among commits on the main branch mentioning 'Merged in'"
        )
        for n in res.notes
    )


def _entered(world: World, slug: str) -> dict[str, tuple]:
    """hash → (entry time, chain commit): the oracle for branch-entry time, straight from the graph."""
    rd = world.repos[slug]
    ix = RepoIndex(rd)
    out = {}
    for f in ix.first_parent_chain(rd.branches[rd.main_branch]):
        ps = ix.parents(f)
        for h in ix.ancestors(f) - (ix.ancestors(ps[0]) if ps else frozenset()):
            out[h] = (dt(rd.commits[f]["date"]), f)
    return out


async def test_merged_to_main_yesterday_uses_branch_entry_time(ctx: ToolContext, world: World) -> None:
    since, until = _day(world, 1)
    res = await run_tool(
        ctx, "list_commits", {"since": since, "until": until, "time_field": "entered_branch", "limit": 500}
    )
    expected, authored_before, authored_inside_merged_later, requests = set(), set(), set(), 1
    for slug, rd in world.repos.items():
        entered = _entered(world, slug)
        for h, (when, _) in entered.items():
            authored = dt(rd.commits[h]["date"])
            ref = f"commit:{slug}@{h[:12]}"
            if since <= when <= until:
                expected.add(ref)
                if authored < since:
                    authored_before.add(ref)
            elif since <= authored <= until:
                authored_inside_merged_later.add(ref)
        ix = RepoIndex(rd)
        chain = ix.first_parent_chain(rd.branches[rd.main_branch])
        bottom = next(f for f in chain if dt(rd.commits[f]["date"]) < since)
        listing = ix.ordered(ix.ancestors(rd.branches[rd.main_branch]))
        window = [f for f in chain if since <= dt(rd.commits[f]["date"]) <= until]
        requests += listing.index(bottom) // 100 + 1 + any(len(ix.parents(f)) > 1 for f in window)
    got = refs(res, "commit")
    assert got == expected
    assert authored_before and authored_before <= got  # written earlier, merged yesterday: in
    assert authored_inside_merged_later and not (authored_inside_merged_later & got)  # merged today: out
    assert res.requests == requests
    for r in res.records:
        when, via = _entered(world, r.repo)[r.hash]
        assert r.entered_on == when and r.entered_via == via and r.branch == world.repos[r.repo].main_branch
    assert [r.entered_on for r in res.records] == sorted((r.entered_on for r in res.records), reverse=True)


async def test_entered_branch_merges_only_and_pick(ctx: ToolContext, world: World) -> None:
    slug = "web-frontend"
    since, until = _day(world, 1)
    args = {"repo": slug, "since": since, "until": until, "time_field": "entered_branch"}
    merges = await run_tool(ctx, "list_commits", {**args, "merges_only": True})
    rd = world.repos[slug]
    chain = RepoIndex(rd).first_parent_chain(rd.branches[rd.main_branch])
    window = {f for f in chain if since <= dt(rd.commits[f]["date"]) <= until}
    assert {
        r.hash for r in merges.records
    } == window  # every first-parent commit of the day is a PR merge here
    assert all(r.pr_id for r in merges.records)
    latest = await run_tool(ctx, "list_commits", {**args, "pick": "newest"})
    (one,) = latest.records
    assert one.entered_on == max(dt(rd.commits[f]["date"]) for f in window)


async def test_bot_author_on_its_branch(ctx: ToolContext, world: World) -> None:
    slug, branch = "notification-service", "renovate/nestjs-core-10.x"
    res = await run_tool(
        ctx, "list_commits", {"repo": slug, "branch": branch, "author": "the dependency bot", "limit": 100}
    )
    rd = world.repos[slug]
    ix = RepoIndex(rd)
    expected = {
        f"commit:{slug}@{h[:12]}"
        for h in ix.ancestors(rd.branches[branch])
        if rd.commits[h]["author"]["raw"].startswith("Renovate Bot")
    }
    assert expected and refs(res, "commit") == expected  # the branch's other authors are filtered out
    assert any("author 'the dependency bot' matched Renovate Bot by bot accounts" in n for n in res.notes)
    nobody = await run_tool(ctx, "list_commits", {"repo": slug, "branch": branch, "author": "dependabot"})
    assert nobody.records == [] and any("Renovate Bot" in n for n in nobody.notes)


async def test_missing_branch_in_a_fan_out_is_a_note(ctx: ToolContext, world: World) -> None:
    res = await run_tool(
        ctx, "list_commits", {"repos": ["checkout-service", "web-frontend"], "branch": "release/9"}
    )
    assert res.records == [] and sorted(n for n in res.notes if "no branch" in n) == [
        "checkout-service: no branch 'release/9'",
        "web-frontend: no branch 'release/9'",
    ]


def test_argument_errors_say_how_to_fix() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"give `repo` .* or `repos`"):
        ListCommits(repo="a", repos=["b"])
    with pytest.raises(pydantic.ValidationError, match="cannot be combined with time_field=entered_branch"):
        ListCommits(repo="a", path="src/", time_field="entered_branch")
