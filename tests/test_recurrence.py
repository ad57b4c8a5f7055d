"""schedengine.recurrence: rule kinds, validation, window semantics (SPEC §3), queries."""

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from schedengine.errors import RuleError, ScheduleWarning
from schedengine.records import SchedulingRule, SimpleSchedulingRuleTypes as Kind
from schedengine.recurrence import (
    DAILY_OCCURRENCE_LIMIT, MAX_INTERVAL, OCCURRENCE_LIMIT, WORK, check_rule, rule_kind, rule_to_rrule, rule_windows,
)
from schedengine.times import MAX_WALL

NY = "America/New_York"
D = datetime


def R(**fields):
    return {"SimpleRuleType": "Time", **fields}


WEEKDAYS = [{"DayOfWeek": d} for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")]
OFFICE = R(StartDate="2024-01-01", StartTime="09:00", EndTime="17:00", Frequency="Weekly", ByDay=WEEKDAYS)


# ----------------------------------------------------------------- rule kind

@pytest.mark.parametrize("fields, kind", [
    ({"SimpleRuleType": "CustomerState", "StartTime": "09:00"}, Kind.CustomerState),
    ({"StartTime": "09:00"}, Kind.Time),
    ({"Frequency": "Weekly"}, Kind.Time),
    ({"ByDay": [{"DayOfWeek": "Monday"}]}, Kind.Time),
    ({"IsAllDay": True}, Kind.Time),
    ({"Count": 3}, Kind.Time),
    ({"CustomerState": "Holiday"}, Kind.CustomerState),
    ({"CustomerState": "Holiday", "UntilDate": "2025-01-01"}, Kind.Time),
    # .NET's non-nullable defaults do not make a rule a Time rule
    ({"IsAllDay": False, "Count": 0, "Interval": 0, "Frequency": "None", "ByDay": []}, Kind.Always),
    ({"Interval": 2}, Kind.Always),
    ({"CustomerState": "  "}, Kind.Always),
    ({}, Kind.Always),
])
def test_rule_kind(fields, kind):
    assert rule_kind(fields) is kind
    assert rule_kind(SchedulingRule.model_validate(fields)) is kind


# ---------------------------------------------------------------- validation

PREFIX = 'customers[3] (id "acme-ny").schedule.rules[2] (id "r-lunch")'


@pytest.mark.parametrize("fields, message", [
    (R(Frequency="Monthly", ByMonthDay=[1, 32]), ".byMonthDay[1]: 32 is out of range (1..31 or -31..-1)"),
    (R(Frequency="Monthly", ByMonthDay=[0]), ".byMonthDay[0]: 0 is out of range (1..31 or -31..-1)"),
    (R(Frequency="Yearly", ByMonth=[13]), ".byMonth[0]: 13 is out of range (1..12)"),
    (R(Frequency="Yearly", ByWeekNo=[54]), ".byWeekNo[0]: 54 is out of range (1..53 or -53..-1)"),
    (R(Frequency="Yearly", ByYearDay=[-367]), ".byYearDay[0]: -367 is out of range (1..366 or -366..-1)"),
    (R(Frequency="Daily", ByHour=[24]), ".byHour[0]: 24 is out of range (0..23)"),
    (R(Frequency="Daily", ByMinute=[60]), ".byMinute[0]: 60 is out of range (0..59)"),
    (R(Frequency="Monthly", ByDay=WEEKDAYS, BySetPosition=[0]),
     ".bySetPosition[0]: 0 is out of range (1..366 or -366..-1)"),
    (R(Frequency="Weekly", ByDay=[{"DayOfWeek": "Monday", "Offset": 2}]),
     ".byDay[0].offset: 2 (the 2nd Monday) only has a meaning with Frequency Monthly or Yearly "
     "(found Weekly); set Offset to 0 for every Monday"),
    (R(Frequency="Daily", ByDay=[{"DayOfWeek": "Friday", "Offset": -1}]),
     ".byDay[0].offset: -1 (the last Friday) only has a meaning with Frequency Monthly or Yearly (found Daily)"),
    (R(Frequency="Monthly", ByDay=[{"DayOfWeek": "Friday", "Offset": 6}]),
     ".byDay[0].offset: 6 is out of range (1..5 or -5..-1 for Frequency Monthly)"),
    (R(Frequency="Yearly", ByWeekNo=[1], ByDay=[{"DayOfWeek": "Friday", "Offset": 1}]),
     ".byDay[0].offset: an Offset cannot be combined with byWeekNo"),
    (R(Frequency="Daily", Count=5, UntilDate="2024-12-31"),
     '.count: Count 5 and UntilDate "2024-12-31" cannot both be set'),
    (R(Frequency="Daily", Count=OCCURRENCE_LIMIT + 1),
     ".count: 100,001 is more than the 100,000 occurrences a Count rule may have"),
    (R(Frequency="Monthly", ByWeekNo=[3]), ".byWeekNo: only has a meaning with Frequency Yearly (found Monthly"),
    (R(Frequency="Weekly", ByYearDay=[3]), ".byYearDay: cannot be used with Frequency Weekly"),
    (R(Frequency="Weekly", ByMonthDay=[3]), ".byMonthDay: cannot be used with Frequency Weekly"),
    (R(Frequency="Monthly", BySetPosition=[1]), ".bySetPosition: needs another By* field to select from"),
    (R(StartDate="2024-02-30"), '.startDate: "2024-02-30" is not a date (expected YYYY-MM-DD)'),
    (R(StartTime="25:00"), '.startTime: "25:00" is not a time (expected HH:MM)'),
    (R(StartTime="24:00"), '.startTime: "24:00" is only allowed as an end time'),
    (R(EndTime="7pm-ish"), '.endTime: "7pm-ish" is not a time (expected HH:MM)'),
    (R(Frequency="Daily", UntilDate="31/12/2024"), '.untilDate: "31/12/2024" is not a date or date-time'),
    (R(StartDate="2024-01-01", StartTime="09:00", Frequency="Hourly", Interval=24, ByHour=[10]),
     ": the rule can never fire: with Frequency Hourly and Interval 24 from 09:00:00 no byHour/byMinute"),
])
def test_check_rule_errors(fields, message):
    with pytest.raises(RuleError) as info:
        check_rule(fields, NY, path=PREFIX)
    assert str(info.value).startswith(PREFIX + message)
    assert info.value.path.startswith(PREFIX)
    with pytest.raises(RuleError):
        rule_windows(fields, NY, path=PREFIX)


def test_bad_zone_is_a_rule_error_naming_the_zone():
    with pytest.raises(RuleError, match=r'unknown time zone "Mars/Base"'):
        check_rule(OFFICE, "Mars/Base", path="r")


def test_windows_zone_names_work():
    assert rule_windows(OFFICE, "Eastern Standard Time").contains(D(2024, 1, 2, 10))


def _messages(warnings):
    assert all(isinstance(w, ScheduleWarning) for w in warnings)
    return [(w.path, str(w)) for w in warnings]


def test_warnings():
    assert check_rule(OFFICE, NY, path="r") == []
    never = _messages(check_rule(R(StartDate="2024-05-01", Frequency="Daily", UntilDate="2024-04-30"), NY, path="r"))
    assert never == [("r.untilDate", 'UntilDate "2024-04-30" is before the start 2024-05-01 00:00: '
                                     "the rule never fires")]
    anchored = _messages(check_rule(R(StartTime="09:00", Frequency="Weekly", Interval=2), NY, path="r"))
    assert anchored[0][0] == "r.startDate" and "anchored at 1970-01-01" in anchored[0][1]
    assert "Interval > 1" in anchored[0][1]
    counted = _messages(check_rule(R(Frequency="Daily", Count=3), NY, path="r"))
    assert "anchored at 1970-01-01" in counted[0][1] and "Count" in counted[0][1]
    assert check_rule(R(StartTime="09:00", Frequency="Daily"), NY, path="r") == []  # Interval 1: no phase
    ignored = _messages(check_rule(R(StartDate="2024-01-01", ByMonth=[1], Interval=3), NY, path="r"))
    assert ignored == [("r", "Frequency None: byMonth, interval ignored (the rule is one window from "
                             "StartDate StartTime)")]
    other = _messages(check_rule({"SimpleRuleType": "Always", "StartTime": "09:00", "StartDate": "2024-01-01"},
                                 NY, path="r"))
    assert other == [("r", "SimpleRuleType is Always: the time and recurrence fields are ignored")]


def test_normalised_integers():
    # Count <= 0 unlimited, Interval <= 0 -> 1, Offset 0 -> every such weekday
    rule = R(StartDate="2024-01-01", StartTime="09:00", EndTime="10:00", Frequency="Monthly",
             Count=0, Interval=-3, ByDay=[{"DayOfWeek": "Monday", "Offset": 0}])
    starts = [a for a, _ in rule_windows(rule, NY).windows(D(2024, 2, 1), D(2024, 3, 1))]
    assert starts == [D(2024, 2, d, 9) for d in (5, 12, 19, 26)]


# ----------------------------------------------------------- window semantics

def windows(rule, start, end, zone=NY):
    return rule_windows(rule, zone).windows(start, end)


@pytest.mark.parametrize("rule, start, end, expected", [
    # office hours, Monday to Friday
    (OFFICE, D(2024, 3, 4), D(2024, 3, 9),
     [(D(2024, 3, d, 9), D(2024, 3, d, 17)) for d in range(4, 9)]),
    # night window crossing midnight (EndTime <= StartTime)
    (R(StartDate="2024-01-01", StartTime="22:00", EndTime="06:00", Frequency="Daily"), D(2024, 3, 5), D(2024, 3, 6),
     [(D(2024, 3, 4, 22), D(2024, 3, 5, 6)), (D(2024, 3, 5, 22), D(2024, 3, 6, 6))]),
    # 24:00 = end of day; a missing EndTime too
    (R(StartDate="2024-01-01", StartTime="18:00", EndTime="24:00", Frequency="Daily", Interval=2),
     D(2024, 1, 3), D(2024, 1, 4), [(D(2024, 1, 3, 18), D(2024, 1, 4))]),
    (R(StartDate="2024-01-01", StartTime="18:00", Frequency="Daily", Interval=2),
     D(2024, 1, 3), D(2024, 1, 4), [(D(2024, 1, 3, 18), D(2024, 1, 4))]),
    # EndTime == StartTime: a 24-hour window
    (R(StartDate="2024-01-01", StartTime="12:00", EndTime="12:00", Frequency="Weekly"),
     D(2024, 1, 8), D(2024, 1, 9), [(D(2024, 1, 8, 12), D(2024, 1, 9, 12))]),
    # missing StartTime: from 00:00
    (R(StartDate="2024-01-01", EndTime="06:30", Frequency="Weekly"),
     D(2024, 1, 8), D(2024, 1, 9), [(D(2024, 1, 8), D(2024, 1, 8, 6, 30))]),
    # both times missing: all day; IsAllDay ignores the times
    (R(StartDate="2024-12-25", Frequency="Yearly"), D(2030, 12, 20), D(2030, 12, 31),
     [(D(2030, 12, 25), D(2030, 12, 26))]),
    (R(StartDate="2024-12-25", StartTime="10:00", EndTime="11:00", IsAllDay=True, Frequency="Yearly"),
     D(2030, 12, 20), D(2030, 12, 31), [(D(2030, 12, 25), D(2030, 12, 26))]),
    # touching windows merge: 08-12 and 12-16 from ByHour
    (R(StartDate="2024-01-01", StartTime="08:00", EndTime="12:00", Frequency="Daily", ByHour=[8, 12]),
     D(2024, 1, 2), D(2024, 1, 3), [(D(2024, 1, 2, 8), D(2024, 1, 2, 16))]),
    # Frequency None: one window
    (R(StartDate="2024-07-04", StartTime="09:00", EndTime="12:00"), D(2024, 7, 1), D(2024, 8, 1),
     [(D(2024, 7, 4, 9), D(2024, 7, 4, 12))]),
    # Frequency None spanning to UntilDate EndTime
    (R(StartDate="2024-12-24", StartTime="17:00", EndTime="08:00", UntilDate="2024-12-27"),
     D(2024, 12, 25), D(2024, 12, 26), [(D(2024, 12, 24, 17), D(2024, 12, 27, 8))]),
    # ... all day: through the end of UntilDate; no EndTime: 24:00 of UntilDate
    (R(StartDate="2024-12-24", IsAllDay=True, UntilDate="2024-12-27"), D(2024, 12, 20), D(2025, 1, 1),
     [(D(2024, 12, 24), D(2024, 12, 28))]),
    (R(StartDate="2024-12-24", StartTime="12:00", UntilDate="2024-12-26", Frequency="None"),
     D(2024, 12, 20), D(2025, 1, 1), [(D(2024, 12, 24, 12), D(2024, 12, 27))]),
    # ... a date-time UntilDate without EndTime ends there
    (R(StartDate="2024-12-24", StartTime="12:00", UntilDate="2024-12-26T15:30:00"),
     D(2024, 12, 20), D(2025, 1, 1), [(D(2024, 12, 24, 12), D(2024, 12, 26, 15, 30))]),
    # ... UntilDate on the same day: just the occurrence's window; before it: nothing
    (R(StartDate="2024-12-24", StartTime="12:00", EndTime="13:00", UntilDate="2024-12-24"),
     D(2024, 12, 20), D(2025, 1, 1), [(D(2024, 12, 24, 12), D(2024, 12, 24, 13))]),
    (R(StartDate="2024-12-24", StartTime="12:00", UntilDate="2024-12-23"), D(2024, 12, 20), D(2025, 1, 1), []),
    # UntilDate is inclusive (the whole day), also for occurrence starts
    (R(StartDate="2024-01-01", StartTime="23:00", EndTime="23:30", Frequency="Daily", UntilDate="2024-01-03"),
     D(2024, 1, 1), D(2024, 2, 1), [(D(2024, 1, d, 23), D(2024, 1, d, 23, 30)) for d in (1, 2, 3)]),
    # UntilDate with Z is converted to the zone's wall clock: 2024-01-03T03:30Z = 22:30 EST on the 2nd
    (R(StartDate="2024-01-01", StartTime="23:00", EndTime="23:30", Frequency="Daily", UntilDate="2024-01-03T03:30:00Z"),
     D(2024, 1, 1), D(2024, 2, 1), [(D(2024, 1, 1, 23), D(2024, 1, 1, 23, 30))]),
    # missing StartDate: anchored at 1970-01-01 (a Thursday), so every other week lands on 1970's phase
    (R(StartTime="09:00", EndTime="10:00", Frequency="Weekly", Interval=2), D(2024, 1, 1), D(2024, 1, 15),
     [(D(2024, 1, 4, 9), D(2024, 1, 4, 10))]),
])
def test_window_semantics(rule, start, end, expected):
    assert windows(rule, start, end) == expected


def test_windows_not_clipped_to_the_range():
    night = R(StartDate="2024-01-01", StartTime="22:00", EndTime="06:00", Frequency="Daily")
    assert windows(night, D(2024, 3, 5, 3), D(2024, 3, 5, 4)) == [(D(2024, 3, 4, 22), D(2024, 3, 5, 6))]
    assert windows(OFFICE, D(2024, 3, 4, 12), D(2024, 3, 4, 13)) == [(D(2024, 3, 4, 9), D(2024, 3, 4, 17))]
    assert windows(OFFICE, D(2024, 3, 4, 17), D(2024, 3, 4, 18)) == []  # end is exclusive
    assert windows(OFFICE, D(2024, 3, 4, 12), D(2024, 3, 4, 12)) == []


def test_windows_margin_of_one_day_for_long_unions():
    # all 7 days, 00:00-24:00 via ByHour: a continuous union the analytic check does not cover
    rule = R(StartDate="2024-01-01", StartTime="00:00", EndTime="12:00", Frequency="Monthly", ByMonthDay=list(range(1, 32)),
             ByHour=[0, 12])
    got = windows(rule, D(2024, 3, 10), D(2024, 3, 11))
    assert got == [(D(2024, 3, 9), D(2024, 3, 12))]  # exact within [start - 1 day, end + 1 day]


def test_contains_next_edge_span():
    w = rule_windows(OFFICE, NY)
    assert w.contains(D(2024, 3, 4, 9)) and w.contains(D(2024, 3, 4, 16, 59, 59, 999999))
    assert not w.contains(D(2024, 3, 4, 17)) and not w.contains(D(2024, 3, 9, 12))
    assert not w.contains(D(2023, 12, 29, 10))  # before StartDate
    assert w.next_edge(D(2024, 3, 4, 9)) == D(2024, 3, 4, 17)
    assert w.next_edge(D(2024, 3, 4, 8, 59)) == D(2024, 3, 4, 9)
    assert w.next_edge(D(2024, 3, 8, 17)) == D(2024, 3, 11, 9)
    assert w.next_edge(D(2020, 1, 1)) == D(2024, 1, 1, 9)
    assert w.span() == (D(2024, 1, 1, 9), None)


def test_next_edge_and_span_with_until_and_count():
    until = rule_windows(R(StartDate="2024-01-01", StartTime="09:00", EndTime="10:00", Frequency="Weekly",
                           UntilDate="2024-02-01"), NY)
    assert until.span() == (D(2024, 1, 1, 9), D(2024, 1, 29, 10))
    assert until.next_edge(D(2024, 1, 29, 9, 30)) == D(2024, 1, 29, 10)
    assert until.next_edge(D(2024, 1, 29, 10)) is None
    count = rule_windows(R(StartDate="2024-01-01", StartTime="09:00", EndTime="10:00", Frequency="Monthly",
                           ByDay=[{"DayOfWeek": "Monday", "Offset": -1}], Count=3), NY)
    assert count.span() == (D(2024, 1, 29, 9), D(2024, 3, 25, 10))
    assert count.next_edge(D(2024, 2, 1)) == D(2024, 2, 26, 9)
    assert count.next_edge(D(2024, 3, 25, 10)) is None
    assert count.occurrences(D(2000, 1, 1), D(2100, 1, 1)) == [D(2024, 1, 29, 9), D(2024, 2, 26, 9), D(2024, 3, 25, 9)]


def test_span_of_dead_rules():
    assert rule_windows(R(StartDate="2024-05-01", Frequency="Daily", UntilDate="2024-04-01"), NY).span() == (None, None)
    feb31 = rule_windows(R(StartDate="2024-01-01", Frequency="Monthly", ByMonth=[2], ByMonthDay=[31]), NY)
    assert feb31.span() == (None, None)
    assert feb31.windows(D(2024, 1, 1), D(2030, 1, 1)) == [] and feb31.next_edge(D(2024, 1, 1)) is None
    late = rule_windows(R(StartDate="2400-01-02", Frequency="Daily"), NY)
    assert late.span() == (None, None)


def test_frequency_none_queries():
    w = rule_windows(R(StartDate="2024-12-24", IsAllDay=True, UntilDate="2024-12-27"), NY)
    assert w.span() == (D(2024, 12, 24), D(2024, 12, 28))
    assert w.next_edge(D(2024, 1, 1)) == D(2024, 12, 24)
    assert w.next_edge(D(2024, 12, 25)) == D(2024, 12, 28)
    assert w.next_edge(D(2024, 12, 28)) is None
    assert w.occurrences(D(2024, 1, 1), D(2025, 1, 1)) == [D(2024, 12, 24)]
    assert list(rule_to_rrule(R(StartDate="2024-12-24", StartTime="10:00"), NY)) == [D(2024, 12, 24, 10)]
    assert list(rule_to_rrule(R(StartDate="2024-12-24", UntilDate="2024-12-20"), NY)) == []


# ------------------------------------------------- analytic and pathological rules

@pytest.mark.parametrize("rule, start", [
    (R(StartDate="2024-01-01", IsAllDay=True, Frequency="Daily"), D(2024, 1, 1)),
    (R(StartDate="2024-01-01", StartTime="09:00", EndTime="09:00:01", Frequency="Secondly"), D(2024, 1, 1, 9)),
    (R(StartDate="2024-01-01", StartTime="09:00", EndTime="09:30", Frequency="Minutely", Interval=30), D(2024, 1, 1, 9)),
    (R(StartDate="2024-01-01", StartTime="06:00", EndTime="06:00", Frequency="Daily"), D(2024, 1, 1, 6)),
    (R(StartDate="2024-01-03", IsAllDay=True, Frequency="Hourly", Interval=5), D(2024, 1, 3)),
    (R(StartDate="2024-01-01", IsAllDay=True, Frequency="Weekly",
       ByDay=WEEKDAYS + [{"DayOfWeek": "Saturday"}, {"DayOfWeek": "Sunday"}]), D(2024, 1, 1)),
    (R(StartDate="2024-01-01", StartTime="00:00", EndTime="08:00", Frequency="Daily", ByHour=[0, 8, 16]), D(2024, 1, 1)),
    # found by hypothesis: hourly at :00 and :17 with 17-hour windows used to scan (and hit the limit)
    (R(StartDate="2021-03-21", StartTime="08:39", EndTime="01:44", Frequency="Hourly", ByMinute=[0, 17, 0]),
     D(2021, 3, 21, 9)),
    (R(StartDate="2024-01-01", StartTime="09:00:30", EndTime="09:00:40", Frequency="Secondly", Interval=10,
       ByDay=WEEKDAYS + [{"DayOfWeek": "Saturday"}, {"DayOfWeek": "Sunday"}]), D(2024, 1, 1, 9, 0, 30)),
])
def test_continuous_unions_are_analytic(rule, start):
    w = rule_windows(rule, NY)
    WORK.items = 0
    assert w.windows(D(2100, 6, 1), D(2100, 6, 8)) == [(start, MAX_WALL)]
    assert w.contains(D(2300, 1, 1, 3)) and w.next_edge(D(2030, 1, 1)) is None
    assert w.next_edge(start - timedelta(seconds=1)) == start
    assert w.span() == (start, None)
    assert WORK.items <= 2  # at most the first occurrence, never a scan


def test_continuous_union_with_until_ends_at_the_last_window():
    w = rule_windows(R(StartDate="2024-01-01", StartTime="09:00", EndTime="09:10", Frequency="Minutely",
                       Interval=10, UntilDate="2024-01-02T17:00:00"), NY)
    assert w.windows(D(2024, 1, 1), D(2024, 1, 5)) == [(D(2024, 1, 1, 9), D(2024, 1, 2, 17, 10))]
    assert w.next_edge(D(2024, 1, 2)) == D(2024, 1, 2, 17, 10)


def test_secondly_rule_over_too_long_a_range_names_the_limit():
    rule = R(StartDate="2024-01-01", StartTime="09:00", EndTime="09:00:01", Frequency="Secondly", ByHour=[9])
    w = rule_windows(rule, NY)
    assert w.windows(D(2024, 1, 2), D(2024, 1, 3)) == [(D(2024, 1, 2, 9), D(2024, 1, 2, 10))]
    with pytest.raises(RuleError, match="more than 100,000 occurrences between .* query a shorter range"):
        w.windows(D(2024, 1, 1), D(2024, 3, 1))


def test_never_firing_rule_terminates_and_is_remembered():
    rule = R(StartDate="2024-01-01", StartTime="09:00", EndTime="10:00", Frequency="Daily", Interval=7,
             ByDay=[{"DayOfWeek": "Tuesday"}])  # every 7 days from a Monday is never a Tuesday
    w = rule_windows(rule, NY)
    assert w.windows(D(2024, 1, 1), D(2024, 2, 1)) == []
    assert w.span() == (None, None)
    assert w.next_edge(D(2024, 1, 1)) is None


def test_rule_windows_accepts_models_and_is_reusable():
    model = SchedulingRule.model_validate(OFFICE)
    w = rule_windows(model, NY)
    first = w.windows(D(2024, 3, 4), D(2024, 3, 5))
    w.windows(D(2030, 3, 4), D(2030, 3, 5))
    assert w.windows(D(2024, 3, 4), D(2024, 3, 5)) == first
    assert "Weekly" not in repr(w) and "WEEKLY" in repr(w)


# --------------------------------------- pathological integers and dates (probe regressions)

FREQUENCIES = ["Yearly", "Monthly", "Weekly", "Daily", "Hourly", "Minutely", "Secondly"]


@pytest.mark.parametrize("frequency, interval", [(f, n) for f in FREQUENCIES for n in (2**40, 10**30)]
                         + [("Daily", 10**9), ("Weekly", 10**9), ("Yearly", 2398)])
def test_huge_interval_is_a_rule_error_naming_the_largest(frequency, interval):
    # used to raise a raw OverflowError ("days=1000000000; must have magnitude <= 999999999",
    # "Python int too large to convert to C int"), at load or at the first query
    rule = R(StartDate="2026-01-01", StartTime="09:00", EndTime="10:00", Frequency=frequency, Interval=interval)
    with pytest.raises(RuleError) as info:
        check_rule(rule, NY, path="r")
    most = MAX_INTERVAL[rule_windows(dict(rule, Interval=1), NY)._spec.freq]
    assert str(info.value).startswith(f"r.interval: {interval:,} is more than {most:,}, the largest Interval "
                                      f"for Frequency {frequency}")
    assert f"use at most {most:,}" in str(info.value) and info.value.path == "r.interval"
    with pytest.raises(RuleError):
        rule_windows(rule, NY, path="r")


@pytest.mark.parametrize("frequency", FREQUENCIES)
@pytest.mark.parametrize("start_date", ["0002-01-01", "1999-12-31", "9997-12-31"])
def test_largest_interval_evaluates_quickly(frequency, start_date, monkeypatch):
    import calendar

    rule = R(StartDate=start_date, StartTime="00:00", EndTime="00:00:01", Frequency=frequency)
    freq = rule_windows(rule, NY)._spec.freq
    w = rule_windows(dict(rule, Interval=MAX_INTERVAL[freq]), NY)
    start = D(*map(int, start_date.split("-")))
    calls = []
    monthrange = calendar.monthrange
    monkeypatch.setattr(calendar, "monthrange", lambda y, m: calls.append(1) or monthrange(y, m))
    WORK.items = 0
    if start < MAX_WALL:
        assert w.occurrences(D(2, 1, 1), MAX_WALL)[0] == start
        assert w.next_edge(start) == start + timedelta(seconds=1)
        assert w.contains(start) and not w.contains(start + timedelta(seconds=1))
        assert w.windows(D(2100, 1, 1), D(2100, 2, 1)) == []
        second = w.next_edge(start + timedelta(seconds=1))  # the second occurrence, just before 2400
        assert second is None or second.year == 2399
    else:
        assert w.span() == (None, None)
    # never dateutil's month-by-month walk over 2,400 years (about 29,000 calls per query)
    assert WORK.items < 20 and len(calls) < 500


@pytest.mark.parametrize("fields", [
    R(Frequency="Yearly", Interval=150, ByMonth=[3], ByDay=[{"DayOfWeek": "Monday", "Offset": 2}]),
    R(Frequency="Monthly", Interval=1500, ByMonthDay=[1, -1], StartTime="22:00", EndTime="02:00"),
    R(Frequency="Weekly", Interval=6000, ByDay=WEEKDAYS, BySetPosition=[-1]),
    R(Frequency="Daily", Interval=40000, ByHour=[9, 17], StartTime="09:30", EndTime="10:00"),
])
def test_long_steps_match_dateutil(fields):
    # Interval x unit >= 100 years is stepped by us, one dateutil run per period
    rule = dict(fields, StartDate="1800-01-01")
    ours = rule_windows(rule, NY).occurrences(D(1800, 1, 1), MAX_WALL)
    assert ours == rule_to_rrule(rule, NY).between(D(1800, 1, 1), MAX_WALL, inc=True)
    assert len(ours) >= 3


@pytest.mark.parametrize("fields, where", [
    (R(Frequency="None", StartDate="9999-12-31", IsAllDay=True), "startDate"),
    (R(Frequency="Daily", StartDate="2026-01-01", UntilDate="9999-12-31"), "untilDate"),
    (R(Frequency="Daily", StartDate="0001-01-01"), "startDate"),
    (R(Frequency="None", StartDate="2026-01-01", UntilDate="9998-01-01T00:00:00Z"), "untilDate"),
])
def test_dates_out_of_range_are_rule_errors(fields, where):
    # used to raise a raw OverflowError ("date value out of range")
    with pytest.raises(RuleError, match=rf'^r\.{where}: ".*" is out of range: dates must lie in years '
                                        rf'0002\.\.9997$') as info:
        rule_windows(fields, NY, path="r")
    assert info.value.path == f"r.{where}"


def test_extreme_dates_in_range_evaluate():
    last = rule_windows(R(Frequency="None", StartDate="9997-12-31", IsAllDay=True), NY)
    assert last.windows(D(9997, 12, 1), D(9998, 1, 1)) == [(D(9997, 12, 31), D(9998, 1, 1))]
    whole = rule_windows(R(Frequency="None", StartDate="0002-01-01", UntilDate="9997-12-31", IsAllDay=True), NY)
    assert whole.span() == (D(2, 1, 1), None)  # None: the window outlasts the horizon
    assert whole.contains(D(2399, 12, 31, 23)) and whole.next_edge(D(2, 1, 1)) is None
    daily = rule_windows(R(Frequency="Daily", StartDate="0002-01-01", UntilDate="9997-12-31T24:00",
                           StartTime="09:00", EndTime="10:00"), NY)
    assert daily.next_edge(D(2, 1, 1)) == D(2, 1, 1, 9) and daily.span()[1] == D(2399, 12, 31, 10)


@settings(max_examples=60, deadline=None)
@given(frequency=st.sampled_from(FREQUENCIES + ["None"]),
       interval=st.one_of(st.integers(-10**30, 10**30), st.integers(0, 3),
                          st.sampled_from(sorted(MAX_INTERVAL.values())).flatmap(
                              lambda m: st.integers(m - 2, m + 2))),
       count=st.one_of(st.just(0), st.integers(-10**30, 10**30)),
       start=st.sampled_from(["", "0002-01-01", "0001-12-31", "2399-12-31", "9997-12-31", "9999-12-31"]),
       until=st.sampled_from(["", "0002-01-01", "9997-12-31", "9997-12-31T24:00", "9999-12-31",
                              "9997-12-31T23:59:59-12:00", "0002-01-01T00:00:00+14:00"]),
       times=st.sampled_from([("", ""), ("09:00", "10:00"), ("23:00", "01:00"), ("00:00", "24:00")]))
def test_pathological_integers_and_dates_never_raise_anything_but_rule_errors(
        frequency, interval, count, start, until, times):
    rule = R(Frequency=frequency, Interval=interval, Count=count, StartDate=start, UntilDate=until,
             StartTime=times[0], EndTime=times[1], ByHour=[9] if frequency in ("Hourly", "Minutely") else [])
    try:
        w = rule_windows(rule, NY, path="r")
    except RuleError as exc:
        assert str(exc).startswith("r") and exc.path.startswith("r")
        return
    for at in (D(2, 1, 3), D(2026, 6, 1), D(2399, 12, 30), D(9997, 12, 30)):
        w.contains(at)
        w.next_edge(at)
        w.windows(at, at + timedelta(days=1))
    w.span()


def test_span_of_a_rule_firing_once_near_year_2_does_not_overflow():
    # hypothesis found it: span() searched back from 2399 past year 1 (OverflowError). Every 36,033,822
    # minutes (68.5 years, 11:42 later each time) in hour 9 fires again only after 2,672 years.
    rule = R(Frequency="Minutely", Interval=36033822, StartDate="0002-01-01", UntilDate="9997-12-31",
             StartTime="09:00", EndTime="10:00", ByHour=[9])
    assert rule_windows(rule, NY, path="r").span() == (D(2, 1, 1, 9), D(2, 1, 1, 10))


# ------------------------------------- rules too dense to enumerate (probe regressions)

TICK = R(Frequency="Secondly", Interval=2, StartTime="00:00:00", EndTime="00:00:01", StartDate="2026-01-01")


def test_secondly_rule_too_dense_for_any_query_is_rejected_by_validation():
    # used to pass validation, then fail every query with a message naming no rule
    with pytest.raises(RuleError) as info:
        check_rule(TICK, NY, path=PREFIX)
    assert str(info.value).startswith(
        PREFIX + ": Frequency Secondly with Interval 2 fires 43,200 times a day in windows that must be "
                 "enumerated, more than the 10,000 a day a query can take")
    assert "use Interval 9 or more" in str(info.value) and info.value.path == PREFIX
    assert DAILY_OCCURRENCE_LIMIT == OCCURRENCE_LIMIT // 10
    assert check_rule(dict(TICK, Interval=9), NY, path="r") == []
    # windows that make a union known up front, a Count, or an UntilDate close enough are fine
    assert check_rule(dict(TICK, Interval=1), NY, path="r") == []
    assert check_rule(dict(TICK, Count=50_000), NY, path="r") == []
    assert check_rule(dict(TICK, UntilDate="2026-01-02"), NY, path="r") == []
    with pytest.raises(RuleError, match="fires 10,800 times a day .* use Interval 2 or more"):
        check_rule(R(Frequency="Secondly", StartTime="09:00", EndTime="09:00:01", ByHour=[9, 10, 11]), NY, path="r")


def test_engine_rejects_the_dense_rule_at_load_and_answers_the_sparser_one():
    from schedengine import Engine
    from datetime import timezone
    records = [{"id": "c", "schedule": {"timeZoneId": NY, "rules": [dict(TICK, Id="tick", State="Tick")]}}]
    with pytest.raises(RuleError, match=r'^customers\[0\] \(id "c"\)\.schedule\.rules\[0\] \(id "tick"\): '
                                        r"Frequency Secondly with Interval 2"):
        Engine.from_records(records)
    records[0]["schedule"]["rules"][0]["Interval"] = 9
    engine = Engine.from_records(records)
    at = datetime(2026, 12, 30, 5, tzinfo=timezone.utc)  # midnight in New York
    assert engine.state_at("c", at).state == "Tick"
    assert engine.next_change("c", at).at == at + timedelta(seconds=1)


def test_limit_error_names_the_rule():
    w = rule_windows(R(StartDate="2024-01-01", StartTime="09:00", EndTime="09:00:01", Frequency="Secondly",
                       ByHour=[9]), NY, path=PREFIX)
    with pytest.raises(RuleError) as info:
        w.windows(D(2024, 1, 1), D(2024, 3, 1))
    message = str(info.value)
    assert message.startswith(PREFIX + ": more than 100,000 occurrences between 2023-12-3")
    assert message.endswith("(the limit for one query of a rule's windows); query a shorter range "
                            "(this rule allows at least 27 days per query)")
    assert info.value.path == PREFIX


def test_next_edge_and_span_of_a_dense_rule_on_few_days_stay_under_the_limit():
    # every 9 s in January: 9,600 occurrences a day. next_edge used to double its chunk over the
    # quiet months and then enumerate 16 days of January at once; span() looked back 512 days.
    rule = R(StartDate="2026-01-01", StartTime="00:00:00", EndTime="00:00:01", Frequency="Secondly",
             Interval=9, ByMonth=[1], UntilDate="2028-06-30")
    w = rule_windows(rule, NY)
    assert w.next_edge(D(2026, 2, 1)) == D(2027, 1, 1)
    assert w.next_edge(D(2027, 1, 1)) == D(2027, 1, 1, 0, 0, 1)
    assert w.span() == (D(2026, 1, 1), D(2028, 1, 31, 23, 59, 52))


def test_time_rules_strategy_accepts_wide_start_years():
    # used to fail: "max_value=2030 < min_value=2031" (UntilDate years were capped at 2030)
    from hypothesis import find
    from hypothesis.errors import InvalidArgument
    from schedengine.testing import time_rules

    late = find(time_rules(start_year=(2150, 2199)), lambda r: "untilDate" in r and r["frequency"] != "None")
    assert 2150 <= int(late["untilDate"][:4]) <= 2202
    for years in [(1900, 2199), (2, 9997), (9997, 9997)]:
        rule = find(time_rules(start_year=years), lambda r: "untilDate" in r)
        check_rule(rule, NY, path="r")
    with pytest.raises(InvalidArgument, match=r"start_year=\(1, 2000\)"):
        find(time_rules(start_year=(1, 2000)), lambda r: True)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_time_rules_over_any_accepted_range_are_valid(data):
    from schedengine.testing import time_rules

    first = data.draw(st.integers(2, 9997))
    last = data.draw(st.integers(first, min(9997, first + 300)))
    check_rule(data.draw(time_rules(start_year=(first, last))), NY, path="r")


def _iso_week_days(weeks: set[int], first: datetime, last: datetime) -> list[datetime]:
    """Every day in [first, last] whose ISO 8601 week number is in `weeks`,
    counted from the start of its week-numbering year or (negative) from its
    last week, computed here by counting Mondays."""
    days, day = [], first
    while day <= last:
        year, week, _ = day.isocalendar()
        monday_of_week_1 = date(year, 1, 4) - timedelta(days=date(year, 1, 4).weekday())
        monday_of_next_week_1 = date(year + 1, 1, 4) - timedelta(days=date(year + 1, 1, 4).weekday())
        weeks_in_year = (monday_of_next_week_1 - monday_of_week_1).days // 7
        if week in weeks or week - weeks_in_year - 1 in weeks:
            days.append(day)
        day += timedelta(days=1)
    return days


@pytest.mark.parametrize("weeks", [[52], [53], [10, 52], [1, 53], [52, 53],
                                   # a probe's: one negative week left the rule to dateutil, whose bug came back
                                   [52, -53], [53, -53], [-1], [-53], [-52], [1, -1], [-2, 20], [-53, 1]])
def test_byweekno_52_and_53_follow_iso_week_numbers(weeks):
    """dateutil gave 1-2 January 2022 (ISO week 52 of 2021, which has no
    week 53) week 53, in every year after one that began on a Friday."""
    rule = {"frequency": "Yearly", "startDate": "2000-01-03", "isAllDay": True, "byWeekNo": weeks,
            "byDay": [{"dayOfWeek": d} for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                                 "Saturday", "Sunday")]}
    first, last = datetime(2000, 1, 3), datetime(2060, 6, 30)  # mid-year: no window crosses the ends
    expected = _iso_week_days(set(weeks), first, last)
    starts = [d for d in rule_to_rrule(rule) if d <= last]
    assert starts == expected
    runs: list[list[datetime]] = []  # consecutive days make one window
    for day in expected:
        if runs and runs[-1][1] == day:
            runs[-1][1] = day + timedelta(days=1)
        else:
            runs.append([day, day + timedelta(days=1)])
    assert [list(w) for w in rule_windows(rule, "UTC").windows(first, last + timedelta(days=1))] == runs


