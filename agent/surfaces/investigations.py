"""Investigations started by incidents: a status store, a bounded background runner, and delivery.

    webhook → `InvestigationRunner.submit` → the store claims the incident key (a redelivery finds the
    row already there and starts nothing) → a background task waits for one of `concurrency` slots →
    `Asker.ask` in investigate mode at the incident's start time → the findings go to a Slack thread
    on the incident (whose follow-ups then see them) or to a callback URL → the row says done/failed

The store is SQLite (one file, shared by the processes of one machine; the claim is one `INSERT OR
IGNORE`), so a restart resumes whatever was queued or running: nothing a webhook was promised is lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiosqlite
import httpx
from slack_sdk.web.async_client import AsyncWebClient

from bbscout.agent.runtime import RunResult
from bbscout.agent.settings import ConfigError
from bbscout.agent.surfaces.asker import Asker, Question
from bbscout.agent.surfaces.config import IncidentSettings, ServiceRoute
from bbscout.agent.surfaces.incidents import Incident
from bbscout.agent.surfaces.neutral import slack_text
from bbscout.agent.surfaces.slack_app import ProgressMessage, thread_id
from bbscout.agent.surfaces.slack_render import answer_blocks, error_blocks, fallback_text, safe_url
from bbscout.tools.bitbucket import BitbucketError

__all__ = ["Investigation", "InvestigationRunner", "InvestigationStore", "open_store"]

log = logging.getLogger("bbscout.incidents")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS investigations (
    id TEXT PRIMARY KEY,
    incident_key TEXT UNIQUE NOT NULL,
    incident TEXT NOT NULL,
    service TEXT,
    repos TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    destination TEXT,
    document TEXT,
    error TEXT
)
"""


@dataclass(frozen=True)
class Investigation:
    """A row of the store, as `GET /v1/investigations/{id}` shows it."""

    id: str
    incident: dict[str, Any]
    service: str | None
    repos: list[str]
    status: str  # queued | running | done | failed
    created_at: str
    updated_at: str
    destination: str | None
    document: dict[str, Any] | None
    error: str | None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "incident": self.incident,
            "service": self.service,
            "repos": self.repos,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "destination": self.destination,
            "error": self.error,
            "document": self.document,
        }


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _incident_json(incident: Incident) -> dict[str, Any]:
    return {
        "provider": incident.provider,
        "id": incident.id,
        "title": incident.title,
        "services": list(incident.services),
        "started_at": incident.started_at.isoformat(),
        "url": incident.url,
    }


