r"""Hostile Bitbucket servers on loopback: the sandbox API with some paths answered by a saboteur.

    app = hostile(create_app(world), {r"/pipelines/$": hang(), r"/repositories/acme\?": gzip_bomb()})
    with LoopbackServer(app) as server: ...   # real HTTP/1.1 over 127.0.0.1 (uvicorn)

Each behaviour is a raw ASGI callable, so a scenario controls every byte and every pause: a server
that never answers, trickles one byte at a time, bombs, lies about shapes or redirects elsewhere.
Paths not matched by a rule get the sandbox's honest answer.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import struct
import zlib
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = [
    "gzip_bomb",
    "hang",
    "hostile",
    "huge_listing",
    "respond",
    "trickle",
]


class Hostile:
    """Routes a request to the first rule whose regex matches `path?query` (after the API base)."""

    def __init__(self, inner: ASGI, rules: dict[str, ASGI]) -> None:
        self.inner = inner
        self.rules = [(re.compile(pattern), behaviour) for pattern, behaviour in rules.items()]
        self.hits: dict[str, int] = dict.fromkeys(rules, 0)
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        target = raw + (f"?{query}" if query else "")
        self.paths.append(target)
        for pattern, behaviour in self.rules:
            if pattern.search(target):
                self.hits[pattern.pattern] += 1
                await behaviour(scope, receive, send)
                return
        await self.inner(scope, receive, send)


def hostile(inner: ASGI, rules: dict[str, ASGI]) -> Hostile:
    return Hostile(inner, rules)


def _headers(pairs: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs]


def respond(body: bytes | str | Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> ASGI:
    """A fixed answer; non-bytes bodies are sent as JSON (a str is sent as its JSON encoding)."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    extra = list(headers)
    if not any(k.lower() == "content-type" for k, _ in extra):
        extra.append(("content-type", "application/json"))

    async def behaviour(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": _headers([*extra, ("content-length", str(len(payload)))]),
            }
        )
        await send({"type": "http.response.body", "body": payload})

    return behaviour


def hang() -> ASGI:
    """Accept the request and never answer."""

    async def behaviour(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            while (await receive())["type"] != "http.disconnect":
                pass
        except asyncio.CancelledError:  # the server is shutting down under a client still waiting
            return

    return behaviour


def trickle(body: bytes = b'{"values": []}', every: float = 0.05) -> ASGI:
    """Send the headers at once, then the body one byte every `every` seconds (each read succeeds)."""

    async def behaviour(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": _headers(
                    [("content-type", "application/json"), ("content-length", str(len(body)))]
                ),
            }
        )
        for i in range(len(body)):
            await asyncio.sleep(every)
            await send({"type": "http.response.body", "body": body[i : i + 1], "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return behaviour


@functools.cache
def gzip_bomb_bytes(size: int = 1 << 30) -> bytes:
    """A valid gzip of `{"values":[` + `size` spaces + `]}` (about 1 MB on the wire for 1 GB).

    One 1 MiB block is deflated after a full flush, so its bytes can be repeated verbatim.
    """
    block = b" " * (1 << 20)
    head, tail = b'{"values":[', b"]}"
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    middle = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    end = c.compress(tail) + c.flush()
    blocks = size // len(block)
    crc = zlib.crc32(head)
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    total = len(head) + blocks * len(block) + len(tail)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    return header + start + middle * blocks + end + struct.pack("<II", crc, total & 0xFFFFFFFF)


def gzip_bomb(size: int = 1 << 30) -> ASGI:
    """About 1 MB of gzip that inflates to `size` bytes of JSON."""
    return respond(gzip_bomb_bytes(size), headers=[("content-encoding", "gzip")])


def huge_listing(megabytes: int = 50) -> ASGI:
    """A well-formed repository page of `megabytes` MB, streamed in 64 KiB chunks (chunked encoding)."""
    item = b'{"slug": "repo-%08d", "name": "Repository %08d", "description": "' + b"x" * 400 + b'"}'
    target = megabytes * 1_000_000

    async def behaviour(scope: Scope, receive: Receive, send: Send) -> None:
        gone = asyncio.Event()

        async def watch() -> None:  # stop streaming once the client hangs up
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": _headers([("content-type", "application/json")]),
            }
        )
        sent, n, buf = 0, 0, bytearray(b'{"values": [')
        while sent < target and not gone.is_set():
            while len(buf) < 65536:
                buf += (b"," if n else b"") + item % (n, n)
                n += 1
            await send({"type": "http.response.body", "body": bytes(buf), "more_body": True})
            sent += len(buf)
            buf.clear()
        watcher.cancel()
        if not gone.is_set():
            await send({"type": "http.response.body", "body": b'], "pagelen": 100}'})

    return behaviour
