"""One settings object: Bitbucket and LLM credentials from the environment or a TOML config file.

Environment variables win over the file. The file lives in the user's config dir
(`~/.config/bbscout/config.toml` on Linux) and is refused while it holds a token and is readable by
group or others, the way ssh refuses a world-readable key.

Bitbucket is configured completely or not at all: with no Bitbucket setting anywhere, bbscout uses
the embedded sandbox; any partial configuration is a `ConfigError` naming what is missing, never a
fallback to invented data (someone who mistyped one variable must not get fake answers).
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any, NoReturn

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bbscout.tools.bitbucket import check_base_url, valid_workspace

DEFAULT_BASE_URL = "https://api.bitbucket.org/2.0"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TIMEOUT = 60.0  # seconds per run (each question; each chat turn)
SECRET_KEYS = ("api_token", "access_token", "openai_api_key")
# Every Bitbucket setting: field (= config-file key) → environment variable.
BITBUCKET_SETTINGS = {
    "workspace": "BITBUCKET_WORKSPACE",
    "email": "BITBUCKET_EMAIL",
    "api_token": "BITBUCKET_API_TOKEN",
    "access_token": "BITBUCKET_ACCESS_TOKEN",
    "base_url": "BITBUCKET_BASE_URL",
}
_HOW_TO_SET = {
    "workspace": "the workspace slug from your Bitbucket URL (https://bitbucket.org/WORKSPACE/...): "
    "export BITBUCKET_WORKSPACE=your-workspace",
    "email": "your Atlassian account email (not your Bitbucket username), which API tokens authenticate "
    "with: export BITBUCKET_EMAIL=you@example.com",
    "api_token": "an API token with scopes (Atlassian account → Security → Create API token with scopes, "
    "app Bitbucket): export BITBUCKET_API_TOKEN=...",
    "credentials": "an API token with scopes plus your Atlassian email (export "
    "BITBUCKET_EMAIL=you@example.com BITBUCKET_API_TOKEN=...), or a workspace/repository access token "
    "(export BITBUCKET_ACCESS_TOKEN=...)",
}


class ConfigError(Exception):
    """A configuration problem the user can fix; the message says how."""


def config_path() -> Path:
    """Where the TOML config file is looked for (BBSCOUT_CONFIG overrides)."""
    return Path(
        os.environ.get("BBSCOUT_CONFIG") or Path(platformdirs.user_config_dir("bbscout")) / "config.toml"
    )


def data_dir() -> Path:
    """Where chat history lives (BBSCOUT_DATA_DIR overrides)."""
    return Path(os.environ.get("BBSCOUT_DATA_DIR") or platformdirs.user_data_dir("bbscout"))


class _TomlSource(PydanticBaseSettingsSource):
    """Reads `config.toml`: top-level keys named like the fields (`workspace`, `email`, ...)."""

    def get_field_value(
        self, field: Any, field_name: str
    ) -> tuple[Any, str, bool]:  # pragma: no cover - unused
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = config_path()
        if not path.exists():
            return {}
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"Cannot read the config file {path}: {exc}. Fix or delete it.") from None
        data = {
            **data.get("bitbucket", {}),
            **data.get("llm", {}),
            **{k: v for k, v in data.items() if not isinstance(v, dict)},
        }
        if any(data.get(k) for k in SECRET_KEYS) and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"The config file {path} holds a token but is readable by other users. "
                f"Run `chmod 600 {path}` and try again."
            )
        return data


class Settings(BaseSettings):
    """Process-wide configuration. Tokens are SecretStr: they never print."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    workspace: str | None = Field(
        default=None, validation_alias=AliasChoices("BITBUCKET_WORKSPACE", "workspace")
    )
    email: str | None = Field(default=None, validation_alias=AliasChoices("BITBUCKET_EMAIL", "email"))
    api_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("BITBUCKET_API_TOKEN", "api_token")
    )
    access_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("BITBUCKET_ACCESS_TOKEN", "access_token")
    )
    base_url: str = Field(
        default=DEFAULT_BASE_URL, validation_alias=AliasChoices("BITBUCKET_BASE_URL", "base_url")
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url")
    )
    model: str = Field(default=DEFAULT_MODEL, validation_alias=AliasChoices("BBSCOUT_MODEL", "model"))
    request_budget: int = Field(
        default=300, ge=1, validation_alias=AliasChoices("BBSCOUT_REQUEST_BUDGET", "request_budget")
    )
    timeout: float = Field(
        default=DEFAULT_TIMEOUT, gt=0, le=86_400, validation_alias=AliasChoices("BBSCOUT_TIMEOUT", "timeout")
    )
    allow_http: bool = Field(default=False, validation_alias=AliasChoices("BBSCOUT_ALLOW_HTTP", "allow_http"))
    # The shared response cache and hourly request ledger (agent/cache.py): Redis when a URL is set,
    # else SQLite in this directory (default: the user cache directory).
    redis_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("BBSCOUT_REDIS_URL", "redis_url")
    )
    cache_dir: str | None = Field(
        default=None, validation_alias=AliasChoices("BBSCOUT_CACHE_DIR", "cache_dir")
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (e.g. https://api.bitbucket.org/2.0)")
        return value.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _TomlSource(settings_cls)

    @property
    def bitbucket_settings(self) -> list[str]:
        """The Bitbucket settings given anywhere (environment, config file or initialiser), by field."""
        return [name for name in BITBUCKET_SETTINGS if name in self.model_fields_set]

    @property
    def uses_embedded_sandbox(self) -> bool:
        """No Bitbucket setting at all: answer from the embedded sandbox world."""
        return not self.bitbucket_settings

    @property
    def has_llm(self) -> bool:
        return self.openai_api_key is not None

    def missing_bitbucket_settings(self) -> list[str]:
        """What a partial Bitbucket configuration lacks: field names, or "credentials" for either kind."""
        if self.uses_embedded_sandbox:
            return []
        missing = [] if self.workspace else ["workspace"]
        api_token = self.api_token.get_secret_value() if self.api_token else ""
        access_token = self.access_token.get_secret_value() if self.access_token else ""
        if access_token:
            return missing
        if api_token:
            return missing + ([] if self.email else ["email"])
        return missing + (["api_token"] if self.email else ["credentials"])

    def check_bitbucket(self) -> None:
        """Raise ConfigError when Bitbucket is configured only in part, saying exactly what to set."""
        if self.api_token and self.access_token:
            raise ConfigError(
                "Both BITBUCKET_API_TOKEN and BITBUCKET_ACCESS_TOKEN are set; keep one. API tokens (with "
                "scopes) use BITBUCKET_EMAIL + BITBUCKET_API_TOKEN; workspace/repository access tokens use "
                "BITBUCKET_ACCESS_TOKEN."
            )
        missing = self.missing_bitbucket_settings()
        if missing:
            self._refuse_partial(missing)
        if not self.uses_embedded_sandbox and not valid_workspace(self.workspace):
            raise ConfigError(
                f"BITBUCKET_WORKSPACE={self.workspace!r} is not a workspace slug. Use the slug from your "
                "Bitbucket URL (https://bitbucket.org/WORKSPACE/...), e.g. export BITBUCKET_WORKSPACE=acme"
            )
        try:
            check_base_url(self.base_url, allow_http=self.allow_http)
        except ValueError as exc:
            raise ConfigError(f"BITBUCKET_BASE_URL: {exc}.") from None

    def _refuse_partial(self, missing: list[str]) -> NoReturn:
        """ConfigError naming every missing Bitbucket setting and how to set it."""
        given = ", ".join(BITBUCKET_SETTINGS[name] for name in self.bitbucket_settings)
        names = [
            "BITBUCKET_API_TOKEN (with BITBUCKET_EMAIL) or BITBUCKET_ACCESS_TOKEN"
            if name == "credentials"
            else BITBUCKET_SETTINGS[name] + (" (set but empty)" if name in self.model_fields_set else "")
            for name in missing
        ]
        how = " ".join(f"{name}: {_HOW_TO_SET[field]}." for name, field in zip(names, missing, strict=True))
        raise ConfigError(
            f"Bitbucket is only partly configured ({given} set, in the environment or {config_path()}): "
            f"missing {' and '.join(names)}. {how} The same keys without the BITBUCKET_ prefix, in lower "
            "case, work in the config file. To use the embedded sandbox instead, unset every BITBUCKET_ "
            "setting."
        )


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into one actionable ConfigError."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"Invalid configuration: {problems}.") from None
    settings.check_bitbucket()
    return settings
