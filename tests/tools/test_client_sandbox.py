"""A few real calls against the sandbox Bitbucket (`sandbox.app.create_app`) over httpx.ASGITransport."""

from __future__ import annotations

import typing

import httpx
import pytest
from pydantic import SecretStr

pytest.importorskip("bbscout.sandbox.app")
pytest.importorskip("tests.sandbox.fixtures")

from bbscout.sandbox.app import create_app
from bbscout.tools.bitbucket import (
    AuthError,
    BasicAuth,
    BearerAuth,
    BitbucketClient,
    NotFound,
    Pipeline,
    PipelineStep,
    PullRequest,
    ResponseCache,
    ScopeError,
    bbql,
)
from tests.sandbox.fixtures import tiny_world

BASE = "http://sandbox.local/2.0"


@pytest.fixture(scope="module")
def world() -> typing.Any:
    return tiny_world()


def client_for(world: typing.Any, label: str = "demo", **kwargs: typing.Any) -> BitbucketClient:
    token = world.token(label)
    auth = (
        BasicAuth(token.email, SecretStr(token.secret))
        if token.kind == "api_token"
        else BearerAuth(SecretStr(token.secret))
    )
    return BitbucketClient(
        workspace="acme",
        auth=auth,
        base_url=BASE,
        transport=httpx.ASGITransport(app=create_app(world)),
        cache=ResponseCache(),
        **kwargs,
    )


async def test_user_repo_and_pull_requests_via_next_links(world: typing.Any) -> None:
    async with client_for(world) as bb:
        me = await bb.get_json("/user")
        assert me["display_name"]
        repo = await bb.get_json(bb.repo_path("api"))
        assert repo["mainbranch"]["name"] == "main"
        one_by_one = [
            pr["id"]
            async for pr in bb.paginate(
                bb.repo_path("api", "pullrequests"), {"state": ["MERGED", "OPEN", "DECLINED"]}, pagelen=1
            )
        ]
        at_once = [
            pr["id"]
            async for pr in bb.paginate(
                bb.repo_path("api", "pullrequests"), {"state": ["MERGED", "OPEN", "DECLINED"]}
            )
        ]
        assert one_by_one == at_once and len(set(at_once)) == len(at_once) >= 2
        assert bb.stats.requests == 2 + len(at_once) + 1


async def test_bbql_query_with_hostile_text_is_accepted(world: typing.Any) -> None:
    async with client_for(world) as bb:
        path = bb.repo_path("api", "pullrequests")
        everything = [
            pr async for pr in bb.paginate(path, {"state": ["MERGED", "OPEN", "DECLINED", "SUPERSEDED"]})
        ]
        title = everything[0]["title"]
        word = title.split()[0]
        q = bbql.all_of(bbql.cond("title", "~", word), bbql.cond("title", "~", '" OR title ~ "'))
        assert [pr async for pr in bb.paginate(path, {"q": q, "state": "MERGED"})] == []
        q = bbql.cond("title", "~", word)
        hits = [
            PullRequest.model_validate(pr)
            async for pr in bb.paginate(
                path,
                {"q": q, "state": ["MERGED", "OPEN", "DECLINED", "SUPERSEDED"]},
                fields="values.id,values.title",
            )
        ]
        assert hits and all(word.lower() in (pr.title or "").lower() for pr in hits)


async def test_pipelines_by_page_steps_and_log_tail(world: typing.Any) -> None:
    async with client_for(world) as bb:
        path = bb.repo_path("api", "pipelines") + "/"
        paged = [
            Pipeline.model_validate(p)
            async for p in bb.paginate(path, {"sort": "-created_on"}, pagelen=2, by_page=True)
        ]
        full = [
            Pipeline.model_validate(p) async for p in bb.paginate(path, {"sort": "-created_on"}, by_page=True)
        ]
        assert [p.uuid for p in paged] == [p.uuid for p in full] and len(full) >= 3
        completed = [p for p in full if p.state_name == "COMPLETED"]
        assert completed and all(p.result_name for p in completed)
        steps = [
            PipelineStep.model_validate(s)
            async for s in bb.paginate(bb.repo_path("api", "pipelines", 5, "steps"))
        ]
        assert steps
        logged = 0
        for step in steps:
            try:
                tail = await bb.get_text(
                    bb.repo_path("api", "pipelines", 5, "steps", step.uuid, "log"),
                    tail_bytes=64,
                    cache="immutable",
                )
                full_log = await bb.get_text(
                    bb.repo_path("api", "pipelines", 5, "steps", step.uuid, "log"), cache="immutable"
                )
            except NotFound:
                continue
            logged += 1
            assert full_log.endswith(tail) and len(tail.encode()) <= 64
        assert logged
        assert "/repositories/{ws}/{repo}/pipelines/{id}/steps/{id}/log" in bb.stats.by_endpoint


async def test_errors_from_the_sandbox(world: typing.Any) -> None:
    async with client_for(world, "expired") as bb:
        with pytest.raises(AuthError) as auth:
            await bb.get_json("/user")
        assert "email" in auth.value.hint
    async with client_for(world, "no-pipeline-scope") as bb:
        with pytest.raises(ScopeError) as scope:
            await bb.get_json(bb.repo_path("api", "pipelines") + "/")
        assert "read:pipeline:bitbucket" in scope.value.required
        assert "read:pipeline:bitbucket" in scope.value.hint
    async with client_for(world) as bb:
        with pytest.raises(NotFound):
            await bb.get_json(bb.repo_path("does-not-exist"))
