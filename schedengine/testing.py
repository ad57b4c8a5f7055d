"""Hypothesis strategies for property suites (ours and users').

    >>> from hypothesis import given
    >>> from schedengine.testing import customer_trees, instants
    >>> @given(customer_trees(), instants())
    ... def test_something(records, at): ...

Every strategy draws plain wire dicts (camelCase keys), so they exercise the
same loading path as real files. Requires the `test` extra (hypothesis).
docs/testing.md describes each strategy, its parameters and the settings
that suit it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .times import MAX_DATE, MIN_DATE

__all__ = ["ZONES", "STATES", "times_of_day", "time_rules", "rules", "schedules", "customer_trees",
           "instants"]

UTC = timezone.utc
# DST zones of both hemispheres, a 30-minute DST zone, a zone without DST,
# and a Windows name.
ZONES = ("America/New_York", "Europe/London", "Australia/Lord_Howe", "Australia/Sydney",
         "Asia/Kolkata", "UTC", "Central Standard Time")
STATES = ("Business Hours", "After Hours", "Holiday", "Lunch", "Night Desk")
WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
#: StartDate years drawn unless a strategy is given `start_year`.
DEFAULT_START_YEARS = (2015, 2027)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_start_year(strategy: str, start_year: object) -> tuple[int, int]:
    """`start_year` as (first, last), or InvalidArgument naming `strategy`."""
    if (isinstance(start_year, (tuple, list)) and len(start_year) == 2 and all(map(_is_int, start_year))
            and MIN_DATE.year <= start_year[0] <= start_year[1] <= MAX_DATE.year):
        return start_year[0], start_year[1]
    hint = (f" (for one year, pass ({start_year}, {start_year}))"
            if _is_int(start_year) and MIN_DATE.year <= start_year <= MAX_DATE.year else "")
    raise InvalidArgument(f"{strategy}(start_year={start_year!r}): expected (first, last) with "
                          f"{MIN_DATE.year} <= first <= last <= {MAX_DATE.year}{hint}")


def _check_zones(strategy: str, zones: object) -> None:
    if not isinstance(zones, (tuple, list)) or not zones or not all(isinstance(z, str) for z in zones):
        raise InvalidArgument(f"{strategy}(zones={zones!r}): expected a non-empty tuple of time zone "
                              f"names, such as ZONES or (\"UTC\",)")


def _check_count(strategy: str, name: str, value: object, least: int) -> None:
    if not _is_int(value) or value < least:
        raise InvalidArgument(f"{strategy}({name}={value!r}): expected an int >= {least}")


def times_of_day(minute_step: int = 30) -> st.SearchStrategy[str]:
    """`HH:MM` on a grid of `minute_step` minutes (1..1440) from 00:00,
    including the small hours where DST transitions happen."""
    if not _is_int(minute_step) or not 1 <= minute_step <= 24 * 60:
        raise InvalidArgument(f"times_of_day(minute_step={minute_step!r}): expected an int from 1 to 1440")
    return st.integers(0, 24 * 60 // minute_step - 1).map(
        lambda n: f"{n * minute_step // 60:02d}:{n * minute_step % 60:02d}")


# Built once, not per draw: customer_trees draws some 25 values per customer,
# and building (and validating) a strategy for each draw took about half of
# a large tree's time. Same strategies, so the same draws.
_BOOLEANS = st.booleans()
_FREQUENCIES = st.sampled_from(["Daily", "Weekly", "Weekly", "Monthly", "Yearly", "None"])
_MONTHS = st.integers(1, 12)
_DAYS = st.integers(1, 28)
_START_TIMES = times_of_day()
_END_TIMES = times_of_day() | st.just("24:00")
_ZERO_TO_FIVE = st.integers(0, 5)
_ZERO_TO_NINE = st.integers(0, 9)
_INTERVALS = st.integers(1, 3)
_WEEKDAYS = st.sampled_from(WEEKDAYS)
_WEEKDAY_LISTS = st.lists(_WEEKDAYS, min_size=1, max_size=5, unique=True)
_OFFSETS = st.sampled_from([1, 2, 3, 4, -1])
_MONTH_DAY_LISTS = st.lists(_DAYS, min_size=1, max_size=3, unique=True)
_UNTIL_DAYS = st.integers(0, 400)
_BOUNDS = st.integers(0, 4)
_COUNTS = st.integers(1, 400)
_KINDS = st.sampled_from(["Time"] * 6 + ["Always"] + ["CustomerState"] * 2)
_KINDS_WITHOUT_CUSTOMER_STATE = st.sampled_from(["Time"] * 6 + ["Always"])
_STATES = st.sampled_from(STATES)
_PRIORITIES = _ZERO_TO_THREE = st.integers(0, 3)


@st.composite
def time_rules(draw: st.DrawFn, *, start_year: tuple[int, int] = DEFAULT_START_YEARS) -> dict:
    """A `Time` rule with a realistic recurrence and daily window.

    `start_year` (first, last) bounds StartDate's year; any range inside the
    years record dates may have (0002..9997) is accepted. UntilDate falls in
    the start year .. max(2030, start year + 3), capped at 9997.
    """
    first, last = _check_start_year("time_rules", start_year)
    frequency = draw(_FREQUENCIES)
    year = draw(st.integers(first, last))
    rule: dict = {
        "simpleRuleType": "Time",
        "frequency": frequency,
        "startDate": f"{year:04d}-{draw(_MONTHS):02d}-{draw(_DAYS):02d}",
    }
    if draw(_BOOLEANS) and frequency != "None":
        rule["isAllDay"] = True
    else:
        rule["startTime"] = draw(_START_TIMES)
        if draw(_ZERO_TO_FIVE):
            rule["endTime"] = draw(_END_TIMES)
    if frequency in ("Daily", "Weekly") and draw(_BOOLEANS):
        rule["interval"] = draw(_INTERVALS)
    if frequency == "Weekly":
        days = draw(_WEEKDAY_LISTS)
        rule["byDay"] = [{"dayOfWeek": d} for d in days]
    elif frequency == "Monthly":
        if draw(_BOOLEANS):
            rule["byDay"] = [{"dayOfWeek": draw(_WEEKDAYS), "offset": draw(_OFFSETS)}]
        else:
            rule["byMonthDay"] = draw(_MONTH_DAY_LISTS)
    elif frequency == "Yearly":
        rule["byMonth"] = [draw(_MONTHS)]
        if draw(_BOOLEANS):
            rule["byDay"] = [{"dayOfWeek": draw(_WEEKDAYS), "offset": draw(_OFFSETS)}]
        else:
            rule["byMonthDay"] = [draw(_DAYS)]
    elif frequency == "None" and draw(_BOOLEANS):
        start = datetime.strptime(rule["startDate"], "%Y-%m-%d")
        until = min(start + timedelta(days=draw(_UNTIL_DAYS)), datetime(MAX_DATE.year, 12, 31))
        rule["untilDate"] = f"{until.year:04d}-{until.month:02d}-{until.day:02d}"
    if frequency != "None":
        bound = draw(_BOUNDS)
        if bound == 1:
            rule["count"] = draw(_COUNTS)
        elif bound == 2:
            last_until = min(max(2030, year + 3), MAX_DATE.year)
            rule["untilDate"] = f"{draw(st.integers(year, last_until)):04d}-{draw(_MONTHS):02d}-15"
    return rule


@st.composite
def rules(draw: st.DrawFn, *, allow_customer_state: bool = True,
          start_year: tuple[int, int] = DEFAULT_START_YEARS) -> dict:
    """Any rule: mostly Time, sometimes Always or CustomerState.

    `start_year` is passed to `time_rules`.
    """
    years = _check_start_year("rules", start_year)
    kind = draw(_KINDS if allow_customer_state else _KINDS_WITHOUT_CUSTOMER_STATE)
    rule = draw(_time_rules(years)) if kind == "Time" else {"simpleRuleType": kind}
    if kind == "CustomerState":
        rule["customerState"] = draw(_STATES)
    rule["state"] = draw(_STATES)
    rule["priority"] = draw(_PRIORITIES)
    return rule


@st.composite
def schedules(draw: st.DrawFn, *, zones: tuple[str, ...] = ZONES, max_rules: int = 4,
              allow_customer_state: bool = True, start_year: tuple[int, int] = DEFAULT_START_YEARS) -> dict:
    """A `Schedule`: a zone from `zones`, 0..`max_rules` rules from `rules`
    (ids "r0", "r1", ...), sometimes `forceClosed`, sometimes a `defaultState`.

    Set `allow_customer_state=False` for a customer without a parent, whose
    CustomerState rules would have no parent to read. `start_year` is passed
    to `time_rules`.
    """
    _check_zones("schedules", zones)
    _check_count("schedules", "max_rules", max_rules, 0)
    years = _check_start_year("schedules", start_year)
    rule_list = draw(_rule_lists(allow_customer_state, years, max_rules))
    for i, rule in enumerate(rule_list):
        rule["id"] = f"r{i}"
    schedule: dict = {"timeZoneId": draw(st.sampled_from(zones)), "rules": rule_list}
    if draw(_ZERO_TO_NINE) == 9:  # not 0: hypothesis draws 0 more often and shrinks towards it
        schedule["forceClosed"] = True
    if draw(_BOOLEANS):
        schedule["defaultState"] = draw(_STATES)
    return schedule


@st.composite
def customer_trees(draw: st.DrawFn, *, max_customers: int = 5, zones: tuple[str, ...] = ZONES,
                   start_year: tuple[int, int] = DEFAULT_START_YEARS) -> list[dict]:
    """A small forest: each customer's parent is an earlier customer (or none);
    some inherit, others have their own schedule (possibly reading the parent).

    1..`max_customers` records "c0", "c1", ...; `zones` and `start_year` are
    passed to `schedules`. Keep `max_customers` at 200 or below: hypothesis
    lets one example draw about 200 customers' worth of data, and above
    that, with default settings, HealthCheck.too_slow fails often (at 400,
    13 runs in 20; docs/testing.md has the measurements).
    """
    _check_count("customer_trees", "max_customers", max_customers, 1)
    _check_zones("customer_trees", zones)
    years = _check_start_year("customer_trees", start_year)
    n = draw(st.integers(1, max_customers))
    records = []
    for i in range(n):
        record: dict = {"id": f"c{i}", "name": f"Customer {i}"}
        if i and draw(_ZERO_TO_THREE):
            record["parentCustomerId"] = f"c{draw(st.integers(0, i - 1))}"
        if "parentCustomerId" in record and draw(_BOOLEANS):
            record["schedule"] = {"inherit": True}
        else:
            record["schedule"] = draw(_schedules(tuple(zones), "parentCustomerId" in record, years))
        records.append(record)
    return records


def instants(start: datetime = datetime(2024, 1, 1, tzinfo=UTC),
             end: datetime = datetime(2029, 1, 1, tzinfo=UTC)) -> st.SearchStrategy[datetime]:
    """Aware UTC instants in [start, end): a whole second of the range, plus
    (sometimes) 1 or 999,999 microseconds.

    `start` and `end` must be aware datetimes, in any offset (drawn instants
    are in UTC), with `end` at least a second after `start`; a partial last
    second of the range is never drawn.
    """
    first, stop = _utc_bound("start", start), _utc_bound("end", end)
    if stop - first < timedelta(seconds=1):
        problem = "end must be after start" if stop <= first else (
            f"the range is {(stop - first) / timedelta(microseconds=1):,.0f} µs; it must be at least a second")
        raise InvalidArgument(f"instants(start={start.isoformat()}, end={end.isoformat()}): {problem}")
    span = (stop - first) // timedelta(seconds=1)
    # Mapped, not built: a falsifying example then shows the datetime itself, not the call.
    return st.tuples(st.integers(0, span - 1), st.sampled_from([0, 0, 0, 1, 999_999])).map(
        lambda parts: first + timedelta(seconds=parts[0], microseconds=parts[1]))


def _utc_bound(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidArgument(f"instants({name}={value!r}): expected an aware datetime")
    if value.utcoffset() is None:
        raise InvalidArgument(f"instants({name}={value!r}): expected an aware datetime, got a naive one "
                              f"(add tzinfo=timezone.utc, or the offset it was meant in)")
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise InvalidArgument(f"instants({name}={value!r}): not representable in UTC") from error


# The strategies customer_trees, schedules and rules draw from, built once per
# argument set instead of once per customer, schedule or rule.
@lru_cache(maxsize=256)
def _time_rules(start_year: tuple[int, int]) -> st.SearchStrategy[dict]:
    return time_rules(start_year=start_year)


@lru_cache(maxsize=256)
def _rule_lists(allow_customer_state: bool, start_year: tuple[int, int],
                max_rules: int) -> st.SearchStrategy[list[dict]]:
    return st.lists(rules(allow_customer_state=allow_customer_state, start_year=start_year), max_size=max_rules)


@lru_cache(maxsize=256)
def _schedules(zones: tuple[str, ...], allow_customer_state: bool,
               start_year: tuple[int, int]) -> st.SearchStrategy[dict]:
    return schedules(zones=zones, allow_customer_state=allow_customer_state, start_year=start_year)
