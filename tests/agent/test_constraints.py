"""The plan records every constraint of the question as applied (and by what) or not (and why not)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bbscout.agent.plan import Plan
from bbscout.agent.planners.base import PriorTurn
from bbscout.agent.planners.rules import build_plan
from tests.agent.fixtures import plan_request

NOW = datetime(2026, 11, 29, 15, 30, tzinfo=UTC)


def plan(question: str, **kw: object) -> Plan:
    return build_plan(plan_request(question, NOW, **kw))


def recorded(p: Plan) -> set[tuple[str, str, bool]]:
    return {(c.kind, c.value, c.applied) for c in p.constraints}


# (question, constraints as (kind, value, applied)) — exactly these, no more
CASES: list[tuple[str, set[tuple[str, str, bool]]]] = [
    (
        "what pipelines failed in the last 24 hours?",
        {("state", "FAILED/ERROR", True), ("window", "in the last 24 hours", True)},
    ),
    (
        "open PRs by Priya in checkout targeting main",
        {
            ("who", "Priya", True),
            ("state", "OPEN", True),
            ("repository", "checkout-service", True),
            ("branch", "main", True),
        },
    ),
    (
        "commits touching config/production.yaml in checkout last week",
        {
            ("repository", "checkout-service", True),
            ("path", "config/production.yaml", True),
            ("window", "last week", True),
        },
    ),
    (
        "top 5 failed builds on main",
        {("state", "FAILED/ERROR", True), ("branch", "main", True), ("count", "5", True)},
    ),
    ("where is calculate_tax defined?", {("text", "calculate_tax", True)}),
    ("which PRs are awaiting review?", {("state", "awaiting review", True)}),
    # not applied: no tool filters drafts; an unknown name
    (
        "draft PRs in checkout",
        {("state", "OPEN", True), ("state", "draft", False), ("repository", "checkout-service", True)},
    ),
    (
        "what changed in the last production deployment yesterday?",
        {("environment", "production", True), ("window", "yesterday", True), ("one", "newest", True)},
    ),
    (
        "failed builds in foobarbaz",
        {("state", "FAILED/ERROR", False), ("repository", "foobarbaz", False)},
    ),
    # held-out 4: a loose branch name, a prefix, a bot's branches, a described file, one PR's state, a sprint
    (
        "builds of the dependabot lodash branch in web-frontend",
        {("repository", "web-frontend", True), ("branch", "dependabot lodash", True)},
    ),
    (
        "open PRs from the dependabot lodash branch",
        {("state", "OPEN", True), ("branch", "dependabot lodash", False)},
    ),
    (
        "the dependabot branches in web-frontend",
        {("repository", "web-frontend", True), ("branch", "dependabot/", True)},
    ),
    (
        "failed builds of the release branches",
        {("state", "FAILED/ERROR", True), ("branch", "release/", True)},
    ),
    (
        "which PRs changed the staging config of auth?",
        {
            ("repository", "auth-service", True),
            ("path", "staging config", False),
            ("environment", "staging", False),
        },
    ),
    (
        "the db pool size in payments' production config",
        {
            ("repository", "payments-service", True),
            ("environment", "production", True),
            ("path", "production config", True),
        },
    ),
    (
        "who merged pull request 12 in auth-service?",
        {("state", "MERGED", True), ("repository", "auth-service", True)},
    ),
    (
        "merged PRs in checkout that belong to sprint 9",
        {("state", "MERGED", True), ("repository", "checkout-service", True), ("other", "9", False)},
    ),
]


@pytest.mark.parametrize(("question", "expected"), CASES)
def test_constraints_applied_or_not(question: str, expected: set[tuple[str, str, bool]]) -> None:
    assert recorded(plan(question)) == expected


def test_not_applied_says_why() -> None:
    reasons = {c.value: c.how for c in plan("failed builds in foobarbaz").constraints}
    assert reasons["foobarbaz"].startswith("no repository matches 'foobarbaz' (closest: ")
    assert reasons["FAILED/ERROR"] == "the plan runs no query"
    ambiguous = {c.value: c.how for c in plan("failed pipelines in the service").constraints}
    assert (
        ambiguous["service"].startswith("'service' may mean ") and "checkout-service" in ambiguous["service"]
    )
    assert ambiguous["FAILED/ERROR"] == "the plan runs no query (it asks which one is meant)"
    drafts = {c.value: c.how for c in plan("draft PRs in checkout").constraints}
    assert drafts["draft"] == "no tool argument filters drafts"
    assert drafts["OPEN"] == "list_pull_requests.states"  # a tool default filters as much as an argument


def test_a_value_applied_to_someone_else_is_not_applied() -> None:
    p = plan("open PRs by Priya or by Daniel")
    assert {(c.value, c.applied) for c in p.constraints if c.kind == "who"} == {
        ("Priya", True),
        ("Daniel", False),
    }


def test_a_follow_up_filter_applies_its_constraints() -> None:
    first = plan("what pipelines failed in the last 24 hours?")
    previous = PriorTurn(question="what pipelines failed in the last 24 hours?", plan=first)
    p = plan("which of those were on main?", previous=previous)
    assert p.family == "follow_up" and p.steps == []
    (branch,) = p.constraints
    assert (branch.kind, branch.value, branch.applied, branch.how) == (
        "branch",
        "main",
        True,
        "the follow-up filter",
    )


def test_a_rerun_keeps_the_earlier_questions_constraints() -> None:
    first = plan("what pipelines failed in the last 24 hours?")
    previous = PriorTurn(question="what pipelines failed in the last 24 hours?", plan=first)
    p = plan("and in payments?", previous=previous)
    assert recorded(p) == {
        ("repository", "payments-service", True),
        ("state", "FAILED/ERROR", True),
        ("window", "in the last 24 hours", True),
    }
