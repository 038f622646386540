"""A real Redis server for the tests: `redis-server` on a free loopback port, in a temporary directory.

Started once per test session by the `redis_url` fixture (tests/conftest.py); readiness is read from
the server's own log line, not guessed with a sleep. Tests that need it are skipped, with the reason,
only when the binary is not installed (`apt-get install -y redis-server`; `.ci/run` installs it).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

READY = "Ready to accept connections"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server(timeout: float = 20.0) -> Iterator[str]:
    """Yield `redis://127.0.0.1:PORT/0` of a fresh, persistence-free server; stop it afterwards."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not installed (apt-get install -y redis-server)")
    with tempfile.TemporaryDirectory(prefix="bbscout-redis-") as workdir:
        port = _free_port()
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                workdir,
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
                "--loglevel",
                "notice",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready = threading.Event()
        log: list[str] = []

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                log.append(line)
                if READY in line:
                    ready.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            if not ready.wait(timeout):
                raise RuntimeError("redis-server did not start:\n" + "".join(log[-20:]))
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            reader.join(timeout=5)
