"""list_deployments / deployment_changes / search_code / browse_source / repositories against the sandbox."""

from __future__ import annotations

import re
from datetime import timedelta

from bbscout.sandbox.app import SandboxSettings, create_app
from bbscout.sandbox.world.model import World
from bbscout.tools.context import ToolContext
from bbscout.tools.registry import run_tool
from tests.tools.conftest import dt, refs, tool_context


def _env_names(rd) -> dict[str, dict]:
    return {e["uuid"]: e for e in rd.environments}


def _started(d: dict) -> str:
    s = d.get("state") or {}
    return s.get("started_on") or s.get("start_date") or ""


def _commit(d: dict) -> str | None:
    return ((d.get("deployable") or {}).get("commit") or {}).get("hash") or (
        (d.get("release") or {}).get("commit") or {}
    ).get("hash")


def _prod(world: World, slug: str) -> list[dict]:
    rd = world.repos[slug]
    envs = _env_names(rd)
    return [
        d
        for d in rd.deployments
        if envs[d["environment"]["uuid"]]["name"].lower() == "production"
        or (envs[d["environment"]["uuid"]].get("environment_type") or {}).get("name", "").lower()
        == "production"
    ]


async def test_list_deployments_env_and_window(ctx: ToolContext, world: World) -> None:
    since = world.anchor - timedelta(days=14)
    res = await run_tool(ctx, "list_deployments", {"environment": "production", "since": since, "limit": 500})
    expected = {
        f"deployment:{s}:{d['uuid']}"
        for s in world.repos
        for d in _prod(world, s)
        if _started(d) and dt(_started(d)) >= since
    }
    assert expected
    assert refs(res, "deployment") == expected
    assert all(
        r.environment.lower() == "production" or r.environment_type.lower() == "production"
        for r in res.records
    )


async def test_latest_per_environment(ctx: ToolContext, world: World) -> None:
    slug = next(s for s, rd in world.repos.items() if rd.deployments)
    rd = world.repos[slug]
    res = await run_tool(ctx, "list_deployments", {"repos": [slug], "latest_per_environment": True})
    expected = set()
    for env in rd.environments:
        ds = [d for d in rd.deployments if d["environment"]["uuid"] == env["uuid"] and _started(d)]
        if ds:
            expected.add(f"deployment:{slug}:{max(ds, key=lambda d: dt(_started(d)))['uuid']}")
    assert refs(res, "deployment") == expected
    by_uuid = {p["uuid"]: p["build_number"] for p in rd.pipelines}
    for r in res.records:
        raw = next(d for d in rd.deployments if d["uuid"] == r.uuid)
        assert r.build_number == by_uuid[raw["deployable"]["pipeline"]["uuid"]]
        assert r.status == raw["state"]["status"]["name"] and r.commit == _commit(raw)


async def test_deployment_changes_rollback_scenario(ctx: ToolContext, world: World) -> None:
    scen = world.scenarios["rollback"]
    res = await run_tool(ctx, "deployment_changes", {"repo": scen.repo, "environment": "production"})
    deps = [r for r in res.records if r.kind == "deployment"]
    ok = sorted(
        (
            d
            for d in _prod(world, scen.repo)
            if ((d["state"].get("status") or {}).get("name")) == "SUCCESSFUL"
        ),
        key=lambda d: dt(_started(d)),
    )
    latest = ok[-1]
    assert deps[0].uuid == latest["uuid"] and deps[0].commit == _commit(latest)
    prev = next(d for d in reversed(ok[:-1]) if _commit(d) != _commit(latest))
    assert deps[1].uuid == prev["uuid"]
    facts = scen.facts
    assert deps[0].uuid == facts["rollback_deployment"] and deps[0].is_redeploy
    assert deps[0].commit == facts["to_commit"] and deps[1].commit == facts["from_commit"]
    assert any(n.startswith("ROLLBACK") for n in res.notes)
    assert facts["rolled_back_pr"] in {r.ref for r in res.records}
    assert set(scen.answer_refs) <= {r.ref for r in res.records}
    assert res.requests <= 8


