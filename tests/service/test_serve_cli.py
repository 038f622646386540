"""`bbscout serve` and `bbscout apikey` as a person runs them: one command, clear refusals."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import httpx

from tests.service.replicas import BBSCOUT, Replica


def isolated(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BITBUCKET_", "OPENAI_", "BBSCOUT_"))}
    return (
        env
        | {
            "BBSCOUT_CONFIG": str(tmp_path / "config.toml"),
            "BBSCOUT_DATA_DIR": str(tmp_path / "data"),
            "BBSCOUT_CACHE_DIR": str(tmp_path / "cache"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        }
        | extra
    )


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BBSCOUT, *args], env=env, capture_output=True, text=True, timeout=60)


def test_one_command_serves_with_a_first_key_shown_once(tmp_path: Path) -> None:
    replica = Replica(isolated(tmp_path))  # no key configured, loopback: one is made
    try:
        log = "".join(replica.log)
        key = re.search(r"\b(bbs_[\w-]{20,})", log)
        assert key and "Shown only now" in log and "SQLite" in log
        assert key.group(1) not in (tmp_path / "config.toml").read_text()  # only its hash is kept
        ok = httpx.get(
            f"{replica.origin}/v1/connections", headers={"Authorization": f"Bearer {key.group(1)}"}
        )
        assert ok.status_code == 200 and ok.json()["connections"][0]["name"] == "sandbox"
        page = httpx.get(f"{replica.origin}/")
        assert page.status_code == 200 and "<title>bbscout</title>" in page.text
    finally:
        replica.stop()


def test_serving_beyond_loopback_needs_keys(tmp_path: Path) -> None:
    result = run(["serve", "--host", "0.0.0.0", "--port", "0"], isolated(tmp_path))
    assert (
        result.returncode == 2
        and "not a loopback address" in result.stderr
        and "bbscout apikey" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_an_unreachable_or_wrong_database_is_a_clear_error(tmp_path: Path) -> None:
    keyed = run(["apikey", "ops", "--quota", "50"], isolated(tmp_path))
    assert keyed.returncode == 0 and keyed.stdout.startswith("bbs_")
    assert '"quota_per_hour": 50' in keyed.stderr and keyed.stdout.strip() not in keyed.stderr
    down = run(
        ["serve", "--port", "0"], isolated(tmp_path, BBSCOUT_DATABASE_URL="postgresql://x@127.0.0.1:9/db")
    )
    assert (
        down.returncode == 2 and "PostgreSQL is unavailable" in down.stderr and "Traceback" not in down.stderr
    )
    wrong = run(["serve", "--port", "0"], isolated(tmp_path, BBSCOUT_DATABASE_URL="mysql://x@db/bbscout"))
    assert wrong.returncode == 2 and "must be a PostgreSQL URL" in wrong.stderr
    keys = run(
        ["serve", "--port", "0"], isolated(tmp_path, BBSCOUT_API_KEYS=json.dumps({"x": {"hash": "md5:1"}}))
    )
    assert keys.returncode == 2 and "api_keys" in keys.stderr and "Traceback" not in keys.stderr
