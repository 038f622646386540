"""What one answer and one run may cost: size caps on decompressed bytes, and the run's deadline.

A response body is inflated here, from the raw stream, in pieces of at most `PIECE` bytes (httpx
would inflate a whole network read at once: 64 KiB of a bomb is 64 MiB), so a gzip bomb is stopped
at the cap, not after it has inflated. Three ways to read: `head` (JSON: over the cap is an error, the
caller raises `InvalidResponse`), `cut` (text: keep the first `cap` bytes) and `tail` (a log: keep
the last `cap` bytes while streaming, so memory stays at twice the tail whatever the size).

`RunDeadline` is the per-run time limit: every request and every retry wait draws on what is left.
"""

from __future__ import annotations

import math
import typing
import zlib
from collections.abc import Iterator

import httpx

__all__ = [
    "ACCEPT_ENCODING",
    "DEFAULT_MAX_ERROR_BYTES",
    "DEFAULT_MAX_JSON_BYTES",
    "DEFAULT_MAX_TEXT_BYTES",
    "PIECE",
    "Body",
    "RunDeadline",
    "TooLarge",
    "human_bytes",
    "read_body",
]

DEFAULT_MAX_JSON_BYTES = 8 << 20  # one JSON page; trimmed Bitbucket pages are well under 1 MiB
DEFAULT_MAX_TEXT_BYTES = 4 << 20  # a diff or file read whole; longer ones are cut
DEFAULT_MAX_ERROR_BYTES = 64 << 10  # an error body: only its message is used
PIECE = 256 << 10  # most bytes one inflate step may produce
ACCEPT_ENCODING = "gzip, deflate"  # what `read_body` can inflate piece by piece

ReadMode = typing.Literal["head", "cut", "tail"]


class TooLarge(Exception):
    """The decompressed body passed the cap (`head` mode)."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"more than {human_bytes(cap)}")
        self.cap = cap


class Body(typing.NamedTuple):
    data: bytes
    nbytes: int  # decompressed bytes read (may exceed len(data) for `tail`)
    cut: bool  # some bytes were left out


def human_bytes(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    if n >= 1 << 10 and n % (1 << 10) == 0:
        return f"{n >> 10} KiB"
    return f"{n:,} bytes"


class _Inflater:
    """gzip/deflate inflated in bounded pieces (`identity` passes through)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        if encoding in ("", "identity"):
            self._z = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self._z = zlib.decompressobj(zlib.MAX_WBITS)
        else:
            raise httpx.DecodingError(f"unsupported content-encoding {encoding!r}")
        self._first = True

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._z is None:
            yield data
            return
        try:
            yield from self._inflate(data)
        except zlib.error as exc:
            if not (self.encoding == "deflate" and self._first):
                raise httpx.DecodingError(f"corrupt {self.encoding} body ({exc})") from None
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send it
            yield from self._inflate(data)

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        assert self._z is not None
        while True:
            piece = self._z.decompress(data, PIECE)
            self._first = False
            if piece:
                yield piece
            data = self._z.unconsumed_tail
            if not data and len(piece) < PIECE:
                return


async def _inflated(response: httpx.Response, encoding: str) -> typing.AsyncIterator[bytes]:
    if response.is_stream_consumed:  # built in memory (a test transport): httpx has decoded it
        yield response.content
        return
    inflater = _Inflater(encoding)
    async for raw in response.aiter_raw():
        for piece in inflater.feed(raw):
            yield piece


async def read_body(response: httpx.Response, cap: int, mode: ReadMode) -> Body:
    """Read `response` within `cap` inflated bytes (see the module docstring for the modes)."""
    declared = response.headers.get("content-length", "")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if mode == "head" and declared.isdigit() and encoding in ("", "identity") and int(declared) > cap:
        raise TooLarge(cap)
    buf = bytearray()
    total = 0
    cut = False
    async for chunk in _inflated(response, encoding):
        total += len(chunk)
        buf += chunk
        if len(buf) <= cap:
            continue
        if mode == "head":
            raise TooLarge(cap)
        if mode == "cut":
            del buf[cap:]
            return Body(bytes(buf), total, True)
        if len(buf) > 2 * cap:
            del buf[:-cap]
            cut = True
    if len(buf) > cap:
        del buf[:-cap]
        cut = True
    return Body(bytes(buf), total, cut)


class RunDeadline:
    """The run's time limit on an injectable monotonic clock; `None` seconds means no limit."""

    def __init__(self, seconds: float | None, clock: typing.Callable[[], float]) -> None:
        if seconds is not None and not (seconds > 0 and math.isfinite(seconds)):
            raise ValueError("the run timeout must be a positive number of seconds")
        self.seconds = seconds
        self._clock = clock
        self._ends = None if seconds is None else clock() + seconds

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None without a limit."""
        return None if self._ends is None else max(0.0, self._ends - self._clock())
