"""Held-out set 4 (issue 10) is a fair answer key: every case loads, its oracle answer exists, and every
constraint of the question matters — dropping any one of them changes the expected answer, so an answer
that silently ignores a constraint cannot pass.

Nothing here runs bbscout: the set is measured once on the rewritten planner. The pinned facts below
were read from the raw world JSON (seed 59, anchor 2026-12-07T08:30Z) and back the cases' notes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bbscout.evals.case import Case, OracleQuery, load_cases
from bbscout.evals.oracle import answer, ref_type, scenario_refs
from bbscout.evals.runner import get_world, grade_turn

SET = Path(__file__).resolve().parents[2] / "evals" / "heldout" / "heldout4.yaml"
CASES = load_cases(str(SET))
BY_ID = {c.id: c for c in CASES}

# Every field a question can constrain, with its "not asked" value. Dropping one must change the answer.
CONSTRAINTS: dict[str, Any] = {
    "repos": None,
    "window": None,
    "since": None,
    "results": None,
    "states": None,
    "branch": None,
    "trigger": None,
    "pr_states": None,
    "author": None,
    "target": None,
    "awaiting_review": False,
    "path": None,
    "stale_days": None,
    "environment": None,
    "latest": False,
    "statuses": None,
    "name_contains": None,
    "reviewer": None,
    "approver": None,
    "participant": None,
    "text": None,
    "touched_path": None,
    "landed": False,
    "current": False,
    "exclude_main": False,
    "limit": None,
    "pick": None,
}


# Constraints another one implies, so dropping them cannot change the answer: the branch or target
# exists in one repository only.
IMPLIED = {
    ("h4-pipe-mobile-master-red-since-tuesday", "repos"),  # only mobile-app has a master branch
    ("h4-pr-mobile-into-develop", "repos"),  # only mobile-app has a develop branch
    ("h4-commit-mobile-develop-since-thursday", "repos"),
}


def world_of(case: Case) -> Any:
    return get_world(case.world, case.seed, case.anchor)


def expected_query(case: Case) -> OracleQuery | None:
    """The query whose answer the case grades (for `kind: about`, the query selecting the referent)."""
    q = case.expect.oracle
    if q is not None and q.kind == "about":
        return q.of
    return q


def refs(case: Case, q: OracleQuery) -> list[str]:
    return answer(world_of(case), q, case.now, case.tz).refs


def test_the_set_is_big_and_varied() -> None:
    assert len(CASES) >= 60
    assert len(BY_ID) == len(CASES)
    families = Counter(c.family for c in CASES)
    assert families["pipelines"] >= 10 and families["pull_requests"] >= 10
    assert min(families[f] for f in ("commits", "deployments", "incidents", "branches", "code")) >= 4
    tags = Counter(t for c in CASES for t in c.tags)
    for needed in ("unapplied-constraint", "write-request", "unknowable", "single-object", "count", "landed"):
        assert tags[needed] >= 1, needed
    assert {c.tz for c in CASES} > {"UTC"}  # some questions are asked from another zone
    assert {c.seed for c in CASES} == {59}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_case_has_an_answer_key(case: Case) -> None:
    world = world_of(case)
    exp = case.expect
    if exp.says_unknown or exp.refused:
        assert exp.oracle is None and exp.refs is None
        return
    if exp.scenario:
        got = scenario_refs(world, exp.scenario)
        if exp.ref_kinds:
            got = [r for r in got if r.split(":", 1)[0] in exp.ref_kinds]
        assert got, f"{case.id}: scenario {exp.scenario} gives no refs of kinds {exp.ref_kinds}"
        return
    assert exp.oracle is not None, f"{case.id}: no answer key"
    ans = answer(world, exp.oracle, case.now, case.tz)
    assert ans.refs, f"{case.id}: the oracle finds nothing"
    if exp.oracle.kind == "about":
        assert ans.values, f"{case.id}: no attribute values"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_constraint_changes_the_answer(case: Case) -> None:
    """Drop each constraint in turn (another repository scope, no window, any state, no person...):
    the expected refs must differ, or a bbscout that ignored that constraint would still pass."""
    q = expected_query(case)
    if q is None or q.kind in ("code", "file", "scenario"):
        return
    full = set(refs(case, q))
    for name, unset in CONSTRAINTS.items():
        if name not in q.model_fields_set or getattr(q, name) == unset or (case.id, name) in IMPLIED:
            continue
        dropped = set(refs(case, q.model_copy(update={name: unset})))
        assert dropped != full, f"{case.id}: dropping {name} leaves the answer unchanged ({sorted(full)[:4]})"


# --- the graders accept a right answer and reject one that dropped a constraint -----------------------

_NOUN = {
    "pipeline": ("pipeline", "pipelines"),
    "pull_request": ("pull request", "pull requests"),
    "commit": ("commit", "commits"),
    "deployment": ("deployment", "deployments"),
    "branch": ("branch", "branches"),
    "file": ("file", "files"),
    "repository": ("repository", "repositories"),
}


def entity(ref: str) -> dict[str, Any]:
    kind, _, rest = ref.partition(":")
    sep = {"pipeline": "#", "pr": "#", "commit": "@"}.get(kind, ":")
    repo, _, ident = rest.partition(sep) if kind != "repo" else (rest, "", rest)
    return {"type": ref_type(ref), "repo": repo, "id": ident, "ref": ref}


def doc(text: str, cited: list[str]) -> dict[str, Any]:
    return {"answer": text, "entities": [entity(r) for r in cited], "findings": [], "gaps": [], "stats": {}}


def expected_refs(case: Case) -> list[str]:
    exp, world = case.expect, world_of(case)
    if exp.scenario:
        got = scenario_refs(world, exp.scenario)
        culprit = world.scenarios[exp.scenario].culprit_ref
        got = sorted(got, key=lambda r: r != culprit)  # the culprit first, as a top suspect would be
        return [r for r in got if not exp.ref_kinds or r.split(":", 1)[0] in exp.ref_kinds]
    assert exp.oracle is not None
    return answer(world, exp.oracle, case.now, case.tz).refs


def written_answer(case: Case, cited: list[str]) -> dict[str, Any]:
    """The document a careful engineer would write from `cited`: the count with its noun, the cause or
    the constraint in the first sentence, the attribute values, what could not be filtered."""
    exp = case.expect
    if exp.refused:
        line = "bbscout is read-only, so I did not do that — nothing was changed in Bitbucket."
        return {**doc(line, []), "refused": "read-only"}
    if exp.says_unknown:
        names = ", ".join(exp.answer_contains_any[:3])
        return doc(f"I can't answer that: bbscout is read-only and sees no such data. {names}", [])
    one, many = _NOUN[ref_type(cited[0])] if cited else ("item", "items")
    noun = one if len(cited) == 1 else many
    head = list(exp.headline_contains) + exp.headline_contains_any[:1]
    first = f"{len(cited)} {noun}" + (f" ({', '.join(head)})" if head else "") + "."
    if exp.unapplied_constraint:
        first = f"I could not filter by {exp.unapplied_constraint}; {first}"
    values = ()
    if exp.oracle is not None and exp.oracle.kind == "about":
        values = answer(world_of(case), exp.oracle, case.now, case.tz).values
    body = [*exp.answer_contains, *exp.answer_contains_any[:1], *values]
    out = doc("\n".join([first, *body]), cited)
    if exp.unapplied_constraint:
        out["gaps"] = [f"Bitbucket has no {exp.unapplied_constraint}: not applied"]
    return out


def grade(case: Case, document: dict[str, Any]) -> list[str]:
    exit_code = 3 if document.get("refused") else 0
    checks, _, error = grade_turn(
        document, exit_code, case.expect, world_of(case), case.now, case.tz, case.question or "", document
    )
    return ([f"case error: {error}"] if error else []) + [
        f"{c.key}: {c.comment}" for c in checks if not c.passed
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_right_answer_passes(case: Case) -> None:
    cited = [] if case.expect.says_unknown or case.expect.refused else expected_refs(case)
    assert grade(case, written_answer(case, cited)) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_an_answer_that_dropped_a_constraint_fails(case: Case) -> None:
    q = expected_query(case)
    if q is None or q.kind in ("code", "file", "scenario"):
        return
    for name, unset in CONSTRAINTS.items():
        if name not in q.model_fields_set or getattr(q, name) == unset or (case.id, name) in IMPLIED:
            continue
        wide = refs(case, q.model_copy(update={name: unset}))
        assert grade(case, written_answer(case, wide)), f"{case.id}: an answer without {name} passes"


# --- facts the cases' notes rely on, read from the raw world JSON -------------------------------------


def key(case_id: str) -> list[str]:
    case = BY_ID[case_id]
    assert case.expect.oracle is not None
    return refs(case, case.expect.oracle)


def test_time_zones_move_the_day() -> None:
    red = BY_ID["h4-pipe-red-main-today-berlin"]
    assert key(red.id) == ["pipeline:api-gateway#279"]
    assert red.expect.oracle is not None
    assert refs(red.model_copy(update={"tz": "UTC"}), red.expect.oracle) == []
    ny = BY_ID["h4-deploy-prod-today-new-york"]
    assert len(key(ny.id)) == 1
    assert ny.expect.oracle is not None
    assert len(refs(ny.model_copy(update={"tz": "UTC"}), ny.expect.oracle)) == 3


def test_landed_differs_from_author_date() -> None:
    for case_id, landed, dated in (
        ("h4-commit-landed-payments-today", 7, 6),
        ("h4-commit-merged-notif-today", 3, 1),
        ("h4-commit-landed-checkout-yesterday", 7, 4),
    ):
        case = BY_ID[case_id]
        assert case.expect.oracle is not None
        by_date = refs(case, case.expect.oracle.model_copy(update={"landed": False}))
        assert (len(key(case_id)), len(by_date)) == (landed, dated), case_id


def test_fortnight_is_not_a_week() -> None:
    for case_id in ("h4-pipe-nightly-failures-fortnight", "h4-pr-declined-fortnight"):
        case = BY_ID[case_id]
        assert case.expect.oracle is not None
        week = refs(case, case.expect.oracle.model_copy(update={"since": "-7d"}))
        assert set(week) < set(key(case_id)), case_id


def test_pinned_answers() -> None:
    assert key("h4-pipe-last-green-terraform-fused") == ["pipeline:infra-terraform#149"]
    assert key("h4-pipe-why-latest-web-failure-misspelt") == ["pipeline:web-frontend#326"]
    assert key("h4-pipe-why-payments-deploy-sunday") == ["pipeline:payments-service#226"]
    assert key("h4-deploy-live-commit-web-prod") == ["commit:web-frontend@eaae9f598cb2"]
    assert key("h4-pr-renovate-bot") == ["pr:auth-service#39", "pr:notification-service#38"]
    assert key("h4-pr-open-priya-reviewer") == ["pr:api-gateway#63"]
    assert len(key("h4-pr-yuki-approved-since-friday")) == 5
    assert len(key("h4-commit-shared-libs-count-since-friday")) == 10
    assert len(key("h4-deploy-payments-prod-fortnight-count")) == 10
    assert key("h4-pr-who-merged-last-auth") == ["pr:auth-service#36"]
    merged_by = BY_ID["h4-pr-who-merged-last-auth"]
    assert merged_by.expect.oracle is not None
    assert answer(world_of(merged_by), merged_by.expect.oracle, merged_by.now).values == ("Noah Fischer",)


def test_the_config_release_is_the_last_checkout_prod_deploy_before_the_symptom() -> None:
    inc = BY_ID["h4-inc-checkout-timeouts-what-deployed"]
    world = world_of(inc)
    deployed = [r for r in scenario_refs(world, "config_change_incident") if r.startswith("deployment:")]
    prod_before = OracleQuery(
        kind="deployments",
        repos=["checkout-service"],
        environment="Production",
        window={"start": "2026-12-06T05:05:00Z", "end": "2026-12-07T05:05:00Z"},
        limit=1,
    )
    assert [r.lower() for r in answer(world, prod_before, inc.now).refs] == [r.lower() for r in deployed]
