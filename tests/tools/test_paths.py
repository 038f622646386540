"""A file described by words (`tools.paths.describes`): every word must name a part of the path, in any of
the forms people use for it; the file's own name beats its directories, and shallower paths win ties."""

from __future__ import annotations

import pytest

from bbscout.tools.paths import describes

TREE = [
    "config/production.yaml",
    "config/staging.yaml",
    "src/checkout/settings.py",
    "modules/eks/variables.tf",
    "modules/eks/main.tf",
    "modules/rds/variables.tf",
    "envs/production/main.tf",
    "charts/web/values-staging.yaml",
    "Dockerfile",
]


def best(words: list[str]) -> str | None:
    scored = [(s, p) for p in TREE if (s := describes(p, words)) is not None]
    return max(scored, key=lambda sp: (sp[0], [-ord(c) for c in sp[1]]))[1] if scored else None


@pytest.mark.parametrize(
    ("words", "path"),
    [
        (["prod", "config"], "config/production.yaml"),
        (["staging", "configuration"], "config/staging.yaml"),
        (["variables", "eks", "module"], "modules/eks/variables.tf"),
        (["rds", "vars"], "modules/rds/variables.tf"),
        (["prod", "terraform", "main"], "envs/production/main.tf"),  # a .tf file is terraform
        (["prod", "kafka"], None),
        (["production", "env", "main"], "envs/production/main.tf"),
        (["helm", "staging", "values"], "charts/web/values-staging.yaml"),
        (["docker"], "Dockerfile"),
        (["settings"], "src/checkout/settings.py"),  # the file's own name beats config/ directories
        (["billing", "config"], None),
    ],
)
def test_the_best_described_path(words: list[str], path: str | None) -> None:
    assert best(words) == path


def test_every_word_must_name_a_part() -> None:
    assert describes("config/production.yaml", ["prod", "config", "eks"]) is None
    assert describes("modules/eks/variables.tf", ["eks"]) is not None
    deeper = describes("a/b/c/config/production.yaml", ["prod", "config"])
    shallow = describes("config/production.yaml", ["prod", "config"])
    assert deeper is not None and shallow is not None and shallow > deeper
