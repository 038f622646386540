"""Where requests go: HTTPS only (plain HTTP by explicit opt-in), valid base URLs and workspaces,
no dot segments, and credentials only under the API base path.

As the code stood, the token went over plain HTTP to any host without a word, malformed base URLs
and a workspace of `..` or blanks were tracebacks, `..` segments were sent as path traversal, and a
same-host redirect out of `/2.0` was followed with the credentials.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bbscout.agent.runtime import make_client
from bbscout.agent.settings import ConfigError, load_settings
from bbscout.tools.bitbucket import BasicAuth, BitbucketClient
from tests.cli.conftest import NOW, Run, assert_no_traceback
from tests.hostile.servers import respond

pytestmark = pytest.mark.timeout(60)
CREDS = {
    "BITBUCKET_WORKSPACE": "acme",
    "BITBUCKET_EMAIL": "me@acme.io",
    "BITBUCKET_API_TOKEN": "ATATT-not-real",
}


def test_plain_http_to_a_remote_host_is_refused(bbscout: Run) -> None:
    env = {**CREDS, "BITBUCKET_BASE_URL": "http://bitbucket.example.com/2.0"}
    result = bbscout("ask", "list repositories", "--now", NOW, env=env)
    assert result.returncode == 2, result.stderr
    assert "https://" in result.stderr and "BBSCOUT_ALLOW_HTTP" in result.stderr
    assert "ATATT-not-real" not in result.stderr + result.stdout
    assert_no_traceback(result)


def test_plain_http_opt_in_warns() -> None:
    settings = load_settings(
        workspace="acme",
        email="me@acme.io",
        api_token="ATATT-not-real",
        base_url="http://proxy.internal:8080/2.0",
        allow_http=True,
    )
    notices: list[str] = []
    client = make_client(settings, datetime.now(UTC), notices.append)
    assert client.base_url == "http://proxy.internal:8080/2.0"
    assert any("plain HTTP" in n and "proxy.internal" in n for n in notices), notices


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:7990/2.0", "http://localhost:7990/2.0", "http://[::1]:7990/2.0"]
)
def test_plain_http_to_loopback_needs_no_opt_in(url: str) -> None:
    settings = load_settings(workspace="acme", email="me@acme.io", api_token="ATATT-not-real", base_url=url)
    notices: list[str] = []
    make_client(settings, datetime.now(UTC), notices.append)
    assert not any("plain HTTP" in n for n in notices)


def test_the_client_itself_refuses_plain_http_to_a_remote_host() -> None:
    with pytest.raises(ValueError, match="https"):
        BitbucketClient(
            workspace="acme", auth=BasicAuth("a@b.io", "tok3n-value"), base_url="http://example.com/2.0"
        )
    BitbucketClient(
        workspace="acme",
        auth=BasicAuth("a@b.io", "tok3n-value"),
        base_url="http://example.com/2.0",
        allow_http=True,
    )


BAD_BASE_URLS = [
    "https:///2.0",
    "https://[::1/2.0",
    "https://[fe80::zz]/2.0",
    "https://api.bitbucket.org:99999/2.0",
    "https://api.bitbucket.org:-1/2.0",
    "https://user:pw@/2.0",
    "https://api.bitbucket.org/2.0?x=1",
]


@pytest.mark.parametrize("url", BAD_BASE_URLS)
def test_malformed_base_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigError, match="BITBUCKET_BASE_URL"):
        load_settings(workspace="acme", email="me@acme.io", api_token="ATATT-not-real", base_url=url)


@pytest.mark.parametrize("url", [BAD_BASE_URLS[0], BAD_BASE_URLS[1]])
def test_cli_malformed_base_url_exits_2(bbscout: Run, url: str) -> None:
    result = bbscout("ask", "list repositories", "--now", NOW, env={**CREDS, "BITBUCKET_BASE_URL": url})
    assert result.returncode == 2, result.stderr
    assert "BITBUCKET_BASE_URL" in result.stderr
    assert_no_traceback(result)


@pytest.mark.parametrize("workspace", ["..", ".", "   ", "a/b", "acme?x=1", "ac me"])
def test_bad_workspaces_are_configuration_errors(workspace: str) -> None:
    with pytest.raises(ConfigError, match="BITBUCKET_WORKSPACE"):
        load_settings(workspace=workspace, email="me@acme.io", api_token="ATATT-not-real")


@pytest.mark.parametrize("workspace", ["..", "   "])
def test_cli_bad_workspace_exits_2(bbscout: Run, workspace: str) -> None:
    result = bbscout(
        "ask", "list repositories", "--now", NOW, env={**CREDS, "BITBUCKET_WORKSPACE": workspace}
    )
    assert result.returncode == 2, result.stderr
    assert "BITBUCKET_WORKSPACE" in result.stderr
    assert_no_traceback(result)


async def test_dot_segments_are_never_sent_as_traversal(serve: Any) -> None:
    with serve({r"%2E": respond({"values": []})}) as running:
        async with running.client() as bb:
            for repo in ("..", "."):
                await bb.get_json(bb.repo_path(repo, "pipelines"))
            await bb.get_json(bb.repo_path("api", "src", "main", ".."))
        paths = running.app.paths
    assert paths == [
        "/2.0/repositories/acme/%2E%2E/pipelines",
        "/2.0/repositories/acme/%2E/pipelines",
        "/2.0/repositories/acme/api/src/main/%2E%2E",
    ], paths


def _auth_recorder(seen: list[bool]) -> Any:
    async def behaviour(scope: Any, receive: Any, send: Any) -> None:
        seen.append(any(k.lower() == b"authorization" for k, _ in scope["headers"]))
        await respond(b"internal", headers=[("content-type", "text/plain")])(scope, receive, send)

    return behaviour


async def test_same_host_redirects_outside_the_api_base_get_no_credentials(serve: Any) -> None:
    seen: list[bool] = []
    rules = {
        r"^/2\.0/repositories/acme/api/src/": respond(b"", 302, headers=[("Location", "/admin/secrets")]),
        r"^/admin/": _auth_recorder(seen),
    }
    with serve(rules) as running:
        async with running.client() as bb:
            try:
                await bb.get_text("/repositories/acme/api/src/main/README.md")
            except Exception as exc:  # refusing the hop is as good as stripping the credentials
                assert isinstance(exc, httpx.HTTPError) is False
    assert seen in ([], [False]), seen
