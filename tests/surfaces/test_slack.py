"""The Slack app over real HTTP (signed Events API requests) and a Socket Mode websocket, against a fake
Slack Web API (`slack_sdk` pointed at it by base URL) and the sandbox Bitbucket API on loopback."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import SecretStr
from starlette.applications import Starlette

from bbscout.agent.settings import Settings
from bbscout.agent.surfaces.asker import Asker
from bbscout.agent.surfaces.config import SlackSettings
from bbscout.agent.surfaces.slack_app import build_app, events_route, run_socket_mode
from bbscout.sandbox.server import LoopbackServer
from tests.surfaces.conftest import NOW, root_of
from tests.surfaces.fake_slack import BOT_USER, SIGNING_SECRET, TEAM, FakeSlack, Message, sign

CHANNEL, OTHER_CHANNEL, USER = "C0ONCALL", "C0RANDOM", "U0ALICE"


@pytest.fixture
def slack_settings(fake: FakeSlack) -> SlackSettings:
    return SlackSettings(
        bot_token=SecretStr("xoxb-test"),
        signing_secret=SecretStr(SIGNING_SECRET),
        app_token=SecretStr("xapp-test"),
        api_url=fake.api_url,  # type: ignore[attr-defined]
        allowed_teams=[TEAM],
        allowed_channels=[CHANNEL],
    )


@pytest.fixture
def asker(bitbucket: Settings) -> Asker:
    return Asker(
        bitbucket, planner="rules", checkpointer=InMemorySaver(), clock=lambda: datetime.fromisoformat(NOW)
    )


@pytest.fixture
def app_url(slack_settings: SlackSettings, asker: Asker) -> Iterator[str]:
    """The bolt app's Events API endpoint served by uvicorn on loopback."""
    app = Starlette(routes=[events_route(build_app(slack_settings, asker, min_interval=0))])
    with LoopbackServer(app) as server:
        yield f"{root_of(server)}/slack/events"


_event_ids = iter(range(1, 10_000))


def event_body(event: dict[str, Any], team: str = TEAM) -> dict[str, Any]:
    return {
        "token": "legacy",
        "team_id": team,
        "api_app_id": "A0BBSCOUT",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{next(_event_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team, "user_id": BOT_USER, "is_bot": True}],
    }


def mention(text: str, ts: str, channel: str = CHANNEL, thread_ts: str | None = None) -> dict[str, Any]:
    event = {
        "type": "app_mention",
        "user": USER,
        "text": f"<@{BOT_USER}> {text}",
        "ts": ts,
        "channel": channel,
    }
    return event | ({"thread_ts": thread_ts} if thread_ts else {}) | {"event_ts": ts}


async def post_event(url: str, body: dict[str, Any], **sign_args: Any) -> httpx.Response:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **sign(raw, **sign_args)}
    async with httpx.AsyncClient() as client:
        return await client.post(url, content=raw, headers=headers)


def answered(fake: FakeSlack, channel: str, thread_ts: str, count: int = 1) -> list[Message]:
    """Wait until `count` messages in the thread show an answer (their last update is not progress)."""

    def done() -> bool:
        shown = [m.shown for m in fake.thread(channel, thread_ts)]
        return len(shown) >= count and all(s["text"] != "Looking into it…" for s in shown)

    fake.wait_for(done)
    return fake.thread(channel, thread_ts)


def blocks_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


async def wait_answered(fake: FakeSlack, channel: str, thread_ts: str, count: int = 1) -> list[Message]:
    return await asyncio.to_thread(answered, fake, channel, thread_ts, count)


async def test_a_mention_is_answered_in_its_thread_by_one_updated_message(
    app_url: str, fake: FakeSlack
) -> None:
    response = await post_event(
        app_url, event_body(mention("What pipelines failed in the last 24 hours?", "100.1"))
    )
    assert response.status_code == 200
    [message] = await wait_answered(fake, CHANNEL, "100.1")
    assert len(fake.calls_of("chat.postMessage")) == 1  # one message for the whole run
    assert {u["ts"] for u in fake.calls_of("chat.update")} == {message.ts}
    progress, final = message.updates[:-1], message.updates[-1]
    assert progress and all(u["text"] == "Looking into it…" for u in progress)
    assert any("list_pipelines" in blocks_text(u["blocks"]) for u in progress)
    shown = blocks_text(final["blocks"])
    assert "5 failed pipelines" in shown
    for build in ("mobile-app/pipelines/results/186", "api-gateway/pipelines/results/283"):
        assert f"<https://bitbucket.org/acme/{build}|pipeline:" in shown  # every ref a link
    assert final["blocks"][-1]["type"] == "context" and "Bitbucket requests" in shown


