"""Drive the installed `bbscout` console script as a subprocess, in an isolated environment."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

BBSCOUT = str(Path(sys.executable).parent / "bbscout")
NOW = "2026-11-29T16:20:00+00:00"
ANCHOR = "2026-11-29T16:00:00+00:00"
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BITBUCKET_", "OPENAI_", "BBSCOUT_"))}
    env.update(
        HOME=str(tmp_path),
        BBSCOUT_CONFIG=str(tmp_path / "config.toml"),
        BBSCOUT_DATA_DIR=str(tmp_path / "data"),
        BBSCOUT_CACHE_DIR=str(tmp_path / "cache"),
        COLUMNS="160",
        NO_COLOR="1",
    )
    return env


@pytest.fixture
def bbscout(clean_env: dict[str, str]) -> Run:
    def run(
        *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 90
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [BBSCOUT, *args],
            env={**clean_env, **(env or {})},
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


def read_until(stream: IO[bytes], marker: bytes, timeout: float = 90) -> bytes:
    """Read a child's pipe until `marker` appears (the child is waiting there); fail after `timeout`.

    Reads the raw descriptor, so a prompt without a newline counts; the timeout only bounds a hang.
    """
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        readable, _, _ = select.select([stream], [], [], max(0.0, left))
        if not readable:
            raise AssertionError(f"no {marker!r} within {timeout:.0f}s; got {seen[-2000:]!r}")
        chunk = os.read(stream.fileno(), 65536)
        if not chunk:
            raise AssertionError(f"stream closed before {marker!r}; got {seen[-2000:]!r}")
        seen += chunk
    return seen


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
