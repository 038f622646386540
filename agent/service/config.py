"""Service settings: where state lives, who may call, how big a request may be.

Environment variables (`BBSCOUT_DATABASE_URL`, `BBSCOUT_API_KEYS` as JSON, `BBSCOUT_MAX_BODY_BYTES`)
win over the config file's `[service]` and `[api_keys.NAME]` tables, so replicas can be configured
from the environment alone. `BBSCOUT_REDIS_URL` (the shared cache and ledger) is the core settings'
own, as every bbscout process shares it.
"""

from __future__ import annotations

import stat
import tomllib
from typing import Any

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bbscout.agent.service.keys import ApiKey
from bbscout.agent.settings import ConfigError, config_path

SECRET_SUFFIXES = ("token", "secret", "secrets")


def config_table(name: str) -> dict[str, Any]:
    """One table of the config file (`[service]`, `[slack]`, `[incidents]`, …); {} without the file.

    A table holding a secret (a key ending in token, secret or secrets) is refused while other users
    may read the file.
    """
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
    if any(k.endswith(SECRET_SUFFIXES) for k in table) and path.stat().st_mode & (
        stat.S_IRWXG | stat.S_IRWXO
    ):
        raise ConfigError(
            f"The config file {path} holds a [{name}] secret but is readable by other users. "
            f"Run `chmod 600 {path}` and try again."
        )
    return dict(table)


class _ServiceTomlSource(PydanticBaseSettingsSource):
    """`[service]` keys and `[api_keys.NAME]` tables of the config file."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found = config_table("service")
        keys = config_table("api_keys")
        return found | {"api_keys": keys} if keys else found


class ServiceSettings(BaseSettings):
    """How `bbscout serve` runs; URLs are SecretStr because they may carry passwords."""

    model_config = SettingsConfigDict(env_prefix="BBSCOUT_", extra="ignore")

    database_url: SecretStr | None = None
    api_keys: dict[str, ApiKey] = Field(default_factory=dict)
    max_body_bytes: int = Field(default=16_384, ge=1024)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _ServiceTomlSource(settings_cls)

    def secret(self, name: str) -> str | None:
        value: SecretStr | None = getattr(self, name)
        return value.get_secret_value() if value is not None else None


def load_service_settings(**overrides: Any) -> ServiceSettings:
    """Build service settings, turning validation errors into one actionable ConfigError."""
    try:
        settings = ServiceSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"Invalid service configuration: {problems}.") from None
    url = settings.secret("database_url")
    if url and not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            "BBSCOUT_DATABASE_URL must be a PostgreSQL URL (postgresql://user:password@host:5432/db); "
            "leave it unset to keep chat threads in SQLite under the data dir."
        )
    return settings
