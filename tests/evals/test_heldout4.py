"""Held-out set 4 (issue 10) is a fair answer key: every case loads, its oracle answer exists, and every
constraint of the question matters — dropping any one of them changes the expected answer, so an answer
that silently ignores a constraint cannot pass.

Nothing here runs bbscout: the set is measured once on the rewritten planner. The pinned facts below
were read from the raw world JSON (seed 59, anchor 2026-12-07T08:30Z) and back the cases' notes.
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
    refs,
    world_of,
)

SET = Path(__file__).resolve().parents[2] / "evals" / "heldout" / "heldout4.yaml"
CASES = load_cases(str(SET))
BY_ID = {c.id: c for c in CASES}

# Constraints another one implies, so dropping them cannot change the answer: the branch or target
# exists in one repository only.
IMPLIED = {
    ("h4-pipe-mobile-master-red-since-tuesday", "repos"),  # only mobile-app has a master branch
    ("h4-pr-mobile-into-develop", "repos"),  # only mobile-app has a develop branch
    ("h4-commit-mobile-develop-since-thursday", "repos"),
}


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
