"""The sandbox's ground truth builds refs on its own (a product formatting bug must not agree with itself),
to the same grammar as the product (DESIGN.md, "Refs")."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from bbscout.sandbox.world import build_world, refs
from bbscout.tools import evidence

HASH = "0123456789abcdef0123456789abcdef01234567"
UUID = "{2a5decad-0000-4000-8000-000000000001}"
GRAMMAR = re.compile(
    r"^(?:pipeline:[\w.-]+#\d+|pr:[\w.-]+#\d+|commit:[\w.-]+@[0-9a-f]{12}|deployment:[\w.-]+:\{[0-9a-f-]{36}\})$"
)


def test_ground_truth_refs_follow_the_documented_grammar() -> None:
    assert refs.pipeline_ref("api-gateway", 283) == "pipeline:api-gateway#283"
    assert refs.pr_ref("checkout-service", 68) == "pr:checkout-service#68"
    assert refs.commit_ref("web-frontend", HASH) == "commit:web-frontend@0123456789ab"
    assert refs.deployment_ref("checkout-service", UUID) == f"deployment:checkout-service:{UUID}"


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("pipeline_ref", ("api-gateway", 283)),
        ("pr_ref", ("checkout-service", 68)),
        ("commit_ref", ("web-frontend", HASH)),
        ("deployment_ref", ("checkout-service", UUID)),
    ],
)
def test_the_product_formats_refs_exactly_as_the_ground_truth(name: str, args: tuple[object, ...]) -> None:
    assert getattr(evidence, name)(*args) == getattr(refs, name)(*args)


def test_every_planted_answer_ref_is_well_formed() -> None:
    world = build_world("default", seed=7, anchor=datetime(2026, 11, 29, 16, 0, tzinfo=UTC))
    planted = [r for s in world.scenarios.values() for r in [*s.answer_refs, s.culprit_ref] if r]
    assert planted and all(GRAMMAR.match(r) for r in planted), [r for r in planted if not GRAMMAR.match(r)]


def test_the_sandbox_imports_nothing_of_the_product() -> None:
    code = (
        "import sys\n"
        "import bbscout.sandbox.app, bbscout.sandbox.cli, bbscout.sandbox.llm_double, bbscout.sandbox.world\n"
        "print(sorted(m for m in sys.modules if m.startswith(('bbscout.tools', 'bbscout.agent'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
