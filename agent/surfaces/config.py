"""Settings of the integrations: the Slack app (`[slack]`) and the incident webhooks (`[incidents]`).

Environment variables win over the config file's tables, as for the Bitbucket settings; the file is
refused while it holds a secret and is readable by others. Every secret is a SecretStr. A
`connection` names a saved connection (`bbscout connect --save NAME`); none: the default one.

    [slack]
    bot_token = "xoxb-…"            # SLACK_BOT_TOKEN
    signing_secret = "…"            # SLACK_SIGNING_SECRET (HTTP Events API: POST /slack/events)
    app_token = "xapp-…"            # SLACK_APP_TOKEN (Socket Mode: bbscout slack)
    allowed_teams = ["T0123"]       # required: the workspaces that may ask
    allowed_channels = ["C0456"]    # empty: any channel the app is in
    connection = "Production Bitbucket"
    connections = { T0999 = "Staging Bitbucket" }   # per workspace (team id)

    [incidents]
    concurrency = 4                 # investigations at once, per process
    slack_channel = "C0789"         # where findings go, as a thread on the incident…
    callback_url = "https://…"      # …or POSTed here (signed with callback_secret)
    pagerduty_secrets = ["…"]       # BBSCOUT_PAGERDUTY_SECRET: v3 webhook signing secret(s)
    opsgenie_token = "…"            # BBSCOUT_OPSGENIE_TOKEN: the custom header Opsgenie sends
    alertmanager_token = "…"        # BBSCOUT_ALERTMANAGER_TOKEN: the bearer credentials of the receiver
    connection = "Production Bitbucket"
    connections = { alertmanager = "Staging Bitbucket" }   # per provider

    [incidents.services.checkout]   # an incident's service (name or alias) → repositories
    repos = ["checkout-service"]
    aliases = ["PABC123", "checkout-api"]
    slack_channel = "C0CHECKOUT"
    connection = "Production Bitbucket"   # wins over the provider's and the default
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from bbscout.agent.service.config import config_table
from bbscout.agent.settings import ConfigError

__all__ = [
    "IncidentSettings",
    "ServiceRoute",
    "SlackSettings",
    "load_incident_settings",
    "load_slack_settings",
]

SLACK_API_URL = "https://slack.com/api/"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SlackSettings(_Strict):
    """The Slack app's credentials and who may use it."""

    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    api_url: str = SLACK_API_URL
    allowed_teams: list[str] = Field(default_factory=list)
    allowed_channels: list[str] = Field(default_factory=list)
    connection: str | None = None
    connections: dict[str, str] = Field(default_factory=dict)  # team id → connection
    progress_seconds: float = Field(default=1.0, ge=0, le=60)  # at least this long between progress updates

    @field_validator("api_url")
    @classmethod
    def _slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    def allows(self, team: str | None, channel: str | None) -> bool:
        """Whether a request from this workspace and channel may ask."""
        if team not in self.allowed_teams:
            return False
        return not self.allowed_channels or channel in self.allowed_channels

    def check_socket_mode(self) -> None:
        """Socket Mode needs, besides the app's settings, an app-level token."""
        self.check_app()
        if not self.app_token:
            raise ConfigError(
                "Socket Mode needs an app-level token: set SLACK_APP_TOKEN (xapp-…) or [slack] app_token."
            )

    def connection_for(self, team: str) -> str | None:
        """The connection a workspace's questions run on."""
        return self.connections.get(team, self.connection)

    def connection_names(self) -> dict[str, str | None]:
        """Each configured connection name, by where it is set (for the start-up check)."""
        names: dict[str, str | None] = {"[slack] connection": self.connection}
        return names | {f"[slack] connections.{team}": name for team, name in self.connections.items()}

    def check_app(self) -> None:
        """The app answers questions only with a bot token and a workspace allow-list."""
        if not self.bot_token:
            raise ConfigError(
                "The Slack app needs a bot token: set SLACK_BOT_TOKEN (xoxb-…) or [slack] bot_token."
            )
        if not self.allowed_teams:
            raise ConfigError(
                'No Slack workspace is allowed: set [slack] allowed_teams = ["T…"] (the team id of each '
                "workspace that may ask) in the config file."
            )


