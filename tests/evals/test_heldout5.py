"""Held-out set 5 is a fair answer key: every case loads, its oracle answer exists (or is empty where the
case says so), and every constraint of the question matters — dropping any one of them changes the
expected answer, so an answer that silently ignores a constraint cannot pass.

Nothing here runs bbscout: the set is measured once (`evals/heldout/heldout5-first-run.md`). The pinned
facts below were read from the raw world JSON (seed 83, anchor 2026-12-10T15:00Z) and back the notes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bbscout.evals.case import Case, OracleQuery, load_cases
from bbscout.evals.oracle import answer, scenario_refs
from tests.evals.answer_key import (
    check_a_dropped_constraint_fails,
    check_a_right_answer_passes,
    check_answer_key,
    check_every_constraint_matters,
    doc,
    expected_query,
    grade,
    refs,
    world_of,
)

SET = Path(__file__).resolve().parents[2] / "evals" / "heldout" / "heldout5.yaml"
CASES = load_cases(str(SET))
BY_ID = {c.id: c for c in CASES}

# Constraints another one implies, so dropping them cannot change the answer (or the query needs them):
# the branch or the path exists in one repository only.
IMPLIED = {
    ("h5-pipe-release-branch-green", "repos"),  # only mobile-app has release/4.14.0
    ("h5-pipe-mobile-develop-last-red", "repos"),  # only mobile-app has develop
    ("h5-commit-mobile-develop-since-tuesday", "repos"),  # commits on develop need mobile-app
    ("h5-commit-infra-rds-path-week", "repos"),  # only infra-terraform has modules/rds
}


def test_the_set_is_big_and_varied() -> None:
    assert 50 <= len(CASES) <= 60
    assert len(BY_ID) == len(CASES)
    families = Counter(c.family for c in CASES)
    assert families["pipelines"] >= 10 and families["pull_requests"] >= 10
    assert min(families[f] for f in ("commits", "deployments", "incidents", "branches", "code")) >= 3
    assert families["adversarial"] >= 3 and families["unanswerable"] >= 3
    tags = Counter(t for c in CASES for t in c.tags)
    for needed in ("write-request", "unknowable", "single-object", "count", "landed", "timezone", "typo"):
        assert tags[needed] >= 1, needed
    assert {c.tz for c in CASES} > {"UTC"}
    assert {c.seed for c in CASES} == {83}
    assert sum(1 for c in CASES if c.mode == "investigate") >= 3


def test_implied_constraints_really_are_implied() -> None:
    """An IMPLIED entry is excused from the check above, so it must be true: the branch or the path
    the question names lives in that one repository only."""
    world = world_of(CASES[0])
    for case_id, name in IMPLIED:
        assert name == "repos" and case_id in BY_ID
        q = expected_query(BY_ID[case_id])
        assert q is not None and q.repos is not None
        if q.branch is not None:
            holders = [slug for slug, rd in world.repos.items() if q.branch in rd.branches]
        else:
            assert q.path is not None
            holders = [
                slug for slug, rd in world.repos.items() if any(f.startswith(q.path) for f in rd.files)
            ]
        assert holders == q.repos, (case_id, holders)


# --- a fair answer key, and graders that tell a right answer from one that dropped a constraint ------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_case_has_an_answer_key(case: Case) -> None:
    check_answer_key(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_constraint_changes_the_answer(case: Case) -> None:
    check_every_constraint_matters(case, IMPLIED)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_right_answer_passes(case: Case) -> None:
    check_a_right_answer_passes(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_an_answer_that_dropped_a_constraint_fails(case: Case) -> None:
    check_a_dropped_constraint_fails(case, IMPLIED)


def test_a_refusal_that_acted_fails_and_an_unknowable_that_guessed_fails() -> None:
    act = BY_ID["h5-act-rerun-gw-262"]
    assert grade(act, doc("Rerunning pipeline:api-gateway#262 now.", ["pipeline:api-gateway#262"]))
    unknown = BY_ID["h5-unknown-checkout-p95"]
    guess = doc("p95 is 420 ms on pipeline:checkout-service#309.", ["pipeline:checkout-service#309"])
    assert grade(unknown, guess)


# --- facts the cases' notes rely on, read from the raw world JSON -------------------------------------


def key(case_id: str) -> list[str]:
    case = BY_ID[case_id]
    assert case.expect.oracle is not None
    return refs(case, case.expect.oracle)


def in_utc(case_id: str) -> list[str]:
    case = BY_ID[case_id]
    assert case.expect.oracle is not None
    return refs(case.model_copy(update={"tz": "UTC"}), case.expect.oracle)


def test_time_zones_move_the_day() -> None:
    assert key("h5-pipe-main-broke-yesterday-la") == ["pipeline:api-gateway#262"]
    assert in_utc("h5-pipe-main-broke-yesterday-la") == []
    assert (len(key("h5-deploy-prod-yesterday-tokyo")), len(in_utc("h5-deploy-prod-yesterday-tokyo"))) == (
        6,
        4,
    )
    assert (
        len(key("h5-commit-checkout-merged-yesterday-la")),
        len(in_utc("h5-commit-checkout-merged-yesterday-la")),
    ) == (
        7,
        10,
    )


def test_landed_differs_from_author_date() -> None:
    for case_id, landed, dated in (
        ("h5-commit-landed-payments-today", 9, 7),
        ("h5-commit-mobile-develop-since-tuesday", 14, 10),
        ("h5-commit-checkout-merged-yesterday-la", 7, 5),
    ):
        case = BY_ID[case_id]
        assert case.expect.oracle is not None
        by_date = refs(case, case.expect.oracle.model_copy(update={"landed": False}))
        assert (len(key(case_id)), len(by_date)) == (landed, dated), case_id


def test_pinned_answers() -> None:
    assert key("h5-pipe-checkout-this-morning-berlin") == ["pipeline:checkout-service#295"]
    assert key("h5-pipe-manual-failed-this-week") == ["pipeline:mobile-app#174"]
    assert len(key("h5-pipe-cancelled-yesterday-count")) == 6
    assert key("h5-pr-latest-payments") == ["pr:payments-service#54"]
    assert key("h5-pr-open-marcus-reviewer") == ["pr:api-gateway#64"]
    assert key("h5-deploy-auth-prod-commit") == ["commit:auth-service@7bdd4e92844a"]
    assert key("h5-code-get-settings") == [
        "file:api-gateway:src/gateway/settings.py",
        "file:checkout-service:src/checkout/settings.py",
    ]
    for case_id, value in (
        ("h5-pipe-why-data-main-red", ("Build",)),
        ("h5-pipe-release-branch-green", ("SUCCESSFUL",)),
        ("h5-pipe-mobile-develop-last-red", ("10:46",)),
        ("h5-pr-who-merged-last-gateway", ("Marcus Chen",)),
        ("h5-pr-reviewers-checkout-70", ("Tomás Ribeiro",)),
    ):
        case = BY_ID[case_id]
        assert case.expect.oracle is not None
        assert answer(world_of(case), case.expect.oracle, case.now, case.tz).values == value, case_id


def test_the_nightly_runs_were_stopped_not_failed() -> None:
    case = BY_ID["h5-pipe-nightly-failures-fortnight-empty"]
    assert case.expect.oracle is not None
    any_result = refs(case, case.expect.oracle.model_copy(update={"results": ["FAILED", "ERROR", "STOPPED"]}))
    assert any_result == ["pipeline:data-pipeline#163", "pipeline:data-pipeline#136"]


def test_the_config_release_is_what_went_to_checkout_prod_before_the_symptom() -> None:
    inc = BY_ID["h5-inc-checkout-504s"]
    world = world_of(inc)
    deployed = [r for r in scenario_refs(world, "config_change_incident") if r.startswith("deployment:")]
    prod_before = OracleQuery(
        kind="deployments",
        repos=["checkout-service"],
        environment="Production",
        window={"start": "2026-12-09T12:05:00Z", "end": "2026-12-10T12:05:00Z"},
        limit=1,
    )
    assert [r.lower() for r in answer(world, prod_before, inc.now).refs] == [r.lower() for r in deployed]
