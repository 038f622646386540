"""Incidents end to end through `bbscout serve` processes: a PagerDuty webhook's findings reach the fake Slack
thread and the status API; the thread is followed up from Slack and from the API; and on two replicas
sharing one PostgreSQL, a redelivery is investigated once and a flood is shared at bounded concurrency."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from bbscout.sandbox.server import LoopbackServer
from tests.service.conftest import NOW, OPS, PRODUCTION, Env, api_keys, auth
from tests.service.replicas import Replica, replica_env
from tests.surfaces.fake_slack import SIGNING_SECRET, TEAM, FakeSlack, sign
from tests.surfaces.incident_payloads import (
    AM_TOKEN,
    INCIDENTS,
    PD_SECRET,
    SYMPTOM,
    Callbacks,
    alertmanager_body,
    pagerduty_body,
    signed,
)

CULPRIT = "<https://bitbucket.org/acme/checkout-service/pull-requests/68|pr:checkout-service#68>"
FOLLOW_UP = "show me the diff of the first suspect"
FLOOD = 40  # alerts across the replicas (the 100-alert flood on one process: tests/surfaces/test_webhooks.py)


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    with LoopbackServer(fake.app) as server:
        fake.api_url = f"{server.origin}/api/"  # type: ignore[attr-defined]
        yield fake


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Callbacks, str]]:
    callbacks = Callbacks()
    with LoopbackServer(callbacks.app) as server:
        yield callbacks, f"{server.origin}/hook"


@pytest.fixture(scope="module")
def integrations(
    env: Env, slack: FakeSlack, receiver: tuple[Callbacks, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The session's saved connections plus `[slack]` and `[incidents]`; the secrets in the environment."""
    path = tmp_path_factory.mktemp("incidents") / "config.toml"
    tables = f"""
[slack]
allowed_teams = ["{TEAM}"]
allowed_channels = ["C0ONCALL"]
progress_seconds = 0

[incidents]
concurrency = 2
poll_seconds = 0.5
slack_channel = "{INCIDENTS}"
connections = {{ pagerduty = "{PRODUCTION}" }}

[incidents.services.checkout]
repos = ["checkout-service"]
aliases = ["PCHKOUT", "checkout-api"]

[incidents.services.flood]
repos = ["checkout-service"]
aliases = ["flood-api"]
callback_url = "{receiver[1]}"
connection = "{OPS}"
"""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(env.config.read_text(encoding="utf-8") + tables)
    return env.variables() | {
        "BBSCOUT_CONFIG": str(path),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,  # type: ignore[attr-defined]
        "BBSCOUT_PAGERDUTY_SECRET": PD_SECRET,
        "BBSCOUT_ALERTMANAGER_TOKEN": AM_TOKEN,
    }


def keys() -> dict[str, object]:
    return {name: key.model_dump() for name, key in api_keys().items()}


