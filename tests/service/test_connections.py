"""Named connections: save after a passing test, 0600 or the keyring, `--connection` on every command."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend

from bbscout.agent.connections import (
    ConnectionFailed,
    UnknownConnection,
    load_connections,
    resolve,
    save_connection,
    with_last_test,
)
from bbscout.agent.settings import ConfigError, Settings
from tests.service.conftest import NOW, Env, connection_for

BBSCOUT = str(Path(sys.executable).parent / "bbscout")


class MemoryKeyring(KeyringBackend):
    """An OS keyring stand-in (no Secret Service runs here), through keyring's own backend API."""

    priority = 10  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture
def ring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    try:
        yield memory
    finally:
        keyring.set_keyring(before)


def test_a_saved_connection_round_trips_in_a_0600_file(tmp_path: Path, env: Env) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# my settings\n[bitbucket]\nworkspace = "acme"\n')
    os.chmod(path, 0o644)
    saved = save_connection(connection_for(env.world, "Prod", "demo", "https://api.bitbucket.org/2.0"), path)
    assert saved.secret_store == "file"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("# my settings\n[bitbucket]")  # the user's file is kept as written
    loaded = load_connections(path)["Prod"]
    assert (
        loaded.api_token is not None and loaded.api_token.get_secret_value() == env.world.token("demo").secret
    )
    assert loaded.last_test is not None and loaded.last_test.ok
    assert env.world.token("demo").secret not in repr(loaded) and "api_token" not in loaded.public()


def test_a_readable_file_with_tokens_is_refused(tmp_path: Path, env: Env) -> None:
    path = tmp_path / "config.toml"
    save_connection(connection_for(env.world, "Prod", "demo", "https://api.bitbucket.org/2.0"), path)
    os.chmod(path, 0o640)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_connections(path)


def test_secrets_go_to_the_keyring_when_there_is_one(tmp_path: Path, env: Env, ring: MemoryKeyring) -> None:
    path = tmp_path / "config.toml"
    saved = save_connection(
        connection_for(env.world, "Ops", "demo-access", "https://api.bitbucket.org/2.0"), path
    )
    secret = env.world.token("demo-access").secret
    assert saved.secret_store == "keyring" and secret not in path.read_text()
    assert ring.secrets[("bbscout", "Ops")] == secret
    loaded = load_connections(path)["Ops"]
    assert loaded.access_token is not None and loaded.access_token.get_secret_value() == secret
    ring.secrets.clear()
    with pytest.raises(ConfigError, match="keyring has none"):
        load_connections(path)


def test_resolution_rules(env: Env) -> None:
    one = connection_for(env.world, "Prod", "demo", "https://api.bitbucket.org/2.0")
    failed = with_last_test(
        connection_for(env.world, "Old", "expired", "https://api.bitbucket.org/2.0"), False, "401: revoked"
    )
    assert resolve(None, Settings(), {})[0] == "sandbox"
    assert resolve(None, Settings(), {"Prod": one})[0] == "Prod"  # the only one is the default
    with pytest.raises(ConfigError, match="choose one"):
        resolve(None, Settings(), {"Prod": one, "Old": failed})
    with pytest.raises(UnknownConnection, match="Known: Old, Prod"):
        resolve("Staging", Settings(), {"Prod": one, "Old": failed})
    with pytest.raises(ConnectionFailed, match="401: revoked"):
        resolve("Old", Settings(), {"Prod": one, "Old": failed})  # never used silently
    _, settings = resolve("Prod", Settings(), {"Prod": one})
    assert settings.workspace == "acme" and settings.api_token == one.api_token


def run(args: list[str], variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BITBUCKET_", "OPENAI_", "BBSCOUT_"))}
    return subprocess.run([BBSCOUT, *args], env=base | variables, capture_output=True, text=True, timeout=120)


def test_connect_save_then_connection_on_every_command(tmp_path: Path, env: Env, sandbox: Any) -> None:
    token = env.world.token("demo")
    config = tmp_path / "config.toml"
    isolated = {
        "BBSCOUT_CONFIG": str(config),
        "BBSCOUT_DATA_DIR": str(tmp_path / "data"),
        "BBSCOUT_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "COLUMNS": "200",
        "NO_COLOR": "1",
    }
    credentials = {
        "BITBUCKET_BASE_URL": sandbox.base_url,
        "BITBUCKET_WORKSPACE": "acme",
        "BITBUCKET_EMAIL": token.email or "",
        "BITBUCKET_API_TOKEN": token.secret,
    }
    saved = run(["connect", "--save", "Production Bitbucket"], isolated | credentials)
    assert saved.returncode == 0, saved.stderr
    assert "Saved connection 'Production Bitbucket'" in saved.stderr and token.secret not in saved.stdout
    assert stat.S_IMODE(config.stat().st_mode) == 0o600

    bad = run(["connect", "--save", "Broken"], isolated | credentials | {"BITBUCKET_API_TOKEN": "wrong"})
    assert bad.returncode == 3 and "Not saved" in bad.stderr and "Broken" not in config.read_text()

    # No credentials in the environment now: the saved connection carries them.
    asked = run(
        [
            "ask",
            "What pipelines failed in the last 24 hours?",
            "--connection",
            "Production Bitbucket",
            "--now",
            NOW,
            "--json",
        ],
        isolated,
    )
    assert asked.returncode in (0, 1), asked.stderr
    assert "pipeline:" in asked.stdout and "embedded sandbox" not in asked.stderr
    unknown = run(["ask", "anything", "--connection", "Staging"], isolated)
    assert unknown.returncode == 2 and "No connection named 'Staging'" in unknown.stderr
    retest = run(["connect", "--connection", "Production Bitbucket"], isolated)
    assert retest.returncode == 0 and "Recorded the test" in retest.stderr
    chat = subprocess.run(
        [BBSCOUT, "chat", "--connection", "Production Bitbucket", "--now", NOW, "--thread", "t"],
        env={k: v for k, v in os.environ.items() if not k.startswith(("BITBUCKET_", "BBSCOUT_"))} | isolated,
        input="list repositories\nexit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert chat.returncode == 0 and "checkout-service" in chat.stdout, chat.stderr
