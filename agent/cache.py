"""Where the shared response cache and hourly request ledger live, and how to empty them.

Redis when `BBSCOUT_REDIS_URL` is set (replicas share it), else one SQLite file under the user cache
directory (`BBSCOUT_CACHE_DIR` overrides), shared by every bbscout process of the machine.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from bbscout.agent.settings import ConfigError, Settings
from bbscout.tools.bitbucket import Store, open_store

CACHE_FILE = "cache.sqlite"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def cache_file(settings: Settings) -> Path:
    """The SQLite file used when no Redis URL is set."""
    directory = (
        settings.cache_dir or os.environ.get("BBSCOUT_CACHE_DIR") or platformdirs.user_cache_dir("bbscout")
    )
    return Path(directory) / CACHE_FILE


def describe(settings: Settings) -> str:
    """Where the cache is, for people (a Redis URL without its password)."""
    if settings.redis_url is None:
        return str(cache_file(settings))
    url = settings.redis_url.get_secret_value()
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def open_shared_store(settings: Settings) -> Store:
    """The configured store; a bad Redis URL or a missing `redis` package is a ConfigError saying the fix."""
    if settings.redis_url is None:
        return open_store(path=str(cache_file(settings)))
    url = settings.redis_url.get_secret_value()
    if not url.startswith(REDIS_SCHEMES):
        raise ConfigError(
            f"BBSCOUT_REDIS_URL must start with {', '.join(REDIS_SCHEMES)} "
            "(e.g. redis://localhost:6379/0); unset it to use the local SQLite cache."
        )
    try:
        return open_store(redis_url=url)
    except ImportError:
        raise ConfigError(
            "BBSCOUT_REDIS_URL is set but the redis client is not installed: pip install 'bbscout[redis]'."
        ) from None


async def clear_cache(settings: Settings) -> int:
    """Empty the cache and the ledger; the number of cached responses removed."""
    store = open_shared_store(settings)
    try:
        return await store.clear()
    finally:
        await store.aclose()