@pytest.fixture(scope="module")
def single(integrations: dict[str, str], env: Env) -> Iterator[str]:
    """One `bbscout serve` on its own SQLite store (the default), asking at the world's hour."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BITBUCKET_", "OPENAI_", "BBSCOUT_", "SLACK_"))
    }
    variables = integrations | {
        "BBSCOUT_DATA_DIR": str(env.root / "single"),
        "BBSCOUT_API_KEYS": json.dumps(keys()),
    }
    replica = Replica(
        base | variables | {"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}, "--now", NOW
    )
    try:
        yield replica.origin
    finally:
        replica.stop()


@pytest.fixture(scope="module")
def pair(
    integrations: dict[str, str], env: Env, postgres: Any, redis_server: Any
) -> Iterator[tuple[str, str]]:
    """Two `bbscout serve` replicas on one PostgreSQL and one Redis."""
    started = [
        Replica(
            replica_env(integrations, env.root / f"incidents-{n}", postgres.url, redis_server.url, keys()),
            "--now",
            NOW,
        )
        for n in "ab"
    ]
    try:
        yield started[0].origin, started[1].origin
    finally:
        for replica in started:
            replica.stop()


def deliver(origin: str, provider: str, body: dict[str, Any]) -> dict[str, Any]:
    raw, headers = signed(provider, body)
    response = httpx.post(f"{origin}/v1/webhooks/{provider}", content=raw, headers=headers, timeout=30)
    assert response.status_code == 202, response.text
    [accepted] = response.json()["investigations"]
    return accepted  # type: ignore[no-any-return]


def finished(origin: str, url: str) -> dict[str, Any]:
    """The investigation once done or failed (the status API's long poll)."""
    response = httpx.get(f"{origin}{url}", params={"wait": 60}, headers=auth(), timeout=90)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def roots_for(slack: FakeSlack, incident_id: str) -> list[Any]:
    return [m for m in list(slack.messages.values()) if m.thread_ts is None and incident_id in m.text]


def test_a_pagerduty_webhook_to_bbscout_serve_reaches_slack_and_the_status_api(
    single: str, slack: FakeSlack
) -> None:
    accepted = deliver(single, "pagerduty", pagerduty_body("PE2E0001"))
    assert accepted["duplicate"] is False
    unauthorized = httpx.get(f"{single}{accepted['url']}", timeout=30)
    assert (
        unauthorized.status_code == 401 and unauthorized.headers["content-type"] == "application/problem+json"
    )
    investigation = finished(single, accepted["url"])
    assert investigation["status"] == "done", investigation
    assert investigation["connection"] == PRODUCTION and investigation["repos"] == ["checkout-service"]
    [first] = [f for f in investigation["document"]["findings"] if f["title"].startswith("Suspect #1")]
    assert "pr:checkout-service#68" in first["title"]
    [root] = roots_for(slack, "PE2E0001")
    assert SYMPTOM in root.text and root.channel == INCIDENTS
    [findings] = slack.thread(INCIDENTS, root.ts)
    assert CULPRIT in json.dumps(findings.shown["blocks"])
    assert investigation["thread_id"] == f"slack:{TEAM}:{INCIDENTS}:{root.ts}"


def test_the_incident_thread_is_followed_up_from_slack_and_from_the_api(
    single: str, slack: FakeSlack
) -> None:
    investigation = finished(single, deliver(single, "pagerduty", pagerduty_body("PE2E0002"))["url"])
    [root] = roots_for(slack, "PE2E0002")
    reply = {"type": "message", "user": "U0ALICE", "text": FOLLOW_UP, "ts": f"{root.ts}9"}
    event = {"type": "event_callback", "team_id": TEAM, "event_id": "EvE2E0002", "event_time": 1}
    event |= {"event": reply | {"thread_ts": root.ts, "channel": INCIDENTS, "channel_type": "channel"}}
    raw = json.dumps(
        event | {"authorizations": [{"team_id": TEAM, "user_id": "U0BOT", "is_bot": True}]}
    ).encode()
    posted = httpx.post(
        f"{single}/slack/events", content=raw, headers={"Content-Type": "application/json", **sign(raw)}
    )
    assert posted.status_code == 200

    def answered() -> bool:  # the findings, then the follow-up's message once it is no longer progress
        thread = slack.thread(INCIDENTS, root.ts)
        return len(thread) == 2 and thread[1].shown["text"] != "Looking into it…"

    slack.wait_for(answered)
    follow = slack.thread(INCIDENTS, root.ts)[1]
    assert CULPRIT in json.dumps(follow.shown["blocks"])  # the follow-up saw the investigation's suspects
    path = f"/v1/threads/{quote(investigation['thread_id'], safe='')}"
    api = httpx.post(f"{single}{path}/messages", json={"question": FOLLOW_UP}, headers=auth(), timeout=90)
    assert api.status_code == 200, api.text
    first, *changed = [e["ref"] for e in api.json()["document"]["entities"]]
    assert first == "pr:checkout-service#68"  # the diff of the top suspect: the PR, then the files it changed
    assert changed and all(ref.startswith("file:checkout-service:") for ref in changed)
    thread = httpx.get(f"{single}{path}", headers=auth(), timeout=30).json()
    assert thread["shared"] is True and thread["connection"] == PRODUCTION
    assert [m["question"] for m in thread["messages"]][1:] == [FOLLOW_UP, FOLLOW_UP] and thread["turns"] == 3


def test_a_redelivery_to_replica_b_after_replica_a_claimed_it_is_investigated_once(
    pair: tuple[str, str], slack: FakeSlack
) -> None:
    a, b = pair
    on_a = deliver(a, "pagerduty", pagerduty_body("PREPLICA1"))
    on_b = deliver(b, "pagerduty", pagerduty_body("PREPLICA1"))
    assert on_a["duplicate"] is False and on_b["duplicate"] is True and on_a["id"] == on_b["id"]
    with ThreadPoolExecutor(2) as pool:  # the same incident at both replicas at once: one claim wins
        raced = list(pool.map(lambda origin: deliver(origin, "pagerduty", pagerduty_body("PREPLICA2")), pair))
    assert sorted(r["duplicate"] for r in raced) == [False, True] and raced[0]["id"] == raced[1]["id"]
    for accepted, origin in ((on_a, b), (raced[0], a)):
        investigation = finished(origin, accepted["url"])
        assert investigation["status"] == "done" and investigation["attempts"] == 1, investigation
    again = deliver(b, "pagerduty", pagerduty_body("PREPLICA1"))  # after it finished, still the same one
    assert again == on_b | {"status": "done"}
    assert len(roots_for(slack, "PREPLICA1")) == len(roots_for(slack, "PREPLICA2")) == 1


def test_a_flood_at_one_replica_is_shared_by_both_at_bounded_concurrency(
    pair: tuple[str, str], receiver: tuple[Callbacks, str]
) -> None:
    a, b = pair
    callbacks, _ = receiver
    before = len(callbacks.received)
    with ThreadPoolExecutor(16) as pool:
        accepted = list(
            pool.map(
                lambda i: deliver(
                    a, "alertmanager", alertmanager_body(group=f"flood-{i}", service="flood-api")
                ),
                range(FLOOD),
            )
        )
    callbacks.wait_for(before + FLOOD)
    rows = [finished(b, each["url"]) for each in accepted]
    assert all(row["status"] == "done" for row in rows), [r["error"] for r in rows if r["status"] != "done"]
    assert {row["connection"] for row in rows} == {OPS}  # the service's own connection
    delivered = [json.loads(body)["investigation"] for body, _ in callbacks.received[before:]]
    assert sorted(delivered) == sorted(row["id"] for row in rows)  # each once, none lost
    workers = [httpx.get(f"{origin}/readyz").json()["investigations"] for origin in pair]
    assert all(1 <= w["peak"] <= w["workers"] == 2 for w in workers), workers  # B took from A's queue
    assert re.fullmatch(r"inv_[0-9a-f]{20}", rows[0]["id"])
