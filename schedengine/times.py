"""Date and time strings of the wire records, and time zones.

Everything here is about *reading* values and about the zone's UTC offsets;
recurrence lives in :mod:`schedengine.recurrence` (this module never touches
``dateutil.rrule``).

- :func:`resolve_zone` turns an IANA name (``America/New_York``) or a Windows
  name (``Eastern Standard Time``, mapped with the CLDR table that
  ``tzlocal.windows_tz`` maintains) into a cached :class:`~zoneinfo.ZoneInfo`.
- :func:`parse_date`, :func:`parse_time` and :func:`parse_until` read the
  record's ``StartDate``, ``StartTime``/``EndTime`` and ``UntilDate`` values
  (SPEC §2 "Values inside records") and raise :class:`RecordError` naming the
  path, the value found and the expected shape.
- :func:`utc_offset_spans` tiles a UTC range into pieces of constant UTC
  offset, so that wall-clock windows can be turned into instants exactly.

``MIN_WALL`` .. ``MAX_WALL`` is the evaluation horizon: answers are exact for
instants whose local wall time lies inside it. Record dates (``StartDate``,
``UntilDate``) must lie in years ``MIN_DATE.year`` .. ``MAX_DATE.year``
(0002..9997, the years of the instants the engine accepts), so that a window
or a zone conversion a day away never leaves what ``datetime`` represents.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from .errors import RecordError
from .records import shown

__all__ = [
    "HORIZON", "MAX_DATE", "MAX_WALL", "MIN_DATE", "MIN_WALL", "epoch_datetime", "offset_ignored", "parse_date",
    "parse_time", "parse_until",
    "resolve_zone", "utc_offset_spans",
]

MIN_WALL = datetime(1800, 1, 1)
MAX_WALL = datetime(2400, 1, 1)
#: Changes are reported, and answers exact, for instants before this one: a
#: day before MAX_WALL, so that every such instant's wall time is before
#: MAX_WALL in every zone (no UTC offset reaches a day). At 2400-01-01T00:00Z
#: Berlin's wall clock already read 2400-01-01T01:00, past the last window.
HORIZON = (MAX_WALL - timedelta(days=1)).replace(tzinfo=timezone.utc)
#: First and last record date accepted (StartDate, UntilDate): years 0002..9997.
MIN_DATE = date(2, 1, 1)
MAX_DATE = date(9997, 12, 31)
#: UTC epoch seconds utc_offset_spans covers: [0002-01-01, 9999-01-01).
_FIRST_SPAN_EPOCH = (MIN_DATE.toordinal() - date(1970, 1, 1).toordinal()) * 86400
_LAST_SPAN_EPOCH = (date(9999, 1, 1).toordinal() - date(1970, 1, 1).toordinal()) * 86400

DAY_SECONDS = 86400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_UTC = ZoneInfo("UTC")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def epoch_datetime(seconds: Any) -> datetime:
    """Epoch seconds (int, float, Fraction, numpy scalar) as an aware UTC
    datetime, rounded *down* to the microsecond. Every window edge is a
    whole second, so `seconds` and the result are always on the same side
    of every edge: the compiled path compares the number itself, everything
    else the datetime. (`datetime.fromtimestamp` rounds to the nearest
    microsecond: a float 0.3 µs before an edge became the edge.)"""
    whole = math.floor(seconds)
    # At most 999,999: for a float just below a whole second (-1e-20, say)
    # `seconds - whole` rounds up to 1.0, which would cross the edge.
    micro = min(math.floor((seconds - whole) * 1_000_000), 999_999)
    return _EPOCH + timedelta(seconds=int(whole), microseconds=int(micro))


# ------------------------------------------------------------------------ zones

def _where(path: str | None) -> str:
    return f"{path}: " if path else ""


@lru_cache(maxsize=None)
def _windows_table() -> dict[str, str]:
    """Windows zone name (lower-cased) -> IANA name, from tzlocal's CLDR copy."""
    from tzlocal.windows_tz import win_tz

    return {name.lower(): iana for name, iana in win_tz.items()}


# Names ZoneInfo loads from the zone directories that are not zones a
# record can mean: "localtime" is whatever zone the host is set to (another
# machine would answer differently), "posixrules" the template for POSIX TZ
# strings, "Factory" tzdata's placeholder for "zone not set" (abbreviation
# "-00"). available_timezones() already leaves out posixrules and the
# posix/ and right/ copies; it lists the other two.
_NOT_ZONES = {
    "localtime": "it is whatever zone the host running schedengine is set to, which differs between machines",
    "posixrules": "it is a template for POSIX TZ strings, not a zone",
    "factory": 'it is tzdata\'s placeholder for "no zone set yet", not a zone',
}


