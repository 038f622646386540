"""Investigations started by incidents: their table in the service's database, the workers, delivery.

    webhook → `Investigations.submit` → the incident key is claimed in the service's database (a
    redelivery, on any replica, finds the row and starts nothing) → a worker of any replica with a
    free slot takes the row under a lease → `Runner.ask` in investigate mode at the incident's start
    time, as a turn of the incident's thread → the findings go to a Slack thread on the incident, or to
    a callback URL → the row says done or failed

Each process runs `concurrency` workers, so N replicas run at most N × concurrency investigations at
once. Queued rows wait in the database, not in a process: the replica a webhook reached wakes a worker
at once, and a worker of any replica finds queued rows within `poll_seconds`, so a busy replica's queue
drains through idle ones. A worker renews its lease while it runs; when a replica dies mid-run its
lease lapses and another replica runs the investigation again (at most MAX_ATTEMPTS times; a Slack
message already posted on the incident is reused, not posted twice). A stopping replica hands its
running rows back at once. The incident's thread (`slack:TEAM:CHANNEL:TS`, or `incident:ID` for a
callback) is a shared thread of the service, so follow-ups from Slack, the chat page or the API see
the findings' evidence.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
import weakref
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bbscout.agent import neutralize
from bbscout.agent.runtime import RunResult
from bbscout.agent.service.problems import explain
from bbscout.agent.service.runner import Question, Runner
from bbscout.agent.service.store import Store, StoreUnavailable
from bbscout.agent.settings import ConfigError
from bbscout.agent.surfaces.config import IncidentSettings
from bbscout.agent.surfaces.incidents import Incident
from bbscout.agent.surfaces.slack_app import ProgressMessage, thread_id
from bbscout.agent.surfaces.slack_render import answer_blocks, error_blocks, fallback_text

__all__ = ["Investigation", "InvestigationStore", "Investigations"]

log = logging.getLogger("bbscout.incidents")

LEASE_SECONDS = 90.0  # renewed every third of it while the investigation runs
RETRY_SECONDS = 30.0  # after a store outage, the row waits this long before any replica retries it
MAX_ATTEMPTS = 3
FINISHED = ("done", "failed")

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS bbscout_investigations (
        id TEXT PRIMARY KEY, incident_key TEXT UNIQUE NOT NULL, incident TEXT NOT NULL, service TEXT,
        repos TEXT NOT NULL, connection TEXT, destination TEXT, status TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
        attempts INTEGER NOT NULL, lease_owner TEXT, lease_until DOUBLE PRECISION,
        thread_id TEXT, slack_root TEXT, document TEXT, error TEXT)""",
    "CREATE INDEX IF NOT EXISTS bbscout_investigations_queue ON bbscout_investigations (status, created_at)",
)
COLUMNS = (
    "id, incident_key, incident, service, repos, connection, destination, status, created_at, updated_at, "
    "attempts, lease_owner, lease_until, thread_id, slack_root, document, error"
)
# A row a worker may take: queued and not waiting out a retry delay, or running under a lapsed lease.
TAKEABLE = """((status = 'queued' AND (lease_until IS NULL OR lease_until < ?))
    OR (status = 'running' AND lease_until < ?))"""


