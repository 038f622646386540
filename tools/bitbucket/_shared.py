"""`SharedCache`: which responses go to the shared store, under which key, and for how long.

* Immutable responses (commits by hash, diffs between hashes, completed pipelines with their steps,
  logs and test reports, closed pull requests, completed deployments: the caller decides, see
  `cache=` in the client) are kept until evicted.
* Everything else is kept only `COALESCE_SECONDS`: long enough for two people asking the same thing
  at the same moment to share one request (Redis also makes the second wait for the first's request
  in flight), never long enough to answer a later question from an old listing.

Keys carry a namespace made of the API base URL, the workspace and the credential's identity (a
hash of the account email, or of an access token: never a secret itself), so one person's cache is
never served to another credential.
"""

from __future__ import annotations

import hashlib
import json
import typing

from bbscout.tools.bitbucket._auth import BasicAuth, BearerAuth
from bbscout.tools.bitbucket._cache import CachedResponse, CacheMode
from bbscout.tools.bitbucket._store import Kept, Store

__all__ = ["COALESCE_SECONDS", "SharedCache", "credential_identity"]

COALESCE_SECONDS = 5.0


def credential_identity(auth: BasicAuth | BearerAuth | None) -> str:
    """A stable, non-secret name for whom Bitbucket counts requests (a user, or one access token)."""
    if isinstance(auth, BasicAuth):
        digest = hashlib.sha256(b"bbscout-account:" + auth.email.strip().lower().encode()).hexdigest()
        return "account-" + digest[:20]
    if isinstance(auth, BearerAuth):
        secret = auth.token.get_secret_value().encode()
        return "token-" + hashlib.sha256(b"bbscout-access-token:" + secret).hexdigest()[:20]
    return "anonymous"


def _encode(value: CachedResponse) -> bytes:
    head = json.dumps([value.status, value.content_type, value.url_path], separators=(",", ":"))
    return head.encode() + b"\n" + value.body


def _decode(blob: bytes) -> CachedResponse | None:
    head, sep, body = blob.partition(b"\n")
    try:
        status, content_type, url_path = json.loads(head) if sep else (None, None, None)
    except ValueError:
        return None
    if not isinstance(status, int) or not isinstance(content_type, str) or not isinstance(url_path, str):
        return None
    return CachedResponse(status, body, content_type, url_path)


class SharedCache:
    """The client's second cache level: a store shared by processes, under one credential's namespace."""

    def __init__(self, store: Store, *, base_url: str, workspace: str, identity: str) -> None:
        self.store = store
        self.identity = identity
        self.namespace = hashlib.sha256(f"{base_url}|{workspace}|{identity}".encode()).hexdigest()[:24]

    def _key(self, key: str) -> str:
        return f"{self.namespace}|{key}"

    async def get(self, key: str, mode: CacheMode) -> CachedResponse | None:
        """A stored response: immutable ones, or one fetched moments ago (see COALESCE_SECONDS)."""
        if mode == "none":
            return None
        blob = await self.store.get(self._key(key))
        return _decode(blob) if blob is not None else None

    async def fetch(
        self,
        key: str,
        fetch: typing.Callable[[], typing.Awaitable[CachedResponse]],
        mode: typing.Callable[[], CacheMode],
    ) -> tuple[CachedResponse, bool]:
        """(response, shared): `fetch()` once across processes, or another process's result (shared=True).

        `mode()` is read after the fetch: a response may turn out to be settled (immutable).
        """
        mine: CachedResponse | None = None

        async def lead() -> Kept | None:
            nonlocal mine
            mine = await fetch()
            kept = mine.status in (200, 206) or (mine.status == 404 and mode() == "immutable")
            if not kept:
                return None
            return _encode(mine), (None if mode() == "immutable" else COALESCE_SECONDS)

        blob = await self.store.single_flight(self._key(key), lead)
        if mine is not None:
            return mine, False
        value = _decode(blob) if blob is not None else None
        return (value, True) if value is not None else (await fetch(), False)
