"""Where the client may send credentials: base URL checks, loopback detection, path segments.

The base URL must be an absolute `https://` URL with a host and a valid port; plain `http://` is
accepted for loopback (the sandbox, a local proxy) and, with an explicit opt-in, for a remote proxy.
Path segments are percent-encoded whole, and a segment that is `.` or `..` is encoded too, so a
server-supplied name can never walk the path (`..` → `%2E%2E`).
"""

from __future__ import annotations

import ipaddress
import urllib.parse

import httpx

__all__ = ["check_base_url", "is_loopback", "segment"]


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, *, allow_http: bool = False) -> httpx.URL:
    """The parsed base URL, or ValueError saying what is wrong with it and what a good one looks like."""
    example = "e.g. https://api.bitbucket.org/2.0"
    try:
        parsed = httpx.URL(url.strip().rstrip("/"))
        port = parsed.port
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise ValueError(f"{url!r} is not a valid URL ({exc}); {example}") from None
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"{url!r} must start with https:// ({example})")
    if not parsed.host:
        raise ValueError(f"{url!r} has no host name ({example})")
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"{url!r} has an invalid port ({example})")
    if parsed.query or parsed.fragment or parsed.userinfo:
        raise ValueError(f"{url!r} must not carry a query, a fragment or user:password@ ({example})")
    if parsed.scheme == "http" and not allow_http and not is_loopback(parsed.host):
        raise ValueError(
            f"{url!r} uses plain http:// to a remote host, which would send the token unencrypted; use "
            "https://, or set BBSCOUT_ALLOW_HTTP=1 for a trusted plain-HTTP proxy"
        )
    return parsed


def segment(value: str | int) -> str:
    """Percent-encode one path segment (`{uuid}` → `%7Buuid%7D`, `feat/x` → `feat%2Fx`, `..` → `%2E%2E`)."""
    text = urllib.parse.quote(str(value), safe="")
    if text in (".", ".."):
        return text.replace(".", "%2E")
    return text
