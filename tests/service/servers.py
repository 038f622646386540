"""Real PostgreSQL and Redis servers for the tests, on free loopback ports in temp dirs.

PostgreSQL refuses to run as root, so as root (CI) `initdb` and `pg_ctl` run as the `postgres`
user through `runuser`. `pg_ctl -w` returns once the server accepts connections; Redis is ready
when it prints so. Both are stopped (and can be stopped and restarted mid-test, for outages).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

PG_BIN = next(
    (
        p
        for p in (Path("/usr/lib/postgresql") / v / "bin" for v in ("17", "16", "15"))
        if (p / "pg_ctl").exists()
    ),
    Path(shutil.which("pg_ctl") or "/usr/bin/pg_ctl").parent,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def missing(*programs: str) -> str | None:
    """A skip reason naming what is not installed (`.ci/run` installs it), or None."""
    absent = [p for p in programs if not (shutil.which(p) or (PG_BIN / p).exists())]
    return f"not installed: {', '.join(absent)} (apt-get install postgresql redis-server)" if absent else None


class Postgres:
    """One throw-away cluster: `url` for clients, `stop()`/`start()` for outages."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "pgdata"
        self.port = free_port()
        self.url = f"postgresql://bbscout@127.0.0.1:{self.port}/bbscout"
        self._as_user: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, timeout=60)

    def create(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self._as_user:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "bbscout", "--auth=trust", "-E", "UTF8")
        self.start()
        self._run(
            str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "bbscout", "bbscout"
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c max_connections=200 -c fsync=off"
        )
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")


class Redis:
    """One throw-away redis-server without persistence."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
                "--protected-mode",
                "no",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if "Ready to accept connections" in line:
                threading.Thread(target=self.proc.stdout.read, daemon=True).start()  # keep draining
                return
        raise RuntimeError(f"redis-server exited with {self.proc.wait()}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None
