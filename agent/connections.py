"""Named Bitbucket connections: the setup guide's "Enter a name → Test Connection → Save".

Connections live in the config file as `[connections."NAME"]` tables (workspace, base_url, and either
`email` + `api_token` or `access_token`), next to the hand-written settings, which `tomlkit` keeps
intact when `bbscout connect --save NAME` adds or updates one. A secret goes to the OS keyring when a
real one is available (the table then says `secret = "keyring"`), otherwise into the file, which is
then kept at mode 0600 and refused while others can read it.

Each connection records its last Test Connection result. A connection whose last test failed is
never used silently: `resolve` refuses it with that test's explanation until it passes again.
"""

from __future__ import annotations

import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import tomlkit
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from bbscout.agent.settings import DEFAULT_BASE_URL, ConfigError, Settings, config_path

KEYRING_SERVICE = "bbscout"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")
ENV_CONNECTION = "env"
SANDBOX_CONNECTION = "sandbox"


class LastTest(BaseModel):
    """The outcome of the most recent Test Connection."""

    ok: bool
    at: datetime
    detail: str


class Connection(BaseModel):
    """One named Bitbucket connection; secrets are SecretStr and never serialised by `public()`."""

    model_config = ConfigDict(extra="forbid")

    name: str
    workspace: str
    base_url: str = DEFAULT_BASE_URL
    email: str | None = None
    api_token: SecretStr | None = None
    access_token: SecretStr | None = None
    secret_store: Literal["file", "keyring"] = "file"
    last_test: LastTest | None = None

    @property
    def auth_kind(self) -> str:
        return "api_token" if self.api_token is not None else "access_token"

    def settings(self, base: Settings) -> Settings:
        """`base` with this connection's Bitbucket fields; checked like environment credentials."""
        merged = base.model_copy(
            update={
                "workspace": self.workspace,
                "base_url": self.base_url.rstrip("/"),
                "email": self.email,
                "api_token": self.api_token,
                "access_token": self.access_token,
            }
        )
        try:
            merged.check_bitbucket()
        except ConfigError as exc:
            raise ConfigError(f"Connection '{self.name}': {exc}") from None
        return merged

    def public(self) -> dict[str, Any]:
        """What the API and `connect` may show: never a secret, not even its length."""
        return {
            "name": self.name,
            "workspace": self.workspace,
            "base_url": self.base_url,
            "auth": self.auth_kind,
            "email": self.email,
            "last_test": self.last_test.model_dump(mode="json") if self.last_test else None,
        }


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name) or name in (ENV_CONNECTION, SANDBOX_CONNECTION):
        raise ConfigError(
            f"{name!r} cannot name a connection. Use 1-64 letters, digits, spaces, '.', '_' or '-', starting "
            f"with a letter or digit (e.g. 'Production Bitbucket'); '{ENV_CONNECTION}' and "
            f"'{SANDBOX_CONNECTION}' are reserved."
        )
    return name