# ----------------------------------------------------- n-th weekdays within a month

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _nth_weekdays_of_month(year, month, weekday, n):
    """The n-th (negative: from the end) `weekday` of a month, by counting its days: [] when absent."""
    days = [d for d in (D(year, month, 1) + timedelta(days=k) for k in range(31))
            if d.month == month and d.weekday() == weekday]
    return days[n - 1:n] if n > 0 else days[len(days) + n:len(days) + n + 1] if -n <= len(days) else []


@pytest.mark.parametrize("month", [1, 5, 12])
@pytest.mark.parametrize("offset", [5, 6, 8, 38, 53, -5, -6, -53])
def test_yearly_by_month_counts_the_nth_weekday_within_the_month(month, offset):
    # RFC 5545: with BYMONTH a YEARLY BYDAY offset counts within the month, which has at most
    # five of a weekday. dateutil raised IndexError for larger offsets (8..53 in December),
    # uncaught at every query, once the rule had loaded.
    rule = R(Frequency="Yearly", ByMonth=[month], ByDay=[{"Offset": offset, "DayOfWeek": "Friday"}],
             StartDate="2024-01-01", StartTime="09:00", EndTime="10:00")
    got = [d for d in rule_to_rrule(rule).between(D(2024, 1, 1), D(2040, 1, 1), inc=True)]
    expected = [d.replace(hour=9) for year in range(2024, 2040) for d in _nth_weekdays_of_month(year, month, 4, offset)]
    assert got == expected
    windows = rule_windows(rule, "UTC")
    assert [a for a, _ in windows.windows(D(2024, 1, 1), D(2040, 1, 1))] == expected
    if not expected:
        assert windows.span() == (None, None)  # what validate's "never fires" warning reads


