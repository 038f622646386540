"""The sandbox Bitbucket Cloud REST 2.0 server (read-only) over a `World`.

`create_app(world, settings)` returns a Starlette app that answers GET/HEAD under `/2.0` the way
api.bitbucket.org does (shapes, pagination styles, BBQL, `fields=`, auth, scopes, rate limits and the
quirks listed in shared/bitbucket/API-NOTES.md). Every request passes, in order: method check (405),
fault injection, the log-storage route (no auth), authentication (401), rate limiting (429),
routing (404/410), scope check (403), repository visibility (404), the handler.

Routing is done on the raw path (`scope["raw_path"]`) so `%2F` inside a branch name stays one
segment. API links in responses (`links.*.href`, `next`) are rooted at the base URL that served the
request, so clients that follow them stay on this server; `links.html` stays on bitbucket.org.
`app.state` exposes `settings` (mutable per test), `request_log`, `fault_log` and `rate_limiter`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import mimetypes
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, quote, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bbscout.sandbox import bbql
from bbscout.sandbox.auth import authenticate, can_see_repo, check_scope
from bbscout.sandbox.faults import FaultInjector, FaultLog, FaultProfile
from bbscout.sandbox.fields import apply_fields
from bbscout.sandbox.paging import ApiError, iterator_page, list_page, numbered_page, page_params
from bbscout.sandbox.ratelimit import RateLimiter
from bbscout.sandbox.repoindex import RepoIndex, fake_blob
from bbscout.sandbox.world.model import API_ROOT, WEB_ROOT, Account, FileChange, RepoData, Token, World

__all__ = ["SandboxSettings", "create_app"]

Json = dict[str, Any]
PREFIX = "/2.0"
STORAGE = "_storage"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
PR_STATES = ("OPEN", "MERGED", "DECLINED", "SUPERSEDED")
PIPELINE_STATUSES = {
    "PARSING",
    "PENDING",
    "PAUSED",
    "HALTED",
    "BUILDING",
    "IN_PROGRESS",
    "ERROR",
    "PASSED",
    "SUCCESSFUL",
    "FAILED",
    "STOPPED",
    "SKIPPED",
    "UNKNOWN",
    "EXPIRED",
}
CACHE_ENTRIES = 4096
CACHE_MAX_BODY = 1 << 20
PIPELINE_SORTS = {"created_on", "run_creation_date", "creator.uuid"}
SELECTOR_TYPES = {
    "BRANCH": "branches",
    "TAG": "tags",
    "CUSTOM": "custom",
    "PULLREQUESTS": "pull-requests",
    "DEFAULT": "default",
    "BOOKMARK": "bookmarks",
}


@dataclass
class SandboxSettings:
    """Run-time knobs; `app.state.settings` may be replaced or mutated between requests."""

    rate_limit_per_hour: int = 1000
    faults: FaultProfile = field(default_factory=FaultProfile)
    code_search_enabled: bool | None = None  # None: the world's value
    commit_pullrequests_mode: Literal["ok", "indexing", "not_installed"] = "ok"
    clock: Callable[[], float] = time.monotonic  # rate-limit clock (monotonic seconds)


# ------------------------------------------------------------------------------------------------
# request context and responses


@dataclass
class Ctx:
    request: Request
    world: World
    segs: list[str]
    trailing: bool
    query: dict[str, list[str]]
    raw_query: str
    url_base: str  # scheme://host/2.0/<raw path>, for next/previous links
    root: str  # scheme://host/2.0: redirects and every API link in a response
    token: Token | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def q1(self, name: str) -> str | None:
        v = self.query.get(name)
        return v[-1] if v else None


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": ")).encode("utf-8")


API_URL_KEYS = frozenset({"href", "uri"})  # where API URLs appear: links.*.href, configuration sources


def rebase_links(obj: Any, root: str) -> Any:
    """`obj` with every API URL (under api.bitbucket.org/2.0) rooted at `root` instead, the base URL
    that served the request: a client that follows links stays on this server. Web links
    (`links.html`, clone URLs) stay on bitbucket.org. The world itself is never modified."""
    if isinstance(obj, dict):
        return {
            key: root + value[len(API_ROOT) :]
            if key in API_URL_KEYS
            and isinstance(value, str)
            and (value == API_ROOT or value.startswith(API_ROOT + "/"))
            else rebase_links(value, root)
            for key, value in obj.items()
        }
    if isinstance(obj, list):
        return [rebase_links(item, root) for item in obj]
    return obj


def json_response(
    ctx: Ctx, obj: Any, hidden: tuple[tuple[str, ...], ...] = (), status: int = 200
) -> Response:
    fields = ctx.q1("fields")
    body = apply_fields(obj, fields, hidden) if (fields is not None or hidden) else obj
    if ctx.root != API_ROOT:
        body = rebase_links(body, ctx.root)
    return Response(dumps(body), status_code=status, media_type="application/json", headers=ctx.headers)


def error_response(err: ApiError, headers: dict[str, str] | None = None) -> Response:
    h = dict(headers or {})
    h.update(err.headers)
    return Response(dumps(err.body()), status_code=err.status, media_type="application/json", headers=h)


def not_found(message: str = "Resource not found", detail: Any = None) -> ApiError:
    return ApiError(404, message, detail)


def redirect(location: str, status: int = 302, headers: dict[str, str] | None = None) -> Response:
    return Response(b"", status_code=status, headers={**(headers or {}), "Location": location})


def etag_of(text: str) -> str:
    return '"' + hashlib.sha1(text.encode("utf-8")).hexdigest() + '"'


# ------------------------------------------------------------------------------------------------
# filtering / sorting helpers

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def _first(obj: Any, path: str) -> Any:
    node = obj
    for part in path.split("."):
        if isinstance(node, list):
            node = node[0] if node else None
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _natural(s: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", s))


def sort_items(items: list[Json], sort: str | None, natural: set[str] = frozenset()) -> list[Json]:  # type: ignore[assignment]
    if not sort:
        return items
    if "," in sort or not sort.lstrip("-").strip():
        raise ApiError(400, "Invalid sort", "Sorting is supported on a single field only.")
    desc = sort.startswith("-")
    path = sort.lstrip("-").strip()

    def key(obj: Json) -> tuple[Any, ...]:
        v = _first(obj, path)
        if v is None:
            return (1, 0, "")
        if isinstance(v, bool):
            return (0, 0, int(v))
        if isinstance(v, (int, float)):
            return (0, 0, v)
        if isinstance(v, str) and _ISO.match(v):
            try:
                return (0, 1, bbql.parse_datetime(v).timestamp())
            except ValueError:
                pass
        if path in natural and isinstance(v, str):
            return (0, 2, _natural(v))
        return (0, 3, str(v))

    present = [o for o in items if _first(o, path) is not None]
    missing = [o for o in items if _first(o, path) is None]
    return sorted(present, key=key, reverse=desc) + missing


def filter_q(
    items: list[Json], q: str | None, reject: Callable[[bbql.Expr], str | None] | None = None
) -> list[Json]:
    if q is None or q.strip() == "":
        return items
    try:
        expr = bbql.parse(q)
    except bbql.BBQLError as exc:
        raise ApiError(400, "Invalid query", exc.message, fields={"q": [exc.message]}) from None
    if reject:
        why = reject(expr)
        if why:
            raise ApiError(400, why, fields={"q": [why]})
    return [o for o in items if bbql.evaluate(expr, o)]


def paged(
    ctx: Ctx,
    items: list[Json],
    *,
    default: int = 10,
    maximum: int = 100,
    sortable: bool = True,
    natural: set[str] = frozenset(),  # type: ignore[assignment]
    hidden: tuple[tuple[str, ...], ...] = (),
    status: int = 200,
    q: bool = True,
) -> Response:
    if q:
        items = filter_q(items, ctx.q1("q"))
    if sortable:
        items = sort_items(items, ctx.q1("sort"), natural)
    params = page_params(ctx.query, default, maximum)
    return json_response(ctx, list_page(items, params, ctx.url_base, ctx.raw_query), hidden, status)


# ------------------------------------------------------------------------------------------------
# object builders (shapes from the spec; API links at api.bitbucket.org like the rest of the world,
# rooted at the serving host by `json_response`)


def repo_api(rd: RepoData) -> str:
    return f"{API_ROOT}/repositories/{rd.repository['full_name']}"


def repo_web(rd: RepoData) -> str:
    return f"{WEB_ROOT}/{rd.repository['full_name']}"


def commit_stub(rd: RepoData, h: str) -> Json:
    return {
        "type": "commit",
        "hash": h,
        "links": {
            "self": {"href": f"{repo_api(rd)}/commit/{h}"},
            "html": {"href": f"{repo_web(rd)}/commits/{h}"},
        },
    }


def commit_condensed(rd: RepoData, h: str) -> Json:
    c = rd.commits[h]
    out = commit_stub(rd, h)
    for k in ("date", "author", "message", "summary", "parents"):
        if k in c:
            out[k] = c[k]
    return out


def file_entry(rd: RepoData, h: str, path: str, content: str | None, meta: bool = False) -> Json:
    src = f"{repo_api(rd)}/src/{h}/{quote(path)}"
    entry: Json = {
        "type": "commit_file",
        "path": path,
        "commit": commit_stub(rd, h),
        "attributes": [],
        "escaped_path": path,
        "size": len((content or "").encode("utf-8")),
        "mimetype": guess_mime(path),
        "links": {
            "self": {"href": src},
            "meta": {"href": f"{src}?format=meta"},
            "history": {"href": f"{repo_api(rd)}/filehistory/{h}/{quote(path)}"},
        },
    }
    return entry


def dir_entry(rd: RepoData, h: str, path: str) -> Json:
    src = f"{repo_api(rd)}/src/{h}/{quote(path)}/"
    return {
        "type": "commit_directory",
        "path": path,
        "commit": commit_stub(rd, h),
        "links": {"self": {"href": src}, "meta": {"href": f"{src}?format=meta"}},
    }


def guess_mime(path: str) -> str:
    special = {
        ".md": "text/markdown",
        ".yml": "text/x-yaml",
        ".yaml": "text/x-yaml",
        ".py": "text/x-python",
        ".ts": "text/x-typescript",
        ".go": "text/x-go",
        ".toml": "text/x-toml",
        ".lock": "text/plain",
        ".cfg": "text/plain",
        ".ini": "text/plain",
        ".env": "text/plain",
        ".tf": "text/plain",
    }
    for ext, media_type in special.items():
        if path.endswith(ext):
            return media_type
    guessed, _ = mimetypes.guess_type(path)
    return guessed or "text/plain"


def branch_json(rd: RepoData, name: str) -> Json:
    h = rd.branches[name]
    enc = quote(name, safe="")
    return {
        "name": name,
        "target": rd.commits[h],
        "links": {
            "self": {"href": f"{repo_api(rd)}/refs/branches/{enc}"},
            "commits": {"href": f"{repo_api(rd)}/commits/{enc}"},
            "html": {"href": f"{repo_web(rd)}/branch/{enc}"},
        },
        "type": "branch",
        "merge_strategies": ["merge_commit", "squash", "fast_forward"],
        "default_merge_strategy": "merge_commit",
    }


def tag_json(rd: RepoData, name: str) -> Json:
    t = rd.tags[name]
    enc = quote(name, safe="")
    out: Json = {
        "name": name,
        "target": rd.commits[t["hash"]],
        "links": {
            "self": {"href": f"{repo_api(rd)}/refs/tags/{enc}"},
            "commits": {"href": f"{repo_api(rd)}/commits/{enc}"},
            "html": {"href": f"{repo_web(rd)}/commits/tag/{enc}"},
        },
        "type": "tag",
    }
    for k in ("message", "date", "tagger"):
        if k in t:
            out[k] = t[k]
    return out


# ------------------------------------------------------------------------------------------------
# the app


class Sandbox:
    """Holds the world, the caches and the per-app machinery; `dispatch` is the single endpoint."""

    def __init__(self, world: World, settings: SandboxSettings) -> None:
        self.world = world
        self.settings = settings
        self.request_log: list[tuple[str, str, int]] = []
        self.fault_log = FaultLog()
        self.injector = FaultInjector()
        self.limiter = RateLimiter(lambda: self.settings.clock())
        self._index: dict[str, RepoIndex] = {}
        self._storage: dict[str, tuple[str, str]] | None = None
        self._cache: OrderedDict[tuple[Any, ...], tuple[int, bytes]] = OrderedDict()
        self.app: Starlette | None = None

    # ---- plumbing --------------------------------------------------------------------------
    def index(self, slug: str) -> RepoIndex:
        if slug not in self._index:
            self._index[slug] = RepoIndex(self.world.repos[slug])
        return self._index[slug]

    def storage_token(self, slug: str, step_uuid: str) -> str:
        return hashlib.sha256(f"{self.world.name}:{self.world.seed}:{slug}:{step_uuid}".encode()).hexdigest()[
            :40
        ]

    def storage_map(self) -> dict[str, tuple[str, str]]:
        if self._storage is None:
            self._storage = {
                self.storage_token(slug, step): (slug, step)
                for slug, rd in self.world.repos.items()
                for step in rd.logs
            }
        return self._storage

    async def dispatch(self, request: Request) -> Response:
        if self.app is not None:
            self.settings = self.app.state.settings
        scope = request.scope
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        raw_path = raw_path.split("?", 1)[0]
        raw_query = scope.get("query_string", b"").decode("latin-1")
        path_q = raw_path + (f"?{raw_query}" if raw_query else "")
        method = request.method
        response = await self._respond(request, raw_path, raw_query, path_q, method)
        if method == "HEAD":
            response.body = b""
        self.request_log.append((method, path_q, response.status_code))
        return response

    async def _respond(
        self, request: Request, raw_path: str, raw_query: str, path_q: str, method: str
    ) -> Response:
        if method not in ("GET", "HEAD"):
            return error_response(ApiError(405, f"Method {method} not allowed"), {"Allow": "GET, HEAD"})
        decision = self.injector.decide(self.settings.faults, path_q, self.fault_log)
        if decision.delay_s:
            await asyncio.sleep(decision.delay_s)
        if decision.status is not None:
            return fault_response(decision.status, decision.retry_after_s)
        try:
            response = await self._handle(request, raw_path, raw_query, method)
        except ApiError as err:
            response = error_response(err)
        if decision.truncate and response.media_type == "application/json" and response.body:
            body = bytes(response.body)
            response = Response(
                body[: len(body) // 2],
                status_code=response.status_code,
                media_type="application/json",
                headers={
                    k: v
                    for k, v in response.headers.items()
                    if k.lower() not in ("content-length", "content-type")
                },
            )
            self.fault_log.record(path_q, "truncate", response.status_code)
        return response

    async def _handle(self, request: Request, raw_path: str, raw_query: str, method: str) -> Response:
        if not (raw_path == PREFIX or raw_path.startswith(PREFIX + "/")):
            raise not_found()
        rest = raw_path[len(PREFIX) :]
        trailing = rest.endswith("/") and rest != "/"
        segs = [unquote(s) for s in rest.strip("/").split("/")] if rest.strip("/") else []
        base = str(request.base_url).rstrip("/")
        ctx = Ctx(
            request,
            self.world,
            segs,
            trailing,
            parse_qs(raw_query, keep_blank_values=True),
            raw_query,
            base + raw_path,
            base + PREFIX,
        )
        if segs[:2] == [STORAGE, "logs"] and len(segs) == 3:
            return self.storage_log(ctx, segs[2], method)
        token = authenticate(request.headers.get("authorization"), self.world)
        ctx.token = token
        limit = token.rate_limit_per_hour or self.settings.rate_limit_per_hour
        rate = self.limiter.check(token.label, limit)
        if token.kind == "access_token":
            ctx.headers.update(
                {
                    "X-RateLimit-Limit": str(limit),
                    "X-RateLimit-Resource": "api",
                    "X-RateLimit-NearLimit": "true" if rate.near_limit else "false",
                }
            )
        try:
            if not rate.allowed:
                err = ApiError(429, "Rate limit for this resource has been exceeded.")
                err.headers["Retry-After"] = str(rate.retry_after_s)
                raise err
            group, handler, args = self.route(ctx)
            check_scope(token, group)
            key = self.cache_key(ctx, raw_query)
            hit = self._cache.get(key) if key is not None else None
            if key is not None and hit is not None:
                self._cache.move_to_end(key)
                return Response(hit[1], hit[0], media_type="application/json", headers=ctx.headers)
            response = handler(ctx, *args)
            if (
                key
                and response.media_type == "application/json"
                and response.status_code in (200, 202)
                and len(response.body) <= CACHE_MAX_BODY
            ):
                self._cache[key] = (response.status_code, bytes(response.body))
                if len(self._cache) > CACHE_ENTRIES:
                    self._cache.popitem(last=False)
            return response
        except ApiError as err:
            err.headers = {**ctx.headers, **err.headers}
            raise

    def cache_key(self, ctx: Ctx, raw_query: str) -> tuple[Any, ...] | None:
        """JSON bodies depend only on the URL, the caller's visibility and two settings (worlds are
        immutable), so they are memoised; requests with conditional/range headers are not."""
        h = ctx.request.headers
        if (
            "range" in h
            or "if-none-match" in h
            or ("accept" in h and "json" in h["accept"] and ctx.segs[-1:] == ["log"])
        ):
            return None
        assert ctx.token is not None
        return (
            ctx.url_base,
            raw_query,
            ctx.token.label,
            self.settings.code_search_enabled,
            self.settings.commit_pullrequests_mode,
        )

    # ---- routing ---------------------------------------------------------------------------
    def route(self, ctx: Ctx) -> tuple[str, Callable[..., Response], tuple[Any, ...]]:
        s = ctx.segs
        match s:
            case ["user"]:
                return "user", self.user, ()
            case ["user", "workspaces"]:
                return "user_workspaces", self.user_workspaces, ()
            case ["user", "permissions", "workspaces"] | ["workspaces"] | ["repositories"]:
                raise ApiError(
                    410,
                    "This API is no longer available.",
                    "Cross-workspace APIs were removed (CHANGE-2770); use /2.0/user/workspaces.",
                )
            case ["workspaces", ws]:
                self.workspace(ws)
                return "workspace", self.get_workspace, ()
            case ["workspaces", ws, "search", "code"]:
                self.workspace(ws)
                return "search", self.search_code, ()
            case ["workspaces", ws, "members"]:
                self.workspace(ws)
                return "members", self.list_members, ()
            case ["workspaces", ws, "members", member]:
                self.workspace(ws)
                return "members", self.get_member, (member,)
            case ["repositories", ws]:
                self.workspace(ws)
                return "repository", self.list_repos, ()
            case ["repositories", ws, repo, *rest]:
                return self.repo_route(ctx, ws, repo, rest)
        raise not_found()

    def workspace(self, ws: str) -> None:
        w = self.world.workspace
        if ws not in (w["slug"], w["uuid"]):
            raise not_found(f"No workspace with identifier '{ws}'.")

    def repo_data(self, ctx: Ctx, ws: str, repo: str) -> RepoData:
        w = self.world.workspace
        rd = None
        if ws in (w["slug"], w["uuid"]):
            rd = self.world.repos.get(repo) or next(
                (r for r in self.world.repos.values() if r.repository.get("uuid") == repo), None
            )
        if rd is None or (ctx.token is not None and not can_see_repo(ctx.token, rd.slug)):
            raise not_found(f"Repository {ws}/{repo} not found")
        return rd

    def repo_route(
        self, ctx: Ctx, ws: str, repo: str, rest: list[str]
    ) -> tuple[str, Callable[..., Response], tuple[Any, ...]]:
        # resolve the group first so a missing scope answers 403 before repository visibility
        group = "repository"
        if rest[:1] == ["pullrequests"] or (
            len(rest) == 3 and rest[0] == "commit" and rest[2] == "pullrequests"
        ):
            group = "pullrequest"
        elif rest[:1] in (["pipelines"], ["deployments"], ["environments"]):
            group = "pipeline"
        assert ctx.token is not None
        check_scope(ctx.token, group)
        rd = self.repo_data(ctx, ws, repo)
        ix = self.index(rd.slug)
        t = ctx.trailing
        R: tuple[str, Callable[..., Response], tuple[Any, ...]]
        match rest:
            case []:
                R = (group, self.get_repo, (rd,))
            case ["src"]:
                R = (group, self.src_root_redirect, (rd, ix))
            case ["src", commit] if t:
                R = (group, self.src, (rd, ix, commit, ""))
            case ["src", commit, *path] if path:
                R = (group, self.src, (rd, ix, commit, "/".join(path)))
            case ["filehistory", commit, *path] if path:
                R = (group, self.filehistory, (rd, ix, commit, "/".join(path)))
            case ["commits"]:
                R = (group, self.commits, (rd, ix, None))
            case ["commits", *rev] if rev:
                R = (group, self.commits, (rd, ix, "/".join(rev)))
            case ["commit", h]:
                R = (group, self.get_commit, (rd, ix, h))
            case ["commit", h, "statuses"]:
                R = (group, self.commit_statuses, (rd, ix, h))
            case ["commit", h, "statuses", "build", key]:
                R = (group, self.commit_status, (rd, ix, h, key))
            case ["commit", h, "pullrequests"]:
                R = (group, self.commit_pullrequests, (rd, ix, h))
            case ["diff", *spec] if spec:
                R = (group, self.diff, (rd, ix, "/".join(spec)))
            case ["diffstat", *spec] if spec:
                R = (group, self.diffstat, (rd, ix, "/".join(spec)))
            case ["patch", *spec] if spec:
                R = (group, self.patch, (rd, ix, "/".join(spec)))
            case ["merge-base", *spec] if spec:
                R = (group, self.merge_base, (rd, ix, "/".join(spec)))
            case ["refs"]:
                R = (group, self.refs, (rd, True, True))
            case ["refs", "branches"]:
                R = (group, self.refs, (rd, True, False))
            case ["refs", "tags"]:
                R = (group, self.refs, (rd, False, True))
            case ["refs", "branches", *name] if name:
                R = (group, self.get_branch, (rd, "/".join(name)))
            case ["refs", "tags", *name] if name:
                R = (group, self.get_tag, (rd, "/".join(name)))
            case ["pullrequests"]:
                R = (group, self.list_prs, (rd,))
            case ["pullrequests", "activity"]:
                R = (group, self.repo_pr_activity, (rd,))
            case ["pullrequests", pid]:
                R = (group, self.get_pr, (rd, pid))
            case ["pullrequests", pid, ("diff" | "diffstat" | "patch") as kind]:
                R = (group, self.pr_redirect, (rd, ix, pid, kind))
            case ["pullrequests", pid, "commits"]:
                R = (group, self.pr_commits, (rd, pid))
            case ["pullrequests", pid, "comments"]:
                R = (group, self.pr_comments, (rd, pid))
            case ["pullrequests", pid, "comments", cid]:
                R = (group, self.pr_comment, (rd, pid, cid))
            case ["pullrequests", pid, "activity"]:
                R = (group, self.pr_activity, (rd, pid))
            case ["pullrequests", pid, "statuses"]:
                R = (group, self.pr_statuses, (rd, ix, pid))
            case ["pipelines"]:
                R = (group, self.list_pipelines, (rd,))
            case ["pipelines", pid]:
                R = (group, self.get_pipeline, (rd, ix, pid))
            case ["pipelines", pid, "steps"]:
                R = (group, self.list_steps, (rd, ix, pid))
            case ["pipelines", pid, "steps", sid]:
                R = (group, self.get_step, (rd, ix, pid, sid))
            case ["pipelines", pid, "steps", sid, "log"]:
                R = (group, self.step_log, (rd, ix, pid, sid))
            case ["pipelines", pid, "steps", sid, "test_reports"]:
                R = (group, self.test_reports, (rd, ix, pid, sid))
            case ["pipelines", pid, "steps", sid, "test_reports", "test_cases"]:
                R = (group, self.test_cases, (rd, ix, pid, sid))
            case ["deployments"] if t:
                R = (group, self.list_deployments, (rd,))
            case ["deployments", uuid]:
                R = (group, self.get_deployment, (rd, ix, uuid))
            case ["environments"] if t:
                R = (group, self.list_environments, (rd,))
            case ["environments", uuid]:
                R = (group, self.get_environment, (rd, ix, uuid))
            case _:
                raise not_found()
        return R

    # ---- user & workspace ------------------------------------------------------------------
    def token_account(self, token: Token) -> Json:
        if token.account_uuid:
            return self.world.account(token.account_uuid).to_json()
        uid = hashlib.sha1(f"{self.world.seed}:{token.label}".encode()).hexdigest()
        uuid = f"{{{uid[:8]}-{uid[8:12]}-{uid[12:16]}-{uid[16:20]}-{uid[20:32]}}}"
        return {
            "type": "app_user",
            "uuid": uuid,
            "account_id": f"bot:{uid[:24]}",
            "display_name": f"{token.label} (access token)",
            "nickname": token.label,
            "links": {
                "self": {"href": f"{API_ROOT}/users/{quote(uuid)}"},
                "html": {"href": f"{WEB_ROOT}/{quote(uuid)}/"},
                "avatar": {"href": f"{WEB_ROOT}/account/{token.label}/avatar/"},
            },
        }

    def user(self, ctx: Ctx) -> Response:
        assert ctx.token is not None
        return json_response(ctx, self.token_account(ctx.token))

    def user_workspaces(self, ctx: Ctx) -> Response:
        w = self.world.workspace
        assert ctx.token is not None
        admin = (
            ctx.token.account_uuid is not None
            and bool(self.world.accounts)
            and self.world.accounts[0].uuid == ctx.token.account_uuid
        )
        ws = {k: w[k] for k in ("type", "uuid", "name", "slug", "links") if k in w}
        items = [
            {
                "type": "workspace_access",
                "administrator": admin,
                "workspace": ws,
                "links": {"self": {"href": f"{API_ROOT}/user/workspaces/{w['slug']}"}},
            }
        ]
        adm = ctx.q1("administrator")
        if adm is not None:
            items = [i for i in items if str(i["administrator"]).lower() == adm.lower()]
        return paged(ctx, items)

    def get_workspace(self, ctx: Ctx) -> Response:
        return json_response(ctx, self.world.workspace)

    def membership(self, account: Account) -> Json:
        w = self.world.workspace
        ws = {k: w[k] for k in ("type", "uuid", "name", "slug", "links") if k in w}
        return {
            "type": "workspace_membership",
            "user": account.to_json(),
            "workspace": ws,
            "links": {"self": {"href": f"{API_ROOT}/workspaces/{w['slug']}/members/{quote(account.uuid)}"}},
        }

    def list_members(self, ctx: Ctx) -> Response:
        """`GET /workspaces/{ws}/members`: every account, bots included (a bot acts as a member user)."""
        return paged(ctx, [self.membership(a) for a in self.world.accounts])

    def get_member(self, ctx: Ctx, member: str) -> Response:
        for account in self.world.accounts:
            if member in (account.uuid, account.account_id):
                return json_response(ctx, self.membership(account))
        raise not_found(f"{member} is not a member of this workspace")

    # ---- repositories ----------------------------------------------------------------------
    def list_repos(self, ctx: Ctx) -> Response:
        assert ctx.token is not None
        tok = ctx.token
        items = [rd.repository for rd in self.world.repos.values() if can_see_repo(tok, rd.slug)]
        role = ctx.q1("role")
        if role is not None and role not in ("member", "contributor", "admin", "owner"):
            raise ApiError(400, f"Invalid role: {role}")
        if role in ("admin", "owner") and tok.kind == "access_token":
            items = []
        return paged(ctx, items)

    def get_repo(self, ctx: Ctx, rd: RepoData) -> Response:
        return json_response(ctx, rd.repository)

    # ---- source ----------------------------------------------------------------------------
    def resolve(self, ix: RepoIndex, rev: str, what: str = "Commit") -> str:
        h = ix.resolve(rev)
        if h is None:
            raise not_found(f"{what} not found", f"Could not resolve '{rev}' to a commit.")
        return h

    def src_root_redirect(self, ctx: Ctx, rd: RepoData, ix: RepoIndex) -> Response:
        loc = f"{ctx.root}/repositories/{rd.repository['full_name']}/src/{ix.main_head}/"
        if ctx.raw_query:
            loc += "?" + ctx.raw_query
        return redirect(loc)

    def src(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, rev: str, path: str) -> Response:
        h = self.resolve(ix, rev)
        tree = ix.tree_at(h)
        path = path.strip("/")
        fmt = ctx.q1("format")
        if path in tree:
            content = tree[path]
            if fmt == "meta":
                return json_response(ctx, file_entry(rd, h, path, content, meta=True))
            return self.text_response(
                ctx,
                content,
                guess_mime(path),
                {"Content-Disposition": f'attachment; filename="{path.rsplit("/", 1)[-1]}"'},
            )
        prefix = path + "/" if path else ""
        if not any(p.startswith(prefix) for p in tree):
            raise not_found("No such file or directory: " + path)
        if fmt == "meta":
            return json_response(ctx, dir_entry(rd, h, path))
        try:
            depth = int(ctx.q1("max_depth") or 1)
        except ValueError:
            raise ApiError(400, "Invalid max_depth") from None
        if depth < 1:
            raise ApiError(400, "Invalid max_depth")
        if depth > 50:
            raise ApiError(555, "Timeout", "The directory listing took too long; try a smaller max_depth.")
        entries: list[Json] = []
        level = [prefix]
        for _ in range(depth):
            nxt: list[str] = []
            for d in level:
                dirs: list[str] = []
                files: list[str] = []
                for p in tree:
                    if not p.startswith(d):
                        continue
                    rest = p[len(d) :]
                    if "/" in rest:
                        sub = d + rest.split("/", 1)[0]
                        if sub not in dirs:
                            dirs.append(sub)
                    else:
                        files.append(p)
                for sub in sorted(dirs):
                    entries.append(dir_entry(rd, h, sub))
                    nxt.append(sub + "/")
                for f in sorted(files):
                    entries.append(file_entry(rd, h, f, tree[f]))
            level = nxt
            if not level:
                break
        return paged(ctx, entries)

    def text_response(
        self, ctx: Ctx, text: str, media_type: str, extra: dict[str, str] | None = None
    ) -> Response:
        etag = etag_of(text)
        headers = {**ctx.headers, **(extra or {}), "ETag": etag}
        if ctx.request.headers.get("if-none-match") == etag:
            return Response(b"", status_code=304, headers=headers)
        return Response(text.encode("utf-8"), headers={**headers, "Content-Type": media_type})

    def filehistory(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, rev: str, path: str) -> Response:
        h = self.resolve(ix, rev)
        follow = (ctx.q1("renames") or "true").lower() != "false"
        current = path.strip("/")
        items: list[Json] = []
        tree_has = current in ix.tree_at(h)
        for c in ix.ordered(ix.ancestors(h)):
            for ch in rd.changes.get(c, []):
                if ch.path == current:
                    entry = {
                        "type": "commit_file",
                        "path": current,
                        "commit": commit_condensed(rd, c),
                        "attributes": [],
                        "escaped_path": current,
                        "links": {
                            "self": {"href": f"{repo_api(rd)}/src/{c}/{quote(current)}"},
                            "meta": {"href": f"{repo_api(rd)}/src/{c}/{quote(current)}?format=meta"},
                        },
                    }
                    items.append(entry)
                    if follow and ch.status == "renamed" and ch.old_path:
                        current = ch.old_path
                    break
        if not items and not tree_has:
            raise not_found("No such file or directory: " + path)
        return paged(ctx, items, sortable=True)

    # ---- commits ---------------------------------------------------------------------------
    def commits(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, revision: str | None) -> Response:
        includes = list(ctx.query.get("include", []))
        if revision is not None:
            includes.insert(0, revision)
        if not includes:
            heads = list(rd.branches.values()) + [str(t["hash"]) for t in rd.tags.values()]
        else:
            heads = [self.resolve(ix, r) for r in includes]
        reach: set[str] = set()
        for hd in heads:
            reach |= ix.ancestors(hd)
        for r in ctx.query.get("exclude", []):
            reach -= ix.ancestors(self.resolve(ix, r))
        order = ix.ordered(reach)
        paths = ctx.query.get("path", [])
        if paths:
            order = [c for c in order if any(ix.touches(c, p) for p in paths)]
        items = [rd.commits[c] for c in order]
        page = iterator_page(items, ctx.query, ctx.url_base, ctx.raw_query, salt=rd.slug)
        return json_response(ctx, page)

    def get_commit(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, h: str) -> Response:
        full = ix.resolve(h)
        if full is None:
            raise not_found("Commit not found", f"Commit {h} does not exist in {rd.repository['full_name']}.")
        return json_response(ctx, rd.commits[full])

    def commit_statuses(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, h: str) -> Response:
        full = self.resolve(ix, h)
        items = list(rd.statuses.get(full, []))
        refname = ctx.q1("refname")
        if refname is not None:
            items = [s for s in items if s.get("refname") in (refname, None)]
        items = filter_q(items, ctx.q1("q"))
        items = sort_items(items, ctx.q1("sort") or "created_on")
        return json_response(ctx, list_page(items, page_params(ctx.query), ctx.url_base, ctx.raw_query))

    def commit_status(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, h: str, key: str) -> Response:
        full = self.resolve(ix, h)
        for s in rd.statuses.get(full, []):
            if s.get("key") == key:
                return json_response(ctx, s)
        raise not_found(f"No status with key '{key}' for commit {h}")

    def commit_pullrequests(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, h: str) -> Response:
        mode = self.settings.commit_pullrequests_mode
        if mode == "not_installed":
            raise not_found(
                "Not Found", "The Pull Request Commit Links app is not installed for this repository."
            )
        full = self.resolve(ix, h)
        params = page_params(ctx.query, default=30, maximum=100)
        if mode == "indexing":
            return json_response(
                ctx, list_page([], params, ctx.url_base, ctx.raw_query), PR_HIDDEN, status=202
            )
        items = []
        for pid in sorted(rd.pullrequests, reverse=True):
            pr = rd.pullrequests[pid]
            mc = (pr.get("merge_commit") or {}).get("hash")
            if full in rd.pr_commits.get(pid, []) or (mc and full.startswith(mc)):
                items.append(pr)
        return json_response(ctx, list_page(items, params, ctx.url_base, ctx.raw_query), PR_HIDDEN)

    # ---- diffs -----------------------------------------------------------------------------
    def spec_pair(self, ix: RepoIndex, spec: str) -> tuple[str, str | None, list[FileChange]]:
        """(new, old, changes) for `A` (vs first parent) or `A..B` (A's changes since merge base)."""
        if ".." in spec:
            a, b = spec.split("..", 1)
            ha, hb = self.resolve(ix, a), self.resolve(ix, b)
            base = ix.merge_base(ha, hb)
            return ha, base, ix.changes_between(ha, base) if base != ha else []
        h = self.resolve(ix, spec)
        ps = ix.parents(h)
        return h, ps[0] if ps else None, ix.changes_between(h, ps[0] if ps else None)

    def diff_text(self, ctx: Ctx, changes: list[FileChange], new: str, old: str | None) -> str:
        paths = ctx.query.get("path", [])
        out: list[str] = []
        for ch in changes:
            if paths and ch.path not in paths and ch.old_path not in paths:
                continue
            a = ch.old_path or ch.path
            out.append(f"diff --git a/{a} b/{ch.path}\n")
            blob_a, blob_b = fake_blob(old or "", a), fake_blob(new, ch.path)
            if ch.status == "added":
                out.append(f"new file mode 100644\nindex 0000000..{blob_b}\n--- /dev/null\n+++ b/{ch.path}\n")
            elif ch.status == "removed":
                out.append(
                    f"deleted file mode 100644\nindex {blob_a}..0000000\n--- a/{ch.path}\n+++ /dev/null\n"
                )
            elif ch.status == "renamed":
                out.append(f"similarity index 90%\nrename from {a}\nrename to {ch.path}\n")
                if ch.patch.strip():
                    out.append(f"index {blob_a}..{blob_b} 100644\n--- a/{a}\n+++ b/{ch.path}\n")
            else:
                out.append(f"index {blob_a}..{blob_b} 100644\n--- a/{a}\n+++ b/{ch.path}\n")
            patch = ch.patch
            if patch.strip():
                out.append(patch if patch.endswith("\n") else patch + "\n")
        return "".join(out)

    def diff(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, spec: str) -> Response:
        new, old, changes = self.spec_pair(ix, spec)
        return Response(
            self.diff_text(ctx, changes, new, old).encode("utf-8"),
            headers={**ctx.headers, "Content-Type": "text/plain"},
        )

    def patch(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, spec: str) -> Response:
        if ".." in spec:
            a, b = spec.split("..", 1)
            ha, hb = self.resolve(ix, a), self.resolve(ix, b)
            commits = list(reversed(ix.ordered(ix.ancestors(ha) - ix.ancestors(hb))))
        else:
            commits = [self.resolve(ix, spec)]
        out: list[str] = []
        for c in commits:
            cj = rd.commits[c]
            ps = ix.parents(c)
            msg = str(cj.get("message", "")).rstrip("\n")
            subject, _, body = msg.partition("\n")
            out.append(
                f"From {c} Mon Sep 17 00:00:00 2001\nFrom: {cj.get('author', {}).get('raw', '')}\n"
                f"Date: {cj.get('date', '')}\nSubject: [PATCH] {subject}\n{body}\n---\n\n"
            )
            out.append(
                self.diff_text(ctx, ix.changes_between(c, ps[0] if ps else None), c, ps[0] if ps else None)
            )
            out.append("\n")
        return Response("".join(out).encode("utf-8"), headers={**ctx.headers, "Content-Type": "text/plain"})

    def diffstat(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, spec: str) -> Response:
        new, old, changes = self.spec_pair(ix, spec)
        paths = ctx.query.get("path", [])
        items: list[Json] = []
        for ch in changes:
            if paths and ch.path not in paths and ch.old_path not in paths:
                continue
            old_path = ch.old_path or ch.path
            items.append(
                {
                    "type": "diffstat",
                    "lines_added": ch.lines_added,
                    "lines_removed": ch.lines_removed,
                    "status": ch.status,
                    "old": None if ch.status == "added" or old is None else self.diff_file(rd, old, old_path),
                    "new": None if ch.status == "removed" else self.diff_file(rd, new, ch.path),
                }
            )
        params = page_params(ctx.query, default=500, maximum=5000)
        return json_response(ctx, list_page(items, params, ctx.url_base, ctx.raw_query))

    def diff_file(self, rd: RepoData, h: str, path: str) -> Json:
        return {
            "path": path,
            "escaped_path": path,
            "type": "commit_file",
            "links": {"self": {"href": f"{repo_api(rd)}/src/{h}/{quote(path)}"}},
        }

    def merge_base(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, spec: str) -> Response:
        if ".." not in spec:
            raise ApiError(400, "Invalid revspec", "Expected A..B")
        a, b = spec.split("..", 1)
        base = ix.merge_base(self.resolve(ix, a), self.resolve(ix, b))
        if base is None:
            raise not_found("No merge base")
        return json_response(ctx, rd.commits[base])

    # ---- refs ------------------------------------------------------------------------------
    def refs(self, ctx: Ctx, rd: RepoData, branches: bool, tags: bool) -> Response:
        items: list[Json] = []
        if branches:
            items += [branch_json(rd, n) for n in rd.branches]
        if tags:
            items += [tag_json(rd, n) for n in rd.tags]
        items.sort(key=lambda r: r["name"])
        return paged(ctx, items, natural={"name"})

    def get_branch(self, ctx: Ctx, rd: RepoData, name: str) -> Response:
        if name not in rd.branches:
            raise not_found(f'Branch "{name}" does not exist.')
        return json_response(ctx, branch_json(rd, name))

    def get_tag(self, ctx: Ctx, rd: RepoData, name: str) -> Response:
        if name not in rd.tags:
            raise not_found(f'Tag "{name}" does not exist.')
        return json_response(ctx, tag_json(rd, name))

    # ---- pull requests ---------------------------------------------------------------------
    def pr(self, rd: RepoData, pid: str) -> Json:
        try:
            n = int(pid)
        except ValueError:
            raise not_found(f"Pull request {pid} not found") from None
        if n not in rd.pullrequests:
            raise not_found("There is no pull request with that id.")
        return rd.pullrequests[n]

    def list_prs(self, ctx: Ctx, rd: RepoData) -> Response:
        states = [s.upper() for s in ctx.query.get("state", [])] or ["OPEN"]
        for s in states:
            if s not in PR_STATES:
                raise ApiError(400, f"Invalid state: {s}", f"Valid states: {', '.join(PR_STATES)}")
        items = [
            rd.pullrequests[i]
            for i in sorted(rd.pullrequests, reverse=True)
            if rd.pullrequests[i].get("state") in states
        ]
        return paged(ctx, items, maximum=50, hidden=PR_HIDDEN)

    def get_pr(self, ctx: Ctx, rd: RepoData, pid: str) -> Response:
        return json_response(ctx, self.pr(rd, pid))

    def pr_redirect(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, pid: str, kind: str) -> Response:
        pr = self.pr(rd, pid)
        src = ix.resolve(pr["source"]["commit"]["hash"]) or pr["source"]["commit"]["hash"]
        dest = ix.resolve(pr["destination"]["commit"]["hash"]) or pr["destination"]["commit"]["hash"]
        loc = (
            f"{ctx.root}/repositories/{rd.repository['full_name']}/{kind}/{src}..{dest}"
            f"?from_pullrequest_id={pr['id']}&topic=true"
        )
        return redirect(loc, headers=ctx.headers)

    def pr_commits(self, ctx: Ctx, rd: RepoData, pid: str) -> Response:
        pr = self.pr(rd, pid)
        items = [rd.commits[h] for h in rd.pr_commits.get(pr["id"], []) if h in rd.commits]
        return paged(ctx, items, q=False, sortable=False)

    def pr_comments(self, ctx: Ctx, rd: RepoData, pid: str) -> Response:
        pr = self.pr(rd, pid)
        items = filter_q(list(rd.pr_comments.get(pr["id"], [])), ctx.q1("q"), _reject_resolution_null)
        return paged(ctx, items, q=False)

    def pr_comment(self, ctx: Ctx, rd: RepoData, pid: str, cid: str) -> Response:
        pr = self.pr(rd, pid)
        for c in rd.pr_comments.get(pr["id"], []):
            if str(c.get("id")) == cid:
                return json_response(ctx, c)
        raise not_found("Comment not found")

    def pr_activity(self, ctx: Ctx, rd: RepoData, pid: str) -> Response:
        pr = self.pr(rd, pid)
        return paged(ctx, list(rd.pr_activity.get(pr["id"], [])), q=False, sortable=False)

    def repo_pr_activity(self, ctx: Ctx, rd: RepoData) -> Response:
        items: list[Json] = []
        for pid in sorted(rd.pr_activity, reverse=True):
            items += rd.pr_activity[pid]
        return paged(ctx, items, q=False, sortable=False)

    def pr_statuses(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, pid: str) -> Response:
        pr = self.pr(rd, pid)
        full = ix.resolve(pr["source"]["commit"]["hash"])
        items = list(rd.statuses.get(full, [])) if full else []
        items = filter_q(items, ctx.q1("q"))
        items = sort_items(items, ctx.q1("sort") or "created_on")
        return json_response(ctx, list_page(items, page_params(ctx.query), ctx.url_base, ctx.raw_query))

    # ---- pipelines -------------------------------------------------------------------------
    def list_pipelines(self, ctx: Ctx, rd: RepoData) -> Response:
        items = list(rd.pipelines)
        q = ctx.query

        def eq(a: Any, b: str) -> bool:
            return a is not None and str(a).lower() == b.lower()

        for name, getter in (
            ("creator.uuid", lambda p: _first(p, "creator.uuid")),
            ("target.ref_type", lambda p: _first(p, "target.ref_type")),
            ("target.ref_name", lambda p: _first(p, "target.ref_name")),
            ("target.selector.pattern", lambda p: _first(p, "target.selector.pattern")),
            ("trigger_type", lambda p: _first(p, "trigger.name")),
        ):
            for v in q.get(name, [])[-1:]:
                items = [p for p in items if eq(getter(p), v)]
        for v in q.get("target.branch", [])[-1:]:
            items = [
                p
                for p in items
                if (
                    (
                        _first(p, "target.ref_type") in ("branch", "named_branch")
                        and _first(p, "target.ref_name") == v
                    )
                    or _first(p, "target.source") == v
                )
            ]
        for v in q.get("target.commit.hash", [])[-1:]:
            items = [
                p for p in items if str(_first(p, "target.commit.hash") or "").startswith(v) and len(v) >= 7
            ]
        for v in q.get("target.selector.type", [])[-1:]:
            want = SELECTOR_TYPES.get(v.upper(), v.lower())
            items = [p for p in items if eq(_first(p, "target.selector.type"), want)]
        for v in q.get("created_on", [])[-1:]:
            try:
                when = bbql.parse_datetime(v)
            except ValueError:
                raise ApiError(400, "Invalid created_on", v) from None
            items = [p for p in items if p.get("created_on") and bbql.parse_datetime(p["created_on"]) == when]
        statuses = q.get("status", [])
        if statuses:
            for s in statuses:
                if s.upper() not in PIPELINE_STATUSES:
                    raise ApiError(
                        400, f"Invalid status: {s}", "Valid values: " + ", ".join(sorted(PIPELINE_STATUSES))
                    )
            items = [p for p in items if any(_status_matches(p, s.upper()) for s in statuses)]
        sort = ctx.q1("sort")
        if sort:
            if sort.lstrip("-") not in PIPELINE_SORTS:
                raise ApiError(400, f"Invalid sort: {sort}")
            key = "created_on" if sort.lstrip("-") == "run_creation_date" else sort.lstrip("-")
            items = sort_items(items, ("-" if sort.startswith("-") else "") + key)
        params = page_params(q, default=10, maximum=100)
        return json_response(ctx, numbered_page(items, params))

    def pipeline(self, rd: RepoData, ix: RepoIndex, pid: str) -> Json:
        if re.fullmatch(r"\d+", pid):
            p = ix.pipelines_by_number.get(int(pid))
        elif pid.startswith("{") and pid.endswith("}"):
            p = ix.pipelines_by_uuid.get(pid)
        else:
            raise not_found("Not found", "The value provided is not a valid uuid.")
        if p is None:
            raise not_found("Not found", f"Pipeline {pid} not found.")
        return p

    def get_pipeline(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, pid: str) -> Response:
        return json_response(ctx, self.pipeline(rd, ix, pid))

    def list_steps(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, pid: str) -> Response:
        p = self.pipeline(rd, ix, pid)
        return paged(ctx, list(rd.steps.get(p["uuid"], [])), q=False, sortable=False)

    def step(self, rd: RepoData, ix: RepoIndex, pid: str, sid: str) -> Json:
        p = self.pipeline(rd, ix, pid)
        if not (sid.startswith("{") and sid.endswith("}")):
            raise not_found("Not found", "The value provided is not a valid uuid.")
        hit = ix.steps_by_uuid.get(sid)
        if hit is None or hit[0] != p["uuid"]:
            raise not_found("Not found", f"Step {sid} not found.")
        return hit[1]

    def get_step(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, pid: str, sid: str) -> Response:
        return json_response(ctx, self.step(rd, ix, pid, sid))

    def step_log(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, pid: str, sid: str) -> Response:
        step = self.step(rd, ix, pid, sid)
        accept = ctx.request.headers.get("accept", "")
        if "application/json" in accept and not any(
            a in accept for a in ("*/*", "application/octet-stream", "text/plain")
        ):
            raise ApiError(406, "Not Acceptable", "This endpoint produces application/octet-stream.")
        log = rd.logs.get(sid)
        if log is None:
            raise not_found("Not found", "No log is available for this step.")
        if _first(step, "state.name") == "COMPLETED":
            return redirect(f"{ctx.root}/{STORAGE}/logs/{self.storage_token(rd.slug, sid)}", 307, ctx.headers)
        return self.ranged(ctx, log, inline=True)

    def storage_log(self, ctx: Ctx, token: str, method: str) -> Response:
        hit = self.storage_map().get(token)
        if hit is None:
            return Response(b"<Error><Code>NoSuchKey</Code></Error>", 404, media_type="application/xml")
        if method == "HEAD":
            return Response(b"", 403, media_type="application/xml")
        slug, sid = hit
        return self.ranged(ctx, self.world.repos[slug].logs[sid], inline=False)

    def ranged(self, ctx: Ctx, text: str, inline: bool) -> Response:
        data = text.encode("utf-8")
        etag = '"' + hashlib.sha1(data).hexdigest() + '"'
        headers = {**ctx.headers, "ETag": etag, "Accept-Ranges": "bytes"}
        if ctx.request.headers.get("if-none-match") == etag:
            return Response(b"", 304, headers=headers)
        rng = ctx.request.headers.get("range")
        if not rng:
            return Response(data, 200, media_type="application/octet-stream", headers=headers)
        m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", rng)
        n = len(data)
        if not m or (m.group(1) == "" and m.group(2) == ""):
            return self.unsatisfiable(n, headers)
        if m.group(1) == "":
            if inline:
                raise ApiError(
                    503, "Service Unavailable", "Suffix byte ranges are not supported for live logs."
                )
            length = int(m.group(2))
            if length == 0:
                return self.unsatisfiable(n, headers)
            start, end = max(0, n - length), n - 1
        else:
            start = int(m.group(1))
            end = int(m.group(2)) if m.group(2) else n - 1
            end = min(end, n - 1)
            if start >= n or start > end:
                return self.unsatisfiable(n, headers)
        headers["Content-Range"] = f"bytes {start}-{end}/{n}"
        return Response(data[start : end + 1], 206, media_type="application/octet-stream", headers=headers)

    @staticmethod
    def unsatisfiable(n: int, headers: dict[str, str]) -> Response:
        body = dumps({"type": "error", "error": {"message": "Requested range not satisfiable"}})
        return Response(
            body, 416, media_type="application/json", headers={**headers, "Content-Range": f"bytes */{n}"}
        )

    def test_reports(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, pid: str, sid: str) -> Response:
        self.step(rd, ix, pid, sid)
        report = rd.test_reports.get(sid)
        if report is None:
            raise not_found("Not found", "No test reports for this step.")
        return json_response(ctx, report)

    def test_cases(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, pid: str, sid: str) -> Response:
        self.step(rd, ix, pid, sid)
        if sid not in rd.test_reports and sid not in rd.test_cases:
            raise not_found("Not found", "No test reports for this step.")
        return paged(ctx, list(rd.test_cases.get(sid, [])), q=False)

    # ---- deployments -----------------------------------------------------------------------
    def list_deployments(self, ctx: Ctx, rd: RepoData) -> Response:
        return paged(ctx, list(rd.deployments), q=False, sortable=False)

    def get_deployment(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, uuid: str) -> Response:
        d = ix.deployments_by_uuid.get(uuid)
        if d is None:
            raise not_found("Deployment not found")
        return json_response(ctx, d)

    def list_environments(self, ctx: Ctx, rd: RepoData) -> Response:
        return paged(ctx, list(rd.environments), q=False, sortable=False)

    def get_environment(self, ctx: Ctx, rd: RepoData, ix: RepoIndex, uuid: str) -> Response:
        e = ix.environments_by_uuid.get(uuid)
        if e is None:
            raise not_found("Environment not found")
        return json_response(ctx, e)

    # ---- code search -----------------------------------------------------------------------
    def search_code(self, ctx: Ctx) -> Response:
        enabled = self.settings.code_search_enabled
        if enabled is None:
            enabled = self.world.code_search_enabled
        if not enabled:
            raise ApiError(
                404,
                "Search is not enabled for this workspace",
                "Code search has not been enabled for this workspace. "
                "An administrator can enable it at https://bitbucket.org/search.",
                data={"key": "search.not.enabled"},
            )
        query = ctx.q1("search_query")
        if not query or not query.strip():
            raise ApiError(
                400, "Invalid search query", "search_query is required", data={"key": "search.query.empty"}
            )
        repo_filter, path_filters, terms = _parse_search(query)
        if not terms and not path_filters:
            raise ApiError(
                400,
                "Invalid search query",
                "The query has no search terms",
                data={"key": "search.query.invalid"},
            )
        assert ctx.token is not None
        results: list[Json] = []
        for slug, rd in self.world.repos.items():
            if repo_filter and slug not in repo_filter:
                continue
            if not can_see_repo(ctx.token, slug):
                continue
            ix = self.index(slug)
            head = ix.main_head
            for path, content in sorted(rd.files.items()):
                if path_filters and not all(_path_has(path, pf) for pf in path_filters):
                    continue
                r = _search_file(rd, head, path, content, terms)
                if r is not None:
                    results.append(r)
        params = page_params(ctx.query, default=10, maximum=100)
        page = list_page(results, params, ctx.url_base, ctx.raw_query)
        page = {
            "size": page["size"],
            "page": page["page"],
            "pagelen": page["pagelen"],
            "query_substituted": False,
            **{k: page[k] for k in ("next", "previous") if k in page},
            "values": page["values"],
        }
        # asking for anything under values.file.commit reveals the whole (typed) commit object
        wants_commit = "values.file.commit" in (ctx.q1("fields") or "")
        return json_response(ctx, page, () if wants_commit else SEARCH_HIDDEN)


PR_HIDDEN: tuple[tuple[str, ...], ...] = (("values", "reviewers"), ("values", "participants"))
SEARCH_HIDDEN: tuple[tuple[str, ...], ...] = (("values", "file", "commit"),)


def _reject_resolution_null(expr: bbql.Expr) -> str | None:
    def walk(e: bbql.Expr) -> bool:
        if isinstance(e, bbql.Comparison):
            return e.field.startswith("resolution") and e.value is None
        return any(walk(x) for x in e.items)

    return "Invalid query: 'resolution' cannot be compared with null" if walk(expr) else None


def _status_matches(p: Json, status: str) -> bool:
    name = _first(p, "state.name")
    stage = _first(p, "state.stage.name")
    result = _first(p, "state.result.name")
    if status == "PARSING":
        return name == "PARSING"
    if status == "PENDING":
        return name == "PENDING"
    if status in ("BUILDING", "IN_PROGRESS"):
        return name in ("IN_PROGRESS", "RUNNING", "BUILDING") and stage not in ("PAUSED", "HALTED")
    if status in ("PAUSED", "HALTED"):
        return (name in ("IN_PROGRESS", "PAUSED", "HALTED") and stage in ("PAUSED", "HALTED")) or name in (
            "PAUSED",
            "HALTED",
        )
    if name != "COMPLETED":
        return False
    if status in ("PASSED", "SUCCESSFUL"):
        return result == "SUCCESSFUL"
    return result == {
        "FAILED": "FAILED",
        "ERROR": "ERROR",
        "STOPPED": "STOPPED",
        "SKIPPED": "SKIPPED",
        "EXPIRED": "EXPIRED",
        "UNKNOWN": "UNKNOWN",
    }.get(status)


def _parse_search(query: str) -> tuple[set[str], list[str], list[str]]:
    repos: set[str] = set()
    paths: list[str] = []
    terms: list[str] = []
    for m in re.finditer(r'(\w+):"([^"]*)"|(\w+):(\S+)|"([^"]*)"|(\S+)', query):
        if m.group(1):
            key, val = m.group(1).lower(), m.group(2)
        elif m.group(3):
            key, val = m.group(3).lower(), m.group(4)
        else:
            key, val = "", m.group(5) if m.group(5) is not None else m.group(6)
        if key == "repo":
            repos.add(val)
        elif key == "path":
            paths.append(val)
        elif key in ("lang", "ext"):
            paths.append("." + val.lstrip(".")) if key == "ext" else None
        elif key:
            terms.append(f"{key}:{val}")
        elif val:
            terms.append(val)
    return repos, paths, terms


def _path_has(path: str, needle: str) -> bool:
    needle = needle.strip("/").lower()
    p = path.lower()
    return needle in p.split("/") or p.startswith(needle + "/") or ("/" + needle) in p or p.endswith(needle)


def _segments(text: str, terms: list[str]) -> list[Json]:
    if not terms:
        return [{"text": text}]
    pat = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE)
    out: list[Json] = []
    pos = 0
    for m in pat.finditer(text):
        if m.start() > pos:
            out.append({"text": text[pos : m.start()]})
        out.append({"text": m.group(0), "match": True})
        pos = m.end()
    if pos < len(text):
        out.append({"text": text[pos:]})
    return out


