"""Session-wide fixtures: a real Redis server for the shared-store tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_server import redis_server


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """One real `redis-server` for the session (skipped only when the binary is absent)."""
    try:
        with redis_server() as url:
            yield url
    except FileNotFoundError as exc:
        pytest.skip(f"{exc}: the Redis-backed store cannot be tested here")


@pytest.fixture
def redis_url(redis_server_url: str) -> Iterator[str]:
    """The session's Redis, emptied before each test."""
    import redis

    client = redis.Redis.from_url(redis_server_url)
    client.flushall()
    client.close()
    yield redis_server_url
