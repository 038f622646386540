"""Contract test: every endpoint's JSON against the official OpenAPI component schema.

The spec is loaded once, `nullable` is translated for JSON Schema (draft 4), and exactly the four
systematic mismatches from API-NOTES (appendix) are loosened:
  1. `additionalProperties: false` on nested (inline) objects, e.g. link objects and `error.error`;
  2. object-typed properties may be null (diffstat `old`/`new`, `merge_commit`, ...);
  3. nested `links` objects need not carry the `type` the base `object` schema requires;
  4. `commit_file.attributes` may be a list of strings.
Where the spec has no 200 schema (PR commits/activity, test reports, logs) the shape from the notes is
checked instead. The 403 body's `detail` is an object (notes §2), so it is checked by shape too.
Runs over the tiny world and, once `sandbox.world.generator` exists, the default world.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest

from bbscout.sandbox.app import SandboxSettings, create_app
from bbscout.sandbox.world.model import World
from tests.sandbox.conftest import make_client
from tests.sandbox.fixtures import tiny_world

SPEC = Path("/work/shared/bitbucket/bitbucket-cloud-openapi.json")
REF = "#/components/schemas/"


def _translate(node: Any, in_component_root: bool, prop_is_value: bool = False) -> Any:
    if isinstance(node, list):
        return [_translate(x, False) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k == "properties" and isinstance(v, dict):
            out[k] = {name: _translate(sub, False, prop_is_value=True) for name, sub in v.items()}
        elif k == "allOf" and in_component_root:
            out[k] = [_translate(x, True) for x in v]
        elif k in ("additionalProperties", "items", "anyOf", "oneOf", "allOf", "not"):
            out[k] = _translate(v, False)
        else:
            out[k] = v
    # loosening 1: inline objects may carry extra keys
    if not in_component_root and out.get("additionalProperties") is False:
        out["additionalProperties"] = True
    nullable = out.pop("nullable", False)
    # loosening 2: object-typed properties may be null
    object_typed = "$ref" in out or out.get("type") == "object" or "allOf" in out
    if nullable or (prop_is_value and object_typed):
        return {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def components() -> dict[str, Any]:
    schemas = json.loads(SPEC.read_text())["components"]["schemas"]
    out = {name: _translate(s, True) for name, s in schemas.items()}
    # loosening 3: links sections may lack `type`
    untyped = copy.deepcopy(out["object"])
    untyped.pop("required", None)
    out["object_untyped"] = untyped
    for name, s in out.items():
        if "links" in name and "allOf" in s:
            s["allOf"] = [
                {"$ref": REF + "object_untyped"} if x == {"$ref": REF + "object"} else x for x in s["allOf"]
            ]
    # loosening 4: commit_file.attributes is a list of strings
    attrs = out["commit_file"]["properties"]["attributes"]
    out["commit_file"]["properties"]["attributes"] = {
        "anyOf": [attrs, {"type": "array", "items": {"type": "string"}}]
    }
    return out


def validate(instance: Any, schema_name: str) -> None:
    schema = {"$ref": REF + schema_name, "components": {"schemas": components()}}
    jsonschema.Draft4Validator(schema).validate(instance)


def worlds() -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [("tiny", tiny_world)]
    try:
        from bbscout.sandbox.world.generator import build_world  # type: ignore[import-not-found]
    except ImportError:
        return out
    anchor = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)  # pinned: tests never depend on the wall clock
    out.append(("default", lambda: build_world("default", anchor=anchor)))
    return out


def pick(world: World) -> tuple[str, Any]:
    """The repo with the most variety (PRs, pipelines with steps, deployments)."""

    def score(rd: Any) -> int:
        return len(rd.pullrequests) + len(rd.pipelines) + 5 * len(rd.deployments) + 5 * len(rd.test_reports)

    rd = max(world.repos.values(), key=score)
    return rd.slug, rd


def endpoints(world: World) -> list[tuple[str, str | None, int]]:
    """(path, schema name or None for shape checks, expected status)."""
    ws = world.workspace["slug"]
    slug, rd = pick(world)
    r = f"/repositories/{ws}/{slug}"
    head = rd.branches[rd.main_branch]
    # a commit with a parent, and one that added a file
    commit = next(h for h in rd.commit_order if rd.commits[h].get("parents"))
    file_path = sorted(rd.files)[0]
    out: list[tuple[str, str | None, int]] = [
        ("/user", "account", 200),
        ("/user/workspaces", "paginated_workspace_access", 200),
        (f"/workspaces/{ws}", "workspace", 200),
        (f"/workspaces/{ws}/members", "paginated_workspace_memberships", 200),
        (f"/workspaces/{ws}/members/{quote(world.accounts[-1].uuid)}", "workspace_membership", 200),
        (f"/workspaces/{ws}/members/nobody", "error", 404),
        ("/workspaces", "error", 410),
        ("/user/permissions/workspaces", "error", 410),
        ("/repositories", "error", 410),
        (f"/repositories/{ws}", "paginated_repositories", 200),
        (f"/repositories/{ws}?q=name%20~%20%22a%22&sort=-updated_on", "paginated_repositories", 200),
        (r, "repository", 200),
        (f"/repositories/{ws}/does-not-exist", "error", 404),
        (f"{r}/src/{head}/", "paginated_treeentries", 200),
        (f"{r}/src/{head}/?max_depth=3&pagelen=100", "paginated_treeentries", 200),
        (f"{r}/src/{head}/{quote(file_path)}?format=meta", "commit_file", 200),
        (f"{r}/src/{head}/no/such/file", "error", 404),
        (f"{r}/filehistory/{head}/{quote(file_path)}", "paginated_files", 200),
        (f"/workspaces/{ws}/search/code?search_query=the", "search_result_page", 200),
        (
            f"/workspaces/{ws}/search/code?search_query=the&fields=%2Bvalues.file.commit.repository",
            "search_result_page",
            200,
        ),
        (
            f"{r}/pullrequests?state=OPEN&state=MERGED&state=DECLINED&state=SUPERSEDED",
            "paginated_pullrequests",
            200,
        ),
        (
            f"{r}/pullrequests?state=MERGED&fields=%2Bvalues.reviewers,%2Bvalues.participants",
            "paginated_pullrequests",
            200,
        ),
        (f"{r}/pullrequests?pagelen=51", "error", 400),
        (f"{r}/pullrequests?q=title%20%3D", "error", 400),
        (f"{r}/pullrequests/999999", "error", 404),
        (f"{r}/commits", "paginated_changeset", 200),
        (f"{r}/commits/{quote(rd.main_branch, safe='')}?pagelen=5", "paginated_changeset", 200),
        (f"{r}/commit/{commit}", "commit", 200),
        (f"{r}/commit/0000000000", "error", 404),
        (f"{r}/commit/{commit}/statuses", "paginated_commitstatuses", 200),
        (f"{r}/commit/{commit}/pullrequests", "paginated_pullrequests", 200),
        (f"{r}/diffstat/{commit}", "paginated_diffstats", 200),
        (f"{r}/merge-base/{head}..{commit}", "commit", 200),
        (f"{r}/refs", "paginated_refs", 200),
        (f"{r}/refs/branches?sort=-target.date", "paginated_branches", 200),
        (f"{r}/refs/tags?sort=name", "paginated_tags", 200),
        (f"{r}/refs/branches/{quote(rd.main_branch, safe='')}", "branch", 200),
        (f"{r}/refs/branches/no-such-branch", "error", 404),
        (f"{r}/pipelines?pagelen=100", "paginated_pipelines", 200),
        (f"{r}/pipelines?status=COMPLETED", "error", 400),
        (f"{r}/pipelines/not-a-uuid", "error", 404),
        (f"{r}/deployments/", "paginated_deployments", 200),
        (f"{r}/deployments", "error", 404),
        (f"{r}/environments/", "paginated_environments", 200),
        ("/no/such/thing", "error", 404),
    ]
    for name in list(rd.tags)[:2]:
        out.append((f"{r}/refs/tags/{quote(name, safe='')}", "tag", 200))
    for pid in sorted(rd.pullrequests)[:3]:
        out += [
            (f"{r}/pullrequests/{pid}", "pullrequest", 200),
            (f"{r}/pullrequests/{pid}/comments", "paginated_pullrequest_comments", 200),
            (f"{r}/pullrequests/{pid}/statuses", "paginated_commitstatuses", 200),
            (f"{r}/pullrequests/{pid}/commits", None, 200),
            (f"{r}/pullrequests/{pid}/activity", None, 200),
        ]
        for c in rd.pr_comments.get(pid, [])[:1]:
            out.append((f"{r}/pullrequests/{pid}/comments/{c['id']}", "pullrequest_comment", 200))
    for h, sts in list(rd.statuses.items())[:2]:
        for s in sts[:1]:
            out.append((f"{r}/commit/{h}/statuses/build/{quote(s['key'], safe='')}", "commitstatus", 200))
    for p in rd.pipelines[:4] + rd.pipelines[-4:]:
        pu = quote(p["uuid"])
        out += [
            (f"{r}/pipelines/{pu}", "pipeline", 200),
            (f"{r}/pipelines/{p['build_number']}", "pipeline", 200),
            (f"{r}/pipelines/{pu}/steps", "paginated_pipeline_steps", 200),
        ]
        for s in rd.steps.get(p["uuid"], [])[:3]:
            su = quote(s["uuid"])
            out.append((f"{r}/pipelines/{pu}/steps/{su}", "pipeline_step", 200))
            if s["uuid"] in rd.test_reports:
                out += [
                    (f"{r}/pipelines/{pu}/steps/{su}/test_reports", None, 200),
                    (f"{r}/pipelines/{pu}/steps/{su}/test_reports/test_cases", None, 200),
                ]
            else:
                out.append((f"{r}/pipelines/{pu}/steps/{su}/test_reports", "error", 404))
    for d in rd.deployments[:3]:
        out.append((f"{r}/deployments/{quote(d['uuid'])}", "deployment", 200))
    for e in rd.environments[:3]:
        out.append((f"{r}/environments/{quote(e['uuid'])}", "deployment_environment", 200))
    return out


def check_shape(path: str, body: Any) -> None:
    if path.endswith("/commits"):
        assert set(body) >= {"values", "pagelen"}
        for c in body["values"]:
            validate(c, "commit")
    elif path.endswith("/activity"):
        for item in body["values"]:
            assert {"comment", "update", "approval", "changes_requested"} & set(item), item
            assert "pull_request" in item
    elif path.endswith("/test_reports"):
        for k in ("number_of_test_cases", "number_of_successful_test_cases", "number_of_failed_test_cases"):
            assert isinstance(body[k], int)
    elif path.endswith("/test_cases"):
        assert "values" in body and all("name" in tc and "status" in tc for tc in body["values"])
    else:
        raise AssertionError(f"no shape check for {path}")


@pytest.fixture(scope="module", params=worlds(), ids=lambda w: w[0])
def contract_world(request: pytest.FixtureRequest) -> World:
    return request.param[1]()  # type: ignore[no-any-return]


async def test_every_endpoint_matches_spec(contract_world: World) -> None:
    app = create_app(contract_world, SandboxSettings(rate_limit_per_hour=10**6))
    failures: list[str] = []
    async with make_client(app, contract_world.token("demo")) as c:
        for path, schema, status in endpoints(contract_world):
            r = await c.get(path)
            if r.status_code != status:
                failures.append(f"{path}: status {r.status_code} != {status}: {r.text[:200]}")
                continue
            try:
                body = r.json()
                if schema is None:
                    check_shape(path.split("?")[0], body)
                else:
                    validate(body, schema)
            except (AssertionError, jsonschema.ValidationError, KeyError, ValueError) as exc:
                msg = getattr(exc, "message", str(exc))
                where = "/".join(str(p) for p in getattr(exc, "absolute_path", []))
                failures.append(f"{path} [{schema}] at {where}: {msg[:300]}")
    unexpected = [f for f in failures if not any(k in f for k in KNOWN_WORLD_DEVIATIONS)]
    KNOWN_FOUND.extend(f for f in failures if f not in unexpected)
    assert not unexpected, "\n".join(unexpected)


# Shapes the generated world emits that the notes describe as real but the spec rejects, and that are
# NOT among the four loosenings. They are reported (xfail below) rather than loosened.
KNOWN_WORLD_DEVIATIONS = (
    "/state: None is not of type 'string'",  # participants[].state null (notes §9)
    "'from': None",  # inline comment `from: null`
)
KNOWN_FOUND: list[str] = []


def test_known_world_deviations_reported() -> None:
    if KNOWN_FOUND:
        pytest.xfail(
            "world data deviates from the spec beyond the four loosenings:\n" + "\n".join(KNOWN_FOUND)
        )


async def test_text_endpoints_and_redirects(contract_world: World) -> None:
    app = create_app(contract_world, SandboxSettings(rate_limit_per_hour=10**6))
    slug, rd = pick(contract_world)
    r = f"/repositories/{contract_world.workspace['slug']}/{slug}"
    commit = next(h for h in rd.commit_order if rd.commits[h].get("parents"))
    async with make_client(app, contract_world.token("demo")) as c:
        diff = await c.get(f"{r}/diff/{commit}")
        assert diff.status_code == 200 and diff.headers["content-type"].startswith("text/plain")
        assert all(
            line.startswith("diff --git a/") for line in diff.text.splitlines() if line.startswith("diff ")
        )
        path = sorted(rd.files)[0]
        f = await c.get(f"{r}/src/{commit}/{quote(path)}")
        assert f.status_code in (200, 404)
        assert (await c.get(f"{r}/src")).status_code == 302
        for pid in sorted(rd.pullrequests)[:2]:
            resp = await c.get(f"{r}/pullrequests/{pid}/diff")
            assert resp.status_code == 302
            assert (await c.get(resp.headers["location"])).status_code == 200
        for p in rd.pipelines[:10] + rd.pipelines[-10:]:
            for s in rd.steps.get(p["uuid"], []):
                if s["uuid"] not in rd.logs:
                    continue
                log = await c.get(
                    f"{r}/pipelines/{quote(p['uuid'])}/steps/{quote(s['uuid'])}/log", follow_redirects=True
                )
                assert log.status_code == 200 and log.headers["content-type"] == "application/octet-stream"
                assert log.text == rd.logs[s["uuid"]]
        # 403 body: detail is an object with granted/required (notes §2)
        scoped = next(
            (
                t
                for t in contract_world.tokens
                if t.kind == "api_token"
                and not t.expired
                and t.scoped
                and "read:pipeline:bitbucket" not in t.scopes
                and "read:repository:bitbucket" in t.scopes
            ),
            None,
        )
    if scoped is not None:
        async with make_client(app, scoped) as c2:
            resp = await c2.get(f"{r}/pipelines")
            assert resp.status_code == 403
            body = resp.json()
            assert body["type"] == "error" and set(body["error"]["detail"]) == {"granted", "required"}
