"""Size caps: decompressed bytes per answer are bounded; memory stays under 500 MB; logs keep their tail.

As the code stood, a 1 MB gzip bomb (1 GB inflated) drove the CLI to 2-3 GB and ten 50 MB
listings to 2.1 GB. The memory checks run the client in a child process and read its peak RSS
(VmHWM, which starts afresh at exec).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest

from bbscout.tools.bitbucket import InvalidResponse
from tests.hostile.servers import gzip_bomb, huge_listing, respond

pytestmark = pytest.mark.timeout(60)
MEMORY_LIMIT_MB = 500

CHILD = r"""
import asyncio, json, sys
from bbscout.tools.bitbucket import BasicAuth, BitbucketClient, BitbucketError

async def main(base, email, secret, paths):
    outcomes = []
    async with BitbucketClient(workspace="acme", auth=BasicAuth(email, secret), base_url=base) as bb:
        async def one(path):
            try:
                return [len([item async for item in bb.paginate(path)])]
            except BitbucketError as exc:
                return type(exc).__name__
        outcomes = await asyncio.gather(*(one(p) for p in paths))
    return outcomes

outcomes = asyncio.run(main(*sys.argv[1:4], sys.argv[4:]))
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forked parent (pytest) across exec.
status = open("/proc/self/status").read().split("VmHWM:")[1]
peak = int(status.split()[0]) / 1024
print(json.dumps({"outcomes": outcomes, "max_rss_mb": peak}))
"""


def _child(running: Any, paths: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, running.base_url, running.email, running.secret, *paths],
        capture_output=True,
        text=True,
        timeout=50,
        env={k: v for k, v in os.environ.items() if "proxy" not in k.lower()},  # straight to loopback
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def test_a_1gb_gzip_bomb_is_refused_within_the_memory_limit(serve: Any) -> None:
    with serve({r"^/2\.0/repositories/acme/?(\?|$)": gzip_bomb()}) as running:
        report = _child(running, ["/repositories/acme"])
    assert report["outcomes"] == ["InvalidResponse"], report
    assert report["max_rss_mb"] < MEMORY_LIMIT_MB, report


def test_ten_50mb_listings_stay_within_the_memory_limit(serve: Any) -> None:
    with serve({r"/pipelines/?\?": huge_listing(50)}) as running:
        paths = [f"/repositories/acme/repo-{i}/pipelines/" for i in range(10)]
        report = _child(running, paths)
    assert report["outcomes"] == ["InvalidResponse"] * 10, report
    assert report["max_rss_mb"] < MEMORY_LIMIT_MB, report


async def test_too_large_names_the_endpoint_and_the_cap(serve: Any) -> None:
    with serve({r"^/2\.0/repositories/acme/?(\?|$)": gzip_bomb(64 << 20)}) as running:
        async with running.client(max_json_bytes=1 << 20) as bb:
            started = time.monotonic()
            with pytest.raises(InvalidResponse) as caught:
                await asyncio.wait_for(bb.get_json("/repositories/acme"), 10)
    assert time.monotonic() - started < 5
    assert "/repositories/{ws}" in str(caught.value) and "1 MiB" in str(caught.value)


async def test_a_huge_log_sent_in_full_keeps_its_tail(serve: Any) -> None:
    """A server that ignores `Range` and sends 30 MB: the client keeps the last bytes, not the first."""
    log = (b"ok line\n" * (30 << 17)) + b"E   KeyError: 'burst_limit'\nFAILED tests/unit/test_limits.py\n"
    rules = {r"/log$": respond(log, headers=[("content-type", "text/plain")])}
    with serve(rules) as running:
        async with running.client() as bb:
            text = await bb.get_text("/repositories/acme/api/pipelines/x/steps/y/log", tail_bytes=4096)
    assert text.endswith("FAILED tests/unit/test_limits.py\n")
    assert "KeyError: 'burst_limit'" in text
    assert len(text) <= 4096


async def test_a_text_answer_over_the_cap_is_cut_not_held(serve: Any) -> None:
    body = b"a" * (3 << 20)
    with serve({r"/src/": respond(body, headers=[("content-type", "text/plain")])}) as running:
        async with running.client(max_text_bytes=1 << 20) as bb:
            text = await bb.get_text("/repositories/acme/api/src/main/big.txt")
    assert len(text) == 1 << 20
