"""Runs questions for the service: connection → client → `Session.ask`, the one entry point.

The runner owns what outlives a request: the saved connections and their last tests (the store's,
shared by replicas, win over the config file's), the shared response cache and hourly ledger (Redis
for replicas; its keys carry each credential's identity), a small in-process cache per connection,
and the embedded sandbox world when no Bitbucket connection is configured. Each request gets a
fresh client, so the request budget is per question, as in the CLI.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from bbscout.agent.connect import run_checks
from bbscout.agent.connections import (
    ENV_CONNECTION,
    SANDBOX_CONNECTION,
    Connection,
    LastTest,
    refuse_if_failed,
    resolve,
)
from bbscout.agent.exit_codes import EXIT_RATE_LIMITED, EXIT_REFUSED
from bbscout.agent.runtime import (
    PlannerChoice,
    RunResult,
    Session,
    embedded_transport,
    make_client,
    open_session,
)
from bbscout.agent.service.problems import Problem
from bbscout.agent.service.store import Store
from bbscout.agent.settings import Settings
from bbscout.tools.bitbucket import ResponseCache
from bbscout.tools.bitbucket import Store as SharedStore

COALESCE_SECONDS = 5.0  # as the shared store keeps listings (tools.bitbucket._shared)


@dataclass(frozen=True)
class Resolved:
    """The connection a request runs on: its name and the settings that carry its credentials."""

    name: str
    settings: Settings


class Runner:
    """Connections, caches and the embedded world of one service process."""

    def __init__(
        self, base: Settings, saved: dict[str, Connection], store: Store, shared: SharedStore
    ) -> None:
        self.base = base
        self.saved = saved
        self.store = store
        self.shared = shared
        self.caches: dict[str, ResponseCache] = {}
        self._embedded: tuple[httpx.AsyncBaseTransport, Any] | None = None

    async def connections(self) -> dict[str, Connection]:
        """Saved connections with the freshest last test (the store's, shared by replicas, or the file's)."""
        tests = await self.store.connection_tests()
        merged = {}
        for name, connection in self.saved.items():
            test = tests.get(name)
            if test and (connection.last_test is None or test.at >= connection.last_test.at.timestamp()):
                last = LastTest(ok=test.ok, at=datetime.fromtimestamp(test.at, UTC), detail=test.detail)
                connection = connection.model_copy(update={"last_test": last})
            merged[name] = connection
        return merged

    async def listing(self) -> list[dict[str, Any]]:
        """What `GET /v1/connections` shows: names, workspaces, last tests; never a secret."""
        saved = await self.connections()
        shown = [c.public() for c in saved.values()]
        if not self.base.uses_embedded_sandbox:
            env = Connection(
                name=ENV_CONNECTION,
                workspace=self.base.workspace or "",
                base_url=self.base.base_url,
                email=self.base.email if self.base.api_token else None,
                api_token=self.base.api_token,
                access_token=self.base.access_token,
            )
            shown.insert(0, env.public() | {"default": True})
        elif not saved:
            shown.append(
                {"name": SANDBOX_CONNECTION, "workspace": "acme", "auth": "embedded", "default": True}
                | {"base_url": None, "email": None, "last_test": None}
            )
        elif len(saved) == 1:
            shown[0]["default"] = True
        return shown

    async def resolve(self, name: str | None) -> Resolved:
        """The connection to use; refuses unknown ones (404) and ones whose last test failed (409)."""
        saved = await self.connections()
        resolved_name, settings = resolve(name, self.base, saved)
        if resolved_name in saved:
            refuse_if_failed(saved[resolved_name])
        return Resolved(resolved_name, settings)

    def _client_for(self, resolved: Resolved, now: datetime) -> Any:
        # In-process: identical concurrent requests fly once; listings coalesce only as long as the
        # shared store keeps them, so a later question never gets an old listing.
        cache = self.caches.setdefault(resolved.name, ResponseCache(listing_ttl=COALESCE_SECONDS))
        if resolved.name == SANDBOX_CONNECTION:
            self._embedded = self._embedded or embedded_transport(now)
        embedded = self._embedded if resolved.name == SANDBOX_CONNECTION else None
        return make_client(
            resolved.settings, now, lambda _: None, cache=cache, embedded=embedded, store=self.shared
        )

    @asynccontextmanager
    async def session(
        self, resolved: Resolved, planner: PlannerChoice, now: datetime
    ) -> AsyncIterator[Session]:
        async with open_session(
            resolved.settings, planner=planner, now=now, client=self._client_for(resolved, now)
        ) as session:
            yield session

    async def test(self, name: str) -> dict[str, Any]:
        """Test Connection for a saved (or the environment's) connection; the result is shared by replicas."""
        saved = await self.connections()
        if name in saved:
            settings = saved[name].settings(self.base)
        else:
            name, settings = resolve(name, self.base, saved)
        checks = await run_checks(
            settings, lambda _: None, client=self._client_for(Resolved(name, settings), datetime.now(UTC))
        )
        failed = next((c for c in checks if not c.ok), None)
        detail = f"{failed.name}: {failed.detail}" if failed else f"{len(checks)} checks passed"
        test = await self.store.record_test(name, failed is None, detail)
        return {
            "name": name,
            "ok": test.ok,
            "at": datetime.fromtimestamp(test.at, UTC).isoformat(),
            "detail": detail,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks],
        }

    async def settle(self, resolved: Resolved, result: RunResult) -> None:
        """Refused or rate-limited runs become problems; rejected credentials fail the connection's test."""
        if result.exit_code not in (EXIT_REFUSED, EXIT_RATE_LIMITED):
            return
        first = next((o for o in result.outcomes if o.error), None)
        detail = first.error if first and first.error else "Bitbucket refused every request of this question."
        if first is not None and first.error_kind == "AuthError" and resolved.name in self.saved:
            await self.store.record_test(resolved.name, False, f"a question was refused: {detail}")
        if result.exit_code == EXIT_RATE_LIMITED:
            raise Problem(
                503,
                "bitbucket-rate-limited",
                "Bitbucket's hourly request limit is reached",
                detail,
                bitbucket_status=429,
                document=result.document,
            )
        raise Problem(
            502, "bitbucket-refused", "Bitbucket refused the request", detail, document=result.document
        )

    async def record_refusal(self, resolved: Resolved, explanation: str) -> None:
        """A 401 from Bitbucket outside a run (the access check) also fails the connection's test."""
        if resolved.name in self.saved:
            await self.store.record_test(resolved.name, False, f"a question was refused: {explanation}")
