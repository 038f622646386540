"""Single-object selection for the listing tools: "the latest successful build", "the newest branch".

A question that asks for one object gets exactly one record and a note stating the rule that chose
it ("the newest by created_on among SUCCESSFUL pipelines on main in api-gateway"), so the answer
can say what "latest" meant instead of handing back a list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from bbscout.tools.args import Pick

__all__ = ["PICK_SCAN", "pick_one", "plural", "repositories", "wanted"]

R = TypeVar("R")
PICK_SCAN = 500  # records compared at most for "oldest" (newest-first listings must read them all)


def wanted(pick: Pick | None, limit: int) -> int:
    """How many matches a listing must collect: 1 for "newest" (newest-first listings stop there)."""
    if pick == "newest":
        return 1
    if pick == "oldest":
        return PICK_SCAN
    return limit


def plural(n: int, word: str, many: str | None = None) -> str:
    """ "1 deployment", "2 deployments" (`many` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def repositories(slugs: Sequence[str]) -> str:
    """Where a listing looked, as its note says it: the one repository by name, else how many."""
    return slugs[0] if len(slugs) == 1 else plural(len(slugs), "repository", "repositories")


def pick_one(
    records: Sequence[R],
    pick: Pick | None,
    key: Callable[[R], datetime],
    *,
    field: str,
    among: str,
    complete: bool = True,
) -> tuple[list[R], list[str]]:
    """`records` unchanged without `pick`; else the one chosen and the note that states the rule.

    `complete` False says the candidates were cut by a bound, so "oldest" is the oldest of those read.
    """
    if pick is None:
        return list(records), []
    if not records:
        return [], [f"rule: the {pick} by {field} among {among}: none matched"]
    chosen = max(records, key=key) if pick == "newest" else min(records, key=key)
    note = f"rule: the {pick} by {field} among {among}"
    if not complete and pick == "oldest":
        note += f" (compared the {len(records)} read; older ones exist beyond the scan bound)"
    return [chosen], [note]
