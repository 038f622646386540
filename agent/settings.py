"""One settings object: Bitbucket and LLM credentials from the environment or a TOML config file.

Environment variables win over the file. The file lives in the user's config dir
(`~/.config/bbscout/config.toml` on Linux) and is refused while it holds a token and is readable by
group or others, the way ssh refuses a world-readable key.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_BASE_URL = "https://api.bitbucket.org/2.0"
DEFAULT_MODEL = "gpt-4o-mini"
SECRET_KEYS = ("api_token", "access_token", "openai_api_key")


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
    def has_bitbucket_credentials(self) -> bool:
        return bool(self.api_token or self.access_token)

    @property
    def has_llm(self) -> bool:
        return self.openai_api_key is not None

    def check_bitbucket(self) -> None:
        """Raise ConfigError when credentials are incomplete, saying exactly what to set."""
        if self.api_token and self.access_token:
            raise ConfigError(
                "Both BITBUCKET_API_TOKEN and BITBUCKET_ACCESS_TOKEN are set; keep one. API tokens (with "
                "scopes) use BITBUCKET_EMAIL + BITBUCKET_API_TOKEN; workspace/repository access tokens use "
                "BITBUCKET_ACCESS_TOKEN."
            )
        if self.api_token and not self.email:
            raise ConfigError(
                "BITBUCKET_API_TOKEN is set but BITBUCKET_EMAIL is not. API tokens authenticate with your "
                "Atlassian account email (not your Bitbucket username): export "
                "BITBUCKET_EMAIL=you@example.com"
            )
        if self.has_bitbucket_credentials and not self.workspace:
            raise ConfigError(
                "BITBUCKET_WORKSPACE is not set. Use the workspace slug from your Bitbucket URL "
                "(https://bitbucket.org/WORKSPACE/...): export BITBUCKET_WORKSPACE=your-workspace"
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
