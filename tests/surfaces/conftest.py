"""Shared fixtures of the surfaces tests: an isolated environment, the `bbscout` console script, the
sandbox and a fake Slack on loopback, and `bbscout serve`'s app with Slack and the webhooks mounted."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from pydantic import SecretStr

from bbscout.agent.service.keys import ApiKey, digest
from bbscout.agent.settings import Settings
from bbscout.sandbox.app import SandboxSettings, create_app
from bbscout.sandbox.faults import FaultProfile
from bbscout.sandbox.server import LoopbackServer
from bbscout.sandbox.world import World, build_world
from tests.surfaces.fake_slack import FakeSlack

BBSCOUT = str(Path(sys.executable).parent / "bbscout")
NOW = "2026-11-29T16:20:00+00:00"
API_KEY = "bbs_oncall-test-key-0123456789abcdef"


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
    env.update(PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")  # never this machine's keyring
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


HOSTILE_TITLE = "<!channel> ship it now <https://evil.example/login|click here> <@U0BOSS>"


def root_of(server: LoopbackServer) -> str:
    return f"http://{server.host}:{server.port}"


@pytest.fixture(scope="module")
def world() -> World:
    """The default world, with a PR title that tries to ping the channel and hide a link."""
    built = build_world("default", seed=7, anchor=datetime.fromisoformat("2026-11-29T16:00:00+00:00"))
    built.repos["checkout-service"].pullrequests[67]["title"] = HOSTILE_TITLE
    return built


@pytest.fixture(scope="module")
def bitbucket(world: World) -> Iterator[Settings]:
    """The sandbox over loopback HTTP (20 ms a request, so a run lasts long enough to show progress)."""
    faults = SandboxSettings(faults=FaultProfile(latency_ms=20))
    with LoopbackServer(create_app(world, faults)) as server:
        token = world.token("demo")
        yield Settings(
            workspace="acme", email=token.email, api_token=SecretStr(token.secret), base_url=server.base_url
        )


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    slack = FakeSlack()
    with LoopbackServer(slack.app) as server:
        slack.ws_url = f"ws://{server.host}:{server.port}/link"
        slack.api_url = f"{root_of(server)}/api/"  # type: ignore[attr-defined]
        yield slack


@pytest.fixture
def service_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process's environment for an in-process service: its own config, data and cache dirs."""
    for key in list(os.environ):
        if key.startswith(("BITBUCKET_", "OPENAI_", "BBSCOUT_", "SLACK_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("BBSCOUT_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("BBSCOUT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BBSCOUT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    return tmp_path


@contextmanager
def service(bitbucket: Settings, **integrations: Any) -> Iterator[tuple[str, Any]]:
    """`bbscout serve`'s app on loopback (lifespan on), answering at the sandbox's hour; (origin, app).

    `integrations` are create_app's `slack` and `incidents` settings. Needs the `service_env` fixture.
    """
    from bbscout.agent.service.app import create_app
    from bbscout.agent.service.config import ServiceSettings

    app = create_app(
        ServiceSettings(api_keys={"oncall": ApiKey(hash=digest(API_KEY))}),
        bitbucket,
        planner="rules",
        clock=lambda: datetime.fromisoformat(NOW),
        **integrations,
    )
    with LoopbackServer(app, lifespan="on") as server:
        yield server.origin, app


def with_key() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}"}


def save_plain(config: Path, name: str, bitbucket: Settings, failed_test: str | None = None) -> None:
    """A saved connection to the sandbox, its token in the 0600 config file (never an OS keyring, which
    would outlive the test and which a subprocess with another HOME cannot read)."""
    assert bitbucket.api_token is not None
    table = {
        "workspace": "acme",
        "base_url": bitbucket.base_url,
        "email": bitbucket.email,
        "api_token": bitbucket.api_token.get_secret_value(),
    }
    if failed_test is not None:
        table["last_test"] = {"ok": False, "at": "2026-11-29T16:00:00+00:00", "detail": failed_test}
    document = tomlkit.parse(config.read_text(encoding="utf-8")) if config.exists() else tomlkit.document()
    document.setdefault("connections", tomlkit.table(is_super_table=True))[name] = table
    descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(tomlkit.dumps(document))
