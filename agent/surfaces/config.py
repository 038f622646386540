"""Settings of the integrations: the Slack app (`[slack]`) and the incident webhooks (`[incidents]`).

Environment variables win over the config file's tables, as for the Bitbucket settings; the file is
refused while it holds a secret and is readable by others. Every secret is a SecretStr.

    [slack]
    bot_token = "xoxb-…"            # SLACK_BOT_TOKEN
    signing_secret = "…"            # SLACK_SIGNING_SECRET (HTTP Events API)
    app_token = "xapp-…"            # SLACK_APP_TOKEN (Socket Mode)
    allowed_teams = ["T0123"]       # required: the workspaces that may ask
    allowed_channels = ["C0456"]    # empty: any channel the app is in

    [incidents]
    concurrency = 4
    slack_channel = "C0789"         # where findings go, as a thread on the incident…
    callback_url = "https://…"      # …or POSTed here (signed with callback_secret)
    pagerduty_secrets = ["…"]       # BBSCOUT_PAGERDUTY_SECRET: v3 webhook signing secret(s)
    opsgenie_token = "…"            # BBSCOUT_OPSGENIE_TOKEN: the custom header Opsgenie sends
    alertmanager_token = "…"        # BBSCOUT_ALERTMANAGER_TOKEN: the bearer credentials of the receiver

    [incidents.services.checkout]   # an incident's service (name or alias) → repositories
    repos = ["checkout-service"]
    aliases = ["PABC123", "checkout-api"]
    slack_channel = "C0CHECKOUT"
"""

from __future__ import annotations

import os
import stat
import tomllib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from bbscout.agent.settings import ConfigError, config_path

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

    @field_validator("api_url")
    @classmethod
    def _slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    def allows(self, team: str | None, channel: str | None) -> bool:
        """Whether a request from this workspace and channel may ask."""
        if team not in self.allowed_teams:
            return False
        return not self.allowed_channels or channel in self.allowed_channels


class ServiceRoute(_Strict):
    """Where an incident on one service looks (repositories) and where its findings go."""

    repos: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    slack_channel: str | None = None
    callback_url: str | None = None
    connection: str | None = None


class IncidentSettings(_Strict):
    """The webhooks' secrets, the service map and the runner's bounds."""

    concurrency: int = Field(default=4, ge=1, le=64)
    slack_channel: str | None = None
    callback_url: str | None = None
    callback_secret: SecretStr | None = None
    pagerduty_secrets: list[SecretStr] = Field(default_factory=list)
    opsgenie_token: SecretStr | None = None
    alertmanager_token: SecretStr | None = None
    services: dict[str, ServiceRoute] = Field(default_factory=dict)

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


def _table(name: str) -> dict[str, Any]:
    """One table of the config file, refused while it holds a secret and others may read the file."""
    path = config_path()
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc}. Fix or delete it.") from None
    table = data.get(name) or {}
    if not isinstance(table, dict):
        raise ConfigError(f"[{name}] in {path} must be a table.")
    secret_keys = ("token", "secret")
    if any(k.endswith(secret_keys) or k.endswith("secrets") for k in table) and path.stat().st_mode & (
        stat.S_IRWXG | stat.S_IRWXO
    ):
        raise ConfigError(
            f"The config file {path} holds a [{name}] secret but is readable by other users. "
            f"Run `chmod 600 {path}` and try again."
        )
    return dict(table)


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())


def load_slack_settings(**overrides: Any) -> SlackSettings:
    """`[slack]` of the config file, overridden by SLACK_* variables and then by `overrides`."""
    values = _table("slack") | {k: os.environ[v] for k, v in _SLACK_ENV.items() if os.environ.get(v)}
    try:
        return SlackSettings.model_validate(values | overrides)
    except ValidationError as exc:
        raise ConfigError(f"Invalid [slack] configuration: {_problems(exc)}.") from None


def load_incident_settings(**overrides: Any) -> IncidentSettings:
    """`[incidents]` of the config file, overridden by BBSCOUT_* variables and then by `overrides`."""
    values = _table("incidents")
    for key, env in _INCIDENT_ENV.items():
        if os.environ.get(env):
            values[key] = [os.environ[env]] if key == "pagerduty_secrets" else os.environ[env]
    try:
        return IncidentSettings.model_validate(values | overrides)
    except ValidationError as exc:
        raise ConfigError(f"Invalid [incidents] configuration: {_problems(exc)}.") from None
