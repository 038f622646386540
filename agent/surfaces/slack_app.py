"""The Slack app: `/bbscout QUESTION` and `@bbscout` mentions, answered in a thread.

    mention or /bbscout → allow-list (workspace, channel) → one progress message in the thread,
    updated in place as calls start and finish → the same message becomes the Block Kit answer

The Slack thread is the bbscout thread (`slack:TEAM:CHANNEL:THREAD_TS`), so a follow-up in it, with or
without a mention, sees the earlier answer. Over HTTP (Events API) bolt verifies every request's
signature and rejects a timestamp older than five minutes with 401; over Socket Mode no public URL is
needed. The Web API client retries on 429 after Slack's `Retry-After`, and progress updates are
coalesced so a long plan does not exhaust chat.update's rate tier; Bitbucket's budget is the asker's.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from typing import Any

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bbscout.agent.runtime import RunResult
from bbscout.agent.settings import ConfigError
from bbscout.agent.surfaces.asker import Asker, Question
from bbscout.agent.surfaces.config import SlackSettings
from bbscout.agent.surfaces.neutral import slack_text
from bbscout.agent.surfaces.progress import ProgressLog
from bbscout.agent.surfaces.slack_render import answer_blocks, error_blocks, fallback_text, progress_blocks
from bbscout.tools.bitbucket import BitbucketError

__all__ = ["ProgressMessage", "SlackBot", "build_app", "events_route", "run_socket_mode", "web_client"]

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
    """What the app does with a question from Slack, whichever way it arrived."""

    def __init__(self, slack: SlackSettings, asker: Asker, client: AsyncWebClient, min_interval: float = 1.0):
        self.slack, self.asker, self.client, self.min_interval = slack, asker, client, min_interval
        self._seen: OrderedDict[str, None] = OrderedDict()  # event ids answered (Slack redelivers)

    def first_time(self, event_id: str | None) -> bool:
        """False for an event already handled (Slack retries a delivery it thinks was lost)."""
        if not event_id:
            return True
        if event_id in self._seen:
            return False
        self._seen[event_id] = None
        while len(self._seen) > 2000:
            self._seen.popitem(last=False)
        return True

    async def knows_thread(self, team: str, channel: str, thread_ts: str) -> bool:
        """Whether bbscout has answered in this Slack thread before (so a plain reply is a follow-up)."""
        saver = self.asker.checkpointer
        if saver is None:
            return False
        config = {"configurable": {"thread_id": thread_id(team, channel, thread_ts), "checkpoint_ns": ""}}
        return await saver.aget_tuple(config) is not None

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
        ask = Question(question, thread=thread_id(team, channel, thread_ts), connection=self.slack.connection)
        try:
            result = await self.asker.ask(ask, on_event=message.add)
        except (ConfigError, BitbucketError) as exc:
            explanation = exc.explain() if isinstance(exc, BitbucketError) else str(exc)
            await message.finish(error_blocks(explanation), slack_text(explanation)[:300])
            return None
        except Exception:
            log.exception("question failed")
            await message.finish(
                error_blocks("bbscout failed on this question (a bug; it is logged)."), "failed"
            )
            raise
        await message.finish(answer_blocks(result), fallback_text(result))
        return result


def build_app(
    slack: SlackSettings, asker: Asker, *, client: AsyncWebClient | None = None, min_interval: float = 1.0
) -> AsyncApp:
    """The bolt app: allow-list, mentions, thread follow-ups and `/bbscout`."""
    if not slack.bot_token:
        raise ConfigError(
            "The Slack app needs a bot token: set SLACK_BOT_TOKEN (xoxb-…) or [slack] bot_token."
        )
    if not slack.allowed_teams:
        raise ConfigError(
            'No Slack workspace is allowed: set [slack] allowed_teams = ["T…"] (the team id of each '
            "workspace that may ask) in the config file."
        )
    client = client or web_client(slack)
    app = AsyncApp(
        client=client,
        signing_secret=slack.signing_secret.get_secret_value() if slack.signing_secret else None,
        request_verification_enabled=slack.signing_secret is not None,
        process_before_response=False,
    )
    bot = SlackBot(slack, asker, client, min_interval)
    app.middleware(_allow_list(slack))

    @app.event("app_mention")
    async def mentioned(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        if not bot.first_time(body.get("event_id")):
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
        if not await bot.knows_thread(team, channel, thread_ts) or not bot.first_time(body.get("event_id")):
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
                text=f"<@{command['user_id']}> asked: {slack_text(text)}",
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


def events_route(app: AsyncApp, path: str = "/slack/events") -> Route:
    """The HTTP Events API endpoint (events and slash commands), to mount on a Starlette/FastAPI app."""
    handler = AsyncSlackRequestHandler(app)

    async def endpoint(request: Request) -> Response:
        return await handler.handle(request)

    return Route(path, endpoint, methods=["POST"])


async def run_socket_mode(
    slack: SlackSettings, asker: Asker, *, client: AsyncWebClient | None = None
) -> None:
    """Serve over Socket Mode until cancelled: Slack pushes events over a websocket this app opens."""
    from slack_bolt.adapter.socket_mode.websockets import AsyncSocketModeHandler

    if not slack.app_token:
        raise ConfigError(
            "Socket Mode needs an app-level token: set SLACK_APP_TOKEN (xapp-…) or [slack] app_token."
        )
    app = build_app(slack, asker, client=client)
    handler = AsyncSocketModeHandler(app, slack.app_token.get_secret_value())
    try:
        await handler.start_async()  # type: ignore[no-untyped-call]
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
