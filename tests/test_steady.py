"""A state that never changes while the rules deciding it keep changing.

Two shifts of "Open" around the clock: the outcome changes twice a day, the
state name never. next_change must say None without walking every edge to
the horizon (it took 5 s compiled and 54 s on the reference path). The proof
is CustomerTree.possible_states, refined by RuleWindows.steady: checked here
for soundness against the reference timeline, and its work counted."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from schedengine import Engine
from schedengine.recurrence import WORK, rule_windows
from schedengine.tree import normalise_state

UTC = timezone.utc
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def shift(state, start, end, **extra):
    return {"simpleRuleType": "Time", "frequency": "Daily", "startDate": "2027-01-01",
            "startTime": start, "endTime": end, "state": state, **extra}


CASES = {
    "two shifts": [shift("Open", "00:00", "12:00"), shift("Open", "12:00", "24:00")],
    "case variants": [shift("Open", "00:00", "12:00"), shift(" OPEN ", "12:00", "24:00")],
    "overlapping, night shift over midnight": [shift("Open", "08:00", "20:00"), shift("Open", "19:00", "09:00")],
    "weekdays and weekends": [
        shift("Open", "00:00", "24:00", frequency="Weekly", byDay=[{"dayOfWeek": d} for d in WEEKDAYS[:5]]),
        shift("Open", "00:00", "24:00", frequency="Weekly", byDay=[{"dayOfWeek": d} for d in WEEKDAYS[5:]])],
    "a check every 7 minutes inside an open day": [
        shift("Open", "00:00", "00:01", frequency="Minutely", interval=7, flowId="check"),
        shift("Open", "00:00", "24:00")],
    "a lunch rule of the same state": [shift("Open", "12:00", "13:00", flowId="lunch"), {"simpleRuleType": "Always", "state": "Open"}],
}


def tree(rules, zone="Europe/London"):
    return [
        {"id": "w", "schedule": {"timeZoneId": zone, "defaultState": "Closed", "rules": rules}},
        {"id": "inherits", "parentCustomerId": "w", "schedule": {"inherit": True}},
        {"id": "reads", "parentCustomerId": "w", "schedule": {
            "timeZoneId": "Asia/Kolkata", "defaultState": "Idle",
            "rules": [{"simpleRuleType": "CustomerState", "customerState": "open", "state": "Busy"}]}},
    ]


@pytest.mark.parametrize("mode", ["compiled", "reference"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_state_that_never_changes_is_proved_not_walked(case, mode):
    engine = Engine.from_records(tree(CASES[case]), mode=mode)
    WORK.items = 0
    for cid in ("w", "inherits", "reads"):
        assert engine.next_change(cid, "2027-03-01T10:00:00Z") is None
    # a period's windows (here at most a week of a check every 7 minutes), not 370 years of them
    assert WORK.items < 20_000
    assert engine.state_at("w", "2027-03-01T10:00:00Z").until is not None  # the rule does change


def test_an_end_to_come_is_not_steady():
    # the night shift stops at the end of 2030: from then on the nights are Closed
    rules = [shift("Open", "08:00", "20:00"), shift("Open", "20:00", "08:00", untilDate="2030-12-31")]
    for mode in ("compiled", "reference"):
        change = Engine.from_records(tree(rules), mode=mode).next_change("w", "2027-03-01T10:00:00Z")
        assert change is not None and change.state == "Closed"
        assert change.at == datetime(2031, 1, 1, 20, tzinfo=UTC)  # the last night's day shift ends


@pytest.mark.parametrize("fields, period", [
    ({"frequency": "Daily"}, 86400),
    ({"frequency": "Daily", "interval": 3}, 3 * 86400),
    ({"frequency": "Daily", "interval": 3, "byDay": [{"dayOfWeek": "Monday"}]}, 21 * 86400),
    ({"frequency": "Weekly", "interval": 2, "byDay": [{"dayOfWeek": "Monday"}]}, 14 * 86400),
    ({"frequency": "Minutely", "interval": 7, "endTime": "09:01"}, 7 * 86400),
    ({"frequency": "Hourly", "interval": 5, "byDay": [{"dayOfWeek": "Friday"}]}, 35 * 86400),
    ({"frequency": "Secondly", "interval": 86399}, None),  # a period of 236 years
    ({"frequency": "Secondly", "interval": 9, "endTime": "09:00:05", "byDay": [{"dayOfWeek": "Friday"}]},
     7 * 86400),  # 9,600 windows a day on one day a week
    ({"frequency": "Secondly", "interval": 11, "endTime": "09:00:05"}, None),  # 7,855 a day for 11 days
    ({"frequency": "Monthly"}, None),
    ({"frequency": "Daily", "byMonth": [1]}, None),
    ({"frequency": "Daily", "untilDate": "2090-01-01"}, None),
])
def test_which_rules_repeat(fields, period):
    rule = {"simpleRuleType": "Time", "startDate": "2027-01-04", "startTime": "09:00", "endTime": "17:00", **fields}
    steady = rule_windows(rule, "UTC").steady()
    assert (steady and steady[1]) == period
    if period:
        assert steady[0] == datetime(2027, 1, 6, 9)  # a day and a window after the start


@st.composite
def repeating_trees(draw):
    """Trees of rules that repeat (and some that do not), in few states with case variants."""
    states = ["Open", "open ", "Closed", "Lunch"]

    def rule():
        kind = draw(st.sampled_from(["Daily", "Weekly", "Hourly", "Minutely", "Monthly", "Always", "CustomerState"]))
        if kind == "Always":
            return {"simpleRuleType": "Always", "state": draw(st.sampled_from(states))}
        if kind == "CustomerState":
            return {"simpleRuleType": "CustomerState", "customerState": draw(st.sampled_from(states)),
                    "state": draw(st.sampled_from(states))}
        start = draw(st.integers(0, 95)) * 15
        length = draw(st.integers(1, 96)) * 15
        r = {"simpleRuleType": "Time", "frequency": kind, "state": draw(st.sampled_from(states)),
             "startDate": f"2024-0{draw(st.integers(1, 9))}-1{draw(st.integers(0, 9))}",
             "startTime": f"{start // 60:02d}:{start % 60:02d}",
             "endTime": f"{(start + length) // 60 % 24:02d}:{(start + length) % 60:02d}",
             "interval": draw(st.integers(1, 3)) * (60 if kind == "Minutely" else 1)}
        if kind in ("Daily", "Weekly", "Hourly") and draw(st.booleans()):
            r["byDay"] = [{"dayOfWeek": d} for d in draw(st.sets(st.sampled_from(WEEKDAYS), min_size=1, max_size=6))]
        if kind != "Monthly" and draw(st.integers(0, 5)) == 0:
            r["untilDate"] = f"2025-0{draw(st.integers(1, 9))}-15"
        return r

    records = []
    for i in range(draw(st.integers(1, 3))):
        record = {"id": f"c{i}", "schedule": {
            "timeZoneId": draw(st.sampled_from(["UTC", "America/New_York", "Australia/Lord_Howe"])),
            "defaultState": draw(st.sampled_from(states)),
            "rules": [rule() for _ in range(draw(st.integers(1, 4)))]}}
        if i:
            record["parentCustomerId"] = f"c{i - 1}"
        records.append(record)
    return records


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=repeating_trees(), day=st.integers(0, 600), second=st.integers(0, 86399))
def test_possible_states_hold_every_state_the_timeline_reaches(records, day, second):
    # Soundness of the proof: every state reached over 45 days (the longest period and more)
    # from `at` is among the possible ones. The reference timeline does not use the proof.
    engine = Engine.from_records(records, mode="reference")
    at = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=day, seconds=second)
    for record in records:
        cid = record["id"]
        possible = engine.tree.possible_states(engine.tree.owner_id(cid), at)
        reached = {normalise_state(s.state) for s in engine.timeline(cid, at, at + timedelta(days=45))}
        assert reached <= possible, (cid, reached, possible)
