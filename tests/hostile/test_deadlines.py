"""Deadlines: a total per-request deadline (not per read), a per-run deadline, announced waits.

As the code stood, a server trickling one byte per read hung bbscout for as long as it liked (the
read timeout restarted with every byte), one that never answered took 86 s to fail and a
`Retry-After: inf` raised OverflowError. Each scenario bounds itself with `asyncio.wait_for` or a
subprocess timeout, so the old behaviour fails the assertion instead of hanging the suite.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from bbscout.agent.runtime import EXIT_UNREACHABLE
from bbscout.tools.args import ListPipelines
from bbscout.tools.bitbucket import (
    BasicAuth,
    BitbucketClient,
    DeadlineExceeded,
    RateLimited,
    RetryConfig,
    TransportFailure,
)
from bbscout.tools.context import ToolContext
from bbscout.tools.registry import run_tool
from tests.cli.conftest import assert_no_traceback
from tests.hostile.conftest import ask
from tests.hostile.servers import hang, respond, trickle

pytestmark = pytest.mark.timeout(30)
LISTING = r"^/2\.0/repositories/acme/?(\?|$)"


async def test_a_trickling_server_is_cut_at_the_total_request_deadline(serve: Any) -> None:
    with serve({LISTING: trickle(b'{"values": []}' * 20, every=0.02)}) as running:
        async with running.client(timeout=0.5, retry=RetryConfig(max_attempts=1)) as bb:
            started = time.monotonic()
            with pytest.raises(TransportFailure) as caught:
                await asyncio.wait_for(bb.get_json("/repositories/acme"), 5)
            elapsed = time.monotonic() - started
    assert elapsed < 2.0, elapsed
    assert "/repositories/{ws}" in str(caught.value)
    assert "0.5 s" in caught.value.explain()


async def test_a_server_that_never_answers_fails_at_the_run_deadline(serve: Any) -> None:
    with serve({r".": hang()}) as running:
        async with running.client(timeout=10) as bb:
            bb.start_run(0.6)
            started = time.monotonic()
            with pytest.raises(DeadlineExceeded) as caught:
                await asyncio.wait_for(bb.get_json("/repositories/acme"), 5)
            elapsed = time.monotonic() - started
    assert elapsed < 2.0, elapsed
    assert isinstance(caught.value, TransportFailure)  # the exit-code family "unreachable"
    assert "/repositories/{ws}" in str(caught.value)
    assert "BBSCOUT_TIMEOUT" in caught.value.explain()


async def test_the_run_deadline_says_which_repositories_were_not_answered(serve: Any) -> None:
    rules = {r"/repositories/acme/(api-gateway|mobile-app)/pipelines": hang()}
    with serve(rules) as running:
        async with running.client(timeout=10) as bb:
            bb.start_run(1.0)
            ctx = ToolContext(client=bb, workspace="acme")
            started = time.monotonic()
            result = await asyncio.wait_for(
                run_tool(ctx, "list_pipelines", ListPipelines(results=["FAILED"])), 8
            )
            elapsed = time.monotonic() - started
    assert elapsed < 3.0, elapsed
    gaps = " | ".join(result.gaps)
    assert "api-gateway" in gaps and "mobile-app" in gaps and "time limit" in gaps, gaps
    assert result.truncated
    assert {r.repo for r in result.records} - {"api-gateway", "mobile-app"}, "other repositories answered"


def _rate_limited(retry_after: str) -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(429, headers={"Retry-After": retry_after}, json={"error": {}})
    )


@pytest.mark.parametrize("retry_after", ["inf", "1e400", "-inf", "nan", "99999999999999999999999"])
async def test_absurd_retry_after_is_a_typed_rate_limit(retry_after: str) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    bb = BitbucketClient(
        workspace="acme",
        auth=BasicAuth("a@b.io", "t0ken-value"),
        transport=_rate_limited(retry_after),
        sleep=sleep,
    )
    async with bb:
        with pytest.raises(RateLimited) as caught:
            await bb.get_json("/user")
    caught.value.explain()  # renders without OverflowError
    assert sum(waits) <= 60, waits


async def test_long_waits_are_announced() -> None:
    announced: list[tuple[float, str]] = []
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    answers = iter([httpx.Response(429, headers={"Retry-After": "20"}), httpx.Response(200, json={"ok": 1})])
    bb = BitbucketClient(
        workspace="acme",
        auth=BasicAuth("a@b.io", "t0ken-value"),
        transport=httpx.MockTransport(lambda request: next(answers)),
        sleep=sleep,
        on_wait=lambda seconds, why: announced.append((seconds, why)),
    )
    async with bb:
        assert await bb.get_json("/user") == {"ok": 1}
    assert slept == [20.0]
    assert announced and announced[0][0] == 20.0 and "429" in announced[0][1], announced


async def test_a_wait_longer_than_the_run_has_left_is_not_slept() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    bb = BitbucketClient(
        workspace="acme",
        auth=BasicAuth("a@b.io", "t0ken-value"),
        transport=_rate_limited("20"),
        sleep=sleep,
    )
    async with bb:
        bb.start_run(5.0)
        with pytest.raises(RateLimited):
            await bb.get_json("/user")
    assert slept == []


def test_cli_exits_unreachable_in_time_when_bitbucket_never_answers(serve: Any, cli: Any) -> None:
    with serve({r".": hang()}) as running:
        started = time.monotonic()
        result = cli(running, *ask("list repositories"), BBSCOUT_TIMEOUT="1.5", timeout=20)
        elapsed = time.monotonic() - started
    assert result.returncode == EXIT_UNREACHABLE == 5, result.stderr
    assert elapsed < 12, elapsed
    assert "/repositories/{ws}" in result.stderr and "BBSCOUT_TIMEOUT" in result.stderr, result.stderr
    assert_no_traceback(result)


def test_cli_invalid_json_exits_unreachable_not_refused(serve: Any, cli: Any) -> None:
    rules = {LISTING: respond(b'{"values": [', headers=[("content-type", "application/json")])}
    with serve(rules) as running:
        result = cli(running, *ask("list repositories"), timeout=60)
    assert result.returncode == 5, result.stderr
    assert "invalid or truncated JSON" in result.stderr
    assert_no_traceback(result)


def test_cli_announces_a_long_rate_limit_wait(serve: Any, cli: Any) -> None:
    seen: list[int] = []

    async def limited_once(scope: Any, receive: Any, send: Any) -> None:
        seen.append(1)
        if len(seen) == 1:
            answer = respond({"error": {"message": "slow down"}}, 429, headers=[("Retry-After", "3")])
        else:
            answer = respond({"values": [], "page": 1, "size": 0, "pagelen": 100})
        await answer(scope, receive, send)

    with serve({r"/pipelines/?\?": limited_once}) as running:
        result = cli(running, *ask("what pipelines failed in the last 24 hours?"), timeout=30)
    assert "Waiting 3 s" in result.stderr and "429" in result.stderr, result.stderr
    assert_no_traceback(result)


def test_readme_documents_exit_code_5_and_the_knobs() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "`5` Bitbucket unreachable or answered" in readme
    assert "BBSCOUT_TIMEOUT" in readme and "BBSCOUT_ALLOW_HTTP" in readme
