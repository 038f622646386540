"""list_deployments: what is live now (one per environment, with what it replaced), pick, env prefixes."""

from __future__ import annotations

from bbscout.sandbox.world.model import World
from bbscout.tools.context import ToolContext
from bbscout.tools.registry import run_tool
from tests.tools.conftest import dt


def _started(d: dict) -> str:
    s = d.get("state") or {}
    return s.get("started_on") or s.get("start_date") or ""


def _ok(d: dict) -> bool:
    return ((d.get("state") or {}).get("status") or {}).get("name") == "SUCCESSFUL"


def _live(world: World, slug: str) -> dict[str, tuple[dict, dict | None]]:
    """environment name → (the live deployment, the successful one before it): the oracle."""
    rd = world.repos[slug]
    out = {}
    for env in rd.environments:
        ok = sorted(
            (d for d in rd.deployments if d["environment"]["uuid"] == env["uuid"] and _ok(d)),
            key=lambda d: dt(_started(d)),
        )
        if ok:
            out[env["name"]] = (ok[-1], ok[-2] if len(ok) > 1 else None)
    return out


async def test_current_in_production_after_a_rollback(ctx: ToolContext, world: World) -> None:
    scen = world.scenarios["rollback"]
    res = await run_tool(
        ctx, "list_deployments", {"repos": [scen.repo], "environment": "prod", "current": True}
    )
    (live,) = res.records  # exactly one: "prod" is Production's prefix
    facts = scen.facts
    assert live.uuid == facts["rollback_deployment"] and live.status == "SUCCESSFUL"
    assert live.commit == facts["to_commit"] and live.replaces_commit == facts["from_commit"]
    assert live.replaces_release == facts["rolled_back_from"] and live.release == facts["rolled_back_to"]
    assert live.replaces == live.rolls_back and live.replaces in scen.answer_refs
    # environments; page 1 (the list ignores sort: oldest first, `size` known); then the last page
    assert res.requests == 3


async def test_current_per_repository_and_environment(ctx: ToolContext, world: World) -> None:
    res = await run_tool(ctx, "list_deployments", {"current": True, "limit": 500})
    expected = {}
    for slug in world.repos:
        for env, (live, before) in _live(world, slug).items():
            expected[(slug, env)] = (live["uuid"], before["uuid"] if before else None)
    got = {}
    for r in res.records:
        assert (r.repo, r.environment) not in got  # one per repository and environment
        got[(r.repo, r.environment)] = (r.uuid, r.replaces.split(":", 2)[2] if r.replaces else None)
    assert expected and got == expected
    # the repository listing; per repository its environments, and where there are any, page 1 of the
    # deployments plus the last page when there is more than one (the newest live there)
    pages = sum((1 if len(rd.deployments) <= 100 else 2) for rd in world.repos.values() if rd.environments)
    assert res.requests == 1 + len(world.repos) + pages


async def test_pick_latest_production_deployment(ctx: ToolContext, world: World) -> None:
    res = await run_tool(ctx, "list_deployments", {"environment": "production", "pick": "newest"})
    newest = max(
        (
            (slug, d)
            for slug, rd in world.repos.items()
            for d in rd.deployments
            if any(
                e["uuid"] == d["environment"]["uuid"] and e["name"] == "Production" for e in rd.environments
            )
        ),
        key=lambda sd: dt(_started(sd[1])),
    )
    assert [r.uuid for r in res.records] == [newest[1]["uuid"]] and res.records[0].repo == newest[0]
    assert any(
        n.startswith("rule: the newest by started_on among deployments to production") for n in res.notes
    )
