"""Bitbucket web links (bitbucket.org) for evidence records, never API links.

`html_href(obj)` prefers the `links.html.href` a response carries; the builders below construct the
canonical URL from workspace/repository/id when a trimmed (`fields=`) response has no links.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

__all__ = [
    "WEB_ROOT",
    "branch_url",
    "commit_url",
    "deployment_url",
    "file_url",
    "html_href",
    "pipeline_url",
    "pr_url",
    "repo_url",
    "step_url",
]

WEB_ROOT = "https://bitbucket.org"


def html_href(obj: Any) -> str | None:
    """`obj.links.html.href` when present and a web link."""
    try:
        href = obj["links"]["html"]["href"]
    except (KeyError, TypeError):
        return None
    if isinstance(href, str) and href.startswith("http") and "api.bitbucket.org" not in href:
        return href
    return None


def repo_url(ws: str, repo: str) -> str:
    return f"{WEB_ROOT}/{ws}/{repo}"


def pipeline_url(ws: str, repo: str, build_number: int) -> str:
    return f"{repo_url(ws, repo)}/pipelines/results/{build_number}"


def step_url(ws: str, repo: str, build_number: int, step_uuid: str) -> str:
    return f"{pipeline_url(ws, repo, build_number)}/steps/{quote(step_uuid, safe='')}"


def pr_url(ws: str, repo: str, pr_id: int) -> str:
    return f"{repo_url(ws, repo)}/pull-requests/{pr_id}"


def commit_url(ws: str, repo: str, commit_hash: str) -> str:
    return f"{repo_url(ws, repo)}/commits/{commit_hash}"


def branch_url(ws: str, repo: str, name: str) -> str:
    return f"{repo_url(ws, repo)}/branch/{quote(name, safe='/')}"


def deployment_url(ws: str, repo: str, uuid: str | None = None) -> str:
    base = f"{repo_url(ws, repo)}/deployments"
    return f"{base}?deployment={quote(uuid, safe='')}" if uuid else base


def file_url(ws: str, repo: str, rev: str, path: str) -> str:
    return f"{repo_url(ws, repo)}/src/{quote(rev, safe='')}/{quote(path.lstrip('/'), safe='/')}"