async def test_deployment_changes_ships_commits(ctx: ToolContext, world: World) -> None:
    """Pick a repository whose last two successful production deployments are a forward move."""
    for slug in world.repos:
        ok = sorted(
            (d for d in _prod(world, slug) if (d["state"].get("status") or {}).get("name") == "SUCCESSFUL"),
            key=lambda d: dt(_started(d)),
        )
        if len(ok) >= 2:
            break
    else:
        return
    res = await run_tool(ctx, "deployment_changes", {"repo": slug, "environment": "Production"})
    deps = [r for r in res.records if r.kind == "deployment"]
    assert len(deps) == 2
    rd = world.repos[slug]
    new, old = deps[0].commit, deps[1].commit

    def anc(h: str) -> set[str]:
        seen, stack = set(), [h]
        while stack:
            x = stack.pop()
            if x in seen or x not in rd.commits:
                continue
            seen.add(x)
            stack += [p["hash"] for p in rd.commits[x].get("parents") or []]
        return seen

    expected = anc(new) - anc(old) or anc(old) - anc(new)
    assert {r.hash for r in res.records if r.kind == "commit"} == expected
    prs = {r.id for r in res.records if r.kind == "pull_request"}
    merged_in = {
        i for i, p in rd.pullrequests.items() if (p.get("merge_commit") or {}).get("hash") in expected
    }
    assert merged_in <= prs


async def test_search_code_and_cache(ctx: ToolContext, world: World) -> None:
    slug, rd = next((s, r) for s, r in world.repos.items() if r.files)
    path, content = next((p, c) for p, c in sorted(rd.files.items()) if p.endswith(".py") and "def " in c)
    symbol = content.split("def ", 1)[1].split("(", 1)[0]
    res = await run_tool(ctx, "search_code", {"query": symbol, "repos": [slug]})
    assert any(r.path == path and r.method == "code_search" for r in res.records)
    assert all(r.lines or r.method != "content_scan" for r in res.records)
    expected = {p for p, c in rd.files.items() if symbol.lower() in c.lower() or symbol.lower() in p.lower()}
    assert {r.path for r in res.records} == set(sorted(expected)[:20]) or {
        r.path for r in res.records
    } <= expected


async def test_search_code_fallback_when_search_disabled(nosearch_world: World) -> None:
    world = nosearch_world
    slug, rd = next((s, r) for s, r in world.repos.items() if r.files)
    path, content = next((p, c) for p, c in sorted(rd.files.items()) if p.endswith(".py") and "def " in c)
    symbol = content.split("def ", 1)[1].split("(", 1)[0]
    app = create_app(world, SandboxSettings())
    async with tool_context(app, world) as ctx:
        res = await run_tool(ctx, "search_code", {"query": symbol, "repos": [slug]})
    assert any("code search unavailable (404)" in n for n in res.notes)
    hit = [r for r in res.records if r.path == path]
    assert hit and hit[0].method in ("content_scan", "path_scan")
    assert any(symbol in line for r in hit for line in r.lines) or hit[0].method == "path_scan"
    assert res.requests <= 2 + 12 + 1


async def test_browse_source_file_and_directory(ctx: ToolContext, world: World) -> None:
    slug, rd = next((s, r) for s, r in world.repos.items() if r.files)
    path = sorted(rd.files)[0]
    res = await run_tool(ctx, "browse_source", {"repo": slug, "path": path})
    rec = res.records[0]
    assert (
        not rec.is_directory and rec.content.rstrip() == rd.files[path][:12000].rstrip()
    ) or "[REDACTED:" in rec.content
    root = await run_tool(ctx, "browse_source", {"repo": slug})
    top = {p.split("/")[0] + ("/" if "/" in p else "") for p in rd.files}
    assert set(root.records[0].entries) == top


