"""Credentials as `httpx.Auth` objects whose reprs never reveal the token.

* `BasicAuth(email, token)`: an Atlassian API token created *with scopes*; the username is the
  Atlassian account **email** (a Bitbucket username gives 401).
* `BearerAuth(token)`: a workspace/project/repository access token (or an OAuth access token).

The header value is computed inside `auth_flow` and never stored on the object, so neither
`repr()`, `vars()` nor pickling-free introspection shows it. The client applies the auth only to
requests for the API origin (redirects to other hosts go out without it).
"""

from __future__ import annotations

import base64
import typing

import httpx
from pydantic import SecretStr

__all__ = ["BasicAuth", "BearerAuth", "Credentials"]

_MASK = "**********"


def _secret(token: SecretStr | str) -> SecretStr:
    if isinstance(token, SecretStr):
        value = token
    elif isinstance(token, str):
        value = SecretStr(token)
    else:
        raise TypeError("token must be a pydantic SecretStr (or str)")
    raw = value.get_secret_value()
    if not raw or raw != raw.strip():
        raise ValueError("token is empty or has surrounding whitespace")
    return value


class BasicAuth(httpx.Auth):
    """API token (with scopes) + Atlassian account email, sent as HTTP Basic."""

    requires_request_body = False
    requires_response_body = False

    def __init__(self, email: str, token: SecretStr | str) -> None:
        if not isinstance(email, str) or "@" not in email:
            raise ValueError(
                "BasicAuth needs your Atlassian account email (not the Bitbucket username) "
                "together with an API token created with scopes"
            )
        self.email = email
        self._token = _secret(token)

    @property
    def token(self) -> SecretStr:
        return self._token

    def auth_flow(self, request: httpx.Request) -> typing.Generator[httpx.Request, httpx.Response, None]:
        raw = f"{self.email}:{self._token.get_secret_value()}".encode()
        request.headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        yield request

    def secret_values(self) -> tuple[str, ...]:
        raw = f"{self.email}:{self._token.get_secret_value()}".encode()
        return (self._token.get_secret_value(), base64.b64encode(raw).decode("ascii"))

    def __repr__(self) -> str:
        return f"BasicAuth(email={self.email!r}, token={_MASK})"

    __str__ = __repr__

    def __reduce__(self) -> typing.NoReturn:  # never serialise credentials by accident
        raise TypeError("BasicAuth cannot be pickled")


class BearerAuth(httpx.Auth):
    """Workspace/project/repository access token (or OAuth token), sent as `Authorization: Bearer`."""

    requires_request_body = False
    requires_response_body = False

    def __init__(self, token: SecretStr | str) -> None:
        self._token = _secret(token)

    @property
    def token(self) -> SecretStr:
        return self._token

    def auth_flow(self, request: httpx.Request) -> typing.Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = "Bearer " + self._token.get_secret_value()
        yield request

    def secret_values(self) -> tuple[str, ...]:
        return (self._token.get_secret_value(),)

    def __repr__(self) -> str:
        return f"BearerAuth(token={_MASK})"

    __str__ = __repr__

    def __reduce__(self) -> typing.NoReturn:
        raise TypeError("BearerAuth cannot be pickled")


Credentials = BasicAuth | BearerAuth
