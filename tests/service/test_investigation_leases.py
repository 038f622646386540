"""The investigations table's hand-offs, on SQLite and on a real PostgreSQL: a claim is made once, a row is
run by one worker at a time, a lapsed lease passes to another worker, and a row is given up after three."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bbscout.agent.service.store import open_store
from bbscout.agent.surfaces.incidents import Incident
from bbscout.agent.surfaces.investigations import LEASE_SECONDS, MAX_ATTEMPTS, InvestigationStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def incident(number: int) -> Incident:
    started = datetime(2026, 11, 29, 13, 5, tzinfo=UTC)
    return Incident("pagerduty", f"PLEASE{number}", "Checkout 504s", ("checkout",), started)


def fresh_database(server_url: str, name: str) -> str:
    """A database of its own on the session's PostgreSQL, so other tests' rows are not in the queue."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgres"])
async def rows(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[InvestigationStore, Clock]]:
    url = None
    if request.param == "postgres":
        url = fresh_database(request.getfixturevalue("postgres").url, f"leases_{request.node.name[:40]}")
    clock = Clock()
    async with open_store(url, tmp_path) as store:
        store.clock = clock
        table = InvestigationStore(store)
        await table.setup()
        yield table, clock


async def claimed(table: InvestigationStore, number: int) -> Any:
    row, created = await table.claim(incident(number), "checkout", ["checkout-service"], None, "slack:C0")
    return row, created


async def test_a_claim_is_made_once_and_a_row_runs_on_one_worker_at_a_time(
    rows: tuple[InvestigationStore, Clock],
) -> None:
    table, clock = rows
    first, created = await claimed(table, 1)
    again, created_again = await claimed(table, 1)
    assert created and not created_again and again.id == first.id and again.status == "queued"
    taken = await table.take("replica-a")
    assert taken is not None and taken.id == first.id and taken.attempts == 1
    assert await table.take("replica-b") is None  # leased: nobody else runs it
    clock.now += LEASE_SECONDS / 2
    assert await table.renew(first.id, "replica-a")
    clock.now += LEASE_SECONDS * 0.9
    assert await table.take("replica-b") is None  # renewed, so still replica-a's
    assert await table.finish(first.id, "replica-a", "done", document={"answer": "ok"})
    done = await table.get(first.id)
    assert done is not None and done.status == "done" and done.document == {"answer": "ok"}
    assert await table.take("replica-b") is None


async def test_a_lapsed_lease_passes_to_another_worker_and_the_old_one_cannot_finish(
    rows: tuple[InvestigationStore, Clock],
) -> None:
    table, clock = rows
    row, _ = await claimed(table, 2)
    assert (await table.take("replica-a")) is not None
    clock.now += LEASE_SECONDS + 1  # replica-a died without a word
    resumed = await table.take("replica-b")
    assert resumed is not None and resumed.id == row.id and resumed.attempts == 2
    assert not await table.finish(row.id, "replica-a", "done", document={})  # too late
    assert not await table.renew(row.id, "replica-a")
    await table.note(row.id, "replica-b", slack_root="C0 1764430000.000001")
    assert await table.finish(row.id, "replica-b", "failed", error="Bitbucket said no")
    failed = await table.get(row.id)
    assert failed is not None and failed.status == "failed" and failed.slack_root == "C0 1764430000.000001"


async def test_a_released_row_waits_out_its_delay_and_is_given_up_after_three_attempts(
    rows: tuple[InvestigationStore, Clock],
) -> None:
    table, clock = rows
    row, _ = await claimed(table, 3)
    assert await table.take("replica-a") is not None
    await table.release(row.id, "replica-a", 30.0, "PostgreSQL is unavailable")
    assert await table.take("replica-b") is None  # not before the delay
    clock.now += 31
    for attempt in range(2, MAX_ATTEMPTS + 1):
        taken = await table.take("replica-b")
        assert taken is not None and taken.attempts == attempt
        clock.now += LEASE_SECONDS + 1
    assert await table.take("replica-c") is None  # three attempts: given up, not run a fourth time
    gave_up = await table.get(row.id)
    assert gave_up is not None and gave_up.status == "failed"
    assert gave_up.error is not None and gave_up.error.startswith("abandoned after 3 attempts")


async def test_concurrent_workers_each_take_a_different_row(rows: tuple[InvestigationStore, Clock]) -> None:
    table, _ = rows
    for number in range(10, 16):
        await claimed(table, number)
    taken = await asyncio.gather(*(table.take(f"worker-{n}") for n in range(8)))
    ids = [row.id for row in taken if row is not None]
    assert len(ids) == 6 and len(set(ids)) == 6  # six rows, six workers busy, two idle, none doubled
