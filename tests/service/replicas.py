"""Two `bbscout serve` processes on loopback, sharing one PostgreSQL and one Redis."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.service.servers import Postgres, Redis

BBSCOUT = str(Path(sys.executable).parent / "bbscout")
READY = re.compile(r"bbscout serving on (http://127\.0\.0\.1:\d+)/")


class Replica:
    """`bbscout serve --port 0`; `origin` is known once it says it is listening."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [BBSCOUT, "serve", "--port", "0", "--planner", "rules", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)
            found = READY.search(line)
            if found:
                self.origin = found.group(1)
                break
        else:
            raise RuntimeError(f"bbscout serve exited ({self.proc.wait()}):\n{''.join(self.log)}")
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def replica_env(
    base: dict[str, str], data_dir: Path, database_url: str, redis_url: str, keys: dict[str, object]
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BITBUCKET_", "OPENAI_", "BBSCOUT_"))}
    return (
        env
        | base
        | {
            "BBSCOUT_DATA_DIR": str(data_dir),
            "BBSCOUT_DATABASE_URL": database_url,
            "BBSCOUT_REDIS_URL": redis_url,
            "BBSCOUT_API_KEYS": json.dumps(keys),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        }
    )


@dataclass
class Stack:
    """A scratch folder with a PostgreSQL and a Redis to start in it, and the replicas run on them."""

    root: Path
    postgres: Postgres
    redis: Redis
    replicas: list[Replica] = field(default_factory=list)


@contextlib.contextmanager
def stack() -> Iterator[Stack]:
    """A `Stack` whose replicas, servers and folder are gone afterwards, whatever happened (benchmarks)."""
    root = Path(tempfile.mkdtemp(prefix="bbscout-bench-"))
    os.chmod(root, 0o755)
    made = Stack(root, Postgres(root / "pg"), Redis(root / "redis"))
    try:
        yield made
    finally:
        for replica in made.replicas:
            replica.stop()
        made.redis.stop()
        if (root / "pg" / "pgdata").exists():
            made.postgres.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
