"""The surfaces on `bbscout serve`: Slack's Events endpoint and the incident webhooks, and what runs them.

    POST /slack/events                Slack's HTTP Events API (events and `/bbscout`), signature-checked
    POST /v1/webhooks/{provider}      PagerDuty, Opsgenie, Alertmanager (see `webhooks`)

`add_routes` adds the routes whatever is configured: one that is not answers a 404 problem naming the
setting that turns it on. `running` starts, for the app's lifespan, the Slack bot and this process's
investigation workers over the service's `Runner` and store, so both use the service's connections,
cache, ledger, budget and threads. The integration packages load only when Slack or an incident
provider is configured.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from bbscout.agent.connections import Connection
from bbscout.agent.service.problems import Problem
from bbscout.agent.service.runner import Runner, check_names
from bbscout.agent.settings import ConfigError, Settings
from bbscout.agent.surfaces.config import IncidentSettings, SlackSettings
from bbscout.agent.surfaces.webhooks import MAX_BODY, webhook_router

__all__ = ["LARGE_BODIES", "add_routes", "check", "running"]

SLACK_EVENTS = "/slack/events"
LARGE_BODIES = {"/v1/webhooks/": MAX_BODY, SLACK_EVENTS: MAX_BODY}  # path prefix → body limit


def add_routes(app: FastAPI) -> None:
    app.include_router(webhook_router())

    @app.post(SLACK_EVENTS, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        handler = request.app.state.slack_events
        if handler is None:
            raise Problem(
                404,
                "slack-not-configured",
                "Slack is not configured",
                "Set [slack] signing_secret (SLACK_SIGNING_SECRET), bot_token and allowed_teams to receive "
                "Slack's events here.",
            )
        return await handler.handle(request)  # type: ignore[no-any-return]


def check(
    base: Settings, saved: dict[str, Connection], slack: SlackSettings, incidents: IncidentSettings
) -> None:
    """Refuse at start-up what would fail at the first event: a half-configured app, an unknown connection."""
    if slack.signing_secret is not None:
        slack.check_app()
    to_slack = incidents.slack_channel or any(r.slack_channel for r in incidents.services.values())
    if to_slack and incidents.accepts_any and slack.bot_token is None:
        raise ConfigError(
            "[incidents] sends findings to a Slack channel, but the Slack app has no bot token: set "
            "SLACK_BOT_TOKEN (xoxb-…) or [slack] bot_token, or use callback_url instead."
        )
    check_names(base, saved, slack.connection_names() | incidents.connection_names())


@asynccontextmanager
async def running(
    app: FastAPI, runner: Runner, slack: SlackSettings, incidents: IncidentSettings
) -> AsyncIterator[None]:
    """The Slack bot (with signed events configured) and the investigation workers (with a provider)."""
    app.state.slack_events = None
    app.state.investigations = None
    if slack.signing_secret is None and not incidents.accepts_any:
        yield
        return
    try:
        from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler

        from bbscout.agent.surfaces.investigations import Investigations, InvestigationStore
        from bbscout.agent.surfaces.slack_app import SlackBot, build_app, web_client
    except ImportError as exc:
        raise ConfigError(
            f"Slack and the incident webhooks need the integrations extra ({exc.name} is missing): "
            "pip install 'bbscout[integrations]'."
        ) from None
    assert runner.store is not None
    client = web_client(slack) if slack.bot_token is not None else None
    if slack.signing_secret is not None and client is not None:
        channels = [incidents.slack_channel, *(r.slack_channel for r in incidents.services.values())]
        if slack.allowed_channels:  # follow-ups in an incident's thread are questions too
            allowed = [*slack.allowed_channels, *(c for c in channels if c)]
            slack = slack.model_copy(update={"allowed_channels": allowed})
        bot = SlackBot(slack, runner, client, min_interval=slack.progress_seconds)
        app.state.slack_events = AsyncSlackRequestHandler(build_app(bot))
    investigations: Any = None
    if incidents.accepts_any:
        rows = InvestigationStore(runner.store)
        await rows.setup()
        investigations = Investigations(rows, runner, incidents, slack=client)
        investigations.start()
        app.state.investigations = investigations
    try:
        yield
    finally:
        if investigations is not None:
            await investigations.close()
