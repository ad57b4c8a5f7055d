"""A `Time` rule as a recurrence, and the windows it opens (SPEC §3).

The only module of the package that imports ``dateutil.rrule``; every
dateutil quirk the package corrects is corrected here, in one place, and
pinned by regression tests (``tests/test_recurrence_*.py``):

- **BYSETPOS with WEEKLY.** dateutil builds the first week's set from
  DTSTART onwards instead of from the week start, so positions count the
  wrong days. We generate from the start of DTSTART's week and drop what
  falls before DTSTART (RFC 5545: the set is the whole period).
- **BYDAY mixing ordinal and plain weekdays** (``3MO,WE,FR``): dateutil
  intersects the two kinds; the RFC means their union. We split the rule
  into one part per kind and merge them (an ``rruleset``); with BYSETPOS the
  positions are applied to the merged period set by us.
- **BYWEEKNO 52 and 53 at the turn of a year.** dateutil counts the weeks
  of the previous year wrongly when that year began on a Friday (2010,
  2021, 2038...): the first days of the next year, which belong to week 52,
  are given week 53. We ask dateutil for both numbers and keep each day by
  its true (ISO 8601, weeks from Monday) week number. Only for positive
  week numbers: with a negative one among them the rule is left to dateutil.
- **Values RFC 5545 derives from DTSTART** that dateutil leaves open:
  ``YEARLY`` with ``BYMONTHDAY`` but no ``BYMONTH`` takes DTSTART's month,
  and ``YEARLY`` with ``BYWEEKNO`` but no ``BYDAY`` takes DTSTART's weekday
  (libical's reading, which our vectors pin; dateutil expands to every month
  / every day of the week).

Evaluation (:class:`RuleWindows`) never replays the recurrence from DTSTART:
a query re-anchors the rule to the start of the latest period in phase with
DTSTART before the range, and runs dateutil 7,600 years later (19 Gregorian
400-year cycles: the same calendar) so that dateutil's own stop at year 9999
falls exactly on :data:`~schedengine.times.MAX_WALL`. A rule that never
matches again therefore costs at most the periods up to the horizon, once.
``WORK.items`` counts every item pulled from a dateutil iterator, so tests
can prove how much work a query did. See ``docs/recurrence.md``.
"""

from __future__ import annotations

import dataclasses
import heapq
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import islice
from typing import Any, Iterable, Iterator
from zoneinfo import ZoneInfo

from dateutil import rrule as _rr

from .errors import RecordError, RuleError, ScheduleWarning
from .records import (
    DayOfWeek, SchedulingRule, SchedulingRuleFrequency, SimpleSchedulingRuleTypes, parse_model,
)
from .times import MAX_WALL, MIN_DATE, parse_date, parse_time, parse_until, resolve_zone

__all__ = [
    "DAILY_OCCURRENCE_LIMIT", "MAX_INTERVAL", "OCCURRENCE_LIMIT", "RuleWindows", "WORK", "check_rule",
    "rule_kind", "rule_to_rrule", "rule_windows", "to_rrule_string",
]

#: Most occurrences one query (or one Count rule) may enumerate; beyond it a RuleError names the limit.
OCCURRENCE_LIMIT = 100_000
#: Days of occurrences one engine query may enumerate: a compiled chunk (about 6 days) or a first
#: ``next_edge`` step (8 days), plus a day of margin and a window's length on either side.
QUERY_DAYS = 10
#: Most occurrences a day a rule that is enumerated may have (``OCCURRENCE_LIMIT / QUERY_DAYS``).
DAILY_OCCURRENCE_LIMIT = OCCURRENCE_LIMIT // QUERY_DAYS

DAY = timedelta(days=1)
_SHIFT = timedelta(days=146097 * 19)  # 7,600 years: MAX_WALL + _SHIFT == year 10000
_LAST_SHIFTABLE = datetime.max - _SHIFT
_MICRO = timedelta(microseconds=1)

_Freq = SchedulingRuleFrequency
_DATEUTIL_FREQ = {
    _Freq.Yearly: _rr.YEARLY, _Freq.Monthly: _rr.MONTHLY, _Freq.Weekly: _rr.WEEKLY,
    _Freq.Daily: _rr.DAILY, _Freq.Hourly: _rr.HOURLY, _Freq.Minutely: _rr.MINUTELY,
    _Freq.Secondly: _rr.SECONDLY,
}
_FREQ_NAME = {v: k.name.upper() for k, v in _DATEUTIL_FREQ.items()}
_UNIT_SECONDS = {_rr.HOURLY: 3600, _rr.MINUTELY: 60, _rr.SECONDLY: 1}


def _max_intervals() -> dict[int, int]:
    """Largest useful Interval per frequency: from the earliest StartDate (MIN_DATE) a larger one
    puts the second period at or after MAX_WALL, where nothing is reported, for every StartDate."""
    first = datetime(MIN_DATE.year, MIN_DATE.month, MIN_DATE.day)
    days = (MAX_WALL - first).days
    monday = first - timedelta(days=first.weekday())
    years = MAX_WALL.year - first.year
    return {
        _rr.YEARLY: years - 1, _rr.MONTHLY: years * 12 - 1,
        _rr.WEEKLY: ((MAX_WALL - monday).days - 1) // 7, _rr.DAILY: days - 1,
        _rr.HOURLY: days * 24 - 1, _rr.MINUTELY: days * 1440 - 1, _rr.SECONDLY: days * 86400 - 1,
    }


