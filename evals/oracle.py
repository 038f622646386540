"""The independent answer key: expected refs and minimal request counts computed from the raw world.

Nothing here imports bbscout's agent or tools; it reads `sandbox.world.model.World` (Bitbucket JSON
plus ground truth) directly, so a bug in bbscout's filtering cannot leak into its own answer key.

Conventions (stated once, used by every case):
  * a window is half-open [start, end), end defaults to `now`; nothing after `now` exists yet;
  * pipelines are timed by `created_on`; PRs by `created_on` (OPEN/any) or by the close time
    (`closed_on`, falling back to `updated_on`) when every asked state is MERGED/DECLINED/SUPERSEDED;
    commits by `date`; branches by their head commit's date; deployments by
    `state.completion_date` (falling back to `state.start_date`, then `deployable.created_on`);
  * "commits on a branch" = every ancestor of the branch head (what `GET /commits/{branch}` lists);
  * "what changed in the last deployment" = commits reachable from the newest deployment's commit
    and not from the previous SUCCESSFUL deployment's commit in the same environment;
  * lists are ordered newest first; `pick: n` selects the n-th (1-based) of that order.

Constraint coverage (issue 10; fields `reviewer`, `approver`, `participant`, `text`, `touched_path`,
`landed`, `current`, `cite`, `exclude_main`), each combined (AND) with every other filter:
  * people match like `author` (case-insensitive substring of display name, nickname, account id,
    uuid or email): a reviewer is listed in the PR's `reviewers`; an approver is a participant with
    `approved: true` (an approval is current state, not history); a participant is anyone in
    `participants` (reviewers and commenters; Bitbucket leaves the author out);
  * `text` is a case-insensitive substring of a PR's title or description, or of a commit's message;
  * a PR touched a path when one of its non-merge commits (`pr_commits`) changed it (same prefix rule
    as commits' `path`): the PR's own diff, not what a "merge main into branch" commit brought along;
  * "landed on / merged to BRANCH" (`landed`) times a commit by when it entered BRANCH's first-parent
    history: the date of the oldest first-parent commit whose ancestry holds it (a merge commit, or the
    commit itself when pushed directly), never its author date. A window then selects by that time;
  * what is live (`current`) in an environment is its newest SUCCESSFUL deployment (a failed or
    stopped deploy does not replace what runs); with `cite: commit` the deployed commits are the refs;
  * "the newest X" is `limit: 1` over the usual newest-first order; `exclude_main` drops the main
    branch from branch lists ("the newest branch" means the newest work branch).

Minimal requests (`min_requests`) — what a perfect client needs with the real API's server-side
filters (pagelen maxima: repositories/pipelines/commits/branches/deployments 100, PRs 50):
  * L = ceil(R/100) repository-listing pages (R = repositories in the workspace) for every
    repository-scoped kind (names must be resolved or fanned out); code search needs none;
  * pipelines: per repository in scope, pages = ceil((k+1)/100) where k = pipelines matching the
    status filter newer than the window start (one more item proves the window ended), capped at
    max(1, ceil(n/100)) for n matching in total; no window → 1 page;
  * pull requests (BBQL on state/time/destination/author): per repository max(1, ceil(k/50));
  * commits (`/commits/{branch}`, `path=` when asked): per repository ceil((k+1)/100) capped as above;
  * branches (sorted by -target.date): per repository max(1, ceil(k/100));
  * deployments: per repository 1 environments page + max(1, ceil(k/100)) deployments pages;
  * deployment changes: environments + deployments + max(1, ceil(k/100)) pages of
    `/commits?include=NEW&exclude=OLD`;
  * repositories: L;  code search: max(1, ceil(k/100));  one file: L + 1;
  * scenarios: stated per case (investigations have no single canonical trajectory).

Referents (chat follow-ups, issue 15; refusal evidence, issue 16):
  A follow-up ("who opened the oldest one?", "roll it back") is about objects an earlier answer cited.
  A case selects them with a query of its own (`of:`), or names them as the user did (`subject:`, refs
  that must exist), so the answer key never depends on what bbscout listed. Conventions:
    * order: newest first by the kind's time (above); `pick: -n` is the n-th from the oldest
      end ("the oldest", "the last one"); `order_by: size` orders PRs and commits by lines changed
      (added + removed), biggest first, ties newest first;
    * size: a commit's diffstat against its first parent; a PR's = the sum over the files its own
      non-merge commits change (what its diffstat shows when the branch has no merges from main);
    * relations (`relation:`): self; commits (a PR's commits, newest first); prs (the PRs whose commits
      or merge commit include a commit); files (the files a PR's commits, or a commit, change);
      merge_commit (a merged PR's merge commit); shipped (a deployment's commits: reachable from its
      commit and not from the previous SUCCESSFUL deployment's commit in the same environment);
    * attributes (`attribute:`), text the answer must state for each referent: author (PR author,
      commit author, pipeline creator, deployment deployer; display names), merged_by (`closed_by` of a
      MERGED PR), approvers / reviewers / commenters (display names), opened_at / closed_at / at (the
      clock time "HH:MM" in the case's zone of: PR created_on / PR closed_on / pipeline created_on,
      deployment completion, commit date), branch (a PR's source branch, a pipeline's branch or PR
      source), target_branch, failed_step (FAILED/ERROR step names), error (an ERROR result's message;
      else the first pytest `E   ...` line of the failed step's log; else the reason of its first
      `FAILED test - reason` line), result (a pipeline's status word), release (a deployment's release),
      stopped_by (who stopped a STOPPED pipeline), deployed_at (a deployment's start or completion
      clock time, either: "when was it deployed" has two defensible answers);
    * a value "a|b" is stated when either alternative is;
    * rollback_target: the release live in an environment (its newest SUCCESSFUL deployment) and the
      previous successful one (the newest SUCCESSFUL deployment before it whose commit differs; redeploys
      of the live commit are skipped) — what a rollback would go back to.
  Minimal requests for `about`: the referent is held (cited by the previous answer), so attributes the
  list evidence carries cost 0; approvers / reviewers 1 (the PR), commenters 1 (its comments), failed_step
  1 (the steps), error 2 (steps + log); relations commits 1, prs 1, files 2 (the PR diffstat redirects;
  a commit's 1), merge_commit 0, shipped 2 (the environment's deployments + `commits?include=&exclude=`).
  rollback_target: L + 1 environments page + 1 deployments page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bbscout.evals.case import OracleQuery, WindowSpec, parse_offset

__all__ = [
    "OracleAnswer",
    "answer",
    "attribute_values",
    "branch_entry_times",
    "linked_refs",
    "norm_ref",
    "parse_ts",
    "pipeline_error",
    "ref_size",
    "related_refs",
    "relaxations",
    "resolve_window",
    "scenario_refs",
]

Json = dict[str, Any]


@dataclass(frozen=True)
class OracleAnswer:
    """Expected refs (newest first), the entity type they have, and the minimal request count."""

    refs: list[str]
    entity_type: str  # pipeline | pull_request | commit | branch | deployment | repository | file | mixed
    min_requests: int
    window: tuple[datetime, datetime] | None = None
    values: tuple[str, ...] = ()  # kind: about with an attribute — text the answer must state

    @property
    def count(self) -> int:
        return len(self.refs)


def parse_ts(value: Any) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def dig(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def resolve_window(
    spec: WindowSpec | None, now: datetime, tz: str = "UTC"
) -> tuple[datetime, datetime] | None:
    """[start, end) in UTC for a window spec, resolved against `now` in zone `tz`."""
    if spec is None:
        return None
    now = now.astimezone(UTC)
    if spec.since is not None:
        return now - parse_offset(spec.since), now
    if spec.start is not None:
        return spec.start.astimezone(UTC), (spec.end or now).astimezone(UTC)
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    assert spec.day is not None
    if spec.day == "today":
        day = local.date()
    elif spec.day == "yesterday":
        day = local.date() - timedelta(days=1)
    else:
        day = datetime.fromisoformat(spec.day).date()
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return start.astimezone(UTC), min(end.astimezone(UTC), now)


def norm_ref(ref: str) -> str:
    """Comparable form of a ref: commit hashes cut to 12 hex, file revisions and case dropped."""
    ref = ref.strip()
    kind, _, rest = ref.partition(":")
    if kind == "commit" and "@" in rest:
        repo, _, h = rest.partition("@")
        return f"commit:{repo}@{h[:12].lower()}"
    if kind == "file":
        return "file:" + rest.rsplit("@", 1)[0]
    if kind in ("step", "test") and "#" in rest:  # a step or test result cites its pipeline
        repo, _, tail = rest.partition("#")
        return f"pipeline:{repo}#{tail.split('/', 1)[0]}"
    if kind == "deployment":
        return ref.lower()
    return ref


def _in(ts: datetime | None, window: tuple[datetime, datetime] | None, now: datetime) -> bool:
    if ts is None or ts > now:
        return False
    return window is None or window[0] <= ts < window[1]


def _pages(k: int, n: int, size: int, windowed: bool) -> int:
    """Pages to walk a newest-first list until the window is proven over (see module docstring)."""
    if not windowed:
        return 1
    full = max(1, math.ceil(n / size))
    return min(full, max(1, math.ceil((k + 1) / size)))


def _repos(world: Any, q: OracleQuery) -> list[str]:
    if q.repos is None:
        return list(world.repos)
    missing = [r for r in q.repos if r not in world.repos]
    if missing:
        raise ValueError(f"oracle: unknown repositories {missing} in world {world.name}")
    return list(q.repos)


def _listing(world: Any) -> int:
    return max(1, math.ceil(len(world.repos) / 100))


def _account_matches(who: str, user: Json | None, raw: str = "", world: Any = None) -> bool:
    who = who.lower()
    names = [raw.lower()]
    if user:
        names += [str(user.get(k) or "").lower() for k in ("display_name", "nickname", "account_id", "uuid")]
        if world is not None and user.get("uuid"):
            acct = next((a for a in world.accounts if a.uuid == user["uuid"]), None)
            if acct is not None:
                names.append(acct.email.lower())
    return any(who in n for n in names if n)


# --- pipelines ------------------------------------------------------------------------------------

_RUNNING = {"IN_PROGRESS", "RUNNING", "BUILDING"}


def pipeline_status(p: Json) -> str:
    """One status word: the result when completed, PAUSED for a paused stage, else the state name."""
    name = dig(p, "state.name")
    if name == "COMPLETED":
        return str(dig(p, "state.result.name") or "UNKNOWN")
    if dig(p, "state.stage.name") in ("PAUSED", "HALTED"):
        return "PAUSED"
    return "IN_PROGRESS" if name in _RUNNING else str(name)


def _pipeline_matches(p: Json, q: OracleQuery) -> bool:
    status = pipeline_status(p)
    if q.results is not None or q.states is not None:
        wanted = set(q.results or []) | set(q.states or [])
        if "COMPLETED" in wanted and dig(p, "state.name") == "COMPLETED":
            pass
        elif status not in wanted:
            return False
    if q.branch is not None:
        names = {dig(p, "target.ref_name"), dig(p, "target.source")}
        if q.branch not in names:
            return False
    return not (q.trigger is not None and str(dig(p, "trigger.name") or "").upper() != q.trigger)


def _pipelines(world: Any, q: OracleQuery, now: datetime, window: Any) -> OracleAnswer:
    found: list[tuple[datetime, str]] = []
    requests = _listing(world)
    for slug in _repos(world, q):
        rd = world.repos[slug]
        matching = [
            p
            for p in rd.pipelines
            if _pipeline_matches(p, q) and (parse_ts(p.get("created_on")) or now) <= now
        ]
        hits = [
            (parse_ts(p["created_on"]), f"pipeline:{slug}#{p['build_number']}")
            for p in matching
            if _in(parse_ts(p.get("created_on")), window, now)
        ]
        found += hits  # type: ignore[arg-type]
        requests += _pages(len(hits), len(matching), 100, window is not None)
    return _finish(found, "pipeline", requests, q, window)


# --- pull requests -----------------------------------------------------------------------------------


def pr_time(pr: Json, field: str) -> datetime | None:
    if field == "closed_on":
        return parse_ts(pr.get("closed_on") or pr.get("updated_on"))
    return parse_ts(pr.get(field))


def _pull_requests(world: Any, q: OracleQuery, now: datetime, window: Any) -> OracleAnswer:
    states = set(q.pr_states or [])
    field = q.time_field or (
        "closed_on" if states and states <= {"MERGED", "DECLINED", "SUPERSEDED"} else "created_on"
    )
    found: list[tuple[datetime, str]] = []
    requests = _listing(world)
    for slug in _repos(world, q):
        rd = world.repos[slug]
        hits = []
        for pid, pr in rd.pullrequests.items():
            if (parse_ts(pr.get("created_on")) or now) > now:
                continue
            if states and pr.get("state") not in states:
                continue
            if q.target is not None and dig(pr, "destination.branch.name") != q.target:
                continue
            if q.author is not None and not _account_matches(q.author, pr.get("author"), world=world):
                continue
            if q.awaiting_review:
                approved = any(p.get("approved") for p in pr.get("participants") or [])
                if pr.get("state") != "OPEN" or pr.get("draft") or approved:
                    continue
            if not _pr_constraints(world, rd, pid, pr, q):
                continue
            when = pr_time(pr, field)
            if window is not None and not _in(when, window, now):
                continue
            hits.append((when or now, f"pr:{slug}#{pid}"))
        found += hits
        requests += max(1, math.ceil(len(hits) / 50))
    return _finish(found, "pull_request", requests, q, window)


def _pr_constraints(world: Any, rd: Any, pid: int, pr: Json, q: OracleQuery) -> bool:
    """Reviewer / approver / participant / text / touched path (see "Constraint coverage")."""
    parts = pr.get("participants") or []
    if q.reviewer is not None and not any(
        _account_matches(q.reviewer, r, world=world) for r in pr.get("reviewers") or []
    ):
        return False
    if q.approver is not None and not any(
        p.get("approved") and _account_matches(q.approver, p.get("user"), world=world) for p in parts
    ):
        return False
    if q.participant is not None and not any(
        _account_matches(q.participant, p.get("user"), world=world) for p in parts
    ):
        return False
    if q.text is not None:
        blob = f"{pr.get('title') or ''}\n{pr.get('description') or ''}".lower()
        if q.text.lower() not in blob:
            return False
    if q.touched_path is not None:
        own = [h for h in rd.pr_commits.get(pid) or [] if len(rd.commits[h].get("parents") or []) < 2]
        if not any(_touches(rd, h, q.touched_path) for h in own):
            return False
    return True


# --- commits ---------------------------------------------------------------------------------------


def ancestors(rd: Any, head: str) -> set[str]:
    """Every commit reachable from `head` (inclusive) through all parents."""
    seen: set[str] = set()
    stack = [head]
    while stack:
        h = stack.pop()
        if h in seen or h not in rd.commits:
            continue
        seen.add(h)
        stack += [p["hash"] for p in rd.commits[h].get("parents") or []]
    return seen


def _touches(rd: Any, h: str, path: str) -> bool:
    path = path.rstrip("/")
    for ch in rd.changes.get(h, []):
        for p in (ch.path, ch.old_path):
            if p and (p == path or p.startswith(path + "/")):
                return True
    return False


def branch_entry_times(rd: Any, head: str) -> dict[str, datetime]:
    """When each commit reachable from `head` entered its first-parent history: walking that history
    oldest first, a commit enters with the first first-parent commit whose ancestry holds it (so a
    feature commit enters at its merge commit's date, a direct push at its own date)."""
    chain = []
    h: str | None = head
    while h is not None and h in rd.commits and h not in chain:
        chain.append(h)
        parents = rd.commits[h].get("parents") or []
        h = parents[0]["hash"] if parents else None
    entered: dict[str, datetime] = {}
    for fp in reversed(chain):
        when = parse_ts(rd.commits[fp].get("date"))
        assert when is not None
        stack = [fp]
        while stack:
            x = stack.pop()
            if x in entered or x not in rd.commits:
                continue
            entered[x] = when
            stack += [p["hash"] for p in rd.commits[x].get("parents") or []]
    return entered


def _commits(world: Any, q: OracleQuery, now: datetime, window: Any) -> OracleAnswer:
    found: list[tuple[datetime, str]] = []
    requests = _listing(world)
    for slug in _repos(world, q):
        rd = world.repos[slug]
        branch = q.branch or rd.main_branch
        head = rd.branches.get(branch)
        if head is None:
            raise ValueError(f"oracle: no branch {branch!r} in {slug}")
        reachable = ancestors(rd, head)
        entered = branch_entry_times(rd, head) if q.landed else {}
        matching = []
        for h in rd.commit_order:
            if h not in reachable:
                continue
            c = rd.commits[h]
            if q.path is not None and not _touches(rd, h, q.path):
                continue
            if q.text is not None and q.text.lower() not in str(c.get("message") or "").lower():
                continue
            when = entered.get(h) if q.landed else parse_ts(c.get("date"))
            if when is None or when > now:
                continue
            matching.append((when, h, c))
        hits = []
        for when, h, c in matching:
            if window is not None and not _in(when, window, now):
                continue
            if q.author is not None and not _account_matches(
                q.author, dig(c, "author.user"), str(dig(c, "author.raw") or ""), world
            ):
                continue
            hits.append((when, f"commit:{slug}@{h[:12]}"))
        in_window = sum(1 for w, _, _ in matching if window is None or _in(w, window, now))
        if q.landed and window is not None:  # landed commits may be authored before the window
            order = {h: i for i, h in enumerate(rd.commit_order)}
            in_window = max((order[h] + 1 for w, h, _ in matching if _in(w, window, now)), default=0)
        found += hits
        requests += _pages(in_window, len(matching), 100, window is not None)
    return _finish(found, "commit", requests, q, window)


# --- branches --------------------------------------------------------------------------------------


def _branches(world: Any, q: OracleQuery, now: datetime, window: Any) -> OracleAnswer:
    found: list[tuple[datetime, str]] = []
    requests = _listing(world)
    for slug in _repos(world, q):
        rd = world.repos[slug]
        hits = []
        for name, head in rd.branches.items():
            when = parse_ts(dig(rd.commits.get(head, {}), "date"))
            if when is None or when > now:
                continue
            if q.stale_days is not None:
                if name == rd.main_branch or when >= now - timedelta(days=q.stale_days):
                    continue
            elif window is not None and not _in(when, window, now):
                continue
            if q.name_contains and q.name_contains.lower() not in name.lower():
                continue
            if q.exclude_main and name == rd.main_branch:
                continue
            hits.append((when, f"branch:{slug}:{name}"))
        found += hits
        requests += max(1, math.ceil(len(hits) / 100))
    return _finish(found, "branch", requests, q, window)


# --- deployments -------------------------------------------------------------------------------------


def deployment_time(d: Json) -> datetime | None:
    return parse_ts(
        dig(d, "state.completion_date") or dig(d, "state.start_date") or dig(d, "deployable.created_on")
    )


def env_name(rd: Any, d: Json) -> str:
    uuid = dig(d, "environment.uuid")
    env = next((e for e in rd.environments if e.get("uuid") == uuid), None)
    return str((env or {}).get("name") or dig(d, "environment.name") or "")


def deployment_status(d: Json) -> str:
    return str(dig(d, "state.status.name") or dig(d, "state.name") or "")


def _deployments_in(world: Any, slug: str, q: OracleQuery, now: datetime) -> list[tuple[datetime, Json]]:
    rd = world.repos[slug]
    out = []
    for d in rd.deployments:
        when = deployment_time(d)
        if when is None or when > now:
            continue
        if q.environment is not None and env_name(rd, d).lower() != q.environment.lower():
            continue
        if q.statuses is not None and deployment_status(d) not in q.statuses:
            continue
        if q.current and deployment_status(d) != "SUCCESSFUL":
            continue
        out.append((when, d))
    out.sort(key=lambda t: t[0], reverse=True)
    return out


def _deployments(world: Any, q: OracleQuery, now: datetime, window: Any) -> OracleAnswer:
    found: list[tuple[datetime, str]] = []
    requests = _listing(world)
    for slug in _repos(world, q):
        rd = world.repos[slug]
        deps = _deployments_in(world, slug, q, now)
        if window is not None:
            deps = [(w, d) for w, d in deps if _in(w, window, now)]
        if q.latest or q.current:
            newest: dict[str, tuple[datetime, Json]] = {}
            for w, d in deps:
                newest.setdefault(env_name(rd, d), (w, d))
            deps = list(newest.values())
        if q.cite == "commit":
            found += [(w, f"commit:{slug}@{str(dig(d, 'deployable.commit.hash'))[:12]}") for w, d in deps]
        else:
            found += [(w, f"deployment:{slug}:{d['uuid']}") for w, d in deps]
        if rd.deployments or q.repos:
            requests += 1 + max(1, math.ceil(len(deps) / 100))
    return _finish(found, "commit" if q.cite == "commit" else "deployment", requests, q, window)


def _deployment_changes(world: Any, q: OracleQuery, now: datetime, window: Any) -> OracleAnswer:
    found: list[tuple[datetime, str]] = []
    requests = _listing(world)
    for slug in _repos(world, q):
        rd = world.repos[slug]
        deps = _deployments_in(world, slug, q.model_copy(update={"statuses": None}), now)
        if not deps:
            continue
        _, newest = deps[0]
        env = env_name(rd, newest)
        previous = next(
            (d for _, d in deps[1:] if env_name(rd, d) == env and deployment_status(d) == "SUCCESSFUL"), None
        )
        new_hash = dig(newest, "deployable.commit.hash") or dig(newest, "release.commit.hash")
        new_full = _full_hash(rd, str(new_hash))
        included = ancestors(rd, new_full)
        if previous is not None:
            old_full = _full_hash(
                rd, str(dig(previous, "deployable.commit.hash") or dig(previous, "release.commit.hash"))
            )
            included -= ancestors(rd, old_full)
        hits = [(parse_ts(rd.commits[h]["date"]) or now, f"commit:{slug}@{h[:12]}") for h in included]
        found += hits
        requests += 2 + max(1, math.ceil(len(hits) / 100))
    return _finish(found, "commit", requests, q, window)


def _full_hash(rd: Any, h: str) -> str:
    if h in rd.commits:
        return h
    return next((c for c in rd.commits if c.startswith(h)), h)


# --- repositories, code, files ------------------------------------------------------------------------


def _repositories(world: Any, q: OracleQuery, now: datetime, window: Any) -> OracleAnswer:
    refs = [
        (now, f"repo:{slug}")
        for slug in _repos(world, q)
        if not q.name_contains or q.name_contains.lower() in slug.lower()
    ]
    return _finish(refs, "repository", _listing(world), q, window, keep_order=True)


def _code(world: Any, q: OracleQuery, now: datetime, window: Any) -> OracleAnswer:
    import re

    assert q.symbol, "kind: code needs symbol:"
    pat = re.compile(rf"(?<![\w]){re.escape(q.symbol)}(?![\w])")
    refs = []
    for slug in _repos(world, q):
        for path, text in sorted(world.repos[slug].files.items()):
            if pat.search(text):
                refs.append((now, f"file:{slug}:{path}"))
    return _finish(refs, "file", max(1, math.ceil(len(refs) / 100)), q, window, keep_order=True)


def _file(world: Any, q: OracleQuery, now: datetime, window: Any) -> OracleAnswer:
    assert q.file_path and q.repos and len(q.repos) == 1, "kind: file needs file_path and one repo"
    slug = q.repos[0]
    if q.file_path not in world.repos[slug].files:
        raise ValueError(f"oracle: no file {q.file_path} in {slug}")
    return OracleAnswer([f"file:{slug}:{q.file_path}"], "file", _listing(world) + 1, window)


# --- scenarios ---------------------------------------------------------------------------------------


def scenario_refs(world: Any, name: str, which: str = "answer_refs") -> list[str]:
    sc = world.scenarios.get(name)
    if sc is None:
        raise ValueError(
            f"oracle: world {world.name} has no scenario {name!r} (has {sorted(world.scenarios)})"
        )
    value = getattr(sc, which)
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _scenario(world: Any, q: OracleQuery, now: datetime, window: Any) -> OracleAnswer:
    assert q.scenario
    refs = scenario_refs(world, q.scenario, q.refs)
    kinds = {r.split(":", 1)[0] for r in refs}
    etype = _REF_TYPES.get(kinds.pop(), "mixed") if len(kinds) == 1 else "mixed"
    return OracleAnswer(refs, etype, 0, window)


_REF_TYPES = {
    "pipeline": "pipeline",
    "pr": "pull_request",
    "commit": "commit",
    "branch": "branch",
    "deployment": "deployment",
    "repo": "repository",
    "file": "file",
}


def ref_type(ref: str) -> str:
    return _REF_TYPES.get(ref.split(":", 1)[0], "other")


def linked_refs(world: Any, ref: str) -> set[str]:
    """`ref` plus the objects an investigation may name instead: a PR ↔ its merge/source commits,
    a commit ↔ PRs containing it and deployments shipping it, a pipeline ↔ its commit."""
    out = {norm_ref(ref)}
    kind, _, rest = ref.partition(":")
    if kind == "pr":
        slug, _, pid = rest.partition("#")
        rd = world.repos.get(slug)
        pr = rd.pullrequests.get(int(pid)) if rd else None
        if pr:
            for h in [dig(pr, "merge_commit.hash"), *(rd.pr_commits.get(int(pid)) or [])]:
                if h:
                    out.add(norm_ref(f"commit:{slug}@{h}"))
    elif kind == "commit":
        slug, _, h = rest.partition("@")
        rd = world.repos.get(slug)
        if rd:
            for pid, pr in rd.pullrequests.items():
                hashes = [str(dig(pr, "merge_commit.hash") or ""), *(rd.pr_commits.get(pid) or [])]
                if any(x and (x.startswith(h) or h.startswith(x[:12])) for x in hashes):
                    out.add(f"pr:{slug}#{pid}")
            for d in rd.deployments:
                dh = str(dig(d, "deployable.commit.hash") or "")
                if dh and (dh.startswith(h) or h.startswith(dh[:12])):
                    out.add(norm_ref(f"deployment:{slug}:{d['uuid']}"))
    elif kind == "deployment":
        slug, _, uuid = rest.partition(":")
        rd = world.repos.get(slug)
        d = next((x for x in rd.deployments if x["uuid"].lower() == uuid.lower()), None) if rd else None
        if d and dig(d, "deployable.commit.hash"):
            out.add(norm_ref(f"commit:{slug}@{dig(d, 'deployable.commit.hash')}"))
    elif kind == "pipeline":
        slug, _, num = rest.partition("#")
        rd = world.repos.get(slug)
        p = next((x for x in rd.pipelines if str(x["build_number"]) == num), None) if rd else None
        if p and dig(p, "target.commit.hash"):
            out.add(norm_ref(f"commit:{slug}@{dig(p, 'target.commit.hash')}"))
    return out


# --- referents: chat follow-ups and refusal evidence (issues 15, 16; "Referents" above) -------------

_HELD = {
    "author",
    "merged_by",
    "opened_at",
    "closed_at",
    "at",
    "branch",
    "target_branch",
    "result",
    "release",
    "stopped_by",
    "deployed_at",
}
_ATTRIBUTE_REQUESTS = {"approvers": 1, "reviewers": 1, "commenters": 1, "failed_step": 1, "error": 2}
_RELATION_REQUESTS = {"self": 0, "commits": 1, "prs": 1, "files": 2, "merge_commit": 0, "shipped": 2}


def _parse_ref(world: Any, ref: str) -> tuple[str, Any, str]:
    """(kind, repo data, id) of a ref the world holds; raises ValueError for anything else."""
    kind, _, rest = ref.partition(":")
    sep = {"pipeline": "#", "pr": "#", "commit": "@", "deployment": ":"}.get(kind)
    if sep is None:
        raise ValueError(f"oracle: no referent conventions for {ref!r}")
    slug, _, ident = rest.partition(sep)
    rd = world.repos.get(slug)
    if rd is None or _object(kind, rd, ident) is None:
        raise ValueError(f"oracle: world {world.name} has no {ref!r}")
    return kind, rd, ident


def _object(kind: str, rd: Any, ident: str) -> Json | None:
    """The world's JSON for a PR id, build number, commit hash (prefix) or deployment uuid."""
    if kind == "pr":
        pr: Json | None = rd.pullrequests.get(int(ident)) if ident.isdigit() else None
        return pr
    if kind == "pipeline":
        return next((p for p in rd.pipelines if str(p["build_number"]) == ident), None)
    if kind == "deployment":
        return next((d for d in rd.deployments if d["uuid"].lower() == ident.lower()), None)
    full = _full_hash(rd, ident.lower()) if len(ident) >= 7 else ""
    commit: Json | None = rd.commits.get(full)
    return commit


def _obj(rd: Any, kind: str, ident: str) -> Json:
    obj = _object(kind, rd, ident)
    assert obj is not None  # _parse_ref checked it
    return obj


def _non_merge(rd: Any, hashes: Iterable[str]) -> list[str]:
    return [h for h in hashes if h in rd.commits and len(rd.commits[h].get("parents") or []) < 2]


def _pr_changes(rd: Any, pid: int) -> dict[str, int]:
    """path → lines added + removed over the PR's own non-merge commits."""
    sizes: dict[str, int] = {}
    for h in _non_merge(rd, rd.pr_commits.get(pid) or []):
        for ch in rd.changes.get(h, []):
            sizes[ch.path] = sizes.get(ch.path, 0) + ch.lines_added + ch.lines_removed
    return sizes


def ref_size(world: Any, ref: str) -> int:
    """Lines changed by a PR or a commit (see "Referents")."""
    kind, rd, ident = _parse_ref(world, ref)
    if kind == "pr":
        return sum(_pr_changes(rd, int(ident)).values())
    if kind == "commit":
        full = _full_hash(rd, ident)
        return sum(ch.lines_added + ch.lines_removed for ch in rd.changes.get(full, []))
    raise ValueError(f"oracle: order_by: size needs PRs or commits, not {ref!r}")


def _previous_successful(rd: Any, d: Json, *, other_commit: bool) -> Json | None:
    """The newest SUCCESSFUL deployment to `d`'s environment before `d` (with another commit if asked)."""
    env, when = env_name(rd, d), deployment_time(d)
    commit = str(dig(d, "deployable.commit.hash") or "")
    earlier = [
        x
        for x in rd.deployments
        if x is not d
        and env_name(rd, x) == env
        and deployment_status(x) == "SUCCESSFUL"
        and (deployment_time(x) or when) < when  # type: ignore[operator]
        and not (other_commit and str(dig(x, "deployable.commit.hash") or "") == commit)
    ]
    return max(earlier, key=lambda x: deployment_time(x), default=None)  # type: ignore[arg-type,return-value]


def related_refs(world: Any, ref: str, relation: str) -> list[str]:
    """The objects `relation` reaches from the referent `ref` (see "Referents")."""
    if relation == "self":
        return [ref]
    kind, rd, ident = _parse_ref(world, ref)
    slug = rd.slug
    if kind == "pr" and relation == "commits":
        return [f"commit:{slug}@{h[:12]}" for h in rd.pr_commits.get(int(ident)) or []]
    if kind == "pr" and relation == "files":
        return [f"file:{slug}:{path}" for path in _pr_changes(rd, int(ident))]
    if kind == "pr" and relation == "merge_commit":
        merge = dig(_obj(rd, kind, ident), "merge_commit.hash")
        if not merge:
            raise ValueError(f"oracle: {ref} has no merge commit")
        return [norm_ref(f"commit:{slug}@{_full_hash(rd, str(merge))}")]
    if kind == "commit" and relation == "files":
        return [f"file:{slug}:{ch.path}" for ch in rd.changes.get(_full_hash(rd, ident), [])]
    if kind == "commit" and relation == "prs":
        full = _full_hash(rd, ident)
        return [
            f"pr:{slug}#{pid}"
            for pid, pr in sorted(rd.pullrequests.items(), reverse=True)
            if full in (rd.pr_commits.get(pid) or [])
            or full.startswith(str(dig(pr, "merge_commit.hash") or "-"))
        ]
    if kind == "deployment" and relation == "shipped":
        d = _obj(rd, kind, ident)
        included = ancestors(rd, _full_hash(rd, str(dig(d, "deployable.commit.hash"))))
        previous = _previous_successful(rd, d, other_commit=False)
        if previous is not None:
            included -= ancestors(rd, _full_hash(rd, str(dig(previous, "deployable.commit.hash"))))
        return [f"commit:{slug}@{h[:12]}" for h in rd.commit_order if h in included]
    raise ValueError(f"oracle: relation {relation!r} does not apply to {ref!r}")


def _clock(value: Any, tz: str) -> str:
    ts = parse_ts(value)
    if ts is None:
        raise ValueError("oracle: no timestamp for a time attribute")
    return ts.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def _names(users: Iterable[Any]) -> list[str]:
    return sorted({str(u.get("display_name")) for u in users if u and u.get("display_name")})


def _failed_steps(rd: Any, p: Json) -> list[Json]:
    return [s for s in rd.steps.get(p["uuid"], []) if dig(s, "state.result.name") in ("FAILED", "ERROR")]


def pipeline_error(rd: Any, p: Json) -> str:
    """The line that says why a pipeline failed (convention in "Referents")."""
    if pipeline_status(p) == "ERROR" and dig(p, "state.result.error.message"):
        return str(dig(p, "state.result.error.message"))
    for step in _failed_steps(rd, p):
        lines = str(rd.logs.get(step["uuid"], "")).splitlines()
        pytest_e = [ln[1:].strip() for ln in lines if ln.startswith("E ") and ln[1:].strip()]
        if pytest_e:
            return pytest_e[0]
        summary = [ln.split(" - ", 1)[1].strip() for ln in lines if ln.startswith("FAILED ") and " - " in ln]
        if summary:
            return summary[0]
    raise ValueError(f"oracle: no error line by convention in the logs of {rd.slug}#{p['build_number']}")


def attribute_values(world: Any, ref: str, attribute: str, tz: str = "UTC") -> list[str]:
    """What the answer must state about `ref` (see "Referents"); raises when the world has no value."""
    kind, rd, ident = _parse_ref(world, ref)
    obj = _obj(rd, kind, ident)
    values: list[str] = []
    if attribute == "author":
        user = {
            "pr": dig(obj, "author"),
            "commit": dig(obj, "author.user"),
            "pipeline": dig(obj, "creator"),
            "deployment": dig(obj, "state.deployer"),
        }[kind]
        name = (user or {}).get("display_name") or str(dig(obj, "author.raw") or "").split(" <")[0]
        values = [name] if name else []
    elif attribute == "merged_by" and kind == "pr" and obj.get("state") == "MERGED":
        values = _names([obj.get("closed_by")])
    elif attribute == "approvers" and kind == "pr":
        values = _names(p.get("user") for p in obj.get("participants") or [] if p.get("approved"))
    elif attribute == "reviewers" and kind == "pr":
        values = _names(obj.get("reviewers") or [])
    elif attribute == "commenters" and kind == "pr":
        comments = rd.pr_comments.get(int(ident)) or []
        values = _names(c.get("user") for c in comments if not c.get("deleted"))
    elif attribute == "opened_at" and kind == "pr":
        values = [_clock(obj.get("created_on"), tz)]
    elif attribute == "closed_at" and kind == "pr" and obj.get("state") != "OPEN":
        values = [_clock(obj.get("closed_on") or obj.get("updated_on"), tz)]
    elif attribute == "at":
        when = {"deployment": deployment_time(obj), "commit": obj.get("date")}.get(
            kind, obj.get("created_on")
        )
        values = [_clock(when, tz)]
    elif attribute == "branch" and kind == "pr":
        values = [str(dig(obj, "source.branch.name"))]
    elif attribute == "branch" and kind == "pipeline":
        values = [str(dig(obj, "target.ref_name") or dig(obj, "target.source") or "")]
    elif attribute == "target_branch" and kind == "pr":
        values = [str(dig(obj, "destination.branch.name"))]
    elif attribute == "failed_step" and kind == "pipeline":
        values = [str(s.get("name")) for s in _failed_steps(rd, obj)]
    elif attribute == "error" and kind == "pipeline":
        values = [pipeline_error(rd, obj)]
    elif attribute == "result" and kind == "pipeline":
        values = [pipeline_status(obj)]
    elif attribute == "deployed_at" and kind == "deployment":
        start = _clock(dig(obj, "state.start_date") or deployment_time(obj), tz)
        done = _clock(deployment_time(obj), tz)
        values = [start if start == done else f"{start}|{done}"]
    elif attribute == "stopped_by" and kind == "pipeline":
        values = _names([dig(obj, "state.result.terminator")])
    elif attribute == "release" and kind == "deployment":
        values = [str(dig(obj, "release.name") or dig(obj, "deployable.name") or "")]
    values = [v for v in values if v]
    if not values:
        raise ValueError(f"oracle: {ref} has no {attribute}")
    return values


def _reselect(world: Any, q: OracleQuery, now: datetime, tz: str) -> OracleAnswer:
    """A base kind answered whole, then re-ordered by size and/or picked from the oldest end."""
    base = answer(world, q.model_copy(update={"pick": None, "limit": None, "order_by": "time"}), now, tz)
    refs = list(base.refs)
    if q.order_by == "size":
        rank = {r: i for i, r in enumerate(refs)}  # newest first: ties go to the newer
        refs.sort(key=lambda r: (-ref_size(world, r), rank[r]))
    if q.pick is not None:
        i = q.pick - 1 if q.pick > 0 else len(refs) + q.pick
        refs = refs[i : i + 1] if 0 <= i < len(refs) else []
    elif q.limit is not None:
        refs = refs[: q.limit]
    return OracleAnswer(refs, base.entity_type, base.min_requests, base.window)


def _about(world: Any, q: OracleQuery, now: datetime, tz: str) -> OracleAnswer:
    if q.subject is not None:
        for ref in q.subject:
            _parse_ref(world, ref)  # a named ref must exist
        subject_refs = list(q.subject)
    else:
        assert q.of is not None
        subject_refs = answer(world, q.of, now, tz).refs
    refs: list[str] = []
    values: list[str] = []
    for ref in subject_refs:
        for relation in q.relation:
            refs += related_refs(world, ref, relation)
        if q.attribute:
            values += attribute_values(world, ref, q.attribute, tz)
    refs = list(dict.fromkeys(refs))
    kinds = {ref_type(r) for r in refs}
    etype = kinds.pop() if len(kinds) == 1 else "mixed"
    requests = sum(_RELATION_REQUESTS[r] for r in q.relation)
    if q.attribute and q.attribute not in _HELD:
        requests += _ATTRIBUTE_REQUESTS[q.attribute]
    values = list(dict.fromkeys(values))
    return OracleAnswer(refs, etype, requests * max(1, len(subject_refs)), None, tuple(values))


def _rollback_target(world: Any, q: OracleQuery, now: datetime, tz: str) -> OracleAnswer:
    assert q.repos and q.environment
    slug = q.repos[0]
    rd = world.repos[slug]
    live_q = q.model_copy(update={"statuses": ["SUCCESSFUL"]})
    deployed = _deployments_in(world, slug, live_q, now)
    if not deployed:
        return OracleAnswer([], "deployment", _listing(world) + 2)
    live = deployed[0][1]
    previous = _previous_successful(rd, live, other_commit=True)
    refs = [f"deployment:{slug}:{d['uuid']}" for d in (live, previous) if d is not None]
    return OracleAnswer(refs, "deployment", _listing(world) + 2)


_REFERENT_KINDS = {"about": _about, "rollback_target": _rollback_target}


# --- constraints dropped: the query without one of them ------------------------------------------------

# field → (the constraint's name, how an answer may say it, the field's relaxed value); `window`/`since`
# are relaxed together
_RELAXABLE: dict[str, tuple[str, tuple[str, ...], Any]] = {
    "repos": ("repository", ("repositor",), None),
    "results": ("state", ("state", "result", "status"), None),
    "states": ("state", ("state", "status"), None),
    "pr_states": ("state", ("state", "status"), None),
    "statuses": ("state", ("state", "status", "outcome"), None),
    "branch": ("branch", ("branch",), None),
    "target": ("branch", ("branch", "target"), None),
    "trigger": ("trigger", ("trigger",), None),
    "author": ("author", ("author",), None),
    "reviewer": ("reviewer", ("reviewer",), None),
    "approver": ("approver", ("approver", "approv"), None),
    "participant": ("participant", ("participant",), None),
    "awaiting_review": ("review", ("review", "approv"), False),
    "path": ("path", ("path",), None),
    "touched_path": ("path", ("path",), None),
    "environment": ("environment", ("environment",), None),
    "text": ("text", ("text", "title", "description", "message"), None),
    "current": ("live", ("live", "current"), False),
    "latest": ("latest", ("latest",), False),
    "landed": ("landed", ("landed", "entered", "merged into"), False),
    "exclude_main": ("branch", ("branch",), False),
    "name_contains": ("name", ("name",), None),
    "limit": ("how many", ("how many", "limit", "at most"), None),
}
_LIST_KINDS = frozenset({"pipelines", "pull_requests", "commits", "branches", "deployments", "repositories"})


# the question names a time (else a case's window only bounds its answer key, and is no stated constraint)
_TIME_WORDS = re.compile(
    r"(?i)\b(?:today|yesterday|tonight|overnight|morning|afternoon|evening|night|week|weekend|fortnight|month|"
    r"year|days?|hours?|minutes?|since|between|until|before|after|ago|last|past|recent(?:ly)?|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday|\d{1,2}(?::\d{2})?\s*(?:am|pm)|\d{1,2}:\d{2}|\d{4}-\d{2}-\d{2}|"
    r"\d+\s*[hdw])\b"
)


def _names_repository(question: str, slugs: list[str]) -> bool:
    """The question names one of `slugs` (or a word of one): the repositories are a stated constraint."""
    text = re.sub(r"[^a-z0-9]+", " ", question.lower())
    compact = text.replace(" ", "")
    words = set(text.split())
    return any(
        slug.replace("-", "") in compact or bool((set(slug.split("-")) - {"service", "app", "api"}) & words)
        for slug in slugs
    )


def relaxations(q: OracleQuery, question: str = "") -> list[tuple[str, tuple[str, ...], OracleQuery]]:
    """(name, words, query without that constraint) for each constraint `q` states, list kinds only.

    With the `question`, a window or repositories the question does not state are left alone (the case
    narrows its answer key with them; an answer is not "dropping" what nobody asked).
    """
    if q.kind not in _LIST_KINDS or q.order_by == "size" or (q.pick is not None and q.pick < 0):
        return []
    out: list[tuple[str, tuple[str, ...], OracleQuery]] = []
    given = q.model_fields_set
    for name, (label, words, empty) in _RELAXABLE.items():
        value = getattr(q, name)
        if name not in given or value in (None, False, []):
            continue
        if name == "repos" and question and not _names_repository(question, list(value)):
            continue
        said = (*words, *_value_words(value))
        out.append((label, said, q.model_copy(update={name: empty})))
    if q.resolved_window() is not None and (not question or _TIME_WORDS.search(question)):
        out.append(
            ("window", ("window", "time", "date"), q.model_copy(update={"window": None, "since": None}))
        )
    if q.pick is not None and q.pick > 0:
        out.append(("which one", ("one", "newest", "latest", "oldest"), q.model_copy(update={"pick": None})))
    return out


def _value_words(value: Any) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    return tuple(str(v) for v in values if isinstance(v, str) and v)


# --- entry point ------------------------------------------------------------------------------------

_KINDS = {
    "pipelines": _pipelines,
    "pull_requests": _pull_requests,
    "commits": _commits,
    "branches": _branches,
    "deployments": _deployments,
    "deployment_changes": _deployment_changes,
    "repositories": _repositories,
    "code": _code,
    "file": _file,
    "scenario": _scenario,
}


def _finish(
    found: Iterable[tuple[datetime, str]],
    etype: str,
    requests: int,
    q: OracleQuery,
    window: Any,
    keep_order: bool = False,
) -> OracleAnswer:
    items = list(found)
    if not keep_order:
        items.sort(key=lambda t: (t[0], t[1]), reverse=True)
    refs = list(dict.fromkeys(r for _, r in items))
    if q.pick is not None:
        refs = refs[q.pick - 1 : q.pick]
    elif q.limit is not None:
        refs = refs[: q.limit]
    return OracleAnswer(refs, etype, requests, window)


def answer(world: Any, q: OracleQuery, now: datetime, tz: str = "UTC") -> OracleAnswer:
    """Evaluate `q` against `world` at `now` (user zone `tz` for calendar windows)."""
    if q.kind in _REFERENT_KINDS:
        return _REFERENT_KINDS[q.kind](world, q, now.astimezone(UTC), tz)
    if q.order_by == "size" or (q.pick is not None and q.pick < 0):
        return _reselect(world, q, now, tz)
    window = resolve_window(q.resolved_window(), now, tz)
    return _KINDS[q.kind](world, q, now.astimezone(UTC), window)
