"""The sandbox world generator: determinism, invariants and planted-scenario ground truth."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from bbscout.sandbox.world import World, build_world
from bbscout.sandbox.world.generator import _build

ANCHOR = datetime(2026, 11, 27, 15, 42, tzinfo=UTC)  # a Friday afternoon
OTHER_ANCHORS = (
    datetime(2026, 11, 29, 0, 30, tzinfo=UTC),  # Sunday just after midnight
    datetime(2026, 12, 1, 9, 0, tzinfo=UTC),  # Tuesday morning
)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(anchor=ANCHOR)


def ts(s: str) -> datetime:
    return datetime.fromisoformat(s)


def resolve(world: World, ref: str) -> object:
    """The object a ground-truth ref names; raises if it does not exist."""
    kind, rest = ref.split(":", 1)
    if kind == "pipeline":
        slug, n = rest.split("#")
        return next(p for p in world.repos[slug].pipelines if p["build_number"] == int(n))
    if kind == "pr":
        slug, n = rest.split("#")
        return world.repos[slug].pullrequests[int(n)]
    if kind == "commit":
        slug, h = rest.split("@")
        matches = [c for c in world.repos[slug].commits if c.startswith(h)]
        assert len(matches) == 1, ref
        return world.repos[slug].commits[matches[0]]
    if kind == "deployment":
        slug, u = rest.split(":", 1)
        return next(d for d in world.repos[slug].deployments if d["uuid"] == u)
    raise AssertionError(f"unknown ref kind {ref}")


def full_hash(world: World, slug: str, short: str) -> str:
    (h,) = [c for c in world.repos[slug].commits if c.startswith(short)]
    return h


def result(p: dict) -> str | None:
    return p["state"]["result"]["name"] if p["state"]["name"] == "COMPLETED" else None


def activity_date(item: dict) -> datetime:
    if "comment" in item:
        return ts(item["comment"]["created_on"])
    (kind,) = [k for k in item if k != "pull_request"]
    return ts(item[kind]["date"])


def ancestry(world: World, slug: str) -> set[str]:
    repo = world.repos[slug]
    seen, stack = set(), [repo.branches[repo.main_branch]]
    while stack:  # all ancestors, not just first parents: merged feature commits count too
        h = stack.pop()
        if h in seen:
            continue
        seen.add(h)
        stack.extend(p["hash"] for p in repo.commits[h]["parents"])
    return seen


# ------------------------------------------------------------------------------------ determinism


def dump(world: World) -> str:
    out = {}
    for slug, r in world.repos.items():
        out[slug] = {
            "repository": r.repository,
            "commits": r.commits,
            "order": r.commit_order,
            "branches": r.branches,
            "prs": r.pullrequests,
            "activity": r.pr_activity,
            "pipelines": r.pipelines,
            "steps": {k: r.steps[k] for k in list(r.steps)[-20:]},
            "logs": {k: r.logs[k] for k in list(r.logs)[-10:]},
            "deployments": r.deployments,
            "files": r.files,
        }
    out["scenarios"] = {
        k: (s.answer_refs, s.culprit_ref, s.ruled_out_refs, s.facts, str(s.at))
        for k, s in world.scenarios.items()
    }
    out["tokens"] = [t.secret for t in world.tokens]
    return json.dumps(out, sort_keys=True, default=str)


def test_same_arguments_give_the_same_world(world: World) -> None:
    _build.cache_clear()
    again = build_world(anchor=ANCHOR)
    assert again is not world
    assert dump(again) == dump(world)


def test_different_seed_gives_a_different_world(world: World) -> None:
    other = build_world(anchor=ANCHOR, seed=8)
    assert set(other.repos["api-gateway"].commits).isdisjoint(world.repos["api-gateway"].commits)
    assert other.token("demo").secret != world.token("demo").secret


def test_nosearch_is_the_same_data_without_code_search(world: World) -> None:
    ns = build_world("nosearch", anchor=ANCHOR)
    assert world.code_search_enabled and not ns.code_search_enabled
    assert ns.repos["checkout-service"].pipelines == world.repos["checkout-service"].pipelines
    assert ns.scenarios.keys() == world.scenarios.keys()


def test_unknown_world_and_naive_anchor_are_rejected() -> None:
    with pytest.raises(ValueError):
        build_world("nope", anchor=ANCHOR)
    with pytest.raises(ValueError):
        build_world(anchor=datetime(2026, 11, 27, 15, 0))


# ------------------------------------------------------------------------------------ shape / anchor


def test_workspace_people_and_tokens(world: World) -> None:
    assert world.workspace["slug"] == "acme" and world.workspace["name"] == "Acme Commerce"
    assert world.workspace["links"]["html"]["href"] == "https://bitbucket.org/acme/"
    humans = [a for a in world.accounts if "bot" not in a.email]
    assert 10 <= len(humans) <= 15
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+@acme-commerce\.com", a.email) for a in humans)
    labels = {t.label: t for t in world.tokens}
    assert {
        "demo",
        "demo-access",
        "expired",
        "no-pipeline-scope",
        "unscoped",
        "repo-token",
        "low-limit",
    } <= labels.keys()
    demo = labels["demo"]
    assert (
        demo.kind == "api_token"
        and demo.secret.startswith("ATATT3xFfGF0")
        and "read:pipeline:bitbucket" in demo.scopes
    )
    assert world.account(demo.account_uuid or "").email == demo.email
    assert labels["demo-access"].kind == "access_token" and labels["demo-access"].secret.startswith(
        "ATCTT3xFfGN0"
    )
    assert labels["expired"].expired and not labels["unscoped"].scoped
    assert "read:pipeline:bitbucket" not in labels["no-pipeline-scope"].scopes
    assert labels["repo-token"].repos and labels["repo-token"].repos[0] in world.repos
    assert labels["low-limit"].rate_limit_per_hour == 20
    assert len({t.secret for t in world.tokens}) == len(world.tokens)


def test_repositories_look_real(world: World) -> None:
    assert len(world.repos) == 10
    backend = [
        s for s, r in world.repos.items() if "backend api service" in r.repository["description"].lower()
    ]
    assert backend == ["api-gateway"]
    mains = {r.main_branch for r in world.repos.values()}
    assert mains == {"main", "master"}
    for slug, r in world.repos.items():
        repo = r.repository
        assert repo["full_name"] == f"acme/{slug}" and repo["uuid"].startswith("{") and repo["project"]["key"]
        assert repo["links"]["html"]["href"] == f"https://bitbucket.org/acme/{slug}"
        assert "README.md" in r.files and "bitbucket-pipelines.yml" in r.files
        assert r.main_branch in r.branches
    files = world.repos["checkout-service"].files
    assert "def calculate_tax" in files["src/checkout/tax.py"]
    assert any("PaymentGatewayClient" in c for c in world.repos["payments-service"].files.values())
    assert "CHECKOUT_TIMEOUT_MS" in files["src/checkout/settings.py"]


def test_every_timestamp_is_inside_the_window(world: World) -> None:
    lo = ANCHOR - timedelta(days=30)
    for r in world.repos.values():
        for c in r.commits.values():
            assert lo <= ts(c["date"]) <= ANCHOR
        for p in r.pipelines:
            assert lo <= ts(p["created_on"]) <= ANCHOR
            if "completed_on" in p:
                assert ts(p["created_on"]) <= ts(p["completed_on"]) <= ANCHOR
        for pr in r.pullrequests.values():
            assert lo <= ts(pr["created_on"]) <= ts(pr["updated_on"]) <= ANCHOR
        for d in r.deployments:
            assert lo <= ts(d["state"].get("start_date", d["release"]["created_on"])) <= ANCHOR


# ------------------------------------------------------------------------------------ invariants


def check_invariants(world: World) -> None:
    for slug, r in world.repos.items():
        commits = r.commits
        assert sorted(r.commit_order) == sorted(commits)
        dates = [ts(commits[h]["date"]) for h in r.commit_order]
        assert dates == sorted(dates, reverse=True)
        for h, c in commits.items():
            assert re.fullmatch(r"[0-9a-f]{40}", h) and c["hash"] == h
            assert c["author"]["raw"].endswith(">") and c["author"]["user"]["uuid"]
            for parent in c["parents"]:
                assert parent["hash"] in commits and ts(commits[parent["hash"]]["date"]) <= ts(c["date"])
            assert h in r.changes
        for name, head in r.branches.items():
            assert head in commits, (slug, name)
        history = ancestry(world, slug)
        # pull requests
        assert sorted(r.pullrequests) == list(range(1, len(r.pullrequests) + 1))
        for n, pr in r.pullrequests.items():
            assert pr["links"]["html"]["href"] == f"https://bitbucket.org/acme/{slug}/pull-requests/{n}"
            if pr["state"] == "MERGED":
                merge = full_hash(world, slug, pr["merge_commit"]["hash"])
                c = commits[merge]
                assert len(c["parents"]) == 2 and c["message"].startswith(
                    f"Merged in {pr['source']['branch']['name']} (pull request #{n})"
                )
                if pr["destination"]["branch"]["name"] == r.main_branch:
                    assert merge in history
                assert pr["closed_by"] is not None
            else:
                assert pr["merge_commit"] is None
            assert all(h in commits for h in r.pr_commits[n])
            assert pr["comment_count"] == len(r.pr_comments[n])
            acts = [activity_date(a) for a in r.pr_activity[n]]
            assert acts == sorted(acts, reverse=True) and acts[-1] == ts(pr["created_on"])
        # pipelines
        assert [p["build_number"] for p in r.pipelines] == list(range(1, len(r.pipelines) + 1))
        created = [ts(p["created_on"]) for p in r.pipelines]
        assert created == sorted(created)
        for p in r.pipelines:
            t = p["target"]
            assert t["commit"]["hash"] in commits
            if t["type"] == "pipeline_pullrequest_target":
                pr = r.pullrequests[t["pullrequest"]["id"]]
                assert pr["source"]["branch"]["name"] == t["source"]
            state = p["state"]
            assert (state["name"] == "COMPLETED") == ("completed_on" in p) == ("result" in state)
            if state["name"] == "IN_PROGRESS":
                assert state["stage"]["name"] == "RUNNING"
            steps = r.steps[p["uuid"]]
            names = [s["state"].get("result", {}).get("name", s["state"]["name"]) for s in steps]
            if result(p) == "SUCCESSFUL":
                assert set(names) == {"SUCCESSFUL"}
            if result(p) in ("FAILED", "ERROR", "STOPPED"):
                k = names.index(result(p))
                assert names[:k] == ["SUCCESSFUL"] * k and set(names[k + 1 :]) <= {"NOT_RUN"}
            if result(p) == "ERROR":
                assert state["result"]["error"]["key"] and state["result"]["error"]["message"]
            if result(p) == "STOPPED":
                assert state["result"]["terminator"]["uuid"]
            for s, name in zip(steps, names, strict=False):
                ran = name not in ("NOT_RUN", "PENDING")
                assert (s["uuid"] in r.logs) == ran
                if state["name"] == "COMPLETED" and ran:
                    assert "completed_on" in s and ts(s["started_on"]) <= ts(s["completed_on"]) <= ts(
                        p["completed_on"]
                    )
            keys = {st["key"] for st in r.statuses[t["commit"]["hash"]]}
            assert p["uuid"].strip("{}") in keys
        # deployments
        by_uuid = {p["uuid"]: p for p in r.pipelines}
        starts = []
        for d in r.deployments:
            p = by_uuid[d["deployable"]["pipeline"]["uuid"]]
            assert d["deployable"]["commit"]["hash"] == p["target"]["commit"]["hash"] in commits
            assert d["release"]["commit"]["hash"] in commits
            env = d["environment"]["name"]
            step = next(s for s in r.steps[p["uuid"]] if s.get("deployment_environment") == env.lower())
            if d["state"]["name"] == "COMPLETED" and d["state"]["status"]["name"] == "SUCCESSFUL":
                assert step["state"]["result"]["name"] == "SUCCESSFUL"
            starts.append(ts(d["state"]["start_date"]))
        assert starts == sorted(starts)
        assert {e["name"] for e in r.environments} == (
            {"Test", "Staging", "Production"} if r.deployments else set()
        )


def test_invariants(world: World) -> None:
    check_invariants(world)


def test_volume_and_variety(world: World) -> None:
    pipes = [p for r in world.repos.values() for p in r.pipelines]
    results = [result(p) for p in pipes]
    failed = sum(r in ("FAILED", "ERROR") for r in results) / len(results)
    assert 0.06 <= failed <= 0.2
    assert {"SUCCESSFUL", "FAILED", "ERROR", "STOPPED", None} <= set(results)
    assert {"IN_PROGRESS", "PENDING"} <= {p["state"]["name"] for p in pipes}
    states = {pr["state"] for r in world.repos.values() for pr in r.pullrequests.values()}
    assert states == {"OPEN", "MERGED", "DECLINED", "SUPERSEDED"}
    assert any(
        pr["state"] == "OPEN" and not any(x["approved"] for x in pr["participants"])
        for r in world.repos.values()
        for pr in r.pullrequests.values()
    )
    triggers = {p["trigger"]["name"] for p in pipes}
    assert triggers == {"PUSH", "MANUAL", "SCHEDULED"}
    assert any(p["target"]["type"] == "pipeline_pullrequest_target" for p in pipes)
    prefixes = {b.split("/")[0] for r in world.repos.values() for b in r.branches if "/" in b}
    assert {"feature", "bugfix"} <= prefixes
    stale = [
        b
        for r in world.repos.values()
        for b, h in r.branches.items()
        if ts(r.commits[h]["date"]) < ANCHOR - timedelta(days=21)
    ]
    assert stale
    last_day = [p for p in pipes if ts(p["created_on"]) >= ANCHOR - timedelta(hours=24)]
    assert len(last_day) >= 20
    logs = world.repos["checkout-service"].logs
    assert any("test session starts" in logs[k] for k in list(logs)[:30])


def test_logs_and_reports_match_for_failed_tests(world: World) -> None:
    r = world.repos["api-gateway"]
    checked = 0
    for uuid in r.test_reports:
        summary = r.test_reports[uuid]
        cases = r.test_cases[uuid]
        assert summary["number_of_test_cases"] == len(cases)
        failed = [c for c in cases if c["status"] == "FAILED"]
        assert summary["number_of_failed_test_cases"] == len(failed)
        if failed:
            log = r.logs[uuid]
            for c in failed:
                assert f"FAILED {c['fully_qualified_name']}" in log
            checked += 1
    assert checked


# ------------------------------------------------------------------------------------ scenarios


def check_scenarios(world: World) -> None:
    a = world.anchor
    sc = world.scenarios
    assert set(sc) == {
        "broken_main_build",
        "flaky_test",
        "config_change_incident",
        "dependency_bump",
        "rollback",
        "error_and_stopped",
        "adversarial_content",
    }
    for s in sc.values():
        for ref in s.answer_refs + s.ruled_out_refs + ([s.culprit_ref] if s.culprit_ref else []):
            resolve(world, ref)

    # 1. broken main build, fixed later
    s = sc["broken_main_build"]
    pr, commit, pipe = (resolve(world, r) for r in s.answer_refs)
    assert pr["state"] == "MERGED" and pr["merge_commit"]["hash"] == commit["hash"][:12]
    assert (
        pipe["target"]["commit"]["hash"] == commit["hash"]
        and pipe["target"]["ref_name"] == "main"
        and result(pipe) == "FAILED"
    )
    assert a - timedelta(hours=24) <= ts(pipe["created_on"]) <= a
    repo = world.repos[s.repo]
    step = next(x for x in repo.steps[pipe["uuid"]] if x["name"] == s.facts["failed_step"])
    log = repo.logs[step["uuid"]]
    touched = {c.path for h in repo.pr_commits[pr["id"]] for c in repo.changes[h]}
    assert s.facts["file"] in touched and s.facts["file"] in log
    assert all(t in log for t in s.facts["failing_tests"])
    failed_cases = {
        c["fully_qualified_name"] for c in repo.test_cases[step["uuid"]] if c["status"] == "FAILED"
    }
    assert failed_cases == set(s.facts["failing_tests"])
    fix = resolve(world, s.facts["fix_pipeline"])
    assert result(fix) == "SUCCESSFUL" and ts(fix["created_on"]) > ts(pipe["created_on"])
    main_pipes = [
        p
        for p in repo.pipelines
        if p["target"].get("ref_name") == "main"
        and p["trigger"]["name"] == "PUSH"
        and ts(p["created_on"]) > ts(fix["created_on"])
    ]
    assert all(result(p) in ("SUCCESSFUL", None) for p in main_pipes) and s.facts["main_green_now"]

    # 2. flaky test
    s = sc["flaky_test"]
    repo = world.repos[s.repo]
    fails = [resolve(world, r) for r in s.facts["failing_pipelines"]]
    assert len(fails) >= 3 and len(s.facts["branches"]) >= 2
    for p in fails:
        assert result(p) == "FAILED"
        step = next(x for x in repo.steps[p["uuid"]] if x["name"] == s.facts["step"])
        assert [
            c["fully_qualified_name"] for c in repo.test_cases[step["uuid"]] if c["status"] == "FAILED"
        ] == [s.facts["test"]]
    passing = 0
    for p in repo.pipelines:
        for x in repo.steps[p["uuid"]]:
            if x["uuid"] in repo.test_cases and x["name"] == s.facts["step"]:
                passing += any(
                    c["fully_qualified_name"] == s.facts["test"] and c["status"] == "PASSED"
                    for c in repo.test_cases[x["uuid"]]
                )
    assert passing > 10
    for rerun, original in s.facts["rerun_of"].items():
        rp, op = resolve(world, rerun), resolve(world, original)
        assert result(rp) == "SUCCESSFUL" and rp["target"]["commit"]["hash"] == op["target"]["commit"]["hash"]

    # 3. config change incident
    s = sc["config_change_incident"]
    assert s.at is not None and a - timedelta(hours=24) <= s.at <= a and s.at.minute == 5
    pr, commit, dep = (resolve(world, r) for r in s.answer_refs)
    repo = world.repos[s.repo]
    assert s.culprit_ref == s.answer_refs[0] and s.facts["culprit_commit"] == commit["hash"]
    assert any(c.path == "config/production.yaml" for h in repo.pr_commits[pr["id"]] for c in repo.changes[h])
    assert "client_timeout_ms: 800" in repo.files["config/production.yaml"]
    assert dep["environment"]["name"] == "Production" and dep["state"]["status"]["name"] == "SUCCESSFUL"
    assert dep["release"]["commit"]["hash"] == commit["hash"] and dep["uuid"] == s.facts["culprit_deployment"]
    done = ts(dep["state"]["completion_date"])
    assert s.at - timedelta(minutes=40) <= done < s.at
    prod = [d for d in repo.deployments if d["environment"]["name"] == "Production"]
    between = [d for d in prod if done < ts(d["state"]["start_date"]) < s.at]
    assert not between
    for ref in s.ruled_out_refs:
        obj = resolve(world, ref)
        slug = ref.split(":")[1].split("#")[0]
        if ref.startswith("pr:"):
            merged_hash = full_hash(world, slug, obj["merge_commit"]["hash"])
            prod_here = [d for d in world.repos[slug].deployments if d["environment"]["name"] == "Production"]
            deployed = [d for d in prod_here if d["release"]["commit"]["hash"] == merged_hash]
            if slug == s.repo:
                assert not deployed or all(ts(d["state"]["start_date"]) > s.at for d in deployed)
            else:
                assert deployed and ts(deployed[0]["state"]["completion_date"]) < s.at
    kinds = {r.split(":")[0] for r in s.ruled_out_refs}
    assert {"pr", "deployment"} <= kinds and any(
        r.startswith("pr:payments-service") for r in s.ruled_out_refs
    )

    # 4. dependency bump
    s = sc["dependency_bump"]
    repo = world.repos[s.repo]
    pr = resolve(world, s.answer_refs[0])
    assert any(
        c.path == "package.json" and s.facts["to"] in c.patch
        for h in repo.pr_commits[pr["id"]]
        for c in repo.changes[h]
    )
    for ref in s.facts["failing_pipelines"]:
        p = resolve(world, ref)
        assert result(p) == "FAILED"
        step = next(x for x in repo.steps[p["uuid"]] if x["name"] == s.facts["failing_step"])
        assert "ERESOLVE" in repo.logs[step["uuid"]]
    for ref in s.facts["unaffected_pipelines"]:
        assert result(resolve(world, ref)) == "SUCCESSFUL"

    # 5. rollback
    s = sc["rollback"]
    rb, r2 = resolve(world, s.answer_refs[0]), resolve(world, s.answer_refs[1])
    repo = world.repos[s.repo]
    prod = [d for d in repo.deployments if d["environment"]["name"] == "Production"]
    i = prod.index(rb)
    assert prod[i - 1] is r2 and r2["release"]["name"] == s.facts["rolled_back_from"]
    assert rb["release"]["name"] == s.facts["rolled_back_to"] != s.facts["rolled_back_from"]
    earlier = [d for d in prod[: i - 1] if d["release"]["commit"]["hash"] == rb["release"]["commit"]["hash"]]
    assert earlier and earlier[-1]["uuid"] == s.facts["original_deployment_of_target"]
    assert ts(rb["release"]["created_on"]) < ts(r2["release"]["created_on"])

    # 6. error and stopped: recompute the lists independently
    s = sc["error_and_stopped"]
    since = a - timedelta(hours=24)
    got: dict[str, list[str]] = {"FAILED": [], "ERROR": [], "STOPPED": []}
    for slug, r in world.repos.items():
        for p in r.pipelines:
            if result(p) in got and ts(p["created_on"]) >= since:
                got[result(p)].append(f"pipeline:{slug}#{p['build_number']}")
    assert s.facts["failed_24h"] == sorted(got["FAILED"]) and got["FAILED"]
    assert s.facts["error_24h"] == sorted(got["ERROR"]) and got["ERROR"]
    assert s.facts["stopped_24h"] == sorted(got["STOPPED"]) and got["STOPPED"]
    assert set(s.answer_refs) == set(got["FAILED"] + got["ERROR"])
    assert any(resolve(world, r)["state"]["result"]["terminator"]["display_name"] for r in got["STOPPED"])

    # 7. adversarial content
    s = sc["adversarial_content"]
    commit, pr, *pipes = (resolve(world, r) for r in s.answer_refs)
    commit_text, pr_text = s.facts["injection_texts"]
    assert commit_text in commit["message"] and pr_text in pr["description"]
    assert pipes and len(s.facts["secrets"]) >= 4
    assert any(x.startswith("AKIA") and len(x) == 20 for x in s.facts["secrets"])
    repo = world.repos[s.repo]
    logs = "".join(
        repo.logs[x["uuid"]] for p in pipes for x in repo.steps[p["uuid"]] if x["uuid"] in repo.logs
    )
    for secret in s.facts["secrets"]:
        assert secret in logs
    assert "aws_secret_access_key=" in logs and "export DB_PASSWORD=" in logs


def test_scenarios(world: World) -> None:
    check_scenarios(world)


@pytest.mark.parametrize("anchor", OTHER_ANCHORS, ids=lambda a: a.strftime("%a-%H%M"))
def test_scenarios_and_invariants_hold_for_other_anchors(anchor: datetime) -> None:
    w = build_world(anchor=anchor)
    check_invariants(w)
    check_scenarios(w)


# ------------------------------------------------------------------------------------ other worlds


def test_quiet_world_has_nothing_failed_recently() -> None:
    w = build_world("quiet", anchor=ANCHOR)
    assert len(w.repos) <= 5 and not w.scenarios
    pipes = [p for r in w.repos.values() for p in r.pipelines]
    assert len(pipes) > 20
    recent = [p for p in pipes if ts(p["created_on"]) >= ANCHOR - timedelta(hours=48)]
    assert recent and all(result(p) not in ("FAILED", "ERROR") for p in recent)
    for r in w.repos.values():
        for d in r.deployments:
            assert ts(d["state"]["start_date"]) < ANCHOR - timedelta(hours=24)
    check_invariants(w)


def test_large_world_builds() -> None:
    w = build_world(anchor=ANCHOR, repos=50, days=90)
    assert len(w.repos) == 50 and len(set(w.repos)) == 50
    assert sum(len(r.commits) for r in w.repos.values()) > 10_000
    assert sum(len(r.pipelines) for r in w.repos.values()) > 10_000
    oldest = min(ts(c["date"]) for r in w.repos.values() for c in r.commits.values())
    assert oldest >= ANCHOR - timedelta(days=90) and oldest < ANCHOR - timedelta(days=80)
    assert set(w.scenarios) >= {"broken_main_build", "config_change_incident"}
