"""Answer shapes issue 10's held-out set 4 asked for, end to end over the sandbox world (seed 7), each in
phrasings of our own: the expected objects are read from the world, never from bbscout's output.

A branch named by words of its name, a file described by what it is (with the asked line first), one PR
asked by number (reviewers, approvals, merge commit cited), the commit that is live, a metric's value
asked over a time, and the single-object rule on the first line.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bbscout.evals.oracle import _pr_changes
from bbscout.sandbox.world import build_world
from tests.agent.test_graph_e2e import NOW, refs, session_for

ANCHOR = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> Any:
    return build_world("default", seed=7, anchor=ANCHOR)


def pipelines_on(world: Any, slug: str, branch_words: list[str]) -> set[str]:
    """Runs of the existing branches whose names hold every word (a PR's runs are its source branch's)."""
    rd = world.repos[slug]
    names = {b for b in rd.branches if all(w in b.lower() for w in branch_words)}
    return {
        f"pipeline:{slug}#{p['build_number']}"
        for p in rd.pipelines
        if (p["target"].get("ref_name") or p["target"].get("source")) in names
    }


async def ask(world: Any, question: str) -> Any:
    async with session_for(world) as session:
        return await session.ask(question, now=NOW)


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("CI runs of the canadian provincial rates branch in checkout", ["canadian", "provincial", "rates"]),
        ("builds on the connection reset retry branch in checkout", ["retry", "connection", "reset"]),
    ],
)
async def test_a_branch_named_by_its_words_lists_the_runs_of_every_branch_that_holds_them(
    world: Any, question: str, words: list[str]
) -> None:
    expected = pipelines_on(world, "checkout-service", words)
    assert expected  # the world has such runs
    result = await ask(world, question)
    assert set(refs(result)) == expected
    first = result.document["answer"].splitlines()[0]
    assert "branches named like" in first and "rule: the branches whose names hold" in first


async def test_a_described_file_is_found_and_the_asked_line_leads(world: Any) -> None:
    result = await ask(world, "what is the db pool size in the staging config of checkout?")
    assert refs(result) == ["file:checkout-service:config/staging.yaml@main"]
    first = result.document["answer"].splitlines()[0]
    assert "pool_size: 5" in first  # the world's config/staging.yaml holds `pool_size: 5`
    assert "rule: the file that best matches “staging config”" in first


async def test_one_pr_asked_by_number_names_its_reviewers_approvals_and_merge_commit(world: Any) -> None:
    pr = world.repos["checkout-service"].pullrequests[68]
    merge = pr["merge_commit"]["hash"][:12]
    result = await ask(world, "tell me about pull request 68 in checkout-service — who reviewed it?")
    answer = result.document["answer"]
    for reviewer in pr["reviewers"]:
        assert reviewer["display_name"] in answer
    assert f"commit:checkout-service@{merge}" in refs(result)
    entity = next(e for e in result.document["entities"] if e["type"] == "commit")
    assert entity["url"].endswith(entity["id"]) and entity["id"].startswith(merge)


async def test_which_commit_is_live_cites_the_commit(world: Any) -> None:
    result = await ask(world, "what commit does staging run for payments-service at the moment?")
    commits = [r for r in refs(result) if r.startswith("commit:")]
    deployments = [e for e in result.document["entities"] if e["type"] == "deployment"]
    assert len(commits) == 1 and len(deployments) == 1
    uuid = deployments[0]["id"]
    live = next(d for d in world.repos["payments-service"].deployments if d["uuid"] == uuid)
    assert commits == [f"commit:payments-service@{live['release']['commit']['hash'][:12]}"]


async def test_a_metric_value_over_a_time_is_unknowable_and_cites_nothing(world: Any) -> None:
    result = await ask(world, "what's the p95 latency of auth-service been since the 9:00 deploy?")
    assert result.document["entities"] == []
    assert "no metrics" in result.document["answer"]


async def test_the_single_object_rule_is_on_the_first_line(world: Any) -> None:
    result = await ask(world, "the most recent failed build in checkout-service")
    first = result.document["answer"].splitlines()[0]
    assert first.startswith("The newest failed pipeline") and "(rule: the newest by created_on" in first


@pytest.mark.parametrize(
    ("question", "slug", "pr"),
    [
        ("which files did pull request 3 in checkout-service touch?", "checkout-service", 3),
        ("show me the changed files of PR #2 in auth", "auth-service", 2),
        ("payments PR 3: what files were modified? give me the diffstat", "payments-service", 3),
    ],
)
async def test_a_pr_asked_for_its_files_lists_its_diffstat(
    world: Any, question: str, slug: str, pr: int
) -> None:
    expected = set(_pr_changes(world.repos[slug], pr))  # the files of the PR's own commits, from the world
    assert expected
    result = await ask(world, question)
    files = {r.split(":", 2)[2].rsplit("@", 1)[0] for r in refs(result) if r.startswith("file:")}
    assert files == expected
    assert f"pr:{slug}#{pr}" in refs(result)
    for path in expected:
        assert f"`{path}`" in result.document["answer"]
