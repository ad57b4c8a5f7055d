"""Properties: re-anchored RuleWindows equals a brute-force union built by iterating the
rule's dateutil object from its true DTSTART; next_edge agrees with contains."""

from datetime import datetime, timedelta

from hypothesis import HealthCheck, assume, given, settings, strategies as st

from schedengine.errors import RuleError
from schedengine.recurrence import rule_to_rrule, rule_windows
from schedengine.recurrence import _compile  # the same window definition, to build the reference

DAY = timedelta(days=1)
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@st.composite
def rules(draw):
    freq = draw(st.sampled_from(["Yearly", "Monthly", "Weekly", "Daily", "Hourly"]))
    start = draw(st.dates(datetime(2000, 1, 1).date(), datetime(2030, 12, 31).date()))
    rule = {"SimpleRuleType": "Time", "Frequency": freq, "StartDate": start.isoformat(),
            "Interval": draw(st.integers(1, 3))}
    if draw(st.booleans()):
        rule["IsAllDay"] = True
    else:
        s = draw(st.integers(0, 23 * 60 + 59))
        rule["StartTime"] = f"{s // 60:02d}:{s % 60:02d}"
        if draw(st.integers(0, 4)):
            e = draw(st.integers(0, 24 * 60))
            rule["EndTime"] = f"{e // 60:02d}:{e % 60:02d}"
    small = lambda lo, hi: st.lists(st.integers(lo, hi), min_size=1, max_size=3)  # noqa: E731
    if draw(st.booleans()):
        rule["ByMonth"] = draw(small(1, 12))
    if freq in ("Yearly", "Monthly", "Daily") and draw(st.booleans()):
        rule["ByMonthDay"] = draw(st.lists(st.one_of(st.integers(1, 28), st.integers(-28, -1)), min_size=1, max_size=3))
    if freq == "Yearly" and draw(st.integers(0, 3)) == 0:
        rule["ByWeekNo"] = draw(st.lists(st.one_of(st.integers(1, 53), st.integers(-53, -1)), min_size=1, max_size=3))
    if freq in ("Yearly", "Hourly") and draw(st.integers(0, 3)) == 0:
        rule["ByYearDay"] = draw(st.lists(st.integers(1, 365), min_size=1, max_size=20))
    if draw(st.booleans()):
        days = []
        for _ in range(draw(st.integers(1, 4))):
            entry = {"DayOfWeek": draw(st.sampled_from(WEEKDAYS))}
            if freq in ("Monthly", "Yearly") and "ByWeekNo" not in rule and draw(st.booleans()):
                entry["Offset"] = draw(st.sampled_from([1, 2, 3, -1, -2]))
            days.append(entry)
        rule["ByDay"] = days
    if freq != "Hourly" and draw(st.integers(0, 3)) == 0:
        rule["ByHour"] = draw(small(0, 23))
    if draw(st.integers(0, 3)) == 0:
        rule["ByMinute"] = draw(small(0, 59))
    if draw(st.integers(0, 3)) == 0:
        rule["BySetPosition"] = draw(st.lists(st.sampled_from([1, 2, -1, -2, 3]), min_size=1, max_size=2))
    bound = draw(st.integers(0, 3))
    if bound == 1:
        rule["Count"] = draw(st.integers(1, 40))
    elif bound == 2:
        rule["UntilDate"] = (start + timedelta(days=draw(st.integers(0, 4000)))).isoformat()
    return rule


def reference_union(rule, lo, hi):
    """Merged windows of occurrences whose window meets [lo, hi), iterating from the true DTSTART."""
    spec, _ = _compile(rule, "UTC", "rule")
    found = []
    for start in rule_to_rrule(rule, "UTC"):
        if start >= hi + DAY:
            break
        a, b = spec.window(start)
        if b > lo and a < hi:
            found.append((a, b))
    merged = []
    for a, b in sorted(found):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def occurring(rule):
    """The rule's windows in UTC and its first occurrence; rejects rules that are invalid or never occur."""
    try:
        windows = rule_windows(rule, "UTC")
    except RuleError:
        assume(False)
    first, _ = windows.span()
    assume(first is not None)
    return windows, first


def clip(intervals, lo, hi):
    return [(max(a, lo), min(b, hi)) for a, b in intervals]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(rule=rules(), offset=st.integers(-400, 12000), length=st.integers(1, 21))
def test_windows_equal_brute_force(rule, offset, length):
    windows, first = occurring(rule)
    start = first + timedelta(days=offset)
    end = start + timedelta(days=length)
    expected = [(a, b) for a, b in reference_union(rule, start - DAY, end + DAY) if b > start and a < end]
    got = windows.windows(start, end)
    # exact within [start - 1 day, end + 1 day]; beyond, an interval may be reported longer (documented)
    assert clip(got, start - DAY, end + DAY) == clip(expected, start - DAY, end + DAY)
    for a, b in got:
        if a > start - DAY:
            assert windows.contains(a) and not windows.contains(a - timedelta(microseconds=1))
        if b < end + DAY:
            assert not windows.contains(b) and windows.contains(b - timedelta(microseconds=1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(rule=rules(), offset=st.integers(-30, 8000), minute=st.integers(0, 24 * 60 * 3))
def test_next_edge_agrees_with_contains(rule, offset, minute):
    windows, first = occurring(rule)
    wall = first + timedelta(days=offset, minutes=minute)
    edge = windows.next_edge(wall)
    inside = windows.contains(wall)
    if edge is None:
        _, last = windows.span()
        assert last is None or last <= wall or inside
        return
    assert edge > wall
    assert windows.contains(edge) != inside
    assert windows.contains(edge - timedelta(microseconds=1)) == inside
    # nothing changes in between (checked against the reference on a bounded stretch)
    if edge - wall <= timedelta(days=60):
        union = reference_union(rule, wall, edge)
        assert all(not (wall < a < edge) and not (wall < b < edge) for a, b in union)
