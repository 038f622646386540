"""Every family the rules planner claims, asked in several phrasings against the sandbox world.

Expected entities come from the eval cases' oracle and planted ground truth (never from bbscout's
output). This runs the whole rules suite once; the per-family floor here is the acceptance floor
(three phrasings answered exactly), and the suite's own gate (`make evals`) holds the pass rate.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from bbscout.evals.case import load_cases
from bbscout.evals.runner import RunConfig, run_cases

RULES_FAMILIES = (
    "pipelines",
    "pull_requests",
    "commits",
    "branches",
    "deployments",
    "code",
    "incidents",
    "repositories",
    "chat",
)


def test_each_family_answers_at_least_three_phrasings_exactly() -> None:
    results = asyncio.run(run_cases(load_cases(), RunConfig(planner="rules", concurrency=4)))
    passed: dict[str, int] = defaultdict(int)
    for result in results:
        assert result.crash is None, f"{result.case_id} crashed: {result.crash}"
        hallucinated = [c for c in result.checks if c.key.startswith("hallucinat") and not c.passed]
        leaked = [c for c in result.checks if "secret" in c.key and not c.passed]
        assert not hallucinated and not leaked, (result.case_id, result.failures)
        passed[result.family] += result.passed
    short = {family: passed[family] for family in RULES_FAMILIES if passed[family] < 3}
    assert not short, f"families with fewer than 3 exact answers: {short}"
