"""`bbscout serve`: settings, a first API key when there is none, a store check, then uvicorn.

Slack (`[slack]`) and the incident webhooks (`[incidents]`) are read and checked here too, so a
half-configured integration or an unknown connection name is an error before anything listens.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from datetime import UTC, datetime

import uvicorn

from bbscout.agent.cache import open_shared_store
from bbscout.agent.connections import load_connections
from bbscout.agent.runtime import PlannerChoice
from bbscout.agent.service.app import create_app
from bbscout.agent.service.config import ServiceSettings, load_service_settings
from bbscout.agent.service.keys import ApiKey, digest, new_key, save_key
from bbscout.agent.service.store import StoreUnavailable, open_store
from bbscout.agent.settings import ConfigError, Settings, data_dir, load_settings
from bbscout.agent.surfaces import mount
from bbscout.agent.surfaces.config import load_incident_settings, load_slack_settings


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def first_key(host: str, notice: Callable[[str], None]) -> None:
    """A single instance on loopback gets a first key ('local'), shown once; elsewhere keys are required."""
    if not _loopback(host):
        raise ConfigError(
            f"No API key is configured, and {host} is not a loopback address. Make one per caller with "
            "`bbscout apikey NAME` (or set BBSCOUT_API_KEYS) before serving beyond this machine."
        )
    key = new_key()
    path = save_key("local", ApiKey(hash=digest(key), quota_per_hour=600))
    notice(f"No API key was configured: made 'local' (hash saved to {path}). Shown only now:")
    notice(f"    {key}")


async def _check_store(service: ServiceSettings, base: Settings) -> None:
    """Open the store once (creating its tables), so a wrong URL is an error now, not at the first request."""
    await open_shared_store(base).aclose()  # a bad BBSCOUT_REDIS_URL is a ConfigError saying the fix
    try:
        async with open_store(service.secret("database_url"), data_dir()):
            pass
    except StoreUnavailable as exc:
        raise ConfigError(
            f"{exc} Check BBSCOUT_DATABASE_URL (postgresql://user:password@host:5432/db) and that the "
            "server accepts connections, or unset it to keep threads in SQLite."
        ) from None


def serve_app(
    host: str,
    port: int,
    planner: PlannerChoice,
    notice: Callable[[str], None],
    now: datetime | None = None,
) -> None:
    """Blocking: serve until interrupted; `now` pins the clock of questions that carry none (tests)."""
    base = load_settings()
    service = load_service_settings()
    if not service.api_keys:
        first_key(host, notice)
        service = load_service_settings()
    slack, incidents = load_slack_settings(), load_incident_settings()
    mount.check(base, load_connections(), slack, incidents)
    asyncio.run(_check_store(service, base))
    threads = "PostgreSQL" if service.database_url else f"SQLite ({data_dir() / 'service.sqlite'})"
    cache = "Redis" if base.redis_url else "SQLite (this machine)"
    extras = "".join(
        (
            "; Slack events at /slack/events" if slack.signing_secret else "",
            f"; incident webhooks, {incidents.concurrency} at a time" if incidents.accepts_any else "",
        )
    )

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:  # listening: say where (the real port when --port 0)
                bound = self.servers[0].sockets[0].getsockname()[1] if self.servers else port
                notice(
                    f"bbscout serving on http://{host}:{bound}/ (threads: {threads}; cache: {cache}; "
                    f"{len(service.api_keys)} API key(s){extras}); API docs at /docs"
                )

    clock = (lambda: now) if now else (lambda: datetime.now(UTC))
    app = create_app(service, base, planner=planner, clock=clock, slack=slack, incidents=incidents)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=5
    )
    Server(config).run()
