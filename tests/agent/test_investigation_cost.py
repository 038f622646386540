"""What an investigation costs (issue 12): a single-service incident within 60 requests, and the same incident
investigated again, with the shared store, re-reads only what can change: each listing once, and pull
requests still open. Completed deployments, closed PRs, diffstats, commits and completed pipelines with their
steps, logs and test reports come from the store."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from pydantic import SecretStr

from bbscout.agent.runtime import open_session
from bbscout.agent.settings import Settings
from bbscout.sandbox.app import SandboxSettings, create_app
from bbscout.sandbox.world import build_world
from bbscout.tools.bitbucket import BasicAuth, BitbucketClient
from bbscout.tools.bitbucket._sqlite_store import SqliteStore

ANCHOR = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
NOW = ANCHOR + timedelta(minutes=20)
COLD_LIMIT = 60  # issue 12: a single-service investigation on the default world
LISTINGS = re.compile(
    r"/repositories/acme\?|/(environments|deployments)/\?|/(pullrequests|pipelines)\?"
)  # the collections an investigation reads; everything else it reads is an object or between hashes
OPEN_PR = re.compile(r"/repositories/acme/([\w.-]+)/pullrequests/(\d+)\?")


@pytest.fixture(scope="module")
def world() -> Any:
    return build_world("default", seed=7, anchor=ANCHOR)


async def investigate(app: Any, world: Any, store: SqliteStore, scenario: Any) -> tuple[dict[str, Any], int]:
    token = world.token("demo")
    client = BitbucketClient(
        workspace="acme",
        auth=BasicAuth(token.email or "", SecretStr(token.secret)),
        base_url="http://sandbox.local/2.0",
        transport=httpx.ASGITransport(app=app),
        store=store,
    )
    settings = Settings(workspace=None, api_token=None, access_token=None, openai_api_key=None)
    async with open_session(settings, planner="rules", now=NOW, client=client) as session:
        await session.check_access(None)
        result = await session.ask(scenario.symptom, now=NOW, mode="investigate", incident_at=scenario.at)
    await store.aclose()
    return result.document, client.stats.requests


def still_open(world: Any, path: str) -> bool:
    found = OPEN_PR.search(path)
    if found is None:
        return False
    pr = world.repos[found.group(1)].pullrequests[int(found.group(2))]
    return bool(pr["state"] == "OPEN")


@pytest.mark.parametrize(
    "name", ["config_change_incident", "broken_main_build", "dependency_bump", "flaky_test"]
)
async def test_the_same_incident_again_rereads_each_listing_once_and_nothing_settled(
    world: Any, name: str, tmp_path: Path
) -> None:
    scenario = world.scenarios[name]
    app = create_app(world, SandboxSettings())
    cache = tmp_path / "cache.sqlite"
    cold, cold_requests = await investigate(app, world, SqliteStore(cache), scenario)
    first = len(app.state.request_log)
    a_minute_later = SqliteStore(cache, clock=lambda: time.time() + 60)  # no listing shared any more
    warm, warm_requests = await investigate(app, world, a_minute_later, scenario)

    assert cold_requests <= COLD_LIMIT
    assert warm["entities"] == cold["entities"] and warm["answer"] == cold["answer"]
    paths = [unquote(path) for _, path, _ in app.state.request_log[first:]]
    assert len(paths) == warm_requests
    assert [p for p in paths if not LISTINGS.search(p) and not still_open(world, p)] == []
    assert [p for p, n in Counter(paths).items() if n > 1] == [], "each listing read once"
    assert warm_requests < cold_requests
