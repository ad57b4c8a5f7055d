"""Cost: a query's work does not depend on how far back StartDate lies.

Work is counted (items pulled from dateutil iterators, ``WORK.items``), never timed."""

from datetime import datetime, timedelta

import pytest

from schedengine.recurrence import WORK, rule_to_rrule, rule_windows

WEEK = (datetime(2027, 3, 8), datetime(2027, 3, 15))
DAYS = [{"DayOfWeek": d} for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")]

# (fields, StartDate long ago, StartDate recent) -- both in the same phase of the rule
RULES = [
    ({"Frequency": "Weekly", "Interval": 2, "ByDay": DAYS, "StartTime": "09:00", "EndTime": "17:00"},
     "1995-01-09", "2027-01-11"),
    ({"Frequency": "Daily", "Interval": 5, "StartTime": "22:00", "EndTime": "06:00"}, "1995-01-02", "2027-01-04"),
    ({"Frequency": "Monthly", "ByDay": [{"DayOfWeek": "Monday", "Offset": 2}], "IsAllDay": True},
     "1995-01-09", "2027-01-11"),
    ({"Frequency": "Monthly", "ByDay": DAYS, "BySetPosition": [6], "StartTime": "12:00", "EndTime": "13:00"},
     "1995-01-01", "2027-01-01"),
    ({"Frequency": "Yearly", "ByMonth": [3], "ByMonthDay": [10], "IsAllDay": True}, "1995-03-10", "2027-03-10"),
    ({"Frequency": "Hourly", "Interval": 3, "ByDay": DAYS, "StartTime": "00:00", "EndTime": "00:30"},
     "1995-01-02", "2027-01-04"),
    ({"Frequency": "Weekly", "ByDay": [{"DayOfWeek": "Monday"}, {"DayOfWeek": "Friday"}], "BySetPosition": [1],
      "StartTime": "08:00", "EndTime": "09:00"}, "1995-01-02", "2027-01-04"),
]


def work_for_week(fields, start_date):
    windows = rule_windows({"SimpleRuleType": "Time", "StartDate": start_date, **fields}, "America/New_York")
    windows.span()  # the one-off first-occurrence lookup is not part of the query
    WORK.items = 0
    result = windows.windows(*WEEK)
    return WORK.items, result


@pytest.mark.parametrize("fields, old, new", RULES, ids=[f["Frequency"] + str(i) for i, (f, _, _) in enumerate(RULES)])
def test_week_query_work_is_independent_of_start_date(fields, old, new):
    old_work, old_windows = work_for_week(fields, old)
    new_work, new_windows = work_for_week(fields, new)
    assert old_windows == new_windows and old_windows
    assert old_work == new_work
    assert old_work <= 7 * 24 + 50  # a week and its margins, nothing more


def test_replaying_from_dtstart_would_cost_thousands():
    # the naive evaluator: iterate the rrule from 1995 to the week
    rule = {"SimpleRuleType": "Time", "StartDate": "1995-01-09", **RULES[0][0]}
    replay = sum(1 for s in rule_to_rrule(rule, "America/New_York").between(datetime(1995, 1, 1), WEEK[1]))
    ours, _ = work_for_week(RULES[0][0], "1995-01-09")
    assert replay > 4000 and ours < 30


def test_next_edge_work_follows_occurrences_not_calendar():
    # once a year, on 29 February: next_edge jumps over the quiet years
    rule = {"SimpleRuleType": "Time", "StartDate": "1996-02-29", "Frequency": "Yearly", "IsAllDay": True}
    windows = rule_windows(rule, "UTC")
    windows.span()
    WORK.items = 0
    assert windows.next_edge(datetime(2025, 1, 1)) == datetime(2028, 2, 29)
    assert WORK.items < 20


def test_count_rule_enumerates_once():
    rule = {"SimpleRuleType": "Time", "StartDate": "1995-01-02", "Frequency": "Daily", "Count": 500,
            "StartTime": "09:00", "EndTime": "10:00"}
    windows = rule_windows(rule, "UTC")
    WORK.items = 0
    for day in range(30):
        windows.windows(datetime(1995, 3, 1) + timedelta(days=day), datetime(1995, 3, 2) + timedelta(days=day))
        windows.contains(datetime(1995, 3, 1, 9, 30))
        windows.next_edge(datetime(1995, 3, 1, 9, 30))
    assert WORK.items == 0


@pytest.mark.parametrize("fields", [
    {"Frequency": "Minutely", "ByHour": [5, 13, 18], "BySetPosition": [3]},  # a probe's: loading hung
    {"Frequency": "Minutely", "Interval": 7, "ByHour": [5], "BySetPosition": [-2]},  # 14 s
    {"Frequency": "Secondly", "Interval": 60, "ByHour": [5], "BySetPosition": [2]},
    {"Frequency": "Hourly", "ByHour": [5, 13], "BySetPosition": [2]},  # 2.6 s
    {"Frequency": "Daily", "ByMonth": [6], "BySetPosition": [2]},
])
def test_a_position_no_period_has_is_known_never_to_fire(fields):
    # Each period below a day (here each day too) holds one candidate: position 2 or 3 never
    # selects. Looking for the first occurrence walked every period to 2400.
    rule = {"SimpleRuleType": "Time", "StartDate": "2023-06-12", "StartTime": "23:00", "EndTime": "23:05", **fields}
    WORK.items = 0
    windows = rule_windows(rule, "UTC")
    assert windows.span() == (None, None) and not windows.contains(datetime(2027, 7, 6, 23, 1))
    assert list(rule_to_rrule(rule, "UTC")) == []
    assert WORK.items < 100
