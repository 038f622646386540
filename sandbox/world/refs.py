"""Ground-truth refs for planted scenarios, written from the ref grammar in DESIGN.md ("Refs").

Deliberately independent of the product's formatters (`bbscout.tools.evidence`): if bbscout ever
formats a ref wrongly, its answers stop matching the sandbox's ground truth instead of agreeing with
themselves. `tests/sandbox/test_refs.py` holds the two to the same grammar.
"""

from __future__ import annotations

__all__ = ["commit_ref", "deployment_ref", "pipeline_ref", "pr_ref"]

SHORT_HASH = 12  # commits are cited by their first 12 hex digits


def pipeline_ref(repo: str, build_number: int) -> str:
    """`pipeline:REPO#BUILD`."""
    return f"pipeline:{repo}#{build_number}"


def pr_ref(repo: str, pr_id: int) -> str:
    """`pr:REPO#ID`."""
    return f"pr:{repo}#{pr_id}"


def commit_ref(repo: str, commit_hash: str) -> str:
    """`commit:REPO@HASH12`."""
    return f"commit:{repo}@{commit_hash[:SHORT_HASH]}"


def deployment_ref(repo: str, uuid: str) -> str:
    """`deployment:REPO:{UUID}` (the deployment's uuid, braces included, as Bitbucket writes it)."""
    return f"deployment:{repo}:{uuid}"
