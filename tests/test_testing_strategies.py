"""schedengine.testing: the strategies' parameters, their checks, and what
they draw. Strategies are built inside the tests, so a bad argument fails
one test rather than the module's collection."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from schedengine import Engine
from schedengine.testing import customer_trees, instants, rules, schedules, time_rules, times_of_day

UTC = timezone.utc
PLUS_5 = timezone(timedelta(hours=5))
FAST = settings(max_examples=25, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def draw_one(strategy):
    """One example, drawn the way a test would draw it (so composite checks run)."""
    return find(strategy, lambda _: True, settings=settings(database=None))


def start_years(value) -> list[int]:
    """Every StartDate year in a rule, schedule or list of customer records."""
    if isinstance(value, dict):
        found = [int(value["startDate"][:4])] if "startDate" in value else []
        return found + [y for v in value.values() for y in start_years(v)]
    if isinstance(value, list):
        return [y for v in value for y in start_years(v)]
    return []


# --- argument checks: InvalidArgument naming the strategy and the argument -------------------------------

NOT_A_PAIR = [2020, (2020,), (2020, 2021, 2022), "2020", (2020.0, 2021)]
OUT_OF_RANGE = [(2027, 2015), (1, 2000), (2000, 9998)]  # time_rules refused these already


@pytest.mark.parametrize("strategy, start_year", [
    pytest.param(s, y, id=f"{s.__name__}-{y!r}") for s in (time_rules, rules, schedules, customer_trees)
    for y in NOT_A_PAIR + (OUT_OF_RANGE if s is not time_rules else [])])
def test_bad_start_year_is_invalid_argument_naming_the_strategy(strategy, start_year):
    with pytest.raises(InvalidArgument, match=rf"^{strategy.__name__}\(start_year={re.escape(repr(start_year))}\): "
                                              r"expected \(first, last\) with 2 <= first <= last <= 9997"):
        draw_one(strategy(start_year=start_year))


def test_an_int_start_year_suggests_the_pair():
    with pytest.raises(InvalidArgument, match=r"for one year, pass \(2020, 2020\)"):
        draw_one(time_rules(start_year=2020))


@pytest.mark.parametrize("strategy", [schedules, customer_trees])
@pytest.mark.parametrize("zones", [(), [], "UTC", None, ("UTC", 5)])
def test_bad_zones_are_invalid_argument(strategy, zones):
    with pytest.raises(InvalidArgument, match=rf"^{strategy.__name__}\(zones={re.escape(repr(zones))}\): "
                                              r"expected a non-empty tuple of time zone names"):
        draw_one(strategy(zones=zones))


@pytest.mark.parametrize("value", [-1, 2.0, None, True])
def test_bad_max_rules_is_invalid_argument(value):
    with pytest.raises(InvalidArgument, match=rf"^schedules\(max_rules={value!r}\): expected an int >= 0"):
        draw_one(schedules(max_rules=value))


@pytest.mark.parametrize("value", [0, -3, 5.0, None])
def test_bad_max_customers_is_invalid_argument(value):
    with pytest.raises(InvalidArgument, match=rf"^customer_trees\(max_customers={value!r}\): expected an int >= 1"):
        draw_one(customer_trees(max_customers=value))


@pytest.mark.parametrize("value", [0, -30, 1441, 7.5, True])
def test_bad_minute_step_is_invalid_argument_when_built(value):
    with pytest.raises(InvalidArgument, match=rf"^times_of_day\(minute_step={value!r}\): "
                                              r"expected an int from 1 to 1440"):
        times_of_day(value)


def test_bad_arguments_surface_from_given():
    @given(customer_trees(zones=()))
    def inner(records):
        pass

    with pytest.raises(InvalidArgument, match=r"^customer_trees\(zones=\(\)\): expected a non-empty tuple"):
        inner()


JAN_2029 = datetime(2029, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("start, end, message", [
    (JAN_2029, datetime(2024, 1, 1, tzinfo=UTC), "end must be after start"),
    (JAN_2029, JAN_2029, "end must be after start"),
    (JAN_2029, JAN_2029 + timedelta(microseconds=500_000), r"the range is 500,000 µs; it must be at least a second"),
    (JAN_2029, JAN_2029 + timedelta(microseconds=999_999), r"the range is 999,999 µs"),
])
def test_instants_refuses_an_empty_or_sub_second_range_when_built(start, end, message):
    # checked when the strategy is built, before anything is drawn
    with pytest.raises(InvalidArgument, match=rf"^instants\(start={re.escape(start.isoformat())}, end=.*\): {message}"):
        instants(start, end)


@pytest.mark.parametrize("start, end, name", [
    (datetime(2024, 1, 1), JAN_2029, "start"),
    (datetime(2024, 1, 1, tzinfo=UTC), datetime(2029, 1, 1), "end"),
    ("2024-01-01T00:00:00Z", JAN_2029, "start"),
    (datetime(2024, 1, 1, tzinfo=UTC), 1861920000, "end"),
])
def test_instants_refuses_naive_or_non_datetime_bounds_when_built(start, end, name):
    with pytest.raises(InvalidArgument, match=rf"^instants\({name}=.*expected an aware datetime"):
        instants(start, end)


def test_instants_names_the_fix_for_a_naive_bound():
    with pytest.raises(InvalidArgument, match=r"got a naive one \(add tzinfo=timezone.utc"):
        instants(datetime(2024, 1, 1), datetime(2025, 1, 1))


# --- start_year reaches every StartDate ----------------------------------------------------------------------

@pytest.mark.parametrize("years", [(2390, 2399), (1995, 1995), (2, 3), (9997, 9997)])
@pytest.mark.parametrize("strategy", [rules, schedules, customer_trees])
@FAST
@given(data=st.data())
def test_start_year_bounds_every_start_date(strategy, years, data):
    drawn = data.draw(strategy(start_year=years))
    assert all(years[0] <= y <= years[1] for y in start_years(drawn)), start_years(drawn)


@pytest.mark.parametrize("years", [(2390, 2399), (1995, 1995)])
@pytest.mark.parametrize("strategy", [rules, schedules, customer_trees])
def test_start_year_reaches_time_rules(strategy, years):
    # a draw with a StartDate exists, and it is in the range asked for
    drawn = find(strategy(start_year=years), lambda x: start_years(x) != [], settings=settings(database=None))
    assert all(years[0] <= y <= years[1] for y in start_years(drawn))


def test_schedules_of_a_tree_in_1995_load_and_evaluators_agree():
    @FAST
    @given(records=customer_trees(start_year=(1995, 1995), max_customers=4),
           at=instants(datetime(1995, 1, 1, tzinfo=UTC), datetime(1997, 1, 1, tzinfo=UTC)))
    def inner(records, at):
        assert all(y == 1995 for y in start_years(records))
        compiled = Engine.from_records(records, mode="compiled")
        reference = Engine.from_records(records, mode="reference")
        for record in records:
            assert compiled.state_at(record["id"], at) == reference.state_at(record["id"], at)

    inner()


@pytest.mark.parametrize("years", [(2390, 2399), (2, 2), (9997, 9997)])
def test_trees_with_any_start_year_load(years):
    @FAST
    @given(records=customer_trees(start_year=years))
    def inner(records):
        engine = Engine.from_records(records)
        assert engine.tree.ids() and sorted(engine.tree.ids()) == sorted(r["id"] for r in records)

    inner()


# --- instants: always aware UTC, within [start, end) ----------------------------------------------------------

ZONES_FOR_BOUNDS = [UTC, PLUS_5, timezone(timedelta(hours=-9, minutes=-30)), ZoneInfo("America/New_York"),
                    ZoneInfo("Australia/Lord_Howe")]


@FAST
@given(data=st.data())
def test_instants_are_aware_utc_within_bounds(data):
    zone = data.draw(st.sampled_from(ZONES_FOR_BOUNDS))
    start = data.draw(st.datetimes(datetime(1900, 1, 1), datetime(2390, 1, 1), timezones=st.just(zone)))
    length = data.draw(st.sampled_from([timedelta(seconds=1), timedelta(seconds=1, microseconds=1),
                                        timedelta(hours=1), timedelta(days=400)]))
    end = start + length
    at = data.draw(instants(start, end))
    assert at.tzinfo is UTC
    assert start <= at < end


def test_instants_with_offset_bounds_are_converted_to_utc():
    at = draw_one(instants(datetime(2024, 1, 1, 5, tzinfo=PLUS_5), datetime(2024, 1, 1, 5, 0, 1, tzinfo=PLUS_5)))
    assert at.tzinfo is UTC and at.replace(microsecond=0) == datetime(2024, 1, 1, tzinfo=UTC)



# --- probe M: forceClosed was drawn for 23% of schedules (docs: 1 in 10) and shrinking kept it;
# --- a falsifying instant printed as "first + timedelta(...)", a name the reader never sees

def test_a_shrunk_schedule_is_not_force_closed():
    from hypothesis import find

    minimal = find(schedules(), lambda s: len(s["rules"]) >= 1)
    assert "forceClosed" not in minimal


def test_a_falsifying_instant_is_shown_as_a_datetime():
    from hypothesis import given, settings

    @settings(database=None, max_examples=200)
    @given(at=instants())
    def check(at):
        assert at < datetime(2024, 6, 1, tzinfo=timezone.utc)

    with pytest.raises(AssertionError) as failed:
        check()
    notes = "\n".join(getattr(failed.value, "__notes__", ()))
    assert "at=datetime.datetime(2024, 6, 1, 0, 0, tzinfo=datetime.timezone.utc)" in notes
