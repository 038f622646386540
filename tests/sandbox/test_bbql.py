"""BBQL parser and evaluator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bbscout.sandbox.bbql import And, BBQLError, Comparison, Or, evaluate, parse


def quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


@given(st.text())
@settings(max_examples=300)
def test_string_escaping_roundtrip(s: str) -> None:
    assert parse(f"title = {quote(s)}") == Comparison("title", "=", s)


@pytest.mark.parametrize("op", ["=", "!=", "~", "!~", ">", ">=", "<", "<="])
def test_operators(op: str) -> None:
    assert parse(f'a.b {op} "x"') == Comparison("a.b", op, "x")


def test_values() -> None:
    assert parse("n = 5").value == 5
    assert parse("n = -2.5").value == -2.5
    assert parse("draft = false").value is False
    assert parse("draft=TRUE").value is True
    assert parse("x = null").value is None
    assert parse("d > 2015-03-04").value == datetime(2015, 3, 4, tzinfo=UTC)
    assert parse("d > 2015-03-04T14:08:59.123+02:00").value == datetime(
        2015, 3, 4, 14, 8, 59, 123000, tzinfo=timezone(timedelta(hours=2))
    )
    assert parse("d > 2015-03-04T14:08:59Z").value == datetime(2015, 3, 4, 14, 8, 59, tzinfo=UTC)
    assert parse('state IN ("OPEN", "MERGED")') == Comparison("state", "IN", ("OPEN", "MERGED"))
    assert parse('state not in ("OPEN")') == Comparison("state", "NOT IN", ("OPEN",))


def test_precedence_and_parentheses() -> None:
    a, b, c = (Comparison(x, "=", 1) for x in "abc")
    assert parse("a = 1 OR b = 1 AND c = 1") == Or((a, And((b, c))))
    assert parse("(a = 1 or b = 1) and c = 1") == And((Or((a, b)), c))
    assert parse("a = 1 AND b = 1 AND c = 1") == And((a, b, c))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "title",
        'title = "x',
        "title = ",
        "(a = 1",
        "a = 1 AND",
        'a == "x"',
        'a = "x" b = "y"',
        "a IN 1",
        "= 1",
        "a = 2015-13-45",
    ],
)
def test_malformed(text: str) -> None:
    with pytest.raises(BBQLError):
        parse(text)


PR = {
    "title": "Fix Checkout Timeout",
    "state": "OPEN",
    "draft": False,
    "comment_count": 3,
    "created_on": "2026-03-10T12:00:00+00:00",
    "merge_commit": None,
    "destination": {"branch": {"name": "main"}},
    "reviewers": [{"uuid": "{a}"}, {"uuid": "{b}"}],
}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('title ~ "checkout"', True),
        ('title !~ "checkout"', False),
        ('title = "fix checkout timeout"', False),
        ('destination.branch.name = "main"', True),
        ('reviewers.uuid = "{b}"', True),
        ('reviewers.uuid != "{b}"', False),
        ('reviewers.uuid = "{c}"', False),
        ("comment_count > 2", True),
        ("comment_count >= 4", False),
        ("draft = false", True),
        ("merge_commit = null", True),
        ("merge_commit != null", False),
        ("missing.field = null", True),
        ("created_on > 2026-03-10T13:00:00+02:00", True),
        ("created_on >= 2026-03-10T12:00:00Z", True),
        ("created_on < 2026-03-10", False),
        ("created_on > 2026-03-10", True),
        ('state IN ("MERGED", "OPEN")', True),
        ('state NOT IN ("MERGED", "OPEN")', False),
        ('state = "MERGED" OR title ~ "TIME"', True),
        ('(state = "MERGED" OR title ~ "TIME") AND draft = true', False),
    ],
)
def test_evaluate(q: str, expected: bool) -> None:
    assert evaluate(parse(q), PR) is expected
