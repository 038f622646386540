"""Deployment tools: list_deployments, deployment_changes.

`/deployments/` (trailing slash) has no server-side filters; we ask for `sort=-state.started_on`
and check the first page really is newest first before relying on an early stop (otherwise a
bounded full scan, sorted client-side). The outcome is `state.status.name` (not `state.result`),
the commit `deployable.commit.hash` (or `release.commit.hash`), and the environment only a uuid,
mapped through `/environments/` once per repository and run.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bbscout.tools import links
from bbscout.tools.args import DeploymentChanges, ListDeployments
from bbscout.tools.bitbucket import BitbucketError, NotFound
from bbscout.tools.changeset import read_change_set
from bbscout.tools.context import EPOCH, ToolContext, dig, fan_out, parse_dt, repo_slugs
from bbscout.tools.evidence import (
    DeploymentRecord,
    ToolResult,
    deployment_ref,
)
from bbscout.tools.pick import pick_one, repositories, wanted
from bbscout.tools.redact import redact

__all__ = ["deployment_changes", "deployment_history", "environments", "list_deployments"]

DEPLOYMENT_FIELDS = ",".join(
    f"values.{f}"
    for f in (
        "uuid",
        "state.name",
        "state.status.name",
        "state.started_on",
        "state.start_date",
        "state.completed_on",
        "state.completion_date",
        "state.url",
        "state.deployer.display_name",
        "environment.uuid",
        "release.name",
        "release.commit.hash",
        "deployable.commit.hash",
        "deployable.pipeline.uuid",
    )
)
ENV_FIELDS = "values.uuid,values.name,values.slug,values.environment_type.name,values.rank"
MAX_SCAN = 500  # deployments read per repository at most
PAGELEN = 100
MAX_PR_DETAILS = 10

_BUILD_IN_URL = re.compile(r"/(?:results|pipelines)/(\d+)(?:\D|$)")


def _norm_uuid(u: str | None) -> str:
    if not u:
        return ""
    u = u.strip().lower()
    return u if u.startswith("{") else "{" + u + "}"


async def environments(ctx: ToolContext, repo: str) -> dict[str, dict[str, str]]:
    """uuid → {"name", "type"} for the repository's environments (one request per run)."""
    if repo not in ctx.environments:
        envs: dict[str, dict[str, str]] = {}
        async for raw in ctx.client.paginate(
            ctx.client.repo_path(repo, "environments") + "/", fields=ENV_FIELDS
        ):
            envs[_norm_uuid(raw.get("uuid"))] = {
                "name": str(raw.get("name") or "?"),
                "type": str(dig(raw, "environment_type", "name", default="")),
            }
        ctx.environments[repo] = envs
    return ctx.environments[repo]


def _started(raw: dict[str, Any]) -> datetime | None:
    return parse_dt(
        dig(raw, "state", "started_on")
        or dig(raw, "state", "start_date")
        or dig(raw, "deployable", "created_on")
    )


def _commit(raw: dict[str, Any]) -> str | None:
    commit = dig(raw, "deployable", "commit", "hash") or dig(raw, "release", "commit", "hash")
    return str(commit) if commit else None


def _build_number(ctx: ToolContext, repo: str, raw: dict[str, Any]) -> int | None:
    for url in (dig(raw, "state", "url"), dig(raw, "deployable", "url")):
        if isinstance(url, str):
            m = _BUILD_IN_URL.search(url)
            if m:
                return int(m.group(1))
    name = dig(raw, "deployable", "name") or dig(raw, "release", "name")
    if isinstance(name, str):
        m = re.fullmatch(r"#?(\d+)", name.strip())
        if m:
            return int(m.group(1))
    puuid = dig(raw, "deployable", "pipeline", "uuid")
    return ctx.pipeline_builds.get((repo, _norm_uuid(puuid))) if puuid else None


def _env_matches(env: dict[str, str], wanted: str | None) -> bool:
    """The environment's name or type is `wanted`, or starts with it ("prod" → Production)."""
    if not wanted:
        return True
    w = wanted.strip().lower()
    names = (env.get("name", "").lower(), env.get("type", "").lower())
    return w in names or (len(w) >= 3 and any(n.startswith(w) for n in names))


