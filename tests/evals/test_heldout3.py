"""Held-out set 3 (issue 10): the oracle's constraint-coverage fields against hand-checked worlds, the
constraint-honesty graders against deliberately wrong answers, and the set itself (well-formed, every
filter changes its answer, the categories of issue 10 covered)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bbscout.evals import graders
from bbscout.evals.case import Case, Expect, OracleQuery, load_cases
from bbscout.evals.oracle import answer, branch_entry_times, parse_ts
from bbscout.evals.runner import get_world, grade_turn
from bbscout.sandbox.world.model import Account
from tests.sandbox.fixtures import ANCHOR, h, tiny_world

NOW = ANCHOR + timedelta(minutes=5)
HELDOUT3 = Path(__file__).parents[2] / "evals" / "heldout" / "heldout3.yaml"


def _commit_ref(label: str) -> str:
    return f"commit:api@{h(f'api:{label}')[:12]}"


@pytest.fixture(scope="module")
def world() -> Any:
    """tiny_world plus what constraint questions need: main merges the feature branch 5 h ago (f1 was
    authored 90 h ago), PR 3 has Bob as a reviewer who has not approved and Carol as a commenter."""
    w = copy.deepcopy(tiny_world())
    api = w.repos["api"]
    c4, f1 = h("api:c4"), h("api:f1")
    merge = h("api:m5")
    api.commits[merge] = {
        **copy.deepcopy(api.commits[c4]),
        "hash": merge,
        "date": (ANCHOR - timedelta(hours=5)).isoformat(),
        "message": "Merged in feature/new-checkout (pull request #3)\n",
        "parents": [{"type": "commit", "hash": c4}, {"type": "commit", "hash": f1}],
    }
    api.changes[merge] = list(api.changes[f1])
    api.commit_order = [merge, *api.commit_order]
    api.branches["main"] = merge
    carol = Account("{00000000-0000-4000-8000-00000000ca01}", "557058:carol", "Carol Chen", "carol", "c@x.io")
    w.accounts.append(carol)
    pr3 = api.pullrequests[3]
    pr3["participants"] = [
        {**pr3["participants"][0], "approved": False, "state": None},
        {"type": "participant", "user": carol.to_json(), "role": "PARTICIPANT", "approved": False},
    ]
    return w


def refs(world: Any, **kw: Any) -> list[str]:
    return answer(world, OracleQuery(**kw), NOW).refs


# --- oracle: people ------------------------------------------------------------------------------------


def test_reviewer_approver_participant_are_different_questions(world: Any) -> None:
    # PR 2: reviewers Alice+Bob, both approved; PR 3: reviewer Bob (not approved), commenter Carol
    assert refs(world, kind="pull_requests", repos=["api"], reviewer="bob") == ["pr:api#3", "pr:api#2"]
    assert refs(world, kind="pull_requests", repos=["api"], approver="bob") == ["pr:api#2"]
    assert refs(world, kind="pull_requests", repos=["api"], participant="carol") == ["pr:api#3"]
    assert refs(world, kind="pull_requests", repos=["api"], reviewer="carol") == []
    # PR 1 and 2 have Alice as an approving reviewer; display name and email match like `author`
    assert refs(world, kind="pull_requests", repos=["api"], approver="Alice Admin") == [
        "pr:api#2",
        "pr:api#1",
    ]
    assert (
        refs(world, kind="pull_requests", repos=["api"], approver="alice@example.com", pr_states=["OPEN"])
        == []
    )


def test_text_matches_pr_title_or_description_and_commit_messages(world: Any) -> None:
    assert refs(world, kind="pull_requests", repos=["api"], text="TIMEOUT") == ["pr:api#2"]
    assert refs(world, kind="pull_requests", repos=["api"], text="description of new checkout") == [
        "pr:api#3"
    ]
    assert refs(world, kind="commits", repos=["api"], text="pool") == [_commit_ref("c4")]
    assert refs(world, kind="commits", repos=["api"], text="no such words") == []


def test_touched_path_is_the_prs_own_commits(world: Any) -> None:
    # pr_commits: 1 → c2 (adds config/settings.yaml), 2 → c3 (src/app.py, docs/notes.txt), 5 → c4 (config)
    assert refs(world, kind="pull_requests", repos=["api"], touched_path="config") == ["pr:api#5", "pr:api#1"]
    assert refs(world, kind="pull_requests", repos=["api"], touched_path="config", pr_states=["MERGED"]) == [
        "pr:api#1"
    ]
    assert refs(world, kind="pull_requests", repos=["api"], touched_path="docs/notes.txt") == ["pr:api#2"]
    assert refs(world, kind="pull_requests", repos=["api"], touched_path="src/app") == []  # not a prefix dir


# --- oracle: when a commit landed ---------------------------------------------------------------------------


def test_branch_entry_time_is_the_merge_not_the_author_date(world: Any) -> None:
    api = world.repos["api"]
    entered = branch_entry_times(api, api.branches["main"])
    merge_at = ANCHOR - timedelta(hours=5)
    assert entered[h("api:f1")] == merge_at  # authored 90 h ago, reached main with the merge
    assert entered[h("api:m5")] == merge_at
    assert entered[h("api:c4")] == ANCHOR - timedelta(hours=10)  # pushed to main directly
    authored = refs(world, kind="commits", repos=["api"], since="-24h")
    landed = refs(world, kind="commits", repos=["api"], since="-24h", landed=True)
    assert set(authored) == {_commit_ref("m5"), _commit_ref("c4")}
    assert set(landed) == {_commit_ref("m5"), _commit_ref("f1"), _commit_ref("c4")}
    assert set(refs(world, kind="commits", repos=["api"], since="-8h", landed=True)) == {
        _commit_ref("m5"),
        _commit_ref("f1"),
    }


def test_landed_matches_every_merged_pr_of_a_generated_world() -> None:
    """Independent of the oracle's walk: in the generated world a PR merged into main brings its head
    commit into main exactly at the PR's close time, and no commit of it earlier than it was authored."""
    w = get_world("default", 23, datetime(2026, 12, 16, 10, 0, tzinfo=UTC))
    checked = 0
    for rd in w.repos.values():
        entered = branch_entry_times(rd, rd.branches[rd.main_branch])
        for pid, pr in rd.pullrequests.items():
            if pr["state"] != "MERGED" or pr["destination"]["branch"]["name"] != rd.main_branch:
                continue
            closed = parse_ts(pr["closed_on"]).replace(microsecond=0)  # type: ignore[union-attr]
            head = rd.pr_commits[pid][0]
            assert entered[head] == closed, (rd.slug, pid)
            for c in rd.pr_commits[pid]:
                assert parse_ts(rd.commits[c]["date"]) <= entered[c] <= closed  # type: ignore[operator]
            checked += 1
    assert checked > 200


