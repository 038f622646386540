"""BBQL, Bitbucket's `q=` filter language: a parser to a frozen tree and an evaluator over JSON.

Grammar (keywords case-insensitive)::

    expr       := and_expr ("OR" and_expr)*
    and_expr   := atom ("AND" atom)*
    atom       := "(" expr ")" | comparison
    comparison := FIELD OP value | FIELD ("IN" | "NOT" "IN") "(" value ("," value)* ")"
    value      := STRING | NUMBER | DATETIME | true | false | null

Strings are double-quoted; a backslash makes the next character literal (so `\\"` and `\\\\` are the
two escapes a client needs). Datetimes are unquoted ISO-8601, date-only allowed, UTC assumed when
there is no offset. Dotted field paths walk nested objects and fan out over lists (any element).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

__all__ = ["And", "BBQLError", "Comparison", "Expr", "Or", "evaluate", "parse"]

OPS = ("=", "!=", "~", "!~", ">", ">=", "<", "<=", "IN", "NOT IN")


class BBQLError(ValueError):
    """A malformed query; `message` is what the 400 body's `detail` reports."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str
    value: object


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


Expr = Comparison | And | Or

_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|z|[+-]\d{2}:?\d{2})?)?(?![\w.:-])"
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?![\w.])")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_WORD = re.compile(r"[A-Za-z]+")
_SYMBOL_OPS = ("!=", "!~", ">=", "<=", "=", "~", ">", "<")


