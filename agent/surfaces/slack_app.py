"""The Slack app: `/bbscout QUESTION` and `@bbscout` mentions, answered in a thread.

    mention or /bbscout → allow-list (workspace, channel) → one progress message in the thread,
    updated in place as calls start and finish → the same message becomes the Block Kit answer

The Slack thread is a shared thread of the service's store (`slack:TEAM:CHANNEL:THREAD_TS`), so a
follow-up in it, with or without a mention and on any replica, sees the earlier answer, and so do the
chat page and the API. Over HTTP (Events API, `POST /slack/events` on `bbscout serve`) bolt verifies
every request's signature and rejects a timestamp older than five minutes with 401; over Socket Mode
(`bbscout slack`) no public URL is needed. An event Slack delivers again is answered once, whichever
replica it reaches (`Store.claim_once`). The Web API client retries on 429 after Slack's `Retry-After`,
and progress updates are coalesced so a long plan does not exhaust chat.update's rate tier;
Bitbucket's budget is the runner's, shared with every other surface.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bbscout.agent import neutralize
from bbscout.agent.runtime import RunResult
from bbscout.agent.service.problems import explain
from bbscout.agent.service.runner import Question, Runner
from bbscout.agent.surfaces.config import SlackSettings
from bbscout.agent.surfaces.progress import ProgressLog
from bbscout.agent.surfaces.slack_render import answer_blocks, error_blocks, fallback_text, progress_blocks

__all__ = ["ProgressMessage", "SlackBot", "build_app", "run_socket_mode", "thread_id", "web_client"]

log = logging.getLogger("bbscout.slack")
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
NOT_ENABLED = "bbscout is not enabled in this channel. Ask an administrator to add it to the allow-list."


def web_client(slack: SlackSettings) -> AsyncWebClient:
    """A Web API client that waits out Slack's `Retry-After` (and a dropped connection) before retrying."""
    token = slack.bot_token.get_secret_value() if slack.bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=slack.api_url,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncConnectionErrorRetryHandler(),
        ],
    )


def thread_id(team: str, channel: str, thread_ts: str) -> str:
    """The bbscout thread of a Slack thread."""
    return f"slack:{team}:{channel}:{thread_ts}"


class ProgressMessage:
    """One message in the thread, updated in place: the progress while the run lasts, then the answer.

    Updates are coalesced: at most one chat.update in flight, then at least `min_interval` seconds
    before the next, always showing the newest progress.
    """

    def __init__(self, client: AsyncWebClient, channel: str, ts: str, min_interval: float = 1.0) -> None:
        self.client, self.channel, self.ts, self.min_interval = client, channel, ts, min_interval
        self.log = ProgressLog()
        self._changed = asyncio.Event()
        self._sending = asyncio.Lock()  # the answer never overtakes a progress update in flight
        self._task: asyncio.Task[None] | None = None

    def add(self, event: dict[str, Any]) -> None:
        if self.log.add(event):
            self._changed.set()
            self._task = self._task or asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            async with self._sending:
                try:
                    await self._update(progress_blocks(self.log.text()), "Looking into it…")
                except SlackApiError as exc:  # progress is best effort; the answer is not
                    log.warning("progress update failed: %s", exc.response.get("error"))
            await asyncio.sleep(self.min_interval)

    async def _update(self, blocks: list[dict[str, Any]], text: str) -> None:
        await self.client.chat_update(channel=self.channel, ts=self.ts, text=text, blocks=blocks)

    async def finish(self, blocks: list[dict[str, Any]], text: str) -> None:
        """Stop the progress and make the message `blocks` (the answer or the error), as its last update."""
        async with self._sending:
            if self._task is not None:
                self._task.cancel()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self._update(blocks, text)


