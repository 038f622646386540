"""File contents through a simulated repository's history.

A tree maps each path to a tuple of line ids; every line ever written gets a fresh id, so an edit
says exactly which lines it removed and where it added new ones, and a merge of two branches keeps
both sides' edits (a line is gone when either side removed it; each side's new lines stay after the
line they followed). A commit's stored changes are then the text diff between its first parent's
tree and its own, which makes every commit's changes compose into the trees of later commits.
"""

from __future__ import annotations

from bbscout.sandbox.world.diffs import file_change, split_lines
from bbscout.sandbox.world.model import FileChange

__all__ = ["Lines", "Tree"]

Tree = dict[str, tuple[int, ...]]


class Lines:
    """Every line of one repository: its text and the commit that wrote it."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.origin: list[str] = []

    def new(self, texts: list[str] | tuple[str, ...], origin: str) -> tuple[int, ...]:
        first = len(self.text)
        self.text.extend(texts)
        self.origin.extend([origin] * len(texts))
        return tuple(range(first, len(self.text)))

    def tree(self, files: dict[str, str], origin: str) -> Tree:
        return {path: self.new(split_lines(text), origin) for path, text in files.items()}

    def render(self, ids: tuple[int, ...]) -> str:
        return "".join(self.text[i] + "\n" for i in ids)

    def texts(self, ids: tuple[int, ...]) -> list[str]:
        return [self.text[i] for i in ids]

    def changes(self, before: Tree, after: Tree) -> list[FileChange]:
        """The text diff of every path whose lines differ, by path."""
        out = []
        for path in sorted(before.keys() | after.keys()):
            old, new = before.get(path), after.get(path)
            if old == new:
                continue
            ch = file_change(
                path, None if old is None else self.texts(old), None if new is None else self.texts(new)
            )
            if ch is not None:
                out.append(ch)
        return out


def splice(tree: Tree, path: str, at: int, remove: int, ids: tuple[int, ...]) -> Tree:
    """A copy of `tree` with `remove` lines of `path` at index `at` replaced by `ids`."""
    old = tree.get(path, ())
    out = dict(tree)
    out[path] = old[:at] + ids + old[at + remove :]
    return out


def merge(base: Tree, ours: Tree, theirs: Tree) -> Tree:
    """Both sides' edits since `base`, path by path (see the module docstring)."""
    out: Tree = {}
    for path in sorted(ours.keys() | theirs.keys()):
        b, o, t = base.get(path), ours.get(path), theirs.get(path)
        if o == t or t == b:
            merged = o
        elif o == b:
            merged = t
        elif o is None or t is None:  # removed on one side, edited on the other: keep the edit
            merged = o if t is None else t
        else:
            merged = _merge_lines(b or (), o, t)
        if merged is not None:
            out[path] = merged
    return out


def _merge_lines(base: tuple[int, ...], ours: tuple[int, ...], theirs: tuple[int, ...]) -> tuple[int, ...]:
    kept_base = set(base)
    gone = (kept_base - set(ours)) | (kept_base - set(theirs))
    out = [i for i in ours if i not in gone]
    present = set(out)
    anchor = -1  # index in `out` after which theirs' next new line goes
    for i in theirs:
        if i in present:
            anchor = out.index(i)
        elif i not in kept_base:
            anchor += 1
            out.insert(anchor, i)
            present.add(i)
    return tuple(out)
