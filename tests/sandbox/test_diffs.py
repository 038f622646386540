"""The sandbox's one diff algorithm: shortest (so a range of commits counts what its commits do) and
exact (its hunks rebuild the new text from the old, and back)."""

from __future__ import annotations

import random
from functools import cache

from bbscout.sandbox.repoindex import apply_patch
from bbscout.sandbox.world.diffs import diff_trees, file_change


def lcs(a: list[str], b: list[str]) -> int:
    @cache
    def go(i: int, j: int) -> int:
        if i == len(a) or j == len(b):
            return 0
        return 1 + go(i + 1, j + 1) if a[i] == b[j] else max(go(i + 1, j), go(i, j + 1))

    return go(0, 0)


def text(lines: list[str]) -> str:
    return "".join(x + "\n" for x in lines)


def test_counts_are_the_fewest_lines_and_the_hunks_apply_both_ways() -> None:
    rng = random.Random(5)
    alphabet = ["a", "b", "}", "", "    return x", "x = 1"]  # repeats and blank lines, as in code
    for _ in range(1500):
        a = [rng.choice(alphabet) for _ in range(rng.randint(0, 18))]
        b = list(a)
        for _ in range(rng.randint(1, 5)):
            if b and rng.random() < 0.4:
                del b[rng.randrange(len(b))]
            else:
                b.insert(rng.randint(0, len(b)), rng.choice(alphabet))
        ch = file_change("f", a, b)
        if a == b:
            assert ch is None
            continue
        assert ch is not None
        common = lcs(a, b)
        assert (ch.lines_removed, ch.lines_added) == (len(a) - common, len(b) - common), (a, b)
        assert apply_patch(text(a), ch.patch) == text(b), (a, b, ch.patch)
        assert apply_patch(text(b), ch.patch, reverse=True) == text(a), (a, b, ch.patch)


def test_hunks_look_like_git() -> None:
    old = [f"line {i}" for i in range(1, 21)]
    new = [*old[:9], "changed", *old[10:], "end"]
    ch = file_change("f", old, new)
    assert ch is not None and ch.status == "modified"
    assert ch.patch.splitlines() == [
        "@@ -7,7 +7,7 @@",
        " line 7",
        " line 8",
        " line 9",
        "-line 10",
        "+changed",
        " line 11",
        " line 12",
        " line 13",
        "@@ -18,3 +18,4 @@",
        " line 18",
        " line 19",
        " line 20",
        "+end",
    ]
    added, removed = diff_trees({}, {"n": "x\ny\n"}), diff_trees({"n": "x\ny\n"}, {})
    assert [(c.status, c.patch) for c in added] == [("added", "@@ -0,0 +1,2 @@\n+x\n+y\n")]
    assert [(c.status, c.patch) for c in removed] == [("removed", "@@ -1,2 +0,0 @@\n-x\n-y\n")]