def _search_file(rd: RepoData, head: str, path: str, content: str, terms: list[str]) -> Json | None:
    low_content, low_path = content.lower(), path.lower()
    if terms and not all(t.lower() in low_content or t.lower() in low_path for t in terms):
        return None
    lines = content.split("\n")
    matches: list[Json] = []
    count = 0
    for i, line in enumerate(lines, start=1):
        hits = sum(line.lower().count(t.lower()) for t in terms) if terms else 0
        if not hits:
            continue
        count += hits
        if len(matches) < 5:
            ctx_lines: list[Json] = []
            if i > 1:
                ctx_lines.append({"line": i - 1, "segments": []})
            ctx_lines.append({"line": i, "segments": _segments(line, terms)})
            if i < len(lines):
                ctx_lines.append({"line": i + 1, "segments": []})
            matches.append({"lines": ctx_lines})
    path_matches = _segments(path, [t for t in terms if t.lower() in low_path]) if terms else [{"text": path}]
    return {
        "type": "code_search_result",
        "content_match_count": count,
        "content_matches": matches,
        "path_matches": path_matches,
        "file": {
            "path": path,
            "type": "commit_file",
            "links": {"self": {"href": f"{repo_api(rd)}/src/{head}/{quote(path)}"}},
            "commit": {
                "type": "commit",
                "hash": head,
                "links": {
                    "self": {"href": f"{repo_api(rd)}/commit/{head}"},
                    "html": {"href": f"{repo_web(rd)}/commits/{head}"},
                },
                "repository": {
                    k: rd.repository[k]
                    for k in ("type", "full_name", "name", "uuid", "links")
                    if k in rd.repository
                },
            },
        },
    }


