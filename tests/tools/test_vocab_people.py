"""resolve_person against the sandbox: members, bots, no match, and the fallback without member access."""

from __future__ import annotations

from bbscout.sandbox.world.model import World
from bbscout.tools.context import ToolContext
from bbscout.tools.registry import run_tool
from tests.tools.conftest import tool_context


async def test_first_name_and_bot(ctx: ToolContext, world: World) -> None:
    res = await run_tool(ctx, "resolve_person", {"phrase": "Hannah"})
    hannah = next(a for a in world.accounts if a.display_name.startswith("Hannah"))
    assert [(r.name, r.uuid, r.ref) for r in res.records] == [
        (hannah.display_name, hannah.uuid, f"person:{hannah.uuid}")
    ]
    assert res.requests == 1  # one trimmed page of members
    bot = await run_tool(ctx, "resolve_person", {"phrase": "the dependency bot"})
    assert [r.name for r in bot.records] == ["Renovate Bot"] and bot.records[0].is_bot
    assert bot.requests == 0  # members are read once per run
    none = await run_tool(ctx, "resolve_person", {"phrase": "dependabot"})
    assert none.records == [] and "closest: Acme CI, Renovate Bot" in none.notes[0]


async def test_without_member_access_uses_people_seen(app, world: World) -> None:
    async with tool_context(app, world, token="repo-token") as ctx:  # a repository access token
        res = await run_tool(ctx, "resolve_person", {"phrase": "sofia", "repos": ["checkout-service"]})
    assert [r.name for r in res.records] == ["Sofia Alvarez"] and res.records[0].source == "author seen"
    assert "workspace members not readable (403" in res.notes[0]
    assert res.requests == 2  # the refused member list, then one page of the repository's PRs
