"""A pull request's diff is what its commits changed, in every generated world.

On Bitbucket a PR's `diffstat` and `diff` redirect to the repository's `diffstat|diff/{source}..{dest}`
(a topic diff: from the merge base to the source head), which is exactly what the PR's own commits
changed. So, over the API: a PR's files, their line counts and its added and removed lines are the
union of its non-merge commits' (`diffstat/{hash}`, `diff/{hash}`: each against its first parent). A
merge from main into the branch is left out: what it brings is main's, not the PR's.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bbscout.sandbox.app import SandboxSettings, create_app
from bbscout.sandbox.repoindex import RepoIndex
from bbscout.sandbox.world import World, build_world
from bbscout.sandbox.world.diffs import diff_trees
from bbscout.sandbox.world.model import FileChange, RepoData
from tests.sandbox.conftest import make_client

EVALS_ANCHOR = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)  # the world most eval cases pin
Stat = dict[str, tuple[int, int]]  # path -> (lines added, lines removed)
Lines = dict[str, tuple[Counter[str], Counter[str]]]  # path -> (added lines, removed lines)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world("default", seed=7, anchor=EVALS_ANCHOR)


async def values(client: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    """Every item of a paginated listing (redirects followed, as clients must for PR diffstats)."""
    out: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        r = await client.get(next_url, follow_redirects=True)
        assert r.status_code == 200, (url, r.text)
        body = r.json()
        out += body["values"]
        next_url = body.get("next")
    return out


def add_stat(into: Stat, items: list[dict[str, Any]]) -> None:
    for d in items:
        path = (d["new"] or d["old"])["path"]
        a, r = into.get(path, (0, 0))
        into[path] = (a + d["lines_added"], r + d["lines_removed"])


def add_lines(into: Lines, diff: str) -> None:
    """The added and removed lines of each file in a raw `diff --git` text."""
    for section in diff.split("diff --git ")[1:]:
        header, _, body = section.partition("\n@@")
        added, removed = into.setdefault(header.split("\n", 1)[0].split(" b/", 1)[1], (Counter(), Counter()))
        for line in body.split("\n")[1:]:
            if line.startswith("+"):
                added[line[1:]] += 1
            elif line.startswith("-"):
                removed[line[1:]] += 1


async def test_every_pr_diff_is_what_its_commits_changed(world: World) -> None:
    app = create_app(world, SandboxSettings(rate_limit_per_hour=10**9))
    checked: list[str] = []
    async with make_client(app, world.token("demo")) as client:
        for slug, rd in world.repos.items():
            repo = f"/repositories/acme/{slug}"
            for pid in rd.pullrequests:
                commits = await values(client, f"{repo}/pullrequests/{pid}/commits")
                if not commits:
                    continue
                want_stat: Stat = {}
                want_lines: Lines = {}
                for c in commits:
                    if len(c["parents"]) < 2:
                        add_stat(want_stat, await values(client, f"{repo}/diffstat/{c['hash']}"))
                        add_lines(want_lines, (await client.get(f"{repo}/diff/{c['hash']}")).text)
                got_stat: Stat = {}
                got_lines: Lines = {}
                add_stat(got_stat, await values(client, f"{repo}/pullrequests/{pid}/diffstat"))
                pr_diff = await client.get(f"{repo}/pullrequests/{pid}/diff", follow_redirects=True)
                add_lines(got_lines, pr_diff.text)
                ref = f"{slug}#{pid}"
                assert got_stat == want_stat, ref
                assert got_lines == want_lines, ref
                assert {p: (sum(a.values()), sum(r.values())) for p, (a, r) in got_lines.items()} == got_stat
                checked.append(f"{ref} {rd.pullrequests[pid]['state']} {rd.pullrequests[pid]['title']}")
    assert len(checked) > 400
    assert any(" MERGED Release " in x for x in checked)  # git-flow releases: all of develop's commits
    assert {x.split()[1] for x in checked} == {"MERGED", "OPEN", "DECLINED", "SUPERSEDED"}


async def test_the_broken_build_pr_diff_shows_its_test_change(world: World) -> None:
    """The report that started this: api-gateway's rate-limit PR showed 2 changed lines of its 11."""
    slug, pid = world.scenarios["broken_main_build"].answer_refs[0].removeprefix("pr:").split("#")
    app = create_app(world, SandboxSettings(rate_limit_per_hour=10**9))
    async with make_client(app, world.token("demo")) as client:
        stat: Stat = {}
        add_stat(stat, await values(client, f"/repositories/acme/{slug}/pullrequests/{pid}/diffstat"))
    assert stat == {"src/gateway/ratelimit.py": (1, 1), "tests/unit/test_ratelimit.py": (9, 0)}


# --- other seeds and worlds, without HTTP ---------------------------------------------------------


def union_of_commits(rd: RepoData, hashes: list[str]) -> Stat:
    out: Stat = {}
    for h in hashes:
        if len(rd.commits[h]["parents"]) < 2:
            for ch in rd.changes[h]:
                a, r = out.get(ch.path, (0, 0))
                out[ch.path] = (a + ch.lines_added, r + ch.lines_removed)
    return out


def pr_changes(ix: RepoIndex, pr: dict[str, Any]) -> list[FileChange]:
    """What the server serves for a PR: its source against the merge base with its destination."""
    src = ix.resolve(pr["source"]["commit"]["hash"])
    dest = ix.resolve(pr["destination"]["commit"]["hash"])
    assert src and dest
    base = ix.merge_base(src, dest)
    return [] if base == src else ix.changes_between(src, base)


@pytest.mark.parametrize(
    ("name", "seed", "anchor"),
    [
        ("default", 8, EVALS_ANCHOR),
        ("default", 23, datetime(2026, 12, 16, 10, 0, tzinfo=UTC)),  # held-out set 3's world
        ("quiet", 7, EVALS_ANCHOR),
    ],
)
def test_pr_changes_are_their_commits_changes_in_other_worlds(name: str, seed: int, anchor: datetime) -> None:
    w = build_world(name, seed=seed, anchor=anchor)
    checked = 0
    for slug, rd in w.repos.items():
        ix = RepoIndex(rd)
        for pid, pr in rd.pullrequests.items():
            if rd.pr_commits[pid]:
                served = {ch.path: (ch.lines_added, ch.lines_removed) for ch in pr_changes(ix, pr)}
                assert served == union_of_commits(rd, rd.pr_commits[pid]), f"{slug}#{pid}"
                checked += 1
    assert checked > 100


def test_every_commit_changes_its_parent_files_as_stored(world: World) -> None:
    """The stored changes compose: the files the index rebuilds at each commit (it raises on a hunk
    that does not apply), diffed against its first parent's, are exactly the commit's changes."""
    for rd in world.repos.values():
        ix = RepoIndex(rd)
        for h in reversed(rd.commit_order):
            if parents := ix.parents(h):
                assert diff_trees(ix.tree_at(parents[0]), ix.tree_at(h)) == sorted(
                    rd.changes[h], key=lambda c: c.path
                ), h