@dataclass(frozen=True)
class Investigation:
    """A row of the table, as `GET /v1/investigations/{id}` shows it (`public`)."""

    id: str
    incident_key: str
    incident: dict[str, Any]
    service: str | None
    repos: list[str]
    connection: str | None
    destination: str | None
    status: str  # queued | running | done | failed
    created_at: float
    updated_at: float
    attempts: int
    lease_owner: str | None
    lease_until: float | None
    thread_id: str | None
    slack_root: str | None  # "CHANNEL TS" of the message on the incident, once posted
    document: dict[str, Any] | None
    error: str | None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Investigation:
        values = dict(zip(COLUMNS.split(", "), row, strict=True))
        values["incident"] = json.loads(values["incident"])
        values["repos"] = json.loads(values["repos"])
        values["document"] = json.loads(values["document"]) if values["document"] else None
        return cls(**values)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def as_incident(self) -> Incident:
        data = self.incident
        return Incident(
            provider=data["provider"],
            id=data["id"],
            title=data["title"],
            services=tuple(data["services"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            url=data.get("url"),
        )

    def public(self) -> dict[str, Any]:
        def iso(at: float) -> str:
            return datetime.fromtimestamp(at, UTC).isoformat()

        return {
            "id": self.id,
            "status": self.status,
            "incident": self.incident,
            "service": self.service,
            "repos": self.repos,
            "connection": self.connection,
            "destination": _shown(self.destination),
            "thread_id": self.thread_id,
            "attempts": self.attempts,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "error": self.error,
            "document": self.document,
        }


def _shown(destination: str | None) -> str | None:
    """Where the findings go, for API keys: a Slack channel, or a callback's origin (its path and query
    may carry the receiver's secret)."""
    if destination is None or destination.startswith("slack:"):
        return destination
    url = httpx.URL(destination)
    return f"callback {url.scheme}://{url.netloc.decode()}"


def incident_json(incident: Incident) -> dict[str, Any]:
    return {
        "provider": incident.provider,
        "id": incident.id,
        "title": incident.title,
        "services": list(incident.services),
        "started_at": incident.started_at.isoformat(),
        "url": incident.url,
    }


class InvestigationStore:
    """The investigations table, in the service's database (SQLite, or PostgreSQL shared by replicas).

    Every change of hands is one compare-and-set statement, so two replicas never both claim an
    incident or both take a row, and a worker that lost its lease cannot overwrite the one that took it.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    async def setup(self) -> None:
        for statement in SCHEMA:
            await self.store.execute(statement)

    async def claim(
        self,
        incident: Incident,
        service: str | None,
        repos: list[str],
        connection: str | None,
        destination: str | None,
    ) -> tuple[Investigation, bool]:
        """The incident's investigation, and whether this call created it (False: a redelivery)."""
        now = self.store.clock()
        created = await self.store.execute(
            f"INSERT INTO bbscout_investigations ({COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, 0, NULL, NULL, NULL, NULL, NULL, NULL) "
            f"ON CONFLICT (incident_key) DO NOTHING RETURNING {COLUMNS}",
            (
                f"inv_{secrets.token_hex(10)}",
                incident.key,
                json.dumps(incident_json(incident)),
                service,
                json.dumps(repos),
                connection,
                destination,
                now,
                now,
            ),
        )
        if created:
            return Investigation.from_row(created[0]), True
        rows = await self.store.execute(
            f"SELECT {COLUMNS} FROM bbscout_investigations WHERE incident_key = ?", (incident.key,)
        )
        return Investigation.from_row(rows[0]), False

    async def get(self, investigation_id: str) -> Investigation | None:
        rows = await self.store.execute(
            f"SELECT {COLUMNS} FROM bbscout_investigations WHERE id = ?", (investigation_id,)
        )
        return Investigation.from_row(rows[0]) if rows else None

    async def take(self, owner: str, lease: float = LEASE_SECONDS) -> Investigation | None:
        """The oldest row a worker may run, now leased to `owner`; None when there is none."""
        now = self.store.clock()
        candidates = await self.store.execute(
            f"SELECT {COLUMNS} FROM bbscout_investigations WHERE {TAKEABLE} ORDER BY created_at LIMIT 16",
            (now, now),
        )
        for row in map(Investigation.from_row, candidates):
            if row.attempts >= MAX_ATTEMPTS:
                await self.store.execute(
                    "UPDATE bbscout_investigations SET status = 'failed', error = ?, updated_at = ? "
                    f"WHERE id = ? AND {TAKEABLE}",
                    (
                        f"abandoned after {row.attempts} attempts: {row.error or 'the worker stopped'}",
                        now,
                        row.id,
                        now,
                        now,
                    ),
                )
                continue
            taken = await self.store.execute(
                "UPDATE bbscout_investigations SET status = 'running', lease_owner = ?, lease_until = ?, "
                f"attempts = attempts + 1, updated_at = ? WHERE id = ? AND {TAKEABLE} RETURNING id",
                (owner, now + lease, now, row.id, now, now),
            )
            if taken:
                return replace(row, status="running", lease_owner=owner, attempts=row.attempts + 1)
        return None

    async def renew(self, investigation_id: str, owner: str, lease: float = LEASE_SECONDS) -> bool:
        rows = await self.store.execute(
            "UPDATE bbscout_investigations SET lease_until = ? "
            "WHERE id = ? AND lease_owner = ? AND status = 'running' RETURNING id",
            (self.store.clock() + lease, investigation_id, owner),
        )
        return bool(rows)

    async def note(self, investigation_id: str, owner: str, **values: str) -> None:
        """Record where the findings go (`thread_id`, `slack_root`) while the lease is `owner`'s."""
        columns = ", ".join(f"{k} = ?" for k in values)
        await self.store.execute(
            f"UPDATE bbscout_investigations SET {columns}, updated_at = ? WHERE id = ? AND lease_owner = ?",
            (*values.values(), self.store.clock(), investigation_id, owner),
        )

    async def finish(
        self,
        investigation_id: str,
        owner: str,
        status: str,
        document: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """Done or failed, if the lease is still `owner`'s (else another worker has the row now)."""
        rows = await self.store.execute(
            "UPDATE bbscout_investigations SET status = ?, document = ?, error = ?, lease_owner = NULL, "
            "lease_until = NULL, updated_at = ? WHERE id = ? AND lease_owner = ? AND status = 'running' "
            "RETURNING id",
            (
                status,
                json.dumps(document) if document is not None else None,
                error,
                self.store.clock(),
                investigation_id,
                owner,
            ),
        )
        return bool(rows)

    async def release(self, investigation_id: str, owner: str, delay: float, error: str | None) -> None:
        """Back to the queue, to be taken by any replica after `delay` seconds."""
        now = self.store.clock()
        await self.store.execute(
            "UPDATE bbscout_investigations SET status = 'queued', lease_owner = NULL, lease_until = ?, "
            "error = ?, updated_at = ? WHERE id = ? AND lease_owner = ? AND status = 'running'",
            (now + delay if delay else None, error, now, investigation_id, owner),
        )


class Investigations:
    """This process's workers: each takes a row, runs the investigation, delivers it, and takes the next."""

    def __init__(
        self,
        rows: InvestigationStore,
        runner: Runner,
        settings: IncidentSettings,
        *,
        slack: AsyncWebClient | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.rows, self.runner, self.settings = rows, runner, settings
        self.slack, self.http = slack, http or httpx.AsyncClient(timeout=30)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._wake = asyncio.Event()
        self._finished: weakref.WeakValueDictionary[str, asyncio.Event] = weakref.WeakValueDictionary()
        self._workers: list[asyncio.Task[None]] = []
        self._team: str | None = None
        self.active = 0
        self.peak = 0  # the most investigations this process ran at once (the bound, measured)

    # the webhook side ----------------------------------------------------------------------------
    async def submit(self, incident: Incident) -> tuple[Investigation, bool]:
        """Claim the incident; the first time only, wake a worker (of this replica) to run it."""
        service, route = self.settings.route(list(incident.services))
        channel = route.slack_channel or (None if route.callback_url else self.settings.slack_channel)
        callback = route.callback_url or (None if channel else self.settings.callback_url)
        destination = f"slack:{channel}" if channel else callback
        connection = self.settings.connection_for(incident.provider, route)
        investigation, created = await self.rows.claim(
            incident, service, route.repos, connection, destination
        )
        if created:
            self._wake.set()
        return investigation, created

    async def wait(self, investigation_id: str, seconds: float) -> Investigation | None:
        """The investigation once finished, or as it is after `seconds` (a long poll for the status API).

        A run on this replica wakes the waiter at once; one on another replica is seen within a second.
        """
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            found = await self.rows.get(investigation_id)
            left = deadline - asyncio.get_running_loop().time()
            if found is None or found.finished or left <= 0:
                return found
            event = self._finished.get(investigation_id) or asyncio.Event()
            self._finished[investigation_id] = event  # held by this waiter while it waits
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(left, 1.0))

    # the workers ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._workers = [asyncio.create_task(self._work()) for _ in range(self.settings.concurrency)]

    async def close(self) -> None:
        """Stop the workers; a row they were running goes back to the queue for another replica."""
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        await self.http.aclose()

    async def _work(self) -> None:
        while True:
            self._wake.clear()
            try:
                row = await self.rows.take(self.owner)
                if row is not None:
                    await self._run(row)
                    continue
            except StoreUnavailable as exc:
                log.warning("cannot take investigations: %s", exc)
            except (
                Exception
            ):  # a worker outlives any one failure; a row it held is retried when its lease lapses
                log.exception("investigation worker failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_seconds)

    async def _run(self, row: Investigation) -> None:
        self.active += 1
        self.peak = max(self.peak, self.active)
        renewing = asyncio.create_task(self._renew(row.id))
        try:
            result = await self._deliver(row)
        except asyncio.CancelledError:
            await asyncio.shield(self._release(row, 0.0, None))
            raise
        except StoreUnavailable as exc:
            await self._release(row, RETRY_SECONDS, str(exc))
        except Exception as exc:
            message = explain(exc)
            if isinstance(exc, httpx.HTTPError | SlackApiError):
                message = f"the findings could not be delivered: {exc}"
            if message is None:
                log.exception("investigation %s failed", row.id)
                message = f"internal error: {type(exc).__name__}"
            await self._finish(row, "failed", error=message)
        else:
            await self._finish(row, "done", document=result.document)
        finally:
            renewing.cancel()
            self.active -= 1

    async def _renew(self, investigation_id: str) -> None:
        while True:
            await asyncio.sleep(LEASE_SECONDS / 3)
            try:
                if not await self.rows.renew(investigation_id, self.owner):
                    log.warning("investigation %s: lease lost to another worker", investigation_id)
                    return
            except StoreUnavailable as exc:
                log.warning("investigation %s: lease not renewed: %s", investigation_id, exc)

    async def _finish(self, row: Investigation, status: str, **values: Any) -> None:
        with contextlib.suppress(StoreUnavailable):  # else the lease lapses and another worker retries
            await self.rows.finish(row.id, self.owner, status, **values)
        waiting = self._finished.get(row.id)
        if waiting is not None:
            waiting.set()

    async def _release(self, row: Investigation, delay: float, error: str | None) -> None:
        with contextlib.suppress(StoreUnavailable):
            await self.rows.release(row.id, self.owner, delay, error)

    # delivery ------------------------------------------------------------------------------------
    def _question(self, incident: Incident, route_repos: list[str]) -> Question:
        symptom = (
            incident.title if not incident.services else f"{incident.title} (service {incident.services[0]})"
        )
        return Question(
            symptom[:1900],
            mode="investigate",
            at=incident.started_at,
            now=max(incident.started_at, self.runner.clock()),
            repos=tuple(route_repos) or None,
        )

    async def _deliver(self, row: Investigation) -> RunResult:
        incident = row.as_incident()
        destination = row.destination or ""
        if destination.startswith("slack:"):
            if self.slack is None:
                raise ConfigError(
                    f"The findings go to Slack channel {destination[6:]}, but the Slack app has no bot "
                    "token: set SLACK_BOT_TOKEN (xoxb-…) or [slack] bot_token."
                )
            return await self._to_slack(row, incident, destination[6:])
        if destination:
            thread, resolved = await self.runner.shared_thread(
                f"incident:{row.id}", f"Incident: {incident.title}", row.connection
            )
            await self.rows.note(row.id, self.owner, thread_id=thread.id)
            result = await self.runner.ask(self._question(incident, row.repos), resolved, thread=thread)
            await self._to_callback(destination, row, incident, result)
            return result
        raise ConfigError(
            "No destination for the findings: set [incidents] slack_channel (with the Slack app configured) "
            "or callback_url, or one on the service in [incidents.services.NAME]."
        )

    async def _to_slack(self, row: Investigation, incident: Incident, channel: str) -> RunResult:
        """A message on the incident, and in its thread one progress message that becomes the findings."""
        assert self.slack is not None
        if self._team is None:
            self._team = str((await self.slack.auth_test())["team_id"])
        if row.slack_root:  # a retry after a worker stopped: the incident's message is already there
            channel, root_ts = row.slack_root.split(" ")
        else:
            where = (
                f" — {neutralize.slack_link(incident.url, 'open in ' + incident.provider)}"
                if incident.url
                else ""
            )
            root = await self.slack.chat_postMessage(
                channel=channel,
                text=f":rotating_light: *{neutralize.slack(incident.title)}* "
                f"(since {incident.started_at:%H:%M} UTC){where}",
                unfurl_links=False,
                unfurl_media=False,
            )
            root_ts = str(root["ts"])
            await self.rows.note(row.id, self.owner, slack_root=f"{channel} {root_ts}")
        thread, resolved = await self.runner.shared_thread(
            thread_id(self._team, channel, root_ts), f"Incident: {incident.title}", row.connection
        )
        await self.rows.note(row.id, self.owner, thread_id=thread.id)
        posted = await self.slack.chat_postMessage(channel=channel, thread_ts=root_ts, text="Investigating…")
        progress = ProgressMessage(self.slack, channel, str(posted["ts"]))
        try:
            result = await self.runner.ask(
                self._question(incident, row.repos), resolved, on_event=progress.add, thread=thread
            )
        except Exception as exc:
            message = explain(exc) or "The investigation failed inside bbscout (a bug; it is logged)."
            await progress.finish(error_blocks(message), neutralize.slack(message)[:300])
            raise
        await progress.finish(answer_blocks(result), fallback_text(result))
        return result

    async def _to_callback(self, url: str, row: Investigation, incident: Incident, result: RunResult) -> None:
        body = json.dumps(
            {
                "investigation": row.id,
                "incident": incident_json(incident),
                "thread_id": f"incident:{row.id}",
                "document": result.document,
            }
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self.settings.callback_secret is not None:
            digest = hmac.new(self.settings.callback_secret.get_secret_value().encode(), body, hashlib.sha256)
            headers["X-Bbscout-Signature"] = f"sha256={digest.hexdigest()}"
        response = await self.http.post(url, content=body, headers=headers)
        response.raise_for_status()
