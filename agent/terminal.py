"""The chat prompt: lines read by the event loop, and a Ctrl-C that is never lost.

A blocking `input()` inside `asyncio.run` cannot be interrupted: asyncio's SIGINT handler only
cancels the main task, which a thread stuck in `read()` never notices, so Ctrl-C at the prompt waited
for Enter. Here the loop itself waits for stdin, and SIGINT reaches it through its wakeup fd
(`add_signal_handler`), so even a Ctrl-C that lands just before the loop sleeps wakes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = ["PromptReader", "ctrl_c_cancels"]

_CHUNK = 1 << 16


class PromptReader:
    """Reads lines from `stdin` without blocking the event loop (a pipe, a terminal or a file)."""

    def __init__(self, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
        self._fd = stdin.fileno()
        self._stdout = stdout
        self._pending = b""
        self._eof = False

    async def readline(self, prompt: str) -> str:
        """Show `prompt`, return the next line without its newline; EOFError at end of input (Ctrl-D)."""
        self._stdout.write(prompt)
        self._stdout.flush()
        while b"\n" not in self._pending and not self._eof:
            chunk = await self._read()
            self._pending += chunk
            self._eof = not chunk
        if not self._pending:
            raise EOFError
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode("utf-8", errors="replace")

    async def _read(self) -> bytes:
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not readable.done():
                readable.set_result(None)

        try:
            loop.add_reader(self._fd, wake)
        except PermissionError:  # a regular file cannot be polled, and reading it never blocks
            return os.read(self._fd, _CHUNK)
        try:
            await readable
        finally:
            loop.remove_reader(self._fd)
        return os.read(self._fd, _CHUNK)


@contextlib.contextmanager
def ctrl_c_cancels(task: asyncio.Task[Any]) -> Iterator[None]:
    """While inside, SIGINT cancels `task` through the running loop's wakeup fd."""
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, task.cancel)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)