def deployment_record(
    ctx: ToolContext, repo: str, raw: dict[str, Any], env: dict[str, str], redeploy: bool
) -> DeploymentRecord:
    uuid = str(raw.get("uuid") or "")
    state = str(dig(raw, "state", "name", default="UNKNOWN"))
    status = dig(raw, "state", "status", "name")
    commit = _commit(raw)
    started = _started(raw)
    completed = parse_dt(dig(raw, "state", "completed_on") or dig(raw, "state", "completion_date"))
    build = _build_number(ctx, repo, raw)
    release = redact(
        str(dig(raw, "release", "name", default="") or dig(raw, "deployable", "name", default=""))
    )
    deployer = dig(raw, "state", "deployer", "display_name")
    env_name = redact(env.get("name", "?"))
    title = (
        f"Deploy to {env_name} {status or state}"
        + (f" commit {commit[:12]}" if commit else "")
        + (f" (pipeline #{build})" if build else "")
        + (f" {started:%Y-%m-%d %H:%M}Z" if started else "")
        + (" [redeploy of an earlier commit]" if redeploy else "")
    )
    return DeploymentRecord(
        ref=deployment_ref(repo, uuid),
        repo=repo,
        url=links.deployment_url(ctx.workspace, repo, uuid),
        title=title,
        uuid=uuid,
        environment=env_name,
        environment_type=env.get("type", ""),
        state=state,
        status=str(status) if status else None,
        release=release,
        commit=commit,
        build_number=build,
        deployer=redact(str(deployer)) if deployer else None,
        started_on=started,
        completed_on=completed,
        is_redeploy=redeploy,
    )


def _descending(values: list[dict[str, Any]]) -> bool:
    dates = [_started(v) or EPOCH for v in values]
    return all(x >= y for x, y in itertools.pairwise(dates))


def _settled_page(page: dict[str, Any]) -> bool:
    """An earlier page of an oldest-first listing, full of completed deployments, never changes again
    (new deployments are appended after it): it is kept like an immutable response."""
    values = page.get("values") or []
    return (
        bool(page.get("next"))
        and len(values) >= PAGELEN
        and not _descending(values)
        and all(dig(v, "state", "name") == "COMPLETED" for v in values)
    )


