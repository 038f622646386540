"""The citation guard removes what the evidence does not hold, and keeps what it does."""

from __future__ import annotations

from datetime import UTC, datetime

from bbscout.agent.plan import Plan, StepOutcome
from bbscout.agent.planners.base import PriorTurn
from bbscout.agent.report import Finding, Report, RuledOut, Suspect, TimelineEvent
from bbscout.agent.verify import REMOVED, verify_report
from bbscout.tools.evidence import CommitRecord, DeploymentRecord, Evidence, PipelineRecord, PullRequestRecord

HASH = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
AT = datetime(2026, 11, 29, 10, tzinfo=UTC)
RECORDS: list[Evidence] = [
    PipelineRecord(
        ref="pipeline:api#41",
        repo="api",
        url="https://bitbucket.org/acme/api/pipelines/results/41",
        title="pipeline #41",
        uuid="{p41}",
        build_number=41,
        state="COMPLETED",
        result="FAILED",
        commit=HASH,
        created_on=AT,
    ),
    PullRequestRecord(
        ref="pr:api#7",
        repo="api",
        url="https://bitbucket.org/acme/api/pull-requests/7",
        title="PR #7",
        id=7,
        state="MERGED",
        author="Priya",
        source_branch="feature/x",
        destination_branch="main",
        created_on=AT,
        updated_on=AT,
        merge_commit=HASH,
    ),
    CommitRecord(
        ref=f"commit:api@{HASH[:12]}",
        repo="api",
        url=f"https://bitbucket.org/acme/api/commits/{HASH}",
        title="fix: retry (PR #6)",
        hash=HASH,
        author="Priya",
        date=AT,
        message="fix: retry\n\nsee pull request #6",
    ),
]


def outcomes() -> list[StepOutcome]:
    return [StepOutcome(step_id="s1", tool="list_pipelines", records=RECORDS)]


def test_known_refs_and_ids_survive() -> None:
    report = Report(
        answer=f"[pipeline:api#41](https://x) failed on {HASH[:7]} from PR #7 (build #41).",
        entities=["pipeline:api#41", "pr:api#7"],
    )
    cleaned = verify_report(report, outcomes())
    assert cleaned.answer == report.answer
    assert cleaned.entities == ["pipeline:api#41", "pr:api#7"]


def test_invented_refs_hashes_and_numbers_are_removed_everywhere() -> None:
    report = Report(
        answer="pipeline:api#99 broke main; see commit deadbeefcafe and PR #12, build #500.",
        entities=["pipeline:api#41", "pipeline:api#99", "pr:web#3"],
        findings=[Finding(title="pr:api#8 is bad", detail="because", refs=["pr:api#7", "pr:api#8"])],
        suspects=[
            Suspect(ref="pr:api#8", score=0.9, reasons=["x"]),
            Suspect(ref="pr:api#7", score=0.5, reasons=["y"], related_refs=["deployment:api:{nope}"]),
        ],
        ruled_out=[RuledOut(ref="pr:api#9", reason="never deployed")],
        timeline=[TimelineEvent(at="2026-11-29T10:00:00Z", what="merge", ref="pr:api#10")],
        next_step="Revert PR #8",
    )
    cleaned = verify_report(report, outcomes())
    for invented in ("pipeline:api#99", "deadbeefcafe", "PR #12", "build #500"):
        assert invented not in cleaned.answer
    assert cleaned.answer.count(REMOVED) == 4
    assert cleaned.entities == ["pipeline:api#41"]
    assert cleaned.findings[0].refs == ["pr:api#7"] and "pr:api#8" not in cleaned.findings[0].title
    assert [s.ref for s in cleaned.suspects] == ["pr:api#7"] and cleaned.suspects[0].related_refs == []
    assert cleaned.ruled_out == [] and cleaned.timeline == []
    assert "#8" not in (cleaned.next_step or "")


def test_previous_turn_records_count_as_evidence_for_follow_ups() -> None:
    previous = PriorTurn(
        question="q",
        plan=Plan(family="pipelines", intent="x"),
        primary=[RECORDS[0].model_copy(update={"ref": "pipeline:web#3", "repo": "web", "build_number": 3})],
    )
    cleaned = verify_report(Report(answer="pipeline:web#3 again", entities=["pipeline:web#3"]), [], previous)
    assert cleaned.entities == ["pipeline:web#3"] and REMOVED not in cleaned.answer


def test_numbers_and_uuids_are_not_mistaken_for_hashes() -> None:
    text = "12 pipelines, 2026-11-29, deployment {0f9e8d7c-1111-4222-8333-444455556666} and 1234567"
    cleaned = verify_report(Report(answer=text), outcomes())
    assert cleaned.answer == text


def test_numbers_the_evidence_mentions_are_not_inventions() -> None:
    cleaned = verify_report(Report(answer="It reverts PR #6 and PR #5."), outcomes())
    assert "PR #6" in cleaned.answer and "PR #5" not in cleaned.answer and cleaned.answer.count(REMOVED) == 1


def test_refs_and_hashes_held_in_record_fields_survive() -> None:
    """A live deployment names the release it replaced (and its commit); a rollback the deployment it
    replaced; a landed commit the merge that brought it in: all are evidence, none is removed."""
    replaced, rolled = "deployment:api:{d1}", "deployment:api:{d0}"
    old_commit, merge = "0f88105b2c3d4e5f60718293a4b5c6d7e8f90123", "9e8d7c6b5a49382716051f2e3d4c5b6a79881726"
    live = DeploymentRecord(
        ref="deployment:api:{d2}",
        repo="api",
        url="https://bitbucket.org/acme/api/deployments",
        title="Production #12",
        uuid="{d2}",
        environment="Production",
        state="COMPLETED",
        status="SUCCESSFUL",
        commit=HASH,
        replaces=replaced,
        replaces_release="#11",
        replaces_commit=old_commit,
        rolls_back=rolled,
    )
    landed = CommitRecord(
        ref="commit:api@1234567890ab",
        repo="api",
        url="https://bitbucket.org/acme/api/commits/1234567890ab",
        title="feat",
        hash="1234567890abcdef1234567890abcdef12345678",
        author="Priya",
        date=AT,
        message="feat",
        branch="main",
        entered_via=merge,
    )
    text = (
        f"Live: deployment:api:{{d2}}; it replaced {replaced} (commit `{old_commit[:12]}`), rolling back "
        f"{rolled}; commit:api@1234567890ab entered main via `{merge[:10]}`."
    )
    report = Report(answer=text, entities=["deployment:api:{d2}", replaced])
    cleaned = verify_report(
        report, [StepOutcome(step_id="s", tool="list_deployments", records=[live, landed])]
    )
    assert cleaned.answer == text and cleaned.entities == report.entities
    assert REMOVED not in cleaned.answer
    # a deployment ref no record holds is still removed
    invented = verify_report(
        Report(answer="and deployment:api:{d9}"), [StepOutcome(step_id="s", tool="t", records=[live])]
    )
    assert REMOVED in invented.answer