# --- oracle: deployments and single objects -------------------------------------------------------------


def test_current_deployment_skips_failed_deploys_and_can_cite_the_commit(world: Any) -> None:
    api = world.repos["api"]
    prod = [d for d in api.deployments if d["environment"]["name"] == "Production"]
    ok, failed = prod[0], prod[1]  # pipe 2 (c3) SUCCESSFUL, then pipe 5 (c4) FAILED
    assert failed["state"]["status"]["name"] == "FAILED"
    latest = refs(world, kind="deployments", repos=["api"], environment="production", latest=True)
    assert latest == [f"deployment:api:{failed['uuid']}"]
    current = refs(world, kind="deployments", repos=["api"], environment="production", current=True)
    assert current == [f"deployment:api:{ok['uuid']}"]
    assert refs(
        world, kind="deployments", repos=["api"], environment="production", current=True, cite="commit"
    ) == [_commit_ref("c3")]
    assert len(refs(world, kind="deployments", repos=["api"], current=True)) == 2  # Test and Production


def test_newest_branch_leaves_main_out(world: Any) -> None:
    assert refs(world, kind="branches", repos=["api"], limit=1) == ["branch:api:main"]
    newest = refs(world, kind="branches", repos=["api"], exclude_main=True, limit=1)
    assert newest == ["branch:api:feature/new-checkout"]  # head f1, 90 h old; release-10's c3 is 100 h


def test_constraints_are_refused_for_kinds_that_would_ignore_them() -> None:
    with pytest.raises(ValueError, match="reviewer applies to kind pull_requests"):
        OracleQuery(kind="commits", reviewer="bob")
    with pytest.raises(ValueError, match="landed applies to kind commits"):
        OracleQuery(kind="pull_requests", landed=True)


# --- graders: constraint honesty ------------------------------------------------------------------------


def doc(answer_text: str, gaps: list[str] | None = None) -> dict[str, Any]:
    return {"answer": answer_text, "entities": [], "findings": [], "gaps": gaps or [], "stats": {}}