def parse_datetime(text: str) -> datetime:
    """ISO-8601 (date-only, `Z`, `+0200` or `+02:00`) to an aware datetime; naive means UTC."""
    t = text.strip().replace(" ", "T")
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    m = re.search(r"([+-])(\d{2})(\d{2})$", t)
    if m and "T" in t and not re.search(r"[+-]\d{2}:\d{2}$", t):
        t = t[: m.start()] + f"{m.group(1)}{m.group(2)}:{m.group(3)}"
    if len(t) == 10:
        d = date.fromisoformat(t)
        return datetime(d.year, d.month, d.day, tzinfo=UTC)
    dt = datetime.fromisoformat(t)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def error(self, what: str) -> BBQLError:
        return BBQLError(f"{what} at position {self.i}")

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def at_end(self) -> bool:
        self.ws()
        return self.i >= len(self.s)

    def keyword(self, word: str) -> bool:
        """Consume `word` (case-insensitive) when it stands alone here."""
        self.ws()
        m = _WORD.match(self.s, self.i)
        if m and m.group(0).upper() == word:
            self.i = m.end()
            return True
        return False

    def peek(self, ch: str) -> bool:
        self.ws()
        return self.s.startswith(ch, self.i)

    def expr(self) -> Expr:
        items = [self.and_expr()]
        while self.keyword("OR"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Expr:
        items = [self.atom()]
        while self.keyword("AND"):
            items.append(self.atom())
        return items[0] if len(items) == 1 else And(tuple(items))

    def atom(self) -> Expr:
        if self.peek("("):
            self.i += 1
            inner = self.expr()
            if not self.peek(")"):
                raise self.error("expected ')'")
            self.i += 1
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        self.ws()
        m = _FIELD.match(self.s, self.i)
        if not m:
            raise self.error("expected a field name")
        field = m.group(0)
        if field.upper() in ("AND", "OR", "NOT", "IN"):
            raise self.error(f"unexpected keyword {field!r}")
        self.i = m.end()
        self.ws()
        for op in _SYMBOL_OPS:
            if self.s.startswith(op, self.i):
                self.i += len(op)
                return Comparison(field, op, self.value())
        if self.keyword("NOT"):
            if not self.keyword("IN"):
                raise self.error("expected IN after NOT")
            return Comparison(field, "NOT IN", self.value_list())
        if self.keyword("IN"):
            return Comparison(field, "IN", self.value_list())
        raise self.error("expected an operator")

    def value_list(self) -> tuple[object, ...]:
        if not self.peek("("):
            raise self.error("expected '('")
        self.i += 1
        items = [self.value()]
        while self.peek(","):
            self.i += 1
            items.append(self.value())
        if not self.peek(")"):
            raise self.error("expected ')'")
        self.i += 1
        return tuple(items)

    def value(self) -> object:
        self.ws()
        s, i = self.s, self.i
        if i >= len(s):
            raise self.error("expected a value")
        if s[i] == '"':
            out: list[str] = []
            i += 1
            while True:
                if i >= len(s):
                    self.i = i
                    raise self.error("unterminated string")
                c = s[i]
                if c == "\\":
                    if i + 1 >= len(s):
                        self.i = i
                        raise self.error("unterminated string")
                    out.append(s[i + 1])
                    i += 2
                elif c == '"':
                    self.i = i + 1
                    return "".join(out)
                else:
                    out.append(c)
                    i += 1
        m = _DATETIME.match(s, i)
        if m:
            try:
                value: object = parse_datetime(m.group(0))
            except ValueError as exc:
                raise self.error(f"invalid datetime {m.group(0)!r}") from exc
            self.i = m.end()
            return value
        m = _NUMBER.match(s, i)
        if m:
            self.i = m.end()
            text = m.group(0)
            return float(text) if "." in text else int(text)
        m = _WORD.match(s, i)
        if m:
            word = m.group(0).lower()
            if word in ("true", "false", "null"):
                self.i = m.end()
                return {"true": True, "false": False, "null": None}[word]
        raise self.error("expected a value")


def parse(text: str) -> Expr:
    """Parse a BBQL expression; raises `BBQLError` on malformed input."""
    p = _Parser(text)
    if p.at_end():
        raise BBQLError("empty query")
    expr = p.expr()
    if not p.at_end():
        raise p.error("unexpected trailing input")
    return expr


def fields_of(expr: Expr) -> set[str]:
    """Every field path the expression mentions (used to reject unsupported fields)."""
    if isinstance(expr, Comparison):
        return {expr.field}
    return set().union(*(fields_of(e) for e in expr.items))


def _resolve(obj: Any, parts: list[str]) -> list[Any]:
    """All values at the dotted path; lists fan out, missing keys yield None."""
    current = [obj]
    for part in parts:
        nxt: list[Any] = []
        for node in current:
            if isinstance(node, list):
                for item in node:
                    nxt.append(item.get(part) if isinstance(item, dict) else None)
            elif isinstance(node, dict):
                nxt.append(node.get(part))
            else:
                nxt.append(None)
        current = nxt
    flat: list[Any] = []
    for v in current:
        if isinstance(v, list):
            flat.extend(v if v else [None])
        else:
            flat.append(v)
    return flat


def _coerce(actual: Any, expected: object) -> Any:
    if isinstance(expected, datetime) and isinstance(actual, str):
        try:
            return parse_datetime(actual)
        except ValueError:
            return None
    return actual


def _compare(actual: Any, op: str, expected: object) -> bool:
    if op in ("IN", "NOT IN"):
        assert isinstance(expected, tuple)
        hit = any(_compare(actual, "=", e) for e in expected)
        return hit if op == "IN" else not hit
    if expected is None:
        if op == "=":
            return actual is None
        if op == "!=":
            return actual is not None
        return False
    a = _coerce(actual, expected)
    if op in ("~", "!~"):
        if a is None:
            return op == "!~"
        hit = str(expected).lower() in str(a).lower()
        return hit if op == "~" else not hit
    if op == "=":
        return _eq(a, expected)
    if op == "!=":
        return not _eq(a, expected)
    if a is None or isinstance(a, (dict, list)):
        return False
    try:
        if isinstance(expected, bool) or isinstance(a, bool):
            return False
        if isinstance(expected, (int, float)) and not isinstance(a, (int, float)):
            a = float(a)
        if isinstance(expected, str) and not isinstance(a, str):
            return False
        if op == ">":
            return bool(a > expected)
        if op == ">=":
            return bool(a >= expected)
        if op == "<":
            return bool(a < expected)
        if op == "<=":
            return bool(a <= expected)
    except (TypeError, ValueError):
        return False
    raise BBQLError(f"unknown operator {op}")


def _eq(a: Any, expected: object) -> bool:
    if isinstance(expected, bool) or isinstance(a, bool):
        return a is expected or (a == expected and type(a) is type(expected))
    if isinstance(expected, (int, float)) and isinstance(a, (int, float)):
        return a == expected
    if isinstance(expected, (int, float)) and isinstance(a, str):
        return a == str(expected)
    return bool(a == expected)


def evaluate(expr: Expr, obj: dict[str, Any]) -> bool:
    """True when `obj` satisfies `expr`. A path that fans out over a list matches if any element does
    (for negated operators: if no element matches the positive form)."""
    if isinstance(expr, And):
        return all(evaluate(e, obj) for e in expr.items)
    if isinstance(expr, Or):
        return any(evaluate(e, obj) for e in expr.items)
    values = _resolve(obj, expr.field.split("."))
    if expr.op in ("!=", "!~", "NOT IN"):
        positive = {"!=": "=", "!~": "~", "NOT IN": "IN"}[expr.op]
        if expr.value is None and expr.op == "!=":
            return any(v is not None for v in values)
        return not any(_compare(v, positive, expr.value) for v in values)
    return any(_compare(v, expr.op, expr.value) for v in values)
