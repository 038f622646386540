"""Partial responses: Bitbucket's `fields=` parameter.

Rules (comma-separated, applied in order; the last rule that names a path exactly wins):
  * `a.b`   bare: the response keeps only what bare rules name (plus any `+` additions);
  * `+a.b`  adds a field, including one hidden by default (PR list `reviewers`), keeping defaults;
  * `-a.b`  removes a field;
  * `*` matches any one key; lists are transparent (`values.id` applies to every element).
A rule whose name does not exist (e.g. `' values.x'` from an unencoded `+`) matches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["FieldRule", "apply_fields", "parse_fields"]


@dataclass(frozen=True)
class FieldRule:
    op: str  # "" (bare), "+", "-"
    parts: tuple[str, ...]


def parse_fields(text: str) -> list[FieldRule]:
    rules: list[FieldRule] = []
    for raw in text.split(","):
        if raw == "":
            continue
        op = ""
        if raw[0] in "+-":
            op, raw = raw[0], raw[1:]
        rules.append(FieldRule(op, tuple(raw.split("."))))
    return rules


def _match(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    return len(pattern) == len(path) and all(p == "*" or p == k for p, k in zip(pattern, path, strict=False))


def _prefix(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    return len(pattern) > len(path) and all(p == "*" or p == k for p, k in zip(pattern, path, strict=False))


def apply_fields(obj: Any, fields: str | None, hidden: tuple[tuple[str, ...], ...] = ()) -> Any:
    """Project `obj` (the full object, hidden fields included) through a `fields=` value.

    `hidden` lists paths (lists transparent, `*` allowed) absent unless a rule names them or a
    wildcard-included ancestor covers them.
    """
    if fields is None:
        return _strip_hidden(obj, (), hidden) if hidden else obj
    rules = parse_fields(fields)
    mode = "none" if any(r.op == "" for r in rules) else "default"
    result = _project(obj, (), mode, rules, hidden)
    return {} if result is _DROP else result


_DROP = object()


def _strip_hidden(node: Any, path: tuple[str, ...], hidden: tuple[tuple[str, ...], ...]) -> Any:
    return _strip_trie(node, _trie(hidden))


def _trie(patterns: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for pat in patterns:
        node = root
        for part in pat[:-1]:
            node = node.setdefault(part, {})
            if node is True:
                break
        else:
            node[pat[-1]] = True
    return root


def _strip_trie(node: Any, trie: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_strip_trie(x, trie) for x in node]
    if not isinstance(node, dict):
        return node
    star = trie.get("*")
    out = {}
    for k, v in node.items():
        sub = trie.get(k, star)
        if sub is True:
            continue
        out[k] = v if sub is None else _strip_trie(v, sub)
    return out


def _project(
    node: Any, path: tuple[str, ...], mode: str, rules: list[FieldRule], hidden: tuple[tuple[str, ...], ...]
) -> Any:
    if isinstance(node, list):
        return [_project(x, path, mode, rules, hidden) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        p = (*path, key)
        exact = [r for r in rules if _match(r.parts, p)]
        through = any(r.op != "-" and _prefix(r.parts, p) for r in rules)
        deeper = through or any(_prefix(r.parts, p) for r in rules)
        if exact:
            last = exact[-1]
            if last.op == "-":
                continue
            child_mode = "all"
        elif mode == "all":
            child_mode = "all"
        elif mode == "default" and not any(_match(h, p) for h in hidden):
            child_mode = "default"
        elif through:
            child_mode = "none"
        else:
            continue
        if (child_mode == "all" and not deeper) or (
            child_mode == "default" and not deeper and not any(_prefix(h, p) for h in hidden)
        ):
            out[key] = value
        else:
            out[key] = _project(value, p, child_mode, rules, hidden)
    return out
