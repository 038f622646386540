"""Lazy per-repository indexes over a `RepoData`: ref resolution, ancestry, trees at any commit,
pipelines/steps by id. Built on first use and cached for the app's lifetime (worlds are immutable)."""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from functools import cached_property
from typing import Any

from bbscout.sandbox.world.diffs import diff_trees
from bbscout.sandbox.world.model import FileChange, RepoData

__all__ = ["RepoIndex", "apply_patch"]

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(ValueError):
    pass


def apply_patch(text: str | None, patch: str, reverse: bool = False) -> str:
    """Apply unified-diff hunks (no file headers) to `text`; `reverse` undoes them."""
    src = (text or "").split("\n")
    trailing_nl = (text or "").endswith("\n")
    if trailing_nl:
        src.pop()
    if text is None or text == "":
        src = []
    out: list[str] = []
    pos = 0
    minus, plus = ("+", "-") if reverse else ("-", "+")
    lines = patch.split("\n")
    i = 0
    saw_hunk = False
    while i < len(lines):
        m = _HUNK.match(lines[i])
        i += 1
        if not m:
            continue
        saw_hunk = True
        start, count = (m.group(3), m.group(4)) if reverse else (m.group(1), m.group(2))
        s = int(start) - (0 if count == "0" else 1)
        if s < pos or s > len(src):
            raise PatchError("hunk out of order")
        out.extend(src[pos:s])
        pos = s
        while i < len(lines) and not lines[i].startswith("@@"):
            line = lines[i]
            i += 1
            if line.startswith("\\"):
                continue
            tag, body = line[:1], line[1:]
            if tag == " " or (tag == "" and line == "" and i < len(lines)):
                if pos >= len(src) or src[pos] != body:
                    if tag == "" and line == "":
                        continue
                    raise PatchError("context mismatch")
                out.append(body)
                pos += 1
            elif tag == minus:
                if pos >= len(src) or src[pos] != body:
                    raise PatchError("removed line mismatch")
                pos += 1
            elif tag == plus:
                out.append(body)
    if not saw_hunk:
        return text or ""
    out.extend(src[pos:])
    return "\n".join(out) + ("\n" if out else "")


def fake_blob(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:7]


