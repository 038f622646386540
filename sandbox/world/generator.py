"""Build a seeded sandbox `World`: a month in the life of the Acme Commerce workspace.

Deterministic from (name, seed, anchor, knobs): every random choice comes from `random.Random`
instances seeded from those, and the clock is read only for the default anchor. The simulation
lives in `sim.py`; this module turns it into Bitbucket Cloud JSON.
"""

from __future__ import annotations

import gc
import html
import random
import string
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from bbscout.sandbox.world import scenarios
from bbscout.sandbox.world.content import (
    CI_BOT,
    DEMO_USER,
    DEP_BOT,
    INLINE_COMMENTS,
    PEOPLE,
    REPLIES,
    REVIEW_COMMENTS,
    WORKSPACE_NAME,
    WORKSPACE_SLUG,
    Person,
    RepoSpec,
    repo_specs,
)
from bbscout.sandbox.world.logs import LazyMap, StepRun, render_log, test_cases, test_summary
from bbscout.sandbox.world.model import API_ROOT, WEB_ROOT, Account, Json, RepoData, Token, World
from bbscout.sandbox.world.sim import DAY, HOUR, MIN, PipeSpec, PRPlan, RepoSim, SimContext, uid

WORLD_NAMES = ("default", "nosearch", "quiet")
READ_SCOPES = [
    "read:user:bitbucket",
    "read:workspace:bitbucket",
    "read:repository:bitbucket",
    "read:pullrequest:bitbucket",
    "read:pipeline:bitbucket",
    "read:project:bitbucket",
    "read:account",
    "read:me",
]
CLASSIC_SCOPES = ["repository", "pullrequest", "pipeline", "project", "account"]


def hour_anchor(now: datetime) -> datetime:
    """A live world's "now": the top of the current hour (UTC), so runs within the hour see one world."""
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def build_world(
    name: str = "default",
    *,
    seed: int = 7,
    anchor: datetime | None = None,
    repos: int = 10,
    days: int = 30,
    commits_per_day: float = 4.0,
) -> World:
    """The world called `name` ("default", "nosearch" or "quiet") whose "now" is `anchor`.

    Memoised: treat the result as immutable. The default anchor is the current minute (UTC), so the
    demo's "last 24 hours" always has data.
    """
    if name not in WORLD_NAMES:
        raise ValueError(f"unknown world {name!r}; expected one of {', '.join(WORLD_NAMES)}")
    if anchor is None:
        anchor = datetime.now(UTC).replace(second=0, microsecond=0)
    elif anchor.tzinfo is None:
        raise ValueError("anchor must be timezone-aware (UTC)")
    anchor = anchor.astimezone(UTC)
    if repos < 1 or days < 3:
        raise ValueError("need at least 1 repository and 3 days")
    # A big world is millions of small, long-lived dicts: rescanning them in the cyclic GC would
    # dominate build time (and every later full collection), so build with GC off, then freeze.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        world = _build(name, seed, anchor, repos, days, float(commits_per_day))
        gc.freeze()
        return world
    finally:
        if was_enabled:
            gc.enable()


def _first_added_line(patch: str) -> int:
    """The new file's number of a patch's first added line (where an inline comment sits)."""
    n = 1
    for line in patch.split("\n"):
        if line.startswith("@@"):
            n = int(line.split(" +", 1)[1].split(" ")[0].split(",")[0])
        elif line.startswith("+"):
            return n
        elif not line.startswith("-"):
            n += 1
    return 1


def iso(t: datetime, micros: bool = True) -> str:
    return t.isoformat(timespec="microseconds" if micros else "seconds")


@lru_cache(maxsize=8)
def _build(name: str, seed: int, anchor: datetime, n_repos: int, days: int, cpd: float) -> World:
    quiet = name == "quiet"
    if quiet:
        n_repos, days = min(n_repos, 5), min(days, 14)
    data_name = "default" if name == "nosearch" else name
    rng = random.Random(f"{data_name}:{seed}:world")
    people = [*list(PEOPLE), CI_BOT, DEP_BOT]
    accounts = {p.nickname: _account(p, rng) for p in people}
    start = anchor - timedelta(days=days)
    ctx = SimContext(
        anchor,
        start,
        days,
        cpd,
        quiet,
        [p.nickname for p in PEOPLE],
        main_cutoff=anchor - 26 * HOUR if quiet else None,
    )
    specs = repo_specs(n_repos)
    sims = {s.slug: RepoSim(s, random.Random(f"{data_name}:{seed}:{s.slug}"), ctx) for s in specs}
    for sim in sims.values():
        sim.plan_random()
    srng = random.Random(f"{data_name}:{seed}:scenarios")
    planted = [] if quiet else scenarios.plant(sims, ctx, srng)
    for sim in sims.values():
        sim.apply_constraints()
        sim.run_events()
    for hook in planted:
        hook.after_replay(sims, ctx)
    busy = [s for s in ("web-frontend", "payments-service", "mobile-app") if s in sims] or list(sims)[:1]
    sims[busy[0]].push_now(
        anchor - 3 * MIN, "wip: address review comments", timedelta(seconds=8, microseconds=95_114)
    )
    sims[busy[-1]].push_now(
        anchor - timedelta(seconds=40), "fix lint", timedelta(seconds=37, microseconds=412_331)
    )
    for sim in sims.values():
        sim.plan_prod_deploys()
        sim.plan_schedules()
    for hook in planted:
        hook.adjust(sims, ctx)
    workspace = _workspace(rng, anchor)
    acct = {k: a.to_json() for k, a in accounts.items()}
    repo_data = {slug: _Builder(workspace, acct, anchor).repo(sim) for slug, sim in sims.items()}
    world = World(
        name=name,
        seed=seed,
        anchor=anchor,
        workspace=workspace,
        accounts=list(accounts.values()),
        tokens=_tokens(rng, accounts, specs),
        repos=repo_data,
        scenarios={},
        code_search_enabled=name != "nosearch",
    )
    for hook in planted:
        sc = hook.finish(world, sims)
        world.scenarios[sc.name] = sc
    return world