async def deployment_history(
    ctx: ToolContext,
    repo: str,
    *,
    since: datetime | None = None,
    enough: Callable[[list[dict[str, Any]]], bool] | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """Raw deployments newest first, reading only as far back as needed.

    Asks for `sort=-state.started_on` and checks the first page's order. Newest first: follow pages
    until `since`/`enough` is satisfied. Oldest first (the sort ignored, as the spec declares no
    parameters): use the page's `size` to jump to the LAST page and walk backwards, so the recent
    deployments cost one or two requests instead of the whole history.
    """
    client = ctx.client
    path = client.repo_path(repo, "deployments") + "/"
    fields = DEPLOYMENT_FIELDS + ",size,page,pagelen,next"
    base = [("sort", "-state.started_on"), ("pagelen", PAGELEN)]
    out: list[dict[str, Any]] = []

    def done() -> bool:
        ordered = sorted(out, key=lambda r: _started(r) or EPOCH, reverse=True)
        if since is not None and ordered and (_started(ordered[-1]) or EPOCH) < since:
            return True
        return enough is not None and enough(ordered)

    first = await client.get_json(path, [*base, ("page", 1)], fields=fields, settled=_settled_page)
    values = list(first.get("values") or [])
    out.extend(values)
    size = first.get("size")
    pages = -(-size // PAGELEN) if isinstance(size, int) and size > 0 else None
    if len(values) < 2 or _descending(values) or pages is None:
        nxt = first.get("next")
        page = 1
        while nxt and not done() and len(out) < MAX_SCAN:
            page += 1
            data = await client.get_json(path, [*base, ("page", page)], fields=fields)
            out.extend(data.get("values") or [])
            nxt = data.get("next")
        note = (
            "" if len(out) < MAX_SCAN or not nxt else f"{repo}: read the newest {len(out)} deployments only"
        )
    else:
        out.clear()  # page 1 holds the OLDEST deployments: walk back from the last page instead
        # A kept page 1 may be older than the listing: read forward from the last page it knew of to the
        # real end (the newest deployments), then back as far as needed.
        last = pages
        data = (
            first
            if last == 1
            else await client.get_json(path, [*base, ("page", last)], fields=fields, settled=_settled_page)
        )
        out.extend(data.get("values") or [])
        while data.get("next") and len(out) < MAX_SCAN:
            last += 1
            data = await client.get_json(path, [*base, ("page", last)], fields=fields)
            out.extend(data.get("values") or [])
        page = pages - 1
        while page > 1 and not done() and len(out) < MAX_SCAN:
            data = await client.get_json(path, [*base, ("page", page)], fields=fields, settled=_settled_page)
            out.extend(data.get("values") or [])
            page -= 1
        if page == 1 and not done():
            out.extend(values)  # every later page was read: page 1 completes the history
        note = "" if page <= 1 or done() else f"{repo}: read the newest {len(out)} deployments only"
    out.sort(key=lambda r: _started(r) or EPOCH, reverse=True)
    return out, note


def _records_for(
    ctx: ToolContext, repo: str, raws: list[dict[str, Any]], envs: dict[str, dict[str, str]]
) -> list[DeploymentRecord]:
    """Newest-first raws → records, flagging a commit already deployed earlier to the same environment."""
    recs: list[DeploymentRecord] = []
    ordered = list(reversed(raws))  # oldest first
    deployed: dict[str, set[str]] = {}
    live: dict[str, int] = {}  # environment → index of its current (last successful) deployment
    flags: dict[int, bool] = {}
    replaced: dict[int, int] = {}  # rollback index → index of the deployment it rolled back
    previous: dict[int, int] = {}  # successful deployment → the one live in its environment before it
    for i, raw in enumerate(ordered):
        env_uuid = _norm_uuid(dig(raw, "environment", "uuid"))
        commit = _commit(raw)
        ok = str(dig(raw, "state", "status", "name", default="")) == "SUCCESSFUL"
        seen = deployed.setdefault(env_uuid, set())
        flags[i] = bool(commit and commit in seen)
        current = live.get(env_uuid)
        # A rollback brings back an earlier commit in place of a different one (redeploying what is
        # already live is a plain redeploy, not a rollback).
        if flags[i] and ok and current is not None and _commit(ordered[current]) != commit:
            replaced[i] = current
        if commit and ok:
            seen.add(commit)
            live[env_uuid] = i
        if ok and current is not None:
            previous[i] = current
    refs = {i: deployment_ref(repo, str(raw.get("uuid") or "")) for i, raw in enumerate(ordered)}
    rolled_back_by = {old: new for new, old in replaced.items()}
    for i in range(len(ordered) - 1, -1, -1):
        raw = ordered[i]
        env = envs.get(_norm_uuid(dig(raw, "environment", "uuid")), {"name": "?", "type": ""})
        rec = deployment_record(ctx, repo, raw, env, flags[i])
        if i in replaced:
            rec.rolls_back = refs[replaced[i]]
        if i in rolled_back_by:
            rec.rolled_back_by = refs[rolled_back_by[i]]
        if i in previous:
            before = ordered[previous[i]]
            rec.replaces = refs[previous[i]]
            rec.replaces_release = redact(
                str(
                    dig(before, "release", "name", default="")
                    or dig(before, "deployable", "name", default="")
                )
            )
            rec.replaces_commit = _commit(before)
        recs.append(rec)
    return recs


def _status_matches(rec: DeploymentRecord, statuses: Sequence[str]) -> bool:
    """A completed deployment's outcome is `state.status.name`; a running one has only `state.name`
    IN_PROGRESS."""
    outcome = rec.status or ("IN_PROGRESS" if rec.state == "IN_PROGRESS" else rec.state)
    return outcome in statuses


def _successful(raw: dict[str, Any]) -> bool:
    return str(dig(raw, "state", "status", "name", default="")) == "SUCCESSFUL"


async def list_deployments(ctx: ToolContext, args: ListDeployments) -> ToolResult:
    slugs = await repo_slugs(ctx, args.repos)
    notes: list[str] = []
    want = wanted(args.pick, args.limit)

    async def per_repo(slug: str, sink: list[DeploymentRecord]) -> None:
        envs = await environments(ctx, slug)
        if not envs:
            return  # every deployment targets an environment: none defined, nothing to read
        if args.environment and not any(_env_matches(e, args.environment) for e in envs.values()):
            notes.append(
                f"{slug}: no environment named {args.environment!r} "
                f"(has {', '.join(sorted(e['name'] for e in envs.values())) or 'none'})"
            )
            return
        wanted_envs = {u for u, e in envs.items() if _env_matches(e, args.environment)}

        def enough(ordered: list[dict[str, Any]]) -> bool:
            env_of = [_norm_uuid(dig(r, "environment", "uuid")) for r in ordered]
            if args.current:
                # the live deployment and the one before it (what it replaced), per environment
                ok = [e for e, r in zip(env_of, ordered, strict=True) if _successful(r)]
                return all(ok.count(e) >= 2 for e in wanted_envs)
            if args.latest_per_environment:
                return wanted_envs <= set(env_of)
            return args.since is None and sum(e in wanted_envs for e in env_of) > want

        raws, note = await deployment_history(ctx, slug, since=args.since, enough=enough)
        if note:
            notes.append(note)
        for rec in _records_for(ctx, slug, raws, envs):
            env = {"name": rec.environment, "type": rec.environment_type}
            if not _env_matches(env, args.environment):
                continue
            when = rec.started_on or EPOCH
            if args.since is not None and when < args.since:
                continue
            if args.until is not None and when > args.until:
                continue
            if args.statuses and not _status_matches(rec, args.statuses):
                continue
            if args.current and rec.status != "SUCCESSFUL":
                continue
            sink.append(rec)
        if args.current:
            live = {r.environment for r in sink}
            for e in sorted(wanted_envs):
                name = envs[e]["name"]
                if name not in live:
                    notes.append(f"{slug}: nothing deployed successfully to {name} in the deployments read")

    out = await fan_out(ctx, slugs, per_repo)
    records = [r for rs in out.results.values() for r in rs]
    if args.latest_per_environment or args.current:
        latest: dict[tuple[str, str], DeploymentRecord] = {}
        for rec in sorted(records, key=lambda r: r.started_on or EPOCH, reverse=True):
            latest.setdefault((rec.repo, rec.environment), rec)
        records = list(latest.values())
    records.sort(key=lambda r: r.started_on or EPOCH, reverse=True)
    if args.current:
        notes.append(
            "current = the latest SUCCESSFUL deployment per repository and environment; `replaces` is the "
            "deployment live before it"
        )
    chosen, rule = pick_one(
        records,
        args.pick,
        lambda r: r.started_on or EPOCH,
        field="started_on",
        among=_among(args, slugs),
        complete=not out.truncated,
    )
    notes.extend(rule)
    more = args.pick is None and len(records) > args.limit
    if more:
        notes.append(f"more deployments matched than the limit of {args.limit}")
    notes.append("is_redeploy is judged from the deployments read (the window's history)")
    return ToolResult(
        tool="list_deployments",
        records=chosen[: args.limit],
        notes=sorted(set(notes), key=notes.index),
        gaps=out.gaps,
        truncated=out.truncated or more,
    )


def _among(args: ListDeployments, slugs: list[str]) -> str:
    what = "current (live) deployments" if args.current else "deployments"
    if args.statuses:
        what = f"{'/'.join(args.statuses)} {what}"
    if args.environment:
        what += f" to {args.environment}"
    return what + " in " + repositories(slugs)


async def _pipeline_build(ctx: ToolContext, repo: str, rec: DeploymentRecord, raw: dict[str, Any]) -> None:
    """Fill `build_number` from the deploying pipeline (one cached GET) when the JSON did not say."""
    if rec.build_number is not None:
        return
    puuid = _norm_uuid(dig(raw, "deployable", "pipeline", "uuid"))
    if not puuid:
        return
    key = (repo, puuid)
    if key not in ctx.pipeline_builds:
        try:
            data = await ctx.client.get_json(
                ctx.client.repo_path(repo, "pipelines", puuid), fields="build_number", cache="immutable"
            )
            ctx.pipeline_builds[key] = int(data.get("build_number"))
        except (BitbucketError, TypeError, ValueError) as err:
            if isinstance(err, BitbucketError) and err.status == 401:
                raise
            return
    rec.build_number = ctx.pipeline_builds[key]


async def deployment_changes(ctx: ToolContext, args: DeploymentChanges) -> ToolResult:
    repo = args.repo
    envs = await environments(ctx, repo)
    want = (args.deployment_uuid or "").strip().lower()
    want = want if not want or want.startswith("{") else "{" + want + "}"

    def enough(ordered: list[dict[str, Any]]) -> bool:
        chosen_commit = None
        for r in ordered:
            env = envs.get(_norm_uuid(dig(r, "environment", "uuid")), {})
            ok = str(dig(r, "state", "status", "name", default="")) == "SUCCESSFUL"
            if chosen_commit is None:
                if (want and str(r.get("uuid", "")).lower() == want) or (
                    not want and ok and _env_matches(env, args.environment)
                ):
                    chosen_commit, chosen_env = _commit(r), env
                continue
            if ok and env == chosen_env and _commit(r) and _commit(r) != chosen_commit:
                return True
        return False

    raws, note = await deployment_history(ctx, repo, enough=enough)
    notes: list[str] = [note] if note else []
    recs = _records_for(ctx, repo, raws, envs)
    by_uuid = {r.uuid.lower(): (r, raw) for r, raw in zip(recs, raws, strict=True)}
    if args.deployment_uuid:
        chosen = by_uuid.get(_norm_uuid(args.deployment_uuid))
        if chosen is None:
            raise NotFound(f"deployment {args.deployment_uuid} not found in {repo}", status=404)
    else:
        wanted = [
            (r, raw)
            for r, raw in zip(recs, raws, strict=True)
            if _env_matches({"name": r.environment, "type": r.environment_type}, args.environment)
        ]
        if not wanted:
            names = ", ".join(sorted({e["name"] for e in envs.values()})) or "none"
            notes.append(f"no deployment to {args.environment!r} in {repo} (environments: {names})")
            return ToolResult(tool="deployment_changes", notes=notes)
        ok = [(r, raw) for r, raw in wanted if r.status == "SUCCESSFUL"]
        chosen = ok[0] if ok else wanted[0]
        if not ok:
            notes.append(f"no successful deployment to {args.environment!r}; using the latest one")
    new, new_raw = chosen
    env_key = (new.environment, new.environment_type)
    older = [
        (r, raw)
        for r, raw in zip(recs, raws, strict=True)
        if (r.environment, r.environment_type) == env_key
        and r.status == "SUCCESSFUL"
        and (r.started_on or EPOCH) < (new.started_on or EPOCH)
    ]
    prev = next(((r, raw) for r, raw in older if r.commit and r.commit != new.commit), None)
    await _pipeline_build(ctx, repo, new, new_raw)
    records: list[Any] = [new]
    if prev is None or not new.commit:
        notes.append(
            f"no earlier successful deployment to {new.environment} with a different commit; "
            "cannot compute what changed"
        )
        return ToolResult(tool="deployment_changes", records=records, notes=notes)
    old, old_raw = prev
    await _pipeline_build(ctx, repo, old, old_raw)
    records.append(old)
    assert old.commit is not None
    change = await read_change_set(ctx, repo, new.commit, old.commit, args.files)
    if change.rolled_back:
        notes.append(
            f"ROLLBACK: deployment {new.commit[:12]} is older than the previously deployed "
            f"{old.commit[:12]}; {len(change.commits)} commit(s) were rolled back (listed), "
            "nothing new shipped"
        )
    notes.extend(change.notes)
    notes.insert(
        0,
        f"{len(change.commits)} commit(s), {len(change.pull_requests)} pull request(s), "
        f"{len(change.files)} file change(s) between {old.commit[:12]} (previous successful) and "
        f"{new.commit[:12]}" + ("" if args.files == "change_set" else f" (files: {args.files})"),
    )
    return ToolResult(
        tool="deployment_changes",
        records=[*records, *change.commits, *change.pull_requests, *change.files],
        notes=notes,
        truncated=change.truncated,
    )