async def test_a_follow_up_in_the_thread_keeps_context(app_url: str, fake: FakeSlack) -> None:
    await post_event(app_url, event_body(mention("What pipelines failed in the last 24 hours?", "200.1")))
    [first] = await wait_answered(fake, CHANNEL, "200.1")
    listed = re.findall(r"\|(pipeline:[^>]+)>", blocks_text(first.shown["blocks"]))
    reply = {"type": "message", "user": USER, "text": "show me the log of the second one", "ts": "200.5"}
    await post_event(
        app_url, event_body(reply | {"thread_ts": "200.1", "channel": CHANNEL, "channel_type": "channel"})
    )
    first, second = await wait_answered(fake, CHANNEL, "200.1", count=2)
    shown = blocks_text(second.shown["blocks"])
    assert listed[1] in shown, (listed, shown[:500])
    assert "Step" in shown or "step" in shown


async def test_a_thread_reply_that_could_mean_several_asks_which_then_binds_the_pick(
    app_url: str, fake: FakeSlack
) -> None:
    """ "why did it fail?" after five failures asks which (listing them), and "the second one" then binds
    among the candidates it listed: the referents travel with the Slack thread."""
    await post_event(app_url, event_body(mention("failed builds in the last 24 hours", "210.1")))
    [first] = await wait_answered(fake, CHANNEL, "210.1")
    listed = re.findall(r"\|(pipeline:[^>]+)>", blocks_text(first.shown["blocks"]))
    for n, text in enumerate(("why did it fail?", "who triggered the second one?"), 1):
        reply = {"type": "message", "user": USER, "text": text, "ts": f"210.{n + 1}"}
        await post_event(
            app_url, event_body(reply | {"thread_ts": "210.1", "channel": CHANNEL, "channel_type": "channel"})
        )
        await wait_answered(fake, CHANNEL, "210.1", count=n + 1)
    _, which, picked = fake.thread(CHANNEL, "210.1")
    asked = blocks_text(which.shown["blocks"])
    assert "Which one do you mean" in asked and all(ref in asked for ref in listed)
    shown = blocks_text(picked.shown["blocks"])
    assert listed[1] in shown and all(ref not in shown for ref in listed if ref != listed[1])


async def test_a_request_to_act_is_shown_as_refused(app_url: str, fake: FakeSlack) -> None:
    await post_event(
        app_url, event_body(mention("can you roll back payments-service in production?", "150.1"))
    )
    [message] = await wait_answered(fake, CHANNEL, "150.1")
    final = message.updates[-1]
    first = final["blocks"][0]["text"]["text"]
    assert first.startswith(":no_entry_sign: *bbscout is read-only, so I did not roll back payments-service")
    assert final["text"].startswith(":no_entry_sign: bbscout is read-only")  # the notification says it too
    shown = blocks_text(final["blocks"])
    assert "<https://bitbucket.org/acme/payments-service/deployments?deployment=" in shown  # cited, linked
    assert "Redeploy" in shown


async def test_a_reply_in_a_thread_bbscout_never_answered_is_ignored(app_url: str, fake: FakeSlack) -> None:
    reply = {"type": "message", "user": USER, "text": "anyone?", "ts": "300.5", "thread_ts": "300.1"}
    stranger = event_body(reply | {"channel": CHANNEL, "channel_type": "channel"})
    await post_event(app_url, stranger)
    # a mention afterwards is answered; the stray reply before it left no message
    await post_event(app_url, event_body(mention("list repositories", "301.1")))
    await wait_answered(fake, CHANNEL, "301.1")
    assert fake.thread(CHANNEL, "300.1") == []


@pytest.mark.parametrize(
    ("how", "sign_args"),
    [
        ("wrong secret", {"secret": "not-the-secret"}),
        ("six minutes old", {"timestamp": int(time.time()) - 360}),
    ],
)
async def test_bad_signatures_and_stale_timestamps_are_refused(
    app_url: str, fake: FakeSlack, how: str, sign_args: dict[str, Any]
) -> None:
    response = await post_event(app_url, event_body(mention("list repositories", "400.1")), **sign_args)
    assert response.status_code == 401, how
    unsigned = await httpx.AsyncClient().post(app_url, json=event_body(mention("list repositories", "400.2")))
    assert unsigned.status_code == 401
    assert fake.calls_of("chat.postMessage") == []