#: Largest Interval accepted per dateutil frequency (Yearly 2,397 ... Secondly 75,673,526,399).
MAX_INTERVAL = _max_intervals()
_WEEKDAY_CODE = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class WorkCounter:
    """Counts items pulled from dateutil iterators (``items``); reset it freely."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items = 0


#: The module's work counter (performance tests count work, never time).
WORK = WorkCounter()


# ====================================================================== rule kind

def _as_rule(rule: SchedulingRule | dict[str, Any], path: str) -> SchedulingRule:
    if isinstance(rule, SchedulingRule):
        return rule
    return parse_model(SchedulingRule, rule, path)


def _has_time_fields(rule: SchedulingRule) -> bool:
    texts = (rule.start_date, rule.start_time, rule.end_time, rule.until_date)
    lists = (rule.by_set_position, rule.by_month, rule.by_week_no, rule.by_year_day,
             rule.by_month_day, rule.by_day, rule.by_hour, rule.by_minute)
    return (any(t is not None and str(t).strip() for t in texts) or any(lists)
            or bool(rule.is_all_day) or (rule.count or 0) > 0
            or rule.frequency not in (None, _Freq.None_))


def rule_kind(rule: SchedulingRule | dict[str, Any]) -> SimpleSchedulingRuleTypes:
    """``SimpleRuleType``, or when missing: ``Time`` if any time/recurrence field is set,
    else ``CustomerState`` if ``CustomerState`` is set, else ``Always``.

    "Set" means meaningful, because .NET writes its non-nullable defaults:
    a non-blank date/time string, a non-empty By* list, ``IsAllDay`` true,
    ``Count`` > 0 or a ``Frequency`` other than ``None``. ``Interval`` alone
    does not make a rule a Time rule.
    """
    rule = _as_rule(rule, "rule")
    if rule.simple_rule_type is not None:
        return rule.simple_rule_type
    if _has_time_fields(rule):
        return SimpleSchedulingRuleTypes.Time
    if rule.customer_state is not None and rule.customer_state.strip():
        return SimpleSchedulingRuleTypes.CustomerState
    return SimpleSchedulingRuleTypes.Always


# ===================================================================== the spec

@dataclass(frozen=True, slots=True)
class _Spec:
    """A validated rule in evaluation form (naive local wall times)."""

    freq: int | None                      # dateutil constant; None = Frequency None
    dtstart: datetime
    interval: int
    count: int | None
    until: datetime | None                # inclusive bound on occurrence starts
    until_has_time: bool
    all_day: bool
    duration: timedelta                   # window length of a timed occurrence
    span_end: datetime | None             # Frequency None spanning several days
    bymonth: tuple[int, ...] = ()
    byweekno: tuple[int, ...] = ()
    byyearday: tuple[int, ...] = ()
    bymonthday: tuple[int, ...] = ()
    byday_plain: tuple[int, ...] = ()     # Python weekdays, Monday = 0
    byday_nth: tuple[tuple[int, int], ...] = ()
    byhour: tuple[int, ...] = ()
    byminute: tuple[int, ...] = ()
    bysetpos: tuple[int, ...] = ()
    derived: tuple[str, ...] = ()         # RFC readings applied ("bymonth", "byday")
    components: tuple[dict, ...] = field(default=(), compare=False)
    iso_weeks: frozenset[int] = frozenset()  # BYWEEKNO to keep by the true week number (module doc)

    @property
    def mixed_byday(self) -> bool:
        return bool(self.byday_plain) and bool(self.byday_nth)

    def window(self, start: datetime) -> tuple[datetime, datetime]:
        if self.all_day:
            day = datetime(start.year, start.month, start.day)
            return day, day + DAY
        return start, start + self.duration


def _unique(values: Iterable[int] | None) -> tuple[int, ...]:
    return tuple(sorted(set(values or ())))


_RANGES = {
    "by_month": ("byMonth", 1, 12, False),
    "by_week_no": ("byWeekNo", 1, 53, True),
    "by_year_day": ("byYearDay", 1, 366, True),
    "by_month_day": ("byMonthDay", 1, 31, True),
    "by_hour": ("byHour", 0, 23, False),
    "by_minute": ("byMinute", 0, 59, False),
    "by_set_position": ("bySetPosition", 1, 366, True),
}


def _range_text(lo: int, hi: int, negative: bool) -> str:
    return f"{lo}..{hi} or -{hi}..-1" if negative else f"{lo}..{hi}"


def _compile(rule: SchedulingRule | dict[str, Any], zone: str | ZoneInfo | None,
             path: str) -> tuple[_Spec, list[ScheduleWarning]]:
    """Validate `rule` and build its :class:`_Spec` (RuleError on errors)."""
    rule = _as_rule(rule, path)
    warnings: list[ScheduleWarning] = []

    def warn(where: str, message: str) -> None:
        warnings.append(ScheduleWarning(message, path=where))

    try:
        tz = resolve_zone(zone, path=f"{path} (time zone)")
    except RecordError as exc:
        raise RuleError(str(exc), path=exc.path) from exc

    def parsed(parser: Any, field_name: str, *args: Any, **kwargs: Any) -> Any:
        where = f"{path}.{field_name}"
        try:
            return parser(*args, path=where, **kwargs)
        except RecordError as exc:
            raise RuleError(str(exc), path=where) from exc

    frequency = rule.frequency if rule.frequency is not None else _Freq.None_
    freq = _DATEUTIL_FREQ.get(frequency)
    freq_name = frequency.wire_name

    # ---- dates and times
    start_day = parsed(parse_date, "startDate", rule.start_date) if _filled(rule.start_date) else None
    start_seconds = parsed(parse_time, "startTime", rule.start_time) if _filled(rule.start_time) else None
    end_seconds = (parsed(parse_time, "endTime", rule.end_time, allow_24=True)
                   if _filled(rule.end_time) else None)
    until = parsed(parse_until, "untilDate", rule.until_date, tz) if _filled(rule.until_date) else None
    until_has_time = until is not None and not _is_date_only(rule.until_date)

    anchored_1970 = start_day is None
    if start_day is None:
        start_day = date(1970, 1, 1)
    dtstart = datetime(start_day.year, start_day.month, start_day.day) + timedelta(seconds=start_seconds or 0)

    all_day = bool(rule.is_all_day) or (start_seconds is None and end_seconds is None)
    s = start_seconds or 0
    if end_seconds is None:
        duration = timedelta(seconds=86400 - s)
    elif end_seconds <= s:
        duration = timedelta(seconds=end_seconds - s + 86400)
    else:
        duration = timedelta(seconds=end_seconds - s)

    # ---- integers .NET cannot leave null
    interval = rule.interval if rule.interval and rule.interval > 0 else 1
    if freq is not None and interval > MAX_INTERVAL[freq]:
        most = MAX_INTERVAL[freq]
        raise RuleError(
            f"{path}.interval: {interval:,} is more than {most:,}, the largest Interval for "
            f"Frequency {freq_name}: a larger one puts every occurrence after the first at or after "
            f"{MAX_WALL:%Y-%m-%d} (the evaluation horizon) for any StartDate; use at most {most:,}, "
            f"or Frequency None for a single window", path=f"{path}.interval")
    count = rule.count if rule.count and rule.count > 0 else None
    if count is not None and until is not None:
        raise RuleError(
            f'{path}.count: Count {count} and UntilDate "{rule.until_date}" cannot both be set '
            f"(RFC 5545: COUNT and UNTIL are exclusive); keep one of them", path=f"{path}.count")
    if count is not None and count > OCCURRENCE_LIMIT:
        raise RuleError(
            f"{path}.count: {count:,} is more than the {OCCURRENCE_LIMIT:,} occurrences a Count rule "
            f"may have; use UntilDate for a longer recurrence", path=f"{path}.count")

    # ---- By* ranges
    values: dict[str, tuple[int, ...]] = {}
    for attr, (wire, lo, hi, negative) in _RANGES.items():
        raw = getattr(rule, attr) or []
        for i, value in enumerate(raw):
            ok = lo <= value <= hi or (negative and -hi <= value <= -1)
            if not ok:
                raise RuleError(f"{path}.{wire}[{i}]: {value} is out of range "
                                f"({_range_text(lo, hi, negative)})", path=f"{path}.{wire}[{i}]")
        values[attr] = _unique(raw)

    plain: set[int] = set()
    nth: set[tuple[int, int]] = set()
    for i, entry in enumerate(rule.by_day or []):
        weekday = (int(entry.day_of_week) - 1) % 7  # .NET Sunday = 0 -> Python Monday = 0
        offset = entry.offset or 0
        where = f"{path}.byDay[{i}].offset"
        if offset == 0:
            plain.add(weekday)
            continue
        if frequency not in (_Freq.Monthly, _Freq.Yearly):
            raise RuleError(
                f"{where}: {offset} (the {_ordinal(offset)} {DayOfWeek(entry.day_of_week).wire_name}) "
                f"only has a meaning with Frequency Monthly or Yearly (found {freq_name}); "
                f"set Offset to 0 for every {DayOfWeek(entry.day_of_week).wire_name}", path=where)
        limit = 5 if frequency is _Freq.Monthly else 53
        if not -limit <= offset <= limit:
            raise RuleError(f"{where}: {offset} is out of range ({_range_text(1, limit, True)} "
                            f"for Frequency {freq_name})", path=where)
        if frequency is _Freq.Yearly and values["by_week_no"]:
            raise RuleError(f"{where}: an Offset cannot be combined with byWeekNo "
                            f"(RFC 5545 §3.3.10); set Offset to 0", path=where)
        nth.add((weekday, offset))

    # ---- combinations RFC 5545 forbids (§3.3.10 "MUST NOT")
    if freq is not None:
        if values["by_week_no"] and frequency is not _Freq.Yearly:
            raise RuleError(f"{path}.byWeekNo: only has a meaning with Frequency Yearly "
                            f"(found {freq_name}; RFC 5545 §3.3.10)", path=f"{path}.byWeekNo")
        if values["by_year_day"] and frequency in (_Freq.Daily, _Freq.Weekly, _Freq.Monthly):
            raise RuleError(f"{path}.byYearDay: cannot be used with Frequency {freq_name} "
                            f"(RFC 5545 §3.3.10; use Yearly, or Hourly and finer)",
                            path=f"{path}.byYearDay")
        if values["by_month_day"] and frequency is _Freq.Weekly:
            raise RuleError(f"{path}.byMonthDay: cannot be used with Frequency Weekly "
                            f"(RFC 5545 §3.3.10; use Daily or Monthly)", path=f"{path}.byMonthDay")
        others = (values["by_month"], values["by_week_no"], values["by_year_day"],
                  values["by_month_day"], values["by_hour"], values["by_minute"], plain, nth)
        if values["by_set_position"] and not any(others):
            raise RuleError(f"{path}.bySetPosition: needs another By* field to select from "
                            f"(RFC 5545 §3.3.10)", path=f"{path}.bySetPosition")
    else:
        ignored = [wire for attr, (wire, *_rest) in _RANGES.items() if values[attr]]
        if rule.by_day:
            ignored.append("byDay")
        if count:
            ignored.append("count")
        if interval > 1:
            ignored.append("interval")
        if ignored:
            warn(path, f"Frequency None: {', '.join(ignored)} ignored (the rule is one window "
                       f"from StartDate StartTime)")

    # ---- warnings
    never = until is not None and until < dtstart
    if never:
        warn(f"{path}.untilDate", f'UntilDate "{rule.until_date}" is before the start '
                                  f"{dtstart:%Y-%m-%d %H:%M}: the rule never fires")
    elif dtstart >= MAX_WALL:
        warn(f"{path}.startDate", f"starts on or after {MAX_WALL:%Y-%m-%d}, the evaluation horizon: "
                                  f"the rule never fires")
    if anchored_1970:
        if freq is not None and (interval > 1 or count):
            what = "Interval > 1" if interval > 1 else "Count"
            warn(f"{path}.startDate", f"no StartDate: the recurrence is anchored at 1970-01-01, "
                                      f"which decides {what}; set StartDate")
        elif freq is None:
            warn(f"{path}.startDate", "no StartDate with Frequency None: the rule's only window "
                                      "is on 1970-01-01")
    if rule.simple_rule_type is not None and rule.simple_rule_type is not SimpleSchedulingRuleTypes.Time \
            and _has_time_fields(rule):
        warn(path, f"SimpleRuleType is {rule.simple_rule_type.wire_name}: the time and recurrence "
                   f"fields are ignored")

    # ---- Frequency None: one window, or one span to UntilDate
    span_end = None
    if freq is None and until is not None and until.date() > dtstart.date():
        if all_day:
            span_end = datetime(until.year, until.month, until.day) + DAY
        elif end_seconds is None and until_has_time:
            span_end = until
        else:
            span_end = datetime(until.year, until.month, until.day) + timedelta(
                seconds=86400 if end_seconds is None else end_seconds)

    spec = _Spec(
        freq=freq, dtstart=dtstart, interval=interval, count=count if freq is not None else None,
        until=until, until_has_time=until_has_time, all_day=all_day, duration=duration,
        span_end=span_end, bymonth=values["by_month"], byweekno=values["by_week_no"],
        byyearday=values["by_year_day"], bymonthday=values["by_month_day"],
        byday_plain=tuple(sorted(plain)), byday_nth=tuple(sorted(nth)),
        byhour=values["by_hour"], byminute=values["by_minute"], bysetpos=values["by_set_position"],
    )
    if freq is not None:
        spec = _with_components(spec)
        try:  # dateutil rejects BYHOUR/BYMINUTE values an interval can never reach
            for kwargs in spec.components:
                _rr.rrule(dtstart=_period_start(freq, dtstart), cache=False, **kwargs)
        except ValueError as exc:
            raise RuleError(f"{path}: the rule can never fire: with Frequency {freq_name} and "
                            f"Interval {interval} from {dtstart:%H:%M:%S} no byHour/byMinute value "
                            f"is ever reached ({exc})", path=path) from exc
        _check_density(spec, path)
    return spec, warnings


def _per_day(spec: _Spec) -> int:
    """An upper bound of the occurrences of `spec` on one day (on a day its day filters keep)."""
    freq, n = spec.freq, spec.interval
    hours, minutes = len(spec.byhour), len(spec.byminute)
    if freq == _rr.SECONDLY:
        runs = (hours or 1) * (minutes or 1)  # each run of allowed seconds adds at most one
        return (hours or 24) * (minutes or 60) * 60 // n + runs
    if freq == _rr.MINUTELY:
        return (hours or 24) * (minutes or 60) // n + (hours or 1)
    if freq == _rr.HOURLY:
        return ((hours or 24) // n + 1) * (minutes or 1)
    return (hours or 1) * (minutes or 1)


def _check_density(spec: _Spec, path: str) -> None:
    """RuleError for a rule every engine query would stop on: one enumerated (not a union known
    up front, nor a Count rule) with more than DAILY_OCCURRENCE_LIMIT occurrences a day. Only
    Secondly rules can have that many (Minutely: at most 1,440 + 24 a day)."""
    if spec.freq != _rr.SECONDLY or spec.count is not None or spec.dtstart >= MAX_WALL:
        return
    hours, minutes = len(spec.byhour) or 24, len(spec.byminute) or 60
    allowed = hours * minutes * 60
    per_day = allowed // spec.interval
    if per_day <= DAILY_OCCURRENCE_LIMIT:
        return
    if spec.bysetpos and not {1, -1} & set(spec.bysetpos):
        return  # a Secondly period holds one candidate: other positions select nothing
    if spec.until is not None:
        if spec.until < spec.dtstart:
            return
        days = (spec.until.date() - spec.dtstart.date()).days + 1
        if days * _per_day(spec) <= OCCURRENCE_LIMIT:
            return  # every occurrence fits in one query
    if RuleWindows(spec, path)._fixed is not None:
        return  # a union known up front: queries never enumerate
    smallest = allowed // (DAILY_OCCURRENCE_LIMIT + 1) + 1
    raise RuleError(
        f"{path}: Frequency Secondly with Interval {spec.interval} fires {per_day:,} times a day "
        f"in windows that must be enumerated, more than the {DAILY_OCCURRENCE_LIMIT:,} a day a query "
        f"can take (a query enumerates up to {QUERY_DAYS} days of occurrences and stops at "
        f"{OCCURRENCE_LIMIT:,}); use Interval {smallest:,} or more, or a coarser Frequency (e.g. "
        f"Daily, or Hourly/Minutely with byHour/byMinute, with StartTime and EndTime covering the "
        f"same time)", path=path)


def _filled(value: object) -> bool:
    return value is not None and bool(str(value).strip())


def _is_date_only(value: object) -> bool:
    text = str(value).strip()
    return len(text) <= 10 and "T" not in text.upper() and ":" not in text


def _ordinal(n: int) -> str:
    if n < 0:
        return "last" if n == -1 else f"{_ordinal(-n)}-to-last"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _with_components(spec: _Spec) -> _Spec:
    """Attach the dateutil keyword sets (one per BYDAY kind) with every default explicit.

    Defaults RFC 5545 takes from DTSTART are computed here from the *true*
    DTSTART, so that a rule re-anchored to any later period start means the
    same thing.
    """
    freq, d0 = spec.freq, spec.dtstart
    assert freq is not None
    bymonth, bymonthday, plain = spec.bymonth, spec.bymonthday, spec.byday_plain
    derived: list[str] = []
    no_day_parts = not (spec.byweekno or spec.byyearday or bymonthday or plain or spec.byday_nth)
    if no_day_parts:
        if freq == _rr.YEARLY:
            bymonth = bymonth or (d0.month,)
            bymonthday = (d0.day,)
        elif freq == _rr.MONTHLY:
            bymonthday = (d0.day,)
        elif freq == _rr.WEEKLY:
            plain = (d0.weekday(),)
    elif freq == _rr.YEARLY:
        if bymonthday and not bymonth and not spec.byweekno and not spec.byyearday:
            bymonth = (d0.month,)
            derived.append("bymonth")
        if spec.byweekno and not (plain or spec.byday_nth or bymonthday or spec.byyearday):
            plain = (d0.weekday(),)
            derived.append("byday")
    if freq <= _rr.DAILY:
        times = dict(byhour=spec.byhour or (d0.hour,), byminute=spec.byminute or (d0.minute,),
                     bysecond=(d0.second,))
    elif freq == _rr.HOURLY:
        times = dict(byhour=spec.byhour or None, byminute=spec.byminute or (d0.minute,),
                     bysecond=(d0.second,))
    elif freq == _rr.MINUTELY:
        times = dict(byhour=spec.byhour or None, byminute=spec.byminute or None, bysecond=(d0.second,))
    else:
        times = dict(byhour=spec.byhour or None, byminute=spec.byminute or None, bysecond=None)
    byweekno, iso_weeks = spec.byweekno, frozenset[int]()
    if {52, 53} & set(byweekno) and min(byweekno) > 0:
        byweekno, iso_weeks = tuple(sorted({*byweekno, 52, 53})), frozenset(byweekno)
    common = dict(freq=freq, interval=spec.interval, wkst=_rr.MO, bymonth=bymonth or None,
                  byweekno=byweekno or None, byyearday=spec.byyearday or None,
                  bymonthday=bymonthday or None, **times)
    weekday_sets: list[tuple] = []
    if spec.byday_nth:
        weekday_sets.append(tuple(_rr.weekday(wd, n) for wd, n in spec.byday_nth))
    if plain:
        weekday_sets.append(tuple(_rr.weekday(wd) for wd in plain))
    if not weekday_sets:
        weekday_sets.append(None)  # type: ignore[arg-type]
    components = tuple({**common, "byweekday": days} for days in weekday_sets)
    return dataclasses.replace(
        spec, components=components, derived=tuple(derived), iso_weeks=iso_weeks,
        bymonth=bymonth if "bymonth" in derived else spec.bymonth,
        byday_plain=plain if "byday" in derived else spec.byday_plain)


# ================================================================== generation

def _period_start(freq: int, at: datetime) -> datetime:
    if freq == _rr.YEARLY:
        return datetime(at.year, 1, 1)
    if freq == _rr.MONTHLY:
        return datetime(at.year, at.month, 1)
    if freq == _rr.WEEKLY:
        return datetime(at.year, at.month, at.day) - timedelta(days=at.weekday())
    if freq == _rr.DAILY:
        return datetime(at.year, at.month, at.day)
    if freq == _rr.HOURLY:
        return at.replace(minute=0, second=0, microsecond=0)
    if freq == _rr.MINUTELY:
        return at.replace(second=0, microsecond=0)
    return at.replace(microsecond=0)


def _anchor(spec: _Spec, at: datetime) -> datetime:
    """Start of the latest period in phase with DTSTART that begins at or before `at`
    (never earlier than DTSTART's own period): the re-anchored DTSTART."""
    freq, n = spec.freq, spec.interval
    assert freq is not None
    first = _period_start(freq, spec.dtstart)
    if at <= first:
        return first
    here = _period_start(freq, at)
    if freq == _rr.YEARLY:
        steps = (here.year - first.year) // n * n
        return first.replace(year=first.year + steps)
    if freq == _rr.MONTHLY:
        months = (here.year - first.year) * 12 + here.month - first.month
        total = first.month - 1 + months // n * n
        return datetime(first.year + total // 12, total % 12 + 1, 1)
    if freq == _rr.WEEKLY:
        return first + timedelta(weeks=(here - first).days // 7 // n * n)
    if freq == _rr.DAILY:
        return first + timedelta(days=(here - first).days // n * n)
    unit = _UNIT_SECONDS[freq] * n
    elapsed = int((here - first).total_seconds())
    return first + timedelta(seconds=elapsed // unit * unit)


def _advance(freq: int, start: datetime, n: int) -> datetime | None:
    """The period start `n` periods after `start`, or None when it is at or after MAX_WALL
    (compared before any datetime arithmetic that could overflow)."""
    if freq == _rr.YEARLY:
        return datetime(start.year + n, 1, 1) if start.year + n < MAX_WALL.year else None
    if freq == _rr.MONTHLY:
        total = start.year * 12 + start.month - 1 + n
        return datetime(total // 12, total % 12 + 1, 1) if total < MAX_WALL.year * 12 else None
    step = (7 * 86400 if freq == _rr.WEEKLY else 86400 if freq == _rr.DAILY else _UNIT_SECONDS[freq]) * n
    left = MAX_WALL - start
    if left.days * 86400 + left.seconds <= step:
        return None
    return start + timedelta(seconds=step)


_LONG_STEP_SECONDS = 100 * 365 * 86400
_APPROX_UNIT_SECONDS = {_rr.YEARLY: 365 * 86400, _rr.MONTHLY: 28 * 86400, _rr.WEEKLY: 7 * 86400,
                        _rr.DAILY: 86400, **_UNIT_SECONDS}


def _long_step(freq: int, n: int) -> bool:
    """Interval x unit of about 100 years or more: dateutil would walk each step month by month
    (up to about 29,000 calendar calls for the largest Interval), so we step ourselves."""
    return _APPROX_UNIT_SECONDS[freq] * n >= _LONG_STEP_SECONDS


def _period_by_period(spec: _Spec, anchor: datetime | None) -> Iterator[datetime]:
    """The occurrences from the period starting at `anchor`, one dateutil run per period (with
    Interval 1, bounded by the period's end): the periods are computed by :func:`_advance`. A
    period's set does not depend on INTERVAL (the never-fires check used the true one)."""
    assert spec.freq is not None
    while anchor is not None:
        following = _advance(spec.freq, anchor, 1)  # None: the period runs past MAX_WALL
        bound = {"until": following + _SHIFT - _MICRO} if following is not None else {}
        start = anchor + _SHIFT
        yield from _merge([_pull(_rr.rrule(dtstart=start, cache=False, **dict(kwargs, interval=1, **bound)))
                           for kwargs in spec.components])
        anchor = _advance(spec.freq, anchor, spec.interval)


def _pull(rule: Any) -> Iterator[datetime]:
    """Items of a (shifted) dateutil iterable, shifted back and counted in WORK."""
    iterator = iter(rule)
    work = WORK
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except (ValueError, OverflowError):  # dateutil ran past year 9999: the horizon
            return
        work.items += 1
        yield item - _SHIFT


def _merge(streams: list[Iterator[datetime]]) -> Iterator[datetime]:
    if len(streams) == 1:
        yield from streams[0]
        return
    last = None
    for item in heapq.merge(*streams):
        if item != last:
            yield item
            last = item


def _in_iso_weeks(items: Iterator[datetime], weeks: frozenset[int]) -> Iterator[datetime]:
    """`items` less the days of weeks 52 and 53 not in `weeks`, by ISO week number."""
    for item in items:
        week = item.isocalendar()[1]
        if week < 52 or week in weeks:
            yield item


def _apply_setpos(items: Iterator[datetime], freq: int, positions: tuple[int, ...]) -> Iterator[datetime]:
    """RFC 5545 BYSETPOS over each whole period of `items` (sorted, one period after another)."""
    group: list[datetime] = []
    key = None
    for item in items:
        here = _period_start(freq, item)
        if here != key:
            if group:
                yield from _select(group, positions)
            group = []
            key = here
        group.append(item)
    if group:
        yield from _select(group, positions)


def _select(group: list[datetime], positions: tuple[int, ...]) -> list[datetime]:
    size = len(group)
    chosen = {group[p - 1 if p > 0 else size + p] for p in positions if -size <= p <= size and p != 0}
    return sorted(chosen)


def _stream(spec: _Spec, at: datetime) -> Iterator[datetime]:
    """Occurrences >= max(at, DTSTART), in order, respecting UNTIL (not COUNT)."""
    assert spec.freq is not None
    anchor = _anchor(spec, at)
    if anchor > _LAST_SHIFTABLE or anchor >= MAX_WALL:
        return
    following = _advance(spec.freq, anchor, 1)
    if following is not None and at >= following:  # the anchor's period is over: skip it
        anchor = _advance(spec.freq, anchor, spec.interval)  # type: ignore[assignment]
        if anchor is None:
            return
    if _long_step(spec.freq, spec.interval):
        items = _period_by_period(spec, anchor)
    else:
        start = anchor + _SHIFT
        items = _merge([_pull(_rr.rrule(dtstart=start, cache=False, **kwargs)) for kwargs in spec.components])
    if spec.iso_weeks:
        items = _in_iso_weeks(items, spec.iso_weeks)
    if spec.bysetpos:
        items = _apply_setpos(items, spec.freq, spec.bysetpos)
    low = max(at, spec.dtstart)
    until = spec.until
    for item in items:
        if item < low:
            continue
        if until is not None and item > until:
            return
        if item >= MAX_WALL:
            return
        yield item


def _merge_windows(windows: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[list[datetime]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1][1] = end
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


# ================================================================ RuleWindows

class RuleWindows:
    """The windows of one validated rule, in naive local wall-clock time.

    Immutable as far as callers can tell and safe to reuse: it only caches
    what it has computed (the first occurrence, a Count rule's occurrences).
    Build it with :func:`rule_windows`.

    When the whole union of windows is known up front it is kept as a list
    of disjoint intervals and every query is a bisect: Frequency None, Count
    rules (at most :data:`OCCURRENCE_LIMIT` occurrences, enumerated once),
    rules that never fire, and rules whose union is provably one continuous
    interval (see :meth:`next_edge`). Otherwise queries generate occurrences
    around the asked range, re-anchored (work independent of how far back
    StartDate lies).
    """

    __slots__ = ("_spec", "_path", "_fixed", "_first", "_last_end", "_first_known", "_last_known",
                 "_counted", "_chunk")

    def __init__(self, spec: _Spec, path: str = "rule"):
        self._spec = spec
        self._path = path  # named by the limit error
        # the most one scan may cover so that it stays under OCCURRENCE_LIMIT (next_edge, span)
        self._chunk = max(timedelta(hours=1), timedelta(days=OCCURRENCE_LIMIT / 2 / _per_day(spec))) \
            if spec.freq is not None else timedelta(days=4096)
        self._fixed: list[tuple[datetime, datetime]] | None = None
        self._first: datetime | None = None
        self._first_known = False
        self._last_end: datetime | None = None
        self._last_known = False
        self._counted: list[datetime] | None = None
        if spec.freq is None:
            self._fixed = self._single_window()
        elif spec.until is not None and spec.until < spec.dtstart or spec.dtstart >= MAX_WALL:
            self._fixed = []
        elif spec.count is not None:
            self._counted = list(islice(_stream(spec, spec.dtstart), spec.count))
            self._fixed = _merge_windows(spec.window(s) for s in self._counted)
        else:
            continuous = self._continuous_union()
            if continuous is not None:
                self._fixed = continuous

    # ------------------------------------------------------------ construction

    def _single_window(self) -> list[tuple[datetime, datetime]]:
        spec = self._spec
        if spec.until is not None and spec.until < spec.dtstart:
            return []
        start, end = spec.window(spec.dtstart)
        if spec.span_end is not None:
            end = max(end, spec.span_end) if spec.all_day else spec.span_end
        return [(start, end)]

    def _continuous_union(self) -> list[tuple[datetime, datetime]] | None:
        """The union as one interval when that is provable without enumeration, else None.

        Detected: (a) no By* field at all (a plain progression every
        ``step`` = Interval x unit, Weekly counting 7 days) with the window at
        least as long as the step (all-day: step of at most one day);
        (b) rules that occur at the same times every day (see
        :meth:`_daily_times`) without day filters, whose times leave no gap
        longer than the window around the clock (always true for all-day).
        """
        spec = self._spec
        freq = spec.freq
        day_filters = (spec.bymonth or spec.byweekno or spec.byyearday or spec.bymonthday
                       or spec.byday_nth or spec.bysetpos)
        if day_filters:
            return None
        start = spec.dtstart
        if freq in (_rr.YEARLY, _rr.MONTHLY):
            return None
        no_by = not (spec.byday_plain or spec.byhour or spec.byminute)
        if no_by:
            if freq == _rr.WEEKLY:
                step = timedelta(weeks=spec.interval)
            elif freq == _rr.DAILY:
                step = timedelta(days=spec.interval)
            else:
                step = timedelta(seconds=_UNIT_SECONDS[freq] * spec.interval)
            if spec.all_day:
                if step > DAY:
                    return None
            elif step > spec.duration:
                return None
            last = None if spec.until is None else start + step * ((spec.until - start) // step)
            return self._span_from(start, last)
        seconds = self._daily_times()
        if not seconds:
            return None
        if not spec.all_day:
            gaps = [b - a for a, b in zip(seconds, seconds[1:])] + [seconds[0] + 86400 - seconds[-1]]
            if max(gaps) > spec.duration.total_seconds():
                return None
        first = _first_of(seconds, start)
        last = None if spec.until is None else _last_of(seconds, spec.until)
        if last is not None and last < first:
            return []
        return self._span_from(first, last)

    def _daily_times(self) -> list[int] | None:
        """Seconds of day of the occurrences when every day has the same ones, else None.

        Daily Interval 1 and Weekly Interval 1 on all seven days (times:
        ByHour x ByMinute), and sub-daily rules whose step divides a day
        (the period starts in phase with DTSTART, filtered by ByHour/ByMinute).
        Callers have excluded day filters and BySetPosition.
        """
        spec = self._spec
        freq, n, d0 = spec.freq, spec.interval, spec.dtstart
        hours, minutes = spec.byhour, spec.byminute
        if freq in (_rr.DAILY, _rr.WEEKLY):
            if n != 1 or (freq == _rr.WEEKLY or spec.byday_plain) and len(spec.byday_plain) != 7:
                return None
            return sorted(h * 3600 + m * 60 + d0.second
                          for h in (hours or (d0.hour,)) for m in (minutes or (d0.minute,)))
        if spec.byday_plain and len(spec.byday_plain) != 7:
            return None
        step = _UNIT_SECONDS[freq] * n  # type: ignore[index]
        if 86400 % step:
            return None
        phase = (d0.hour * 3600 + d0.minute * 60 + d0.second) % step
        if freq == _rr.HOURLY:
            phase -= d0.minute * 60 + d0.second  # period starts are whole hours
            return sorted(t + m * 60 + d0.second for t in range(phase, 86400, step)
                          if not hours or t // 3600 in hours for m in (minutes or (d0.minute,)))
        if freq == _rr.MINUTELY:
            phase -= d0.second
        return [t + (d0.second if freq == _rr.MINUTELY else 0) for t in range(phase, 86400, step)
                if (not hours or t // 3600 in hours) and (not minutes or t // 60 % 60 in minutes)]

    def _span_from(self, first: datetime, last: datetime | None) -> list[tuple[datetime, datetime]]:
        spec = self._spec
        begin = spec.window(first)[0]
        end = MAX_WALL if last is None else spec.window(last)[1]
        if begin >= MAX_WALL:
            return []
        return [(begin, end)]

    # ---------------------------------------------------------------- internals

    def _first_occurrence(self) -> datetime | None:
        if not self._first_known:
            self._first = next(_stream(self._spec, self._spec.dtstart), None)
            self._first_known = True
            if self._first is None:
                self._fixed = []
        return self._first

    def _occurrences(self, lo: datetime, hi: datetime) -> tuple[list[datetime], datetime | None]:
        """Occurrence starts in [lo, hi), and the first one at or after hi (None: none)."""
        spec = self._spec
        first = self._first_occurrence()
        if first is None:
            return [], None
        if first >= hi:
            return [], first
        if spec.until is not None and lo > spec.until:
            return [], None
        found: list[datetime] = []
        limit = OCCURRENCE_LIMIT
        for item in _stream(spec, max(lo, first)):
            if item >= hi:
                return found, item
            found.append(item)
            if len(found) > limit:
                days = limit / _per_day(spec)
                span = f"{int(days):,} days" if days >= 2 else f"{max(1, int(days * 24))} hours"
                raise RuleError(
                    f"{self._path}: more than {limit:,} occurrences between {lo:%Y-%m-%d %H:%M} and "
                    f"{hi:%Y-%m-%d %H:%M} (the limit for one query of a rule's windows); query a "
                    f"shorter range (this rule allows at least {span} per query)", path=self._path)
        return found, None

    def _scan(self, lo: datetime, hi: datetime) -> tuple[list[tuple[datetime, datetime]], datetime | None, int]:
        """Merged windows of occurrences whose window meets [lo, hi) (full extents), the start of
        the first window of a later occurrence (every unseen window starts there or later), and
        how many occurrences were generated."""
        spec = self._spec
        if spec.all_day:
            s_lo = datetime(lo.year, lo.month, lo.day) - DAY
            s_hi = datetime(hi.year, hi.month, hi.day) + (DAY if hi.time() != time() else timedelta())
        else:
            s_lo = lo - spec.duration
            s_hi = hi
        occurrences, peek = self._occurrences(s_lo, s_hi)
        windows = [w for w in map(spec.window, occurrences) if w[1] > lo and w[0] < hi]
        later = spec.window(peek)[0] if peek is not None else None
        return _merge_windows(windows), later, len(occurrences)

    # ------------------------------------------------------------------ queries

    def occurrences(self, start: datetime, end: datetime) -> list[datetime]:
        """Occurrence start times (naive wall) in ``[start, end)``, in order."""
        spec = self._spec
        if spec.freq is None:
            alive = spec.until is None or spec.until >= spec.dtstart
            return [spec.dtstart] if alive and start <= spec.dtstart < end else []
        if self._counted is not None:
            counted = self._counted
            return counted[bisect_left(counted, start):bisect_left(counted, end)]
        return self._occurrences(start, end)[0]

    def windows(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The union of the rule's windows that meet ``[start, end)``: disjoint, sorted,
        maximal intervals of naive wall time (touching or overlapping windows merged).

        Intervals are not clipped to the range. Every window that meets
        ``[start - 1 day, end + 1 day)`` is taken whole, so an interval's start
        is exact when it lies after ``start - 1 day`` and its end is exact
        when it lies before ``end + 1 day``; an interval reaching to either
        margin may in truth extend further (it is at least as long as
        reported). When the union is known up front (see the class doc) the
        true extent is returned, with ``MAX_WALL`` standing for "unbounded".
        """
        if end <= start:
            return []
        if self._fixed is None:
            self._first_occurrence()
        if self._fixed is not None:
            fixed = self._fixed
            i = bisect_right(fixed, (start, MAX_WALL))
            if i and fixed[i - 1][1] > start:
                i -= 1
            result = []
            while i < len(fixed) and fixed[i][0] < end:
                result.append(fixed[i])
                i += 1
            return result
        merged, _, _ = self._scan(start - DAY, end + DAY)
        return [(a, b) for a, b in merged if b > start and a < end]

    def contains(self, wall: datetime) -> bool:
        """Whether the wall time `wall` lies inside one of the rule's windows."""
        if self._fixed is None:
            self._first_occurrence()
        if self._fixed is not None:
            i = bisect_right(self._fixed, (wall, MAX_WALL)) - 1
            return i >= 0 and self._fixed[i][0] <= wall < self._fixed[i][1]
        merged, _, _ = self._scan(wall, wall + _MICRO)
        return any(a <= wall < b for a, b in merged)

    def next_edge(self, wall: datetime) -> datetime | None:
        """The smallest wall time > `wall` at which membership changes (a start or an end
        of the merged union), or None if there is none before ``MAX_WALL``.

        Known-up-front unions (class doc) answer by bisect, including the
        analytically continuous ones, which never scan: a plain progression
        whose window is at least its step, and Daily (or Weekly on all seven
        days) Interval 1 rules whose times of day leave no gap. Other rules
        are scanned forward in chunks (8 days, doubling while sparse), jumping
        straight over quiet stretches to the next occurrence, so the work
        follows the occurrences, not the calendar.
        """
        if self._fixed is None:
            self._first_occurrence()
        if self._fixed is not None:
            for a, b in self._fixed[max(0, bisect_right(self._fixed, (wall, MAX_WALL)) - 1):]:
                if a > wall:
                    return a if a < MAX_WALL else None
                if b > wall:
                    return b if b < MAX_WALL else None
            return None
        spec = self._spec
        if spec.until is not None:
            horizon = min(MAX_WALL, spec.window(spec.until)[1] + DAY)
        else:
            horizon = MAX_WALL
        cap = min(self._chunk, timedelta(days=4096))
        size = min(timedelta(days=8), cap)
        cursor = wall
        inside: bool | None = None
        while cursor < horizon:
            hi = min(cursor + size, horizon)
            merged, later, generated = self._scan(cursor, hi)
            clipped = [(max(a, cursor), min(b, hi)) for a, b in merged if b > cursor and a < hi]
            if generated < 1000:
                size = min(size * 2, cap)
            elif generated > 10000 and size > timedelta(hours=1):
                size = size / 4
            if inside is None:
                inside = any(a <= wall < b for a, b in clipped)
                if inside:
                    end = next(b for a, b in clipped if a <= wall < b)
                    if end < hi:
                        return end
                    cursor = hi
                    continue
            elif inside:
                if not clipped or clipped[0][0] > cursor:
                    return cursor
                if clipped[0][1] < hi:
                    return clipped[0][1]
                cursor = hi
                continue
            # outside just before `cursor`
            ahead = [a for a, b in clipped if a > wall]
            if ahead:
                edge = ahead[0]
                return edge if edge < MAX_WALL else None
            if later is None:
                return None
            cursor = max(hi, later)
        return None

    def span(self) -> tuple[datetime | None, datetime | None]:
        """(start of the earliest window, end of the latest window); the end is None when
        the rule is unbounded. ``(None, None)``: the rule has no window before MAX_WALL."""
        if self._fixed is None:
            self._first_occurrence()
        if self._fixed is not None:
            if not self._fixed:
                return None, None
            last = self._fixed[-1][1]
            return self._fixed[0][0], (None if last >= MAX_WALL else last)
        first = self._first_occurrence()
        assert first is not None
        start = self._spec.window(first)[0]
        if not self._last_known:
            self._last_end = self._latest_end()
            self._last_known = True
        return start, self._last_end

    def _latest_end(self) -> datetime | None:
        spec = self._spec
        if spec.until is None:
            return None
        first = self._first
        assert first is not None
        top = min(spec.until, MAX_WALL - _MICRO)
        reach = timedelta(days=8)
        while True:
            reach = min(reach, self._chunk)
            low = max(top - reach, first)
            found, _ = self._occurrences(low, top + _MICRO)
            if found:
                return spec.window(found[-1])[1]
            if low <= first:
                return spec.window(first)[1]
            top = low  # nothing in [low, top]: look before it
            reach *= 4

    def __repr__(self) -> str:
        spec = self._spec
        name = "None" if spec.freq is None else _FREQ_NAME[spec.freq]
        return f"<RuleWindows {name} from {spec.dtstart:%Y-%m-%d %H:%M:%S}>"


def _first_of(seconds: list[int], start: datetime) -> datetime:
    day = datetime(start.year, start.month, start.day)
    offset = (start - day).total_seconds()
    for s in seconds:
        if s >= offset:
            return day + timedelta(seconds=s)
    return day + DAY + timedelta(seconds=seconds[0])


def _last_of(seconds: list[int], until: datetime) -> datetime:
    day = datetime(until.year, until.month, until.day)
    offset = (until - day).total_seconds()
    for s in reversed(seconds):
        if s <= offset:
            return day + timedelta(seconds=s)
    return day - DAY + timedelta(seconds=seconds[-1])


# ============================================================ public functions

def check_rule(rule: SchedulingRule | dict[str, Any], zone: str | ZoneInfo | None, *,
               path: str) -> list[ScheduleWarning]:
    """Validate a Time rule: raise RuleError (message starts with `path` and the field)
    for errors, return warnings (``.path`` names the field; the message does not repeat it)."""
    return _compile(rule, zone, path)[1]


def rule_windows(rule: SchedulingRule | dict[str, Any], zone: str | ZoneInfo | None, *,
                 path: str = "rule") -> RuleWindows:
    """Validate `rule` (as :func:`check_rule`) and return its reusable :class:`RuleWindows`."""
    spec, _ = _compile(rule, zone, path)
    return RuleWindows(spec, path)


class _OwnRule(_rr.rrulebase):
    """A dateutil rule whose iteration is ours, for what no dateutil rrule (nor
    rruleset) expresses: BYSETPOS over BYDAY mixing ordinal and plain
    weekdays, and BYWEEKNO 52/53 kept by the true week number."""

    def __init__(self, spec: _Spec):
        super().__init__(cache=False)
        self._spec = spec

    def _iter(self) -> Iterator[datetime]:
        items = _stream(self._spec, self._spec.dtstart)
        if self._spec.count is not None:
            items = islice(items, self._spec.count)
        return iter(items)


def _public_kwargs(spec: _Spec, dtstart: datetime) -> list[dict]:
    return [dict(kwargs, dtstart=dtstart) for kwargs in spec.components]


def _weekly_setpos_shifted(spec: _Spec) -> tuple[datetime, list[datetime]]:
    """DTSTART moved back to the Monday of its week (same time of day) for a WEEKLY+BYSETPOS
    rule, and what that rule yields before the true DTSTART (to be excluded)."""
    d0 = spec.dtstart
    week_start = d0 - timedelta(days=d0.weekday())
    (kwargs,) = _public_kwargs(spec, week_start)
    early = []
    for item in _rr.rrule(bysetpos=spec.bysetpos, cache=False, **kwargs):
        if item >= spec.dtstart:
            break
        early.append(item)
    return week_start, early


def rule_to_rrule(rule: SchedulingRule | dict[str, Any], tz: str | ZoneInfo | None = None
                  ) -> _rr.rrulebase:
    """A dateutil ``rrule`` (or ``rruleset``) yielding the rule's occurrence starts as naive
    local wall times, RFC 5545 corrections included (module doc).

    `tz` (IANA/Windows name or ZoneInfo; default UTC) is only used to read an
    ``UntilDate`` carrying ``Z`` or an offset. Frequency None yields DTSTART
    once (nothing if UntilDate lies before it). BYSETPOS over mixed BYDAY and
    BYWEEKNO 52/53 are returned as a dateutil ``rrulebase`` driven by this
    module's generator.
    """
    spec, _ = _compile(rule, tz, "rule")
    if spec.freq is None:
        if spec.until is not None and spec.until < spec.dtstart:
            return _rr.rrule(_rr.DAILY, dtstart=spec.dtstart, until=spec.until)
        return _rr.rrule(_rr.DAILY, dtstart=spec.dtstart, count=1)
    bounds: dict[str, Any] = {}
    if spec.until is not None:
        bounds["until"] = spec.until
    if (spec.mixed_byday and spec.bysetpos) or spec.iso_weeks:
        return _OwnRule(spec)
    if spec.mixed_byday:
        if spec.count is not None:
            occurrences = list(islice(_stream(spec, spec.dtstart), spec.count))
            bounds = {"until": occurrences[-1] if occurrences else spec.dtstart - _MICRO}
        rules = _rr.rruleset()
        for kwargs in _public_kwargs(spec, spec.dtstart):
            rules.rrule(_rr.rrule(cache=False, **kwargs, **bounds))
        return rules
    if spec.count is not None:
        bounds["count"] = spec.count
    setpos = {"bysetpos": spec.bysetpos} if spec.bysetpos else {}
    if spec.bysetpos and spec.freq == _rr.WEEKLY:
        week_start, early = _weekly_setpos_shifted(spec)
        if week_start != spec.dtstart:
            if "count" in bounds:
                bounds["count"] += len(early)
            (kwargs,) = _public_kwargs(spec, week_start)
            shifted = _rr.rrule(cache=False, **kwargs, **setpos, **bounds)
            if not early:
                return shifted
            rules = _rr.rruleset()
            rules.rrule(shifted)
            for item in early:
                rules.exdate(item)
            return rules
    (kwargs,) = _public_kwargs(spec, spec.dtstart)
    return _rr.rrule(cache=False, **kwargs, **setpos, **bounds)


def _stamp(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%S")


def _utc_stamp(wall: datetime, zone: ZoneInfo) -> str:
    instant = wall.replace(microsecond=0, tzinfo=zone).astimezone(ZoneInfo("UTC"))
    return instant.strftime("%Y%m%dT%H%M%SZ")


def _rrule_line(spec: _Spec, byday: tuple[Any, ...] | None, bounds: dict[str, Any],
                zone: ZoneInfo, setpos: bool = True) -> str:
    parts = [f"FREQ={_FREQ_NAME[spec.freq]}"]  # type: ignore[index]
    if spec.interval != 1:
        parts.append(f"INTERVAL={spec.interval}")
    if "count" in bounds:
        parts.append(f"COUNT={bounds['count']}")
    if "until" in bounds:
        parts.append(f"UNTIL={_utc_stamp(bounds['until'], zone)}")
    parts.append("WKST=MO")

    def join(values: Iterable[Any]) -> str:
        return ",".join(str(v) for v in values)

    for name, values in (("BYMONTH", spec.bymonth), ("BYWEEKNO", spec.byweekno),
                         ("BYYEARDAY", spec.byyearday), ("BYMONTHDAY", spec.bymonthday)):
        if values:
            parts.append(f"{name}={join(values)}")
    if byday:
        parts.append("BYDAY=" + ",".join(
            (f"{n:+d}".lstrip("+") if n else "") + _WEEKDAY_CODE[wd] for wd, n in byday))
    for name, values in (("BYHOUR", spec.byhour), ("BYMINUTE", spec.byminute)):
        if values:
            parts.append(f"{name}={join(values)}")
    if setpos and spec.bysetpos:
        parts.append(f"BYSETPOS={join(spec.bysetpos)}")
    return "RRULE:" + ";".join(parts)


def to_rrule_string(rule: SchedulingRule | dict[str, Any], tz: str | ZoneInfo) -> str:
    """RFC 5545 text (``DTSTART;TZID=…:…`` then ``RRULE:…``, and where needed more lines)
    that ``dateutil.rrule.rrulestr`` parses back to the same occurrences (but see BYWEEKNO below).

    UNTIL is written in UTC, as RFC 5545 requires with a TZID DTSTART. The
    corrected cases are written so that dateutil reads them right: mixed
    BYDAY as two RRULE lines (COUNT turned into the UNTIL of the last
    occurrence), WEEKLY+BYSETPOS from the week's start with EXDATEs for what
    precedes DTSTART (COUNT raised by as many). BYSETPOS over mixed BYDAY has
    no such text: a finite rule is written as RDATEs (UTC), an unbounded one
    raises RuleError. BYWEEKNO 52/53 is written as RFC 5545 means it, which
    dateutil misreads on the first days of some years (module doc).
    """
    zone = resolve_zone(tz, path="tz")
    spec, _ = _compile(rule, zone, "rule")
    tzid = zone.key
    lines = [f"DTSTART;TZID={tzid}:{_stamp(spec.dtstart)}"]
    if spec.freq is None:
        if spec.until is not None and spec.until < spec.dtstart:
            lines.append(f"RRULE:FREQ=DAILY;UNTIL={_utc_stamp(spec.dtstart - timedelta(seconds=1), zone)}")
        else:
            lines.append("RRULE:FREQ=DAILY;COUNT=1")
        return "\n".join(lines)
    byday = [(wd, n) for wd, n in spec.byday_nth] + [(wd, 0) for wd in spec.byday_plain]
    bounds: dict[str, Any] = {}
    if spec.until is not None:
        bounds["until"] = spec.until
    if spec.mixed_byday and spec.bysetpos:
        if spec.count is None and spec.until is None:
            raise RuleError("rule: BySetPosition over ByDay mixing Offset and plain weekdays has no "
                            "RRULE text python-dateutil reads correctly, and the rule is unbounded; "
                            "give it a Count or an UntilDate to export it as RDATEs")
        occurrences = list(rule_to_rrule(rule, zone))
        if len(occurrences) > OCCURRENCE_LIMIT:
            raise RuleError(f"rule: more than {OCCURRENCE_LIMIT:,} occurrences to export as RDATEs")
        lines = lines[:1] + [f"RDATE:{_utc_stamp(s, zone)}" for s in occurrences]
        return "\n".join(lines)
    if spec.mixed_byday:
        if spec.count is not None:
            occurrences = list(islice(_stream(spec, spec.dtstart), spec.count))
            bounds = {"until": occurrences[-1] if occurrences else spec.dtstart - timedelta(seconds=1)}
        lines.append(_rrule_line(spec, tuple(spec.byday_nth), bounds, zone))
        lines.append(_rrule_line(spec, tuple((wd, 0) for wd in spec.byday_plain), bounds, zone))
        return "\n".join(lines)
    if spec.count is not None:
        bounds["count"] = spec.count
    if spec.bysetpos and spec.freq == _rr.WEEKLY:
        week_start, early = _weekly_setpos_shifted(spec)
        if week_start != spec.dtstart:
            if "count" in bounds:
                bounds["count"] += len(early)
            explicit = byday or [(spec.dtstart.weekday(), 0)]  # the default came from DTSTART
            lines = [f"DTSTART;TZID={tzid}:{_stamp(week_start)}",
                     _rrule_line(spec, tuple(explicit), bounds, zone)]
            if early:
                lines.append(f"EXDATE;TZID={tzid}:" + ",".join(_stamp(s) for s in early))
            return "\n".join(lines)
    lines.append(_rrule_line(spec, tuple(byday), bounds, zone))
    return "\n".join(lines)
