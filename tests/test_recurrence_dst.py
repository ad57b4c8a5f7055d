"""Wall-clock membership across DST transitions (SPEC §3 "the DST rule").

Windows are naive wall-clock intervals; an instant is inside when its local
wall time is. The real (elapsed) length of a window is measured here with
utc_offset_spans: for each span of constant offset, the instants whose wall
time (instant + offset) falls in the window."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from schedengine.recurrence import rule_windows
from schedengine.times import utc_offset_spans

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1)


def seconds(wall: datetime) -> int:
    return int((wall - EPOCH).total_seconds())


def real_seconds_inside(zone: ZoneInfo, window: tuple[datetime, datetime]) -> int:
    """Elapsed seconds during which the wall clock of `zone` reads inside `window`."""
    lo, hi = seconds(window[0]), seconds(window[1])
    total = 0
    for a, b, off in utc_offset_spans(zone, lo - 2 * 86400, hi + 2 * 86400):
        total += max(0, min(b + off, hi) - max(a + off, lo))
    return total


def wall_at(zone: ZoneInfo, instant: datetime) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def daily(start_time=None, end_time=None, all_day=False, start="2024-01-01"):
    rule = {"SimpleRuleType": "Time", "StartDate": start, "Frequency": "Daily", "ByDay": [
        {"DayOfWeek": d} for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")]}
    rule["ByMonthDay"] = list(range(1, 32))  # a filter, so the union is not analytically continuous
    if all_day:
        rule["IsAllDay"] = True
    if start_time:
        rule["StartTime"] = start_time
    if end_time:
        rule["EndTime"] = end_time
    return rule


@pytest.mark.parametrize("zone, day, hours", [
    ("America/New_York", datetime(2024, 3, 10), 23), ("America/New_York", datetime(2024, 11, 3), 25),
    ("Europe/London", datetime(2024, 3, 31), 23), ("Europe/London", datetime(2024, 10, 27), 25),
    ("Australia/Lord_Howe", datetime(2024, 10, 6), 23.5), ("Australia/Lord_Howe", datetime(2024, 4, 7), 24.5),
    ("America/New_York", datetime(2024, 7, 4), 24),
])
def test_all_day_windows_last_23_or_25_hours(zone, day, hours):
    tz = ZoneInfo(zone)
    w = rule_windows(daily(all_day=True), tz)
    # one separate window per day (an all-day window ends where the next begins: they merge)
    (union,) = w.windows(day, day + timedelta(days=1))
    assert union[0] <= day and union[1] >= day + timedelta(days=1)
    assert real_seconds_inside(tz, (day, day + timedelta(days=1))) == hours * 3600


@pytest.mark.parametrize("zone, day, start, end, real_minutes, opens_at", [
    # New York springs forward 02:00 -> 03:00: a 02:30-03:30 window is open from 03:00 (30 real minutes)
    ("America/New_York", datetime(2024, 3, 10), "02:30", "03:30", 30, datetime(2024, 3, 10, 7, 0, tzinfo=UTC)),
    # London 01:00 -> 02:00
    ("Europe/London", datetime(2024, 3, 31), "01:15", "02:15", 15, datetime(2024, 3, 31, 1, 0, tzinfo=UTC)),
    # Lord Howe springs forward half an hour, 02:00 -> 02:30
    ("Australia/Lord_Howe", datetime(2024, 10, 6), "02:10", "03:00", 30, datetime(2024, 10, 5, 15, 30, tzinfo=UTC)),
])
def test_window_starting_in_the_spring_forward_gap(zone, day, start, end, real_minutes, opens_at):
    tz = ZoneInfo(zone)
    w = rule_windows(daily(start, end), tz)
    (window,) = w.windows(day, day + timedelta(days=1))
    assert window[0].date() == day.date()
    assert real_seconds_inside(tz, window) == real_minutes * 60
    # the wall clock jumps into the window at the transition instant
    assert not w.contains(wall_at(tz, opens_at - timedelta(seconds=1)))
    assert w.contains(wall_at(tz, opens_at))
    assert w.next_edge(wall_at(tz, opens_at - timedelta(seconds=1))) == window[0]


@pytest.mark.parametrize("zone, first_pass, second_pass", [
    # New York falls back 02:00 EDT -> 01:00 EST: 01:30 happens at 05:30Z and 06:30Z
    ("America/New_York", datetime(2024, 11, 3, 5, 30, tzinfo=UTC), datetime(2024, 11, 3, 6, 30, tzinfo=UTC)),
    ("Europe/London", datetime(2024, 10, 27, 0, 30, tzinfo=UTC), datetime(2024, 10, 27, 1, 30, tzinfo=UTC)),
])
def test_window_spanning_the_fall_back_hour_is_open_on_both_passes(zone, first_pass, second_pass):
    tz = ZoneInfo(zone)
    w = rule_windows(daily("01:00", "02:00"), tz)
    day = datetime(first_pass.year, first_pass.month, first_pass.day)
    (window,) = w.windows(day, day + timedelta(days=1))
    assert real_seconds_inside(tz, window) == 2 * 3600
    assert w.contains(wall_at(tz, first_pass)) and w.contains(wall_at(tz, second_pass))
    between = first_pass + timedelta(minutes=45)  # the clock reads 01:15 again, on the second pass
    assert w.contains(wall_at(tz, between))


def test_lord_howe_fall_back_half_hour_repeats():
    tz = ZoneInfo("Australia/Lord_Howe")
    w = rule_windows(daily("01:30", "02:00"), tz)
    window = (datetime(2024, 4, 7, 1, 30), datetime(2024, 4, 7, 2))
    assert w.windows(datetime(2024, 4, 7), datetime(2024, 4, 8)) == [window]
    assert real_seconds_inside(tz, window) == 3600  # 01:30-02:00 happens twice


@pytest.mark.parametrize("zone, evening, real_hours", [
    ("America/New_York", datetime(2024, 3, 9), 7), ("America/New_York", datetime(2024, 11, 2), 9),
    ("Europe/London", datetime(2024, 3, 30), 7), ("Europe/London", datetime(2024, 10, 26), 9),
    ("Australia/Lord_Howe", datetime(2024, 10, 5), 7.5), ("Australia/Lord_Howe", datetime(2024, 4, 6), 8.5),
])
def test_night_window_crossing_midnight_on_transition_days(zone, evening, real_hours):
    tz = ZoneInfo(zone)
    w = rule_windows(daily("22:00", "06:00"), tz)
    night = (evening + timedelta(hours=22), evening + timedelta(days=1, hours=6))
    assert night in w.windows(evening + timedelta(hours=23), evening + timedelta(hours=24))
    assert real_seconds_inside(tz, night) == real_hours * 3600
    assert w.next_edge(evening + timedelta(hours=23)) == night[1]
    assert not w.contains(night[1]) and w.contains(night[1] - timedelta(microseconds=1))


def test_membership_reads_the_wall_clock_through_a_whole_transition_day():
    tz = ZoneInfo("America/New_York")
    w = rule_windows(daily("01:30", "03:15"), tz)
    instant = datetime(2024, 3, 10, 4, 0, tzinfo=UTC)
    while instant < datetime(2024, 3, 10, 10, 0, tzinfo=UTC):
        wall = wall_at(tz, instant)
        expected = datetime(2024, 3, 10, 1, 30) <= wall < datetime(2024, 3, 10, 3, 15)
        assert w.contains(wall) is expected, instant
        instant += timedelta(minutes=5)