async def test_mrkdwn_injection_in_a_pr_title_arrives_escaped(app_url: str, fake: FakeSlack) -> None:
    await post_event(app_url, event_body(mention("which PRs are awaiting review?", "500.1")))
    [message] = await wait_answered(fake, CHANNEL, "500.1")
    every_update = blocks_text([u["blocks"] for u in message.updates])
    assert "&lt;!channel&gt; ship it now" in every_update
    assert "&lt;@U0BOSS&gt;" in every_update
    assert "<!channel>" not in every_update and "<@U0BOSS>" not in every_update
    assert "|click here>" not in every_update  # no hidden link: the URL is shown in the open
    assert "https://evil.example/login" in every_update
    assert (
        "<https://bitbucket.org/acme/checkout-service/pull-requests/67|pr:checkout-service#67>"
        in every_update
    )


async def test_the_allow_list_drops_other_channels_and_workspaces(app_url: str, fake: FakeSlack) -> None:
    await post_event(app_url, event_body(mention("list repositories", "600.1", channel=OTHER_CHANNEL)))
    await post_event(app_url, event_body(mention("list repositories", "600.2"), team="T0OTHER"))
    form = {"team_id": TEAM, "channel_id": OTHER_CHANNEL, "user_id": USER, "command": "/bbscout"}
    raw = urlencode(form | {"text": "list repositories", "response_url": "http://127.0.0.1:9/x"}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(raw)}
    async with httpx.AsyncClient() as client:
        refused = await client.post(app_url, content=raw, headers=headers)
    assert refused.status_code == 200 and "not enabled in this channel" in refused.text
    await post_event(app_url, event_body(mention("list repositories", "600.3")))
    await wait_answered(fake, CHANNEL, "600.3")
    assert [m["channel"] for m in fake.calls_of("chat.postMessage")] == [CHANNEL]


async def test_the_slash_command_opens_a_thread_and_answers_in_it(app_url: str, fake: FakeSlack) -> None:
    form = {"team_id": TEAM, "channel_id": CHANNEL, "user_id": USER, "command": "/bbscout"}
    raw = urlencode(form | {"text": "which PRs are awaiting review?", "trigger_id": "1.2"}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(raw)}
    async with httpx.AsyncClient() as client:
        response = await client.post(app_url, content=raw, headers=headers)
    assert response.status_code == 200
    await asyncio.to_thread(fake.wait_for, lambda: fake.calls_of("chat.postMessage"))
    root = fake.calls_of("chat.postMessage")[0]
    assert "thread_ts" not in root and root["text"] == f"<@{USER}> asked: which PRs are awaiting review?"
    root_ts = next(m.ts for m in fake.messages.values() if m.thread_ts is None)
    [answer] = await wait_answered(fake, CHANNEL, root_ts)
    assert "pr:checkout-service#67" in blocks_text(answer.shown["blocks"])


async def test_slack_retry_after_is_waited_out(app_url: str, fake: FakeSlack) -> None:
    fake.rate_limit("chat.update", 1)
    await post_event(app_url, event_body(mention("list repositories", "700.1")))
    [message] = await wait_answered(fake, CHANNEL, "700.1")
    limited = [at for name, _, at in fake.calls if name == "chat.update:429"]
    retried = [at for name, _, at in fake.calls if name == "chat.update"]
    assert len(limited) == 1 and retried
    assert retried[0] - limited[0] >= 1.0  # Retry-After: 1
    assert "10 repositories" in blocks_text(message.shown["blocks"])


async def test_socket_mode_answers_and_acks_each_envelope(
    slack_settings: SlackSettings, asker: Asker, fake: FakeSlack
) -> None:
    running = asyncio.create_task(run_socket_mode(slack_settings, asker))
    try:
        body = event_body(mention("What pipelines failed in the last 24 hours?", "800.1"))
        fake.envelopes.put(
            {"envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False, "payload": body}
        )
        await asyncio.to_thread(fake.wait_for, lambda: "env-1" in fake.acks)
        [message] = await wait_answered(fake, CHANNEL, "800.1")
        assert "<https://bitbucket.org/acme/" in blocks_text(message.shown["blocks"])
        assert fake.calls_of("apps.connections.open")
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


def test_the_app_refuses_to_start_without_a_workspace_allow_list(asker: Asker) -> None:
    from bbscout.agent.settings import ConfigError

    with pytest.raises(ConfigError, match="allowed_teams"):
        build_app(SlackSettings(bot_token=SecretStr("xoxb-x")), asker)
