"""Pagination helpers: per-endpoint page sizes and `fields` handling for collections.

Bitbucket pages carry `values` and, usually, an opaque `next` URL (follow it verbatim). The
pipelines list is the exception: its `next` is unreliable, so it is paged by number
(`page=1,2,...`), keeping `sort`/`fields`/filters ourselves.
"""

from __future__ import annotations

import re
import typing

__all__ = ["DEFAULT_MAX_PAGELEN", "PAGE_KEYS", "collection_fields", "join_fields", "max_pagelen"]

DEFAULT_MAX_PAGELEN = 100
PAGE_KEYS: tuple[str, ...] = ("next", "page", "size", "pagelen")

# (regex on the path, maximum pagelen). First match wins.
_PAGELEN_RULES: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"/diffstat(/|$)"), 500),
    (re.compile(r"/repositories/[^/]+/[^/]+/pullrequests/?$"), 50),
    (re.compile(r"/workspaces/[^/]+/pullrequests/[^/]+/?$"), 50),
    (re.compile(r"/pipelines/?$"), 100),
)


def max_pagelen(path: str) -> int:
    """Largest `pagelen` the endpoint accepts (PR lists 50, diffstat 500, pipelines 100, else 100)."""
    path = path.split("?", 1)[0]
    for pattern, limit in _PAGELEN_RULES:
        if pattern.search(path):
            return limit
    return DEFAULT_MAX_PAGELEN


def join_fields(fields: str | typing.Sequence[str] | None) -> str | None:
    if fields is None:
        return None
    parts = [fields] if isinstance(fields, str) else list(fields)
    out: list[str] = []
    for part in parts:
        for item in str(part).split(","):
            item = item.strip()
            if item and item not in out:
                out.append(item)
    return ",".join(out) if out else None


def collection_fields(fields: str | typing.Sequence[str] | None) -> str | None:
    """`fields` for a collection: keep `next,page,size,pagelen` so pagination keeps working.

    `values.id,values.state` → `values.id,values.state,next,page,size,pagelen`. A pure "additive"
    selection (every item starts with `+`, or `*` is present) already keeps them.
    """
    joined = join_fields(fields)
    if joined is None:
        return None
    items = joined.split(",")
    if all(i.startswith("+") for i in items) or "*" in items:
        return joined
    for key in PAGE_KEYS:
        if key not in items and f"-{key}" not in items:
            items.append(key)
    return ",".join(items)
