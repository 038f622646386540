"""Build BBQL (`q=`) filters from typed values, so user text can never change a query's meaning.

    >>> from tools.bitbucket import bbql
    >>> str(bbql.all_of(bbql.cond("state", "=", "OPEN"), bbql.cond("title", "~", 'say "hi"')))
    'state = "OPEN" AND title ~ "say \\\\"hi\\\\""'

Quoting rules (`quote`):

* `str` → double-quoted. Exactly two characters are escaped: backslash → `\\\\` and double quote →
  `\\"`. Every other character, including newlines, tabs and other control characters and any
  Unicode, is kept verbatim inside the quotes (the whole `q` value is percent-encoded on the wire by
  httpx). We deliberately do **not** invent `\\n`-style escapes: Bitbucket documents no escape
  syntax at all, and a grammar that knows only `\\"` and `\\\\` (our sandbox's, and the only one
  that is safe to assume) round-trips every string exactly with this scheme. A value therefore can
  never terminate its string literal early, whatever it contains.
* `bool` → `true`/`false`; `None` → `null`; `int`/`float` → a number (NaN/inf rejected).
* `datetime` → unquoted ISO-8601 **with offset** (naive datetimes are rejected: they are ambiguous);
  `date` → `YYYY-MM-DD`.
* `list`/`tuple` → `("a", 1)` (only with `IN`/`NOT IN`); `Enum` → its value.

Fields are validated against `^[a-z_][a-z0-9_.]*$`, tightened to well-formed dotted paths (each part
starts with a letter or `_`, e.g. `destination.branch.name`; no `values.` prefix, no keywords), and
operators against the BBQL set. Combinators only accept built expressions, never raw strings.
"""

from __future__ import annotations

import enum
import math
import re
import typing
from dataclasses import dataclass
from datetime import date, datetime

__all__ = ["OPERATORS", "AllOf", "AnyOf", "Condition", "Query", "all_of", "any_of", "cond", "quote"]

_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})
OPERATORS: frozenset[str] = frozenset({"=", "!=", "~", "!~", ">", ">=", "<", "<=", "IN", "NOT IN"})
_FIELD_RE = re.compile(r"[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*")  # ⊂ ^[a-z_][a-z0-9_.]*$


def _scalar(value: typing.Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("BBQL numbers must be finite")
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime in a BBQL query; attach a timezone (e.g. UTC)")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot put a {type(value).__name__} into a BBQL query")


def quote(value: typing.Any) -> str:
    """Render one typed value as a BBQL literal (see the module docstring for the rules)."""
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError("empty list in a BBQL query")
        return "(" + ", ".join(_scalar(v) for v in value) + ")"
    return _scalar(value)


class Query:
    """Base of BBQL expressions; `str(query)` renders the `q=` value."""

    def _render(self, *, nested: bool) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def __str__(self) -> str:
        return self._render(nested=False)

    def __and__(self, other: Query) -> AllOf:
        return all_of(self, other)  # type: ignore[return-value]

    def __or__(self, other: Query) -> AnyOf:
        return any_of(self, other)  # type: ignore[return-value]


@dataclass(frozen=True, eq=True)
class Condition(Query):
    field: str
    op: str
    value: typing.Any

    def __post_init__(self) -> None:
        if not isinstance(self.field, str) or not _FIELD_RE.fullmatch(self.field):
            raise ValueError(f"invalid BBQL field name: {self.field!r}")
        if self.field.startswith("values.") or self.field.split(".")[0] in _KEYWORDS:
            raise ValueError(f"invalid BBQL field name: {self.field!r}")
        op = self.op.upper() if isinstance(self.op, str) else self.op
        if op not in OPERATORS:
            raise ValueError(f"invalid BBQL operator: {self.op!r}")
        object.__setattr__(self, "op", op)
        is_list = isinstance(self.value, (list, tuple))
        if op in ("IN", "NOT IN") and not is_list:
            raise ValueError(f"{op} needs a list or tuple value")
        if op not in ("IN", "NOT IN") and is_list:
            raise ValueError(f"{op} cannot take a list value; use IN")
        if op in ("~", "!~") and not isinstance(self.value, str):
            raise ValueError(f"{op} needs a string value")
        quote(self.value)  # validate eagerly

    def _render(self, *, nested: bool) -> str:
        return f"{self.field} {self.op} {quote(self.value)}"


@dataclass(frozen=True)
class AllOf(Query):
    items: tuple[Query, ...]

    def _render(self, *, nested: bool) -> str:
        text = " AND ".join(i._render(nested=True) for i in self.items)
        return f"({text})" if nested else text


@dataclass(frozen=True)
class AnyOf(Query):
    items: tuple[Query, ...]

    def _render(self, *, nested: bool) -> str:
        return "(" + " OR ".join(i._render(nested=True) for i in self.items) + ")"


def cond(field: str, op: str, value: typing.Any) -> Condition:
    """`field op value`, e.g. `cond("destination.branch.name", "=", "main")`."""
    return Condition(field, op, value)


def _flatten(kind: type, items: typing.Iterable[Query | None]) -> tuple[Query, ...]:
    out: list[Query] = []
    for item in items:
        if item is None:
            continue
        if not isinstance(item, Query):
            raise TypeError("BBQL combinators take Condition/all_of/any_of values, not strings")
        if isinstance(item, kind):
            out.extend(item.items)  # type: ignore[attr-defined]
        else:
            out.append(item)
    return tuple(out)


def all_of(*conds: Query | None) -> Query:
    """Conjunction (`a AND b`); `None`s are skipped; a single item is returned as is."""
    items = _flatten(AllOf, conds)
    if not items:
        raise ValueError("all_of() needs at least one condition")
    return items[0] if len(items) == 1 else AllOf(items)


def any_of(*conds: Query | None) -> Query:
    """Disjunction, always parenthesised (`(a OR b)`); a single item is returned as is."""
    items = _flatten(AnyOf, conds)
    if not items:
        raise ValueError("any_of() needs at least one condition")
    return items[0] if len(items) == 1 else AnyOf(items)