@lru_cache(maxsize=None)
def _iana_by_lower() -> dict[str, str]:
    """Every IANA zone name the zone database holds, by its lower-case
    spelling. available_timezones() walks the zone directories (about 10 ms):
    built once, when a name is first resolved."""
    return {name.lower(): name for name in zoneinfo.available_timezones() if name.lower() not in _NOT_ZONES}


@lru_cache(maxsize=1024)
def _zone_named(name: str) -> ZoneInfo | None:
    """The zone called `name` (IANA in any case, then Windows), or None. Only names of the
    zone database count: ZoneInfo also opens any other file there ("localtime",
    "posixrules", "Factory"). IANA comes first so that a name is one zone in any case:
    "utc" is UTC as "UTC" is, not the Windows "UTC" (Etc/UTC)."""
    folded = _iana_by_lower().get(name.lower())
    candidates = [folded] if folded else []
    windows = _windows_table().get(name.lower())
    if windows:
        candidates.append(windows)
    for candidate in candidates:
        try:
            return ZoneInfo(candidate)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            continue
    return None


def resolve_zone(name: str | ZoneInfo | None, *, path: str | None = None) -> ZoneInfo:
    """The :class:`ZoneInfo` for an IANA or Windows zone name (cached).

    A ``ZoneInfo`` is returned as is. ``None`` or a blank name gives UTC (the
    policy default of SPEC §4; callers with another default decide before
    calling). Windows names are mapped with the CLDR table shipped in
    ``tzlocal.windows_tz``; IANA names are also matched case-insensitively.
    Anything else raises :class:`RecordError` naming `path` and the name.
    """
    if isinstance(name, ZoneInfo):
        return name
    if name is None or not str(name).strip():
        return _UTC
    text = str(name).strip()
    zone = _zone_named(text)
    if zone is None:
        why = _NOT_ZONES.get(text.lower())
        raise RecordError(
            f'{_where(path)}unknown time zone {shown(text)} ({why + "; " if why else ""}expected an IANA name '
            f'such as "America/New_York" or a Windows name such as "Eastern Standard Time")',
            path=path,
        )
    return zone


# ------------------------------------------------------------------ date & time

_DATE = r"(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
_CLOCK = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?"
_OFFSET = r"(?P<z>Z|z|[+-]\d{2}(?::?\d{2})?)?"
# ASCII digits only (\d also matches full-width and other scripts' digits, which .NET refuses);
# \s stays Unicode: .NET 8 writes "12:00\u202fPM" for en-US.
_DATE_RE = re.compile(rf"^{_DATE}$".replace(r"\d", "[0-9]"))
_DATETIME_RE = re.compile(rf"^{_DATE}[Tt ]{_CLOCK}\s*{_OFFSET}$".replace(r"\d", "[0-9]"))
_CLOCK_RE = re.compile(rf"^{_CLOCK}$".replace(r"\d", "[0-9]"))
_AMPM_RE = re.compile(
    r"^(?P<h>\d{1,2})(?::(?P<mi>\d{2})(?::(?P<s>\d{2}))?)?\s*(?P<ap>[AaPp])\.?\s*[Mm]\.?$".replace(r"\d", "[0-9]"))