class SlackBot:
    """What the app does with a question from Slack, whichever way it arrived (HTTP or Socket Mode)."""

    def __init__(
        self, slack: SlackSettings, runner: Runner, client: AsyncWebClient, min_interval: float = 1.0
    ) -> None:
        slack.check_app()
        assert runner.store is not None, "Slack threads live in the service's store"
        self.slack, self.runner, self.client, self.min_interval = slack, runner, client, min_interval
        self.store = runner.store

    async def first_time(self, event_id: str | None) -> bool:
        """False for an event already handled here or on another replica (Slack redelivers when slow)."""
        return not event_id or await self.store.claim_once(f"slack-event:{event_id}")

    async def knows_thread(self, team: str, channel: str, thread_ts: str) -> bool:
        """Whether this Slack thread is a bbscout thread (answered before, or an incident's)."""
        return await self.store.shared_thread(thread_id(team, channel, thread_ts)) is not None

    async def answer(self, team: str, channel: str, thread_ts: str, text: str) -> RunResult | None:
        """Post a progress message in the thread, run the question, and make that message the answer."""
        question = _MENTION.sub("", text).strip()
        posted = await self.client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text="Looking into it…",
            blocks=progress_blocks(""),
            unfurl_links=False,
            unfurl_media=False,
        )
        message = ProgressMessage(self.client, channel, str(posted["ts"]), self.min_interval)
        try:
            thread, resolved = await self.runner.shared_thread(
                thread_id(team, channel, thread_ts), f"Slack: {question}", self.slack.connection_for(team)
            )
            result = await self.runner.ask(Question(question), resolved, on_event=message.add, thread=thread)
        except Exception as exc:
            explanation = explain(exc)
            if explanation is None:
                log.exception("question failed")
                explanation = "bbscout failed on this question (a bug; it is logged)."
            await message.finish(error_blocks(explanation), neutralize.slack(explanation)[:300])
            return None
        await message.finish(answer_blocks(result), fallback_text(result))
        return result


def build_app(bot: SlackBot) -> AsyncApp:
    """The bolt app: allow-list, mentions, thread follow-ups and `/bbscout`."""
    slack, client = bot.slack, bot.client
    app = AsyncApp(
        client=client,
        signing_secret=slack.signing_secret.get_secret_value() if slack.signing_secret else None,
        request_verification_enabled=slack.signing_secret is not None,
        process_before_response=False,
    )
    app.middleware(_allow_list(slack))

    @app.event("app_mention")
    async def mentioned(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        if not await bot.first_time(body.get("event_id")):
            return
        thread_ts = event.get("thread_ts") or event["ts"]
        await bot.answer(str(context.team_id), event["channel"], thread_ts, event.get("text", ""))

    @app.event("message")
    async def replied(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == event.get("ts") or event.get("subtype") or event.get("bot_id"):
            return
        if context.bot_user_id and f"<@{context.bot_user_id}>" in event.get("text", ""):
            return  # a mention: the app_mention event answers it
        team, channel = str(context.team_id), event["channel"]
        if not await bot.knows_thread(team, channel, thread_ts):
            return
        if not await bot.first_time(body.get("event_id")):
            return
        await bot.answer(team, channel, thread_ts, event.get("text", ""))

    @app.command("/bbscout")
    async def command(ack: Any, command: dict[str, Any], respond: Any, context: AsyncBoltContext) -> None:
        text = command.get("text", "").strip()
        if not text:
            await ack(text="Ask a question: /bbscout What pipelines failed in the last 24 hours?")
            return
        await ack()
        channel = command["channel_id"]
        try:
            root = await client.chat_postMessage(
                channel=channel,
                text=f"<@{command['user_id']}> asked: {neutralize.slack(text)}",
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            await respond(
                text=f"I cannot post in this channel ({exc.response.get('error')}). "
                "Invite me with /invite @bbscout.",
                response_type="ephemeral",
            )
            return
        await bot.answer(str(context.team_id), channel, str(root["ts"]), text)

    return app


def _allow_list(slack: SlackSettings) -> Any:
    async def allow(context: AsyncBoltContext, body: dict[str, Any], next: Any) -> BoltResponse | None:
        if slack.allows(context.team_id, context.channel_id):
            return await next()  # type: ignore[no-any-return]
        log.info("refused a request from team %s channel %s", context.team_id, context.channel_id)
        if body.get("command"):  # a slash command gets told why, only the asker sees it
            return BoltResponse(status=200, body=NOT_ENABLED)
        return BoltResponse(status=200, body="")

    return allow


async def run_socket_mode(bot: SlackBot) -> None:
    """Serve over Socket Mode until cancelled: Slack pushes events over a websocket this app opens."""
    from slack_bolt.adapter.socket_mode.websockets import AsyncSocketModeHandler

    bot.slack.check_socket_mode()
    assert bot.slack.app_token is not None
    handler = AsyncSocketModeHandler(build_app(bot), bot.slack.app_token.get_secret_value())
    try:
        await handler.start_async()  # type: ignore[no-untyped-call]
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
