"""Errors as RFC 9457 problem details (`application/problem+json`), with the CLI's own messages.

Every failure a caller can cause or meet has a `type` (a stable `urn:bbscout:problem:NAME`), the HTTP
status, a short title and a `detail` that is the very paragraph the CLI prints for the same cause,
fix included. Bitbucket's own refusals are not the caller's 401/403/429: they come back as 502 or
503 with `bitbucket_status` saying what Bitbucket answered.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.responses import JSONResponse

from bbscout.agent.connections import ConnectionFailed, UnknownConnection
from bbscout.agent.service.runner import RunRefused
from bbscout.agent.service.store import StoreUnavailable, ThreadBusy
from bbscout.agent.settings import ConfigError
from bbscout.tools.bitbucket import BitbucketError, BudgetExhausted, RateLimited

MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """An error response: `status`, `name` (the type's last part), `title`, `detail` and extensions."""

    def __init__(
        self,
        status: int,
        name: str,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.name, self.title, self.detail = status, name, title, detail
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {
            "type": f"urn:bbscout:problem:{self.name}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers, media_type=MEDIA_TYPE)


def retry_after(seconds: float | None) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))} if seconds is not None else {}


def from_exception(exc: BaseException) -> Problem | None:
    """The problem for a known failure (the same classes the CLI maps to exit codes), else None."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, RunRefused) and exc.rate_limited:
        return Problem(
            503,
            "bitbucket-rate-limited",
            "Bitbucket's hourly request limit is reached",
            exc.detail,
            bitbucket_status=429,
            document=exc.result.document,
        )
    if isinstance(exc, RunRefused):
        return Problem(
            502,
            "bitbucket-refused",
            "Bitbucket refused the request",
            exc.detail,
            document=exc.result.document,
        )
    if isinstance(exc, UnknownConnection):
        return Problem(404, "unknown-connection", "No such connection", str(exc))
    if isinstance(exc, ConnectionFailed):
        return Problem(
            409,
            "connection-failed",
            "The connection failed its last test",
            str(exc),
            connection=exc.connection.name,
        )
    if isinstance(exc, ConfigError):
        return Problem(400, "invalid-request", "The request cannot be run as given", str(exc))
    if isinstance(exc, ThreadBusy):
        return Problem(
            409,
            "thread-busy",
            "This thread is already answering",
            "Another message in this thread is still being answered; send yours when it has finished.",
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, StoreUnavailable):
        return Problem(
            503,
            "store-unavailable",
            f"{exc.store} is unavailable",
            f"{exc} Nothing was saved for this request; retry when it is back (GET /readyz says when).",
            headers={"Retry-After": "10"},
            store=exc.store,
        )
    if isinstance(exc, RateLimited):
        return Problem(
            503,
            "bitbucket-rate-limited",
            "Bitbucket's hourly request limit is reached",
            exc.explain(),
            headers=retry_after(exc.retry_after),
            bitbucket_status=429,
        )
    if isinstance(exc, BudgetExhausted):
        return Problem(
            503,
            "request-budget-spent",
            "The request budget is spent",
            f"{exc.explain()} Raise BBSCOUT_REQUEST_BUDGET or narrow the question.",
        )
    if isinstance(exc, BitbucketError):
        return Problem(
            502,
            "bitbucket-refused",
            "Bitbucket refused the request",
            exc.explain(),
            bitbucket_status=exc.status,
        )
    return None


def explain(exc: BaseException) -> str | None:
    """What to tell a person about a known failure (the problem's detail, the CLI's words), else None."""
    problem = from_exception(exc)
    return problem.detail if problem is not None else None