def test_headline_needs_the_cause_in_the_first_sentence() -> None:
    right = doc(
        "Unit tests failed with KeyError: 'burst_limit' in src/gateway/ratelimit.py. Fixed by PR #64."
    )
    assert graders.headline(right).endswith("src/gateway/ratelimit.py.")
    assert graders.headline_mentions(right, any_of=["KeyError", "burst_limit"]).passed
    buried = doc("pipeline:api-gateway#284 FAILED on main at 01:12 UTC. The step Unit tests raised KeyError.")
    check = graders.headline_mentions(buried, any_of=["KeyError", "burst_limit"])
    assert not check.passed and "none of" in check.comment
    later_line = doc("1 pipeline failed on main last night.\nCause: KeyError 'burst_limit'")
    assert not graders.headline_mentions(later_line, any_of=["KeyError"]).passed
    assert not graders.headline_mentions(right, all_of=["KeyError", "Sofia"]).passed


def test_number_agreement_catches_one_plural_and_many_singular() -> None:
    assert graders.number_agreement(doc("1 deployment to Staging yesterday; 2 pipelines running.")).passed
    assert graders.number_agreement(doc("2 deployment failures and one pipeline run; see #1 builds")).passed
    wrong = graders.number_agreement(doc("1 deployments to Staging yesterday."))
    assert not wrong.passed and "1 deployments" in wrong.comment
    assert not graders.number_agreement(doc("There were 3 pipeline in the last day.")).passed
    assert not graders.number_agreement(doc("One pull requests matched.")).passed
    assert graders.number_agreement(doc("Deployed at 2026-12-15 17:43 UTC (1 of 3 deploys).")).passed


def test_says_not_applied_catches_an_answer_that_reads_as_filtered() -> None:
    honest = doc(
        "I could not filter by label (Bitbucket pull requests have no labels); these are all 4 open PRs:"
        "\n- pr:api#3",
        gaps=["label filter not applied: Bitbucket Cloud pull requests have no labels"],
    )
    assert graders.says_not_applied(honest, "label").passed
    silent = doc("4 open pull requests:\n- pr:api#3 …")
    check = graders.says_not_applied(silent, "label")
    assert not check.passed and "first line" in check.comment and "no gap" in check.comment
    only_gap = doc("4 open pull requests labelled hotfix:", gaps=["could not filter by label"])
    assert not graders.says_not_applied(only_gap, "label").passed  # reads as filtered up front
    only_head = doc("I can't filter by label; all open PRs:", gaps=[])
    assert not graders.says_not_applied(only_head, "label").passed


def test_answer_mentions_any_and_grade_turn_wiring(world: Any) -> None:
    unknown = doc("There is no repository named inventory-service. Closest: checkout-service, auth-service.")
    assert graders.answer_mentions_any(unknown, ["checkout-service", "payments-service"]).passed
    bare = doc("There is no repository named inventory-service.")
    assert not graders.answer_mentions_any(bare, ["checkout-service", "payments-service"]).passed
    exp = Expect(
        says_unknown=True,
        answer_contains_any=["checkout-service"],
        number_agreement=True,
        headline_contains=["inventory-service"],
    )
    checks, _, err = grade_turn(unknown, 1, exp, world, NOW, "UTC", "q")
    assert err is None and {c.key for c in checks} >= {"answer_contains_any", "number_agreement", "headline"}
    assert all(c.passed for c in checks), [c.comment for c in checks if not c.passed]
    checks, _, _ = grade_turn(bare, 1, exp, world, NOW, "UTC", "q")
    assert [c.key for c in checks if not c.passed] == ["answer_contains_any"]
    wrong = Expect(oracle=OracleQuery(kind="pull_requests", pr_states=["OPEN"]), unapplied_constraint="label")
    silent = {**doc("2 open PRs labelled hotfix"), "entities": [{"type": "pull_request", "ref": "pr:api#3"}]}
    checks, _, _ = grade_turn(silent, 0, wrong, world, NOW, "UTC", "q")
    assert "unapplied_constraint" in [c.key for c in checks if not c.passed]


# --- the set itself ---------------------------------------------------------------------------------------

_FILTERS = (
    "reviewer",
    "approver",
    "participant",
    "text",
    "touched_path",
    "landed",
    "current",
    "author",
    "pr_states",
    "results",
    "states",
    "branch",
    "target",
    "trigger",
    "path",
    "environment",
    "statuses",
    "since",
    "window",
    "limit",
    "exclude_main",
    "stale_days",
    "awaiting_review",
)