class RepoIndex:
    def __init__(self, data: RepoData) -> None:
        self.data = data
        self._anc: OrderedDict[str, frozenset[str]] = OrderedDict()
        self._trees: OrderedDict[str, dict[str, str]] = OrderedDict()

    # ---- commits and refs -------------------------------------------------------------------
    @cached_property
    def pos(self) -> dict[str, int]:
        return {h: i for i, h in enumerate(self.data.commit_order)}

    @cached_property
    def main_head(self) -> str:
        return self.data.branches.get(self.data.main_branch) or self.data.commit_order[0]

    def resolve(self, rev: str) -> str | None:
        """Full hash for a hash (full or >=7-char unique prefix), branch or tag name."""
        d = self.data
        if rev in d.commits:
            return rev
        if rev in d.branches:
            return d.branches[rev]
        if rev in d.tags:
            return str(d.tags[rev]["hash"])
        if len(rev) >= 7 and re.fullmatch(r"[0-9a-f]+", rev):
            hits = [h for h in d.commit_order if h.startswith(rev)]
            if len(hits) == 1:
                return hits[0]
        return None

    def parents(self, h: str) -> list[str]:
        c = self.data.commits.get(h)
        if not c:
            return []
        out = []
        for p in c.get("parents", []):
            ph = self.resolve(p["hash"]) if p["hash"] not in self.data.commits else p["hash"]
            if ph:
                out.append(ph)
        return out

    def ancestors(self, h: str) -> frozenset[str]:
        """`h` and everything reachable from it."""
        if h in self._anc:
            self._anc.move_to_end(h)
            return self._anc[h]
        seen = {h}
        stack = [h]
        while stack:
            for p in self.parents(stack.pop()):
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
        result = frozenset(seen)
        self._anc[h] = result
        if len(self._anc) > 256:
            self._anc.popitem(last=False)
        return result

    def ordered(self, hashes: set[str] | frozenset[str]) -> list[str]:
        return sorted(hashes, key=lambda h: self.pos.get(h, 1 << 30))

    def merge_base(self, a: str, b: str) -> str | None:
        common = self.ancestors(a) & self.ancestors(b)
        return self.ordered(common)[0] if common else None

    def first_parent_chain(self, h: str) -> list[str]:
        chain = [h]
        seen = {h}
        while True:
            ps = self.parents(chain[-1])
            if not ps or ps[0] in seen:
                return chain
            chain.append(ps[0])
            seen.add(ps[0])

    @cached_property
    def head_chain(self) -> list[str]:
        return self.first_parent_chain(self.main_head)

    @cached_property
    def head_chain_pos(self) -> dict[str, int]:
        return {h: i for i, h in enumerate(self.head_chain)}

    def touches(self, h: str, path: str) -> bool:
        prefix = path.rstrip("/") + "/"
        for ch in self.data.changes.get(h, []):
            for p in (ch.path, ch.old_path):
                if p and (p == path or p.startswith(prefix)):
                    return True
        return False

    # ---- trees ---------------------------------------------------------------------------------
    def tree_at(self, h: str) -> dict[str, str]:
        """path -> content at commit `h`, rebuilt from the main head by undoing and replaying
        first-parent changes. A world's stored changes always compose, so a hunk that does not apply
        is an error (PatchError), never silently skipped."""
        if h in self._trees:
            self._trees.move_to_end(h)
            return self._trees[h]
        tree = dict(self.data.files)
        if h != self.main_head:
            own: list[str] = []
            base_idx = None
            for c in self.first_parent_chain(h):
                if c in self.head_chain_pos:
                    base_idx = self.head_chain_pos[c]
                    break
                own.append(c)
            undo = self.head_chain[:base_idx] if base_idx is not None else self.head_chain
            if base_idx is None:
                tree = {}
            else:
                for c in undo:
                    for ch in self.data.changes.get(c, []):
                        _undo(tree, ch)
            for c in reversed(own):
                for ch in self.data.changes.get(c, []):
                    _do(tree, ch)
        tree = dict(sorted(tree.items()))
        self._trees[h] = tree
        if len(self._trees) > 64:
            self._trees.popitem(last=False)
        return tree

    def changes_between(self, new: str, old: str | None) -> list[FileChange]:
        """FileChanges turning `old` into `new`: stored patches when `old` is `new`'s first parent,
        otherwise the diff of the two trees, by the same algorithm that made the stored patches
        (renames are then add+remove)."""
        ps = self.parents(new)
        if old is None or (ps and ps[0] == old):
            return list(self.data.changes.get(new, []))
        return diff_trees(self.tree_at(old), self.tree_at(new))

    # ---- pipelines --------------------------------------------------------------------------
    @cached_property
    def pipelines_by_uuid(self) -> dict[str, dict[str, Any]]:
        return {p["uuid"]: p for p in self.data.pipelines}

    @cached_property
    def pipelines_by_number(self) -> dict[int, dict[str, Any]]:
        return {int(p["build_number"]): p for p in self.data.pipelines}

    @cached_property
    def steps_by_uuid(self) -> dict[str, tuple[str, dict[str, Any]]]:
        return {s["uuid"]: (pu, s) for pu, steps in self.data.steps.items() for s in steps}

    @cached_property
    def deployments_by_uuid(self) -> dict[str, dict[str, Any]]:
        return {d["uuid"]: d for d in self.data.deployments}

    @cached_property
    def environments_by_uuid(self) -> dict[str, dict[str, Any]]:
        return {e["uuid"]: e for e in self.data.environments}


def _do(tree: dict[str, str], ch: FileChange) -> None:
    if ch.status == "added":
        tree[ch.path] = apply_patch(None, ch.patch)
    elif ch.status == "removed":
        tree.pop(ch.path, None)
    elif ch.status == "renamed":
        old = tree.pop(ch.old_path or ch.path, None)
        tree[ch.path] = apply_patch(old, ch.patch) if old is not None else ""
    elif ch.path in tree:
        tree[ch.path] = apply_patch(tree[ch.path], ch.patch)


def _undo(tree: dict[str, str], ch: FileChange) -> None:
    if ch.status == "added":
        tree.pop(ch.path, None)
    elif ch.status == "removed":
        tree[ch.path] = apply_patch(None, ch.patch, reverse=True)
    elif ch.status == "renamed":
        new = tree.pop(ch.path, None)
        tree[ch.old_path or ch.path] = apply_patch(new, ch.patch, reverse=True) if new is not None else ""
    elif ch.path in tree:
        tree[ch.path] = apply_patch(tree[ch.path], ch.patch, reverse=True)