class ServiceRoute(_Strict):
    """Where an incident on one service looks (repositories) and where its findings go."""

    repos: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    slack_channel: str | None = None
    callback_url: str | None = None
    connection: str | None = None


PROVIDERS = ("pagerduty", "opsgenie", "alertmanager")


class IncidentSettings(_Strict):
    """The webhooks' secrets, the service map and the workers' bounds."""

    concurrency: int = Field(default=4, ge=1, le=64)
    poll_seconds: float = Field(default=2.0, gt=0, le=60)  # how soon a replica finds another's queued work
    slack_channel: str | None = None
    callback_url: str | None = None
    callback_secret: SecretStr | None = None
    pagerduty_secrets: list[SecretStr] = Field(default_factory=list)
    opsgenie_token: SecretStr | None = None
    alertmanager_token: SecretStr | None = None
    services: dict[str, ServiceRoute] = Field(default_factory=dict)
    connection: str | None = None
    connections: dict[str, str] = Field(default_factory=dict)  # provider → connection

    @field_validator("connections")
    @classmethod
    def _providers(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(PROVIDERS))
        if unknown:
            raise ValueError(f"unknown provider(s) {', '.join(unknown)}; use {', '.join(PROVIDERS)}")
        return value

    @property
    def accepts_any(self) -> bool:
        """Whether any provider's webhook is configured (else no worker needs to run)."""
        return bool(self.pagerduty_secrets or self.opsgenie_token or self.alertmanager_token)

    def connection_for(self, provider: str, route: ServiceRoute) -> str | None:
        """The service's connection, else the provider's, else the default."""
        return route.connection or self.connections.get(provider, self.connection)

    def connection_names(self) -> dict[str, str | None]:
        """Each configured connection name, by where it is set (for the start-up check)."""
        names: dict[str, str | None] = {"[incidents] connection": self.connection}
        names |= {f"[incidents] connections.{p}": name for p, name in self.connections.items()}
        return names | {
            f"[incidents.services.{s}] connection": r.connection for s, r in self.services.items()
        }

    def route(self, names: list[str]) -> tuple[str | None, ServiceRoute]:
        """The configured service matching any of `names` (by name or alias, case-insensitive)."""
        wanted = {n.casefold() for n in names if n}
        for name, route in self.services.items():
            if {name.casefold(), *(a.casefold() for a in route.aliases)} & wanted:
                return name, route
        return None, ServiceRoute()


_SLACK_ENV = {"bot_token": "SLACK_BOT_TOKEN", "signing_secret": "SLACK_SIGNING_SECRET"}
_SLACK_ENV |= {"app_token": "SLACK_APP_TOKEN", "api_url": "SLACK_API_URL"}
_INCIDENT_ENV = {
    "pagerduty_secrets": "BBSCOUT_PAGERDUTY_SECRET",
    "opsgenie_token": "BBSCOUT_OPSGENIE_TOKEN",
    "alertmanager_token": "BBSCOUT_ALERTMANAGER_TOKEN",
    "callback_secret": "BBSCOUT_CALLBACK_SECRET",
}


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())


def load_slack_settings(**overrides: Any) -> SlackSettings:
    """`[slack]` of the config file, overridden by SLACK_* variables and then by `overrides`."""
    values = config_table("slack") | {k: os.environ[v] for k, v in _SLACK_ENV.items() if os.environ.get(v)}
    try:
        return SlackSettings.model_validate(values | overrides)
    except ValidationError as exc:
        raise ConfigError(f"Invalid [slack] configuration: {_problems(exc)}.") from None


def load_incident_settings(**overrides: Any) -> IncidentSettings:
    """`[incidents]` of the config file, overridden by BBSCOUT_* variables and then by `overrides`."""
    values = config_table("incidents")
    for key, env in _INCIDENT_ENV.items():
        if os.environ.get(env):
            values[key] = [os.environ[env]] if key == "pagerduty_secrets" else os.environ[env]
    try:
        return IncidentSettings.model_validate(values | overrides)
    except ValidationError as exc:
        raise ConfigError(f"Invalid [incidents] configuration: {_problems(exc)}.") from None
