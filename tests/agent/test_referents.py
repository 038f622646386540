"""Chat referents as specs: how a follow-up points, what it asks, what it binds to, and the plan the rules
planner makes of it (held → no call; else the one call; unbindable → ask which; revisions re-ask)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bbscout.agent.focus import About, Revision
from bbscout.agent.intake import understand
from bbscout.agent.plan import Plan, Step
from bbscout.agent.planners.base import Conversation, PlanRequest, PriorTurn
from bbscout.agent.planners.rules import RulesPlanner, build_plan
from bbscout.agent.referents.binding import bind
from bbscout.agent.referents.reading import asks, reference
from tests.agent.fixtures import acme_repos

NOW = datetime(2026, 11, 29, 15, 30, tzinfo=UTC)
REPOS = acme_repos()


def T(hours: float) -> str:
    return (NOW - timedelta(hours=hours)).isoformat()


def pr(
    repo: str, n: int, *, state: str = "OPEN", created: float, updated: float, **kw: Any
) -> dict[str, Any]:
    return {
        "kind": "pull_request",
        "ref": f"pr:{repo}#{n}",
        "repo": repo,
        "url": "",
        "title": f"PR #{n}",
        "id": n,
        "state": state,
        "author": kw.pop("author", "Raj Patel"),
        "source_branch": kw.pop("source_branch", f"feature/x-{n}"),
        "destination_branch": "main",
        "created_on": T(created),
        "updated_on": T(updated),
        **kw,
    }


def run(repo: str, n: int, *, result: str = "FAILED", hours: float = 1, **kw: Any) -> dict[str, Any]:
    return {
        "kind": "pipeline",
        "ref": f"pipeline:{repo}#{n}",
        "repo": repo,
        "url": "",
        "title": f"Pipeline #{n}",
        "uuid": f"{{p{n}}}",
        "build_number": n,
        "state": "COMPLETED",
        "result": result,
        "created_on": T(hours),
        "creator": kw.pop("creator", "Hannah Müller"),
        **kw,
    }


def deploy(repo: str, uuid: str, hours: float, release: str) -> dict[str, Any]:
    return {
        "kind": "deployment",
        "ref": f"deployment:{repo}:{uuid}",
        "repo": repo,
        "url": "",
        "title": release,
        "uuid": uuid,
        "environment": "Production",
        "state": "COMPLETED",
        "status": "SUCCESSFUL",
        "release": release,
        "deployer": "Sofia Alvarez",
        "started_on": T(hours + 0.1),
        "completed_on": T(hours),
    }


def commit(repo: str, sha: str) -> dict[str, Any]:
    return {
        "kind": "commit",
        "ref": f"commit:{repo}@{sha[:12]}",
        "repo": repo,
        "url": "",
        "title": sha[:12],
        "hash": sha,
        "author": "Noah Fischer",
        "date": T(2),
        "message": "fix(tax): round per line",
    }


def turn(question: str, primary: list[dict[str, Any]], **kw: Any) -> PriorTurn:
    first = build_plan(PlanRequest.read(question, NOW, repositories=REPOS))
    return PriorTurn.model_validate(
        {"question": question, "plan": first.model_dump(mode="json"), "primary": primary, **kw}
    )


# listed newest first by update, as the reporters list them; #67 is the oldest by creation
OPEN_PRS = turn(
    "show me open pull requests",
    [
        pr("data-pipeline", 35, created=30, updated=1, author="Hannah Müller"),
        pr("auth-service", 39, created=20, updated=8, author="Renovate Bot"),
        pr("checkout-service", 67, created=34, updated=15),
    ],
)
FAILED = turn(
    "what pipelines failed in the last 24 hours?",
    [
        run(
            "mobile-app",
            186,
            result="ERROR",
            hours=5,
            creator="Liam O'Connor",
            error_message="Agent timed out",
        ),
        run("data-pipeline", 184, hours=6),
        run("api-gateway", 283, hours=9, branch="main"),
    ],
)
MERGED_PAYMENTS = turn(
    "PRs merged in payments-service in the last 3 days",
    [
        pr("payments-service", 54, state="MERGED", created=40, updated=5),
        pr("payments-service", 53, state="MERGED", created=50, updated=32),
    ],
)
PR_35 = turn("show me PR 35 in data-pipeline", [pr("data-pipeline", 35, created=30, updated=1)])
DEPLOYS = turn(
    "checkout-service production deploys in the last 3 days",
    [deploy("checkout-service", "{d3}", 1, "#330"), deploy("checkout-service", "{d2}", 3, "#323")],
)
COMMIT = turn(
    "latest commit on payments-service main", [commit("payments-service", "20b385201bf9" + "0" * 28)]
)
NOTHING = turn("failed pipelines in shared-libs today", [])


# --- reading: the pointer and the asks -------------------------------------------------------------------

POINTERS: list[tuple[str, dict[str, Any] | None]] = [
    ("why did it fail?", {"pointer": "pronoun", "plural": False}),
    ("who approved that one?", {"pointer": "pronoun", "said": "that one"}),
    ("who opened them?", {"pointer": "pronoun", "plural": True}),
    ("who deployed those?", {"pointer": "pronoun", "plural": True}),
    ("list its commits", {"pointer": "pronoun", "said": "its"}),
    ("which PR did that come from?", {"pointer": "pronoun", "said": "that"}),
    ("show me the log of the second one", {"pointer": "ordinal", "index": 1}),
    ("who reviewed the last one?", {"pointer": "ordinal", "index": -1}),
    ("which files does the first one change?", {"pointer": "ordinal", "index": 0}),
    ("why did the 2nd build fail?", {"pointer": "ordinal", "index": 1, "thing": "pipeline"}),
    ("who opened the oldest one?", {"pointer": "superlative", "order": "oldest"}),
    ("what did the newest one ship?", {"pointer": "superlative", "order": "newest"}),
    ("and the most recent one?", {"pointer": "superlative", "order": "newest"}),
    ("which files did the biggest one touch?", {"pointer": "superlative", "order": "biggest"}),
    ("who approved that PR?", {"pointer": "demonstrative", "thing": "pull_request"}),
    ("did the build pass?", {"pointer": "demonstrative", "thing": "pipeline"}),
    ("who ran the deploy?", {"pointer": "demonstrative", "thing": "deployment"}),
    ("which step failed in #283?", {"pointer": "named", "numbers": (283,)}),
    ("who merged PR 64?", {"pointer": "named", "numbers": (64,), "number_kind": "pull_request"}),
    ("which PR brought in 0f88105?", {"pointer": "named", "hashes": ("0f88105",)}),
    ("who's reviewing the checkout one?", {"pointer": "pronoun", "described": ("checkout",)}),
    ("who opened the renovate ones?", {"pointer": "pronoun", "plural": True, "described": ("renovate",)}),
    ("tell me about the one on main", {"pointer": "pronoun", "described": ("main",)}),
    # no pointer: a new question, a revision, a window
    ("show me open PRs", None),
    ("what about last week?", None),
    ("failed builds in the last 3 days", None),
    ("merged ones?", None),
    ("anything that failed today?", None),
]


@pytest.mark.parametrize(("question", "expected"), POINTERS, ids=[q for q, _ in POINTERS])
def test_the_pointer_is_read(question: str, expected: dict[str, Any] | None) -> None:
    got = reference(understand(question, NOW, "UTC", REPOS))
    if expected is None:
        assert got is None, got
        return
    assert got is not None
    for key, value in expected.items():
        assert getattr(got, key) == value, (key, got)


ASKED: list[tuple[str, list[str]]] = [
    ("who opened the oldest one?", ["author"]),
    ("who merged PR 64?", ["merged_by"]),
    ("who approved that one?", ["approvers"]),
    ("who reviewed the last one?", ["reviewers"]),
    ("what did people say in the comments on the second one?", ["comments"]),
    ("who stopped that one?", ["stopped_by"]),
    ("which step failed in them?", ["failed_step"]),
    ("why did the newest one fail?", ["error"]),
    ("show me the log of the second one", ["log"]),
    ("did the build pass?", ["result"]),
    ("which branch was it on?", ["branch"]),
    ("when was the first one merged?", ["closed_at"]),
    ("when did the deploy finish?", ["finished_at"]),
    ("list its commits", ["commits"]),
    ("which PR did that come from?", ["prs"]),
    ("show me the diff of the second one", ["diff"]),
    ("which files does the first one change?", ["files"]),
    ("what did the newest one ship?", ["shipped"]),
    ("tell me more about the second one", []),
    ("who's reviewing the checkout one?", ["reviewers"]),
    ("did the first one's build pass?", ["result"]),
]


@pytest.mark.parametrize(("question", "expected"), ASKED, ids=[q for q, _ in ASKED])
def test_what_is_asked_is_read(question: str, expected: list[str]) -> None:
    assert asks(understand(question, NOW, "UTC", REPOS).text) == expected


# --- binding --------------------------------------------------------------------------------------------


def bound(question: str, previous: PriorTurn) -> tuple[list[str], list[str], str]:
    u = understand(question, NOW, "UTC", REPOS)
    pointer = reference(u)
    assert pointer is not None
    b = bind(pointer, previous, asks(u.text))
    return [r.ref for r in b.records], [r.ref for r in b.candidates], b.reason


@pytest.mark.parametrize(
    ("question", "previous", "records"),
    [
        ("who opened the oldest one?", OPEN_PRS, ["pr:checkout-service#67"]),  # by creation, not by listing
        ("who opened the newest one?", OPEN_PRS, ["pr:auth-service#39"]),  # the last opened, not updated
        ("who approved the second one?", OPEN_PRS, ["pr:auth-service#39"]),
        ("who approved the last one?", OPEN_PRS, ["pr:checkout-service#67"]),
        ("who opened them?", OPEN_PRS, [r.ref for r in OPEN_PRS.primary]),
        ("who triggered #186?", FAILED, ["pipeline:mobile-app#186"]),
        ("which step failed in build 283?", FAILED, ["pipeline:api-gateway#283"]),
        ("who approved that PR?", PR_35, ["pr:data-pipeline#35"]),
        ("what did the newest one ship?", DEPLOYS, ["deployment:checkout-service:{d3}"]),
        ("which PR did that come from?", COMMIT, ["commit:payments-service@20b385201bf9"]),
        ("which PR brought in 20b3852?", COMMIT, ["commit:payments-service@20b385201bf9"]),
        ("who's reviewing the checkout one?", OPEN_PRS, ["pr:checkout-service#67"]),
        ("who opened the renovate ones?", OPEN_PRS, ["pr:auth-service#39"]),  # by its author
        ("why did the one on main fail?", FAILED, ["pipeline:api-gateway#283"]),
        ("why did the last build on main fail?", FAILED, ["pipeline:api-gateway#283"]),  # of those on main
    ],
)
def test_a_pointer_binds_to_what_the_thread_cited(
    question: str, previous: PriorTurn, records: list[str]
) -> None:
    got, candidates, _ = bound(question, previous)
    assert got == records and candidates == []


@pytest.mark.parametrize(
    ("question", "previous", "candidates", "reason"),
    [
        ("why did it fail?", FAILED, [r.ref for r in FAILED.primary], "could be any of them"),
        ("who approved the fifth one?", OPEN_PRS, [r.ref for r in OPEN_PRS.primary], "listed only 3"),
        ("why did it fail?", NOTHING, [], "cited nothing"),
        ("who approved that PR?", FAILED, [r.ref for r in FAILED.primary], "no pull request"),
    ],
)
def test_a_pointer_that_could_mean_several_or_none_names_the_candidates(
    question: str, previous: PriorTurn, candidates: list[str], reason: str
) -> None:
    got, named, why = bound(question, previous)
    assert got == [] and named == candidates and reason in why


def test_a_description_no_object_fits_names_the_candidates() -> None:
    assert bound("who opened the dependabot ones?", OPEN_PRS)[1] == [r.ref for r in OPEN_PRS.primary]


def test_a_named_ref_found_two_turns_back_still_binds() -> None:
    earlier = [{"question": "open PRs", "cited": [r.model_dump(mode="json") for r in OPEN_PRS.primary]}]
    later = PriorTurn.model_validate(FAILED.model_dump(mode="json") | {"earlier": earlier})
    got, _, _ = bound("who merged PR 67?", later)
    assert got == ["pr:checkout-service#67"]


# --- the rules planner's plan ---------------------------------------------------------------------------


async def plan(question: str, previous: PriorTurn) -> Plan:
    request = PlanRequest.read(question, NOW, repositories=REPOS, previous=previous)
    return (await RulesPlanner().plan(request, Conversation())).plan


def calls(p: Plan) -> list[tuple[str, dict[str, Any]]]:
    return [(s.tool, s.args) for s in p.steps]


def about(p: Plan) -> About:
    assert p.focus.about is not None, (p.family, p.intent, p.not_understood)
    return p.focus.about


@pytest.mark.parametrize(
    ("question", "previous"),
    [
        ("who opened the oldest one?", OPEN_PRS),
        ("which branch was the first one from?", OPEN_PRS),
        ("who triggered #186?", FAILED),
        ("why did the first one fail?", FAILED),  # an ERROR run holds its error message
        ("when did the deploy finish?", DEPLOYS.model_copy(update={"primary": DEPLOYS.primary[:1]})),
        ("who deployed those?", DEPLOYS),
    ],
)
async def test_what_the_thread_holds_costs_no_call(question: str, previous: PriorTurn) -> None:
    p = await plan(question, previous)
    assert p.family == "follow_up" and p.steps == [] and about(p).refs


@pytest.mark.parametrize(
    ("question", "previous", "expected"),
    [
        (
            "who approved the second one?",
            OPEN_PRS,
            [("get_pull_request", {"repo": "auth-service", "pr_id": 39})],
        ),
        (
            "what did people say on the last one?",
            OPEN_PRS,
            [("get_pull_request", {"repo": "checkout-service", "pr_id": 67, "include_comments": True})],
        ),
        (
            "show me the diff of the first one",
            OPEN_PRS,
            [("get_pull_request", {"repo": "data-pipeline", "pr_id": 35, "include_diff": True})],
        ),
        ("list its commits", PR_35, [("pull_request_commits", {"repo": "data-pipeline", "pr_id": 35})]),
        (
            "which PR did that come from?",
            COMMIT,
            [("pull_requests_for_commit", {"repo": "payments-service", "commit": "20b385201bf9" + "0" * 28})],
        ),
        (
            "why did the second one fail?",
            FAILED,
            [("pipeline_failure", {"repo": "data-pipeline", "build_number": 184, "uuid": "{p184}"})],
        ),
        (
            "which step failed in #283?",
            FAILED,
            [
                (
                    "pipeline_failure",
                    {
                        "repo": "api-gateway",
                        "build_number": 283,
                        "uuid": "{p283}",
                        "log": False,
                        "tests": False,
                    },
                )
            ],
        ),
        (
            "what did the second one ship?",
            DEPLOYS,
            [("deployment_changes", {"repo": "checkout-service", "deployment_uuid": "{d2}"})],
        ),
        (
            "did the build pass?",
            PR_35,
            [("list_pipelines", {"repos": ["data-pipeline"], "branch": "feature/x-35", "pick": "newest"})],
        ),
        (
            "which files did the biggest one touch?",
            MERGED_PAYMENTS,
            [("pull_request_files", {"repo": "payments-service", "pr_ids": [54, 53]})],
        ),
    ],
)
async def test_otherwise_the_one_call_that_answers_it(
    question: str, previous: PriorTurn, expected: list[tuple[str, dict[str, Any]]]
) -> None:
    p = await plan(question, previous)
    assert calls(p) == expected and all(s.primary for s in p.steps)


async def test_the_build_of_a_pr_and_the_biggest_one_say_how_they_were_found() -> None:
    assert about(await plan("did the build pass?", PR_35)).hop == "build"
    assert about(await plan("which files did the biggest one touch?", MERGED_PAYMENTS)).order == "biggest"


@pytest.mark.parametrize(
    ("question", "previous"),
    [
        ("why did it fail?", FAILED),
        ("what files does that one change?", OPEN_PRS),
        ("who approved the third one?", MERGED_PAYMENTS),
        ("why did it fail?", NOTHING),
    ],
)
async def test_a_follow_up_that_cannot_be_bound_asks_instead_of_guessing(
    question: str, previous: PriorTurn
) -> None:
    p = await plan(question, previous)
    assert p.steps == [] and p.clarify and p.family == "follow_up"
    assert about(p).candidates == [r.ref for r in previous.primary]


async def test_after_an_answer_about_one_the_next_pick_is_from_the_same_list_with_the_same_ask() -> None:
    second = await plan("who opened the oldest one?", OPEN_PRS)
    after = PriorTurn(
        question="who opened the oldest one?",
        plan=second,
        primary=OPEN_PRS.primary[2:],
        earlier=[{"question": OPEN_PRS.question, "cited": OPEN_PRS.primary}],  # type: ignore[list-item]
    )
    third = await plan("and the second one?", after)
    assert about(third).refs == ["pr:auth-service#39"] and about(third).asks == ["author"]
    assert third.steps == []


async def test_a_named_object_never_cited_is_looked_up_in_the_previous_answers_repository() -> None:
    p = await plan("who merged PR 12?", MERGED_PAYMENTS)
    assert calls(p) == [("get_pull_request", {"repo": "payments-service", "pr_id": 12})]
    assert p.focus.reading and "payments-service" in p.focus.reading


# --- revisions: the previous question again, a slot changed ---------------------------------------------


@pytest.mark.parametrize(
    ("question", "first", "changed", "said"),
    [
        (
            "and in payments?",
            "which PRs were merged in checkout-service today?",
            {"repos": ["payments-service"], "states": ["MERGED"]},
            "for payments-service",
        ),
        (
            "merged ones?",
            "any PRs declined in api-gateway in the last 2 days?",
            {"repos": ["api-gateway"], "states": ["MERGED"]},
            "for merged ones",
        ),
        (
            "what about merged ones last week?",
            "open PRs in checkout-service",
            {"repos": ["checkout-service"], "states": ["MERGED"], "since": "2026-11-16T00:00:00Z"},
            "last week",
        ),
        (
            "same for staging",
            "what's deployed to production in checkout-service?",
            {"repos": ["checkout-service"], "environment": "staging", "current": True},
            "for staging",
        ),
    ],
)
async def test_a_revision_reasks_the_previous_question_with_the_slot_changed(
    question: str, first: str, changed: dict[str, Any], said: str
) -> None:
    p = await plan(question, turn(first, []))
    (step,) = [s for s in p.steps if s.primary]
    assert {k: step.args.get(k) for k in changed} == changed
    assert (
        p.focus.reading is not None
        and p.focus.reading.startswith("Same question")
        and said in p.focus.reading
    )
    assert p.focus.revision == Revision(base=first, slots=p.focus.revision.slots, said=p.focus.revision.said)


async def test_a_revision_of_a_revision_keeps_both_changes() -> None:
    second = await plan("and in payments?", turn("which PRs were merged in checkout-service today?", []))
    third = await plan(
        "what about yesterday?", PriorTurn(question="and in payments?", plan=second, primary=[])
    )
    (step,) = third.steps
    assert step.args["repos"] == ["payments-service"] and step.args["since"] == "2026-11-28T00:00:00Z"


async def test_a_revision_of_a_question_about_a_referent_picks_it_again_elsewhere() -> None:
    second = await plan("who opened the oldest one?", OPEN_PRS)
    third = await plan(
        "and in auth-service?", PriorTurn(question="who opened the oldest one?", plan=second, primary=[])
    )
    (step,) = third.steps
    assert step.tool == "list_pull_requests" and step.args["repos"] == ["auth-service"]
    assert step.args.get("states", ["OPEN"]) == ["OPEN"]  # the tool's default
    chosen = about(third)
    assert (chosen.order, chosen.asks, chosen.refs) == ("oldest", ["author"], [])
    assert third.focus.reading == "Same question for auth-service:"


async def test_a_pick_in_a_repository_picks_among_its_listed_ones_or_lists_it_again() -> None:
    listed = await plan("who opened the oldest one in auth-service?", OPEN_PRS)
    assert listed.steps == [] and about(listed).refs == ["pr:auth-service#39"]
    elsewhere = await plan("and the oldest one in payments?", OPEN_PRS)  # none listed there: ask again
    (step,) = elsewhere.steps
    assert step.tool == "list_pull_requests" and step.args["repos"] == ["payments-service"]
    assert (about(elsewhere).order, about(elsewhere).refs) == ("oldest", [])
    assert elsewhere.focus.reading == "Same question for payments-service:"


async def test_only_x_after_a_complete_list_narrows_it_without_a_request() -> None:
    p = await plan("only main", FAILED)
    assert p.steps == [] and p.focus.filter is not None and p.focus.filter.branch == "main"
    assert p.focus.reading is not None and "not a new search" in p.focus.reading


async def test_a_new_question_after_a_turn_is_not_a_follow_up() -> None:
    p = await plan("show me open PRs in payments", FAILED)
    assert p.family == "pull_requests" and p.focus.about is None and p.focus.revision is None


def test_step_args_of_the_one_calls_are_valid() -> None:
    Step(id="x", tool="pull_request_files", args={"repo": "r", "pr_ids": [1]})
    with pytest.raises(ValueError, match="pr_ids"):
        Step(id="x", tool="pull_request_files", args={"repo": "r", "pr_ids": []})
