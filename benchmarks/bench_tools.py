"""Request frugality of bbscout's tools vs a naive implementation, over real loopback HTTP.

Builds the default sandbox world, serves it with `LoopbackServer` and 100 ms injected latency, and
runs a fixed set of on-call questions twice: through `tools.registry.run_tool`, and through a
NAIVE implementation in this file (no `fields=`, pagelen 10, no early stop, no server-side filters,
one request at a time). Both use the same `BitbucketClient` (fresh client and cache per operation)
and must give the same answer; the table shows requests, bytes and wall seconds with ratios.

    .venv/bin/python benchmarks/bench_tools.py [--latency-ms 100]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bbscout.sandbox.app import create_app
from bbscout.sandbox.faults import FaultProfile
from bbscout.sandbox.server import LoopbackServer

try:
    from bbscout.sandbox.world import build_world
except ImportError:
    from bbscout.sandbox.world.generator import build_world
from bbscout.tools.bitbucket import BasicAuth, BitbucketClient
from bbscout.tools.context import ToolContext, parse_dt
from bbscout.tools.registry import run_tool

WS = "acme"


# --------------------------------------------------------------------------------------------
# the naive implementation: what a straightforward client would do


async def naive_all(
    client: BitbucketClient, path: str, params: list[tuple[str, Any]] | None = None, by_page: bool = False
) -> list[dict[str, Any]]:
    return [v async for v in client.paginate(path, params, pagelen=10, by_page=by_page, cache="none")]


async def naive_repos(client: BitbucketClient) -> list[str]:
    return [r["slug"] for r in await naive_all(client, f"/repositories/{WS}")]


async def naive_failed_pipelines(client: BitbucketClient, since: datetime) -> set[str]:
    out: set[str] = set()
    for slug in await naive_repos(client):
        for p in await naive_all(client, client.repo_path(slug, "pipelines"), by_page=True):
            created = parse_dt(p.get("created_on"))
            result = (p.get("state") or {}).get("result") or {}
            if (
                p["state"].get("name") == "COMPLETED"
                and result.get("name") in ("FAILED", "ERROR")
                and created >= since
            ):
                out.add(f"pipeline:{slug}#{p['build_number']}")
    return out


async def naive_merged_prs(
    client: BitbucketClient, repo: str, main: str, since: datetime, until: datetime
) -> set[str]:
    out: set[str] = set()
    for pr in await naive_all(client, client.repo_path(repo, "pullrequests"), [("state", "MERGED")]):
        updated = parse_dt(pr["updated_on"])
        if pr["destination"]["branch"]["name"] == main and since <= updated <= until:
            out.add(f"pr:{repo}#{pr['id']}")
    return out


async def naive_commits(client: BitbucketClient, repo: str, main: str, since: datetime) -> set[str]:
    out: set[str] = set()
    for c in await naive_all(client, client.repo_path(repo, "commits", main)):
        if parse_dt(c["date"]) >= since:
            out.add(f"commit:{repo}@{c['hash'][:12]}")
    return out


async def naive_deployment_changes(client: BitbucketClient, repo: str) -> set[str]:
    envs = {e["uuid"]: e for e in await naive_all(client, client.repo_path(repo, "environments") + "/")}
    deps = await naive_all(client, client.repo_path(repo, "deployments") + "/")

    def started(d: dict[str, Any]) -> datetime:
        s = d.get("state") or {}
        return parse_dt(s.get("started_on") or s.get("start_date")) or datetime.min.replace(tzinfo=since_tz)

    since_tz = parse_dt("2020-01-01T00:00:00Z").tzinfo  # type: ignore[union-attr]
    prod = [
        d
        for d in deps
        if envs.get(d["environment"]["uuid"], {}).get("name", "").lower() == "production"
        and ((d.get("state") or {}).get("status") or {}).get("name") == "SUCCESSFUL"
    ]
    prod.sort(key=started, reverse=True)
    if len(prod) < 2:
        return set()

    def commit(d: dict[str, Any]) -> str:
        return ((d.get("deployable") or {}).get("commit") or {}).get("hash") or d["release"]["commit"]["hash"]

    new = prod[0]
    prev = next((d for d in prod[1:] if commit(d) != commit(new)), None)
    if prev is None:
        return set()
    out = {f"deployment:{repo}:{new['uuid']}", f"deployment:{repo}:{prev['uuid']}"}
    commits = await naive_all(
        client, client.repo_path(repo, "commits"), [("include", commit(new)), ("exclude", commit(prev))]
    )
    out |= {f"commit:{repo}@{c['hash'][:12]}" for c in commits}
    for f in await naive_all(client, client.repo_path(repo, "diffstat", f"{commit(new)}..{commit(prev)}")):
        out.add("file:" + ((f.get("new") or f.get("old") or {}).get("path") or "?"))
    return out


async def naive_stale_branches(client: BitbucketClient, before: datetime) -> set[str]:
    out: set[str] = set()
    for slug in await naive_repos(client):
        for b in await naive_all(client, client.repo_path(slug, "refs", "branches")):
            if parse_dt(b["target"]["date"]) < before:
                out.add(f"branch:{slug}:{b['name']}")
    return out


# --------------------------------------------------------------------------------------------


async def measure(
    base_url: str, token: Any, fn: Callable[[BitbucketClient], Awaitable[Any]]
) -> tuple[Any, int, int, float]:
    async with BitbucketClient(
        workspace=WS, auth=BasicAuth(token.email, token.secret), base_url=base_url, budget=None
    ) as client:
        started = time.perf_counter()
        answer = await fn(client)
        return answer, client.stats.requests, client.stats.bytes, time.perf_counter() - started


def refs(result: Any, kinds: tuple[str, ...]) -> set[str]:
    out = set()
    for r in result.records:
        if r.kind in kinds:
            out.add(("file:" + r.path) if r.kind == "file" else r.ref)
    return out


async def main(latency_ms: float) -> None:
    world = build_world("default")
    anchor = world.anchor
    token = world.token("demo")
    app = create_app(world)
    app.state.settings.faults = FaultProfile(latency_ms=latency_ms)
    # A forward deployment (the config-change incident's repository); the rollback case is in the tests.
    scen = world.scenarios.get("config_change_incident") or next(iter(world.scenarios.values()))
    dep_repo = next(
        (slug for slug, rd in world.repos.items() if rd.deployments and slug == scen.repo),
        next(slug for slug, rd in world.repos.items() if rd.deployments),
    )
    pr_repo = dep_repo
    main_branch = world.repos[pr_repo].main_branch
    day = (anchor - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    y_start, y_end = day, day + timedelta(days=1) - timedelta(microseconds=1)

    def tool(
        name: str, args: dict[str, Any], kinds: tuple[str, ...]
    ) -> Callable[[BitbucketClient], Awaitable[Any]]:
        async def run(client: BitbucketClient) -> set[str]:
            return refs(await run_tool(ToolContext(client=client, workspace=WS), name, args), kinds)

        return run

    ops: list[
        tuple[str, Callable[[BitbucketClient], Awaitable[Any]], Callable[[BitbucketClient], Awaitable[Any]]]
    ] = [
        (
            "failed pipelines, last 24h, all repos",
            tool(
                "list_pipelines",
                {"results": ["FAILED", "ERROR"], "since": anchor - timedelta(hours=24), "limit": 500},
                ("pipeline",),
            ),
            lambda c: naive_failed_pipelines(c, anchor - timedelta(hours=24)),
        ),
        (
            f"merged PRs to {main_branch} yesterday ({pr_repo})",
            tool(
                "list_pull_requests",
                {
                    "repos": [pr_repo],
                    "states": ["MERGED"],
                    "destination_branch": main_branch,
                    "since": y_start,
                    "until": y_end,
                    "limit": 200,
                },
                ("pull_request",),
            ),
            lambda c: naive_merged_prs(c, pr_repo, main_branch, y_start, y_end),
        ),
        (
            f"commits on {main_branch}, last 3 days ({pr_repo})",
            tool(
                "list_commits",
                {"repo": pr_repo, "since": anchor - timedelta(days=3), "limit": 500},
                ("commit",),
            ),
            lambda c: naive_commits(c, pr_repo, main_branch, anchor - timedelta(days=3)),
        ),
        (
            f"latest production deployment changes ({dep_repo})",
            tool(
                "deployment_changes",
                {"repo": dep_repo, "environment": "production"},
                ("deployment", "commit", "file"),
            ),
            lambda c: naive_deployment_changes(c, dep_repo),
        ),
        (
            "stale branches (>14 days), all repos",
            tool("list_branches", {"stale_before": anchor - timedelta(days=14), "limit": 500}, ("branch",)),
            lambda c: naive_stale_branches(c, anchor - timedelta(days=14)),
        ),
    ]
    rows = []
    with LoopbackServer(app) as srv:
        for label, ours, naive in ops:
            a, req_a, bytes_a, sec_a = await measure(srv.base_url, token, ours)
            b, req_b, bytes_b, sec_b = await measure(srv.base_url, token, naive)
            same = "yes" if a == b else f"NO ({len(a)} vs {len(b)})"
            rows.append((label, req_a, req_b, bytes_a, bytes_b, sec_a, sec_b, len(a), same))
    head = (
        f"{'operation':48} {'req bbscout':>11} {'req naive':>9} {'ratio':>6} {'KB bbscout':>10} "
        f"{'KB naive':>9} "
        f"{'ratio':>6} {'s bbscout':>9} {'s naive':>8} {'ratio':>6} {'answer':>6} same"
    )
    print(f"latency {latency_ms:.0f} ms per request, world 'default' (anchor {anchor:%Y-%m-%d %H:%M}Z)")
    print(head)
    print("-" * len(head))
    tot = [0, 0, 0, 0, 0.0, 0.0]
    for label, ra, rb, ba, bb, sa, sb, n, same in rows:
        print(
            f"{label[:48]:48} {ra:>11} {rb:>9} {rb / max(ra, 1):>5.1f}x {ba / 1024:>10.1f} {bb / 1024:>9.1f} "
            f"{bb / max(ba, 1):>5.1f}x {sa:>9.2f} {sb:>8.2f} {sb / max(sa, 1e-9):>5.1f}x {n:>6} {same}"
        )
        for i, v in enumerate((ra, rb, ba, bb, sa, sb)):
            tot[i] += v
    print("-" * len(head))
    print(
        f"{'total':48} {tot[0]:>11} {tot[1]:>9} {tot[1] / max(tot[0], 1):>5.1f}x {tot[2] / 1024:>10.1f} "
        f"{tot[3] / 1024:>9.1f} {tot[3] / max(tot[2], 1):>5.1f}x {tot[4]:>9.2f} {tot[5]:>8.2f} "
        f"{tot[5] / max(tot[4], 1e-9):>5.1f}x"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=100.0)
    asyncio.run(main(parser.parse_args().latency_ms))
