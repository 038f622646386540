"""Settings: env + TOML file, actionable errors, secrets never printed."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bbscout.agent.settings import ConfigError, load_settings

ENV_KEYS = (
    "BITBUCKET_EMAIL",
    "BITBUCKET_API_TOKEN",
    "BITBUCKET_ACCESS_TOKEN",
    "BITBUCKET_WORKSPACE",
    "BITBUCKET_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "BBSCOUT_MODEL",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    config = tmp_path / "config.toml"
    monkeypatch.setenv("BBSCOUT_CONFIG", str(config))
    return config


def test_no_bitbucket_setting_at_all_is_the_embedded_sandbox() -> None:
    settings = load_settings(openai_api_key="sk-abc")
    assert settings.uses_embedded_sandbox and settings.bitbucket_settings == []


def test_a_base_url_alone_is_a_partial_configuration(clean_env: Path) -> None:
    clean_env.write_text('base_url = "https://bitbucket.example/2.0"\n')
    with pytest.raises(ConfigError, match=r"missing BITBUCKET_WORKSPACE and BITBUCKET_API_TOKEN \(with"):
        load_settings()


def test_an_access_token_needs_no_email() -> None:
    settings = load_settings(access_token="t0k3n", workspace="acme")
    assert not settings.uses_embedded_sandbox and settings.missing_bitbucket_settings() == []


def test_token_without_email_says_to_set_the_email() -> None:
    with pytest.raises(ConfigError, match="BITBUCKET_EMAIL"):
        load_settings(api_token="t0k3n", workspace="acme")


def test_token_without_workspace_says_where_to_find_the_slug() -> None:
    with pytest.raises(ConfigError, match=re.escape("bitbucket.org/WORKSPACE")):
        load_settings(access_token="t0k3n")


def test_both_token_kinds_is_refused() -> None:
    with pytest.raises(ConfigError, match="keep one"):
        load_settings(access_token="a", api_token="b", email="e@x.io", workspace="acme")


def test_secrets_never_in_repr() -> None:
    settings = load_settings(
        api_token="supersecret-123", email="e@x.io", workspace="acme", openai_api_key="sk-abc"
    )
    assert "supersecret-123" not in repr(settings) and "sk-abc" not in str(settings)


def test_config_file_is_read_and_env_wins(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env.write_text('[bitbucket]\nworkspace = "fromfile"\nemail = "f@x.io"\napi_token = "abc"\n')
    os.chmod(clean_env, 0o600)
    assert load_settings().workspace == "fromfile"
    monkeypatch.setenv("BITBUCKET_WORKSPACE", "fromenv")
    assert load_settings().workspace == "fromenv"


def test_world_readable_config_with_token_is_refused(clean_env: Path) -> None:
    clean_env.write_text('[bitbucket]\nworkspace = "w"\nemail = "f@x.io"\napi_token = "abc"\n')
    os.chmod(clean_env, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_settings()


def test_unreadable_config_is_a_clear_error(clean_env: Path) -> None:
    clean_env.write_text("workspace = = broken")
    with pytest.raises(ConfigError, match="Cannot read the config file"):
        load_settings()


def test_bad_base_url() -> None:
    with pytest.raises(ConfigError, match=r"base_url|BITBUCKET_BASE_URL"):
        load_settings(base_url="ftp://x")
