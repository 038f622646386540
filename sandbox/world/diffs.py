"""Line diffs: the one algorithm behind every change the sandbox stores or serves.

Myers' shortest edit script (git's default diff algorithm), so a diff's counts are the fewest lines
removed and added that turn one text into the other. The generator stores each commit's changes with
it and the server diffs arbitrary commits with it, so a commit's diffstat and a diff over a range of
commits are always measured the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from bbscout.sandbox.world.model import FileChange

__all__ = ["diff_trees", "file_change", "split_lines"]

CONTEXT = 3


def split_lines(text: str | None) -> list[str]:
    """The lines of a file's text, without their newlines (a final newline ends the last line)."""
    if not text:
        return []
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return lines


def _edit_script(a: list[str], b: list[str]) -> list[tuple[str, int, int]]:
    """("=", i, j) keeps a[i] as b[j], ("-", i, j) removes a[i], ("+", i, j) adds b[j]: a shortest
    such script, each run of changes with its removals first, and of the common head and tail only
    the lines a hunk shows as context. The head and tail are kept as they are (some shortest script
    always keeps them); Myers' algorithm does the rest."""
    head = _common_run(a, b, 0, min(len(a), len(b)), lambda x, k: x[:k])
    tail = _common_run(a, b, 0, min(len(a), len(b)) - head, lambda x, k: x[len(x) - k :])
    middle = _myers(a[head : len(a) - tail], b[head : len(b) - tail])
    return (
        [("=", i, i) for i in range(max(0, head - CONTEXT), head)]
        + [(op, i + head, j + head) for op, i, j in middle]
        + [("=", len(a) - tail + k, len(b) - tail + k) for k in range(min(tail, CONTEXT))]
    )


def _common_run(
    a: list[str], b: list[str], lo: int, hi: int, part: Callable[[list[str], int], list[str]]
) -> int:
    """The largest k in [lo, hi] with part(a, k) == part(b, k), by bisection (list compares are fast)."""
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if part(a, mid) == part(b, mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _myers(a: list[str], b: list[str]) -> list[tuple[str, int, int]]:
    """A shortest edit script (Myers 1986)."""
    n, m = len(a), len(b)
    v = {1: 0}
    trace: list[dict[int, int]] = []
    for d in range(n + m + 1):
        trace.append(dict(v))
        for k in range(-d, d + 1, 2):
            x = v[k + 1] if k == -d or (k != d and v[k - 1] < v[k + 1]) else v[k - 1] + 1
            y = x - k
            while x < n and y < m and a[x] == b[y]:
                x, y = x + 1, y + 1
            v[k] = x
            if x >= n and y >= m:
                return _backtrack(trace, a, b)
    raise AssertionError("unreachable: an edit script always exists")


def _backtrack(trace: list[dict[int, int]], a: list[str], b: list[str]) -> list[tuple[str, int, int]]:
    x, y = len(a), len(b)
    ops: list[tuple[str, int, int]] = []
    for d in range(len(trace) - 1, -1, -1):
        v = trace[d]
        k = x - y
        prev_k = k + 1 if k == -d or (k != d and v[k - 1] < v[k + 1]) else k - 1
        prev_x = v[prev_k]
        prev_y = prev_x - prev_k
        while x > prev_x and y > prev_y:
            x, y = x - 1, y - 1
            ops.append(("=", x, y))
        if d > 0:
            if x == prev_x:
                ops.append(("+", x, prev_y))
            else:
                ops.append(("-", prev_x, y))
        x, y = prev_x, prev_y
    ops.reverse()
    return _removals_first(ops)


def _removals_first(ops: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Each run of changes between kept lines as git prints it: its removals, then its additions."""
    out: list[tuple[str, int, int]] = []
    added: list[tuple[str, int, int]] = []
    for op in ops:
        if op[0] == "+":
            added.append(op)
            continue
        if op[0] == "=" and added:
            out.extend(added)
            added = []
        out.append(op)
    out.extend(added)
    return out


def _range(start: int, length: int) -> str:
    """A hunk header range as git and difflib write it (`start` is 0-based)."""
    if length == 1:
        return str(start + 1)
    return f"{start + (1 if length else 0)},{length}"


def _hunks(a: list[str], b: list[str]) -> tuple[str, int, int]:
    """Unified-diff hunks (no file headers), lines added, lines removed."""
    ops = _edit_script(a, b)
    changed = [i for i, op in enumerate(ops) if op[0] != "="]
    if not changed:
        return "", 0, 0
    groups: list[tuple[int, int]] = []  # [first, last] op indexes of each hunk's changes
    for i in changed:
        if groups and i - groups[-1][1] <= 2 * CONTEXT + 1:
            groups[-1] = (groups[-1][0], i)
        else:
            groups.append((i, i))
    out: list[str] = []
    for first, last in groups:
        lo, hi = max(0, first - CONTEXT), min(len(ops), last + CONTEXT + 1)
        part = ops[lo:hi]
        a_start = next((i for op, i, _ in part if op != "+"), part[0][1])
        b_start = next((j for op, _, j in part if op != "-"), part[0][2])
        a_len = sum(op != "+" for op, _, _ in part)
        b_len = sum(op != "-" for op, _, _ in part)
        out.append(f"@@ -{_range(a_start, a_len)} +{_range(b_start, b_len)} @@\n")
        for op, i, j in part:
            out.append(f" {a[i]}\n" if op == "=" else f"-{a[i]}\n" if op == "-" else f"+{b[j]}\n")
    removed = sum(op == "-" for op, _, _ in ops)
    return "".join(out), len(b) - len(a) + removed, removed


def file_change(path: str, old: list[str] | None, new: list[str] | None) -> FileChange | None:
    """How the lines of `path` changed from `old` to `new` (None: the file does not exist); None
    when they did not."""
    if old == new:
        return None
    patch, added, removed = _hunks(old or [], new or [])
    status = "added" if old is None else "removed" if new is None else "modified"
    return FileChange(path, status, added, removed, patch)  # type: ignore[arg-type]


def diff_trees(before: dict[str, str], after: dict[str, str]) -> list[FileChange]:
    """The changes turning one tree (path -> text) into another, by path."""
    out = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        ch = file_change(
            path, None if old is None else split_lines(old), None if new is None else split_lines(new)
        )
        if ch is not None:
            out.append(ch)
    return out