def test_an_nth_weekday_no_month_has_leaves_the_plain_weekdays_beside_it():
    rule = R(Frequency="Yearly", ByMonthDay=[], ByMonth=[5], StartDate="2027-01-01", StartTime="09:00",
             ByDay=[{"Offset": 53, "DayOfWeek": "Friday"}, {"DayOfWeek": "Wednesday"}], EndTime="10:00")
    got = [d.date().isoformat() for d in rule_to_rrule(rule)[:5]]
    assert got == ["2027-05-05", "2027-05-12", "2027-05-19", "2027-05-26", "2028-05-03"]


@pytest.mark.parametrize("fields, taken", [
    ({"Frequency": "Weekly"}, "the weekday (Thursday)"),  # a probe's: Weekly with no ByDay fired on Thursdays, silently
    ({"Frequency": "Monthly"}, "the day of the month (the 1st)"),
    ({"Frequency": "Yearly"}, "the day of the year (1 January)"),
    ({"Frequency": "Yearly", "ByMonth": [3]}, "the day of the month (the 1st)"),
    ({"Frequency": "Yearly", "ByMonthDay": [4]}, "the month (January)"),
    ({"Frequency": "Weekly", "ByDay": [{"DayOfWeek": "Monday"}]}, None),
    ({"Frequency": "Monthly", "ByDay": [{"DayOfWeek": "Monday", "Offset": 1}]}, None),
    ({"Frequency": "Daily"}, None),
])
def test_no_start_date_warns_when_the_anchor_picks_the_days(fields, taken):
    warnings = [str(w) for w in check_rule(R(StartTime="09:00", **fields), "UTC", path="r")]
    if taken is None:
        assert warnings == []
    else:
        assert warnings == [f"no StartDate: the recurrence is anchored at 1970-01-01, which decides {taken} "
                            f"it fires on; set StartDate"]


