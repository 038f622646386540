"""Fixtures for the hostile-server tests: the seeded world, a saboteur on loopback, the CLI against it.

Every scenario runs a real HTTP server on 127.0.0.1 (uvicorn over `tests.hostile.servers.hostile`)
and bounds its own time: deadlines are injected small (client arguments, `BBSCOUT_TIMEOUT`), so a
scenario that would hang for minutes as the code stood fails its assertion in seconds instead.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from bbscout.sandbox.app import create_app
from bbscout.sandbox.server import LoopbackServer
from bbscout.sandbox.world import build_world
from bbscout.sandbox.world.model import World
from bbscout.tools.bitbucket import BasicAuth, BitbucketClient
from tests.cli.conftest import BBSCOUT, NOW, bbscout, clean_env  # noqa: F401  (fixture re-export)
from tests.hostile.servers import Hostile, hostile

ANCHOR = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
WS = "acme"
Serve = Callable[[dict[str, Any]], Any]


@pytest.fixture(scope="session")
def world() -> World:
    return build_world("default", anchor=ANCHOR)


class Running:
    """A hostile server that is up: its base URL, the saboteur (for hit counts) and credentials."""

    def __init__(self, server: LoopbackServer, app: Hostile, world: World) -> None:
        self.base_url = server.base_url
        self.app = app
        token = world.token("demo")
        self.email = token.email or ""
        self.secret = token.secret

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "BITBUCKET_BASE_URL": self.base_url,
            "BITBUCKET_WORKSPACE": WS,
            "BITBUCKET_EMAIL": self.email,
            "BITBUCKET_API_TOKEN": self.secret,
            **extra,
        }

    def client(self, **kwargs: Any) -> BitbucketClient:
        return BitbucketClient(
            workspace=WS, auth=BasicAuth(self.email, self.secret), base_url=self.base_url, **kwargs
        )


@pytest.fixture
def serve(world: World) -> Iterator[Callable[[dict[str, Any]], Any]]:
    """`with serve({regex: behaviour}) as running:` — the sandbox on loopback with those paths sabotaged."""

    @contextmanager
    def start(rules: dict[str, Any]) -> Iterator[Running]:
        app = hostile(create_app(world), rules)
        with LoopbackServer(app) as server:
            yield Running(server, app, world)

    yield start


@pytest.fixture
def cli(clean_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:  # noqa: F811
    """Run `bbscout ARGS` against a running hostile server; a hung CLI fails the test at `timeout`."""

    def run(
        running: Running, *args: str, timeout: float = 30, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [BBSCOUT, *args],
            env={**clean_env, **running.env(**env)},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


def ask(question: str) -> tuple[str, ...]:
    return ("ask", question, "--now", NOW)
