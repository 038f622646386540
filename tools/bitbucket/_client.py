"""`BitbucketClient`: async, read-only, frugal client for the Bitbucket Cloud REST API 2.0.

Request path (every byte goes through `_send`):

    get_json / get_text / paginate            (answers that do not fit the endpoint → InvalidResponse)
      → cache lookup + single flight          (`_cached`)
      → retries, redirects, status → errors   (`_fetch`; waits draw on the run's deadline)
      → read-only guard, budget, hourly limit, accounting, one HTTP attempt   (`_send`)
      → a total deadline per request (`timeout`, not per read), capped decompressed bytes (`_limits`)

A hostile or broken server costs at most `timeout` seconds per attempt, the run's deadline
(`start_run`) in all, and `max_json_bytes`/`max_text_bytes` of memory per answer. Credentials go only
to the API origin under the base path, over https (or loopback, or with `allow_http`).

The transport is injectable (`transport=httpx.MockTransport(...)` or `httpx.ASGITransport(app)` in
tests); sleeping, the clock and jitter randomness are injectable too, so tests never wait.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import enum
import json
import logging
import random
import time
import typing
from dataclasses import dataclass
from datetime import date, datetime

import httpx

from bbscout.tools.bitbucket._auth import BasicAuth, BearerAuth
from bbscout.tools.bitbucket._bbql import Query
from bbscout.tools.bitbucket._cache import CachedResponse, CacheMode, ResponseCache, cache_key
from bbscout.tools.bitbucket._errors import (
    AuthError,
    BadRequest,
    BitbucketError,
    BudgetExhausted,
    DeadlineExceeded,
    Gone,
    InvalidResponse,
    NotFound,
    RateLimited,
    ReadOnlyViolation,
    ScopeError,
    ServerError,
    TransportFailure,
    humanize_wait,
)
from bbscout.tools.bitbucket._limits import (
    ACCEPT_ENCODING,
    DEFAULT_MAX_ERROR_BYTES,
    DEFAULT_MAX_JSON_BYTES,
    DEFAULT_MAX_TEXT_BYTES,
    ReadMode,
    RunDeadline,
    TooLarge,
    human_bytes,
    read_body,
)
from bbscout.tools.bitbucket._pagination import collection_fields, join_fields, max_pagelen
from bbscout.tools.bitbucket._ratelimit import HourlyLimiter
from bbscout.tools.bitbucket._retry import (
    DEFAULT_RETRY,
    ONCE_STATUSES,
    RETRY_STATUSES,
    RetryConfig,
    backoff_delay,
    parse_retry_after,
)
from bbscout.tools.bitbucket._shared import SharedCache, credential_identity
from bbscout.tools.bitbucket._stats import RequestEvent, RequestStats, endpoint_template
from bbscout.tools.bitbucket._store import Store
from bbscout.tools.bitbucket._urls import check_base_url, segment

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_REDIRECTS",
    "TEXT_ACCEPT",
    "BitbucketClient",
    "Params",
    "RequestCount",
    "count_requests",
    "last_endpoint",
    "valid_workspace",
]

logger = logging.getLogger("bbscout.tools.bitbucket")

DEFAULT_BASE_URL = "https://api.bitbucket.org/2.0"
DEFAULT_MAX_REDIRECTS = 5
TEXT_ACCEPT = "text/plain, application/octet-stream"
JSON_ACCEPT = "application/json"
_SAFE_METHODS = frozenset({"GET", "HEAD"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_FORBIDDEN_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "host"})
_MASK = "**********"
ANNOUNCE_WAIT_SECONDS = 3.0  # retry waits at least this long are reported through `on_wait`
MIN_SCRUB_CHARS = 8
TIMEOUT_ATTEMPTS = 2  # a request that timed out is tried once more, not `max_attempts` times

_LAST_ENDPOINT: contextvars.ContextVar[str | None] = contextvars.ContextVar("bb_last_endpoint", default=None)


@dataclass
class RequestCount:
    """HTTP requests sent inside one `count_requests()` block (and the tasks it started), and the
    responses a cache or another process's request answered instead (`served`): together, what the block
    needed, whoever paid for it."""

    count: int = 0
    served: int = 0


_COUNTS: contextvars.ContextVar[tuple[RequestCount, ...]] = contextvars.ContextVar("bb_counts", default=())


@contextlib.contextmanager
def count_requests() -> typing.Iterator[RequestCount]:
    """Count the requests this task (and the tasks it starts) sends, not those of concurrent tasks.

    Steps run concurrently on one client, so the client's own total moves with all of them; a step's cost
    is what its own task sent. Blocks nest: each counts everything sent inside it.
    """
    counter = RequestCount()
    token = _COUNTS.set((*_COUNTS.get(), counter))
    try:
        yield counter
    finally:
        _COUNTS.reset(token)


def last_endpoint() -> str | None:
    """The endpoint template this task last asked for (names the source of data a caller cannot read)."""
    return _LAST_ENDPOINT.get()


Params = typing.Mapping[str, typing.Any] | typing.Sequence[tuple[str, typing.Any]] | None
Settled = typing.Callable[[typing.Any], bool]


class _RequestTimeout(httpx.TimeoutException):
    """The total per-request deadline passed (httpx's own timeouts restart with every read)."""


class _ErrorFields(typing.TypedDict):
    """The keyword arguments every error built from a response carries."""

    status: int
    endpoint: str
    server_message: str | None


@dataclass
class _Raw:
    status: int
    headers: httpx.Headers
    url: httpx.URL
    body: bytes
    nbytes: int


def _format_param(value: typing.Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Query):
        return str(value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def _normalize_params(params: Params) -> list[tuple[str, str]]:
    if params is None:
        return []
    items: typing.Iterable[tuple[str, typing.Any]]
    items = params.items() if isinstance(params, typing.Mapping) else params
    out: list[tuple[str, str]] = []
    for key, value in items:
        if value is None:
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            out.extend((str(key), _format_param(v)) for v in value if v is not None)
        else:
            out.append((str(key), _format_param(value)))
    return out


def _decode(body: bytes, content_type: str) -> str:
    charset = "utf-8"
    for part in content_type.split(";")[1:]:
        name, _, val = part.strip().partition("=")
        if name.lower() == "charset" and val:
            charset = val.strip('"')
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def _trim_partial_utf8(tail: bytes) -> bytes:
    """Drop UTF-8 continuation bytes at the start of a byte tail (a cut-off multibyte character)."""
    i = 0
    while i < min(3, len(tail)) and 0x80 <= tail[i] <= 0xBF:
        i += 1
    return tail[i:]


def _error_payload(body: bytes) -> tuple[str | None, typing.Any, typing.Any]:
    """(message, detail, data) from Bitbucket's error body; tolerant of any shape."""
    try:
        doc = json.loads(body) if body else None
    except ValueError:
        text = body[:300].decode("utf-8", errors="replace").strip()
        return (text or None), None, None
    if not isinstance(doc, dict):
        return None, None, None
    err = doc.get("error")
    if isinstance(err, dict):
        msg = err.get("message")
        return (str(msg) if msg is not None else None), err.get("detail"), err.get("data")
    if isinstance(err, str):
        return err, None, None
    msg = doc.get("message")
    return (str(msg) if msg is not None else None), None, None


def _str_list(value: typing.Any) -> list[str]:
    if isinstance(value, str):
        return [s.strip() for s in value.replace(",", " ").split() if s.strip()]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None]
    return []


class _ReadOnlyTransport(httpx.AsyncBaseTransport):
    """Second line of defence: even a request built around `_send` cannot leave with a write method."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method.upper() not in _SAFE_METHODS:
            raise ReadOnlyViolation(f"refusing to send {request.method}: the Bitbucket client is read-only")
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class BitbucketClient:
    """Async read-only Bitbucket Cloud client. Use as `async with BitbucketClient(...) as bb:`.

    * `budget`: max HTTP requests (attempts and redirect hops; cache hits are free) for the
      client's lifetime; `None` = unlimited. Exceeding it raises `BudgetExhausted` before sending.
    * `hourly_limit`: client-side rolling-hour cap on requests to the API host; raises
      `RateLimited` (no request sent) instead of exceeding it.
    * `cache`: a `ResponseCache` (possibly shared between clients); `None` gives the client a
      private one. Use `cache="none"` per call to bypass.
    * `store`: a `Store` shared with other processes (SQLite, Redis): the second cache level for
      immutable responses, and the hourly request ledger of this credential. `None`: this process only.
      `cache_scope` narrows its cache entries further (e.g. to one generated sandbox world).
    * `on_request(event)`: called after every HTTP attempt and every cache hit
      (`event.from_cache`); exceptions it raises are logged and swallowed.
    * `timeout`: total seconds for one attempt (connect, headers and the whole body).
    * `start_run(seconds)`: the run's deadline; requests and retry waits draw on what is left.
    * `max_json_bytes` / `max_text_bytes`: caps on the decompressed bytes of one answer.
    * `on_wait(seconds, why)`: told before a retry wait of `ANNOUNCE_WAIT_SECONDS` or more.
    * `allow_http`: permit plain http:// to a non-loopback host (an injected transport implies it).
    """

    def __init__(
        self,
        *,
        workspace: str,
        auth: BasicAuth | BearerAuth | None,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 20.0,
        retry: RetryConfig = DEFAULT_RETRY,
        budget: int | None = 300,
        cache: ResponseCache | None = None,
        hourly_limit: int = 1000,
        on_request: typing.Callable[[RequestEvent], None] | None = None,
        sleep: typing.Callable[[float], typing.Awaitable[None]] = asyncio.sleep,
        clock: typing.Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        max_json_bytes: int = DEFAULT_MAX_JSON_BYTES,
        max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES,
        on_wait: typing.Callable[[float, str], None] | None = None,
        allow_http: bool = False,
        store: Store | None = None,
        cache_scope: str = "",
    ) -> None:
        if not valid_workspace(workspace):
            raise ValueError("workspace must be a workspace slug (bitbucket.org/WORKSPACE/...) or {uuid}")
        if auth is not None and not isinstance(auth, (BasicAuth, BearerAuth)):
            raise TypeError("auth must be BasicAuth, BearerAuth or None")
        if budget is not None and budget < 0:
            raise ValueError("budget must be >= 0 or None")
        self.workspace = workspace.strip()
        self._auth = auth
        self._base = check_base_url(base_url, allow_http=allow_http or transport is not None)
        self._base_str = str(self._base).rstrip("/")
        self._base_path = self._base.path.rstrip("/")
        self._retry = retry
        self._budget = budget
        self._cache = cache if cache is not None else ResponseCache()
        self._on_request = on_request
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._max_redirects = max_redirects
        self._timeout = timeout
        self._max_json_bytes = max_json_bytes
        self._max_text_bytes = max_text_bytes
        self._on_wait = on_wait
        self._deadline = RunDeadline(None, clock)
        self.unreadable: collections.Counter[str] = collections.Counter()  # endpoint → items skipped
        self.stats = RequestStats()
        identity = credential_identity(auth)
        self._shared = (
            SharedCache(
                store, base_url=self._base_str, workspace=self.workspace, identity=f"{identity} {cache_scope}"
            )
            if store is not None
            else None
        )
        self._limiter = HourlyLimiter(
            hourly_limit,
            clock if clock is not time.monotonic else time.time,
            store=store,
            ledger=f"{self._base.host}|{identity}",
        )
        self._secrets: tuple[str, ...] = auth.secret_values() if auth is not None else ()
        self._http = httpx.AsyncClient(
            transport=_ReadOnlyTransport(transport or httpx.AsyncHTTPTransport(retries=0)),
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            headers={"User-Agent": "bbscout/0.1 (+read-only)", "Accept-Encoding": ACCEPT_ENCODING},
        )
        self._closed = False

    # lifecycle ---------------------------------------------------------------------------------
    async def __aenter__(self) -> typing.Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._http.aclose()

    def __repr__(self) -> str:
        return (
            f"BitbucketClient(workspace={self.workspace!r}, base_url={self._base_str!r}, "
            f"auth={self._auth!r}, requests={self.stats.requests}, budget={self._budget!r})"
        )

    def start_run(self, seconds: float | None) -> None:
        """Start the run's deadline: from now on, requests and waits fit in `seconds` (None: no limit)."""
        self._deadline = RunDeadline(seconds, self._clock)

    # public properties -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self._base_str

    @property
    def cache(self) -> ResponseCache:
        return self._cache

    @property
    def budget(self) -> int | None:
        return self._budget

    @property
    def remaining_budget(self) -> int | None:
        """HTTP requests left in the run budget (None = unlimited)."""
        if self._budget is None:
            return None
        return max(0, self._budget - self.stats.requests)

    @property
    def hourly_remaining(self) -> int:
        """Requests left this hour for this credential, across every process sharing the store."""
        return self._limiter.remaining

    @property
    def hourly_limit(self) -> int:
        """The hour's allowance: Bitbucket's `X-RateLimit-Limit` once seen, else the configured limit."""
        return self._limiter.limit

    @property
    def hourly_source(self) -> str:
        return self._limiter.source

    async def refresh_hourly(self) -> int:
        """Read the shared ledger (other processes' requests); returns the requests left this hour."""
        return await self._limiter.refresh()

    # path helpers ------------------------------------------------------------------------------
    @staticmethod
    def segment(value: str | int) -> str:
        """Percent-encode one path segment (`feat/x` → `feat%2Fx`; `..` → `%2E%2E`, never a traversal)."""
        return segment(value)

    def repo_path(self, repo: str, *parts: str | int) -> str:
        """`/repositories/{workspace}/{repo}/part/...` with every segment percent-encoded."""
        segs = [self.segment(self.workspace), self.segment(repo), *(self.segment(p) for p in parts)]
        return "/repositories/" + "/".join(segs)

    def workspace_path(self, *parts: str | int) -> str:
        """`/workspaces/{workspace}/part/...` with every segment percent-encoded."""
        return "/workspaces/" + "/".join([self.segment(self.workspace), *(self.segment(p) for p in parts)])

    # public API --------------------------------------------------------------------------------
    async def get_json(
        self,
        path: str,
        params: Params = None,
        *,
        fields: str | typing.Sequence[str] | None = None,
        cache: CacheMode = "listing",
        settled: Settled | None = None,
    ) -> dict[str, typing.Any]:
        """GET a JSON resource. `fields` is joined with commas (a leading `+` goes out as `%2B`).

        `settled(document)` → True marks a response that can no longer change (a completed pipeline,
        a merged pull request): it is then kept like an immutable one.
        """
        url = self._url(path)
        query = _normalize_params(params)
        joined = join_fields(fields)
        if joined is not None:
            if any(k == "fields" for k, _ in query):
                raise ValueError("pass fields either in params or as fields=, not both")
            query.append(("fields", joined))
        headers = {"Accept": JSON_ACCEPT}

        async def fetch() -> _Raw:
            return await self._fetch(url, query, headers, expect_json=True)

        _LAST_ENDPOINT.set(self._endpoint_for(url))
        keep = self._keep_when(settled) if settled is not None else None
        value = await self._cached(url, query, "json", cache, fetch, keep)
        doc = self._parse_json(value.body)
        if not isinstance(doc, dict):
            raise InvalidResponse(
                f"Bitbucket answered with a JSON {_json_type(doc)} where an object was expected",
                status=value.status,
                endpoint=self._endpoint_for(url),
            )
        return doc

    def _keep_when(self, settled: Settled) -> typing.Callable[[bytes], bool]:
        """A body is kept as settled only when it is a JSON object the endpoint's rule calls settled."""

        def keep(body: bytes) -> bool:
            try:
                doc = self._parse_json(body)
            except ValueError:
                return False
            return isinstance(doc, dict) and settled(doc)

        return keep

    async def get_text(
        self,
        path: str,
        params: Params = None,
        *,
        headers: typing.Mapping[str, str] | None = None,
        cache: CacheMode = "listing",
        tail_bytes: int | None = None,
    ) -> str:
        """GET a text resource (diff, raw file, step log). Follows redirects; auth stays on the API host.

        `tail_bytes=N` asks for the last N bytes with `Range: bytes=-N` and falls back to a full
        (streamed) GET that keeps only the tail when the server answers 416/503 or ignores the range.
        """
        url = self._url(path)
        query = _normalize_params(params)
        hdrs = {"Accept": TEXT_ACCEPT}
        for name, value in (headers or {}).items():
            if name.lower() in _FORBIDDEN_HEADERS:
                raise ValueError(f"header {name!r} cannot be set per call")
            if name.lower() == "range" and tail_bytes is not None:
                raise ValueError("pass either a Range header or tail_bytes, not both")
            hdrs[name] = value
        variant = "text " + " ".join(f"{k.lower()}={v}" for k, v in sorted(hdrs.items()))
        if tail_bytes is None:

            async def fetch() -> _Raw:
                return await self._fetch(url, query, hdrs, expect_json=False)

        else:
            if tail_bytes <= 0:
                raise ValueError("tail_bytes must be > 0")
            variant += f" tail={tail_bytes}"

            async def fetch() -> _Raw:
                ranged = {**hdrs, "Range": f"bytes=-{tail_bytes}"}
                raw = await self._fetch(
                    url, query, ranged, expect_json=False, tail_limit=tail_bytes, passthrough={416, 503}
                )
                if raw.status in (416, 503):
                    logger.debug("range request refused (%s); falling back to a full GET", raw.status)
                    raw = await self._fetch(url, query, hdrs, expect_json=False, tail_limit=tail_bytes)
                elif raw.status == 206 and len(raw.body) > tail_bytes:
                    raw.body = raw.body[-tail_bytes:]
                return raw

        _LAST_ENDPOINT.set(self._endpoint_for(url))
        cached = await self._cached(url, query, variant, cache, fetch)
        body = cached.body
        if tail_bytes is not None and len(body) >= tail_bytes:
            body = _trim_partial_utf8(body)
        return _decode(body, cached.content_type)

    async def paginate(
        self,
        path: str,
        params: Params = None,
        *,
        fields: str | typing.Sequence[str] | None = None,
        pagelen: int | None = None,
        by_page: bool = False,
        max_items: int | None = None,
        stop: typing.Callable[[dict[str, typing.Any]], bool] | None = None,
        cache: CacheMode = "listing",
        settled: Settled | None = None,
    ) -> typing.AsyncIterator[dict[str, typing.Any]]:
        """Yield the `values` of a collection, fetching only the pages needed.

        Follows the opaque `next` link, or (``by_page=True``, for the pipelines list) requests
        `page=1,2,...` with the same params, stopping on an empty/short page or `page*pagelen >= size`.
        `stop(item)` → True ends iteration before that item; `max_items` caps the items yielded.
        `settled(page)` → True keeps that page like an immutable response (see `get_json`).
        """
        if max_items is not None and max_items <= 0:
            return
        normalized = _normalize_params(params)
        if pagelen is None:  # tolerate pagelen passed in params; page is always ours
            given = [v for k, v in normalized if k == "pagelen"]
            pagelen = int(given[-1]) if given else None
        query = [(k, v) for k, v in normalized if k not in ("page", "pagelen")]
        if any(k == "fields" for k, _ in query):
            raise ValueError("pass fields as fields=, not in params (pagination keys must be kept)")
        size = pagelen if pagelen is not None else max_pagelen(path)
        if pagelen is None and max_items is not None and max_items < size:
            size = max_items
        if size < 1:
            raise ValueError("pagelen must be >= 1")
        selected = collection_fields(fields)
        if selected is not None:
            query.append(("fields", selected))
        pages = (
            self._numbered_pages(path, query, size, cache, settled)
            if by_page
            else self._linked_pages(path, query, size, cache, settled)
        )
        yielded = 0
        async for values in pages:
            for item in values:
                if stop is not None and stop(item):
                    return
                yield item
                yielded += 1
                if max_items is not None and yielded >= max_items:
                    return

    async def _numbered_pages(
        self, path: str, query: list[tuple[str, str]], size: int, cache: CacheMode, settled: Settled | None
    ) -> typing.AsyncIterator[list[dict[str, typing.Any]]]:
        """page=1,2,... (the pipelines list has no reliable `next`): stop on a short page or at `size`."""
        page = 1
        while True:
            data = await self.get_json(
                path, [*query, ("pagelen", size), ("page", page)], cache=cache, settled=settled
            )
            values, count = self._page_values(data, path)
            yield values
            total = data.get("size")
            if not count or count < size or (isinstance(total, int) and page * size >= total):
                return
            page += 1

    async def _linked_pages(
        self, path: str, query: list[tuple[str, str]], size: int, cache: CacheMode, settled: Settled | None
    ) -> typing.AsyncIterator[list[dict[str, typing.Any]]]:
        """Follow the opaque `next` link; stop when it is missing or loops."""
        url: str = self._url(path)
        first_page = [*query, ("pagelen", str(size))]
        page_params: list[tuple[str, str]] | None = first_page
        seen: set[str] = {cache_key("GET", url, first_page)}
        while True:
            data = await self.get_json(url, page_params, cache=cache, settled=settled)
            yield self._page_values(data, url)[0]
            nxt = data.get("next")
            if not nxt or not isinstance(nxt, str):
                return
            try:
                nxt = self._url(str(httpx.URL(url).join(nxt)))
            except (httpx.InvalidURL, ValueError):
                raise InvalidResponse(
                    "Bitbucket's `next` link points outside the API base URL; not followed (credentials "
                    "stay on the API)",
                    endpoint=self._endpoint_for(url),
                ) from None
            canonical = cache_key("GET", nxt, [])
            if canonical in seen:
                logger.warning("pagination loop detected at %s; stopping", self._endpoint_for(url))
                return
            seen.add(canonical)
            url, page_params = nxt, None

    # internals ---------------------------------------------------------------------------------
    def _page_values(self, data: dict[str, typing.Any], url: str) -> tuple[list[dict[str, typing.Any]], int]:
        """A page's objects and how many items it had; items that are not objects are counted, not kept."""
        values = data.get("values")
        if values is None:
            return [], 0
        endpoint = self._endpoint_for(self._url(url))
        if not isinstance(values, list):
            raise InvalidResponse(
                f"Bitbucket answered a listing whose `values` is a JSON {_json_type(values)}, not a list",
                endpoint=endpoint,
            )
        items = [v for v in values if isinstance(v, dict)]
        if len(items) < len(values):
            self.unreadable[endpoint] += len(values) - len(items)
        return items, len(values)

    def _under_base(self, url: httpx.URL) -> bool:
        """On the API origin and under its base path: the only URLs that get credentials."""
        path = url.path
        return self._is_api(url) and (not self._base_path or path.startswith(self._base_path + "/"))

    def _url(self, path: str) -> str:
        if not isinstance(path, str) or not path:
            raise ValueError("path must be a non-empty string")
        if path.startswith(("http://", "https://")):
            target = httpx.URL(path)
            if not self._under_base(target):
                raise ValueError(
                    "absolute URLs must point below base_url (refusing to send credentials elsewhere)"
                )
            return path
        if not path.startswith("/"):
            path = "/" + path
        return self._base_str + path

    def _is_api(self, url: httpx.URL) -> bool:
        return (url.scheme, url.host, url.port) == (self._base.scheme, self._base.host, self._base.port)

    def _endpoint_for(self, url: str | httpx.URL) -> str:
        target = httpx.URL(url) if isinstance(url, str) else url
        if not self._is_api(target):
            return f"<{target.host}>"
        raw = target.raw_path.decode("ascii", errors="replace").split("?", 1)[0]
        if self._base_path and raw.startswith(self._base_path):
            raw = raw[len(self._base_path) :]
        return endpoint_template(raw or "/")

    def scrub(self, text: str) -> str:
        """`text` with the client's own credentials (token, Basic header value) masked.

        Secrets shorter than `MIN_SCRUB_CHARS` (test stand-ins) are left alone: masking every "t"
        would garble the text and protect nothing.
        """
        for secret in self._secrets:
            if len(secret) >= MIN_SCRUB_CHARS and secret in text:
                text = text.replace(secret, _MASK)
        return text

    def _scrub(self, text: str | None) -> str | None:
        return None if text is None else self.scrub(text)

    def _emit(self, event: RequestEvent) -> None:
        if self._on_request is None:
            return
        try:
            self._on_request(event)
        except Exception:  # a metrics hook must never break a request
            logger.exception("on_request callback failed")

    def _parse_json(self, body: bytes) -> typing.Any:
        if not body.strip():
            return {}
        try:
            return json.loads(body)
        except RecursionError:  # nesting deeper than Python's stack: not an answer, whatever it is
            raise ValueError("JSON nested too deeply") from None

    async def _cached(
        self,
        url: str,
        query: list[tuple[str, str]],
        variant: str,
        mode: CacheMode,
        fetch: typing.Callable[[], typing.Awaitable[_Raw]],
        keep: typing.Callable[[bytes], bool] | None = None,
    ) -> CachedResponse:
        """L1: this process's `ResponseCache` (with single flight); L2: the shared store, if any."""
        if mode not in ("immutable", "listing", "none"):
            raise ValueError("cache must be 'immutable', 'listing' or 'none'")
        if mode == "none":
            raw = await fetch()
            return CachedResponse(raw.status, raw.body, raw.headers.get("content-type", ""), raw.url.path)
        store = self._cache
        key = cache_key("GET", url, query, variant)
        endpoint = self._endpoint_for(url)
        hit = store.get(key)
        if hit is None and self._shared is not None:
            hit = await self._shared.get(key, mode)
            if hit is not None:
                store.put(key, hit, mode)
        if hit is None:
            fut = store.inflight(key)
            if fut is not None:
                try:
                    hit = await asyncio.shield(fut)
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if not fut.cancelled() or (task is not None and task.cancelling()):
                        raise
                    hit = None  # the leader was cancelled: fetch ourselves
        if hit is not None:
            self._served(store, endpoint, hit)
            return self._found(hit, endpoint)
        fut = store.begin(key)

        async def fetch_value() -> CachedResponse:
            raw = await fetch()
            return CachedResponse(
                raw.status, raw.body, raw.headers.get("content-type", ""), httpx.URL(url).path
            )

        async def fetch_kept() -> CachedResponse:
            nonlocal mode
            try:
                value = await fetch_value()
            except NotFound:
                if mode != "immutable":
                    raise
                # what cannot change cannot appear either (a completed step's missing test report)
                return CachedResponse(404, b"", "", httpx.URL(url).path)
            if keep is not None and value.status == 200 and keep(value.body):
                mode = "immutable"
            return value

        try:
            if self._shared is not None:
                value, shared = await self._shared.fetch(key, fetch_kept, lambda: mode)
            else:
                value, shared = await fetch_kept(), False
        except BaseException as exc:
            store.finish(key, fut, error=exc)
            raise
        if shared:  # another process made this request a moment ago
            self._served(store, endpoint, value)
        else:
            store.misses += 1
            self.stats.cache_misses += 1
        if value.status in (200, 206) or (value.status == 404 and mode == "immutable"):
            store.put(key, value, mode)  # 206: a Range tail, keyed by its own variant
        store.finish(key, fut, value)
        return self._found(value, endpoint)

    def _served(self, store: ResponseCache, endpoint: str, value: CachedResponse) -> None:
        """A response no request of ours was sent for: counted as a hit, and as served to each block."""
        store.hits += 1
        self.stats.cache_hits += 1
        self.stats.endpoint(endpoint).cache_hits += 1
        for counter in _COUNTS.get():
            counter.served += 1
        self._emit(RequestEvent("GET", endpoint, value.url_path, value.status, len(value.body), 0.0, 0, True))

    @staticmethod
    def _found(value: CachedResponse, endpoint: str) -> CachedResponse:
        """A kept 404 (of something that cannot change) is raised again, as when it was fetched."""
        if value.status == 404:
            raise NotFound("Not found (404)", status=404, endpoint=endpoint)
        return value

    def _out_of_time(self, endpoint: str) -> DeadlineExceeded:
        limit = self._deadline.seconds or 0.0
        return DeadlineExceeded(
            f"the run's time limit ({limit:g} s, BBSCOUT_TIMEOUT) ran out before Bitbucket answered",
            endpoint=endpoint,
        )

    async def _backoff(self, delay: float, endpoint: str, why: str) -> None:
        """Wait before a retry, within the run's deadline; long waits are announced."""
        left = self._deadline.remaining()
        if left is not None and delay >= left:
            raise self._out_of_time(endpoint)
        self.stats.retries += 1
        self.stats.endpoint(endpoint).retries += 1
        if self._on_wait is not None and delay >= ANNOUNCE_WAIT_SECONDS:
            try:
                self._on_wait(delay, f"{why} from {endpoint}")
            except Exception:  # a progress hook must never break a request
                logger.exception("on_wait callback failed")
        await self._sleep(delay)

    async def _fetch(
        self,
        url: str,
        query: list[tuple[str, str]] | None,
        headers: typing.Mapping[str, str],
        *,
        expect_json: bool,
        tail_limit: int | None = None,
        passthrough: typing.Collection[int] = (),
    ) -> _Raw:
        """One logical GET: retries (bounded), redirects (auth only under the API base), errors."""
        cfg = self._retry
        endpoint = self._endpoint_for(url)
        mode: ReadMode = "head" if expect_json else ("tail" if tail_limit is not None else "cut")
        current, current_query = url, query
        attempt = 0
        hops = 0
        while True:
            attempt += 1
            try:
                raw = await self._send(
                    "GET",
                    current,
                    params=current_query,
                    headers=headers,
                    attempt=attempt,
                    tail_limit=tail_limit,
                    endpoint=endpoint,
                    mode=mode,
                )
            except httpx.TimeoutException:
                if attempt < min(TIMEOUT_ATTEMPTS, cfg.max_attempts):
                    await self._backoff(backoff_delay(attempt, cfg, self._rng), endpoint, "a timeout")
                    continue
                raise TransportFailure(
                    f"request to Bitbucket timed out: no complete answer within {self._timeout:g} s "
                    f"({attempt} attempt(s))",
                    endpoint=endpoint,
                ) from None
            except httpx.TransportError as exc:
                if attempt < cfg.max_attempts:
                    await self._backoff(
                        backoff_delay(attempt, cfg, self._rng), endpoint, "a connection error"
                    )
                    continue
                raise TransportFailure(
                    f"request to Bitbucket failed ({type(exc).__name__}) after {attempt} attempt(s)",
                    endpoint=endpoint,
                ) from None
            except httpx.HTTPError as exc:
                raise TransportFailure(
                    f"request to Bitbucket failed ({type(exc).__name__})", endpoint=endpoint
                ) from None
            except TooLarge as exc:
                raise InvalidResponse(
                    f"Bitbucket's answer is larger than {human_bytes(exc.cap)} after decompression; refused",
                    endpoint=endpoint,
                    hint="Narrow the question (a repository, a shorter window), or check that no proxy "
                    "rewrites Bitbucket's answers.",
                ) from None

            status = raw.status
            location = raw.headers.get("location")
            if status in _REDIRECTS and location:
                hops += 1
                if hops > self._max_redirects:
                    raise TransportFailure(f"more than {self._max_redirects} redirects", endpoint=endpoint)
                try:
                    current, current_query = str(raw.url.join(location)), None
                except (httpx.InvalidURL, ValueError):
                    raise InvalidResponse(
                        "Bitbucket redirected to an invalid URL", endpoint=endpoint
                    ) from None
                attempt -= 1  # a hop is not a failed attempt
                continue
            if status in passthrough:
                return raw
            if 200 <= status < 300:
                if expect_json and status != 204:
                    try:
                        self._parse_json(raw.body)
                    except ValueError:
                        if attempt < cfg.max_attempts:
                            await self._backoff(
                                backoff_delay(attempt, cfg, self._rng), endpoint, "invalid JSON"
                            )
                            continue
                        raise TransportFailure(
                            f"invalid or truncated JSON body from Bitbucket after {attempt} attempt(s)",
                            status=status,
                            endpoint=endpoint,
                        ) from None
                return raw
            if status == 429:
                wait = parse_retry_after(raw.headers.get("retry-after"))
                left = self._deadline.remaining()
                too_long = wait is not None and (wait > cfg.max_delay or (left is not None and wait >= left))
                if too_long or attempt >= cfg.max_attempts:
                    message, _, _ = _error_payload(raw.body)
                    raise RateLimited(
                        f"Bitbucket rate limit exceeded (429); {humanize_wait(wait)}",
                        retry_after=wait,
                        status=429,
                        endpoint=endpoint,
                        server_message=self._scrub(message),
                    )
                delay = wait if wait is not None else backoff_delay(attempt, cfg, self._rng)
                await self._backoff(delay, endpoint, "Bitbucket's rate limit (429)")
                continue
            if status in RETRY_STATUSES or 500 <= status < 600:
                limit = min(2 if status in ONCE_STATUSES else cfg.max_attempts, cfg.max_attempts)
                if status in RETRY_STATUSES and attempt < limit:
                    await self._backoff(
                        backoff_delay(attempt, cfg, self._rng), endpoint, f"a server error ({status})"
                    )
                    continue
            raise self._error_for(raw, endpoint, attempt)

    def _error_for(self, raw: _Raw, endpoint: str, attempt: int) -> BitbucketError:
        status = raw.status
        message, detail, _data = _error_payload(raw.body)
        message = self._scrub(message)
        detail_text = self._scrub(detail if isinstance(detail, str) else None)
        server = message if not detail_text else f"{message or ''}: {detail_text}".lstrip(": ")
        said = f": {server}" if server else ""
        common = _ErrorFields(status=status, endpoint=endpoint, server_message=server)
        if status == 400:
            return BadRequest(f"Bitbucket rejected the request (400){said}", **common)
        if status == 401:
            return AuthError(f"Bitbucket rejected the credentials (401){said}", **common)
        if status == 403:
            granted: list[str] = []
            required: list[str] = []
            if isinstance(detail, dict):
                granted = [self._scrub(s) or "" for s in _str_list(detail.get("granted"))]
                required = [self._scrub(s) or "" for s in _str_list(detail.get("required"))]
            if required:
                missing = [s for s in required if s not in granted] or required
                hint = (
                    f"The token lacks the scope(s) {', '.join(missing)}"
                    + (f" (it has: {', '.join(granted)})" if granted else "")
                    + ". Create a new API token with scopes that include "
                    + ", ".join(missing)
                    + " (scopes cannot be added to an existing token); for access tokens use the classic "
                    "scopes (account, repository, pullrequest, pipeline)."
                )
                return ScopeError(
                    f"Bitbucket token is missing required scope(s) {', '.join(missing)} (403)",
                    granted=granted,
                    required=required,
                    hint=hint,
                    **common,
                )
            lacks_scope = bool(message and "scope" in message.lower())
            scope_hint = (
                "The token lacks a required scope. Create an API token with scopes read:user, "
                "read:workspace, read:repository, read:pullrequest and read:pipeline (all :bitbucket)."
                if lacks_scope
                else None
            )
            return ScopeError(
                f"No access to this workspace/repository (403){said}; check your permission",
                hint=scope_hint,
                **common,
            )
        if status == 404:
            return NotFound(f"Not found (404){said}", **common)
        if status == 410:
            return Gone(f"Endpoint retired (410){said}", **common)
        if status == 555:
            return ServerError(
                f"Bitbucket timed out computing the response (555){said}",
                hint="The diff/listing is too large for Bitbucket; narrow it (a path filter, a smaller "
                "range, or diffstat instead of the full diff).",
                **common,
            )
        if 500 <= status < 600:
            return ServerError(
                f"Bitbucket server error ({status}) after {attempt} attempt(s){said}",
                **common,
            )
        return BitbucketError(f"Unexpected Bitbucket response ({status}){said}", **common)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        params: list[tuple[str, str]] | None = None,
        headers: typing.Mapping[str, str] | None = None,
        attempt: int = 1,
        tail_limit: int | None = None,
        endpoint: str | None = None,
        mode: ReadMode = "head",
    ) -> _Raw:
        """The only place a request leaves the client: read-only guard, budget, limiter, deadlines, caps."""
        verb = str(method).upper()
        if verb not in _SAFE_METHODS:
            raise ReadOnlyViolation(f"refusing to send {verb}: the Bitbucket client is read-only")
        if self._closed:
            raise RuntimeError("BitbucketClient is closed")
        target = httpx.URL(url)
        on_api = self._is_api(target)
        endpoint = endpoint or self._endpoint_for(target)
        if self._budget is not None and self.stats.requests >= self._budget:
            raise BudgetExhausted(
                f"request budget of {self._budget} spent", budget=self._budget, endpoint=endpoint
            )
        left = self._deadline.remaining()
        if left is not None and left <= 0:
            raise self._out_of_time(endpoint)
        if on_api:
            await self._limiter.acquire(endpoint)
        request = self._http.build_request(
            verb, target, params=tuple(params) if params else None, headers=headers
        )
        auth = self._auth if (self._under_base(target) and self._auth is not None) else None
        ep_stats = self.stats.endpoint(endpoint)
        self.stats.requests += 1
        ep_stats.requests += 1
        for counter in _COUNTS.get():
            counter.count += 1
        budget = self._timeout if left is None else min(self._timeout, left)
        started = self._clock()
        status: int | None = None
        nbytes = 0
        error: str | None = None
        try:
            async with asyncio.timeout(budget):
                response = await self._http.send(request, auth=auth, follow_redirects=False, stream=True)
                try:
                    status = response.status_code
                    how: ReadMode
                    if 200 <= status < 300 and tail_limit is not None:
                        cap, how = tail_limit, "tail"
                    elif 200 <= status < 300:
                        cap = self._max_json_bytes if mode == "head" else self._max_text_bytes
                        how = "head" if mode == "head" else "cut"
                    else:
                        cap, how = DEFAULT_MAX_ERROR_BYTES, "cut"
                    body, nbytes, _ = await read_body(response, cap, how)
                finally:
                    await response.aclose()
        except TimeoutError:
            error = "Timeout"
            ep_stats.errors += 1
            if left is not None and left < self._timeout:
                raise self._out_of_time(endpoint) from None
            raise _RequestTimeout(f"no complete answer within {self._timeout:g} s", request=request) from None
        except BaseException as exc:
            error = type(exc).__name__
            ep_stats.errors += 1
            raise
        finally:
            elapsed = max(0.0, self._clock() - started)
            self.stats.bytes += nbytes
            self.stats.seconds += elapsed
            ep_stats.bytes += nbytes
            ep_stats.seconds += elapsed
            logger.debug(
                "%s %s -> %s (%d bytes, attempt %d)", verb, endpoint, status or error, nbytes, attempt
            )
            self._emit(
                RequestEvent(verb, endpoint, target.path, status, nbytes, elapsed, attempt, False, error)
            )
        near = response.headers.get("x-ratelimit-nearlimit")
        if near is not None:
            self.stats.near_limit = near.strip().lower() == "true"
        assert status is not None
        if on_api:
            await self._limiter.observe(response.headers)
        return _Raw(status, response.headers, response.url, body, nbytes)


def valid_workspace(workspace: object) -> bool:
    """A workspace slug or `{uuid}`: no blanks, no path or query characters, not `.` or `..`."""
    if not isinstance(workspace, str):
        return False
    text = workspace.strip()
    return bool(text) and text not in (".", "..") and not any(c in "/?#\\%" or c.isspace() for c in text)


def _json_type(value: typing.Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )
