"""Issues 15 and 16 in the evals: the oracle's referent conventions against hand-checked world data, the
graders catching deliberately wrong answers, and the held-out sets and phrasing table being well formed.

Hand-checked values come from the sandbox tests' hand-built `tiny_world` (tests/sandbox/fixtures.py):
PR 2 "Lower timeout" is Bob's, merged by Alice, approved by Alice and Bob, commented on by both, one
commit c3 (src/app.py 1+/1-, docs/notes.txt removed, 1 line); pipeline 5 FAILED on main in step "test"
with the log line "FAILED tests/test_checkout.py::test_timeout - TimeoutError: upstream took 6.2s";
pipeline 3 ERROR "Time limit exceeded"; Production got #2 (c3, SUCCESSFUL) then #5 (c4, FAILED).
"""

from __future__ import annotations

import copy
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import ValidationError

from bbscout.evals import graders
from bbscout.evals.case import Expect, OracleQuery, load_cases
from bbscout.evals.oracle import answer, attribute_values, ref_size, related_refs
from bbscout.evals.runner import get_world, grade_turn
from tests.evals.test_graders import doc
from tests.sandbox.fixtures import ANCHOR, h, tiny_world

NOW = ANCHOR + timedelta(minutes=5)
HELDOUT = Path(__file__).resolve().parents[2] / "evals" / "heldout"
PHRASINGS = Path(__file__).resolve().parents[1] / "data" / "readonly_phrasings.yaml"
C2, C3, C4 = (h(f"api:{x}") for x in ("c2", "c3", "c4"))


@pytest.fixture(scope="module")
def world() -> Any:
    return copy.deepcopy(tiny_world())


def about(**kw: Any) -> OracleQuery:
    return OracleQuery(kind="about", **kw)


# --- oracle: selecting referents ---------------------------------------------------------------------


def test_negative_pick_counts_from_the_oldest(world: Any) -> None:
    failed = OracleQuery(kind="pipelines", results=["FAILED", "ERROR"], since="-100h")
    assert answer(world, failed, NOW).refs == ["pipeline:api#5", "pipeline:api#3"]
    assert answer(world, failed.model_copy(update={"pick": -1}), NOW).refs == ["pipeline:api#3"]
    assert answer(world, failed.model_copy(update={"pick": -2}), NOW).refs == ["pipeline:api#5"]
    assert answer(world, failed.model_copy(update={"pick": 3}), NOW).refs == []
    with pytest.raises(ValidationError):
        OracleQuery(kind="pipelines", pick=0)


def test_size_order_is_lines_changed_ties_newest_first(world: Any) -> None:
    # PR 1 adds the 3-line config (3); PR 2 changes one line and removes a 1-line file (1+1+1 = 3);
    # PR 5 changes one config line (2); PR 3/4 add a 1-line file (1).
    assert [ref_size(world, f"pr:api#{n}") for n in (1, 2, 3, 5)] == [3, 3, 1, 2]
    merged = OracleQuery(kind="pull_requests", repos=["api"], pr_states=["MERGED"], order_by="size")
    assert answer(world, merged, NOW).refs == ["pr:api#2", "pr:api#1"]  # tie: the newer PR 2 first
    assert answer(world, merged.model_copy(update={"pick": 1}), NOW).refs == ["pr:api#2"]
    with pytest.raises(ValueError, match="PRs or commits"):
        ref_size(world, "pipeline:api#5")


def test_relations_of_a_pr_a_commit_and_a_deployment(world: Any) -> None:
    assert related_refs(world, "pr:api#2", "commits") == [f"commit:api@{C3[:12]}"]
    assert set(related_refs(world, "pr:api#2", "files")) == {"file:api:src/app.py", "file:api:docs/notes.txt"}
    assert related_refs(world, "pr:api#2", "merge_commit") == [f"commit:api@{C3[:12]}"]
    assert related_refs(world, f"commit:api@{C3[:7]}", "prs") == ["pr:api#2"]
    assert related_refs(world, f"commit:api@{C4[:12]}", "files") == ["file:api:config/settings.yaml"]
    deps = {d["deployable"]["name"]: d["uuid"] for d in world.repos["api"].deployments}
    # Production #5 (c4) follows the successful Production #2 (c3): it shipped c4 alone.
    assert related_refs(world, f"deployment:api:{deps['#5']}", "shipped") == [f"commit:api@{C4[:12]}"]
    # Production #2 had no successful Production deployment before it: everything up to c3.
    assert set(related_refs(world, f"deployment:api:{deps['#2']}", "shipped")) == {
        f"commit:api@{x[:12]}" for x in (C3, C2, h("api:c1"))
    }
    with pytest.raises(ValueError, match="no merge commit"):
        related_refs(world, "pr:api#3", "merge_commit")


def test_attributes_hand_checked(world: Any) -> None:
    pr2 = "pr:api#2"
    assert attribute_values(world, pr2, "author") == ["Bob Builder"]
    assert attribute_values(world, pr2, "merged_by") == ["Alice Admin"]
    assert attribute_values(world, pr2, "approvers") == ["Alice Admin", "Bob Builder"]
    assert attribute_values(world, pr2, "commenters") == ["Alice Admin", "Bob Builder"]
    assert attribute_values(world, pr2, "branch") == ["timeout"]
    assert attribute_values(world, pr2, "target_branch") == ["main"]
    # created 110 h before 2026-03-10 12:00 UTC = 2026-03-05 22:00 UTC, 23:00 in Berlin (CET)
    assert attribute_values(world, pr2, "opened_at") == ["22:00"]
    assert attribute_values(world, pr2, "opened_at", "Europe/Berlin") == ["23:00"]
    assert attribute_values(world, pr2, "closed_at") == ["23:00"]  # no closed_on: updated_on, 109 h ago
    assert attribute_values(world, "pipeline:api#5", "failed_step") == ["test"]
    assert attribute_values(world, "pipeline:api#5", "error") == ["TimeoutError: upstream took 6.2s"]
    assert attribute_values(world, "pipeline:api#3", "error") == ["Time limit exceeded"]
    assert attribute_values(world, "pipeline:api#5", "author") == ["Alice Admin"]
    assert attribute_values(world, "pipeline:api#5", "result") == ["FAILED"]
    assert attribute_values(world, "pipeline:api#6", "stopped_by") == ["Alice Admin"]
    dep = f"deployment:api:{world.repos['api'].deployments[1]['uuid']}"
    assert attribute_values(world, dep, "release") == ["#2"]
    assert attribute_values(world, dep, "author") == ["Alice Admin"]
    # pipeline 2 was created 85 h ago (2026-03-06 23:00 UTC) and completed 0.2 h later (23:12)
    assert attribute_values(world, dep, "deployed_at") == ["23:00|23:12"]
    with pytest.raises(ValueError, match="has no merged_by"):
        attribute_values(world, "pr:api#3", "merged_by")  # still open


def test_about_combines_selection_relations_and_values(world: Any) -> None:
    oldest_merged = OracleQuery(kind="pull_requests", repos=["api"], pr_states=["MERGED"], pick=-1)
    ans = answer(world, about(of=oldest_merged, attribute="author"), NOW)
    assert ans.refs == ["pr:api#1"] and ans.values == ("Alice Admin",) and ans.min_requests == 0
    revert = answer(world, about(subject=["pr:api#2"], relation=["self", "merge_commit"]), NOW)
    assert revert.refs == ["pr:api#2", f"commit:api@{C3[:12]}"] and revert.entity_type == "mixed"
    assert answer(world, about(subject=["pr:api#2"], attribute="approvers"), NOW).min_requests == 1
    with pytest.raises(ValueError):
        answer(world, about(subject=["pr:api#99"]), NOW)
    with pytest.raises(ValidationError):
        OracleQuery(kind="about")  # neither of: nor subject:


def test_rollback_target_is_live_release_and_previous_different_one(world: Any) -> None:
    q = OracleQuery(kind="rollback_target", repos=["api"], environment="production")
    rd = world.repos["api"]
    live = next(d for d in rd.deployments if d["deployable"]["name"] == "#2")
    assert answer(world, q, NOW).refs == [f"deployment:api:{live['uuid']}"]  # #5 FAILED; nothing before #2
    w = copy.deepcopy(world)
    deps = w.repos["api"].deployments
    first, redeploy = copy.deepcopy(deps[1]), copy.deepcopy(deps[1])
    first.update(uuid="{00000000-0000-0000-0000-00000000000a}")
    first["deployable"]["commit"]["hash"] = C2
    first["state"]["completion_date"] = (ANCHOR - timedelta(hours=200)).isoformat()
    redeploy.update(uuid="{00000000-0000-0000-0000-00000000000b}")  # the live commit again, earlier
    redeploy["state"]["completion_date"] = (ANCHOR - timedelta(hours=150)).isoformat()
    deps += [first, redeploy]
    assert answer(w, q, NOW).refs == [f"deployment:api:{live['uuid']}", f"deployment:api:{first['uuid']}"]
    with pytest.raises(ValidationError):
        OracleQuery(kind="rollback_target", environment="production")


async def test_files_and_size_conventions_match_the_served_diffstat() -> None:
    """Every PR in the held-out cases' world: the oracle's files and size (its own non-merge commits'
    changes) are what Bitbucket serves as the PR's diffstat."""
    from bbscout.sandbox.app import SandboxSettings, create_app

    c = next(c for c in load_cases("conversations.yaml", root=HELDOUT) if c.id == "fu-biggest-files")
    w = get_world(c.world, c.seed, c.anchor)
    token = w.token("demo")
    transport = httpx.ASGITransport(app=create_app(w, SandboxSettings(rate_limit_per_hour=10**9)))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox.local/2.0", auth=(token.email or "", token.secret)
    ) as http:
        checked = 0
        for slug, rd in w.repos.items():
            for pid in rd.pullrequests:
                ref = f"pr:{slug}#{pid}"
                r = await http.get(
                    f"/repositories/acme/{slug}/pullrequests/{pid}/diffstat", follow_redirects=True
                )
                values = r.json()["values"]
                assert {r.split(":", 2)[2] for r in related_refs(w, ref, "files")} == {
                    (v.get("new") or v.get("old"))["path"] for v in values
                }, ref
                assert ref_size(w, ref) == sum(v["lines_added"] + v["lines_removed"] for v in values), ref
                checked += 1
    assert checked > 400


# --- graders ------------------------------------------------------------------------------------------


def test_states_values_catches_a_missing_or_wrong_name() -> None:
    right = doc("Hannah Müller opened pr:data-pipeline#35; Yuki Tanaka approved it.", [])
    assert graders.states_values(right, ["Yuki Tanaka"]).passed
    wrong = doc("Daniel Okafor approved pr:data-pipeline#35.", [])
    c = graders.states_values(wrong, ["Yuki Tanaka"])
    assert not c.passed and "Yuki Tanaka" in c.comment
    either = doc("Deployed to Production at 14:15 UTC by Sofia Alvarez.", [])
    assert graders.states_values(either, ["14:15|14:17"]).passed
    assert not graders.states_values(either, ["14:20|14:22"]).passed
    escaped = doc(r"E   TypeError: unsupported operand type(s) for \*: 'NoneType'", [])
    assert graders.states_values(escaped, ["TypeError: unsupported operand type(s) for *: 'NoneType'"]).passed


def test_asks_which_accepts_a_question_naming_every_candidate() -> None:
    candidates = ["pr:api#3", "pr:api#5"]
    good = doc("Which one do you mean: PR #3 (New checkout flag) or PR #5 (Draft: bump pool)?", [])
    assert graders.asks_which(good, candidates).passed
    cited = doc("That could be either of these — which one?", candidates)
    assert graders.asks_which(cited, candidates).passed


def test_asks_which_catches_a_guess_a_partial_list_and_a_change_of_subject() -> None:
    candidates = ["pr:api#3", "pr:api#5"]
    guess = doc("PR #3 changes src/feature.txt.", ["pr:api#3"])
    assert not graders.asks_which(guess, candidates).passed
    partial = doc("Which one do you mean? PR #3?", [])
    c = graders.asks_which(partial, candidates)
    assert not c.passed and "pr:api#5" in c.comment
    other = doc("Which one do you mean, PR #3 or PR #5? Meanwhile 1 commit on main: PR #2.", ["pr:api#2"])
    c = graders.asks_which(other, candidates)
    assert not c.passed and "pr:api#2" in c.comment


def test_asks_which_with_nothing_cited_must_say_so_and_cite_nothing() -> None:
    honest = doc("I can't tell which pipeline you mean: the previous answer found no failed pipelines.", [])
    assert graders.asks_which(honest, []).passed
    assert graders.asks_which(
        doc("Nothing failed in shared-libs today, so there is no failure to explain.", []), []
    ).passed
    new_question = doc("2 pipelines failed in the last 100 hours.", ["pipeline:api#5", "pipeline:api#3"])
    assert not graders.asks_which(new_question, []).passed


def test_refused_requires_flag_exit_code_and_first_line() -> None:
    right = doc("bbscout is read-only: I did not roll anything back.\nLive now: release #2 …", [])
    right["refused"] = "read-only"
    assert graders.refused(right, 3, expected=True).passed
    no_flag = dict(right, refused=None)
    assert not graders.refused(no_flag, 3, expected=True).passed
    assert "exit code 0" in graders.refused(right, 0, expected=True).comment
    # the failure: a rollback request answered with a list of recent rollbacks
    as_query = doc("1 rollback in the last 7 days:\n- deployment:api:… (read-only: nothing was changed)", [])
    as_query["refused"] = "read-only"
    c = graders.refused(as_query, 3, expected=True)
    assert not c.passed and "first line" in c.comment
    read_only_only = doc("bbscout is read-only.\nI did not merge anything.", [])
    read_only_only["refused"] = "read-only"
    assert not graders.refused(read_only_only, 3, expected=True).passed  # "did nothing" is not on line 1


def test_refused_catches_a_question_that_was_refused() -> None:
    answered = doc("Emma Lindqvist rolled web-frontend Production back to #281 yesterday at 14:37.", [])
    assert graders.refused(answered, 0, expected=False).passed
    refused = doc("bbscout is read-only and cannot roll anything back.", [])
    refused["refused"] = "read-only"
    c = graders.refused(refused, 3, expected=False)
    assert not c.passed and "refused" in c.comment


def test_within_budget_reads_the_documents_own_stats() -> None:
    d = doc("Raj Patel opened it.", [])
    d["stats"].update(http_requests=90, tool_calls=7)
    checks = graders.within_budget(d, max_requests=1, max_tool_calls=1)
    assert [c.passed for c in checks] == [False, False] and "90" in checks[0].comment
    d["stats"].update(http_requests=0, tool_calls=0)
    assert all(c.passed for c in graders.within_budget(d, max_requests=1, max_tool_calls=0))


def test_grade_turn_grades_a_refusal_with_its_evidence(world: Any) -> None:
    rd = world.repos["api"]
    live = next(d for d in rd.deployments if d["deployable"]["name"] == "#2")
    exp = Expect(
        refused=True, oracle=OracleQuery(kind="rollback_target", repos=["api"], environment="production")
    )
    ref = f"deployment:api:{live['uuid']}"
    right = doc("bbscout is read-only: nothing was rolled back.\nProduction runs #2.", [])
    right["entities"] = [
        {
            "type": "deployment",
            "repo": "api",
            "id": live["uuid"],
            "ref": ref,
            "url": "https://bitbucket.org/acme/api",
        }
    ]
    right["refused"] = "read-only"
    checks, _, err = grade_turn(right, 3, exp, world, NOW, "UTC", "roll api prod back")
    assert err is None and all(c.passed for c in checks), [c.comment for c in checks if not c.passed]
    wrong = dict(right, entities=[], refused=None)
    checks, _, _ = grade_turn(wrong, 0, exp, world, NOW, "UTC", "roll api prod back")
    failed = {c.key for c in checks if not c.passed}
    assert failed == {"entities", "refused"}


def test_grade_turn_states_attribute_values_and_routes_asks_which(world: Any) -> None:
    exp = Expect(oracle=about(subject=["pr:api#2"], attribute="merged_by"), max_requests=1)
    d = doc("pr:api#2 was merged by Bob Builder.", ["pr:api#2"])
    checks, _, _ = grade_turn(d, 0, exp, world, NOW, "UTC", "who merged it?")
    assert {c.key for c in checks if not c.passed} == {"max_requests", "attribute"}  # doc() says 3 requests
    ask = Expect(asks_which=True, oracle=OracleQuery(kind="pull_requests", repos=["api"], pr_states=["OPEN"]))
    d = doc("Which one do you mean, #3 or #5?", [])
    checks, _, err = grade_turn(d, 0, ask, world, NOW, "UTC", "what does that one change?")
    assert err is None and checks[0].key == "asks_which" and all(c.passed for c in checks)


# --- the held-out sets and the phrasing table --------------------------------------------------------

CONVO_KINDS = {
    "kind-referent",
    "kind-ordinal",
    "kind-demonstrative",
    "kind-named",
    "kind-attribute",
    "kind-one-call",
    "kind-ellipsis",
    "kind-unbindable",
}


def _expected_refs(case: Any) -> tuple[Expect, list[str]]:
    exp = case.turns[-1].expect if case.turns else case.expect
    world = get_world(case.world, case.seed, case.anchor)
    refs = answer(world, exp.oracle, case.now, case.tz).refs if exp.oracle else []
    return exp, refs


def test_conversations_load_and_every_last_turn_has_an_answer_key() -> None:
    cases = load_cases("conversations.yaml", root=HELDOUT)
    assert len(cases) >= 30 and {c.family for c in cases} == {"followups"}
    kinds: Counter[str] = Counter()
    for c in cases:
        assert c.turns and 2 <= len(c.turns) <= 4, c.id
        assert all(t.expect == Expect() for t in c.turns[:-1]), f"{c.id}: graded on the last turn only"
        (kind,) = [t for t in c.tags if t.startswith("kind-")]
        kinds[kind] += 1
        exp, refs = _expected_refs(c)
        assert exp.oracle is not None, c.id
        assert refs or (exp.asks_which and c.id == "fu-unbound-nothing-cited"), (
            f"{c.id}: oracle finds nothing"
        )
    assert set(kinds) == CONVO_KINDS and min(kinds.values()) >= 3, kinds


def test_refusals_load_with_both_kinds_and_evidence_for_rollback_rerun_revert() -> None:
    cases = load_cases("refusals.yaml", root=HELDOUT)
    assert {c.family for c in cases} == {"refusals"}
    exps = [(c, *_expected_refs(c)) for c in cases]
    acts = [c for c, e, _ in exps if e.refused is True]
    questions = [c for c, e, _ in exps if e.refused is False]
    assert len(cases) >= 20 and len(acts) >= 10 and len(questions) >= 10
    for c, exp, refs in exps:
        assert exp.refused is not None, c.id
        verb = next(t for t in c.tags if t.startswith("verb-"))
        if exp.refused and verb in ("verb-rollback", "verb-rerun", "verb-revert"):
            assert refs, f"{c.id}: a {verb} refusal grades its read-only evidence"
            assert verb != "verb-rollback" or len(refs) == 2, c.id
            assert verb != "verb-revert" or [r.split(":")[0] for r in refs] == ["pr", "commit"], c.id
            assert verb != "verb-rerun" or (exp.oracle and exp.oracle.attribute == "failed_step"), c.id
        if not exp.refused:
            assert refs, f"{c.id}: a question about an action is graded on its answer"


def test_readonly_phrasings_table_covers_verbs_and_forms() -> None:
    rows = yaml.safe_load(PHRASINGS.read_text(encoding="utf-8"))
    assert {tuple(sorted(r)) for r in rows} == {("form", "phrasing", "previous", "refuse", "verb")}
    acts = [r for r in rows if r["refuse"] is True]
    questions = [r for r in rows if r["refuse"] is False]
    assert len(acts) >= 40 and len(questions) >= 20
    assert len({r["phrasing"].lower() for r in rows}) == len(rows)
    verbs = {
        "merge",
        "approve",
        "decline",
        "comment",
        "re-run",
        "stop",
        "deploy",
        "redeploy",
        "promote",
        "roll back",
        "revert",
        "create branch",
        "delete branch",
        "create tag",
        "delete tag",
        "change settings",
        "change permissions",
    }
    assert {r["verb"] for r in acts} == verbs
    assert {r["form"] for r in acts} == {"imperative", "polite", "please", "indirect", "follow-up"}
    assert {r["form"] for r in questions} == {"question"}
    for r in rows:
        assert r["form"] != "follow-up" or r["previous"], r["phrasing"]
        assert r["previous"] is None or r["previous"].strip(), r["phrasing"]
