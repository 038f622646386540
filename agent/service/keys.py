"""API keys: random bearer tokens that the service knows only by their SHA-256.

A key is shown once, when `bbscout apikey NAME` makes it; the configuration keeps `sha256:<hex>` and
an hourly request quota. Keys are 256-bit random, so a plain SHA-256 (not a slow password hash) is
the right tool, and lookups compare digests in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import tomlkit
from pydantic import BaseModel, Field

from bbscout.agent.settings import ConfigError, config_path

KEY_PREFIX = "bbs_"
DEFAULT_QUOTA_PER_HOUR = 600


class ApiKey(BaseModel):
    """One configured key: its digest and its hourly request quota."""

    hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    quota_per_hour: int = Field(default=DEFAULT_QUOTA_PER_HOUR, ge=1)


def digest(raw: str) -> str:
    return "sha256:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def find_key(raw: str, keys: dict[str, ApiKey]) -> str | None:
    """The name of the key whose digest matches `raw`, or None."""
    candidate = digest(raw)
    found = None
    for name, key in keys.items():
        if hmac.compare_digest(candidate, key.hash):
            found = name
    return found


def save_key(name: str, key: ApiKey, path: Path | None = None) -> Path:
    """Add or replace `[api_keys.NAME]` in the config file, keeping the rest as the user wrote it."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"{name!r} cannot name an API key: use letters, digits, '-' and '_'.")
    path = path or config_path()
    doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    tables = doc.setdefault("api_keys", tomlkit.table(is_super_table=True))
    table = tomlkit.table()
    table["hash"] = key.hash
    table["quota_per_hour"] = key.quota_per_hour
    tables[name] = table
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(tomlkit.dumps(doc))
    return path
