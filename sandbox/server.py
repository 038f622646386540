"""Run the sandbox app over real loopback HTTP (uvicorn in a background thread).

    with LoopbackServer(create_app(world)) as server:
        httpx.get(server.base_url + "/user", auth=...)

Works as a sync or async context manager.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType
from typing import Any, Literal

import uvicorn

__all__ = ["LoopbackServer"]

STARTUP_TIMEOUT_S = 60.0  # a bound on a hang, not a wait: start() returns as soon as the server is up


class _Server(uvicorn.Server):
    """uvicorn's server, signalling `up` once it accepts connections."""

    def __init__(self, config: uvicorn.Config, up: threading.Event) -> None:
        super().__init__(config)
        self.up = up

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.up.set()


class LoopbackServer:
    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0, lifespan: Literal["on", "off"] = "off"
    ) -> None:
        self.app = app
        self.lifespan = lifespan
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._settled = threading.Event()  # the server is up, or its thread has ended
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/2.0"

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        # proto=IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted sockets (else 40 ms delayed-ACK stalls)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._sock = sock
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan=self.lifespan,
            timeout_graceful_shutdown=1,
        )
        self._settled.clear()
        self._server = _Server(config, self._settled)
        self._thread = threading.Thread(target=self._run, name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        if not self._settled.wait(timeout=STARTUP_TIMEOUT_S) or not self._server.started:
            raise RuntimeError("sandbox server failed to start")

    def _run(self) -> None:
        assert self._server is not None and self._sock is not None
        try:
            asyncio.run(self._server.serve(sockets=[self._sock]))
        finally:
            self._settled.set()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None

    def __enter__(self) -> LoopbackServer:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> LoopbackServer:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)
