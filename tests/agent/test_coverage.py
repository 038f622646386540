"""The report node's constraint coverage: whatever a reporter wrote, the first line names what was not
applied and echoes what was, and a plan that queried nothing is left to say so in its own words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bbscout.agent.coverage import honour_constraints
from bbscout.agent.focus import Constraint
from bbscout.agent.plan import Plan, Step, StepOutcome
from bbscout.agent.planners.rules import build_plan
from bbscout.agent.report import Report
from tests.agent.fixtures import plan_request

NOW = datetime(2026, 11, 29, 15, 30, tzinfo=UTC)
ANSWER = "**2 open pull requests** in `checkout-service`, most recently updated first.\n\n- a\n- b"


def plan(question: str) -> Plan:
    return build_plan(plan_request(question, NOW))


def test_an_unapplied_constraint_leads_the_answer_and_the_gaps() -> None:
    p = plan("open PRs in checkout labelled bug")
    out = honour_constraints(Report(answer=ANSWER, confidence="high"), p)
    first, rest = out.answer.split("\n\n", 1)
    assert first.startswith("**I could not filter by label 'bug'") and "not narrowed by it" in first
    assert rest == ANSWER  # the reporter's answer follows unchanged
    assert out.gaps == ["could not filter by label 'bug': no tool argument filters by label"]
    assert out.confidence == "medium"  # an unfiltered answer is no high-confidence one


def test_an_applied_constraint_the_first_line_left_out_is_echoed_in_its_first_sentence() -> None:
    p = plan("open PRs in checkout with Sofia as a reviewer")
    out = honour_constraints(Report(answer=ANSWER), p)
    first = out.answer.splitlines()[0]
    assert first == (
        "**2 open pull requests** in `checkout-service`, most recently updated first — filtered by "
        "reviewer Sofia."
    )
    assert not out.gaps
    said = "**2 open pull requests with Sofia as a reviewer** in `checkout-service`."
    assert honour_constraints(Report(answer=said), p).answer == said  # already said: untouched


@pytest.mark.parametrize(
    ("question", "phrase", "slug"),
    [
        ("open PRs for the cart service", "cart service", "checkout-service"),  # a synonym of its name
        ("open PRs in the login service", "login service", "auth-service"),
        ("open pull requests for the backend service", "backend service", "api-gateway"),
    ],
)
def test_a_repository_the_question_described_but_did_not_name_is_said_as_read(
    question: str, phrase: str, slug: str
) -> None:
    p = plan(question)
    [repository] = [c for c in p.constraints if c.kind == "repository"]
    assert repository.applied and repository.value == slug
    out = honour_constraints(Report(answer=ANSWER.replace("checkout-service", slug)), p)
    assert out.answer.splitlines()[0].endswith(f"most recently updated first (“{phrase}” read as {slug}).")


@pytest.mark.parametrize(
    "question", ["open PRs in checkout", "open PRs in the api gw", "open PRs in chekout"]
)
def test_a_repository_named_as_typed_abbreviated_or_misspelt_is_no_reading(question: str) -> None:
    p = plan(question)
    assert [c.reading for c in p.constraints if c.kind == "repository"] == [""]
    assert honour_constraints(Report(answer=ANSWER), p).answer.splitlines()[0].count("read as") == 0


@pytest.mark.parametrize(
    "question",
    [
        "how many story points did we ship?",  # out of scope: no query
        "failed builds in foobarbaz",  # unknown repository: no query, the plan says so itself
        "why did the pipeline fail?",  # asks which one
    ],
)
def test_a_plan_that_queried_nothing_is_left_alone(question: str) -> None:
    p = plan(question)
    assert not p.steps
    report = Report(answer="whatever the reporter said")
    assert honour_constraints(report, p) == report


def test_several_unapplied_constraints_are_listed_together() -> None:
    p = Plan(
        family="pull_requests",
        intent="open pull requests",
        steps=[Step(id="s", tool="list_pull_requests", primary=True)],
        constraints=[
            Constraint(kind="other", filter="label", value="bug", applied=False, how="no argument"),
            Constraint(kind="who", filter="reviewer", value="Emma", applied=False, how="not this tool"),
        ],
    )
    out = honour_constraints(Report(answer="**4 open pull requests**."), p)
    assert out.answer.startswith(
        "**I could not filter by label 'bug' (no argument) or reviewer Emma (not this tool)**; "
        "what follows is not narrowed by them."
    )
    assert len(out.gaps) == 2


def test_a_name_matching_several_people_is_said_first() -> None:
    p = plan("open PRs by Dan in checkout")
    gap = (
        "author 'Dan' is ambiguous: it matches Dan Brown, Daniel Okafor; results for all of them are shown "
        "— name one to narrow"
    )
    outcome = StepOutcome(step_id=p.steps[0].id, tool="list_pull_requests", gaps=[gap])
    out = honour_constraints(Report(answer=ANSWER), p, [outcome])
    first = out.answer.splitlines()[0]
    assert first == f"**A{gap[1:]}.**"
    assert out.gaps[0] == gap
    assert "ambiguous" not in honour_constraints(Report(answer=ANSWER), p, []).answer


def test_an_incident_closes_its_first_line_with_what_it_looked_at() -> None:
    p = plan("checkout errors since 14:05 UTC, what changed?")
    assert p.family == "incident"
    cause = "**Most likely cause: [pr:checkout-service#68](u) “Tune timeouts”** — deployed 24 min before."
    out = honour_constraints(Report(answer=cause + "\n\nSuspects"), p)
    first = out.answer.splitlines()[0]
    assert first.startswith(cause)  # the cause still leads, untouched
    assert "_(looked at: " in first and first.endswith(")_")
    said = [c.named for c in p.constraints if c.applied and c.kind == "window"]
    assert said and all(s in first for s in said)