class InvestigationStore:
    """Investigations by id and by incident key, in SQLite."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db

    async def claim(
        self, incident: Incident, service: str | None, repos: list[str]
    ) -> tuple[Investigation, bool]:
        """The incident's investigation, and whether this call created it (False: a redelivery)."""
        now = _now()
        cursor = await self.db.execute(
            "INSERT OR IGNORE INTO investigations (id, incident_key, incident, service, repos, status, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)",
            (
                uuid.uuid4().hex,
                incident.key,
                json.dumps(_incident_json(incident)),
                service,
                json.dumps(repos),
                now,
                now,
            ),
        )
        await self.db.commit()
        created = cursor.rowcount == 1
        found = await self._one("incident_key = ?", incident.key)
        assert found is not None
        return found, created

    async def get(self, investigation_id: str) -> Investigation | None:
        return await self._one("id = ?", investigation_id)

    async def unfinished(self) -> list[Investigation]:
        """Queued or running rows (a process stopped mid-way): the runner resumes them."""
        async with self.db.execute(
            "SELECT * FROM investigations WHERE status IN ('queued', 'running') ORDER BY created_at"
        ) as cursor:
            return [self._row(r) for r in await cursor.fetchall()]

    async def update(self, investigation_id: str, **values: Any) -> None:
        values = {k: json.dumps(v) if k == "document" else v for k, v in values.items()} | {
            "updated_at": _now()
        }
        columns = ", ".join(f"{k} = ?" for k in values)
        await self.db.execute(
            f"UPDATE investigations SET {columns} WHERE id = ?", (*values.values(), investigation_id)
        )
        await self.db.commit()

    async def _one(self, where: str, value: str) -> Investigation | None:
        async with self.db.execute(f"SELECT * FROM investigations WHERE {where}", (value,)) as cursor:
            row = await cursor.fetchone()
        return self._row(row) if row else None

    @staticmethod
    def _row(row: Any) -> Investigation:
        return Investigation(
            id=row["id"],
            incident=json.loads(row["incident"]),
            service=row["service"],
            repos=json.loads(row["repos"]),
            status=row["status"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            destination=row["destination"],
            document=json.loads(row["document"]) if row["document"] else None,
            error=row["error"],
        )


@asynccontextmanager
async def open_store(path: str) -> AsyncIterator[InvestigationStore]:
    """The store in the SQLite file at `path` (":memory:" for one process), schema created."""
    async with aiosqlite.connect(path) as db:
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL") if path != ":memory:" else None
        await db.execute(_SCHEMA)
        await db.commit()
        yield InvestigationStore(db)


Deliver = Callable[[Investigation, Incident, ServiceRoute], Awaitable[RunResult | None]]


class InvestigationRunner:
    """Starts each incident's investigation once, runs `concurrency` at a time, delivers the findings."""

    def __init__(
        self,
        store: InvestigationStore,
        asker: Asker,
        settings: IncidentSettings,
        *,
        slack: AsyncWebClient | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.store, self.asker, self.settings = store, asker, settings
        self.slack, self.http = slack, http or httpx.AsyncClient(timeout=30)
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._team: str | None = None
        self.active = 0
        self.peak = 0  # the most investigations that ran at once (the bound, measured)

    async def submit(self, incident: Incident) -> tuple[Investigation, bool]:
        """Claim the incident and, the first time only, start its investigation in the background."""
        service, route = self.settings.route(list(incident.services))
        investigation, created = await self.store.claim(incident, service, route.repos)
        if created:
            self._spawn(investigation, incident, route)
        return investigation, created

    async def resume(self) -> int:
        """Restart what a stopped process left queued or running; returns how many."""
        pending = await self.store.unfinished()
        for row in pending:
            data = row.incident
            incident = Incident(
                provider=data["provider"],
                id=data["id"],
                title=data["title"],
                services=tuple(data["services"]),
                started_at=datetime.fromisoformat(data["started_at"]),
                url=data.get("url"),
            )
            self._spawn(row, incident, self.settings.route(list(incident.services))[1])
        return len(pending)

    async def drain(self) -> None:
        """Wait for every started investigation to finish (tests, graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, investigation: Investigation, incident: Incident, route: ServiceRoute) -> None:
        task = asyncio.create_task(self._run(investigation, incident, route))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, investigation: Investigation, incident: Incident, route: ServiceRoute) -> None:
        async with self._slots:
            self.active += 1
            self.peak = max(self.peak, self.active)
            try:
                await self.store.update(investigation.id, status="running")
                result = await self._deliver(investigation, incident, route)
            except (ConfigError, BitbucketError) as exc:
                message = exc.explain() if isinstance(exc, BitbucketError) else str(exc)
                await self.store.update(investigation.id, status="failed", error=message)
            except httpx.HTTPError as exc:
                await self.store.update(investigation.id, status="failed", error=f"callback failed: {exc}")
            except Exception as exc:
                log.exception("investigation %s failed", investigation.id)
                await self.store.update(
                    investigation.id, status="failed", error=f"internal error: {type(exc).__name__}"
                )
            else:
                status = "done" if result is not None else "failed"
                await self.store.update(
                    investigation.id, status=status, document=result.document if result else None
                )
            finally:
                self.active -= 1

    def _question(self, incident: Incident, route: ServiceRoute, thread: str | None) -> Question:
        symptom = (
            incident.title if not incident.services else f"{incident.title} (service {incident.services[0]})"
        )
        return Question(
            symptom[:1900],
            mode="investigate",
            at=incident.started_at,
            now=max(incident.started_at, self.asker.clock()),
            repos=tuple(route.repos) or None,
            thread=thread,
            connection=route.connection,
        )

    async def _deliver(
        self, investigation: Investigation, incident: Incident, route: ServiceRoute
    ) -> RunResult | None:
        channel = route.slack_channel or (None if route.callback_url else self.settings.slack_channel)
        callback = route.callback_url or (None if channel else self.settings.callback_url)
        if channel and self.slack is not None:
            await self.store.update(investigation.id, destination=f"slack:{channel}")
            return await self._to_slack(channel, incident, route)
        if callback:
            await self.store.update(investigation.id, destination=callback)
            result = await self.asker.ask(self._question(incident, route, None))
            await self._to_callback(callback, investigation, incident, result)
            return result
        raise ConfigError(
            "No destination for the findings: set [incidents] slack_channel (with the Slack app configured) "
            "or callback_url, or one on the service in [incidents.services.NAME]."
        )

    async def _to_slack(self, channel: str, incident: Incident, route: ServiceRoute) -> RunResult | None:
        """A message on the incident, and in its thread one progress message that becomes the findings."""
        assert self.slack is not None
        if self._team is None:
            self._team = str((await self.slack.auth_test())["team_id"])
        where = f" — <{safe_url(incident.url)}|open in {incident.provider}>" if incident.url else ""
        root = await self.slack.chat_postMessage(
            channel=channel,
            text=f":rotating_light: *{slack_text(incident.title)}* "
            f"(since {incident.started_at:%H:%M} UTC){where}",
            unfurl_links=False,
            unfurl_media=False,
        )
        thread_ts = str(root["ts"])
        posted = await self.slack.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text="Investigating…"
        )
        progress = ProgressMessage(self.slack, channel, str(posted["ts"]))
        thread = thread_id(self._team, channel, thread_ts) if self.asker.checkpointer is not None else None
        question = self._question(incident, route, thread)  # a thread: follow-ups there see the findings
        try:
            result = await self.asker.ask(question, on_event=progress.add)
        except (ConfigError, BitbucketError) as exc:
            message = exc.explain() if isinstance(exc, BitbucketError) else str(exc)
            await progress.finish(error_blocks(message), slack_text(message)[:300])
            raise
        await progress.finish(answer_blocks(result), fallback_text(result))
        return result

    async def _to_callback(
        self, url: str, investigation: Investigation, incident: Incident, result: RunResult
    ) -> None:
        body = json.dumps(
            {
                "investigation": investigation.id,
                "incident": _incident_json(incident),
                "document": result.document,
            }
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self.settings.callback_secret is not None:
            digest = hmac.new(self.settings.callback_secret.get_secret_value().encode(), body, hashlib.sha256)
            headers["X-Bbscout-Signature"] = f"sha256={digest.hexdigest()}"
        response = await self.http.post(url, content=body, headers=headers)
        response.raise_for_status()
