"""Endpoint behaviour: shapes, quirks, redirects, ranges, filters."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from starlette.applications import Starlette

from bbscout.sandbox.world.model import World
from tests.sandbox.conftest import make_client

API = "/repositories/acme/api"


async def test_user_and_workspaces(client: httpx.AsyncClient) -> None:
    assert (await client.get("/user")).json()["nickname"] == "alice"
    r = await client.get("/user/workspaces")
    assert r.json()["values"][0]["workspace"]["slug"] == "acme"
    assert (await client.get("/workspaces/acme")).json()["slug"] == "acme"
    for p in ("/workspaces", "/user/permissions/workspaces", "/repositories"):
        r = await client.get(p)
        assert r.status_code == 410 and r.json()["type"] == "error"


async def test_trailing_slash_rules(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"{API}/deployments")).status_code == 404
    assert (await client.get(f"{API}/deployments/")).status_code == 200
    assert (await client.get(f"{API}/environments")).status_code == 404
    envs = (await client.get(f"{API}/environments/")).json()["values"]
    assert [e["name"] for e in envs] == ["Test", "Staging", "Production"]
    r = await client.get(f"{API}/environments/{quote(envs[2]['uuid'])}")
    assert r.json()["name"] == "Production"
    assert (await client.get(f"{API}/pullrequests/")).status_code == 200
    assert (await client.get(f"{API}/src/main")).status_code == 404
    assert (await client.get(f"{API}/src/main/")).status_code == 200


async def test_deployments(client: httpx.AsyncClient) -> None:
    deps = (await client.get(f"{API}/deployments/")).json()["values"]
    assert deps[-1]["state"]["status"]["name"] == "FAILED" and "deployable" in deps[-1]
    r = await client.get(f"{API}/deployments/{quote(deps[0]['uuid'])}")
    assert r.json()["uuid"] == deps[0]["uuid"]
    assert (await client.get(f"{API}/deployments/%7Bnope%7D")).status_code == 404


async def test_src(client: httpx.AsyncClient, world: World) -> None:
    r = await client.get(f"{API}/src")
    assert r.status_code == 302
    head = world.repos["api"].branches["main"]
    assert r.headers["location"] == f"http://sandbox.local/2.0{API}/src/{head}/"
    r = await client.get(f"{API}/src/main/src/app.py")
    assert r.headers["content-type"] == "text/x-python" and "attachment" in r.headers["content-disposition"]
    assert "TIMEOUT = 5" in r.text
    r2 = await client.get(f"{API}/src/main/src/app.py", headers={"If-None-Match": r.headers["etag"]})
    assert r2.status_code == 304
    # older revisions are rebuilt from patches; hash prefixes and tags resolve
    assert "TIMEOUT = 30" in (await client.get(f"{API}/src/v1.0/src/app.py")).text
    c1 = world.repos["api"].commit_order[-1]
    assert (await client.get(f"{API}/src/{c1[:7]}/docs/notes.txt")).text == "obsolete notes\n"
    assert (await client.get(f"{API}/src/main/docs/notes.txt")).status_code == 404
    assert (await client.get(f"{API}/src/feature%2Fnew-checkout/src/feature.txt")).status_code == 200
    meta = (await client.get(f"{API}/src/main/src/app.py?format=meta")).json()
    assert meta["type"] == "commit_file" and meta["size"] > 0 and meta["mimetype"] == "text/x-python"
    assert isinstance(meta["attributes"], list)
    listing = (await client.get(f"{API}/src/main/?max_depth=2")).json()["values"]
    types = {e["path"]: e["type"] for e in listing}
    assert types["src"] == "commit_directory" and types["src/app.py"] == "commit_file"
    assert all(e["commit"]["hash"] == head for e in listing)
    r = await client.get(f"{API}/src/main/", params={"q": 'type = "commit_file"', "sort": "-size"})
    assert [e["path"] for e in r.json()["values"]] == ["README.md"]
    assert (await client.get(f"{API}/src/nosuchref/")).status_code == 404


async def test_filehistory(client: httpx.AsyncClient) -> None:
    vals = (await client.get(f"{API}/filehistory/main/src/app.py")).json()["values"]
    assert len(vals) == 2 and vals[0]["commit"]["date"] > vals[1]["commit"]["date"]
    r = await client.get(f"{API}/filehistory/main/src/app.py", params={"q": "commit.date <= 2026-03-03"})
    assert len(r.json()["values"]) == 1


async def test_commits_and_diffs(client: httpx.AsyncClient, world: World) -> None:
    rd = world.repos["api"]
    c3 = rd.commit_order[2]
    r = await client.get(f"{API}/commit/{c3[:10]}")
    assert r.json()["hash"] == c3
    assert (await client.get(f"{API}/commit/deadbeef00")).status_code == 404
    diff = (await client.get(f"{API}/diff/{c3}")).text
    assert "diff --git a/src/app.py b/src/app.py" in diff and "+TIMEOUT = 5" in diff
    assert "deleted file mode" in diff and "+++ /dev/null" in diff
    only = (await client.get(f"{API}/diff/{c3}", params={"path": "docs/notes.txt"})).text
    assert "src/app.py" not in only and "docs/notes.txt" in only
    stat = (await client.get(f"{API}/diffstat/{c3}")).json()["values"]
    removed = next(s for s in stat if s["status"] == "removed")
    assert removed["new"] is None and removed["old"]["path"] == "docs/notes.txt"
    c2 = rd.commit_order[3]
    stat = (await client.get(f"{API}/diffstat/{c2}")).json()["values"]
    assert stat[0]["old"] is None and stat[0]["status"] == "added"
    # A..B: changes on A since the merge base with B (reverse of git order)
    f1 = rd.branches["feature/new-checkout"]
    stat = (await client.get(f"{API}/diffstat/{f1}..main")).json()["values"]
    assert [s["new"]["path"] for s in stat] == ["src/feature.txt"]
    multi = (await client.get(f"{API}/diff/main..{c2}")).text
    assert "+TIMEOUT = 5" in multi and "+  pool_size: 20" in multi
    patch = (await client.get(f"{API}/patch/{c3}")).text
    assert patch.startswith(f"From {c3}") and "Subject: [PATCH] Lower timeout" in patch
    sts = (await client.get(f"{API}/commit/main/statuses")).json()["values"]
    assert [s["key"] for s in sts] == ["LINT", "PIPE-5"]  # default sort created_on
    assert (await client.get(f"{API}/commit/main/statuses/build/LINT")).json()["state"] == "SUCCESSFUL"
    assert (await client.get(f"{API}/merge-base/{f1}..main")).json()["hash"] == c2


async def test_refs(client: httpx.AsyncClient, world: World) -> None:
    names = [b["name"] for b in (await client.get(f"{API}/refs/branches?sort=name")).json()["values"]]
    assert names == ["feature/new-checkout", "main", "release-9", "release-10"]
    r = await client.get(f"{API}/refs/branches", params={"q": 'name ~ "FEAT"'})
    assert [b["name"] for b in r.json()["values"]] == ["feature/new-checkout"]
    r = await client.get(f"{API}/refs/branches?sort=-target.date&fields=values.name")
    assert r.json()["values"][0]["name"] == "main"
    b = (await client.get(f"{API}/refs/branches/feature%2Fnew-checkout")).json()
    assert (
        b["type"] == "branch" and b["target"]["hash"] == world.repos["api"].branches["feature/new-checkout"]
    )
    assert b["merge_strategies"] and b["default_merge_strategy"]
    t = (await client.get(f"{API}/refs/tags/v1.1")).json()
    assert t["type"] == "tag" and t["message"] and t["target"]["hash"]
    assert (await client.get(f"{API}/refs/tags/nope")).status_code == 404
    assert len((await client.get(f"{API}/refs")).json()["values"]) == 6


async def test_bbql_errors(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/pullrequests", params={"q": 'title = "unterminated'})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["message"] == "Invalid query" and "unterminated" in err["detail"] and "q" in err["fields"]
    r = await client.get(f"{API}/pullrequests/2/comments", params={"q": "resolution = null"})
    assert r.status_code == 400


async def test_pullrequests(client: httpx.AsyncClient, world: World) -> None:
    ids = [p["id"] for p in (await client.get(f"{API}/pullrequests")).json()["values"]]
    assert ids == [5, 3]
    r = await client.get(
        f"{API}/pullrequests", params={"state": ["MERGED", "DECLINED"], "sort": "created_on"}
    )
    assert [p["id"] for p in r.json()["values"]] == [1, 2, 4]
    r = await client.get(f"{API}/pullrequests", params={"q": 'title ~ "\\"quoted\\""', "state": "DECLINED"})
    assert [p["id"] for p in r.json()["values"]] == [4]
    r = await client.get(
        f"{API}/pullrequests",
        params={"q": f'reviewers.uuid = "{world.accounts[1].uuid}"', "state": ["OPEN", "MERGED"]},
    )
    assert [p["id"] for p in r.json()["values"]] == [3, 2]
    assert (await client.get(f"{API}/pullrequests?q=draft=true")).json()["values"][0]["id"] == 5
    assert (await client.get(f"{API}/pullrequests?state=BOGUS")).status_code == 400
    assert (await client.get(f"{API}/pullrequests/99")).status_code == 404
    for kind in ("diff", "diffstat", "patch"):
        r = await client.get(f"{API}/pullrequests/2/{kind}")
        assert r.status_code == 302 and f"{API}/{kind}/" in r.headers["location"]
    r = await client.get(f"{API}/pullrequests/2/diff", follow_redirects=True)
    assert r.status_code == 200 and "+TIMEOUT = 5" in r.text
    assert len((await client.get(f"{API}/pullrequests/2/commits")).json()["values"]) == 1
    comments = (await client.get(f"{API}/pullrequests/2/comments")).json()["values"]
    assert [c["id"] for c in comments] == [201, 202]
    r = await client.get(f"{API}/pullrequests/2/comments", params={"q": "parent.id = 201"})
    assert [c["id"] for c in r.json()["values"]] == [202]
    assert (await client.get(f"{API}/pullrequests/2/comments/202")).json()["parent"]["id"] == 201
    act = (await client.get(f"{API}/pullrequests/2/activity")).json()["values"]
    assert "approval" in act[0] and "update" in act[-1]
    assert len((await client.get(f"{API}/pullrequests/activity")).json()["values"]) == 3
    assert (await client.get(f"{API}/pullrequests/2/statuses")).json()["values"][0]["key"] == "PIPE-3"


async def test_commit_pullrequests_modes(app: Starlette, client: httpx.AsyncClient, world: World) -> None:
    c3 = world.repos["api"].commit_order[2]
    r = await client.get(f"{API}/commit/{c3}/pullrequests")
    assert r.status_code == 200 and [p["id"] for p in r.json()["values"]] == [2]
    app.state.settings.commit_pullrequests_mode = "indexing"
    assert (await client.get(f"{API}/commit/{c3}/pullrequests")).status_code == 202
    app.state.settings.commit_pullrequests_mode = "not_installed"
    assert (await client.get(f"{API}/commit/{c3}/pullrequests")).status_code == 404


async def test_pipelines_filters(client: httpx.AsyncClient, world: World) -> None:
    async def nums(**params: object) -> list[int]:
        r = await client.get(f"{API}/pipelines", params={"pagelen": 100, **params})  # type: ignore[arg-type]
        assert r.status_code == 200, r.text
        return [p["build_number"] for p in r.json()["values"]]

    assert await nums() == list(range(1, 9))
    assert await nums(status="ERROR") == [3]
    assert await nums(status="FAILED") == [5]
    assert await nums(status=["FAILED", "ERROR"]) == [3, 5]
    assert await nums(status=["PASSED", "SUCCESSFUL"]) == [1, 2]
    assert await nums(status=["PENDING", "BUILDING", "IN_PROGRESS"]) == [4, 7]
    assert await nums(status=["PAUSED", "HALTED"]) == [8]
    assert await nums(status=["STOPPED", "SKIPPED"]) == [6]
    assert (await client.get(f"{API}/pipelines?status=COMPLETED")).status_code == 400
    assert await nums(**{"target.branch": "feature/new-checkout"}) == [4]
    assert await nums(**{"target.ref_type": "BRANCH", "target.ref_name": "release-10"}) == [8]
    assert await nums(**{"target.selector.type": "DEFAULT"}) == [1, 2, 3, 5, 6, 7]
    assert await nums(trigger_type="MANUAL") == [6]
    assert await nums(**{"creator.uuid": world.accounts[1].uuid}) == [2, 4, 6, 8]
    c4 = world.repos["api"].branches["main"]
    assert await nums(**{"target.commit.hash": c4}) == [5, 6, 7, 8]
    assert await nums(q='state.name = "X"') == list(range(1, 9))  # q is ignored
    assert await nums(sort="-created_on") == list(range(8, 0, -1))
    assert (await client.get(f"{API}/pipelines?sort=bogus")).status_code == 400


async def test_pipeline_and_steps(client: httpx.AsyncClient, world: World) -> None:
    p5 = world.repos["api"].pipelines[4]
    assert (await client.get(f"{API}/pipelines/5")).json()["uuid"] == p5["uuid"]
    assert (await client.get(f"{API}/pipelines/{quote(p5['uuid'])}")).json()["build_number"] == 5
    r = await client.get(f"{API}/pipelines/{p5['uuid'].strip('{}')}")
    assert r.status_code == 404 and r.json()["error"]["detail"] == "The value provided is not a valid uuid."
    assert (await client.get(f"{API}/pipelines/999")).status_code == 404
    steps = (await client.get(f"{API}/pipelines/5/steps")).json()["values"]
    test_step = steps[1]["uuid"]
    base = f"{API}/pipelines/5/steps/{quote(test_step)}"
    assert (await client.get(base)).json()["name"] == "test"
    summary = (await client.get(f"{base}/test_reports")).json()
    assert summary["number_of_failed_test_cases"] == 1
    cases = (await client.get(f"{base}/test_reports/test_cases")).json()["values"]
    assert [c["status"] for c in cases].count("FAILED") == 1
    pending = world.repos["api"].steps[world.repos["api"].pipelines[6]["uuid"]][0]["uuid"]
    pbase = f"{API}/pipelines/7/steps/{quote(pending)}"
    assert (await client.get(f"{pbase}/test_reports")).status_code == 404
    assert (await client.get(f"{pbase}/log")).status_code == 404


async def test_step_logs(app: Starlette, client: httpx.AsyncClient, world: World) -> None:
    rd = world.repos["api"]
    done = rd.steps[rd.pipelines[4]["uuid"]][1]["uuid"]
    r = await client.get(f"{API}/pipelines/5/steps/{quote(done)}/log")
    assert r.status_code == 307
    loc = r.headers["location"]
    assert loc.startswith("http://sandbox.local/2.0/_storage/logs/")
    assert (
        await client.get(f"{API}/pipelines/5/steps/{quote(done)}/log", headers={"Accept": "application/json"})
    ).status_code == 406
    async with make_client(app, None) as anon:  # storage needs no auth
        full = await anon.get(loc)
        assert full.status_code == 200 and full.headers["content-type"] == "application/octet-stream"
        assert "TimeoutError" in full.text
        n = len(full.content)
        r = await anon.get(loc, headers={"Range": "bytes=10-19"})
        assert r.status_code == 206 and r.content == full.content[10:20]
        assert r.headers["content-range"] == f"bytes 10-19/{n}"
        r = await anon.get(loc, headers={"Range": "bytes=-15"})
        assert r.status_code == 206 and r.content == full.content[-15:]
        r = await anon.get(loc, headers={"Range": f"bytes={n}-"})
        assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{n}"
        assert (await anon.head(loc)).status_code == 403
    live = rd.steps[rd.pipelines[3]["uuid"]][1]["uuid"]
    url = f"{API}/pipelines/4/steps/{quote(live)}/log"
    r = await client.get(url)
    assert r.status_code == 200 and r.text == rd.logs[live]
    r = await client.get(url, headers={"Range": "bytes=0-4"})
    assert r.status_code == 206 and r.text == rd.logs[live][:5]
    assert (await client.get(url, headers={"Range": "bytes=-5"})).status_code == 503
    assert (await client.get(url, headers={"Range": "bytes=99999-"})).status_code == 416


async def test_code_search(app: Starlette, client: httpx.AsyncClient) -> None:
    r = await client.get("/workspaces/acme/search/code", params={"search_query": "timeout"})
    body = r.json()
    assert body["query_substituted"] is False and body["size"] == 1
    hit = body["values"][0]
    assert hit["file"]["path"] == "src/app.py" and "commit" not in hit["file"]
    assert any(s.get("match") for m in hit["content_matches"] for ln in m["lines"] for s in ln["segments"])
    r = await client.get(
        "/workspaces/acme/search/code?search_query=timeout&fields=%2Bvalues.file.commit.repository"
    )
    assert r.json()["values"][0]["file"]["commit"]["repository"]["full_name"] == "acme/api"
    r = await client.get(
        "/workspaces/acme/search/code", params={"search_query": '"pool_size: 20" path:config'}
    )
    assert [v["file"]["path"] for v in r.json()["values"]] == ["config/settings.yaml"]
    r = await client.get("/workspaces/acme/search/code", params={"search_query": "checkout repo:web"})
    assert [v["file"]["path"] for v in r.json()["values"]] == ["public/index.html"]
    assert (await client.get("/workspaces/acme/search/code")).status_code == 400
    app.state.settings.code_search_enabled = False
    r = await client.get("/workspaces/acme/search/code", params={"search_query": "timeout"})
    assert r.status_code == 404 and r.json()["error"]["message"] == "Search is not enabled for this workspace"


async def test_sort_single_field_and_555(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"{API}/refs?sort=name,-target.date")).status_code == 400
    r = await client.get(f"{API}/src/main/?max_depth=100")
    assert r.status_code == 555 and r.json()["type"] == "error"