def _offset(text: str | None) -> timezone | None:
    if not text:
        return None
    if text in "Zz":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _split_datetime(text: str) -> tuple[date, int, int, timezone | None] | None:
    """(date, seconds of day, microseconds, offset) of an ISO date-time, None if not one."""
    match = _DATETIME_RE.match(text)
    if not match:
        return None
    day = date(int(match["y"]), int(match["mo"]), int(match["d"]))
    hour, minute, second = int(match["h"]), int(match["mi"]), int(match["s"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        if not (hour == 24 and minute == 0 and second == 0 and not int(match["f"] or 0)):
            raise ValueError("time out of range")
    micro = int((match["f"] or "0")[:6].ljust(6, "0"))
    return day, hour * 3600 + minute * 60 + second, micro, _offset(match["z"])


def offset_ignored(text: object) -> str | None:
    """The offset (`Z`, `+10:00`) of an ISO date-time that is read as a wall
    time (StartDate, StartTime, EndTime), for a warning; None if it has none."""
    match = _DATETIME_RE.match(str(text).strip()) if text is not None else None
    return match["z"] if match else None


def _in_range(day: date, value: str, path: str | None) -> date:
    if not MIN_DATE <= day <= MAX_DATE:
        raise RecordError(
            f'{_where(path)}{shown(value)} is out of range: dates must lie in years '
            f"{MIN_DATE.year:04d}..{MAX_DATE.year:04d}", path=path)
    return day


def parse_date(text: object, *, path: str | None) -> date:
    """A record date: ``YYYY-MM-DD``, or an ISO date-time whose date part is used.

    Years outside ``MIN_DATE.year .. MAX_DATE.year`` (0002..9997) are rejected.
    """
    value = str(text).strip() if text is not None else ""
    try:
        match = _DATE_RE.match(value)
        if match:
            return _in_range(date(int(match["y"]), int(match["mo"]), int(match["d"])), value, path)
        parts = _split_datetime(value)
        if parts is not None:
            return _in_range(parts[0], value, path)
    except ValueError as exc:
        if isinstance(exc, RecordError):
            raise
        raise RecordError(f'{_where(path)}{shown(value)} is not a date (expected YYYY-MM-DD): {exc}',
                          path=path) from exc
    raise RecordError(f'{_where(path)}{shown(value)} is not a date (expected YYYY-MM-DD)', path=path)


def parse_time(text: object, *, path: str | None, allow_24: bool = False) -> int:
    """Seconds since midnight of a record time (0..86399, or 86400 for ``24:00``).

    Accepts ``HH:MM``, ``HH:MM:SS``, ``H:MM AM/PM`` (also ``H AM``,
    ``H:MM:SS PM``) and an ISO date-time, whose time part is used as a wall
    time. ``24:00`` (end of day) is accepted only when `allow_24` is true (end
    times). Windows start and end on whole seconds: a fraction of a second is
    dropped from a start and rounds an end up, so .NET's end of day
    ``23:59:59.9999999`` ends at 24:00, not a second before it.
    """
    value = str(text).strip() if text is not None else ""
    seconds: int | None = None
    match = _CLOCK_RE.match(value)
    if match:
        hour, minute, second = int(match["h"]), int(match["mi"]), int(match["s"] or 0)
        if minute <= 59 and second <= 59:
            if hour <= 23:
                seconds = hour * 3600 + minute * 60 + second + (allow_24 and bool((match["f"] or "").strip("0")))
            elif hour == 24 and minute == 0 and second == 0 and not int(match["f"] or 0):
                seconds = DAY_SECONDS
    elif (match := _AMPM_RE.match(value)) is not None:
        hour, minute, second = int(match["h"]), int(match["mi"] or 0), int(match["s"] or 0)
        if 1 <= hour <= 12 and minute <= 59 and second <= 59:
            hour = hour % 12 + (12 if match["ap"] in "Pp" else 0)
            seconds = hour * 3600 + minute * 60 + second
    else:
        try:
            parts = _split_datetime(value)
        except ValueError:
            parts = None
        if parts is not None:
            fraction = (_DATETIME_RE.match(value) or {"f": None})["f"] or ""  # all its digits: 100 ns counts too
            seconds = parts[1] + (allow_24 and parts[1] < DAY_SECONDS and bool(fraction.strip("0")))
    if seconds is None:
        raise RecordError(f'{_where(path)}{shown(value)} is not a time (expected HH:MM)', path=path)
    if seconds == DAY_SECONDS and not allow_24:
        raise RecordError(
            f'{_where(path)}{shown(value)} is only allowed as an end time (24:00 = end of day; '
            f'use 00:00 for a start)', path=path)
    return seconds


def parse_until(text: object, zone: ZoneInfo, *, path: str | None) -> datetime:
    """The inclusive bound of an ``UntilDate``, as a naive local wall time.

    A date means the whole local day: the bound is ``23:59:59.999999`` of that
    day. A date-time without offset is a wall time and is used as is; one
    with ``Z`` or an offset is converted to `zone`'s wall time. A fraction
    of a second is dropped, as in record times: windows start and end on
    whole seconds (the compiled path keeps edges in whole seconds), and
    .NET writes fractions such as ``.0000000`` that mean nothing here.
    """
    value = str(text).strip() if text is not None else ""
    try:
        match = _DATE_RE.match(value)
        if match:
            day = _in_range(date(int(match["y"]), int(match["mo"]), int(match["d"])), value, path)
            return datetime(day.year, day.month, day.day, 23, 59, 59, 999999)
        parts = _split_datetime(value)
    except ValueError as exc:
        if isinstance(exc, RecordError):
            raise
        raise RecordError(
            f'{_where(path)}{shown(value)} is not a date or date-time (expected YYYY-MM-DD or '
            f'YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]): {exc}', path=path) from exc
    if parts is None:
        raise RecordError(
            f'{_where(path)}{shown(value)} is not a date or date-time (expected YYYY-MM-DD or '
            f'YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM])', path=path)
    day, seconds, _, offset = parts
    _in_range(day, value, path)
    wall = datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)
    if offset is not None:
        try:
            wall = (wall.replace(tzinfo=offset).astimezone(zone)).replace(tzinfo=None)
        except OverflowError as exc:
            raise RecordError(f'{_where(path)}{shown(value)} is out of range', path=path) from exc
    return wall


# ------------------------------------------------------------ UTC offset spans

def _year_start(year: int) -> int:
    """UTC epoch seconds of 1 January of `year`, 00:00 UTC."""
    return (date(year, 1, 1).toordinal() - _EPOCH_ORDINAL) * DAY_SECONDS


def _year_of(epoch: int) -> int:
    return date.fromordinal(_EPOCH_ORDINAL + epoch // DAY_SECONDS).year


_YEAR_CACHE: dict[tuple[ZoneInfo, int], tuple[int, tuple[tuple[int, int], ...]]] = {}


def _year_offsets(zone: ZoneInfo, year: int) -> tuple[int, tuple[tuple[int, int], ...]]:
    """(offset at the UTC year start, ((instant, offset from then on), ...)) for one UTC year.

    Probes the offset once per UTC day (``zone.fromutc`` on datetimes whose
    fields are UTC) and bisects to the second wherever two probes differ,
    repeatedly, so several changes inside one day are found as long as the
    offset at the day's end differs from the last one found. A change and
    its reversal within one day would be missed; the tz database has none in
    the horizon's zones that matter, and this is documented.
    """
    key = (zone, year)
    cached = _YEAR_CACHE.get(key)
    if cached is not None:
        return cached
    fromutc = zone.fromutc
    base = datetime(year, 1, 1, tzinfo=zone)
    t0 = _year_start(year)
    t1 = _year_start(year + 1)

    def offset_at(epoch: int) -> int:
        return int(fromutc(base + timedelta(seconds=epoch - t0)).utcoffset().total_seconds())

    start_offset = int(fromutc(base).utcoffset().total_seconds())
    changes: list[tuple[int, int]] = []
    day = timedelta(days=1)
    probe = base
    previous = fromutc(probe).utcoffset()
    t = t0
    current = start_offset
    while t < t1:
        probe = probe + day
        following = fromutc(probe).utcoffset()
        if following != previous:
            end = t + DAY_SECONDS
            end_offset = int(following.total_seconds())
            lo = t
            while current != end_offset:
                hi = end  # offset_at(lo) == current, offset_at(hi) == end_offset != current
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if offset_at(mid) == current:
                        lo = mid
                    else:
                        hi = mid
                current = offset_at(hi)
                changes.append((hi, current))
                lo = hi
            previous = following
        t += DAY_SECONDS
    result = (start_offset, tuple(changes))
    _YEAR_CACHE[key] = result
    return result


def utc_offset_spans(zone: ZoneInfo, start: int, end: int) -> list[tuple[int, int, int]]:
    """Tile ``[start, end)`` (UTC epoch seconds) into ``(span_start, span_end, utcoffset)``.

    Spans are split at every instant where `zone`'s UTC offset (in seconds)
    changes, exact to the second, and adjacent spans always differ in
    offset. Transitions are found per UTC year (cached per zone and year) by
    probing once a day and bisecting; see :func:`_year_offsets`. Works for
    any year datetime can represent with a day to spare: `start` and `end` in
    ``[0002-01-01, 9999-01-01]`` UTC, else :class:`RecordError`.
    """
    if end <= start:
        return []
    if start < _FIRST_SPAN_EPOCH or end > _LAST_SPAN_EPOCH:
        raise RecordError(
            f"UTC offsets of {zone.key} are only computed from 0002-01-01 to 9999-01-01 UTC "
            f"(epoch seconds {_FIRST_SPAN_EPOCH:,}..{_LAST_SPAN_EPOCH:,}); asked for "
            f"{start:,}..{end:,}")
    spans: list[tuple[int, int, int]] = []
    first_year = _year_of(start)
    last_year = _year_of(end - 1)
    cursor = start
    offset: int | None = None
    for year in range(first_year, last_year + 1):
        year_offset, changes = _year_offsets(zone, year)
        year_begin = _year_start(year)
        points = [(year_begin, year_offset), *changes]
        for instant, new_offset in points:
            if instant <= start:
                offset = new_offset
                continue
            if instant >= end:
                break
            if offset is None:  # cannot happen: the year start is <= start for the first year
                offset = new_offset
            if new_offset != offset:
                spans.append((cursor, instant, offset))
                cursor = instant
                offset = new_offset
    assert offset is not None
    spans.append((cursor, end, offset))
    return spans
