"""Conformance: RFC 5545 §3.8.5.3 examples and independent vectors (tests/vectors/*.json),
compared occurrence by occurrence through three paths -- the dateutil object of
rule_to_rrule, the re-anchored RuleWindows, and the exported text read back by
dateutil's rrulestr -- plus regression tests for each dateutil deviation we correct."""

import json
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path

import pytest
from dateutil import rrule as du
from dateutil.rrule import rrulestr

from schedengine.errors import RuleError
from schedengine.recurrence import rule_to_rrule, rule_windows, to_rrule_string
from schedengine.times import resolve_zone

VECTORS = Path(__file__).parent / "vectors"
FILES = sorted(VECTORS.glob("*.json"))


def _load():
    cases = []
    for path in FILES:
        doc = json.loads(path.read_text())
        assert doc["source"] and isinstance(doc.get("excluded", []), list)
        for vector in doc["vectors"]:
            cases.append(pytest.param(vector, id=f"{path.stem}: {vector['name']}"))
    return cases


CASES = _load()


def _expected(vector):
    return [datetime.fromisoformat(text) for text in vector["expected"]]


def _take(iterable, vector, expected):
    # a complete vector must also end: ask for one more than expected
    return list(islice(iter(iterable), len(expected) + (1 if vector["complete"] else 0)))


def test_vector_files_and_counts():
    names = {path.stem for path in FILES}
    assert {"rfc5545", "libical", "dateutil"} <= names
    by_file = {path.stem: len(json.loads(path.read_text())["vectors"]) for path in FILES}
    assert by_file["rfc5545"] >= 40  # every example the record model can express
    assert sum(n for stem, n in by_file.items() if stem != "rfc5545") >= 100
    for path in FILES:
        for vector in json.loads(path.read_text())["vectors"]:
            assert set(vector) >= {"name", "zone", "rrule", "rule", "expected", "complete"}
            assert vector["rule"]["SimpleRuleType"] == "Time" and vector["expected"]


@pytest.mark.parametrize("vector", CASES)
def test_rule_to_rrule(vector):
    expected = _expected(vector)
    assert _take(rule_to_rrule(vector["rule"], vector["zone"]), vector, expected) == expected


@pytest.mark.parametrize("vector", CASES)
def test_rule_windows_occurrences(vector):
    expected = _expected(vector)
    windows = rule_windows(vector["rule"], vector["zone"])
    end = expected[-1] + timedelta(seconds=1) if not vector["complete"] else datetime(2300, 1, 1)
    assert windows.occurrences(datetime(1900, 1, 1), end) == expected
    # re-anchored: a query starting mid-way sees exactly the tail
    middle = len(expected) // 2
    assert windows.occurrences(expected[middle], end) == expected[middle:]
    # and every occurrence opens a window
    assert all(windows.contains(start) for start in expected)


@pytest.mark.parametrize("vector", CASES)
def test_rrule_text_round_trip(vector):
    expected = _expected(vector)
    zone = resolve_zone(vector["zone"])
    text = to_rrule_string(vector["rule"], zone)
    assert text.startswith(f"DTSTART;TZID={zone.key}:")
    back = _take(rrulestr(text), vector, expected)
    assert [item.astimezone(zone).replace(tzinfo=None) for item in back] == expected


# --------------------------------------------------- dateutil deviations we fix

START = datetime(2024, 10, 23)  # a Wednesday


