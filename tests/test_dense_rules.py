"""Dense rules (a window every few seconds or minutes) on the reference path.

A probe found three cliffs, each a rescan of thousands of occurrences per
step: a reference timeline of "every 9 seconds in January" over a week ran
past 60 s; a query in 1900 of a rule that starts in 2020, in a zone with
DST, took 35-75 s (every UTC-offset change up to 2020 rescanned the rule);
and `contains` generated a day's occurrences before the asked time. The
work is counted here (WORK.items: every occurrence generated), never timed.
"""

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from schedengine import Engine
from schedengine.recurrence import WORK, rule_windows

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def dense(frequency="Secondly", interval=9, **extra):
    return {"id": "r", "state": "Open", "simpleRuleType": "Time", "frequency": frequency, "interval": interval,
            "startTime": "00:00:00", "endTime": "00:00:01", "startDate": "2020-01-01", **extra}


def engine(rule, zone="Australia/Lord_Howe", mode="reference"):
    return Engine.from_records([{"id": "c", "schedule": {"timeZoneId": zone, "defaultState": "Closed",
                                                         "rules": [rule]}}], mode=mode)


def test_a_reference_timeline_of_a_dense_rule_costs_its_windows():
    rule = dense(byMonth=[1])  # the docs' example: every 9 seconds in January
    WORK.items = 0
    segments = engine(rule).timeline("c", "2027-01-01T00:00:00Z", "2027-01-01T06:00:00Z")
    assert len(segments) == 4800  # 2,400 windows of a second, and what lies between
    assert WORK.items < 20 * len(segments)  # (before: 27 million, 5,600 a segment)


@pytest.mark.parametrize("mode", ["reference", "compiled"])
def test_an_instant_long_before_a_dense_rule_starts_scans_nothing(mode):
    subject = engine(dense("Minutely", 1), zone="America/New_York", mode=mode)
    WORK.items = 0
    result = subject.state_at("c", "1900-03-01T00:00:00Z")
    assert (result.state, result.until) == ("Closed", datetime.fromisoformat("2020-01-01T05:00:00+00:00"))
    subject.explain("c", "1900-03-01T00:00:00Z")
    # At most the compiled chunk where the rule starts (6 days of minutes): before, a week of
    # minutes at each of the 200 DST changes until 2020
    assert WORK.items < (1_000 if mode == "reference" else 10_000)


@st.composite
def dense_rules(draw):
    frequency = draw(st.sampled_from(["Secondly", "Minutely"]))
    start = draw(st.integers(0, 59))
    end = start + draw(st.integers(1, 179))  # a window of up to three minutes, not one across midnight
    rule = dense(frequency, draw(st.integers(1, 40)), startTime=f"00:00:{start:02d}",
                 endTime=f"00:{end // 60:02d}:{end % 60:02d}")
    if draw(st.booleans()):
        rule["byDay"] = [{"dayOfWeek": d} for d in draw(st.sets(st.sampled_from(WEEKDAYS), min_size=1, max_size=3))]
    if draw(st.booleans()):
        rule["byHour"] = sorted(draw(st.sets(st.integers(0, 23), min_size=1, max_size=3)))
    return rule


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule=dense_rules(), start=st.integers(0, 3000 * 86400),
       steps=st.lists(st.integers(-7200, 20000), min_size=1, max_size=30))
def test_next_edge_from_a_remembered_scan_is_next_edge_from_scratch(rule, start, steps):
    # One RuleWindows asked again and again (it remembers its last dense scan), against a new one
    # for every question (nothing remembered), walking forward and sometimes back.
    try:
        remembering = rule_windows(rule, "UTC")
    except Exception:  # a window longer than the step, say: refused, nothing to compare
        return
    wall = datetime(2020, 1, 1) + timedelta(seconds=start)
    for step in steps:
        edge = remembering.next_edge(wall)
        assert edge == rule_windows(rule, "UTC").next_edge(wall), wall
        assert remembering.contains(wall) == rule_windows(rule, "UTC").contains(wall), wall
        wall = edge if edge is not None and step > 10000 else wall + timedelta(seconds=step)


def test_a_remembered_scan_does_not_answer_past_its_own_end():
    # Windows of 3 s every 2 s from 09:00 to 10:00 make one run to 10:00:01 each day. A scan from
    # 09:30 that stops 8 days later at 09:30 holds that day's run only up to there.
    rule = dense(interval=2, startTime="09:00:00", endTime="09:00:03", byHour=[9])
    remembering = rule_windows(rule, "UTC")
    assert remembering.next_edge(datetime(2027, 3, 1, 9, 30)) == datetime(2027, 3, 1, 10, 0, 1)
    assert remembering.next_edge(datetime(2027, 3, 9, 9, 29, 59)) == datetime(2027, 3, 9, 10, 0, 1)


def test_windows_open_to_the_horizon_are_walked_once():
    """Windows of almost a day every 11 minutes in hour 9: open without a break to the horizon,
    which no analysis catches (a time filter), so next_edge walks there: 5 s, at every call."""
    rule = dense("Minutely", 11, startTime="00:00:23", endTime="00:00:21", byHour=[9])  # across midnight
    windows = rule_windows(rule, "UTC")
    assert windows.next_edge(datetime(2020, 1, 12, 16, 29, 47)) is None
    WORK.items = 0
    assert windows.next_edge(datetime(2020, 1, 13, 16, 29, 47)) is None
    assert windows.contains(datetime(2031, 5, 1)) and not windows.contains(datetime(2020, 1, 1, 8))
    assert WORK.items < 100