# --- probe L: a StartDate or StartTime written in UTC (as ServiceStack writes a DateTime of kind Utc)
# --- was read as wall time without a word, while UntilDate's offset is converted

@pytest.mark.parametrize("fields, warned", [
    ({"StartDate": "2027-07-04T14:00:00Z", "IsAllDay": True}, [("startDate", "Z")]),
    ({"StartDate": "2027-07-01", "StartTime": "2027-07-01T13:00:00Z", "EndTime": "2027-07-01T21:00:00+00:00"},
     [("startTime", "Z"), ("endTime", "+00:00")]),
    ({"StartDate": "2027-07-01T00:00:00", "StartTime": "09:00"}, []),  # no offset: nothing to say
])
def test_an_offset_read_as_wall_time_is_warned(fields, warned):
    rule = R(Frequency="Daily", **fields)
    messages = [(w.path, str(w)) for w in check_rule(rule, "Australia/Sydney", path="r")]
    assert [(p, m.split(": the offset ")[1].split(" ")[0]) for p, m in messages] == [(f"r.{f}", z) for f, z in warned]
    assert all("read as wall-clock time in the schedule's zone" in m for _, m in messages)


@pytest.mark.parametrize("field, text", [("StartDate", "２０２７-０１-０１"), ("StartTime", "０９:００"),
                                         ("EndTime", "1٧:00")])
def test_digits_other_than_ascii_are_refused(field, text):
    with pytest.raises(RuleError, match=f"{field[0].lower()}{field[1:]}: .* is not a"):
        check_rule(R(Frequency="Daily", **{"StartDate": "2027-01-01", field: text}), "UTC", path="r")
