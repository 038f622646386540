"""Shared fixtures of the surfaces tests: an isolated environment and the `bbscout` console script."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

BBSCOUT = str(Path(sys.executable).parent / "bbscout")
NOW = "2026-11-29T16:20:00+00:00"


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """The process environment without any Bitbucket, LLM, Slack or bbscout setting (the embedded sandbox)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BITBUCKET_", "OPENAI_", "BBSCOUT_", "SLACK_"))
    }
    env.update(HOME=str(tmp_path), BBSCOUT_CONFIG=str(tmp_path / "config.toml"))
    env.update(BBSCOUT_DATA_DIR=str(tmp_path / "data"), NO_COLOR="1")
    return env


@asynccontextmanager
async def listening(*args: str, env: dict[str, str], banner: str) -> AsyncIterator[str]:
    """Run `bbscout ARGS` until its stderr announces `banner` (a regex with a `url` group); yield the URL."""
    process = await asyncio.create_subprocess_exec(
        BBSCOUT, *args, env=env, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    seen = []
    try:
        while True:
            line = (await asyncio.wait_for(process.stderr.readline(), 60)).decode()
            if not line:
                raise AssertionError(f"bbscout exited before listening: {''.join(seen)}")
            seen.append(line)
            if match := re.search(banner, line):
                break
        yield match.group("url")
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
