"""Request accounting: per-client `RequestStats`, per-endpoint `EndpointStats`, `RequestEvent`.

Endpoints are keyed by a *template* of the path, with slugs and ids replaced, e.g.
`/repositories/{ws}/{repo}/pipelines/{id}/steps/{id}/log`, so a run's cost can be read per kind of
call without leaking identifiers into metrics.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field

__all__ = ["EndpointStats", "RequestEvent", "RequestStats", "endpoint_template"]


@dataclass(frozen=True)
class RequestEvent:
    """One HTTP attempt (or a cache hit, `from_cache=True`, attempt 0). Never carries headers."""

    method: str
    endpoint: str
    url_path: str
    status: int | None
    bytes: int
    seconds: float
    attempt: int
    from_cache: bool = False
    error: str | None = None


@dataclass
class EndpointStats:
    requests: int = 0
    bytes: int = 0
    seconds: float = 0.0
    retries: int = 0
    errors: int = 0
    cache_hits: int = 0


@dataclass
class RequestStats:
    requests: int = 0
    bytes: int = 0
    seconds: float = 0.0
    retries: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    near_limit: bool = False
    by_endpoint: dict[str, EndpointStats] = field(default_factory=dict)

    def endpoint(self, key: str) -> EndpointStats:
        try:
            return self.by_endpoint[key]
        except KeyError:
            stats = self.by_endpoint[key] = EndpointStats()
            return stats

    def as_dict(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "retries": self.retries,
            "cache_hits": self.cache_hits,
            "cache_misses": self.cache_misses,
            "near_limit": self.near_limit,
            "by_endpoint": {k: vars(v).copy() for k, v in sorted(self.by_endpoint.items())},
        }


# A segment following one of these collection names is an identifier, named as given.
_ID_AFTER: dict[str, str] = {
    "pipelines": "{id}",
    "steps": "{id}",
    "pullrequests": "{id}",
    "commit": "{commit}",
    "commits": "{revision}",
    "diff": "{spec}",
    "diffstat": "{spec}",
    "patch": "{spec}",
    "merge-base": "{spec}",
    "deployments": "{id}",
    "environments": "{id}",
    "comments": "{id}",
    "tasks": "{id}",
    "test_cases": "{id}",
    "logs": "{id}",
    "branches": "{name}",
    "tags": "{name}",
    "build": "{key}",
    "statuses": "{kind}",
    "reports": "{id}",
    "annotations": "{id}",
}
# Literal sub-resources that can follow a collection name (not ids).
_LITERALS = frozenset({"activity", "build", "test_reports", "statuses", "branches", "tags"})
# After these, the rest of the path is `{commit}/{path}`.
_PATHLIKE = frozenset({"src", "filehistory"})
_UUID_RE = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")


def endpoint_template(path: str) -> str:
    """Path (as sent, may be percent-encoded; base path such as `/2.0` already stripped) → template."""
    segments = [urllib.parse.unquote(s) for s in path.split("/")]
    if segments and segments[0] == "":
        segments = segments[1:]
    out: list[str] = []
    i = 0
    if len(segments) >= 1 and segments[0] in ("repositories", "workspaces", "users", "teams"):
        out.append(segments[0])
        if len(segments) > 1:
            out.append("{ws}")
        if segments[0] == "repositories" and len(segments) > 2:
            out.append("{repo}")
            i = 3
        else:
            i = 2
    while i < len(segments):
        seg = segments[i]
        if seg in _PATHLIKE:
            out.append(seg)
            rest = segments[i + 1 :]
            if rest and rest[0]:
                out.append("{commit}")
                if len(rest) > 1:
                    out.append("{path}" if any(rest[1:]) else "")
            elif rest:
                out.append("")
            break
        if _UUID_RE.match(seg):
            out.append("{id}")
            i += 1
            continue
        out.append(seg)
        name = _ID_AFTER.get(seg)
        if name and i + 1 < len(segments):
            nxt = segments[i + 1]
            if nxt and nxt not in _LITERALS:
                if seg == "pullrequests" and out[:1] == ["workspaces"]:
                    name = "{user}"
                out.append(name)
                i += 2
                if seg in ("branches", "tags"):  # names may contain '/' when sent unencoded
                    break
                continue
        i += 1
    return "/" + "/".join(out)
