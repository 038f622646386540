"""Fixtures for the sandbox API tests: the tiny world, an app over it and authenticated clients."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from bbscout.sandbox.app import SandboxSettings, create_app
from bbscout.sandbox.world.model import Token, World
from tests.sandbox.fixtures import tiny_world

BASE = "http://sandbox.local/2.0"


def auth_header(token: Token) -> dict[str, str]:
    if token.kind == "api_token":
        raw = f"{token.email}:{token.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    return {"Authorization": f"Bearer {token.secret}"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="session")
def world() -> World:
    return tiny_world()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(world: World, clock: FakeClock) -> Starlette:
    return create_app(world, SandboxSettings(clock=clock))


def make_client(app: Starlette, token: Token | None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, headers=auth_header(token) if token else {}
    )


@pytest.fixture
async def client(app: Starlette, world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app, world.token("demo")) as c:
        yield c


@pytest.fixture
async def anon(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app, None) as c:
        yield c