async def test_repositories_listed_once_and_resolved(ctx: ToolContext, world: World) -> None:
    res = await run_tool(ctx, "list_repositories", {})
    assert {r.slug for r in res.records} == set(world.repos)
    assert res.requests == 1
    slug = next(iter(world.repos))
    res = await run_tool(ctx, "resolve_repository", {"phrase": slug.replace("-", " ")})
    assert res.records and res.records[0].slug == slug
    assert res.requests == 0


async def test_rollback_names_the_deployment_it_replaced(ctx: ToolContext, world: World) -> None:
    scen = world.scenarios["rollback"]
    since = dt(scen.facts["rolled_back_at"]) - timedelta(days=3)
    res = await run_tool(
        ctx, "list_deployments", {"repos": [scen.repo], "environment": "production", "since": since}
    )
    by_ref = {r.ref: r for r in res.records}
    rollback = next(r for r in res.records if r.uuid == scen.facts["rollback_deployment"])
    assert rollback.is_redeploy and rollback.rolls_back in by_ref
    replaced = by_ref[rollback.rolls_back]
    assert replaced.commit == scen.facts["from_commit"] and replaced.rolled_back_by == rollback.ref
    assert {rollback.ref, replaced.ref} == set(scen.answer_refs)
    # every other deployment is neither a rollback nor rolled back
    assert all(
        r.rolls_back is None and r.rolled_back_by is None
        for r in res.records
        if r.ref not in scen.answer_refs
    )


def _definitions_world(world: World) -> tuple[str, str, str, list[str]]:
    """A Python function whose name is also a prefix of longer identifiers in other files (tests)."""
    import re

    for slug, rd in sorted(world.repos.items()):
        for path, content in sorted(rd.files.items()):
            for name in re.findall(r"^def ([a-z_]+)\(", content, re.MULTILINE):
                others = [p for p, c in rd.files.items() if p != path and name in c]
                if others and len(name) > 6:
                    return slug, path, name, others
    raise AssertionError("no symbol defined in one file and mentioned in another")


async def test_search_code_definitions_only(ctx: ToolContext, world: World) -> None:
    slug, path, name, others = _definitions_world(world)
    every = await run_tool(ctx, "search_code", {"query": name, "repos": [slug]})
    whole = [p for p in others if re.search(rf"(?<![\w$]){name}(?![\w$])", world.repos[slug].files[p])]
    assert {r.path for r in every.records} >= {
        path,
        *whole,
    }  # usages: every file that mentions it as an identifier
    defs = await run_tool(ctx, "search_code", {"query": name, "repos": [slug], "definitions_only": True})
    assert [r.path for r in defs.records] == [path]
    assert all(f"def {name}" in line for r in defs.records for line in r.lines)
    assert any("definitions only" in n for n in defs.notes)


async def test_search_code_definitions_only_fallback(nosearch_world: World) -> None:
    from bbscout.tools.code import SCAN_FILES

    slug, path, name, _ = _definitions_world(nosearch_world)
    app = create_app(nosearch_world, SandboxSettings())
    async with tool_context(app, nosearch_world) as ctx:
        res = await run_tool(ctx, "search_code", {"query": name, "repos": [slug], "definitions_only": True})
    assert [r.path for r in res.records] == [path]
    grepped = int(next(n for n in res.notes if "grepped" in n).split("grepped ")[1].split()[0])
    assert any("up to the first that defines it" in n for n in res.notes)
    # the failed search, the main branch, its tree, then the likeliest files until one defines it
    assert grepped < SCAN_FILES and res.requests == 3 + grepped