# ------------------------------------------------------------------------------------ people, tokens


def _account(p: Person, rng: random.Random) -> Account:
    return Account(
        uuid=uid(rng),
        account_id=f"{rng.getrandbits(96):024x}",
        display_name=p.display_name,
        nickname=p.nickname,
        email=p.email,
    )


def _secret(rng: random.Random, prefix: str) -> str:
    alphabet = string.ascii_letters + string.digits + "_-"
    body = "".join(rng.choice(alphabet) for _ in range(180))
    return f"{prefix}{body}={rng.getrandbits(32):08X}"


def _tokens(rng: random.Random, accounts: dict[str, Account], specs: list[RepoSpec]) -> list[Token]:
    demo = accounts[DEMO_USER.nickname]

    def api(label, **kw):
        return Token(
            label,
            "api_token",
            _secret(rng, "ATATT3xFfGF0"),
            kw.pop("scopes", list(READ_SCOPES)),
            demo.uuid,
            demo.email,
            **kw,
        )

    repo_slug = "checkout-service" if any(s.slug == "checkout-service" for s in specs) else specs[0].slug
    return [
        api("demo"),
        Token("demo-access", "access_token", _secret(rng, "ATCTT3xFfGN0"), list(CLASSIC_SCOPES)),
        api("expired", expired=True),
        api("no-pipeline-scope", scopes=[s for s in READ_SCOPES if s != "read:pipeline:bitbucket"]),
        api("unscoped", scopes=[], scoped=False),
        Token(
            "repo-token",
            "access_token",
            _secret(rng, "ATCTT3xFfGN0"),
            ["repository", "pullrequest", "pipeline"],
            repos=[repo_slug],
        ),
        api("low-limit", rate_limit_per_hour=20),
    ]


def _workspace(rng: random.Random, anchor: datetime) -> Json:
    return {
        "type": "workspace",
        "uuid": uid(rng),
        "name": WORKSPACE_NAME,
        "slug": WORKSPACE_SLUG,
        "is_private": True,
        "is_privacy_enforced": False,
        "forking_mode": "internal_only",
        "created_on": "2019-03-11T09:12:44.311512+00:00",
        "updated_on": iso(anchor - 3 * DAY),
        "links": {
            "self": {"href": f"{API_ROOT}/workspaces/{WORKSPACE_SLUG}"},
            "html": {"href": f"{WEB_ROOT}/{WORKSPACE_SLUG}/"},
            "avatar": {"href": f"{WEB_ROOT}/workspaces/{WORKSPACE_SLUG}/avatar/?ts=1710000000"},
            "members": {"href": f"{API_ROOT}/workspaces/{WORKSPACE_SLUG}/members"},
            "owners": {"href": f"{API_ROOT}/workspaces/{WORKSPACE_SLUG}/members?q=permission%3D%22owner%22"},
            "projects": {"href": f"{API_ROOT}/workspaces/{WORKSPACE_SLUG}/projects"},
            "repositories": {"href": f"{API_ROOT}/repositories/{WORKSPACE_SLUG}"},
            "snippets": {"href": f"{API_ROOT}/snippets/{WORKSPACE_SLUG}"},
        },
    }


# ------------------------------------------------------------------------------------ JSON


_STEP_STATE = {
    "PENDING": {"type": "pipeline_step_state_pending", "name": "PENDING"},
    "IN_PROGRESS": {"type": "pipeline_step_state_in_progress", "name": "IN_PROGRESS"},
}
_SETUP = [
    {"name": "Clone", "command": "git clone ...", "commandType": "system"},
    {"name": "Docker image pull", "command": "docker pull", "commandType": "system"},
]
_TEARDOWN = [
    {"name": "Build teardown", "command": "Searching for test report files", "commandType": "system"}
]


def _step_state(result: str, error: tuple[str, str] | None = None) -> Json:
    if result in _STEP_STATE:
        return _STEP_STATE[result]
    res: Json = {"type": f"pipeline_step_state_completed_{result.lower()}", "name": result}
    if result == "ERROR" and error:
        res["error"] = {"type": "pipeline_error", "key": error[0], "message": error[1]}
    return {"type": "pipeline_step_state_completed", "name": "COMPLETED", "result": res}