def _keyring() -> Any | None:
    """The OS keyring when a secure backend is available (priority >= 1), else None."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
        return keyring if float(backend.priority) >= 1 else None
    except (KeyringError, RuntimeError, ValueError):
        return None


def _read_document(path: Path) -> tomlkit.TOMLDocument:
    if not path.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.TOMLKitError) as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc}. Fix or delete it.") from None


def _refuse_if_readable(path: Path) -> None:
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"The config file {path} holds connection tokens but is readable by other users. "
            f"Run `chmod 600 {path}` and try again."
        )


def load_connections(path: Path | None = None) -> dict[str, Connection]:
    """Every saved connection, secrets resolved (from the file or the keyring)."""
    path = path or config_path()
    tables = _read_document(path).get("connections") or {}
    found: dict[str, Connection] = {}
    for name, table in tables.items():
        data = dict(table.unwrap() if hasattr(table, "unwrap") else table)
        store, auth = data.pop("secret", "file"), data.pop("auth", "api_token")
        if any(data.get(k) for k in ("api_token", "access_token")):
            _refuse_if_readable(path)
        if store == "keyring":
            data |= _keyring_secret(name, auth)
        try:
            found[name] = Connection(name=name, secret_store=store, **data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"Connection '{name}' in {path} is invalid: {problems}.") from None
    return found


def _keyring_secret(name: str, auth: str) -> dict[str, str]:
    ring = _keyring()
    secret = ring.get_password(KEYRING_SERVICE, name) if ring else None
    if not secret:
        raise ConfigError(
            f"Connection '{name}' keeps its token in the OS keyring, but the keyring has none for it. "
            f"Save it again: bbscout connect --save '{name}'."
        )
    return {"access_token" if auth == "access_token" else "api_token": secret}


def save_connection(connection: Connection, path: Path | None = None) -> Connection:
    """Write (or replace) one connection, keeping the rest of the file as the user wrote it."""
    path = path or config_path()
    doc = _read_document(path)
    tables = doc.setdefault("connections", tomlkit.table(is_super_table=True))
    table = tomlkit.table()
    table["workspace"] = connection.workspace
    table["base_url"] = connection.base_url
    if connection.email:
        table["email"] = connection.email
    secret = connection.api_token or connection.access_token
    assert secret is not None, "a connection needs a token"
    ring = _keyring()
    if ring is not None:
        ring.set_password(KEYRING_SERVICE, connection.name, secret.get_secret_value())
        table["secret"] = "keyring"
        table["auth"] = connection.auth_kind
        stored = connection.model_copy(update={"secret_store": "keyring"})
    else:
        table[connection.auth_kind] = secret.get_secret_value()
        stored = connection.model_copy(update={"secret_store": "file"})
    if connection.last_test:
        table["last_test"] = connection.last_test.model_dump(mode="json")
    tables[connection.name] = table
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(tomlkit.dumps(doc))
    os.chmod(path, 0o600)
    return stored


def from_settings(name: str, settings: Settings) -> Connection:
    """The connection the environment (or config's `[bitbucket]`) describes, under a new name."""
    settings.check_bitbucket()
    if settings.uses_embedded_sandbox:
        raise ConfigError(
            "Nothing to save: set the connection's credentials first, e.g. BITBUCKET_WORKSPACE, "
            "BITBUCKET_EMAIL and BITBUCKET_API_TOKEN (or BITBUCKET_ACCESS_TOKEN), then run "
            f"`bbscout connect --save '{name}'`."
        )
    return Connection(
        name=check_name(name),
        workspace=settings.workspace or "",
        base_url=settings.base_url,
        email=settings.email if settings.api_token else None,
        api_token=settings.api_token,
        access_token=settings.access_token,
    )


def with_last_test(connection: Connection, ok: bool, detail: str, at: datetime | None = None) -> Connection:
    return connection.model_copy(
        update={"last_test": LastTest(ok=ok, at=at or datetime.now(UTC), detail=detail)}
    )


def refuse_if_failed(connection: Connection) -> None:
    """A connection whose last test failed is never used silently."""
    if connection.last_test is not None and not connection.last_test.ok:
        raise ConnectionFailed(connection)


class ConnectionFailed(ConfigError):
    """The named connection failed its last Test Connection; the message carries that explanation."""

    def __init__(self, connection: Connection) -> None:
        assert connection.last_test is not None
        self.connection = connection
        super().__init__(
            f"Connection '{connection.name}' failed its last test "
            f"({connection.last_test.at:%Y-%m-%d %H:%M} UTC): {connection.last_test.detail} "
            f"Fix it and test again (bbscout connect --connection '{connection.name}')."
        )


class UnknownConnection(ConfigError):
    """No connection by that name; the message lists the ones there are."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(
            f"No connection named '{name}'. Known: {', '.join(known) or 'none'}. Save one with "
            f"`bbscout connect --save '{name}'` (after setting its BITBUCKET_* credentials)."
        )


def resolve(name: str | None, base: Settings, saved: dict[str, Connection]) -> tuple[str, Settings]:
    """(connection name, settings to run with) for `--connection NAME` or the API's `connection` field.

    Without a name: the environment's credentials, else the only saved connection, else the embedded
    sandbox when nothing is configured; several saved connections and no name is an error.
    """
    if name is None:
        if not base.uses_embedded_sandbox:
            return ENV_CONNECTION, base
        if len(saved) == 1:
            name = next(iter(saved))
        elif not saved:
            return SANDBOX_CONNECTION, base
        else:
            raise ConfigError(
                f"Several connections are saved ({', '.join(sorted(saved))}); choose one with "
                "--connection NAME (or the API's `connection` field)."
            )
    if name == ENV_CONNECTION and not base.uses_embedded_sandbox:
        return ENV_CONNECTION, base
    if name == SANDBOX_CONNECTION and base.uses_embedded_sandbox and not saved:
        return SANDBOX_CONNECTION, base
    if name not in saved:
        raise UnknownConnection(name, sorted(saved))
    connection = saved[name]
    refuse_if_failed(connection)
    return name, connection.settings(base)


__all__ = [
    "ENV_CONNECTION",
    "SANDBOX_CONNECTION",
    "Connection",
    "ConnectionFailed",
    "LastTest",
    "UnknownConnection",
    "check_name",
    "from_settings",
    "load_connections",
    "refuse_if_failed",
    "resolve",
    "save_connection",
    "with_last_test",
]
