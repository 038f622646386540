"""`bbscout connect`: the setup guide's "Test Connection", one check per permission the agent needs.

Paths are built with the client's helpers, so names the server supplies (a repository slug) are
encoded as single segments, never spliced into the path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bbscout.agent.runtime import make_client
from bbscout.agent.settings import Settings
from bbscout.tools.bitbucket import BitbucketClient, BitbucketError


class _Skipped(BitbucketError):
    """A scope check that could not run: no repository is visible to run it against."""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


async def _probe(name: str, call: Callable[[], Awaitable[str]]) -> Check:
    try:
        return Check(name, True, await call())
    except BitbucketError as exc:
        return Check(name, False, exc.explain())


async def run_checks(
    settings: Settings, notice: Callable[[str], None], client: BitbucketClient | None = None
) -> list[Check]:
    """Identity, workspace, then one read per scope (repository, pullrequest, pipeline)."""
    client = client or make_client(settings, datetime.now(UTC), notice)
    ws = client.workspace
    state: dict[str, Any] = {}
    async with client:

        async def identity() -> str:
            user = await client.get_json("/user", cache="none")
            return f"authenticated as {user.get('display_name', '?')}"

        async def workspace() -> str:
            data = await client.get_json(client.workspace_path(), cache="none")
            return f"workspace '{data.get('slug', ws)}' ({data.get('name', '')}) is visible"

        async def repositories() -> str:
            page = await client.get_json(f"/repositories/{client.segment(ws)}", {"pagelen": 1}, cache="none")
            values = page.get("values")
            slugs = [
                v["slug"]
                for v in (values if isinstance(values, list) else [])
                if isinstance(v, dict) and isinstance(v.get("slug"), str) and v["slug"].strip()
            ]
            if not slugs:
                return (
                    "read:repository:bitbucket works, but the workspace has no repositories this token "
                    "can see"
                )
            state["repo"] = slugs[0]
            return f"read:repository:bitbucket ok (e.g. {state['repo']})"

        async def scoped(path: str, scope: str) -> str:
            if "repo" not in state:
                raise _Skipped("skipped: no repository visible to test this scope with")
            target = client.repo_path(state["repo"], path.rstrip("/")) + ("/" if path.endswith("/") else "")
            await client.get_json(target, {"pagelen": 1}, cache="none")
            return f"{scope} ok"

        checks = [await _probe("credentials + identity (/user)", identity)]
        checks.append(await _probe("workspace access", workspace))
        checks.append(await _probe("repositories", repositories))
        checks.append(
            await _probe("pull requests", lambda: scoped("pullrequests", "read:pullrequest:bitbucket"))
        )
        checks.append(await _probe("pipelines", lambda: scoped("pipelines", "read:pipeline:bitbucket")))
        checks.append(
            await _probe(
                "deployments", lambda: scoped("environments/", "read:pipeline:bitbucket (deployments)")
            )
        )
    return checks