def test_definition_pattern_per_language() -> None:
    from bbscout.tools.code import definition_pattern

    pat = definition_pattern("calculate_tax")
    defining = [
        "def calculate_tax(cart, region):",
        "    async def calculate_tax(self):",
        "export function calculate_tax(x) {",
        "const calculate_tax = (cart) => {",
        "func calculate_tax(c Cart) Decimal {",
        "func (s *Svc) calculate_tax() {",
        "fn calculate_tax(cart: &Cart) -> Decimal {",
        "calculate_tax: 0.19",
        "calculate_tax = make_tax_fn()",
        "  public static BigDecimal calculate_tax(Cart cart) {",
        'variable "calculate_tax" {',
    ]
    using = [
        "    total += calculate_tax(cart, region)",
        "from checkout.tax import calculate_tax",
        "def test_calculate_tax_handles_empty_input():",
        "assert calculate_tax(None, 'DE') == 0",
        "# calculate_tax rounds per line",
        "x = calculate_tax(cart)",
        "if calculate_tax(cart):",
        "    return calculate_tax(cart) {",
    ]
    assert all(pat.search(line) for line in defining), [line for line in defining if not pat.search(line)]
    assert not any(pat.search(line) for line in using), [line for line in using if pat.search(line)]


async def test_list_deployments_status_filter(ctx: ToolContext, world: World) -> None:
    failed_raw = [
        (slug, d)
        for slug, rd in world.repos.items()
        for d in rd.deployments
        if ((d.get("state") or {}).get("status") or {}).get("name") == "FAILED" and _started(d)
    ]
    assert failed_raw, "the world has failed deployments"
    slug, d = max(failed_raw, key=lambda sd: _started(sd[1]))
    since = dt(_started(d)) - timedelta(days=3)
    every = await run_tool(ctx, "list_deployments", {"repos": [slug], "since": since, "limit": 500})
    assert not every.truncated
    failed = await run_tool(
        ctx, "list_deployments", {"repos": [slug], "since": since, "statuses": ["FAILED"], "limit": 500}
    )
    expected = {r.ref for r in every.records if r.status == "FAILED"}
    assert f"deployment:{slug}:{d['uuid']}" in expected
    assert refs(failed, "deployment") == expected
    ok = await run_tool(
        ctx,
        "list_deployments",
        {"repos": [slug], "since": since, "statuses": ["SUCCESSFUL", "STOPPED"], "limit": 500},
    )
    assert refs(ok, "deployment") == {r.ref for r in every.records if r.status in ("SUCCESSFUL", "STOPPED")}


async def test_search_code_usages_match_the_whole_identifier(ctx: ToolContext, world: World) -> None:
    """A file that only holds a longer identifier (`test_<name>_x`, `<name>_v2`) is no usage of `<name>`."""
    for slug, rd in sorted(world.repos.items()):
        for name in sorted(
            {n for c in rd.files.values() for n in re.findall(r"\bdef ([a-z][a-z_]{6,})\(", c)}
        ):
            whole = re.compile(rf"(?<![\w$]){name}(?![\w$])")
            longer = [p for p, c in rd.files.items() if name in c and not whole.search(c)]
            if longer:
                res = await run_tool(ctx, "search_code", {"query": name, "repos": [slug]})
                got = {r.path for r in res.records}
                assert got and not got & set(longer), (name, got, longer)
                return
    raise AssertionError("no symbol that is also a prefix of a longer identifier in another file")


async def test_browse_source_finds_the_file_a_description_names(ctx: ToolContext, world: World) -> None:
    # every file of the world whose path holds both words, and the description that names it
    slug, path = next(
        (s, p) for s, r in world.repos.items() for p in sorted(r.files) if p.startswith("config/production")
    )
    res = await run_tool(ctx, "browse_source", {"repo": slug, "find": ["prod", "config"]})
    (rec,) = res.records
    assert rec.path == path and not rec.is_directory
    assert res.notes[0].startswith(f"rule: the file that best matches “prod config” in {slug}: {path}")
    missing = await run_tool(ctx, "browse_source", {"repo": slug, "find": ["nonexistent", "widget"]})
    assert missing.records == [] and missing.gaps[0].startswith(
        f"no file in {slug} matches “nonexistent widget”"
    )