class _Builder:
    """Turns one `RepoSim` into `RepoData` (JSON objects, lazy logs)."""

    def __init__(self, workspace: Json, acct: dict[str, Json], anchor: datetime) -> None:
        self.ws = workspace
        self.anchor = anchor
        self.acct = acct
        self.people = {p.nickname: p for p in [*list(PEOPLE), CI_BOT, DEP_BOT]}
        self._cmds: dict[tuple[str, ...], list[Json]] = {}
        self.sim: RepoSim
        self._links: dict[str, Json] = {}

    # -------------------------------------------------------------- repository

    def repo(self, sim: RepoSim) -> RepoData:
        spec = sim.spec
        rng = random.Random(f"{spec.slug}:json:{sim.rng.random()}")
        self.slug = spec.slug
        self.api = f"{API_ROOT}/repositories/{WORKSPACE_SLUG}/{spec.slug}"
        self.web = f"{WEB_ROOT}/{WORKSPACE_SLUG}/{spec.slug}"
        repo_json = self._repository(sim, rng)
        self.stub = {
            "type": "repository",
            "full_name": repo_json["full_name"],
            "name": spec.name,
            "uuid": repo_json["uuid"],
            "links": {k: repo_json["links"][k] for k in ("self", "html", "avatar")},
        }
        data = RepoData(repository=repo_json)
        order = sorted(
            range(len(sim.commit_seq)),
            key=lambda i: (sim.commits[sim.commit_seq[i]]["plan"].at, i),
            reverse=True,
        )
        for h in sim.commit_seq:
            data.commits[h] = self._commit(sim, h)
            data.changes[h] = list(sim.commits[h]["plan"].changes or [])
        data.commit_order = [sim.commit_seq[i] for i in order]
        data.branches = dict(
            sorted(sim.open_branches.items(), key=lambda kv: (kv[0] not in (spec.main, "develop"), kv[0]))
        )
        data.files = sim.files_at(sim.heads[spec.main])
        for name, h in sim.tags.items():
            c = sim.commits[h]["plan"]
            data.tags[name] = {
                "hash": h,
                "message": f"Release {name}\n",
                "date": iso(c.at + 5 * MIN, micros=False),
                "tagger": self._author(c.author),
            }
        # pipelines: number them oldest first
        pipes = sorted(sim.pipes, key=lambda p: p.created)
        prng = random.Random(f"{spec.slug}:pipes:{len(pipes)}")
        for n, p in enumerate(pipes, 1):
            p.build_number = n
            p.uuid = uid(prng)
            sim.schedule(p)
        self.sim = sim
        log_index: dict[str, tuple[PipeSpec, int]] = {}
        report_index: dict[str, tuple[PipeSpec, int]] = {}
        pipe_index: dict[str, PipeSpec] = {}
        for p in pipes:
            data.pipelines.append(self._pipeline(sim, p))
            self._index_steps(sim, p, log_index, report_index)
            pipe_index[p.uuid] = p
            data.statuses.setdefault(p.commit, []).append(self._status(p))
        data.steps = LazyMap(pipe_index, self._steps, cache=True)  # type: ignore[assignment]
        data.logs = LazyMap(log_index, lambda k: render_log(self._run(*k)))  # type: ignore[assignment]
        data.test_reports = LazyMap(report_index, lambda k: test_summary(self._run(*k)), cache=True)  # type: ignore[assignment]
        data.test_cases = LazyMap(report_index, lambda k: test_cases(self._run(*k)), cache=True)  # type: ignore[assignment]
        for pr in sim.prs:
            self._pullrequest(sim, pr, data, rng)
        if spec.deployable:
            self._deployments(sim, pipes, data, rng)
        sim.forget_contents()
        last = max((sim.commits[h]["plan"].at for h in sim.commit_seq), default=self.anchor)
        repo_json["updated_on"] = iso(last)
        return data

    def _repository(self, sim: RepoSim, rng: random.Random) -> Json:
        spec = sim.spec
        created = datetime(2019, 4, 2, tzinfo=UTC) + timedelta(
            days=rng.randint(0, 1400), seconds=rng.randint(0, 86400)
        )
        ws_stub = {
            "type": "workspace",
            "uuid": self.ws["uuid"],
            "name": self.ws["name"],
            "slug": self.ws["slug"],
            "links": {k: self.ws["links"][k] for k in ("self", "html", "avatar")},
        }
        return {
            "type": "repository",
            "uuid": uid(rng),
            "slug": spec.slug,
            "name": spec.name,
            "full_name": f"{WORKSPACE_SLUG}/{spec.slug}",
            "description": spec.description,
            "is_private": True,
            "scm": "git",
            "language": spec.language,
            "mainbranch": {"name": spec.main, "type": "branch"},
            "project": {
                "type": "project",
                "key": spec.project[0],
                "name": spec.project[1],
                "uuid": uid(random.Random(f"project:{spec.project[0]}:{self.ws['uuid']}")),
                "links": {
                    "self": {"href": f"{API_ROOT}/workspaces/{WORKSPACE_SLUG}/projects/{spec.project[0]}"},
                    "html": {"href": f"{WEB_ROOT}/{WORKSPACE_SLUG}/workspace/projects/{spec.project[0]}"},
                },
            },
            "owner": {
                "type": "team",
                "display_name": WORKSPACE_NAME,
                "username": WORKSPACE_SLUG,
                "uuid": self.ws["uuid"],
                "links": ws_stub["links"],
            },
            "workspace": ws_stub,
            "created_on": iso(created),
            "updated_on": iso(self.anchor),
            "size": sum(len(c) for c in sim.files_at(sim.heads[spec.main]).values()) * 37
            + rng.randint(200_000, 9_000_000),
            "has_issues": False,
            "has_wiki": False,
            "fork_policy": "no_public_forks",
            "links": {
                "self": {"href": self.api},
                "html": {"href": self.web},
                "avatar": {"href": f"{WEB_ROOT}/{WORKSPACE_SLUG}/{spec.slug}/avatar/32/"},
                "pullrequests": {"href": f"{self.api}/pullrequests"},
                "commits": {"href": f"{self.api}/commits"},
                "forks": {"href": f"{self.api}/forks"},
                "watchers": {"href": f"{self.api}/watchers"},
                "branches": {"href": f"{self.api}/refs/branches"},
                "tags": {"href": f"{self.api}/refs/tags"},
                "downloads": {"href": f"{self.api}/downloads"},
                "source": {"href": f"{self.api}/src"},
                "hooks": {"href": f"{self.api}/hooks"},
                "clone": [
                    {"name": "https", "href": f"https://bitbucket.org/{WORKSPACE_SLUG}/{spec.slug}.git"},
                    {"name": "ssh", "href": f"git@bitbucket.org:{WORKSPACE_SLUG}/{spec.slug}.git"},
                ],
            },
        }

    # -------------------------------------------------------------- commits

    def _author(self, nick: str) -> Json:
        p = self.people[nick]
        return {"type": "author", "raw": p.raw, "user": self.acct[nick]}

    def _commit_links(self, h: str) -> Json:
        links = self._links.get(h)
        if links is None:
            links = self._links[h] = {
                "self": {"href": f"{self.api}/commit/{h}"},
                "html": {"href": f"{self.web}/commits/{h}"},
            }
        return links

    def _commit(self, sim: RepoSim, h: str) -> Json:
        info = sim.commits[h]
        plan = info["plan"]
        msg = plan.message if plan.message.endswith("\n") else plan.message + "\n"
        body = "".join(
            f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>" for part in plan.message.split("\n\n")
        )
        return {
            "type": "commit",
            "hash": h,
            "date": iso(plan.at, micros=False),
            "author": self._author(plan.author),
            "message": msg,
            "summary": {"type": "rendered", "raw": msg, "markup": "markdown", "html": body},
            "rendered": {"message": {"type": "rendered", "raw": msg, "markup": "markdown", "html": body}},
            "parents": [
                {"type": "commit", "hash": ph, "links": self._commit_links(ph)} for ph in info["parents"]
            ],
            "repository": self.stub,
            "links": {
                **self._commit_links(h),
                "diff": {"href": f"{self.api}/diff/{h}"},
                "patch": {"href": f"{self.api}/patch/{h}"},
                "comments": {"href": f"{self.api}/commit/{h}/comments"},
                "approve": {"href": f"{self.api}/commit/{h}/approve"},
                "statuses": {"href": f"{self.api}/commit/{h}/statuses"},
            },
        }

    def _commit_ref(self, h: str) -> Json:
        return {"type": "commit", "hash": h, "links": self._commit_links(h)}

    # -------------------------------------------------------------- pipelines

    def _pipe_web(self, p: PipeSpec) -> str:
        return f"{self.web}/pipelines/results/{p.build_number}"

    def _pipeline(self, sim: RepoSim, p: PipeSpec) -> Json:
        state = p.state
        result = sim.result(p)
        if state == "PENDING":
            st: Json = {"type": "pipeline_state_pending", "name": "PENDING"}
        elif state == "IN_PROGRESS":
            st = {
                "type": "pipeline_state_in_progress",
                "name": "IN_PROGRESS",
                "stage": {"type": "pipeline_state_in_progress_running", "name": "RUNNING"},
            }
        else:
            assert result is not None
            res: Json = {"type": f"pipeline_state_completed_{result.lower()}", "name": result}
            if result == "ERROR" and p.outcome.failure:
                res["error"] = {
                    "type": "pipeline_error",
                    "key": p.outcome.failure.error_key,
                    "message": p.outcome.failure.error_message,
                }
            if result == "STOPPED":
                res["terminator"] = self.acct[p.outcome.terminator or sim.spec.team[0]]
            st = {"type": "pipeline_state_completed", "name": "COMPLETED", "result": res}
        if p.kind == "pr":
            assert p.pr is not None
            target: Json = {
                "type": "pipeline_pullrequest_target",
                "source": p.pr_source,
                "destination": p.pr.feature.target if p.pr.feature else sim.spec.main,
                "destination_commit": {"type": "commit", "hash": p.pr_dest_hash},
                "commit": {"type": "commit", "hash": p.commit, "links": self._commit_links(p.commit)},
                "pullrequest": {
                    "type": "pullrequest",
                    "id": p.pr.id,
                    "title": p.pr.title,
                    "draft": p.pr.draft,
                    "links": {
                        "self": {"href": f"{self.api}/pullrequests/{p.pr.id}"},
                        "html": {"href": f"{self.web}/pull-requests/{p.pr.id}"},
                    },
                },
                "selector": p.selector,
            }
        else:
            target = {
                "type": "pipeline_ref_target",
                "ref_type": "branch",
                "ref_name": p.ref_name,
                "commit": {"type": "commit", "hash": p.commit, "links": self._commit_links(p.commit)},
                "selector": p.selector,
            }
        trigger = {
            "PUSH": {"type": "pipeline_trigger_push", "name": "PUSH"},
            "MANUAL": {"type": "pipeline_trigger_manual", "name": "MANUAL"},
            "SCHEDULED": {"type": "pipeline_trigger_schedule", "name": "SCHEDULED"},
        }[p.trigger]
        used = sum(
            int(((e or self.anchor) - s).total_seconds())
            for s, e in zip(p.starts, p.ends, strict=False)
            if s is not None
        )
        out: Json = {
            "type": "pipeline",
            "uuid": p.uuid,
            "build_number": p.build_number,
            "run_number": 1,
            "creator": self.acct[p.creator] if p.creator else None,
            "repository": self.stub,
            "target": target,
            "trigger": trigger,
            "state": st,
            "created_on": iso(p.created),
            "build_seconds_used": used,
            "duration_in_seconds": used + len([s for s in p.starts if s]) * 9,
            "first_successful": False,
            "expired": False,
            "has_variables": p.kind == "custom",
            "variables": [
                {
                    "type": "pipeline_variable",
                    "key": "RELEASE",
                    "value": f"#{p.release_of.build_number}",
                    "secured": False,
                }
            ]
            if p.release_of
            else [],
            "configuration_sources": [
                {
                    "source": "bitbucket-pipelines.yml",
                    "uri": f"{self.api}/src/{p.commit}/bitbucket-pipelines.yml",
                }
            ],
            "links": {
                "self": {"href": f"{self.api}/pipelines/{p.uuid}"},
                "steps": {"href": f"{self.api}/pipelines/{p.uuid}/steps/"},
            },
        }
        if p.completed_on is not None and state == "COMPLETED":
            out["completed_on"] = iso(p.completed_on)
        if p.creator is None:
            del out["creator"]
        return out

    def _commands(self, cmds: tuple[str, ...]) -> list[Json]:
        if cmds not in self._cmds:
            self._cmds[cmds] = [{"name": c, "command": c, "commandType": "user"} for c in cmds]
        return self._cmds[cmds]

    def _index_steps(
        self,
        sim: RepoSim,
        p: PipeSpec,
        logs: dict[str, tuple[PipeSpec, int]],
        reports: dict[str, tuple[PipeSpec, int]],
    ) -> None:
        """Step uuids now (they key logs and reports); step JSON and logs only when asked for."""
        for i, s in enumerate(p.steps):
            su = p.step_ids[i][0]
            res = p.results[i]
            if res in ("PENDING", "NOT_RUN"):
                continue
            logs[su] = (p, i)
            if s.kind in ("test", "integration") and res in ("SUCCESSFUL", "FAILED") and sim.tests_for(s):
                f = p.outcome.failure if p.outcome.step == s.name and res == "FAILED" else None
                if f is None or f.mode == "tests":
                    reports[su] = (p, i)

    def _run(self, p: PipeSpec, i: int) -> StepRun:
        s = p.steps[i]
        res = p.results[i]
        failing_here = p.outcome.step == s.name and res in ("FAILED", "ERROR", "STOPPED")
        start, end = p.starts[i], p.ends[i]
        return StepRun(
            seed=p.step_ids[i][1],
            repo=self.sim.spec,
            step=s,
            commit=p.commit,
            subject=p.subject,
            ref_name=p.pr_source or p.ref_name,
            status=res,
            failure=p.outcome.failure if failing_here else None,
            duration=int(((end or self.anchor) - start).total_seconds()) if start else 0,
            tests=self.sim.tests_for(s),
            extra=p.outcome.extra if p.outcome.step == s.name else (),
        )

    def _steps(self, p: PipeSpec) -> list[Json]:
        out = []
        for i, s in enumerate(p.steps):
            su = p.step_ids[i][0]
            res = p.results[i]
            f = p.outcome.failure if p.outcome.step == s.name and res == "ERROR" else None
            extra = p.outcome.extra if p.outcome.step == s.name else ()
            step: Json = {
                "type": "pipeline_step",
                "uuid": su,
                "name": s.name,
                "pipeline": {"type": "pipeline", "uuid": p.uuid},
                "run_number": 1,
                "trigger": {
                    "type": "pipeline_step_trigger_manual"
                    if p.trigger == "MANUAL" and i == 0
                    else "pipeline_step_trigger_automatic"
                },
                "state": _step_state(res, (f.error_key, f.error_message) if f else None),
                "image": {"name": s.image},
                "setup_commands": _SETUP,
                "script_commands": self._commands(tuple(c for c, _ in extra) + s.script),
                "teardown_commands": _TEARDOWN,
                "maxTime": 120,
            }
            if s.environment:
                step["deployment_environment"] = s.environment
            start, end = p.starts[i], p.ends[i]
            if start is not None:
                step["started_on"] = iso(start)
                dur = int(((end or self.anchor) - start).total_seconds())
                step["duration_in_seconds"] = dur
                step["build_seconds_used"] = dur
            if end is not None:
                step["completed_on"] = iso(end)
            out.append(step)
        return out

    def _status(self, p: PipeSpec) -> Json:
        res = {"COMPLETED": None, "IN_PROGRESS": "INPROGRESS", "PENDING": "INPROGRESS"}[p.state]
        if res is None:
            r = next((x for x in p.results if x in ("FAILED", "ERROR", "STOPPED")), "SUCCESSFUL")
            res = {"ERROR": "FAILED"}.get(r, r)
        key = p.uuid.strip("{}")
        ref = p.pr_source or p.ref_name
        return {
            "type": "build",
            "key": key,
            "name": f"Pipeline #{p.build_number} for {ref}",
            "description": {
                "SUCCESSFUL": "Successful in",
                "FAILED": "Failed in",
                "STOPPED": "Stopped in",
                "INPROGRESS": "In progress",
            }[res]
            + f" pipeline #{p.build_number}",
            "state": res,
            "refname": ref,
            "url": self._pipe_web(p),
            "created_on": iso(p.created),
            "updated_on": iso(p.completed_on or p.created),
            "links": {
                "self": {"href": f"{self.api}/commit/{p.commit}/statuses/build/{key}"},
                "commit": {"href": f"{self.api}/commit/{p.commit}"},
            },
        }

    # -------------------------------------------------------------- pull requests

    def _pullrequest(self, sim: RepoSim, pr: PRPlan, data: RepoData, rng: random.Random) -> None:
        f = pr.feature
        assert f is not None
        anchor = self.anchor
        end = pr.closed or anchor
        api = f"{self.api}/pullrequests/{pr.id}"
        stub = {
            "type": "pullrequest",
            "id": pr.id,
            "title": pr.title,
            "draft": pr.draft,
            "links": {"self": {"href": api}, "html": {"href": f"{self.web}/pull-requests/{pr.id}"}},
        }
        # reviews
        participants: dict[str, Json] = {}
        activity: list[tuple[datetime, Json]] = []
        span = max(60.0, (end - pr.opened).total_seconds())
        for i, r in enumerate(pr.reviewers):
            state = pr.approvals.get(r)
            if state is None:
                roll = rng.random()
                if pr.state == "MERGED":
                    state = "approved" if i == 0 or roll < 0.6 else None
                elif pr.state == "OPEN":
                    state = "approved" if roll < 0.35 else "changes_requested" if roll < 0.5 else None
                else:
                    state = "changes_requested" if roll < 0.3 else None
            when = pr.opened + timedelta(seconds=int(span * rng.uniform(0.3, 0.95)))
            participants[r] = {
                "type": "participant",
                "user": self.acct[r],
                "role": "REVIEWER",
                "approved": state == "approved",
                "state": state,
                "participated_on": iso(when) if state else None,
            }
            if state:
                kind = "approval" if state == "approved" else "changes_requested"
                activity.append(
                    (
                        when,
                        {
                            kind: {"date": iso(when), "user": self.acct[r], "pullrequest": stub},
                            "pull_request": stub,
                        },
                    )
                )
        # comments
        comments: list[Json] = []
        n_comments = pr.n_comments if pr.n_comments is not None else rng.choice((0, 0, 1, 1, 2, 3, 4))
        changed = [  # inline comments sit on the PR's own changes, not on what a merge from main brought
            c
            for h in pr.commits
            if len(sim.commits[h]["parents"]) < 2
            for c in (sim.commits[h]["plan"].changes or [])
        ]
        cid = pr.id * 1000 + 100_000
        for _k in range(n_comments):
            who = rng.choice(pr.reviewers) if pr.reviewers else f.author
            when = pr.opened + timedelta(seconds=int(span * rng.uniform(0.05, 0.9)))
            inline = None
            if changed and rng.random() < 0.5:
                ch = rng.choice(changed)
                inline = {
                    "path": ch.path,
                    "from": None,
                    "to": _first_added_line(ch.patch),
                }
                text = rng.choice(INLINE_COMMENTS)
            else:
                text = rng.choice(REVIEW_COMMENTS)
            cid += 1
            c = self._comment(cid, pr, stub, who, when, text, inline)
            comments.append(c)
            if rng.random() < 0.4:
                cid += 1
                reply_at = min(end, when + timedelta(minutes=rng.randint(5, 240)))
                reply = self._comment(
                    cid, pr, stub, f.author, reply_at, rng.choice(REPLIES), inline, parent=c["id"]
                )
                comments.append(reply)
        for who, when, text in pr.extra_comments:
            cid += 1
            comments.append(self._comment(cid, pr, stub, who, when, text, None))
        comments.sort(key=lambda c: (c["created_on"], c["id"]))
        for c in comments:
            who = next(k for k, v in self.acct.items() if v is c["user"])
            if who != f.author and who not in participants:
                participants[who] = {
                    "type": "participant",
                    "user": self.acct[who],
                    "role": "PARTICIPANT",
                    "approved": False,
                    "state": None,
                    "participated_on": c["created_on"],
                }
            activity.append((datetime.fromisoformat(c["created_on"]), {"comment": c, "pull_request": stub}))
        source_head = pr.commits[-1] if pr.commits else f.head
        src = {
            "branch": {"name": f.branch},
            "commit": {
                "type": "commit",
                "hash": source_head[:12],
                "links": self._commit_links(source_head),
            },
            "repository": self.stub,
        }
        spec_pair = f"{WORKSPACE_SLUG}/{sim.spec.slug}:{source_head[:12]}%0D{pr.dest_hash[:12]}"
        dst = {
            "branch": {"name": f.target},
            "commit": {
                "type": "commit",
                "hash": pr.dest_hash[:12],
                "links": self._commit_links(pr.dest_hash),
            },
            "repository": self.stub,
        }
        opened_update = {
            "state": "OPEN",
            "title": pr.title,
            "description": pr.description,
            "reason": "",
            "author": self.acct[f.author],
            "date": iso(pr.opened),
            "source": src,
            "destination": dst,
            "draft": pr.draft,
        }
        activity.append((pr.opened, {"update": opened_update, "pull_request": stub}))
        if pr.closed is not None and pr.state != "OPEN":
            closer = pr.closed_by or f.author
            activity.append(
                (
                    pr.closed,
                    {
                        "update": {
                            **opened_update,
                            "state": pr.state,
                            "reason": pr.reason,
                            "author": self.acct[closer],
                            "date": iso(pr.closed),
                        },
                        "pull_request": stub,
                    },
                )
            )
        activity.sort(key=lambda a: a[0], reverse=True)
        desc_html = "".join(f"<p>{html.escape(part)}</p>" for part in pr.description.split("\n\n"))
        updated = max([pr.opened] + [a[0] for a in activity])
        pr_json: Json = {
            "type": "pullrequest",
            "id": pr.id,
            "title": pr.title,
            "description": pr.description,
            "summary": {"type": "rendered", "raw": pr.description, "markup": "markdown", "html": desc_html},
            "rendered": {
                "title": {
                    "type": "rendered",
                    "raw": pr.title,
                    "markup": "markdown",
                    "html": html.escape(pr.title),
                },
                "description": {
                    "type": "rendered",
                    "raw": pr.description,
                    "markup": "markdown",
                    "html": desc_html,
                },
            },
            "state": pr.state,
            "draft": pr.draft,
            "queued": False,
            "author": self.acct[f.author],
            "source": src,
            "destination": dst,
            "merge_commit": {
                "type": "commit",
                "hash": pr.merge_hash[:12],
                "links": self._commit_links(pr.merge_hash),
            }
            if pr.merge_hash
            else None,
            "comment_count": len(comments),
            "task_count": rng.choice((0, 0, 0, 1, 2)),
            "close_source_branch": f.delete_branch,
            "closed_by": self.acct[pr.closed_by] if pr.closed_by and pr.state != "OPEN" else None,
            "reason": pr.reason,
            "created_on": iso(pr.opened),
            "updated_on": iso(updated),
            "reviewers": [self.acct[r] for r in pr.reviewers],
            "participants": list(participants.values()),
            "links": {
                "self": {"href": api},
                "html": {"href": f"{self.web}/pull-requests/{pr.id}"},
                "commits": {"href": f"{api}/commits"},
                "approve": {"href": f"{api}/approve"},
                "request-changes": {"href": f"{api}/request-changes"},
                "diff": {"href": f"{self.api}/diff/{spec_pair}?from_pullrequest_id={pr.id}&topic=true"},
                "diffstat": {
                    "href": f"{self.api}/diffstat/{spec_pair}?from_pullrequest_id={pr.id}&topic=true"
                },
                "comments": {"href": f"{api}/comments"},
                "activity": {"href": f"{api}/activity"},
                "merge": {"href": f"{api}/merge"},
                "decline": {"href": f"{api}/decline"},
                "statuses": {"href": f"{api}/statuses"},
            },
        }
        if pr.state != "OPEN" and pr.closed is not None:
            pr_json["closed_on"] = iso(pr.closed)
        data.pullrequests[pr.id] = pr_json
        data.pr_commits[pr.id] = sim.pr_commits(pr)
        data.pr_comments[pr.id] = comments
        data.pr_activity[pr.id] = [a[1] for a in activity]

    def _comment(
        self,
        cid: int,
        pr: PRPlan,
        stub: Json,
        who: str,
        when: datetime,
        text: str,
        inline: Json | None,
        parent: int | None = None,
    ) -> Json:
        api = f"{self.api}/pullrequests/{pr.id}/comments/{cid}"
        c: Json = {
            "type": "pullrequest_comment",
            "id": cid,
            "created_on": iso(when),
            "updated_on": iso(when),
            "content": {
                "type": "rendered",
                "raw": text,
                "markup": "markdown",
                "html": f"<p>{html.escape(text)}</p>",
            },
            "user": self.acct[who],
            "deleted": False,
            "pending": False,
            "pullrequest": stub,
            "links": {
                "self": {"href": api},
                "html": {"href": f"{self.web}/pull-requests/{pr.id}/_/diff#comment-{cid}"},
            },
        }
        if inline:
            c["inline"] = inline
        if parent:
            c["parent"] = {
                "type": "pullrequest_comment",
                "id": parent,
                "links": {"self": {"href": f"{self.api}/pullrequests/{pr.id}/comments/{parent}"}},
            }
        return c

    # -------------------------------------------------------------- deployments

    def _deployments(self, sim: RepoSim, pipes: list[PipeSpec], data: RepoData, rng: random.Random) -> None:
        envs = {}
        for rank, (slug, name) in enumerate(
            (("test", "Test"), ("staging", "Staging"), ("production", "Production"))
        ):
            u = uid(rng)
            envs[slug] = {
                "type": "deployment_environment",
                "uuid": u,
                "name": name,
                "slug": slug,
                "rank": rank,
                "environment_type": {"type": "deployment_environment_type", "name": name, "rank": rank},
                "category": {"name": name},
                "deployment_gate_enabled": False,
                "environment_lock_enabled": slug == "production",
                "hidden": False,
                "lock": {"type": "deployment_environment_lock_open", "name": "OPEN"},
                "restrictions": {
                    "type": "deployment_restrictions_configuration",
                    "admin_only": slug == "production",
                },
                "links": {"self": {"href": f"{self.api}/environments/{u}"}},
            }
        data.environments = list(envs.values())
        releases: dict[str, Json] = {}
        deps: list[tuple[datetime, int, Json]] = []
        for p in pipes:
            for i, s in enumerate(p.steps):
                if not s.environment or p.results[i] in ("NOT_RUN", "PENDING") or p.starts[i] is None:
                    continue
                rel_pipe = p.release_of or p
                if rel_pipe.uuid not in releases:
                    releases[rel_pipe.uuid] = {
                        "type": "deployment_release",
                        "uuid": uid(rng),
                        "name": f"#{rel_pipe.build_number}",
                        "url": self._pipe_web(rel_pipe),
                        "commit": {
                            "type": "commit",
                            "hash": rel_pipe.commit,
                            "links": self._commit_links(rel_pipe.commit),
                        },
                        "created_on": iso(rel_pipe.created),
                    }
                release = releases[rel_pipe.uuid]
                start, end, res = p.starts[i], p.ends[i], p.results[i]
                assert start is not None
                deployer = self.acct[p.creator] if p.creator else self.acct["acme-ci"]
                if res == "IN_PROGRESS":
                    state: Json = {
                        "type": "deployment_state_in_progress",
                        "name": "IN_PROGRESS",
                        "url": self._pipe_web(p),
                        "deployer": deployer,
                        "start_date": iso(start),
                    }
                else:
                    status = {"SUCCESSFUL": "SUCCESSFUL", "STOPPED": "STOPPED"}.get(res, "FAILED")
                    state = {
                        "type": "deployment_state_completed",
                        "name": "COMPLETED",
                        "url": self._pipe_web(p),
                        "deployer": deployer,
                        "start_date": iso(start),
                        "completion_date": iso(end) if end else None,
                        "status": {
                            "type": f"deployment_state_completed_status_{status.lower()}",
                            "name": status,
                        },
                    }
                env = envs[s.environment]
                du = uid(rng)
                dep = {
                    "type": "deployment",
                    "uuid": du,
                    "environment": {
                        "type": "deployment_environment",
                        "uuid": env["uuid"],
                        "name": env["name"],
                    },
                    "release": release,
                    "state": state,
                    "deployable": {
                        "type": "deployable",
                        "uuid": uid(rng),
                        "name": release["name"],
                        "url": self._pipe_web(p),
                        "commit": {"type": "commit", "hash": p.commit, "links": self._commit_links(p.commit)},
                        "pipeline": {"type": "pipeline", "uuid": p.uuid},
                        "created_on": iso(start),
                    },
                    "links": {"self": {"href": f"{self.api}/deployments/{du}"}},
                }
                deps.append((start, len(deps), dep))
        deps.sort(key=lambda d: (d[0], d[1]))
        data.deployments = [d[2] for d in deps]
