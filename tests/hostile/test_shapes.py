"""Response shapes are the trust boundary: wrong JSON is a typed error naming the endpoint, or a gap
counting the unreadable records — never a traceback and never a silent drop.

As the code stood, each body below raised AttributeError/TypeError/ValueError out of the tools (a
traceback and exit 1), and pipelines whose fields were all null vanished from the answer, which then
said "No failed pipelines" with exit 0.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from bbscout.tools.args import ListPipelines, ListRepositories
from bbscout.tools.bitbucket import BitbucketError, InvalidResponse
from bbscout.tools.context import ToolContext
from bbscout.tools.registry import run_tool
from tests.cli.conftest import assert_no_traceback
from tests.hostile.conftest import ask
from tests.hostile.servers import respond

pytestmark = pytest.mark.timeout(60)
LISTING = r"^/2\.0/repositories/acme/?(\?|$)"
PIPELINES = r"/pipelines/?\?"


def page(values: Any, **extra: Any) -> dict[str, Any]:
    return {"values": values, "page": 1, "pagelen": 100, **extra}


ALL_NULL_PIPELINE = {
    "uuid": None,
    "build_number": None,
    "state": None,
    "target": None,
    "trigger": None,
    "creator": None,
    "created_on": None,
    "completed_on": None,
    "duration_in_seconds": None,
}

# (body of the repository listing, what the tool must do: "error" = a typed error, "gap" = a gap)
LISTING_BODIES: dict[str, tuple[Any, str]] = {
    "values is a dict": (page({"slug": "api"}), "error"),
    "values is a string": (page("api,web"), "error"),
    "top-level list": ([{"slug": "api"}], "error"),
    "top-level null": (None, "error"),
    "top-level string": ("all good", "error"),
    "junk items": (page([1, "x", None, [], {"slug": "api", "name": "API"}]), "gap"),
    "slug is a number": (page([{"slug": 1234, "name": 5}, {"slug": "web", "name": "Web"}]), "gap"),
    "next is a dict": (page([{"slug": "api"}], next={"href": "x"}), "ok"),
}


@pytest.mark.parametrize("case", sorted(LISTING_BODIES))
async def test_a_malformed_repository_listing_is_typed_or_counted(serve: Any, case: str) -> None:
    body, expect = LISTING_BODIES[case]
    with serve({LISTING: respond(body)}) as running:
        async with running.client() as bb:
            ctx = ToolContext(client=bb, workspace="acme")
            if expect == "error":
                with pytest.raises(InvalidResponse) as caught:
                    await run_tool(ctx, "list_repositories", ListRepositories())
                assert "/repositories/{ws}" in str(caught.value)
                return
            result = await run_tool(ctx, "list_repositories", ListRepositories())
    if expect == "gap":
        assert any("could not be read" in g for g in result.gaps), result.gaps
    assert all(isinstance(r.slug, str) and r.slug for r in result.records)


PIPELINE_BODIES: dict[str, Any] = {
    "all fields null": page([ALL_NULL_PIPELINE] * 3, size=3),
    "build number 283x": page(
        [
            {
                "uuid": "{p}",
                "build_number": "283x",
                "state": {"name": "COMPLETED", "result": {"name": "FAILED"}},
                "created_on": "2026-11-29T07:12:00Z",
            }
        ],
        size=1,
    ),
    "state is a list": page(
        [{"uuid": "{p}", "build_number": 9, "state": ["COMPLETED"], "created_on": "2026-11-29T07:12:00Z"}],
        size=1,
    ),
    "items are strings": page(["FAILED", "FAILED"], size=2),
}


@pytest.mark.parametrize("case", sorted(PIPELINE_BODIES))
async def test_unreadable_pipelines_are_a_counted_gap(serve: Any, case: str) -> None:
    rules = {r"/repositories/acme/api-gateway/pipelines/?\?": respond(PIPELINE_BODIES[case])}
    with serve(rules) as running:
        async with running.client() as bb:
            ctx = ToolContext(client=bb, workspace="acme")
            result = await run_tool(
                ctx, "list_pipelines", ListPipelines(repos=["api-gateway"], results=["FAILED"])
            )
    gaps = " | ".join(result.gaps)
    assert ("could not be read" in gaps and "api-gateway" in gaps) or "/pipelines" in gaps, gaps
    assert result.records == []


def test_all_null_pipelines_never_read_as_nothing_failed(serve: Any, cli: Any) -> None:
    with serve({PIPELINES: respond(PIPELINE_BODIES["all fields null"])}) as running:
        result = cli(running, *ask("what pipelines failed in the last 24 hours?"), "--json")
    assert_no_traceback(result)
    assert result.returncode == 1, result.stderr
    assert "could not be read" in result.stdout, result.stdout[-2000:]


@pytest.mark.parametrize(("case", "codes"), [("values is a dict", {5}), ("junk items", {1})])
def test_cli_survives_malformed_listings(serve: Any, cli: Any, case: str, codes: set[int]) -> None:
    with serve({LISTING: respond(LISTING_BODIES[case][0])}) as running:
        result = cli(running, *ask("list repositories"))
    assert_no_traceback(result)
    assert result.returncode in codes, result.stderr


async def test_an_off_host_next_link_is_a_typed_error(serve: Any) -> None:
    evil = page([{"slug": "api", "name": "API"}], next="https://evil.example/2.0/repositories/acme?page=2")
    with serve({LISTING: respond(evil)}) as running:
        async with running.client() as bb:
            ctx = ToolContext(client=bb, workspace="acme")
            with pytest.raises(BitbucketError) as caught:
                await run_tool(ctx, "list_repositories", ListRepositories())
            assert "evil.example" not in "".join(running.app.paths)
    assert "next" in str(caught.value) and "/repositories/{ws}" in str(caught.value)


def test_cli_off_host_next_link_is_not_a_traceback(serve: Any, cli: Any) -> None:
    evil = page([{"slug": "api", "name": "API"}], next="https://evil.example/2.0/repositories/acme?page=2")
    with serve({LISTING: respond(evil)}) as running:
        started = time.monotonic()
        result = cli(running, *ask("list repositories"))
    assert_no_traceback(result)
    assert result.returncode == 5, result.stderr
    assert time.monotonic() - started < 30


def test_connect_survives_a_listing_without_slugs_and_hostile_names(serve: Any, cli: Any) -> None:
    rules = {
        r"^/2\.0/repositories/acme/?(\?|$)": respond(page([{"name": "no slug here"}, {"slug": "../../user"}]))
    }
    with serve(rules) as running:
        result = cli(running, "connect")
        hits = list(running.app.paths)
    assert_no_traceback(result)
    assert result.returncode in (0, 3, 5), result.stderr
    assert not any(p.startswith("/2.0/user") and "pipelines" in p for p in hits), hits
    assert not any("/../" in p or p.endswith("/..") for p in hits), hits
