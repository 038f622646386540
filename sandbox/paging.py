"""Pagination envelopes: list-based (`page=N`), iterator-based (opaque `page=<token>`) and the
pipelines style (page numbers, no `next`)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

__all__ = ["ApiError", "PageParams", "iterator_page", "list_page", "numbered_page", "page_params"]


class ApiError(Exception):
    """Raised by handlers; becomes `{"type":"error","error":{...}}` with `status`."""

    def __init__(self, status: int, message: str, detail: Any = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"message": self.message}
        if self.detail is not None:
            err["detail"] = self.detail
        err.update(self.extra)
        return {"type": "error", "error": err}


class PageParams:
    def __init__(self, page: int, pagelen: int, token: str | None = None) -> None:
        self.page = page
        self.pagelen = pagelen
        self.token = token


def _int(value: str | None, default: int) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        return None


def page_params(query: dict[str, list[str]], default: int = 10, maximum: int = 100) -> PageParams:
    """Validate `page`/`pagelen`; bad values answer 400 like the real API."""
    pagelen = _int(query.get("pagelen", [None])[-1], default)
    if pagelen is None or pagelen < 1 or pagelen > maximum:
        raise ApiError(400, "Invalid pagelen")
    page = _int(query.get("page", [None])[-1], 1)
    if page is None or page < 1:
        raise ApiError(400, "Invalid page")
    return PageParams(page, pagelen)


def with_page(url_base: str, raw_query: str, page: str) -> str:
    """`url_base?<original query with page replaced>`; keeps every other parameter as sent."""
    pairs = [(k, v) for k, v in parse_qsl(raw_query, keep_blank_values=True) if k != "page"]
    pairs.append(("page", page))
    return f"{url_base}?{urlencode(pairs, quote_via=quote, safe='')}"


def list_page(items: Sequence[Any], params: PageParams, url_base: str, raw_query: str) -> dict[str, Any]:
    start = (params.page - 1) * params.pagelen
    values = list(items[start : start + params.pagelen])
    env: dict[str, Any] = {"pagelen": params.pagelen, "size": len(items), "page": params.page}
    if start + params.pagelen < len(items):
        env["next"] = with_page(url_base, raw_query, str(params.page + 1))
    if params.page > 1:
        env["previous"] = with_page(url_base, raw_query, str(params.page - 1))
    env["values"] = values
    return env


def numbered_page(items: Sequence[Any], params: PageParams) -> dict[str, Any]:
    """Pipelines: `page`, `pagelen`, `size` but no `next`/`previous` (clients page by number)."""
    start = (params.page - 1) * params.pagelen
    return {
        "page": params.page,
        "pagelen": params.pagelen,
        "size": len(items),
        "values": list(items[start : start + params.pagelen]),
    }


def encode_token(offset: int, salt: str) -> str:
    return base64.urlsafe_b64encode(f"{salt}:{offset}".encode()).decode().rstrip("=")


def decode_token(token: str, salt: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        got_salt, _, offset = raw.rpartition(":")
        if got_salt != salt:
            raise ValueError(token)
        return int(offset)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "Invalid page") from exc


def iterator_page(
    items: Sequence[Any],
    query: dict[str, list[str]],
    url_base: str,
    raw_query: str,
    salt: str,
    default: int = 30,
    maximum: int = 100,
) -> dict[str, Any]:
    """Commits-style: only `values`, `pagelen` and an opaque `next`."""
    pagelen = _int(query.get("pagelen", [None])[-1], default)
    if pagelen is None or pagelen < 1 or pagelen > maximum:
        raise ApiError(400, "Invalid pagelen")
    token = query.get("page", [None])[-1]
    offset = decode_token(token, salt) if token else 0
    values = list(items[offset : offset + pagelen])
    env: dict[str, Any] = {"values": values, "pagelen": pagelen}
    if offset + pagelen < len(items):
        env["next"] = with_page(url_base, raw_query, encode_token(offset + pagelen, salt))
    return env
