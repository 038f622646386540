"""Time expressions → exact UTC windows, for fixed `now`s (DST days, month ends, a Monday, non-UTC zones)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bbscout.agent.intake.time import parse_instant, parse_window


def Z(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


SUN = Z("2026-11-29T15:30")  # Sunday, UTC
BER_DST = Z("2026-10-25T12:00")  # Europe/Berlin leaves CEST at 01:00Z today; local 13:00 CET
NY_DST = Z("2026-11-01T17:00")  # America/New_York leaves EDT at 06:00Z today; local 12:00 EST
JAN31 = Z("2026-01-31T10:00")
MAR1_LEAP = Z("2028-03-01T08:00")
MON = Z("2026-11-30T10:00")  # Monday
LA = Z("2026-11-29T02:00")  # America/Los_Angeles: still Saturday 2026-11-28 18:00 PST

# (expression, now, tz, expected start, expected end) ; end None = now
CASES: list[tuple[str, datetime, str, str, str | None]] = [
    # rolling windows
    ("what pipelines failed in the last 24 hours?", SUN, "UTC", "2026-11-28T15:30", None),
    ("past 3 days", SUN, "UTC", "2026-11-26T15:30", None),
    ("last 2 weeks", SUN, "UTC", "2026-11-15T15:30", None),
    ("in the last hour", SUN, "UTC", "2026-11-29T14:30", None),
    ("last 90 minutes", SUN, "UTC", "2026-11-29T14:00", None),
    ("the past day", SUN, "UTC", "2026-11-28T15:30", None),
    ("last 24h", SUN, "UTC", "2026-11-28T15:30", None),
    ("past 24 hrs", SUN, "UTC", "2026-11-28T15:30", None),
    ("last 3d", SUN, "UTC", "2026-11-26T15:30", None),
    ("prev 2 days", SUN, "UTC", "2026-11-27T15:30", None),
    ("last 24 hours.", SUN, "UTC", "2026-11-28T15:30", None),
    ("in the past 48 hours", SUN, "UTC", "2026-11-27T15:30", None),
    ("failed builds 24h", SUN, "UTC", "2026-11-28T15:30", None),
    ("last two days", SUN, "UTC", "2026-11-27T15:30", None),
    ("the last 30 mins", SUN, "UTC", "2026-11-29T15:00", None),
    ("past week", SUN, "UTC", "2026-11-22T15:30", None),
    ("within 2 hours", SUN, "UTC", "2026-11-29T13:30", None),
    ("a couple of days ago", SUN, "UTC", "2026-11-27T15:30", None),
    ("2 hours ago", SUN, "UTC", "2026-11-29T13:30", None),
    ("since 2 hours ago", SUN, "UTC", "2026-11-29T13:30", None),
    ("an hour ago", SUN, "UTC", "2026-11-29T14:30", None),
    ("past month", JAN31, "UTC", "2025-12-31T10:00", None),
    # calendar days and parts of day
    ("today", SUN, "UTC", "2026-11-29T00:00", None),
    ("yesterday", SUN, "UTC", "2026-11-28T00:00", "2026-11-29T00:00"),
    ("yesterday's deploys", SUN, "UTC", "2026-11-28T00:00", "2026-11-29T00:00"),
    ("ystrday", SUN, "UTC", "2026-11-28T00:00", "2026-11-29T00:00"),
    ("pipelines from yesterday", SUN, "UTC", "2026-11-28T00:00", "2026-11-29T00:00"),
    ("this morning", SUN, "UTC", "2026-11-29T00:00", "2026-11-29T12:00"),
    ("this afternoon", SUN, "UTC", "2026-11-29T12:00", None),
    ("tonight", SUN, "UTC", "2026-11-28T18:00", "2026-11-29T06:00"),
    ("last night", SUN, "UTC", "2026-11-28T18:00", "2026-11-29T06:00"),
    ("over the weekend", SUN, "UTC", "2026-11-28T00:00", None),
    ("since yesterday morning", SUN, "UTC", "2026-11-28T00:00", None),
    (
        "hey, could you tell me which CI runs broke since yesterday morning?",
        SUN,
        "UTC",
        "2026-11-28T00:00",
        None,
    ),
    # weekdays, weeks, months, years
    ("since Monday", SUN, "UTC", "2026-11-23T00:00", None),
    ("since last Friday", SUN, "UTC", "2026-11-27T00:00", None),
    ("deploys on friday", SUN, "UTC", "2026-11-27T00:00", "2026-11-28T00:00"),
    ("this week", SUN, "UTC", "2026-11-23T00:00", None),
    ("last week", SUN, "UTC", "2026-11-16T00:00", "2026-11-23T00:00"),
    ("this month", SUN, "UTC", "2026-11-01T00:00", None),
    ("last month", SUN, "UTC", "2026-10-01T00:00", "2026-11-01T00:00"),
    ("last year", SUN, "UTC", "2025-01-01T00:00", "2026-01-01T00:00"),
    ("last month", JAN31, "UTC", "2025-12-01T00:00", "2026-01-01T00:00"),
    ("this month", JAN31, "UTC", "2026-01-01T00:00", None),
    ("last month", MAR1_LEAP, "UTC", "2028-02-01T00:00", "2028-03-01T00:00"),
    ("yesterday", MAR1_LEAP, "UTC", "2028-02-29T00:00", "2028-03-01T00:00"),
    ("on Feb 29", MAR1_LEAP, "UTC", "2028-02-29T00:00", "2028-03-01T00:00"),
    ("since Monday", MON, "UTC", "2026-11-30T00:00", None),
    ("since last Monday", MON, "UTC", "2026-11-23T00:00", None),
    ("this week", MON, "UTC", "2026-11-30T00:00", None),
    ("last week", MON, "UTC", "2026-11-23T00:00", "2026-11-30T00:00"),
    ("over the weekend", MON, "UTC", "2026-11-28T00:00", "2026-11-30T00:00"),
    ("since Friday", MON, "UTC", "2026-11-27T00:00", None),
    # clock times, ranges, zones
    ("between 9 and 11 this morning", SUN, "UTC", "2026-11-29T09:00", "2026-11-29T11:00"),
    ("between 09:00 and 11:30 UTC", SUN, "UTC", "2026-11-29T09:00", "2026-11-29T11:30"),
    ("from 2 to 4pm yesterday", SUN, "UTC", "2026-11-28T14:00", "2026-11-28T16:00"),
    ("2-4pm yesterday", SUN, "UTC", "2026-11-28T14:00", "2026-11-28T16:00"),
    ("yesterday between 14:00 and 15:00", SUN, "UTC", "2026-11-28T14:00", "2026-11-28T15:00"),
    ("from 11pm to 1am", SUN, "UTC", "2026-11-28T23:00", "2026-11-29T01:00"),
    ("since 14:05 UTC", SUN, "UTC", "2026-11-29T14:05", None),
    ("since 14:05", SUN, "UTC", "2026-11-29T14:05", None),
    ("since 23:00", SUN, "UTC", "2026-11-28T23:00", None),
    ("after 2pm", SUN, "UTC", "2026-11-29T14:00", None),
    ("since noon", SUN, "UTC", "2026-11-29T12:00", None),
    ("since midnight", SUN, "UTC", "2026-11-29T00:00", None),
    ("before 14:05", SUN, "UTC", "2026-11-28T14:05", "2026-11-29T14:05"),
    ("since 9am PST", SUN, "UTC", "2026-11-28T17:00", None),
    ("since 14:05 CET", SUN, "UTC", "2026-11-29T13:05", None),
    ("since 10:00 Europe/Berlin", SUN, "UTC", "2026-11-29T09:00", None),
    ("since 14:05 utc+2", SUN, "UTC", "2026-11-29T12:05", None),
    ("since 14:05 UTC", SUN, "America/Los_Angeles", "2026-11-29T14:05", None),
    # absolute dates
    ("since 2026-11-20", SUN, "UTC", "2026-11-20T00:00", None),
    ("on 2026-11-20", SUN, "UTC", "2026-11-20T00:00", "2026-11-21T00:00"),
    ("on Nov 20", SUN, "UTC", "2026-11-20T00:00", "2026-11-21T00:00"),
    ("November 20th", SUN, "UTC", "2026-11-20T00:00", "2026-11-21T00:00"),
    ("since Nov 1st, 2026", SUN, "UTC", "2026-11-01T00:00", None),
    ("on Dec 5", SUN, "UTC", "2025-12-05T00:00", "2025-12-06T00:00"),
    ("from 2026-11-01 to 2026-11-15", SUN, "UTC", "2026-11-01T00:00", "2026-11-16T00:00"),
    ("since 2026-11-28T14:05:00+01:00", SUN, "UTC", "2026-11-28T13:05", None),
    ("prs merged since 2026-11-20 09:00", SUN, "Europe/Berlin", "2026-11-20T08:00", None),
    ("since 2026-12-01", SUN, "UTC", "2026-11-29T15:30", None),  # future: clamped to now
    # Europe/Berlin on the day CEST ends (2026-10-25, local now 13:00 CET)
    ("today", BER_DST, "Europe/Berlin", "2026-10-24T22:00", None),
    ("yesterday", BER_DST, "Europe/Berlin", "2026-10-23T22:00", "2026-10-24T22:00"),
    ("this morning", BER_DST, "Europe/Berlin", "2026-10-24T22:00", "2026-10-25T11:00"),
    ("last 24 hours", BER_DST, "Europe/Berlin", "2026-10-24T12:00", None),
    ("since 09:00", BER_DST, "Europe/Berlin", "2026-10-25T08:00", None),
    ("last night", BER_DST, "Europe/Berlin", "2026-10-24T16:00", "2026-10-25T05:00"),
    ("this week", BER_DST, "Europe/Berlin", "2026-10-18T22:00", None),
    # America/New_York on the day EDT ends (2026-11-01, local now 12:00 EST)
    ("today", NY_DST, "America/New_York", "2026-11-01T04:00", None),
    ("yesterday", NY_DST, "America/New_York", "2026-10-31T04:00", "2026-11-01T04:00"),
    ("since 9am", NY_DST, "America/New_York", "2026-11-01T14:00", None),
    ("last week", NY_DST, "America/New_York", "2026-10-19T04:00", "2026-10-26T04:00"),
    ("over the weekend", NY_DST, "America/New_York", "2026-10-31T04:00", None),
    # Los Angeles: "yesterday" is not UTC's yesterday
    ("yesterday", LA, "America/Los_Angeles", "2026-11-27T08:00", "2026-11-28T08:00"),
    ("yesterday", LA, "UTC", "2026-11-28T00:00", "2026-11-29T00:00"),
    ("today", LA, "America/Los_Angeles", "2026-11-28T08:00", None),
    ("this morning", LA, "America/Los_Angeles", "2026-11-28T08:00", "2026-11-28T20:00"),
    ("since 9am", LA, "America/Los_Angeles", "2026-11-28T17:00", None),
    ("last night", LA, "America/Los_Angeles", "2026-11-28T02:00", "2026-11-28T14:00"),
    # a month by name: the calendar month, the most recent one that has begun (issue 10)
    ("deploys in October", SUN, "UTC", "2026-10-01T00:00", "2026-11-01T00:00"),
    ("builds during nov", SUN, "UTC", "2026-11-01T00:00", None),
    ("commits since september", SUN, "UTC", "2026-09-01T00:00", None),
    ("PRs merged in December", SUN, "UTC", "2025-12-01T00:00", "2026-01-01T00:00"),
    ("releases in may", SUN, "UTC", "2026-05-01T00:00", "2026-06-01T00:00"),
    ("what went out in march 2025", SUN, "UTC", "2025-03-01T00:00", "2025-04-01T00:00"),
    ("in the month of june", SUN, "UTC", "2026-06-01T00:00", "2026-07-01T00:00"),
    ("deploys in October", SUN, "Europe/Berlin", "2026-09-30T22:00", "2026-10-31T23:00"),
    # a period written with "a/an" after a preposition is a rolling amount (stated inactivity, heldout 5)
    ("no commits for a week", SUN, "UTC", "2026-11-22T15:30", None),
    ("idle for over a month", SUN, "UTC", "2026-10-29T15:30", None),
    ("nothing pushed in a day", SUN, "UTC", "2026-11-28T15:30", None),
    ("untouched within an hour", SUN, "UTC", "2026-11-29T14:30", None),
]


@pytest.mark.parametrize(
    ("text", "now", "tz", "start", "end"), CASES, ids=[f"{c[0]}@{c[1]:%m%d}-{c[2]}" for c in CASES]
)
def test_window_table(text: str, now: datetime, tz: str, start: str, end: str | None) -> None:
    w = parse_window(text, now, tz)
    assert w is not None, text
    assert (w.start, w.end) == (Z(start), Z(end) if end else now)
    assert w.label


@pytest.mark.parametrize(
    "text",
    [
        "recent",
        "show me recent pull requests",
        "recently merged PRs",
        "what's the weather",
        "show me PR 12",
        "last 10 commits",
        "top 5 failed builds",
        "pipeline #412",
        "get build 412 in checkout",
        "builds that may fail on main",  # "may" and "march" are verbs unless a preposition makes them months
        "let the tests march on",
        "declined PRs",  # "dec" inside a word
        "builds that run once a week",  # a frequency, not a period
    ],
)
def test_no_window(text: str) -> None:
    assert parse_window(text, SUN, "UTC") is None


def test_label_keeps_the_users_words_and_zone() -> None:
    w = parse_window("errors since 14:05 UTC", SUN, "Europe/Berlin")
    assert w is not None and w.label == "since 14:05 (UTC)"


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError):
        parse_window("today", datetime(2026, 11, 29), "UTC")


def test_instant_for_incidents() -> None:
    assert parse_instant("checkout errors since 14:05 UTC", SUN, "Europe/Berlin") == Z("2026-11-29T14:05")
    assert parse_instant("what changed before 2pm?", SUN, "UTC") == Z("2026-11-29T14:00")
    assert parse_instant("what broke?", SUN, "UTC") is None


@settings(max_examples=150, deadline=None)
@given(
    now=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
    tz=st.sampled_from(
        [
            "UTC",
            "Europe/Berlin",
            "America/New_York",
            "America/Los_Angeles",
            "Asia/Kolkata",
            "Australia/Sydney",
        ]
    ),
    text=st.sampled_from([c[0] for c in CASES]),
)
def test_never_in_the_future_and_ordered(now: datetime, tz: str, text: str) -> None:
    w = parse_window(text, now, tz)
    if w is not None:
        assert w.start <= w.end <= now
        assert w.start.utcoffset() == timedelta(0)


_WORDS = [c[0] for c in CASES] + [
    "2026-02-30",
    "since 2026-13-01T25:61",
    "99:99",
    "from 5 to",
    "between and",
    "#12",
    "feb 30",
]


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(st.one_of(st.sampled_from(_WORDS), st.text(max_size=12)), max_size=4))
def test_any_text_parses_or_returns_none(parts: list[str]) -> None:
    w = parse_window(" ".join(parts), SUN, "Europe/Berlin")
    assert w is None or w.start <= w.end <= SUN