def fault_response(status: int, retry_after_s: float | None) -> Response:
    if status == 429:
        ra = retry_after_s if retry_after_s is not None else 1
        ra_text = str(int(ra)) if float(ra).is_integer() else repr(float(ra))
        return Response(
            dumps({"type": "error", "error": {"message": "Rate limit for this resource has been exceeded."}}),
            429,
            media_type="application/json",
            headers={"Retry-After": ra_text},
        )
    if status in (502, 503, 504):
        reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}[status]
        return Response(
            f"<html><body><h1>{status} {reason}</h1></body></html>".encode(), status, media_type="text/html"
        )
    return Response(
        dumps(
            {"type": "error", "error": {"message": "Something went wrong", "id": f"sandbox-fault-{status}"}}
        ),
        status,
        media_type="application/json",
    )


def create_app(world: World, settings: SandboxSettings | None = None) -> Starlette:
    """A Starlette app serving `world` as api.bitbucket.org/2.0 does."""
    sandbox = Sandbox(world, settings or SandboxSettings())
    app = Starlette(routes=[Route("/{rest:path}", sandbox.dispatch, methods=METHODS)])
    sandbox.app = app
    app.state.sandbox = sandbox
    app.state.world = world
    app.state.settings = sandbox.settings
    app.state.request_log = sandbox.request_log
    app.state.fault_log = sandbox.fault_log
    app.state.rate_limiter = sandbox.limiter
    return app
