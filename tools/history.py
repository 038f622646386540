"""When a commit entered a branch: its first-parent history, computed from `parents`.

"Merged to main yesterday" is about when a commit reached main, not when it was written. A branch's
first-parent chain (head, head^1, head^1^1, …) is the sequence of states the branch went through;
each chain commit entered at its own date (the merge commit's date for a merge, the commit's for a
direct push or squash), and a merge brings in every commit reachable from its other parents that
was not on the branch before. So a commit authored last week and merged yesterday entered
yesterday; one authored yesterday and merged today entered today.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bbscout.tools.context import parse_dt

__all__ = ["Entry", "FirstParentChain", "assign_entries"]


@dataclass(frozen=True)
class Entry:
    """A commit's arrival on the branch: when, and the first-parent commit that brought it."""

    on: datetime
    via: str  # full hash of the chain commit (the commit itself for a direct push)


def _parents(raw: Mapping[str, Any]) -> list[str]:
    return [str(p.get("hash")) for p in raw.get("parents") or [] if isinstance(p, dict) and p.get("hash")]


@dataclass
class FirstParentChain:
    """Follows the first-parent chain through a newest-first `/commits/{branch}` listing.

    The listing starts at the branch head (git log starts its walk there); every later chain commit
    is the first parent of the previous one. `see(raw)` returns True for chain commits.
    """

    chain: list[dict[str, Any]] = field(default_factory=list)
    expected: str | None = None

    def see(self, raw: dict[str, Any]) -> bool:
        sha = str(raw.get("hash") or "")
        if self.chain and sha != self.expected:
            return False
        self.chain.append(raw)
        parents = _parents(raw)
        self.expected = parents[0] if parents else None
        return True


def assign_entries(
    window: Sequence[Mapping[str, Any]], entered: Mapping[str, Mapping[str, Any]]
) -> dict[str, Entry]:
    """Each commit that entered with a window of chain commits (newest first) → its `Entry`.

    `entered` holds the candidate commits by full hash (those reachable from the window's newest
    chain commit but not from the chain commit below the window). Chain commits are processed oldest
    first, so a commit reachable from two merges belongs to the earlier one.
    """
    out: dict[str, Entry] = {}
    for chain_commit in reversed(window):
        sha = str(chain_commit.get("hash") or "")
        when = parse_dt(chain_commit.get("date"))
        if not sha or when is None:
            continue
        out[sha] = Entry(when, sha)
        stack = _parents(chain_commit)[1:]
        while stack:
            h = stack.pop()
            if h in out or h not in entered:
                continue
            out[h] = Entry(when, sha)
            stack.extend(_parents(entered[h]))
    return out
