"""Time expressions → an absolute UTC `Window`, from an injected `now` and the user's IANA zone.

Why hand-written: dateutil parses absolute dates well but knows nothing of "last 24h", "since
Monday" or "over the weekend", and the answer must be reproducible from `now` alone. The relative
grammar is a small ordered table of constructs (range, since, until, rolling, bare anchor); every
construct is built from one *anchor* grammar (dates, weekdays, day words, parts of day, clock times,
"N units ago", calendar periods), so each new phrasing is one vocabulary entry, not one regex.

Conventions (documented, tested):
    * calendar days, weeks (ISO, Monday start) and months are the user's local ones (zoneinfo, DST-safe);
      rolling windows ("last 24 hours", "past 3 days") are exact durations back from `now`.
    * parts of day: morning 00:00–12:00 (from midnight, so early-morning deploys are not missed),
      afternoon 12:00–18:00, evening 18:00–24:00, night 18:00–06:00 ("tonight" before 18:00 = last night).
    * "last week"/"last month"/"last year" are the previous calendar period; "past week", "in the last
      week", "last 7 days" are rolling; a fortnight is 14 days ("within a fortnight", "the last fortnight").
    * "since Monday" = the most recent Monday (today if today is Monday); "last Friday" = strictly before
      today.
    * "before T"/"until T" = the 24 hours before T. A date without a year is the most recent such date.
    * a zone written in the text ("9am PST", "14:05 CET", "10:00 Europe/Berlin", "UTC+2") replaces the
      user's zone for the whole expression; "PST"/"EST"/"CET" mean the region's civil time (DST-aware).
    * the end is `now` unless the expression ends earlier; nothing is ever in the future (clamped).
    * "recent"/"recently" or no time words → None (the planner picks and states a default).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import parser as dtparser
from dateutil.relativedelta import relativedelta

from bbscout.agent.intake.normalize import basic, correct
from bbscout.agent.plan import Window

__all__ = ["parse_instant", "parse_window", "resolve_zone"]


# --- vocabulary -----------------------------------------------------------------------------------

_ZONE_ABBREVIATIONS: dict[str, str] = {
    "utc": "UTC",
    "gmt": "UTC",
    "z": "UTC",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "pt": "America/Los_Angeles",
    "pacific": "America/Los_Angeles",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "mt": "America/Denver",
    "mountain": "America/Denver",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "ct": "America/Chicago",
    "central": "America/Chicago",
    "est": "America/New_York",
    "edt": "America/New_York",
    "et": "America/New_York",
    "eastern": "America/New_York",
    "wet": "WET",
    "west": "WET",
    "bst": "Europe/London",
    "uk": "Europe/London",
    "cet": "CET",
    "cest": "CET",
    "eet": "EET",
    "eest": "EET",
    "ist": "Asia/Kolkata",
    "sgt": "Asia/Singapore",
    "jst": "Asia/Tokyo",
    "aest": "Australia/Sydney",
    "aedt": "Australia/Sydney",
}
# Zone words that are also ordinary words: only taken right after a clock time.
_ZONE_AFTER_TIME_ONLY = {
    "z",
    "pt",
    "mt",
    "ct",
    "et",
    "west",
    "uk",
    "pacific",
    "mountain",
    "central",
    "eastern",
}

_NUMBER_WORDS: dict[str, str] = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "fifteen": "15",
    "twenty": "20",
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "sixty": "60",
    "ninety": "90",
    "twenty four": "24",
    "twenty-four": "24",
    "forty eight": "48",
    "forty-eight": "48",
    "seventy two": "72",
    "seventy-two": "72",
    "a couple of": "2",
    "a couple": "2",
    "couple of": "2",
    "a few": "3",
    "few": "3",
    "several": "3",
    "half an hour": "30 minutes",
    "half a day": "12 hours",
}

_TYPOS: dict[str, str] = {
    "yday": "yesterday",
    "ystrdy": "yesterday",
    "yest": "yesterday",
    "ysterday": "yesterday",
    "tdy": "today",
    "2day": "today",
    "tonite": "tonight",
    "2nite": "tonight",
    "wknd": "weekend",
    "prev": "previous",
    "thru": "through",
    "til": "until",
    "till": "until",
    "b4": "before",
    "o'clock": "",
    "oclock": "",
}

_TIME_VOCAB = [
    "yesterday",
    "today",
    "tonight",
    "morning",
    "afternoon",
    "evening",
    "weekend",
    "fortnight",
    "overnight",
    "midnight",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "minutes",
    "hours",
    "weeks",
    "months",
    "minute",
    "hour",
    "week",
    "month",
    "night",
    "noon",
    "since",
    "between",
    "previous",
    "january",
    "february",
    "march",
    "april",
    "august",
    "september",
    "october",
    "november",
    "december",
]

_UNIT_RE = (
    r"(?:minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w|fortnights?|months?|mths?|mos?|years?|yrs?|y)"
)
_NUM_RE = r"(?:\d+(?:\.\d+)?|an?)"
_MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_RE = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|rsday|urday|sday)?"
_PART_RE = r"(?:morning|afternoon|evening|night)"
_PARTS: dict[str, tuple[int, int]] = {
    "morning": (0, 12),
    "afternoon": (12, 18),
    "evening": (18, 24),
    "night": (18, 30),
}

_ISO_DT_RE = r"\d{4}-\d{2}-\d{2}[t ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?"
_ISO_D_RE = r"\d{4}[-/]\d{2}[-/]\d{2}"
_MDATE_RE = (
    rf"(?:{_MONTH_RE}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_RE}(?:,?\s+\d{{4}})?)"
)
_CLOCK_RE = r"(?:\d{1,2}:\d{2}(?:\s*(?:am|pm))?|\d{1,2}\s*(?:am|pm)|noon|midnight)"
_LOOSE_CLOCK_RE = (
    r"(?:\d{1,2}:\d{2}(?:\s*(?:am|pm))?|\d{1,2}(?:\s*(?:am|pm))?(?!\s*(?:\d|"
    + _UNIT_RE
    + r"\b))|noon|midnight)"
)
_DAY_RE = (
    rf"(?:{_ISO_D_RE}|{_MDATE_RE}|(?:last\s+|this\s+|past\s+|previous\s+)?{_WEEKDAY_RE}\b|today|yesterday)"
)
# a month by name is the calendar month ("in November", "during dec 2025"); "may" and "march" are also verbs,
# so they count only after a preposition ("in may")
_MONTHS = {
    name: i
    for i, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march",),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        1,
    )
    for name in names
}
_AFTER_PREPOSITION = "".join(
    rf"(?<=\b{p}\s)|"
    for p in ("in", "during", "since", "throughout", "before", "after", "until", "for", "of")
)
_MONTH_PERIOD_RE = (
    r"(?:(?:the\s+)?month\s+of\s+)?(?:"
    + "|".join(m for m in sorted(_MONTHS, key=len, reverse=True) if m not in ("may", "march"))
    + rf"|(?:{_AFTER_PREPOSITION[:-1]})(?:may|march))(?:\s+\d{{4}})?(?!\s*\d)"
)
_PERIOD_RE = (
    r"(?:" + _MONTH_PERIOD_RE + r"|(?:this|last|previous|the)\s+(?:week|month|year)"
    r"|(?:the\s+|this\s+|last\s+)?weekend|last\s+night|overnight|tonight|this\s+" + _PART_RE + r")"
)
_AGO_RE = rf"(?:{_NUM_RE}\s*{_UNIT_RE}\s+ago)"


def _anchor_re(clock: str) -> str:
    """The anchor grammar, with a strict or loose clock (bare hours are only safe inside ranges)."""
    day_time = rf"{_DAY_RE}(?:\s+{_PART_RE})?(?:(?:\s+at|\s*@|,)?\s+{clock})?"
    time_day = rf"{clock}(?:\s+(?:on\s+)?{_DAY_RE}(?:\s+{_PART_RE})?|\s+(?:in\s+the\s+|this\s+){_PART_RE})?"
    return rf"(?:{_ISO_DT_RE}|{_AGO_RE}|{_PERIOD_RE}|{day_time}|{time_day})"


_ANCHOR = _anchor_re(_CLOCK_RE)
_LOOSE_ANCHOR = _anchor_re(_LOOSE_CLOCK_RE)


# --- the anchor grammar ---------------------------------------------------------------------------


@dataclass
class _Ctx:
    now: datetime  # aware, in `zone`
    zone: ZoneInfo | timezone


@dataclass
class _Span:
    start: datetime
    end: datetime | None = None  # None: a point in time
    pm_hint: bool = False  # a clock time shifted to pm (for "from 2 to 4pm")
    explicit: bool = True  # False for a bare hour ("from 11 to 2"), which may still mean pm


def _local(d: date, h: int = 0, m: int = 0, *, ctx: _Ctx) -> datetime:
    """Local wall time on date d (hours may exceed 23 to mean the next day)."""
    extra, h = divmod(h, 24)
    return datetime.combine(d + timedelta(days=extra), time(h, m), tzinfo=ctx.zone)


def _utc(dt: datetime) -> datetime:
    """Durations are exact: subtract in UTC (aware local arithmetic is wall-clock and DST-blind)."""
    return dt.astimezone(UTC)


def _amount(n: str) -> float:
    return 1.0 if n in ("a", "an") else float(n)


def _delta(n: float, unit: str) -> timedelta | relativedelta:
    u = unit.rstrip("s")
    if u in ("m", "min", "minute"):
        return timedelta(minutes=n)
    if u in ("h", "hr", "hour"):
        return timedelta(hours=n)
    if u in ("d", "day"):
        return timedelta(days=n)
    if u in ("w", "wk", "week"):
        return timedelta(weeks=n)
    if u == "fortnight":
        return timedelta(weeks=2 * n)
    if u in ("mo", "mth", "month"):
        return relativedelta(months=int(n)) if n == int(n) else timedelta(days=30 * n)
    return relativedelta(years=int(n)) if n == int(n) else timedelta(days=365 * n)


def _unit_name(unit: str) -> str:
    return {
        "m": "minute",
        "min": "minute",
        "h": "hour",
        "hr": "hour",
        "d": "day",
        "w": "week",
        "wk": "week",
        "mo": "month",
        "mth": "month",
        "y": "year",
        "yr": "year",
    }.get(unit.rstrip("s"), unit.rstrip("s"))


def _weekday_index(word: str) -> int:
    w = word[:3]
    return [d[:3] for d in _WEEKDAYS].index(w)


def _parse_day(s: str, ctx: _Ctx) -> date | None:
    """A calendar day: ISO or month-name date (most recent if no year), weekday, today, yesterday."""
    today = ctx.now.date()
    if s == "today":
        return today
    if s == "yesterday":
        return today - timedelta(days=1)
    m = re.fullmatch(rf"(?:(last|this|past|previous)\s+)?({_WEEKDAY_RE})", s)
    if m:
        back = (today.weekday() - _weekday_index(m.group(2))) % 7
        if m.group(1) in ("last", "past", "previous") and back == 0:
            back = 7
        return today - timedelta(days=back)
    if re.fullmatch(_ISO_D_RE, s):
        try:
            return date.fromisoformat(s.replace("/", "-"))
        except ValueError:
            return None
    if re.fullmatch(_MDATE_RE, s):
        clean = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", s)
        if re.search(r"\d{4}", s):
            return _try_date(clean, today.year)
        for year in range(today.year, today.year - 8, -1):  # the most recent such date (Feb 29 included)
            parsed = _try_date(clean, year)
            if parsed is not None and parsed <= today:
                return parsed
        return None
    return None


def _try_date(text: str, year: int) -> date | None:
    try:
        return dtparser.parse(text, default=datetime(year, 1, 1)).date()
    except (ValueError, OverflowError):
        return None


def _parse_clock(s: str, *, pm_default: bool = False) -> tuple[int, int, bool, bool] | None:
    """(hour, minute, explicit meridiem?, shifted to pm?) for "14:05", "9am", "2", "noon"."""
    if s == "noon":
        return 12, 0, True, True
    if s == "midnight":
        return 0, 0, True, False
    m = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?", s)
    if not m:
        return None
    h, mi, ap = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if h > 24 or mi > 59:
        return None
    shifted = (ap == "pm" or (ap is None and pm_default)) and h < 12
    if shifted:
        h += 12
    elif ap == "am" and h == 12:
        h = 0
    return h % 24, mi, ap is not None or ":" in s, shifted


def _period(s: str, ctx: _Ctx) -> _Span | None:
    """Calendar periods and named nights/weekends."""
    now, today = ctx.now, ctx.now.date()
    if s in ("last night", "overnight") or s == "tonight":
        night_start = today if (s == "tonight" and now.hour >= 18) else today - timedelta(days=1)
        return _Span(_local(night_start, 18, ctx=ctx), _local(night_start, 30, ctx=ctx))
    m = re.fullmatch(r"this\s+(" + _PART_RE + ")", s)
    if m:
        if m.group(1) == "night":
            return _period("tonight", ctx)
        a, b = _PARTS[m.group(1)]
        return _Span(_local(today, a, ctx=ctx), _local(today, b, ctx=ctx))
    m = re.fullmatch(r"(?:(the|this|last)\s+)?weekend", s)
    if m:
        back = (today.weekday() - 5) % 7  # days since the most recent Saturday
        sat = today - timedelta(days=back)
        if m.group(1) == "last" and back <= 1:
            sat -= timedelta(days=7)
        return _Span(_local(sat, ctx=ctx), _local(sat + timedelta(days=2), ctx=ctx))
    m = re.fullmatch(r"(this|last|previous|the)\s+(week|month|year)", s)
    if m:
        which, unit = m.groups()
        if unit == "week":
            start = today - timedelta(days=today.weekday())
            step: timedelta | relativedelta = timedelta(weeks=1)
        elif unit == "month":
            start, step = today.replace(day=1), relativedelta(months=1)
        else:
            start, step = today.replace(month=1, day=1), relativedelta(years=1)
        if which in ("last", "previous"):
            return _Span(_local(start - step, ctx=ctx), _local(start, ctx=ctx))
        return _Span(_local(start, ctx=ctx), _local(start + step, ctx=ctx))
    m = re.fullmatch(r"(?:(?:the\s+)?month\s+of\s+)?([a-z]+)(?:\s+(\d{4}))?", s)
    if m and m.group(1) in _MONTHS:
        # the named month of the given year, else the most recent one that has begun
        month, year = _MONTHS[m.group(1)], int(m.group(2)) if m.group(2) else today.year
        if not m.group(2) and month > today.month:
            year -= 1
        first = date(year, month, 1)
        return _Span(_local(first, ctx=ctx), _local(first + relativedelta(months=1), ctx=ctx))
    return None


def _parse_anchor(
    s: str, ctx: _Ctx, *, default_day: date | None = None, pm_default: bool = False
) -> _Span | None:
    """One anchor → a point or a span, in local time."""
    s = s.strip()
    if re.fullmatch(_ISO_DT_RE, s):
        try:
            dt = dtparser.isoparse(s.upper().replace(" ", "T"))
        except ValueError:
            return None
        return _Span(dt if dt.tzinfo else dt.replace(tzinfo=ctx.zone))
    m = re.fullmatch(rf"({_NUM_RE})\s*({_UNIT_RE})\s+ago", s)
    if m:
        return _Span(_utc(ctx.now) - _delta(_amount(m.group(1)), m.group(2)))
    period = _period(s, ctx)
    if period:
        return period
    m = _DAY_TIME_FULL.fullmatch(s) or _TIME_DAY_FULL.fullmatch(s)
    if m is None:
        return None
    groups = m.groupdict()
    part = groups.get("part") or groups.get("part2")
    day = _parse_day(groups["day"], ctx) if groups.get("day") else None
    if groups.get("day") and day is None:
        return None
    if groups.get("clock"):
        pm = pm_default or part in ("afternoon", "evening", "night")
        clock = _parse_clock(groups["clock"].strip(), pm_default=pm)
        if clock is None:
            return None
        h, mi, explicit, is_pm = clock
        d = day or default_day or ctx.now.date()
        point = _local(d, h, mi, ctx=ctx)
        if day is None and default_day is None and point > ctx.now:
            point -= timedelta(days=1)  # "since 23:00" asked at 10:00 means last night
        return _Span(point, pm_hint=is_pm, explicit=explicit or part is not None)
    day = day or default_day or (ctx.now.date() if part else None)
    if day is None:
        return None
    if part:
        a, b = _PARTS[part]
        return _Span(_local(day, a, ctx=ctx), _local(day, b, ctx=ctx))
    return _Span(_local(day, ctx=ctx), _local(day + timedelta(days=1), ctx=ctx))


_DAY_TIME_FULL = re.compile(
    rf"(?P<day>{_DAY_RE})(?:\s+(?P<part>{_PART_RE}))?(?:(?:\s+at|\s*@|,)?\s+(?P<clock>{_LOOSE_CLOCK_RE}))?"
)
_TIME_DAY_FULL = re.compile(
    rf"(?P<clock>{_LOOSE_CLOCK_RE})(?:\s+(?:on\s+)?(?P<day>{_DAY_RE})(?:\s+(?P<part>{_PART_RE}))?"
    rf"|\s+(?:in\s+the\s+|this\s+)(?P<part2>{_PART_RE}))?"
)


# --- constructs -----------------------------------------------------------------------------------

_Result = tuple[datetime, datetime] | None


def _range(m: re.Match[str], ctx: _Ctx) -> _Result:
    """ "between 9 and 11 this morning", "from 2 to 4pm yesterday", "from 2026-11-01 to 2026-11-15"."""
    prefix_day = _parse_day(m.group("pday"), ctx) if m.group("pday") else None
    b = _parse_anchor(m.group("b"), ctx, default_day=prefix_day)
    if b is None:
        return None
    a = _parse_anchor(m.group("a"), ctx, default_day=b.start.date(), pm_default=b.pm_hint)
    if a is None:
        return None
    if b.end is None and a.end is None and a.start > b.start and not b.explicit and b.start.hour < 12:
        # "from 11 to 2" : the end wrapped past noon
        b = _Span(b.start + timedelta(hours=12))
    if b.end is None and a.start > b.start:
        a = _Span(a.start - timedelta(days=1))  # "from 11pm to 1am": across midnight
    end = b.end if b.end is not None else b.start
    return a.start, end


def _since(m: re.Match[str], ctx: _Ctx) -> _Result:
    """ "since X" runs to now; "from <a day>" is that day ("pipelines from yesterday") unless "onwards"."""
    a = _parse_anchor(m.group("a"), ctx)
    if a is None:
        return None
    if m.group("kw") == "from" and a.end is not None and not m.group("onwards"):
        return a.start, a.end
    return a.start, ctx.now


def _until(m: re.Match[str], ctx: _Ctx) -> _Result:
    a = _parse_anchor(m.group("a"), ctx)
    if a is None:
        return None
    end = a.end if (a.end is not None and m.group("kw") in ("until", "through")) else a.start
    return _utc(end) - timedelta(hours=24), end


def _rolling(m: re.Match[str], ctx: _Ctx) -> _Result:
    """ "last 24 hours", "past 3 days", "in the last hour"; bare "last week" is left to the calendar."""
    n, unit, which, pre = m.group("n"), m.group("unit"), m.group("which"), m.group("pre")
    name = _unit_name(unit)
    if n is None and name in ("week", "month", "year") and which in ("last", "previous") and not pre:
        return None
    if n is None and unit in ("m", "h", "d", "w", "y", "mo"):
        return None
    return _utc(ctx.now) - _delta(_amount(n) if n else 1.0, unit), ctx.now


def _bare_anchor(m: re.Match[str], ctx: _Ctx) -> _Result:
    a = _parse_anchor(m.group("a"), ctx)
    if a is None:
        return None
    return (a.start, a.end) if a.end is not None else (a.start, ctx.now)


def _bare_amount(m: re.Match[str], ctx: _Ctx) -> _Result:
    """Terse "failed builds 24h": a number with a unit and nothing else is a rolling window."""
    return _utc(ctx.now) - _delta(_amount(m.group("n")), m.group("unit")), ctx.now


_B = r"(?<![\w/#.:-])"
_E = r"(?![\w/-])"
_CONSTRUCTS: list[tuple[re.Pattern[str], Callable[[re.Match[str], _Ctx], _Result]]] = [
    (
        re.compile(
            rf"{_B}(?:(?P<pday>{_DAY_RE}),?\s+)?(?:between|from)\s+(?P<a>{_LOOSE_ANCHOR})\s*(?:and|to|until|through|-|–)\s*(?P<b>{_LOOSE_ANCHOR}){_E}"
        ),
        _range,
    ),
    (
        re.compile(
            rf"{_B}(?P<kw>since|after|from|starting(?:\s+(?:at|on|from))?|as\s+of)\s+(?P<a>{_ANCHOR}){_E}(?P<onwards>\s+(?:on(?:wards?)?|forward|until\s+now))?"
        ),
        _since,
    ),
    (re.compile(rf"{_B}(?P<kw>before|until|through|up\s+to|prior\s+to)\s+(?P<a>{_ANCHOR}){_E}"), _until),
    (
        re.compile(
            rf"{_B}(?:(?P<pre>in|over|during|within|for)\s+)?(?:the\s+)?(?P<which>last|past|previous)\s+(?:(?P<n>{_NUM_RE})\s*)?(?P<unit>{_UNIT_RE}){_E}"
        ),
        _rolling,
    ),
    (re.compile(rf"{_B}(?:(?:on|at|in|during|over)\s+)?(?P<a>{_ANCHOR}){_E}"), _bare_anchor),
    (
        re.compile(rf"{_B}(?:within\s+|in\s+)?(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>{_UNIT_RE}){_E}(?!\s+ago)"),
        _bare_amount,
    ),
]


# --- zones and normalisation ---------------------------------------------------------------------


def resolve_zone(name: str) -> ZoneInfo | timezone | None:
    """An IANA name, a common abbreviation ("PST", "CET") or an offset ("UTC+2", "+05:30")."""
    key = name.strip()
    m = re.fullmatch(r"(?:utc|gmt)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", key, re.IGNORECASE)
    if m:
        sign = 1 if m.group(1) == "+" else -1
        return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0)))
    if key.lower() in _ZONE_ABBREVIATIONS:
        return ZoneInfo(_ZONE_ABBREVIATIONS[key.lower()])
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        return None


_IANA_RE = re.compile(r"\b([A-Z][A-Za-z_]+/[A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_]+)?)\b")
_ABBR_RE = re.compile(
    r"(?P<pre>\d|am|pm|\d\s)?\s*\b(?P<z>(?:utc|gmt)\s*[+-]\s*\d{1,2}(?::?\d{2})?|"
    + "|".join(sorted(_ZONE_ABBREVIATIONS, key=len, reverse=True))
    + r")\b(?:\s+time\b)?",
)


def _extract_zone(original: str, text: str) -> tuple[ZoneInfo | timezone | None, str]:
    """Find a zone written in the question and remove it so the grammar sees bare clock times."""
    m = _IANA_RE.search(original)
    if m and (zone := resolve_zone(m.group(1))) is not None:
        return zone, text.replace(m.group(1).lower(), " ")
    for zm in _ABBR_RE.finditer(text):
        word = zm.group("z").replace(" ", "")
        if word in _ZONE_AFTER_TIME_ONLY and not zm.group("pre"):
            continue
        if re.search(r"\d{4}-\d{2}-\d{2}t[\d:.]*$", text[: zm.start("z")]):
            continue  # the Z of an ISO datetime
        zone = resolve_zone(word)
        if zone is not None:
            return zone, text[: zm.start("z")] + text[zm.end() :]
    return None, text


def _normalize(text: str) -> str:
    t = basic(text)
    for wrong, right in _TYPOS.items():
        t = re.sub(rf"(?<![\w'-]){re.escape(wrong)}(?![\w'-])", right, t)
    t = correct(t, _TIME_VOCAB, cutoff=82)
    for words, digits in sorted(_NUMBER_WORDS.items(), key=lambda kv: -len(kv[0])):
        t = re.sub(rf"\b{words}\b(?=\s+(?:{_UNIT_RE})\b|\s+more\b)", digits, t)
    t = (
        re.sub(r"\b(\d+)\s*(?:-|to)\s*(\d+)\s*(am|pm)\b", r"from \1 to \2\3", t)
        if "from" not in t and "between" not in t
        else t
    )
    t = re.sub(r"\bthis\s+fortnight\b", "the past fortnight", t)
    t = re.sub(r"\b(?:a|one)\s+fortnight\b", "1 fortnight", t)
    # "no commits for a week", "idle for over a month", "not touched in a day": a period after a
    # preposition is a rolling amount, like "for 7 days"
    t = re.sub(
        rf"\b(for|in|within|over)\s+((?:over|more\s+than|about|around|nearly|almost)\s+)?an?\s+(?=(?:{_UNIT_RE})\b)",
        r"\1 \g<2>1 ",
        t,
    )
    t = re.sub(r"\bmid-?night\b", "midnight", t)
    t = re.sub(r"\b(?:earlier|so far|up to now|until now)\s+today\b", "today", t)
    t = re.sub(r"\bthis (?:week|month|year) so far\b", lambda m: m.group(0)[:-7], t)
    t = re.sub(r"\s+", " ", t)
    return t


# --- public -------------------------------------------------------------------------------------


def _user_zone(tz: str) -> ZoneInfo | timezone:
    return resolve_zone(tz) or UTC


def _find(text: str, now: datetime, tz: str) -> tuple[datetime, datetime, str] | None:
    norm = _normalize(text)
    text_zone, norm = _extract_zone(text, norm)
    zone = text_zone or _user_zone(tz)
    ctx = _Ctx(now=now.astimezone(zone), zone=zone)
    for pattern, handler in _CONSTRUCTS:
        for m in pattern.finditer(norm):
            result = handler(m, ctx)
            if result is not None:
                label = re.sub(r"\s+", " ", m.group(0)).strip()
                return result[0], result[1], f"{label} ({zone})" if text_zone else label
    return None


def parse_window(text: str, now: datetime, tz: str = "UTC") -> Window | None:
    """The window a question talks about, in UTC, or None when it names no time.

    Args:
        text: the question (or just the time phrase); typos and abbreviations are tolerated.
        now: the aware "current" instant, injected so answers are reproducible.
        tz: the user's IANA zone, for calendar words ("yesterday", "this morning", "since Monday").
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    found = _find(text, now, tz)
    if found is None:
        return None
    start, end, label = found
    now_utc = now.astimezone(UTC)
    start_utc = min(start.astimezone(UTC), now_utc)
    end_utc = min(end.astimezone(UTC), now_utc)
    if end_utc < start_utc:
        start_utc, end_utc = end_utc, start_utc
    return Window(start=start_utc, end=end_utc, label=label)


def parse_instant(text: str, now: datetime, tz: str = "UTC") -> datetime | None:
    """The single instant a question points at ("errors since 14:05", "what changed before 2pm"), in UTC.

    Used for incidents: a window's start is the instant for "since T"/ranges, its end for "before T".
    """
    found = _find(text, now, tz)
    if found is None:
        return None
    start, end, label = found
    at = end if re.match(r"(?:before|until|through|up to|prior to)\b", label) else start
    return min(at.astimezone(UTC), now.astimezone(UTC))
