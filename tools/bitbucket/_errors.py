"""Exceptions raised by the Bitbucket client.

Every exception the client raises on purpose derives from `BitbucketError`, so a caller (the
agent's tool layer) can catch by category, the way httpx callers catch `HTTPError`:

    BitbucketError                 base; `.status` (HTTP status or None), `.hint`, `.endpoint`
    ├── AuthError                  401: credentials rejected (wrong email, scopeless/expired token)
    ├── ScopeError                 403: missing token scope(s) (`.granted`, `.required`) or no access
    ├── NotFound                   404: wrong workspace/repo slug, unknown id, or invisible to the token
    ├── Gone                       410: endpoint retired (e.g. cross-workspace listings)
    ├── BadRequest                 400: invalid query/parameter (server message attached)
    ├── RateLimited                429 after retries, or the local hourly limiter; `.retry_after` seconds
    ├── BudgetExhausted            the per-run request budget is spent (no request was sent)
    ├── ServerError                5xx (and Bitbucket's 555 timeout) after retries
    ├── TransportFailure           timeouts, connection errors, truncated/invalid JSON after retries
    │   └── DeadlineExceeded       the run's time limit (`start_run`, BBSCOUT_TIMEOUT) ran out first
    ├── InvalidResponse            an answer that does not fit its endpoint: wrong JSON shape, an
    │                              off-API `next` link, or more bytes than the cap allows
    └── ReadOnlyViolation          a non-GET/HEAD method was attempted (nothing was sent)

`ServerError`, `TransportFailure` and `InvalidResponse` mean "Bitbucket unreachable or answered
garbage": the CLI exits 5 for them, not 3 ("refused").

Other unexpected statuses (406, 409, ...) raise the base `BitbucketError`.

Messages and hints never contain credentials or request headers: the client only builds them from
the status, the endpoint template and the server's error message (which it scrubs of the token).
"""

from __future__ import annotations

import math

__all__ = [
    "AuthError",
    "BadRequest",
    "BitbucketError",
    "BudgetExhausted",
    "DeadlineExceeded",
    "Gone",
    "InvalidResponse",
    "NotFound",
    "RateLimited",
    "ReadOnlyViolation",
    "ScopeError",
    "ServerError",
    "TransportFailure",
    "humanize_wait",
]


def humanize_wait(seconds: float | None) -> str:
    """'resets in ~N min' style text for a wait in seconds."""
    if seconds is None or not math.isfinite(seconds):
        return "try again in a few minutes"
    if seconds < 90:
        return f"resets in ~{max(1, math.ceil(seconds))} s"
    return f"resets in ~{math.ceil(seconds / 60)} min"


class BitbucketError(Exception):
    """Base class. `str(err)` is a one-line message; `hint` is the actionable fix (may be empty)."""

    default_hint: str = ""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        hint: str | None = None,
        endpoint: str | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.hint = self.default_hint if hint is None else hint
        self.endpoint = endpoint
        self.server_message = server_message

    def __str__(self) -> str:
        where = f" [{self.endpoint}]" if self.endpoint else ""
        return f"{self.message}{where}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status!r}, endpoint={self.endpoint!r})"

    def explain(self) -> str:
        """The message and its fix in one paragraph, as users and gap lists show it."""
        return f"{self} {self.hint}".strip() if self.hint and self.hint not in str(self) else str(self)


class AuthError(BitbucketError):
    default_hint = (
        "Bitbucket rejected the credentials (401). Use an API token created *with scopes* "
        "(Atlassian account settings → Security → Create API token with scopes, app: Bitbucket; scopes "
        "read:user, read:workspace, read:repository, read:pullrequest, read:pipeline), pass your Atlassian "
        "account email (not your Bitbucket username) as BITBUCKET_EMAIL, and check that the token has not "
        "expired or been revoked. Workspace/project/repository access tokens go in BITBUCKET_ACCESS_TOKEN "
        "(sent as Bearer, no email)."
    )


class ScopeError(BitbucketError):
    default_hint = (
        "No access to this workspace/repository with these credentials; check your permission on it "
        "(or the token's scopes)."
    )

    def __init__(
        self,
        message: str,
        *,
        granted: list[str] | None = None,
        required: list[str] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.granted = list(granted or [])
        self.required = list(required or [])

    @property
    def missing(self) -> list[str]:
        return [s for s in self.required if s not in self.granted]


class NotFound(BitbucketError):
    default_hint = (
        "Check the workspace slug in your Bitbucket URL (bitbucket.org/WORKSPACE/REPO), that the "
        "repository (and the id/ref asked for) exists, and that this token can see it."
    )


class Gone(BitbucketError):
    default_hint = (
        "This Bitbucket endpoint has been retired (410). Cross-workspace listings were removed; list "
        "workspaces via /user/workspaces and query one workspace at a time."
    )


class BadRequest(BitbucketError):
    default_hint = "Bitbucket rejected the request parameters (400); see the server message."


class RateLimited(BitbucketError):
    default_hint = (
        "Bitbucket allows about 1,000 API requests per hour per user/token (rolling window). Wait, "
        "narrow the question (fewer repositories, shorter time window), or use an access token."
    )

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class BudgetExhausted(BitbucketError):
    default_hint = "The per-run request budget is spent; answer with what was gathered or raise the budget."

    def __init__(self, message: str, *, budget: int | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.budget = budget


class ServerError(BitbucketError):
    default_hint = "Bitbucket had a server-side problem; retry later."


class TransportFailure(BitbucketError):
    default_hint = "Could not reach Bitbucket or got an incomplete response; check the network and retry."


class DeadlineExceeded(TransportFailure):
    default_hint = (
        "The run's time limit ran out before Bitbucket answered; raise BBSCOUT_TIMEOUT (seconds) or "
        "narrow the question (a repository, a shorter window)."
    )


class InvalidResponse(BitbucketError):
    default_hint = (
        "Bitbucket (or a proxy in front of it) answered with data bbscout cannot use; check "
        "BITBUCKET_BASE_URL points at the Bitbucket Cloud API, or retry later."
    )


class ReadOnlyViolation(BitbucketError):
    default_hint = "bbscout is read-only: only GET and HEAD requests are allowed."