# Filters that are part of the question but happen to hold for every object that matches the rest
# (e.g. all of Raj's PRs this week were merged): kept, since the words are the user's, but exempt
# from the "dropping it changes the answer" check.
_REDUNDANT = {
    ("h3-pr-author-firstname-merged-week", "pr_states"),
    ("h3-pr-bot-chatty", "pr_states"),
    ("h3-pr-text-stripe-merged", "pr_states"),
    ("h3-pr-path-merged-config", "pr_states"),
    ("h3-single-latest-green-master", "results"),
    ("h3-single-newest-branch", "exclude_main"),
    ("h3-single-last-merged-pr", "pr_states"),
    ("h3-repo-misspelt", "pr_states"),
}


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_cases(str(HELDOUT3))


def test_set_size_and_categories(cases: list[Case]) -> None:
    assert len(cases) >= 60
    tags = {t for c in cases for t in c.tags}
    for needed in (
        "constraint-reviewer",
        "constraint-approver",
        "constraint-participant",
        "first-name",
        "bot",
        "constraint-text",
        "constraint-path",
        "single",
        "fortnight",
        "weekend",
        "landed",
        "current-deployment",
        "rollback",
        "fused-repo",
        "typo",
        "unresolvable",
        "why-failed",
        "singular",
        "running",
        "pending",
        "unapplied-constraint",
        "write-action",
        "unknowable",
    ):
        assert needed in tags, needed
    assert all("heldout3" in c.tags for c in cases)


def test_every_case_is_answerable_by_the_oracle_and_every_filter_matters(cases: list[Case]) -> None:
    """Each expectation resolves to a non-empty set of refs that exist, disjoint from its must-not set,
    and dropping any one filter changes the answer (so a silently dropped constraint fails the case)."""
    for c in cases:
        w = get_world(c.world, c.seed, c.anchor)
        ix = graders.WorldIndex(w)
        exp = c.expect
        if exp.says_unknown or (exp.refused and exp.oracle is None):  # a verdict on the wording alone
            assert exp.oracle is None and exp.refs is None, c.id
            continue
        if exp.oracle is not None:
            expected = answer(w, exp.oracle, c.now, c.tz).refs
            assert expected, f"{c.id}: the oracle finds nothing"
            for name in _FILTERS:
                if name not in exp.oracle.model_fields_set or (c.id, name) in _REDUNDANT:
                    continue
                dropped = exp.oracle.model_copy(update={name: OracleQuery.model_fields[name].default})
                assert answer(w, dropped, c.now, c.tz).refs != expected, (
                    f"{c.id}: dropping {name} changes nothing"
                )
        elif exp.scenario is not None:
            expected = [
                r
                for r in w.scenarios[exp.scenario].answer_refs
                if not exp.ref_kinds or r.split(":")[0] in exp.ref_kinds
            ]
        else:
            assert isinstance(exp.refs, list), c.id
            expected = exp.refs
        assert expected and all(ix.ref_exists(r) for r in expected), c.id
        if exp.must_not is not None:
            forbidden = list(exp.must_not.refs)
            if exp.must_not.oracle is not None:
                forbidden += answer(w, exp.must_not.oracle, c.now, c.tz).refs
            assert forbidden and not set(forbidden) & set(expected), c.id
            assert all(ix.ref_exists(r) for r in forbidden), c.id


def test_the_live_commit_case_accepts_the_commit_or_its_deployment(cases: list[Case]) -> None:
    case = next(c for c in cases if c.id == "h3-single-live-commit-prod")
    w = get_world(case.world, case.seed, case.anchor)
    live = OracleQuery(kind="deployments", repos=["auth-service"], environment="Production", current=True)
    as_commit = answer(w, live.model_copy(update={"cite": "commit"}), case.now).refs
    assert case.expect.refs == as_commit + answer(w, live, case.now).refs
    assert len(as_commit) == 1 and case.expect.recall_of == "any"


def test_the_ambiguous_case_accepts_exactly_the_two_readings(cases: list[Case]) -> None:
    case = next(c for c in cases if c.id == "h3-single-last-deploy-ambiguous")
    w = get_world(case.world, case.seed, case.anchor)
    any_env = answer(w, OracleQuery(kind="deployments", repos=["api-gateway"], limit=1), case.now).refs
    prod = answer(
        w, OracleQuery(kind="deployments", repos=["api-gateway"], environment="Production", limit=1), case.now
    ).refs
    assert case.expect.refs == any_env + prod and any_env != prod
