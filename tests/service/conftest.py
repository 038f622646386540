"""The service over real loopback HTTP: a sandbox Bitbucket, saved connections and API keys in a temp config.

Servers are session-scoped (the sandbox world, the service, PostgreSQL, Redis) so the suite stays fast;
tests that change shared state (a revoked token, a stopped database) restore it themselves.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bbscout.agent.connections import Connection, save_connection, with_last_test
from bbscout.agent.service.keys import ApiKey, digest
from bbscout.sandbox.world.model import World

NOW = "2026-11-29T16:20:00+00:00"
ANCHOR = "2026-11-29T16:00:00+00:00"
KEYS = {"alice": "bbs_alice-test-key-0123456789abcdef", "tight": "bbs_tight-test-key-0123456789abcdef"}
QUOTAS = {"alice": 10_000, "tight": 3}
PRODUCTION = "Production Bitbucket"
OPS = "Ops access token"


@dataclass
class Env:
    """The isolated configuration every service in this session reads."""

    root: Path
    config: Path
    world: World
    sandbox_url: str

    def variables(self) -> dict[str, str]:
        return {
            "BBSCOUT_CONFIG": str(self.config),
            "BBSCOUT_DATA_DIR": str(self.root / "data"),
            "BBSCOUT_CACHE_DIR": str(self.root / "cache"),
        }


def api_keys() -> dict[str, ApiKey]:
    return {name: ApiKey(hash=digest(raw), quota_per_hour=QUOTAS[name]) for name, raw in KEYS.items()}


def auth(name: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name]}"}


def connection_for(world: World, name: str, label: str, base_url: str) -> Connection:
    token = world.token(label)
    if token.kind == "api_token":
        made = Connection(
            name=name, workspace="acme", base_url=base_url, email=token.email, api_token=token.secret
        )
    else:
        made = Connection(name=name, workspace="acme", base_url=base_url, access_token=token.secret)
    return with_last_test(made, True, "6 checks passed", at=datetime.fromisoformat(ANCHOR))


@pytest.fixture(scope="session")
def world() -> World:
    from bbscout.sandbox.world import build_world

    return build_world("default", seed=7, anchor=datetime.fromisoformat(ANCHOR))


@pytest.fixture(scope="session")
def sandbox(world: World) -> Iterator[Any]:
    from bbscout.sandbox.app import SandboxSettings, create_app
    from bbscout.sandbox.server import LoopbackServer

    app = create_app(world, SandboxSettings())
    with LoopbackServer(app) as server:
        yield server  # server.app.state: request_log, settings (latency for slow-run tests)


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory, world: World, sandbox: Any) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("service")
    made = Env(root=root, config=root / "config.toml", world=world, sandbox_url=sandbox.base_url)
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.startswith(("BITBUCKET_", "OPENAI_", "BBSCOUT_")):
                patch.delenv(key)
        for key, value in made.variables().items():
            patch.setenv(key, value)
        patch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
        save_connection(connection_for(world, PRODUCTION, "demo", sandbox.base_url), made.config)
        save_connection(connection_for(world, OPS, "demo-access", sandbox.base_url), made.config)
        yield made


@pytest.fixture(scope="session")
def service(env: Env) -> Iterator[str]:
    """The service in this process, on SQLite, over real loopback HTTP; yields its origin."""
    from bbscout.agent.service.app import create_app
    from bbscout.agent.service.config import ServiceSettings
    from bbscout.agent.settings import Settings
    from bbscout.sandbox.server import LoopbackServer

    app = create_app(
        ServiceSettings(api_keys=api_keys(), max_body_bytes=8192),
        Settings(),
        planner="rules",
        clock=lambda: datetime.fromisoformat(NOW),  # the page sends no `now`: it asks at the world's hour
    )
    with LoopbackServer(app, lifespan="on") as server:
        yield server.origin


@pytest.fixture
def client(service: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service, headers=auth(), timeout=60) as c:
        yield c


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    from tests.service.servers import Postgres, missing

    reason = missing("pg_ctl", "initdb")
    if reason:
        pytest.skip(reason)
    # Not under pytest's tmp dir: that is private to root, and PostgreSQL runs as its own user.
    root = Path(tempfile.mkdtemp(prefix="bbscout-pg-"))
    server = Postgres(root)
    server.create()
    try:
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.service.servers import Redis, missing

    reason = missing("redis-server")
    if reason:
        pytest.skip(reason)
    server = Redis(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