def test_dateutil_bysetpos_weekly_counts_from_dtstart_not_week_start():
    """dateutil builds the first WEEKLY set from DTSTART on (libical 'Monday and Wednesday each week')."""
    raw = du.rrule(du.WEEKLY, dtstart=START, byweekday=range(5), bysetpos=(1, 3), count=3)
    assert list(raw) == [datetime(2024, 10, 23), datetime(2024, 10, 25), datetime(2024, 10, 28)]  # the bug
    rule = {"SimpleRuleType": "Time", "StartDate": "2024-10-23", "Frequency": "Weekly", "Count": 3,
            "ByDay": [{"DayOfWeek": d} for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")],
            "BySetPosition": [1, 3]}
    rfc = [datetime(2024, 10, 23), datetime(2024, 10, 28), datetime(2024, 10, 30)]
    assert list(rule_to_rrule(rule, "UTC")) == rfc
    assert rule_windows(rule, "UTC").occurrences(START, datetime(2025, 1, 1)) == rfc
    # the text starts the week on Monday and excludes what precedes DTSTART, counting it
    text = to_rrule_string(rule, "UTC")
    assert text.splitlines()[0] == "DTSTART;TZID=UTC:20241021T000000"
    assert "COUNT=4" in text and text.splitlines()[-1] == "EXDATE;TZID=UTC:20241021T000000"
    # a later start keeps the whole-week numbering: both picks of its week precede it
    later = dict(rule, StartDate="2024-10-24", Count=2)
    assert list(rule_to_rrule(later, "UTC")) == [datetime(2024, 10, 28), datetime(2024, 10, 30)]
    text = to_rrule_string(later, "UTC")
    assert "EXDATE;TZID=UTC:20241021T000000,20241023T000000" in text and "COUNT=4" in text
    assert [x.replace(tzinfo=None) for x in rrulestr(text)] == [datetime(2024, 10, 28), datetime(2024, 10, 30)]


def test_dateutil_byday_mixing_ordinal_and_plain_intersects():
    """dateutil keeps only days that are both (1FR and FR,MO -> first Fridays); RFC 5545 means the union."""
    raw = du.rrule(du.MONTHLY, dtstart=datetime(2024, 1, 1, 9), byweekday=(du.FR(1), du.FR, du.MO), count=3)
    assert list(raw) == [datetime(2024, 1, 5, 9), datetime(2024, 2, 2, 9), datetime(2024, 3, 1, 9)]  # the bug
    rule = {"SimpleRuleType": "Time", "StartDate": "2024-01-01", "StartTime": "09:00", "Frequency": "Monthly",
            "Count": 4, "ByDay": [{"DayOfWeek": "Friday", "Offset": 1}, {"DayOfWeek": "Friday"},
                                  {"DayOfWeek": "Monday"}]}
    union = [datetime(2024, 1, d, 9) for d in (1, 5, 8, 12)]
    assert list(rule_to_rrule(rule, "UTC")) == union
    text = to_rrule_string(rule, "UTC")
    assert text.count("RRULE:") == 2 and "UNTIL=20240112T090000Z" in text
    assert [x.replace(tzinfo=None) for x in rrulestr(text)] == union


def test_third_monday_wednesdays_and_fridays():
    """The SPEC's example 3MO,WE,FR: dateutil yields nothing at all (after scanning to year 9999)."""
    rule = {"SimpleRuleType": "Time", "StartDate": "2024-01-01", "StartTime": "09:00", "EndTime": "10:00",
            "Frequency": "Monthly", "ByDay": [{"DayOfWeek": "Monday", "Offset": 3}, {"DayOfWeek": "Wednesday"},
                                              {"DayOfWeek": "Friday"}]}
    january = [datetime(2024, 1, d, 9) for d in (3, 5, 10, 12, 15, 17, 19, 24, 26, 31)]
    assert rule_windows(rule, "UTC").occurrences(datetime(2024, 1, 1), datetime(2024, 2, 1)) == january
    assert list(islice(rule_to_rrule(rule, "UTC"), 10)) == january
    back = rrulestr(to_rrule_string(rule, "America/New_York"))
    assert [x.replace(tzinfo=None) for x in islice(back, 10)] == january


def test_bysetpos_over_mixed_byday_is_evaluated_on_the_merged_set():
    # the 2nd of {1st Monday} + {every Friday} in each month
    rule = {"SimpleRuleType": "Time", "StartDate": "2024-01-01", "Frequency": "Monthly", "BySetPosition": [2],
            "ByDay": [{"DayOfWeek": "Monday", "Offset": 1}, {"DayOfWeek": "Friday"}]}
    expected = [datetime(2024, 1, 5), datetime(2024, 2, 5), datetime(2024, 3, 4), datetime(2024, 4, 5)]
    assert list(islice(rule_to_rrule(rule, "UTC"), 4)) == expected
    assert isinstance(rule_to_rrule(rule, "UTC"), du.rrulebase)
    assert rule_windows(rule, "UTC").occurrences(datetime(2024, 1, 1), datetime(2024, 5, 1)) == expected
    with pytest.raises(RuleError, match="no RRULE text python-dateutil reads correctly"):
        to_rrule_string(rule, "UTC")
    counted = dict(rule, Count=4)
    text = to_rrule_string(counted, "Europe/London")
    assert text.count("RDATE:") == 4
    assert [x.astimezone(resolve_zone("Europe/London")).replace(tzinfo=None) for x in rrulestr(text)] == expected


def test_yearly_bymonthday_without_bymonth_keeps_dtstart_month():
    """dateutil issue 1452: YEARLY;BYMONTHDAY=25 expands to every month; the month comes from DTSTART."""
    raw = du.rrule(du.YEARLY, dtstart=datetime(2024, 12, 25), bymonthday=25, count=2)
    assert list(raw) == [datetime(2024, 12, 25), datetime(2025, 1, 25)]  # dateutil's reading
    rule = {"SimpleRuleType": "Time", "StartDate": "2024-12-25", "Frequency": "Yearly", "ByMonthDay": [25]}
    christmas = [datetime(2024, 12, 25), datetime(2025, 12, 25), datetime(2026, 12, 25)]
    assert list(islice(rule_to_rrule(rule, "UTC"), 3)) == christmas
    assert "BYMONTH=12" in to_rrule_string(rule, "UTC")


def test_yearly_byweekno_without_byday_keeps_dtstart_weekday():
    raw = du.rrule(du.YEARLY, dtstart=datetime(1997, 5, 13), byweekno=20, count=2)
    assert list(raw) == [datetime(1997, 5, 13), datetime(1997, 5, 14)]  # dateutil: every day of the week
    rule = {"SimpleRuleType": "Time", "StartDate": "1997-05-13", "Frequency": "Yearly", "ByWeekNo": [20]}
    assert list(islice(rule_to_rrule(rule, "UTC"), 2)) == [datetime(1997, 5, 13), datetime(1998, 5, 12)]
