"""BBQL builder: quoting rules, validation, and round-trips through the sandbox's BBQL parser."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bbscout.tools.bitbucket import bbql

# --- standalone quoting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("O'Brien", '"O\'Brien"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("C:\\temp\\", '"C:\\\\temp\\\\"'),
        ('" OR 1=1', '"\\" OR 1=1"'),
        ('\\" OR title ~ "', '"\\\\\\" OR title ~ \\""'),
        ("naïve café 日本 🚀", '"naïve café 日本 🚀"'),
        ("line1\nline2\t", '"line1\nline2\t"'),  # control characters stay verbatim (documented)
        ("", '""'),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (42, "42"),
        (-1.5, "-1.5"),
        (date(2026, 3, 4), "2026-03-04"),
        (
            datetime(2015, 3, 4, 14, 8, 59, 123000, tzinfo=timezone(timedelta(hours=2))),
            "2015-03-04T14:08:59.123000+02:00",
        ),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05+00:00"),
        (["a", "b"], '("a", "b")'),
        (("OPEN", 3, None), '("OPEN", 3, null)'),
    ],
)
def test_quote(value: object, expected: str) -> None:
    assert bbql.quote(value) == expected


class State(enum.Enum):
    OPEN = "OPEN"


def test_quote_enum_and_rejections() -> None:
    assert bbql.quote(State.OPEN) == '"OPEN"'
    with pytest.raises(ValueError, match="naive"):
        bbql.quote(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        bbql.quote(float("nan"))
    with pytest.raises(ValueError):
        bbql.quote([])
    with pytest.raises(TypeError):
        bbql.quote({"a": 1})
    with pytest.raises(TypeError):
        bbql.quote(object())


def test_cond_renders_and_validates() -> None:
    assert str(bbql.cond("destination.branch.name", "=", "main")) == 'destination.branch.name = "main"'
    assert str(bbql.cond("state", "in", ["OPEN", "MERGED"])) == 'state IN ("OPEN", "MERGED")'
    assert str(bbql.cond("state", "NOT IN", ("DECLINED",))) == 'state NOT IN ("DECLINED")'
    assert str(bbql.cond("draft", "=", False)) == "draft = false"
    assert str(bbql.cond("closed_by", "=", None)) == "closed_by = null"
    for bad_field in (
        "Title",
        "1abc",
        "title OR 1",
        'a"b',
        "a..b",
        "a.",
        ".a",
        "values.id",
        "",
        "a-b",
        "and",
    ):
        with pytest.raises(ValueError):
            bbql.cond(bad_field, "=", "x")
    for bad_op in ("==", "LIKE", "=~", "OR", ""):
        with pytest.raises(ValueError):
            bbql.cond("title", bad_op, "x")
    with pytest.raises(ValueError):
        bbql.cond("state", "IN", "OPEN")  # IN needs a list
    with pytest.raises(ValueError):
        bbql.cond("state", "=", ["OPEN"])
    with pytest.raises(ValueError):
        bbql.cond("title", "~", 3)


def test_combinators() -> None:
    a = bbql.cond("state", "=", "OPEN")
    b = bbql.cond("title", "~", "fix")
    c = bbql.cond("author.uuid", "=", "{u1}")
    assert str(bbql.all_of(a, b)) == 'state = "OPEN" AND title ~ "fix"'
    assert str(bbql.any_of(a, b)) == '(state = "OPEN" OR title ~ "fix")'
    assert (
        str(bbql.all_of(a, bbql.any_of(b, c))) == 'state = "OPEN" AND (title ~ "fix" OR author.uuid = "{u1}")'
    )
    assert (
        str(bbql.any_of(bbql.all_of(a, b), c))
        == '((state = "OPEN" AND title ~ "fix") OR author.uuid = "{u1}")'
    )
    assert str(bbql.all_of(a, None, bbql.all_of(b, c))) == str(
        bbql.all_of(a, b, c)
    )  # flattened, None skipped
    assert bbql.all_of(a) is a
    assert str(a & b) == str(bbql.all_of(a, b)) and str(a | b) == str(bbql.any_of(a, b))
    with pytest.raises(ValueError):
        bbql.all_of()
    with pytest.raises(TypeError):
        bbql.all_of(a, 'title ~ "x"')  # type: ignore[arg-type]


def test_query_objects_are_accepted_as_params() -> None:
    from bbscout.tools.bitbucket._client import _normalize_params

    q = bbql.all_of(bbql.cond("state", "=", "OPEN"), bbql.cond("title", "~", '" OR 1=1'))
    assert _normalize_params({"q": q}) == [("q", 'state = "OPEN" AND title ~ "\\" OR 1=1"')]


# --- round trip through the sandbox parser ----------------------------------------------------------

PAYLOADS = ['" OR 1=1', '") OR (state = "MERGED', "\\", '\\"', 'a" AND b = "c', "x) OR (y", '"', "' OR ''='"]


def _parser():
    return pytest.importorskip("bbscout.sandbox.bbql")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_roundtrip_arbitrary_text(s: str) -> None:
    p = _parser()
    assert p.parse(str(bbql.cond("title", "~", s))) == p.Comparison("title", "~", s)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(PAYLOADS), st.text()), min_size=2, max_size=4))
def test_and_or_structure_is_preserved(values: list[str]) -> None:
    p = _parser()
    conds = [bbql.cond("title", "~", v) for v in values]
    expected = [p.Comparison("title", "~", v) for v in values]
    assert p.parse(str(bbql.all_of(*conds))) == p.And(tuple(expected))
    assert p.parse(str(bbql.any_of(*conds))) == p.Or(tuple(expected))
    nested = bbql.all_of(bbql.cond("state", "=", "OPEN"), bbql.any_of(*conds))
    assert p.parse(str(nested)) == p.And((p.Comparison("state", "=", "OPEN"), p.Or(tuple(expected))))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_injection_payloads_stay_one_comparison(payload: str) -> None:
    p = _parser()
    q = bbql.all_of(bbql.cond("state", "=", "OPEN"), bbql.cond("title", "~", payload))
    assert p.parse(str(q)) == p.And((p.Comparison("state", "=", "OPEN"), p.Comparison("title", "~", payload)))


def test_typed_values_roundtrip() -> None:
    p = _parser()
    when = datetime(2026, 3, 4, 14, 8, 59, tzinfo=timezone(timedelta(hours=2)))
    parsed = p.parse(str(bbql.cond("updated_on", ">=", when)))
    assert parsed.op == ">=" and parsed.value == when
    assert p.parse(str(bbql.cond("draft", "=", False))) == p.Comparison("draft", "=", False)
    assert p.parse(str(bbql.cond("closed_by", "=", None))) == p.Comparison("closed_by", "=", None)
    assert p.parse(str(bbql.cond("state", "IN", ["OPEN", "MERGED"]))) == p.Comparison(
        "state", "IN", ("OPEN", "MERGED")
    )
