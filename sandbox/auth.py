"""Credentials and scopes, as Bitbucket Cloud checks them.

API tokens: HTTP Basic with the Atlassian account *email* and the token; new-style scopes that do not
imply each other. Access tokens (repository/project/workspace): HTTP Bearer; classic scopes where
`x:write`/`x:admin` imply `x`. Anything else, expired or unscoped tokens answer 401.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from bbscout.sandbox.paging import ApiError
from bbscout.sandbox.world.model import Token, World

__all__ = ["INVALID_TOKEN", "SCOPES", "authenticate", "check_scope"]

INVALID_TOKEN = "Token is invalid, expired, or not supported for this endpoint."
MISSING_SCOPE = "Your credentials lack one or more required privilege scopes."


@dataclass(frozen=True)
class ScopeRule:
    new: tuple[str, ...]  # API tokens need all of these
    classic: tuple[str, ...]  # access tokens need all of these (empty: any valid access token)
    api_token_only: bool = False


SCOPES: dict[str, ScopeRule] = {
    "user": ScopeRule(("read:user:bitbucket",), ("account",)),
    "user_workspaces": ScopeRule(("read:workspace:bitbucket",), ("account",)),
    "workspace": ScopeRule(("read:workspace:bitbucket",), ()),
    "members": ScopeRule(("read:workspace:bitbucket",), ("account",)),
    "repository": ScopeRule(("read:repository:bitbucket",), ("repository",)),
    "search": ScopeRule(("read:repository:bitbucket",), ("repository",), api_token_only=True),
    "pullrequest": ScopeRule(("read:pullrequest:bitbucket",), ("pullrequest",)),
    "pipeline": ScopeRule(("read:pipeline:bitbucket",), ("pipeline",)),
}


def _unauthorized() -> ApiError:
    return ApiError(401, INVALID_TOKEN)


def authenticate(authorization: str | None, world: World) -> Token:
    """The token behind an `Authorization` header, or ApiError(401)."""
    if not authorization:
        raise _unauthorized()
    scheme, _, cred = authorization.strip().partition(" ")
    cred = cred.strip()
    token: Token | None = None
    if scheme.lower() == "basic":
        try:
            user, sep, secret = base64.b64decode(cred, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise _unauthorized() from None
        if not sep:
            raise _unauthorized()
        token = next(
            (
                t
                for t in world.tokens
                if t.kind == "api_token"
                and t.secret == secret
                and t.email is not None
                and t.email.lower() == user.lower()
            ),
            None,
        )
    elif scheme.lower() == "bearer":
        token = next((t for t in world.tokens if t.kind == "access_token" and t.secret == cred), None)
    if token is None or token.expired or not token.scoped or not token.scopes:
        raise _unauthorized()
    return token


def _granted_classic(scopes: list[str]) -> set[str]:
    out = set(scopes)
    for s in scopes:
        base, _, level = s.partition(":")
        if level in ("write", "admin", "delete"):
            out.add(base)
    return out


def check_scope(token: Token, group: str) -> None:
    """ApiError(403) with granted/required when the token lacks the endpoint's scopes."""
    rule = SCOPES[group]
    if token.kind == "api_token":
        required = list(rule.new)
        missing = [s for s in required if s not in token.scopes]
    else:
        if rule.api_token_only:
            raise _unauthorized()
        required = list(rule.classic)
        granted = _granted_classic(token.scopes)
        missing = [s for s in required if s not in granted]
    if missing:
        raise ApiError(403, MISSING_SCOPE, {"granted": list(token.scopes), "required": required})


def can_see_repo(token: Token, slug: str) -> bool:
    return token.repos is None or slug in token.repos
